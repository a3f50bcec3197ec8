// SPDX-License-Identifier: MIT
/*
 * mmulab stress: real threads (no deterministic scheduler) hammering one
 * VM, a device mirror and their host memory (faults, COW, fork, munmap,
 * mprotect, madvise, KSM merging, compaction, reclaim and swap), with the
 * checker attached and periodic invariant sweeps at quiescent points:
 * every worker parks between two
 * operations, the sweep runs, and they resume.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <time.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>

#include "interrupt.h"
#include "cli.h"
#include "mmulab.h"
#include "stress.h"

#define RW (PROT_READ | PROT_WRITE)
#define MAX_VCPUS 16

struct stress {
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct dmirror *dmirror;
	unsigned long hva, npages;
	unsigned long ops_limit;
	atomic_long_t ops;
	atomic_long_t errors;
	int stop;
	struct checker_park park; /* quiescence for sweeps */
};

struct worker {
	struct stress *st;
	struct kvm_vcpu *vcpu;
	unsigned int seed;
};

/*
 * The last KSM_ZONE pages hold one constant everywhere, so KSM can merge
 * them (and every write breaks a merge again); other pages hold values
 * that name their page, for INV-5.
 */
#define KSM_ZONE 8

static u32 loc_of(struct stress *st, unsigned long p)
{
	return p >= st->npages - KSM_ZONE ? (u32)st->npages : (u32)p;
}

static u64 value_for(struct stress *st, unsigned long p, u32 count)
{
	return p >= st->npages - KSM_ZONE ? checker_value(loc_of(st, p), 0)
					   : checker_value(p, count);
}

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Between operations: park if a sweep is pending; false to stop. */
static bool checkpoint(struct stress *st)
{
	checker_park_point(&st->park);
	if (READ_ONCE(st->stop) || checker_stopped(st->host) ||
	    (st->ops_limit &&
	     atomic_long_inc_return(&st->ops) > (long)st->ops_limit)) {
		checker_park_leave(&st->park);
		return false;
	}
	if (!st->ops_limit)
		atomic_long_inc(&st->ops);
	return true;
}

static void count_error(struct stress *st, int r)
{
	/* The host may unmap or protect memory under the guest. */
	if (r && r != -EFAULT)
		atomic_long_inc(&st->errors);
}

static int vcpu_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;

	while (checkpoint(st)) {
		unsigned int r = rnd(&w->seed), p = r % st->npages;
		gpa_t gpa = (gpa_t)p * PAGE_SIZE;
		u64 val;

		if (r & 0x100) {
			count_error(st, kvm_vcpu_write_u64(
						w->vcpu,
						gpa + kvm_vcpu_id(w->vcpu) * 8,
						value_for(st, p, r & 0xffff)));
		} else {
			int e = kvm_vcpu_read_u64(w->vcpu, gpa + 8 * (r & 7),
						  &val);

			count_error(st, e);
			if (!e)
				checker_check_value(st->host, loc_of(st, p),
						    val, st->hva + p * PAGE_SIZE);
		}
	}
	return 0;
}

static int device_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;

	while (checkpoint(st)) {
		unsigned int r = rnd(&w->seed), p = r % st->npages;
		unsigned long a = st->hva + p * PAGE_SIZE;
		u64 val;

		if (r & 0x100) {
			count_error(st, dmirror_write_u64(st->dmirror, a + 128,
							  value_for(st, p, r)));
		} else if (!dmirror_read_u64(st->dmirror, a + 128, &val)) {
			checker_check_value(st->host, loc_of(st, p), val, a);
		}
	}
	return 0;
}

