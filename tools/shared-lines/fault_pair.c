// SPDX-License-Identifier: MIT
/*
 * fault-pair: two vCPU threads taking secondary faults at once, each on
 * its own half of a memslot, and nothing else after the set-up.  Run
 * under shared-lines.sh, which counts the cache lines both threads write
 * (docs/bench.md, "Shared cache lines on the fault path").
 *
 *     fault-pair [PAGES]              (default 1024)
 *     fault-pair PAGES --time REPS
 *
 * The main thread first faults every page in from vCPU 0 (warming what
 * the first fault sets up), drops every SPTE (the memslot deleted and
 * added again), then starts the two vCPU threads, which read every page
 * of their half once.  Only those two threads' writes are counted.
 *
 * With --time, no counting: REPS times over, one vCPU thread alone on
 * the first CPU the process may use, one alone on the second, and two at
 * once, one on each, all faulting the whole memslot in; it prints the
 * median wall time per fault of each and how the two compare with each
 * one alone and with the sum of the two CPUs' rates (docs/bench.md,
 * "Two vCPUs on two idle cores").  Threads are pinned, as a VMM pins
 * vCPU threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mmulab/kvm.h>
#include <mmulab/sched.h>

#include "../mmulab/pin_cpu.h"

#define HVA 0x40000000UL

/*
 * One vCPU's work: a cache line each, and its result written once, so
 * that the program itself adds no line both vCPUs write.
 */
struct half {
	struct kvm_vcpu *vcpu;
	unsigned long first, count;
	int ret;
	int cpu; /* -1: not pinned */
} __attribute__((aligned(64)));

static int read_pages(struct half *h)
{
	int ret = 0;
	u64 val;

	for (unsigned long i = h->first; i < h->first + h->count; i++) {
		ret = kvm_vcpu_read_u64(h->vcpu, i * PAGE_SIZE, &val);
		if (ret)
			break;
	}
	h->ret = ret;
	return ret;
}

static atomic_t started;
static int nr_threads = 2;

/*
 * A vCPU thread (shared-lines.sh knows the vCPUs by this function).  It
 * waits for the other one to start, so that the two live at once and do
 * not take each other's stack.
 */
static int fault_half(void *arg)
{
	if (((struct half *)arg)->cpu >= 0)
		pin_to_cpu(((struct half *)arg)->cpu);
	atomic_inc(&started);
	while (atomic_read(&started) < nr_threads)
		cpu_relax();
	read_pages(arg);
	return 0;
}

/*
 * Called once both vCPU threads have exited: shared-lines.sh stops
 * counting here, before a later thread (an SRCU callback worker) can be
 * given a vCPU's thread id.
 */
__attribute__((noinline)) void fault_pair_done(void)
{
	__asm__ volatile("" ::: "memory");
}

static int set_slot(struct kvm *kvm, unsigned long hva, unsigned long len)
{
	struct kvm_userspace_memory_region r = {0};

	r.memory_size = len;
	r.userspace_addr = hva;
	return kvm_set_user_memory_region(kvm, &r);
}

static double wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Fault the memslot in with @n vCPU threads, vCPU i on CPU @cpu[i]
 * (-1: unpinned), each its share; the wall time per fault of the
 * threads' run, thread creation included (negative: an access failed).
 */
