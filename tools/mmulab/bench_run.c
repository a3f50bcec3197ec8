// SPDX-License-Identifier: MIT
/*
 * mmulab bench: the measurements.  Every figure is taken beside its
 * baseline, in the same process, in alternating order from one repetition
 * to the next (bench.c drives them and computes the statistics); what each
 * measures is in docs/bench.md.
 */
#include <stdlib.h>
#include <time.h>

#include <mmulab/kvm.h>
#include <mmulab/sched.h>

#include "bench.h"
#include "pin_cpu.h"

#define RW (PROT_READ | PROT_WRITE)
#define MAP_ANON_PRIVATE (MAP_PRIVATE | MAP_ANONYMOUS)
#define TLB_PAGES 64 /* what the vCPU TLB holds (KVM_TLB_ENTRIES) */
#define TLB_ACCESSES 4096 /* accesses per batch */

struct bench_env {
	struct host *host;
	struct mm_struct *mm, *mm_novm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu[2];
	unsigned long hva, hva_novm, npages;
	gpa_t *gpa;
	u64 *val;
	const u64 **word;
};

/*
 * The measuring thread's CPU time, in ns: what it spent, not the time
 * other processes had the CPU, so that a loaded machine swings the
 * figures less.  The parallel figure takes wall time (wall_now()).
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int set_slot(struct bench_env *e, bool present)
{
	struct kvm_userspace_memory_region r = {0};

	r.memory_size = present ? e->npages * PAGE_SIZE : 0;
	r.userspace_addr = e->hva;
	return kvm_set_user_memory_region(e->kvm, &r);
}

/* Drop every SPTE (and TLB entry) of the slot: delete it, add it again. */
static int zap_sptes(struct bench_env *e)
{
	return set_slot(e, false) ?: set_slot(e, true);
}

static int populate(struct mm_struct *mm, unsigned long hva,
		    unsigned long npages)
{
	long r = (long)vm_mmap(mm, hva, npages * PAGE_SIZE, RW,
			       MAP_ANON_PRIVATE | MAP_FIXED | MAP_POPULATE);

	return r < 0 ? (int)r : 0;
}

/* Map every page of the slot with an SPTE, from vCPU 0. */
static int fault_all(struct bench_env *e)
{
	u64 val;

	for (unsigned long i = 0; i < e->npages; i++) {
		int r = kvm_vcpu_read_u64(e->vcpu[0], i * PAGE_SIZE, &val);

		if (r)
			return r < 0 ? r : -EFAULT;
	}
	return 0;
}

static int tlb_alloc(struct bench_env *e)
{
	e->gpa = calloc(TLB_ACCESSES, sizeof(*e->gpa));
	e->val = calloc(TLB_ACCESSES, sizeof(*e->val));
	e->word = calloc(TLB_ACCESSES, sizeof(*e->word));
	return e->gpa && e->val && e->word ? 0 : -ENOMEM;
}

/*
 * The TLB figures' accesses: TLB_PAGES pages, 8-byte words all over; each
 * mapped and cached, and the address of its word noted for the plain loads
 * (again each repetition: the zaps in between free the frames).
 */
