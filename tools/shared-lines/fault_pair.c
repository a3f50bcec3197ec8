// SPDX-License-Identifier: MIT
/*
 * fault-pair: two vCPU threads taking secondary faults at once, each on
 * its own half of a memslot, and nothing else after the set-up.  Run
 * under shared-lines.sh, which counts the cache lines both threads write
 * (docs/bench.md, "Shared cache lines on the fault path").
 *
 *     fault-pair [PAGES]      (default 1024)
 *
 * The main thread first faults every page in from vCPU 0 (warming what
 * the first fault sets up), drops every SPTE (the memslot deleted and
 * added again), then starts the two vCPU threads, which read every page
 * of their half once.  Only those two threads' writes are counted.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/kvm.h>
#include <mmulab/sched.h>

#define HVA 0x40000000UL

/*
 * One vCPU's work: a cache line each, and its result written once, so
 * that the program itself adds no line both vCPUs write.
 */
struct half {
	struct kvm_vcpu *vcpu;
	unsigned long first, count;
	int ret;
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

/*
 * A vCPU thread (shared-lines.sh knows the vCPUs by this function).  It
 * waits for the other one to start, so that the two live at once and do
 * not take each other's stack.
 */
static int fault_half(void *arg)
{
	atomic_inc(&started);
	while (atomic_read(&started) < 2)
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

static int pair(struct kvm *kvm, struct kvm_vcpu **vcpu, unsigned long hva,
		unsigned long npages)
{
	struct half warm = {vcpu[0], 0, npages, 0};
	struct task_struct *t[2];
	struct half h[2];

	if (set_slot(kvm, hva, npages * PAGE_SIZE) || read_pages(&warm))
		return -1;
	if (set_slot(kvm, hva, 0) || set_slot(kvm, hva, npages * PAGE_SIZE))
		return -1;
	for (int i = 0; i < 2; i++) {
		h[i] = (struct half){vcpu[i], i * (npages / 2), npages / 2, 0};
		t[i] = kthread_run(fault_half, &h[i], "fault-pair");
	}
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	fault_pair_done();
	return h[0].ret || h[1].ret ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long npages = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	struct host_config cfg = {npages + 4096, HOST_CONTENT_TAG,
				  CHANGE_PTE_NONE};
	struct kvm_vcpu *vcpu[2];
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	unsigned long hva;
	int r = 0;

	if (npages < 2 || npages > (1UL << 20)) {
		fprintf(stderr, "usage: fault-pair [PAGES]\n");
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
	r = pair(kvm, vcpu, hva, npages);
	kvm_destroy_vm(kvm);
	mmput(mm);
	host_destroy(host);
	if (r)
		fprintf(stderr, "fault-pair: a guest access failed\n");
	return r ? 1 : 0;
}
