// SPDX-License-Identifier: MIT
/*
 * mmulab bench: what the KVM-style secondary MMU's hot paths cost here.
 * Documented in docs/bench.md; numbers depend on the machine.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <mmulab/kvm.h>

#include "bench.h"
#include "cli.h"
#include "mmulab.h"

#define RW (PROT_READ | PROT_WRITE)

struct bench_vm {
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	unsigned long hva, npages;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench_vm_create(struct bench_vm *b, unsigned long npages)
{
	struct host_config cfg = { npages + 4096, HOST_CONTENT_TAG,
				   CHANGE_PTE_NONE };
	struct kvm_userspace_memory_region r = { 0 };

	b->host = host_create(&cfg);
	if (IS_ERR(b->host))
		return PTR_ERR(b->host);
	b->mm = mm_alloc(b->host);
	if (IS_ERR(b->mm))
		return PTR_ERR(b->mm);
	b->npages = npages;
	b->hva = vm_mmap(b->mm, 0, npages * PAGE_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
	b->kvm = kvm_create_vm(b->mm, 0);
	if (IS_ERR(b->kvm))
		return PTR_ERR(b->kvm);
	r.memory_size = npages * PAGE_SIZE;
	r.userspace_addr = b->hva;
	return kvm_set_user_memory_region(b->kvm, &r);
}

static void bench_vm_destroy(struct bench_vm *b)
{
	kvm_destroy_vm(b->kvm);
	mmput(b->mm);
	host_destroy(b->host);
}

struct fault_arg {
	struct kvm_vcpu *vcpu;
	unsigned long first, count;
};

static int fault_range(void *arg)
{
	struct fault_arg *a = arg;
	u64 val;

	for (unsigned long i = a->first; i < a->first + a->count; i++)
		kvm_vcpu_read_u64(a->vcpu, i * PAGE_SIZE, &val);
	return 0;
}

/* Each of @nthreads vCPUs faults in its share of the slot, in parallel. */
static double bench_faults(unsigned long npages, int nthreads)
{
	struct task_struct *t[8];
	struct fault_arg a[8];
	struct bench_vm b;
	double t0, el;

	if (bench_vm_create(&b, npages))
		return -1;
	for (int i = 0; i < nthreads; i++) {
		a[i].vcpu = kvm_vcpu_create(b.kvm);
		a[i].first = i * (npages / nthreads);
		a[i].count = npages / nthreads;
	}
	t0 = now();
	for (int i = 0; i < nthreads; i++)
		t[i] = kthread_run(fault_range, &a[i], "bench-vcpu");
	for (int i = 0; i < nthreads; i++)
		kthread_stop(t[i]);
	el = now() - t0;
	bench_vm_destroy(&b);
	return el;
}

static double bench_tlb_hit(unsigned long iters)
{
	struct kvm_vcpu *vcpu;
	struct bench_vm b;
	double t0, el;
	u64 val;

	if (bench_vm_create(&b, 1))
		return -1;
	vcpu = kvm_vcpu_create(b.kvm);
	kvm_vcpu_read_u64(vcpu, 0, &val);
	t0 = now();
	for (unsigned long i = 0; i < iters; i++)
		kvm_vcpu_read_u64(vcpu, 0, &val);
	el = now() - t0;
	bench_vm_destroy(&b);
	return el / iters;
}

/* MADV_DONTNEED of @npages pages all mapped by SPTEs. */
static double bench_zap(unsigned long npages)
{
	struct fault_arg a;
	struct bench_vm b;
	double t0, el;

	if (bench_vm_create(&b, npages))
		return -1;
	a = (struct fault_arg){ kvm_vcpu_create(b.kvm), 0, npages };
	fault_range(&a);
	t0 = now();
	do_madvise(b.mm, b.hva, npages * PAGE_SIZE, MADV_DONTNEED);
	el = now() - t0;
	bench_vm_destroy(&b);
	return el / npages;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long npages = 1UL << 16;
	double f1, f2;
	int c;

	optind = 1;
	while ((c = cli_getopt("bench", argc, argv, "hq", opts)) != -1) {
		if (c == 'h') {
			printf("usage: mmulab bench\n");
			return EXIT_OK;
		}
		if (c != 'q') /* -q: accepted, as ever; the output is short */
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_error("bench", "unexpected argument '%s'",
				 argv[optind]);
	printf("tlb hit (guest 8-byte read)   %8.1f ns\n",
	       bench_tlb_hit(4000000) * 1e9);
	f1 = bench_faults(npages, 1);
	printf("secondary fault, 1 vCPU       %8.1f ns per fault\n",
	       f1 / npages * 1e9);
	f2 = bench_faults(npages, 2);
	printf("secondary faults, 2 vCPUs     %8.1f ns per fault "
	       "(%.2fx the throughput of 1)\n",
	       f2 / npages * 1e9, f1 / f2);
	printf("zap (MADV_DONTNEED, SPTEs)    %8.1f ns per page\n",
	       bench_zap(npages) * 1e9);
	return 0;
}