static int tlb_prepare(struct bench_env *e)
{
	for (unsigned long i = 0; i < TLB_ACCESSES; i++) {
		unsigned long pg = i % TLB_PAGES;
		u64 spte;

		e->gpa[i] = pg * PAGE_SIZE + 8 * ((i * 7) % (PAGE_SIZE / 8));
		if (kvm_vcpu_read_u64(e->vcpu[0], e->gpa[i], &e->val[i]))
			return -EFAULT;
		spte = kvm_lookup_spte(e->kvm, e->gpa[i]);
		e->word[i] = page_word_address(
			pfn_to_page(e->host,
				    (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT),
			e->gpa[i] & ~PAGE_MASK);
		if (!e->word[i])
			return -EFAULT;
	}
	return 0;
}

struct bench_env *bench_env_create(unsigned long npages)
{
	struct host_config cfg = {2 * npages + 4096, HOST_CONTENT_TAG,
				  CHANGE_PTE_NONE};
	struct bench_env *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->npages = npages;
	e->host = host_create(&cfg);
	if (IS_ERR(e->host)) {
		free(e);
		return NULL;
	}
	e->mm = mm_alloc(e->host);
	e->mm_novm = mm_alloc(e->host);
	if (IS_ERR(e->mm) || IS_ERR(e->mm_novm))
		goto fail;
	e->hva = vm_mmap(e->mm, 0, npages * PAGE_SIZE, RW,
			 MAP_ANON_PRIVATE | MAP_POPULATE);
	e->hva_novm = vm_mmap(e->mm_novm, 0, npages * PAGE_SIZE, RW,
			      MAP_ANON_PRIVATE | MAP_POPULATE);
	e->kvm = kvm_create_vm(e->mm, 0);
	if (IS_ERR((void *)e->hva) || IS_ERR((void *)e->hva_novm) ||
	    IS_ERR(e->kvm))
		goto fail;
	e->vcpu[0] = kvm_vcpu_create(e->kvm);
	e->vcpu[1] = kvm_vcpu_create(e->kvm);
	if (IS_ERR(e->vcpu[0]) || IS_ERR(e->vcpu[1]) || set_slot(e, true) ||
	    tlb_alloc(e))
		goto fail;
	return e;
fail:
	e->kvm = IS_ERR(e->kvm) ? NULL : e->kvm;
	e->mm = IS_ERR(e->mm) ? NULL : e->mm;
	e->mm_novm = IS_ERR(e->mm_novm) ? NULL : e->mm_novm;
	bench_env_destroy(e);
	return NULL;
}

void bench_env_destroy(struct bench_env *e)
{
	if (e->kvm)
		kvm_destroy_vm(e->kvm);
	if (e->mm)
		mmput(e->mm);
	if (e->mm_novm)
		mmput(e->mm_novm);
	host_destroy(e->host);
	free(e->gpa);
	free(e->val);
	free(e->word);
	free(e);
}

/* Baseline of the TLB figures: the same loads, from the frames directly. */
static double plain_loads(struct bench_env *e, unsigned long rounds)
{
	double t0 = now();

	for (unsigned long r = 0; r < rounds; r++)
		for (unsigned long i = 0; i < TLB_ACCESSES; i++)
			e->val[i] =
				__atomic_load_n(e->word[i], __ATOMIC_RELAXED);
	return (now() - t0) / (rounds * TLB_ACCESSES);
}

static double batched_reads(struct bench_env *e, unsigned long rounds)
{
	double t0 = now();

	for (unsigned long r = 0; r < rounds; r++)
		if (kvm_vcpu_read_u64_batch(e->vcpu[0], e->gpa, e->val,
					    TLB_ACCESSES, NULL))
			return -1;
	return (now() - t0) / (rounds * TLB_ACCESSES);
}

static double single_reads(struct bench_env *e, unsigned long rounds)
{
	double t0 = now();

	for (unsigned long r = 0; r < rounds; r++)
		for (unsigned long i = 0; i < TLB_ACCESSES; i++)
			if (kvm_vcpu_read_u64(e->vcpu[0], e->gpa[i],
					      &e->val[i]))
				return -1;
	return (now() - t0) / (rounds * TLB_ACCESSES);
}

/*
 * Evaluate @fig and @bl (in that order when @fig_first, else the other):
 * their results (ns per unit, or a throughput) go to @s.
 */
#define PAIR(fig_first, s, fig, bl)                                            \
	do {                                                                   \
		if (fig_first) {                                               \
			(s)->value = (fig);                                    \
			(s)->base = (bl);                                      \
		} else {                                                       \
			(s)->base = (bl);                                      \
			(s)->value = (fig);                                    \
		}                                                              \
	} while (0)

int bench_tlb(struct bench_env *e, unsigned long rounds, bool fig_first,
	      struct bench_sample *batched, struct bench_sample *single)
{
	if (tlb_prepare(e))
		return -EFAULT;
	PAIR(fig_first, batched, batched_reads(e, rounds),
	     plain_loads(e, rounds));
	PAIR(!fig_first, single, single_reads(e, rounds / 4 + 1),
	     plain_loads(e, rounds / 4 + 1));
	return batched->value < 0 || single->value < 0 ? -EFAULT : 0;
}

/*
 * What the fault does of GUP, alone: hva_to_pfn_fast()'s GUP-fast (every
 * page is mapped writable, so the fault never takes the slow path) and
 * the put.
 */
static double gup_alone(struct bench_env *e)
{
	double t0 = now();

	for (unsigned long i = 0; i < e->npages; i++) {
		struct page *page;

		if (!get_user_page_fast_only(e->mm, e->hva + i * PAGE_SIZE,
					     FOLL_WRITE, &page))
			return -1;
		put_page(page);
	}
	return (now() - t0) / e->npages;
}

static double faults_1(struct bench_env *e)
{
	double t0;

	if (zap_sptes(e))
		return -1;
	t0 = now();
	if (fault_all(e))
		return -1;
	return (now() - t0) / e->npages;
}

int bench_fault(struct bench_env *e, bool fig_first, struct bench_sample *s)
{
	PAIR(fig_first, s, faults_1(e), gup_alone(e));
	return s->value < 0 || s->base < 0 ? -EFAULT : 0;
}

enum zap_kind { ZAP_SPTES, ZAP_NO_SPTES, ZAP_NO_VM };

/* MADV_DONTNEED of the whole range, in ns per page. */
static double zap_once(struct bench_env *e, enum zap_kind kind)
{
	struct mm_struct *mm = kind == ZAP_NO_VM ? e->mm_novm : e->mm;
	unsigned long hva = kind == ZAP_NO_VM ? e->hva_novm : e->hva;
	double t0;

	if (populate(mm, hva, e->npages))
		return -1;
	if (kind == ZAP_SPTES ? fault_all(e) : zap_sptes(e))
		return -1;
	t0 = now();
	if (do_madvise(mm, hva, e->npages * PAGE_SIZE, MADV_DONTNEED))
		return -1;
	return (now() - t0) / e->npages;
}

int bench_zap(struct bench_env *e, unsigned int rep,
	      struct bench_sample *no_sptes, struct bench_sample *no_vm)
{
	double t[3];

	/* Rotate the order of the three from one repetition to the next. */
	for (int i = 0; i < 3; i++) {
		enum zap_kind k = (rep + i) % 3;

		t[k] = zap_once(e, k);
		if (t[k] < 0)
			return -EFAULT;
	}
	/* The other figures' GUP wants the pages present. */
	if (populate(e->mm, e->hva, e->npages))
		return -EFAULT;
	no_sptes->value = no_vm->value = t[ZAP_SPTES];
	no_sptes->base = t[ZAP_NO_SPTES];
	no_vm->base = t[ZAP_NO_VM];
	return 0;
}

/* A cache line or two each: the two vCPU threads' arguments share none. */
struct fault_arg {
	struct kvm_vcpu *vcpu;
	unsigned long first, count, done;
	atomic_t *ready, *stop;
	int nthreads, ret;
	unsigned int cpu;
	double start, end;
} __attribute__((aligned(128)));

/*
 * A vCPU thread: on a CPU of its own, wait until all are running, so that
 * thread creation is not timed, then fault its share in until it is done
 * or another vCPU is, noting when it began and ended.  The first to finish
 * raises @stop: a vCPU that ends early would otherwise leave the other
 * running alone, and the figure would measure how evenly the host shared
 * its CPUs out, not how two vCPUs fault side by side.
 */
static int fault_range(void *arg)
{
	struct fault_arg *a = arg;
	unsigned long i;
	int ret = 0;
	u64 val;

	pin_to_cpu(a->cpu);
	atomic_inc(a->ready);
	while (atomic_read(a->ready) < a->nthreads)
		cpu_relax();
	a->start = wall_now();
	for (i = a->first; i < a->first + a->count && !ret; i++) {
		if (atomic_read(a->stop))
			break;
		ret = kvm_vcpu_read_u64(a->vcpu, i * PAGE_SIZE, &val);
	}
	a->end = wall_now();
	atomic_set(a->stop, 1);
	a->done = i - a->first;
	a->ret = ret;
	return 0;
}

/*
 * One window of @n vCPUs faulting in a share each, on CPUs @cpu, @cpu + 1,
 * ...: the faults done go to @faults, the ns from the first start to the
 * last end to @ns.
 */
static int fault_window(struct bench_env *e, int n, unsigned int cpu,
			double *faults, double *ns)
{
	struct task_struct *t[2];
	struct fault_arg a[2];
	atomic_t ready = ATOMIC_INIT(0), stop = ATOMIC_INIT(0);
	double first, last;

	if (zap_sptes(e))
		return -1;
	for (int i = 0; i < n; i++)
		a[i] = (struct fault_arg){.vcpu = e->vcpu[i],
					  .first = i * (e->npages / n),
					  .count = e->npages / n,
					  .ready = &ready,
					  .stop = &stop,
					  .nthreads = n,
					  .cpu = cpu + i};
	for (int i = 0; i < n; i++)
		t[i] = kthread_run(fault_range, &a[i], "bench-vcpu");
	for (int i = 0; i < n; i++)
		kthread_stop(t[i]);
	first = a[0].start;
	last = a[0].end;
	for (int i = 0; i < n; i++) {
		if (a[i].ret)
			return -1;
		first = a[i].start < first ? a[i].start : first;
		last = a[i].end > last ? a[i].end : last;
		*faults += a[i].done;
	}
	*ns += last - first;
	return 0;
}

/*
 * Faults per microsecond of @n vCPUs over PARALLEL_ROUNDS windows, the
 * slot's SPTEs dropped (untimed) before each: a window lasts a few
 * milliseconds, as short as a host's scheduling tick, so one is too noisy.
 */
#define PARALLEL_ROUNDS 8
static double faults_parallel(struct bench_env *e, int n, unsigned int cpu)
{
	double faults = 0, ns = 0;

	for (int r = 0; r < PARALLEL_ROUNDS; r++)
		if (fault_window(e, n, cpu, &faults, &ns))
			return -1;
	return faults / ns * 1e3;
}

/*
 * One vCPU's faults per microsecond: the mean of its rate on CPU @cpu and
 * on the next, the two CPUs the figure's two vCPUs run on, so that the
 * ideal figure is twice the baseline even when the host gives one of its
 * CPUs less than the other (docs/bench.md, "Two vCPUs on two idle cores").
 */
static double faults_one_vcpu(struct bench_env *e, unsigned int cpu)
{
	double a = faults_parallel(e, 1, cpu);
	double b = a < 0 ? -1 : faults_parallel(e, 1, cpu + 1);

	return b < 0 ? -1 : (a + b) / 2;
}

/*
 * The figure and its baseline take turns at going first, and the
 * baseline's two CPUs at going first, from one repetition to the next.
 */
int bench_parallel(struct bench_env *e, unsigned int rep,
		   struct bench_sample *s)
{
	PAIR(rep & 1, s, faults_parallel(e, 2, rep),
	     faults_one_vcpu(e, rep / 2));
	return s->value < 0 || s->base < 0 ? -EFAULT : 0;
}