static double run(struct kvm *kvm, struct kvm_vcpu **vcpu, unsigned long hva,
		  unsigned long npages, int n, const int *cpu)
{
	struct half warm = {vcpu[0], 0, npages, 0, -1};
	struct task_struct *t[2];
	struct half h[2];
	double t0;
	int ret = 0;

	if (set_slot(kvm, hva, npages * PAGE_SIZE) || read_pages(&warm))
		return -1;
	if (set_slot(kvm, hva, 0) || set_slot(kvm, hva, npages * PAGE_SIZE))
		return -1;
	nr_threads = n;
	atomic_set(&started, 0);
	t0 = wall_ns();
	for (int i = 0; i < n; i++) {
		h[i] = (struct half){vcpu[i], i * (npages / n), npages / n, 0,
				     cpu[i]};
		t[i] = kthread_run(fault_half, &h[i], "fault-pair");
	}
	for (int i = 0; i < n; i++)
		kthread_stop(t[i]);
	t0 = (wall_ns() - t0) / npages;
	for (int i = 0; i < n; i++)
		ret |= h[i].ret;
	return ret ? -1 : t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* --time: one vCPU on CPU 0, one on CPU 1, two on both, @reps times. */
static int time_pairs(struct kvm *kvm, struct kvm_vcpu **vcpu,
		      unsigned long hva, unsigned long npages, int reps)
{
	static const int on0[] = {0}, on1[] = {1}, both[] = {0, 1};
	double *t = calloc(3 * (size_t)reps, sizeof(*t)), m[3];

	if (!t)
		return -1;
	for (int r = 0; r < reps; r++) {
		t[r] = run(kvm, vcpu, hva, npages, 1, on0);
		t[reps + r] = run(kvm, vcpu, hva, npages, 1, on1);
		t[2 * reps + r] = run(kvm, vcpu, hva, npages, 2, both);
		if (t[r] < 0 || t[reps + r] < 0 || t[2 * reps + r] < 0) {
			free(t);
			return -1;
		}
	}
	for (int k = 0; k < 3; k++) {
		qsort(t + k * reps, reps, sizeof(*t), cmp_double);
		m[k] = t[k * reps + reps / 2];
	}
	free(t);
	printf("%lu faults, median of %d: one vCPU on CPU 0 %.1f ns/fault, "
	       "on CPU 1 %.1f, two %.1f\n",
	       npages, reps, m[0], m[1], m[2]);
	printf("two over CPU 0 %.2fx, over CPU 1 %.2fx, over the sum of "
	       "both CPUs' rates %.2f\n",
	       m[0] / m[2], m[1] / m[2], (1 / m[2]) / (1 / m[0] + 1 / m[1]));
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long npages = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	int reps = argc == 4 && !strcmp(argv[2], "--time") ? atoi(argv[3]) : 0;
	struct host_config cfg = {npages + 4096, HOST_CONTENT_TAG,
				  CHANGE_PTE_NONE};
	struct kvm_vcpu *vcpu[2];
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	unsigned long hva;
	int r = 0;

	if (npages < 2 || npages > (1UL << 20) || (argc > 2 && reps < 1)) {
		fprintf(stderr, "usage: fault-pair [PAGES [--time REPS]]\n");
		return 2;
	}
	host = host_create(&cfg);
	if (IS_ERR(host))
		return 1;
	mm = mm_alloc(host);
	if (IS_ERR(mm))
		return 1;
	/*
	 * At a 2 MiB boundary, so that with PAGES a multiple of 1024 each
	 * half has page tables (and their locks) of its own, as in
	 * `mmulab bench`.
	 */
	hva = vm_mmap(mm, HVA, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_FIXED);
	kvm = kvm_create_vm(mm, 0);
	if (IS_ERR((void *)hva) || IS_ERR(kvm))
		return 1;
	vcpu[0] = kvm_vcpu_create(kvm);
	vcpu[1] = kvm_vcpu_create(kvm);
	if (IS_ERR(vcpu[0]) || IS_ERR(vcpu[1]))
		return 1;
	if (reps) {
		r = time_pairs(kvm, vcpu, hva, npages, reps);
	} else {
		static const int unpinned[] = {-1, -1};

		r = run(kvm, vcpu, hva, npages, 2, unpinned) < 0 ? -1 : 0;
		fault_pair_done();
	}
	kvm_destroy_vm(kvm);
	mmput(mm);
	host_destroy(host);
	if (r)
		fprintf(stderr, "fault-pair: a guest access failed\n");
	return r ? 1 : 0;
}
