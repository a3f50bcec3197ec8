// SPDX-License-Identifier: MIT
/*
 * mmulab stress: real threads (no deterministic scheduler) hammering one
 * VM, a device mirror and their host memory (faults, COW, fork, munmap,
 * mprotect, madvise, KSM merging, compaction, reclaim and swap), with the
 * checker attached and periodic invariant sweeps at quiescent points:
 * every worker parks between two operations, the sweep runs, and they
 * resume.
 *
 * --soak adds a task that exits and re-creates processes and VMs, updates
 * memslots, storms swap out and in and unmerges KSM.  A watchdog task
 * turns a worker that finished no operation for --watchdog seconds into
 * a violation that prints what every task was doing and waiting on, so a
 * hang never goes silent.  Every WARN that fires is counted and fails the
 * run.  --inject makes each of the two fire, for their tests.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/trace/events/kvm.h>

#include "interrupt.h"
#include "churn.h"
#include "cli.h"
#include "mmulab.h"
#include "script.h"
#include "stress.h"

#define RW (PROT_READ | PROT_WRITE)
#define MAX_VCPUS 16
#define MAX_WORKERS (MAX_VCPUS + 4)
#define WATCHDOG_DEFAULT 30
#define MAX_STRESS_PAGES 64
#define SOAK_LOG 256 /* the soak's last operations, for INV-5's report */

/* The first read that returned another location's value. */
struct bad_read {
	int set;
	const char *who;
	u32 loc;
	u64 val;
	unsigned long addr;
	double t;
	char *frame;	/* the provenance of the frame read, then */
};

/* One operation of the soak task, by sequence number. */
struct soak_entry {
	u32 seq;
	unsigned int r;
	double t;
};

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
	atomic_t left;		  /* workers gone for good */
	wait_queue_head_t wq;	  /* woken as they go */
	bool soak;
	const char *inject;
	struct worker *workers;
	int nworkers;
	double watchdog;
	double t0;
	struct bad_read bad;	/* observation only: plain atomics */
	/* The frame KVM last mapped each page to (fault_install probe). */
	unsigned long spte_pfn[MAX_STRESS_PAGES];
	int nvcpus;
	u32 soak_seq;		/* the soak task's alone until it is joined */
	struct soak_entry soak_log[SOAK_LOG];
	struct checker_secondary mm_sweep; /* stale migration entries */
};

/*
 * One task of the run.  @op and @done are for the watchdog only: plain
 * atomics, not the concurrency layer's, so that watching adds no
 * scheduling point.
 */
struct worker {
	struct stress *st;
	struct kvm_vcpu *vcpu;
	u64 seed;
	const char *name;
	struct task_struct *task;
	const char *op;
	long done;
	bool gone;
	void (*op_fn)(struct worker *w, unsigned int r);
};

static void set_op(struct worker *w, const char *op)
{
	__atomic_store_n(&w->op, op, __ATOMIC_RELAXED);
}

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

/*
 * The soak's own processes (fork children, tenants) write values that
 * name no page of the stress VM.  Bit 31 of the high word marks them,
 * with the writer's kind and its page, and the low word is the soak
 * operation that wrote them: a read that returns one says whose it is.
 */
#define SOAK_TAG 0x80000000u
enum soak_writer { SOAK_CHILD = 1, SOAK_TENANT = 2 };

static u64 soak_value(enum soak_writer who, unsigned long page, u32 seq)
{
	return (u64)(SOAK_TAG | (u32)who << 24 | (u32)(page & 0xffffff))
		       << 32 |
	       seq;
}

static double now(void);

/*
 * checker_check_value(), keeping the first bad read for the report at
 * the end of the run (stress_explain()).  Observation: a plain atomic,
 * no scheduling point.
 */
/*
 * mmulab_kvm_fault_install probe: the frame an SPTE of the stress VM's
 * slot 0 now maps, which the vCPUs' TLBs then hold.
 */