static void churn_op(struct stress *st, unsigned int r)
{
	unsigned long p = (r >> 3) % (st->npages - 3);
	unsigned long a = st->hva + p * PAGE_SIZE, len = 4 * PAGE_SIZE;
	struct mm_struct *child;

	switch (r % 10) {
	case 9: /* swap out what is cold: guests and device refault it */
		host_reclaim(st->host, 16);
		break;
	case 6: /* a KSM pass over the zone of identical pages */
		do_madvise(st->mm, st->hva + (st->npages - KSM_ZONE) * PAGE_SIZE,
			   KSM_ZONE * PAGE_SIZE, MADV_MERGEABLE);
		ksm_scan(st->host, 2 * st->npages);
		break;
	case 7:
		do_madvise(st->mm, st->hva + (st->npages - KSM_ZONE) * PAGE_SIZE,
			   KSM_ZONE * PAGE_SIZE, MADV_UNMERGEABLE);
		break;
	case 8: /* move pages around under everyone */
		host_compact(st->host, 0, ~0UL, NULL);
		break;
	case 0:
		vm_mmap(st->mm, a, len, RW,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		break;
	case 1:
		do_mprotect(st->mm, a, len, PROT_READ);
		do_mprotect(st->mm, a, len, RW);
		break;
	case 2:
		do_madvise(st->mm, a, len, MADV_DONTNEED);
		break;
	case 3:
		child = dup_mm(st->mm);
		cpu_write_u64(st->mm, a + 16, value_for(st, p, r));
		if (!IS_ERR(child))
			mmput(child);
		break;
	case 4:
		do_madvise(st->mm, a, len, MADV_FREE);
		break;
	default:
		cpu_write_u64(st->mm, a + 16, value_for(st, p, r));
		break;
	}
}

static int churn_fn(void *arg)
{
	struct worker *w = arg;

	while (checkpoint(w->st))
		churn_op(w->st, rnd(&w->seed));
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(struct stress *st, int nvcpus, struct worker *w,
		 struct task_struct **t, int *nworkers)
{
	struct host_config cfg = { .nr_frames = 8192,
				   .content = HOST_CONTENT_DATA,
				   .swap_slots = 4096 };
	struct kvm_userspace_memory_region r = { 0 };
	int n = 0;

	st->host = host_create(&cfg);
	if (IS_ERR(st->host) || checker_attach(st->host))
		return -ENOMEM;
	st->mm = mm_alloc(st->host);
	if (IS_ERR(st->mm))
		return PTR_ERR(st->mm);
	st->npages = 64;
	st->hva = vm_mmap(st->mm, 0, st->npages * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	st->kvm = kvm_create_vm(st->mm, 0);
	if (IS_ERR(st->kvm))
		return PTR_ERR(st->kvm);
	r.memory_size = st->npages * PAGE_SIZE;
	r.userspace_addr = st->hva;
	if (kvm_set_user_memory_region(st->kvm, &r))
		return -EINVAL;
	st->dmirror = dmirror_create(st->mm, st->hva, st->npages);
	if (IS_ERR(st->dmirror))
		return PTR_ERR(st->dmirror);
	for (int i = 0; i < nvcpus; i++, n++) {
		w[n] = (struct worker){ st, kvm_vcpu_create(st->kvm), 7u + i };
		t[n] = kthread_run(vcpu_fn, &w[n], "vcpu");
	}
	w[n] = (struct worker){ st, NULL, 99 };
	t[n] = kthread_run(device_fn, &w[n], "device");
	n++;
	for (int i = 0; i < 2; i++, n++) {
		w[n] = (struct worker){ st, NULL, 1000u + i };
		t[n] = kthread_run(churn_fn, &w[n], "churn");
	}
	*nworkers = n;
	return 0;
}

int cmd_stress(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker w[MAX_VCPUS + 3];
	struct task_struct *t[MAX_VCPUS + 3];
	struct stress st = { 0 };
	double seconds = 2, t0, last;
	unsigned long sweeps = 0, faults = 0, retries = 0;
	struct kvm_vm_stat vs;
	struct ksm_stats ksm;
	int nvcpus = 4, nworkers = 0, c;
	u64 n;

	optind = 1;
	while ((c = cli_getopt("stress", argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_seconds("stress", "--seconds", optarg,
					      86400, &seconds))
				return EXIT_USAGE;
			break;
		case 'o':
			if (cli_parse_u64("stress", "--ops", optarg, 1,
					  LONG_MAX, &n))
				return EXIT_USAGE;
			st.ops_limit = n;
			break;
		case 'v':
			if (cli_parse_u64("stress", "--vcpus", optarg, 1,
					  MAX_VCPUS, &n))
				return EXIT_USAGE;
			nvcpus = (int)n;
			break;
		case 'h':
			printf("usage: mmulab stress [--seconds S | --ops N] "
			       "[--vcpus N]\n");
			return 0;
		default: /* cli_getopt() said what is wrong */
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_error("stress", "unexpected argument '%s'",
				 argv[optind]);
	interrupt_install(); /* a ^C during the setup stops at once */
	warn_set_quiet(true);
	checker_park_init(&st.park, 0);
	if (setup(&st, nvcpus, w, t, &nworkers)) {
		fprintf(stderr, "mmulab stress: setup failed\n");
		return 2;
	}
	st.park.nworkers = nworkers; /* only sweeps read it */
	t0 = last = now();
	for (;;) {
		double n = now();

		msleep(20);
		if (n - last >= 0.25) {
			sweeps++;
			checker_park_sweep(&st.park, st.host);
			last = n;
		}
		if (checker_stopped(st.host) || interrupted() ||
		    (st.ops_limit &&
		     atomic_long_read(&st.ops) >= (long)st.ops_limit) ||
		    (!st.ops_limit && n - t0 >= seconds))
			break;
	}
	WRITE_ONCE(st.stop, 1);
	for (int i = 0; i < nworkers; i++)
		kthread_stop(t[i]);
	sweeps++;
	checker_sweep(st.host);
	kvm_get_vm_stat(st.kvm, &vs);
	ksm_get_stats(st.host, &ksm);
	for (int i = 0; i < nvcpus; i++) {
		struct kvm_vcpu_stat s;

		kvm_get_vcpu_stat(w[i].vcpu, &s);
		faults += s.pf_taken;
		retries += s.pf_retry_in_progress + s.pf_retry_seq +
			   s.pf_retry_race;
	}
	kvm_destroy_vm(st.kvm);
	dmirror_destroy(st.dmirror);
	mmput(st.mm);
	mmu_notifier_synchronize();
	if (host_nr_free_frames(st.host) != host_config_of(st.host)->nr_frames - 1)
		checker_fail(st.host, INV_PINNED_OR_UNBALANCED, ~0UL, 0, ~0ULL,
			     NULL, "frames leaked after teardown");
	if (st.ops_limit && atomic_long_read(&st.ops) > (long)st.ops_limit)
		atomic_long_set(&st.ops, st.ops_limit);
	printf("stress: %ld operations in %.1f s by %d threads (%d vCPUs, "
	       "1 device, 2 host), %lu sweeps, %lu violations, %ld errors\n",
	       atomic_long_read(&st.ops), now() - t0, nworkers, nvcpus,
	       sweeps, checker_violations(st.host),
	       atomic_long_read(&st.errors));
	printf("stress: kvm: %lu invalidations, %lu SPTEs zapped, %lu remote "
	       "TLB flushes, %lu faults, %lu retries\n",
	       vs.mmu_invalidations, vs.mmu_shadow_zapped, vs.remote_tlb_flush,
	       faults, retries);
	printf("stress: host: %lu KSM pages scanned, %lu pages migrated, %lu "
	       "swapped out, %lu swapped in\n",
	       ksm.pages_scanned, host_vm_event(st.host, PGMIGRATE_SUCCESS),
	       host_vm_event(st.host, PSWPOUT), host_vm_event(st.host, PSWPIN));
	checker_report(st.host, stdout);
	if (interrupted())
		printf("stress: interrupted by SIGINT: the figures above are "
		       "partial\n");
	c = checker_violations(st.host) || atomic_long_read(&st.errors) ||
			    interrupted()
		    ? 1
		    : 0;
	checker_detach(st.host);
	host_destroy(st.host);
	return c;
}