static void note_spte(void *data, struct kvm_vcpu *vcpu, gpa_t gpa,
		      unsigned long hva, unsigned long pfn)
{
	struct stress *st = data;
	unsigned long p = gpa / PAGE_SIZE;

	(void)hva;
	if (p >= st->npages)
		return;
	/* Only the stress VM's vCPUs: tenants have VMs of their own. */
	for (int i = 0; i < st->nvcpus; i++)
		if (st->workers[i].vcpu == vcpu)
			__atomic_store_n(&st->spte_pfn[p], pfn,
					 __ATOMIC_RELAXED);
}

/* The provenance of the frame KVM last mapped @addr's page to. */
static char *spte_frame(struct stress *st, unsigned long addr)
{
	unsigned long pfn = __atomic_load_n(
		&st->spte_pfn[(addr - st->hva) / PAGE_SIZE], __ATOMIC_RELAXED);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "stress: the frame KVM last mapped the page to, as the "
		   "read failed:\n");
	dump_frame_provenance(st->host, pfn, f);
	fclose(f);
	return buf;
}

/*
 * A sweep callback over the stress VM's memory, run with every worker
 * parked: no migration is under way then, so a migration entry in a PTE
 * is one that nothing will restore.  The page's data is lost (accesses
 * fail, and the workloads ignore -EFAULT), and a later migration of the
 * page that reuses the frame at that index of the fork family would
 * point the entry at it: someone else's data.
 */
static void sweep_migration_entries(struct checker_secondary *cs,
				    struct host *host)
{
	struct stress *st = container_of(cs, struct stress, mm_sweep);
	unsigned long a = st->hva, end = st->hva + st->npages * PAGE_SIZE;
	unsigned long pfn;
	pte_t pte;

	for (; !follow_pte_next(st->mm, &a, end, &pte); a += PAGE_SIZE)
		if (pte_migration_pfn(pte, &pfn))
			checker_fail(host, INV_DATA, pfn, a, ~0ULL, NULL,
				     "a migration entry for frame %lu at %#lx "
				     "with no migration under way (a sweep): "
				     "nothing will restore it",
				     pfn, a);
}

static void stress_check(struct stress *st, const char *who, u32 loc,
			 u64 val, unsigned long addr)
{
	int unset = 0;

	if (val && (u32)(val >> 32) != loc + 1 &&
	    __atomic_compare_exchange_n(&st->bad.set, &unset, -1, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		st->bad.who = who;
		st->bad.loc = loc;
		st->bad.val = val;
		st->bad.addr = addr;
		st->bad.t = now() - st->t0;
		st->bad.frame = !strcmp(who, "vCPU") ? spte_frame(st, addr)
						     : NULL;
		__atomic_store_n(&st->bad.set, 1, __ATOMIC_RELEASE);
	}
	checker_check_value(st->host, loc, val, addr);
}

static unsigned int rnd(u64 *s)
{
	return prandom_next(s) >> 40;
}

/* Between operations: park if a sweep is pending; false to stop. */
static bool checkpoint(struct worker *w)
{
	struct stress *st = w->st;

	__atomic_store_n(&w->done, w->done + 1, __ATOMIC_RELAXED);
	set_op(w, "between operations or parked for a sweep");
	checker_park_point(&st->park);
	if (READ_ONCE(st->stop) || checker_stopped(st->host) ||
	    (st->ops_limit &&
	     atomic_long_inc_return(&st->ops) > (long)st->ops_limit)) {
		__atomic_store_n(&w->gone, true, __ATOMIC_RELAXED);
		checker_park_leave(&st->park);
		(void)atomic_inc_return(&st->left);
		wake_up_all(&st->wq);
		return false;
	}
	if (!st->ops_limit)
		atomic_long_inc(&st->ops);
	return true;
}

static void count_error(struct stress *st, int r)
{
	/* The host may unmap or protect memory under the guest (a device
	 * write to read-only memory is hmm_range_fault()'s -EPERM). */
	if (r && r != -EFAULT && r != -EPERM)
		atomic_long_inc(&st->errors);
}

static int vcpu_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;

	while (checkpoint(w)) {
		unsigned int r = rnd(&w->seed), p = r % st->npages;
		gpa_t gpa = (gpa_t)p * PAGE_SIZE;
		u64 val;

		set_op(w, r & 0x100 ? "guest write" : "guest read");
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
				stress_check(st, "vCPU", loc_of(st, p), val,
					     st->hva + p * PAGE_SIZE);
		}
	}
	return 0;
}

static int device_fn(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;

	while (checkpoint(w)) {
		unsigned int r = rnd(&w->seed), p = r % st->npages;
		unsigned long a = st->hva + p * PAGE_SIZE;
		u64 val;

		set_op(w, r & 0x100 ? "device write" : "device read");
		if (r & 0x100) {
			count_error(st, dmirror_write_u64(st->dmirror, a + 128,
							  value_for(st, p, r)));
		} else if (!dmirror_read_u64(st->dmirror, a + 128, &val)) {
			stress_check(st, "device", loc_of(st, p), val, a);
		}
	}
	return 0;
}

static struct worker *churn_worker(struct churn *c)
{
	return c->priv;
}

static u64 churn_rand(struct churn *c)
{
	return rnd(&churn_worker(c)->seed);
}

static void churn_note(struct churn *c, enum churn_op op)
{
	set_op(churn_worker(c), churn_op_name(op));
}

static u64 churn_value(struct churn *c, u64 addr, u64 r)
{
	struct stress *st = churn_worker(c)->st;

	return value_for(st, (addr - st->hva) >> PAGE_SHIFT, r);
}

static long churn_remap(struct churn *c, u64 addr, u64 len)
{
	return vm_mmap(c->mm, addr, len, RW,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
}

/*
 * Host churn on spans of 4 pages, all results ignored: the vCPUs and the
 * device see what they see, and the checker judges.  The KSM zone is
 * made mergeable before each scan, and unmerged.
 */
static void churn_op(struct worker *w, unsigned int r)
{
	static const struct churn_ops ops = {
		.rand = churn_rand,
		.note = churn_note,
		.value = churn_value,
		.remap = churn_remap,
	};
	static const unsigned int weights[NR_CHURN] = {
		[CHURN_MAP_FIXED] = 1,	 [CHURN_MPROTECT] = 1,
		[CHURN_DONTNEED] = 1,	 [CHURN_FORK_PARENT] = 1,
		[CHURN_FREE] = 1,	 [CHURN_STORE] = 1,
		[CHURN_KSM] = 1,	 [CHURN_UNMERGEABLE] = 1,
		[CHURN_COMPACT] = 1,	 [CHURN_RECLAIM] = 1,
	};
	struct stress *st = w->st;
	struct churn c = {
		.ops = &ops, .priv = w, .host = st->host, .mm = st->mm,
		.base = st->hva, .npages = st->npages, .span = 4,
		.weights = weights, .prot = RW, .store_off = 16,
		.scan_pages = 2 * st->npages, .reclaim_pages = 16,
		.ksm_zone = st->hva + (st->npages - KSM_ZONE) * PAGE_SIZE,
		.ksm_len = KSM_ZONE * PAGE_SIZE,
	};

	churn_step(&c, r);
}

/* ---------------------------------------------------------------------
 * The soak's extra churn
 */

#define TENANT_PAGES 8

/*
 * A process with a VM of its own is born, runs, swaps and dies: its guest
 * writes every page, the VMM swaps them out, the guest reads them back.
 * Half the time the process exits before its VM is destroyed.
 */
static void soak_tenant(struct worker *w, unsigned int r, u32 seq)
{
	struct stress *st = w->st;
	struct kvm_userspace_memory_region m = {
		.memory_size = TENANT_PAGES * PAGE_SIZE
	};
	struct mm_struct *mm = mm_alloc(st->host);
	struct kvm *kvm = NULL;
	struct kvm_vcpu *v;
	long a;

	if (IS_ERR(mm))
		return;
	a = (long)vm_mmap(mm, 0, TENANT_PAGES * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	if (a > 0)
		kvm = kvm_create_vm(mm, 0);
	if (!IS_ERR_OR_NULL(kvm)) {
		m.userspace_addr = a;
		v = kvm_set_user_memory_region(kvm, &m) ? NULL
							: kvm_vcpu_create(kvm);
		for (unsigned long i = 0; !IS_ERR_OR_NULL(v) &&
					  i < TENANT_PAGES; i++)
			count_error(st, kvm_vcpu_write_u64(
						v, i * PAGE_SIZE,
						soak_value(SOAK_TENANT, i, seq)));
		if (!IS_ERR_OR_NULL(v) && (r & 1))
			do_madvise(mm, a, TENANT_PAGES * PAGE_SIZE,
				   MADV_PAGEOUT);
		for (unsigned long i = 0; !IS_ERR_OR_NULL(v) &&
					  i < TENANT_PAGES; i++) {
			u64 val = 0;
			int e = kvm_vcpu_read_u64(v, i * PAGE_SIZE, &val);

			count_error(st, e);
			if (!e && val != soak_value(SOAK_TENANT, i, seq))
				atomic_long_inc(&st->errors);
		}
	}
	if (r & 2) {
		mmput(mm);
		if (!IS_ERR_OR_NULL(kvm))
			kvm_destroy_vm(kvm);
	} else {
		if (!IS_ERR_OR_NULL(kvm))
			kvm_destroy_vm(kvm);
		mmput(mm);
	}
}

/*
 * Memslot updates under the running vCPUs: slot 0 starts or stops dirty
 * logging (and its log is read), and a second slot aliasing part of the
 * same memory comes and goes.
 */
static void soak_memslots(struct stress *st, unsigned int r)
{
	struct kvm_userspace_memory_region m = {
		.slot = 0,
		.memory_size = st->npages * PAGE_SIZE,
		.userspace_addr = st->hva,
	};
	unsigned long bitmap[(MAX_STRESS_PAGES + 63) / 64];

	if (r & 1) {
		m.flags = r & 2 ? KVM_MEM_LOG_DIRTY_PAGES : 0;
		kvm_set_user_memory_region(st->kvm, &m);
		kvm_get_dirty_log(st->kvm, 0, bitmap);
		return;
	}
	m.slot = 1;
	m.guest_phys_addr = 1UL << 30;
	m.memory_size = r & 2 ? 8 * PAGE_SIZE : 0;
	kvm_set_user_memory_region(st->kvm, &m);
}

/* Everything out to swap, then everything read back and checked. */
static void soak_swap_storm(struct stress *st)
{
	do_madvise(st->mm, st->hva, st->npages * PAGE_SIZE, MADV_PAGEOUT);
	for (unsigned long p = 0; p < st->npages; p++) {
		unsigned long a = st->hva + p * PAGE_SIZE + 16;
		u64 val;

		if (!cpu_read_u64(st->mm, a, &val))
			stress_check(st, "swap storm's CPU", loc_of(st, p),
				     val, a & PAGE_MASK);
	}
}

/*
 * Move the KSM zone's pages (KSM pages, once merged) while the churn
 * tasks scan: a migration walks a KSM page's stable node twice, and the
 * scanner edits those nodes.
 */
static void soak_migrate_ksm(struct stress *st)
{
	unsigned long zone = st->hva + (st->npages - KSM_ZONE) * PAGE_SIZE;

	for (unsigned long i = 0; i < KSM_ZONE; i++) {
		struct page *page;
		unsigned long pfn;

		if (get_user_pages_unlocked(st->mm, zone + i * PAGE_SIZE, 1,
					    &page, 0) != 1)
			continue;
		pfn = page_to_pfn(page);
		put_page(page);
		migrate_pfn(st->host, pfn, NULL);
	}
}

static const char *const soak_ops[6] = {
	"process and VM lifetime", "memslot update", "swap storm",
	"KSM unmerge", "fork and exit", "KSM page migration",
};

static void soak_op(struct worker *w, unsigned int r)
{
	struct stress *st = w->st;
	struct mm_struct *child;
	u32 seq = ++st->soak_seq;
	unsigned long p = (r >> 3) % st->npages;

	st->soak_log[seq % SOAK_LOG] =
		(struct soak_entry){ .seq = seq, .r = r, .t = now() - st->t0 };
	switch (r % 6) {
	case 5:
		set_op(w, "KSM page migration");
		soak_migrate_ksm(st);
		break;
	case 0:
		set_op(w, "process and VM lifetime");
		soak_tenant(w, r >> 3, seq);
		break;
	case 1:
		set_op(w, "memslot update");
		soak_memslots(st, r >> 3);
		break;
	case 2:
		set_op(w, "swap storm");
		soak_swap_storm(st);
		break;
	case 3: /* unmerge every KSM page of the host, then allow merging */
		set_op(w, "KSM unmerge");
		ksm_set_run(st->host, KSM_RUN_UNMERGE);
		ksm_set_run(st->host, KSM_RUN_STOP);
		break;
	default: /* a child that writes, swaps and exits */
		set_op(w, "fork and exit");
		child = dup_mm(st->mm);
		if (IS_ERR(child))
			break;
		cpu_write_u64(child, st->hva + p * PAGE_SIZE,
			      soak_value(SOAK_CHILD, p, seq));
		do_madvise(child, st->hva, st->npages * PAGE_SIZE,
			   MADV_PAGEOUT);
		mmput(child);
		break;
	}
}


/* A host task: w->op_fn with a new random number, between checkpoints. */
static int host_fn(void *arg)
{
	struct worker *w = arg;

	while (checkpoint(w))
		w->op_fn(w, rnd(&w->seed));
	return 0;
}

/*
 * --inject: the run's own checks, tested.  "stall" takes the mmap_lock
 * for writing and never lets go, as a task spinning under it would: the
 * watchdog must report it.  "warn" raises one WARN, which must fail the
 * run.  "stale" keeps writing into page 0 the value a forked child of
 * the soak writes into its own copy, as a broken COW or a stale swap
 * slot would leave it: INV-5 must fire and the report explain it.
 */
static int inject_fn(void *arg)
{
	struct worker *w = arg;
	bool stall = !strcmp(w->st->inject, "stall");

	if (!strcmp(w->st->inject, "stale")) {
		set_op(w, "writing a forked child's value (--inject stale)");
		while (checkpoint(w))
			cpu_write_u64(w->st->mm, w->st->hva,
				      soak_value(SOAK_CHILD, 0, 0));
		return 0;
	}
	/* First, before a checkpoint may end the run for this task. */
	if (!stall) {
		set_op(w, "raising a WARN (--inject warn)");
		WARN_ON(!stall);
		while (checkpoint(w))
			msleep(1);
		return 0;
	}
	set_op(w, "holding mmap_lock forever (--inject stall)");
	mmap_write_lock(w->st->mm);
	while (!READ_ONCE(w->st->stop))
		msleep(10);
	mmap_write_unlock(w->st->mm);
	while (checkpoint(w))
		;
	return 0;
}

/* ---------------------------------------------------------------------
 * The watchdog
 */

static void show_tasks(struct stress *st, double *last_done_at, double t)
{
	for (int i = 0; i < st->nworkers; i++) {
		struct worker *w = &st->workers[i];
		const char *kind;
		const void *obj = task_waiting_on(w->task, &kind);

		printf("  task %d (%s): %s, %ld operations, last one %.1f s "
		       "ago, ",
		       task_pid(w->task), w->name,
		       __atomic_load_n(&w->op, __ATOMIC_RELAXED),
		       __atomic_load_n(&w->done, __ATOMIC_RELAXED),
		       t - last_done_at[i]);
		if (obj)
			printf("waiting on %s %p\n", kind, obj);
		else
			printf("running\n");
	}
}

/*
 * Every 100 ms: has each worker still here finished an operation within
 * the last st->watchdog seconds?  If not, report every task and exit: the
 * run cannot be torn down with a task stuck.
 */
static int watchdog_fn(void *arg)
{
	struct stress *st = arg;
	double last_done_at[MAX_WORKERS];
	long last_done[MAX_WORKERS];

	for (int i = 0; i < st->nworkers; i++) {
		last_done_at[i] = now();
		last_done[i] = -1;
	}
	while (!kthread_should_stop()) {
		double t = now();

		msleep(100);
		for (int i = 0; i < st->nworkers; i++) {
			struct worker *w = &st->workers[i];
			long d = __atomic_load_n(&w->done, __ATOMIC_RELAXED);

			if (d != last_done[i] ||
			    __atomic_load_n(&w->gone, __ATOMIC_RELAXED)) {
				last_done[i] = d;
				last_done_at[i] = t;
				continue;
			}
			if (t - last_done_at[i] < st->watchdog)
				continue;
			printf("violation: watchdog: task %d (%s) finished no "
			       "operation for %.0f s\n",
			       task_pid(w->task), w->name, st->watchdog);
			show_tasks(st, last_done_at, t);
			fflush(stdout);
			fflush(stderr);
			_exit(1);
		}
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start a task of the run: @fn, with @op_fn for host_fn(). */
static void start_worker(struct stress *st, const char *name,
			 int (*fn)(void *),
			 void (*op_fn)(struct worker *w, unsigned int r),
			 struct kvm_vcpu *vcpu, unsigned int seed)
{
	struct worker *w = &st->workers[st->nworkers++];

	*w = (struct worker){ .st = st, .vcpu = vcpu,
			      .seed = splitmix64(seed) | 1,
			      .name = name, .op = "starting",
			      .op_fn = op_fn };
	w->task = kthread_run(fn, w, name);
}

static int setup(struct stress *st, int nvcpus)
{
	struct host_config cfg = { .nr_frames = 8192,
				   .content = HOST_CONTENT_DATA,
				   .swap_slots = 4096 };
	struct kvm_userspace_memory_region r = { 0 };

	st->host = host_create(&cfg);
	if (IS_ERR(st->host) || checker_attach(st->host))
		return -ENOMEM;
	st->mm = mm_alloc(st->host);
	if (IS_ERR(st->mm))
		return PTR_ERR(st->mm);
	st->npages = MAX_STRESS_PAGES;
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
	st->mm_sweep.name = "stress mm";
	st->mm_sweep.sweep = sweep_migration_entries;
	checker_register_secondary(st->host, &st->mm_sweep);
	for (int i = 0; i < nvcpus; i++)
		start_worker(st, "vcpu", vcpu_fn, NULL,
			     kvm_vcpu_create(st->kvm), 7u + i);
	start_worker(st, "device", device_fn, NULL, NULL, 99);
	for (int i = 0; i < 2; i++)
		start_worker(st, "churn", host_fn, churn_op, NULL, 1000u + i);
	if (st->soak)
		start_worker(st, "soak", host_fn, soak_op, NULL, 2000);
	if (st->inject)
		start_worker(st, "inject", inject_fn, NULL, NULL, 0);
	return 0;
}

static const char usage[] =
	"usage: mmulab stress [--seconds S | --ops N] [--vcpus N] [--soak]\n"
	"                     [--watchdog S] [--inject stall|warn|stale]\n";

/* Parse the options into @st: 0, -1 for --help, or 2 for a usage error. */
static int parse_stress(int argc, char **argv, struct stress *st,
			double *seconds, int *nvcpus)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "soak", no_argument, NULL, 'k' },
		{ "watchdog", required_argument, NULL, 'w' },
		{ "inject", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	u64 n;
	int c;

	optind = 1;
	while ((c = cli_getopt("stress", argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_seconds("stress", "--seconds", optarg,
					      86400, seconds))
				return EXIT_USAGE;
			break;
		case 'o':
			if (cli_parse_u64("stress", "--ops", optarg, 1,
					  LONG_MAX, &n))
				return EXIT_USAGE;
			st->ops_limit = n;
			break;
		case 'v':
			if (cli_parse_u64("stress", "--vcpus", optarg, 1,
					  MAX_VCPUS, &n))
				return EXIT_USAGE;
			*nvcpus = (int)n;
			break;
		case 'k':
			st->soak = true;
			break;
		case 'w':
			if (cli_parse_seconds("stress", "--watchdog", optarg,
					      86400, &st->watchdog))
				return EXIT_USAGE;
			if (st->watchdog < 1)
				return cli_error("stress", "--watchdog needs at "
						 "least 1 second, not '%s'",
						 optarg);
			break;
		case 'i':
			if (strcmp(optarg, "stall") && strcmp(optarg, "warn") &&
			    strcmp(optarg, "stale"))
				return cli_error("stress", "--inject is stall, "
						 "warn or stale, not '%s'",
						 optarg);
			st->inject = optarg;
			break;
		case 'h':
			printf("%s", usage);
			return -1;
		default: /* cli_getopt() said what is wrong */
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_error("stress", "unexpected argument '%s'",
				 argv[optind]);
	return 0;
}

/*
 * Stop the workers and the watchdog, sweep a last time; the counters.
 * The watchdog stops only once every worker has left its loop: a worker
 * stuck on the way out is reported like any other, before any task is
 * reaped (and freed).
 */
static void finish(struct stress *st, struct task_struct *watchdog,
		   int nvcpus, unsigned long *faults, unsigned long *retries)
{
	WRITE_ONCE(st->stop, 1);
	wait_event(st->wq,
		   smp_load_acquire(&st->left.counter) == st->nworkers);
	kthread_stop(watchdog);
	for (int i = 0; i < st->nworkers; i++)
		kthread_stop(st->workers[i].task);
	checker_sweep(st->host);
	for (int i = 0; i < nvcpus; i++) {
		struct kvm_vcpu_stat s;

		kvm_get_vcpu_stat(st->workers[i].vcpu, &s);
		*faults += s.pf_taken;
		*retries += s.pf_retry_in_progress + s.pf_retry_seq +
			    s.pf_retry_race;
	}
}

/*
 * Sweep every quarter of a second while the workers run, until a violation,
 * a ^C, the operation limit, or @seconds after @t0 without one.
 * Return: the sweeps made.
 */
static unsigned long sweep_until_done(struct stress *st, double t0,
				      double seconds)
{
	unsigned long sweeps = 0;
	double last = t0;

	for (;;) {
		double n = now();

		msleep(20);
		if (n - last >= 0.25) {
			sweeps++;
			checker_park_sweep(&st->park, st->host);
			last = n;
		}
		if (checker_stopped(st->host) || interrupted() ||
		    (st->ops_limit &&
		     atomic_long_read(&st->ops) >= (long)st->ops_limit) ||
		    (!st->ops_limit && n - t0 >= seconds))
			return sweeps;
	}
}

/*
 * After the run, with every task stopped: whose value the first bad read
 * returned (a soak writer's, by its operation; or another page's), and
 * what maps the address now, with where that frame's contents came from.
 */
static void stress_explain(struct stress *st)
{
	struct bad_read *b = &st->bad;
	u32 hi = (u32)(b->val >> 32), seq = (u32)b->val;
	struct soak_entry *e = &st->soak_log[seq % SOAK_LOG];

	if (__atomic_load_n(&b->set, __ATOMIC_ACQUIRE) != 1)
		return;
	printf("stress: INV-5: the %s read of page %lu (%#lx) at %.3f s "
	       "returned %#llx: ",
	       b->who, (b->addr - st->hva) / PAGE_SIZE, b->addr, b->t,
	       (unsigned long long)b->val);
	if (!(hi & SOAK_TAG))
		printf("a value written to location %d\n", (int)hi - 1);
	else if (!seq)
		printf("the value --inject stale writes, as a forked child "
		       "would\n");
	else if (e->seq == seq)
		printf("written by the soak's %s of its page %u in its "
		       "operation %u (%s, at %.3f s)\n",
		       (hi >> 24 & 0x7f) == SOAK_CHILD ? "forked child"
						       : "tenant",
		       hi & 0xffffff, seq, soak_ops[e->r % 6], e->t);
	else
		printf("written by the soak's %s of its page %u in its "
		       "operation %u (no longer in the log)\n",
		       (hi >> 24 & 0x7f) == SOAK_CHILD ? "forked child"
						       : "tenant",
		       hi & 0xffffff, seq);
	if (b->frame)
		printf("%s", b->frame);
	free(b->frame);
	printf("stress: what maps it now:\n");
	dump_user_addr(st->mm, b->addr & PAGE_MASK, stdout);
}

int cmd_stress(int argc, char **argv)
{
	struct worker w[MAX_WORKERS];
	struct stress st = { .workers = w, .watchdog = WATCHDOG_DEFAULT };
	double seconds = 2, t0;
	unsigned long sweeps, faults = 0, retries = 0, warns;
	struct task_struct *watchdog;
	struct kvm_vm_stat vs;
	struct ksm_stats ksm;
	int nvcpus = 4, c;

	/* An error was said on its first line; -1: --help. */
	c = parse_stress(argc, argv, &st, &seconds, &nvcpus);
	if (c) {
		if (c > 0)
			fprintf(stderr, "%s", usage);
		return c > 0 ? c : 0;
	}
	interrupt_install(); /* a ^C during the setup stops at once */
	warns = warn_count();
	init_waitqueue_head(&st.wq);
	checker_park_init(&st.park, 0);
	st.t0 = now();
	memset(st.spte_pfn, 0xff, sizeof(st.spte_pfn));
	if (setup(&st, nvcpus)) {
		fprintf(stderr, "mmulab stress: setup failed\n");
		return 2;
	}
	st.park.nworkers = st.nworkers; /* only sweeps read it */
	st.nvcpus = nvcpus;
	register_trace_mmulab_kvm_fault_install(note_spte, &st);
	watchdog = kthread_run(watchdog_fn, &st, "watchdog");
	t0 = now();
	sweeps = sweep_until_done(&st, t0, seconds);
	finish(&st, watchdog, nvcpus, &faults, &retries);
	unregister_trace_mmulab_kvm_fault_install(note_spte, &st);
	sweeps++;
	stress_explain(&st);
	kvm_get_vm_stat(st.kvm, &vs);
	ksm_get_stats(st.host, &ksm);
	checker_unregister_secondary(st.host, &st.mm_sweep);
	kvm_destroy_vm(st.kvm);
	dmirror_destroy(st.dmirror);
	mmput(st.mm);
	mmu_notifier_synchronize();
	if (host_nr_free_frames(st.host) != host_config_of(st.host)->nr_frames - 1)
		checker_fail(st.host, INV_PINNED_OR_UNBALANCED, ~0UL, 0, ~0ULL,
			     NULL, "frames leaked after teardown");
	if (st.ops_limit && atomic_long_read(&st.ops) > (long)st.ops_limit)
		atomic_long_set(&st.ops, st.ops_limit);
	warns = warn_count() - warns;
	printf("stress: %ld operations in %.1f s by %d threads (%d vCPUs, "
	       "1 device, %d host), %lu sweeps, %lu violations, %ld errors, "
	       "%lu warnings\n",
	       atomic_long_read(&st.ops), now() - t0, st.nworkers, nvcpus,
	       st.nworkers - nvcpus - 1, sweeps, checker_violations(st.host),
	       atomic_long_read(&st.errors), warns);
	printf("stress: kvm: %lu invalidations, %lu SPTE tables freed, "
	       "%lu remote TLB flushes, %lu faults, %lu retries\n",
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
			    warns || interrupted()
		    ? 1
		    : 0;
	checker_detach(st.host);
	host_destroy(st.host);
	return c;
}
