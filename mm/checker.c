// SPDX-License-Identifier: MIT
/*
 * The coherence checker (see <mmulab/checker.h>).
 *
 * Per frame it keeps the number of secondary translations that map the
 * frame, reported by the secondary MMUs, and a free generation bumped each
 * time the frame is freed.  A free with a non-zero count, or the use of a
 * cached translation whose generation is stale, is a use-after-free of the
 * kind notifiers exist to prevent.  A short history of events lets a
 * report show what last touched the frame.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/checker.h>
#include <mmulab/trace/events/kvm.h>
#include "internal.h"
#include "pgtable.h"

#define HISTORY 2048
#define UNFLUSHED_MAX 4096 /* PTEs cleared and not yet flushed, host-wide */

/* INV-14: a present PTE cleared or re-pointed, its TLB flush still owed. */
struct unflushed {
	struct mm_struct *mm;
	unsigned long addr, pfn;
	int task;
};

struct checker_event {
	unsigned long seq;
	int task;
	const char *what;
	unsigned long pfn;
	unsigned long addr;
};

struct checker {
	struct host *host;
	unsigned long nr_frames;
	atomic_t *sec_maps;
	u32 *gen;
	atomic_long_t violations;
	int lock; /* a plain spin: an observer adds no scheduling point */
	bool have_first;
	struct checker_violation first;
	unsigned long first_seq;
	unsigned long hist_seq;
	struct checker_event hist[HISTORY];
	struct list_head secondaries;
	struct checker *retired_next;	/* detached, freed with the host */
	/* INV-14, under ulock (raw_lock()). */
	int ulock;
	unsigned int nr_unflushed;
	struct unflushed unflushed[UNFLUSHED_MAX];
	u8 *unflushed_cnt; /* per frame, entries in unflushed[] (saturates) */
};

/*
 * The checker's own locks: plain spins, not <mmulab/sync.h>'s, so that
 * observing adds no scheduling point and no lock class.  A deterministic
 * run has one task running, which never waits here; real threads hold
 * them for a few stores.
 */
static void raw_lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
			;
}

static void raw_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static const char *const inv_names[] = {
	[INV_STALE_SECONDARY] = "stale-secondary",
	[INV_FREED_WHILE_MAPPED] = "freed-while-mapped",
	[INV_WRITABLE_SECONDARY] = "writable-secondary",
	[INV_PINNED_OR_UNBALANCED] = "pinned-or-unbalanced",
	[INV_DATA] = "data",
	[INV_MAPPED_AFTER_START] = "mapped-after-start",
	[INV_UNNOTIFIED_PTE] = "unnotified-pte",
	[INV_STALE_TLB] = "stale-tlb",
	[INV_SLEEP_IN_ATOMIC] = "sleep-in-atomic",
	[INV_SLEEP_IN_NONBLOCK] = "sleep-in-nonblock",
	[INV_LOCK_ORDER] = "lock-order-inversion",
	[INV_SELF_DEADLOCK] = "self-deadlock",
	[INV_LOCK_NOT_HELD] = "lock-not-held",
	[INV_UNFLUSHED_FREE] = "unflushed-free",
};

/* The violating event, as the history shows it. */
static const char *const inv_events[] = {
	[INV_STALE_SECONDARY] = "VIOLATION INV-1 stale-secondary",
	[INV_FREED_WHILE_MAPPED] = "VIOLATION INV-2 freed-while-mapped",
	[INV_WRITABLE_SECONDARY] = "VIOLATION INV-3 writable-secondary",
	[INV_PINNED_OR_UNBALANCED] = "VIOLATION INV-4 pinned-or-unbalanced",
	[INV_DATA] = "VIOLATION INV-5 data",
	[INV_MAPPED_AFTER_START] = "VIOLATION INV-6 mapped-after-start",
	[INV_UNNOTIFIED_PTE] = "VIOLATION INV-7 unnotified-pte",
	[INV_STALE_TLB] = "VIOLATION INV-8 stale-tlb",
	[INV_SLEEP_IN_ATOMIC] = "VIOLATION INV-9 sleep-in-atomic",
	[INV_SLEEP_IN_NONBLOCK] = "VIOLATION INV-10 sleep-in-nonblock",
	[INV_LOCK_ORDER] = "VIOLATION INV-11 lock-order-inversion",
	[INV_SELF_DEADLOCK] = "VIOLATION INV-12 self-deadlock",
	[INV_LOCK_NOT_HELD] = "VIOLATION INV-13 lock-not-held",
	[INV_UNFLUSHED_FREE] = "VIOLATION INV-14 unflushed-free",
};

const char *checker_inv_name(enum checker_inv inv)
{
	if (inv < INV_STALE_SECONDARY || inv >= MMULAB_ARRAY_SIZE(inv_names))
		return NULL;
	return inv_names[inv];
}

/* The checker whose host receives the lock validator's violations. */
static struct checker *lockdep_owner;

static void vfail(struct checker *c, enum checker_inv inv, unsigned long pfn,
		  unsigned long addr, u64 gpa, const char *secondary,
		  const char *fmt, va_list ap);

static void fail(struct checker *c, enum checker_inv inv, unsigned long pfn,
		 unsigned long addr, const char *secondary, const char *fmt,
		 ...) __attribute__((format(printf, 6, 7)));

/* The lock validator's hook: its rules are invariants 9 to 13. */
static void lockdep_violation(void *ctx, enum lockdep_kind kind,
			      const char *report)
{
	static const enum checker_inv inv_of[LOCKDEP_NR_KINDS] = {
		[LOCKDEP_SLEEP_IN_ATOMIC] = INV_SLEEP_IN_ATOMIC,
		[LOCKDEP_SLEEP_IN_NONBLOCK] = INV_SLEEP_IN_NONBLOCK,
		[LOCKDEP_ORDER_INVERSION] = INV_LOCK_ORDER,
		[LOCKDEP_SELF_DEADLOCK] = INV_SELF_DEADLOCK,
		[LOCKDEP_NOT_HELD] = INV_LOCK_NOT_HELD,
	};

	fail(ctx, inv_of[kind], ~0UL, 0, NULL, "%s", report);
}

/* Not a scheduling point: the checker only observes. */
static struct checker *checker_of(struct host *host)
{
	return host ? checker_peek(host->checker) : NULL;
}

bool checker_attached(struct host *host)
{
	return checker_of(host) != NULL;
}

static int history_probes(struct checker *c, bool on);
static void unflushed_freed(struct checker *c, unsigned long pfn);
static void unflushed_add(struct checker *c, struct mm_struct *mm,
			  unsigned long addr, unsigned long pfn);

int checker_attach(struct host *host)
{
	struct checker *c;

	if (!host)
		return -EINVAL;
	if (host->checker)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->host = host;
	c->nr_frames = host->cfg.nr_frames;
	c->sec_maps = calloc(c->nr_frames, sizeof(*c->sec_maps));
	c->gen = calloc(c->nr_frames, sizeof(*c->gen));
	c->unflushed_cnt = calloc(c->nr_frames, 1);
	if (!c->sec_maps || !c->gen || !c->unflushed_cnt ||
	    history_probes(c, true)) {
		/* A probe briefly registered may be running with @c. */
		tracepoint_synchronize_unregister();
		free(c->sec_maps);
		free(c->gen);
		free(c->unflushed_cnt);
		free(c);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&c->secondaries);
	WRITE_ONCE(host->checker, c);
	lockdep_owner = c;
	lockdep_set_hook(lockdep_violation, c);
	return 0;
}

void checker_detach(struct host *host)
{
	struct checker *c = checker_of(host);

	if (!c)
		return;
	WRITE_ONCE(host->checker, NULL);
	history_probes(c, false);
	if (lockdep_owner == c) {
		lockdep_set_hook(NULL, NULL);
		lockdep_owner = NULL;
	}
	/*
	 * Hooks read host->checker without a lock or a scheduling point, so
	 * one running on another task (kswapd freeing a frame), or a probe,
	 * may still be using @c: it is freed with the host, when no task of
	 * it runs.
	 */
	c->retired_next = host->checker_retired;
	host->checker_retired = c;
}

void checker_free_retired(struct host *host)
{
	/* The probe arrays the detaches replaced, and probes still running. */
	if (host->checker_retired)
		tracepoint_synchronize_unregister();
	while (host->checker_retired) {
		struct checker *c = host->checker_retired;

		host->checker_retired = c->retired_next;
		free(c->sec_maps);
		free(c->gen);
		free(c->unflushed_cnt);
		free(c);
	}
}

unsigned long checker_violations(struct host *host)
{
	struct checker *c = checker_of(host);

	return c ? atomic_long_observe(&c->violations) : 0;
}

const struct checker_violation *checker_first(struct host *host)
{
	struct checker *c = checker_of(host);

	return c && c->have_first ? &c->first : NULL;
}

static void note(struct checker *c, const char *what, unsigned long pfn,
		 unsigned long addr)
{
	struct checker_event *e;

	raw_lock(&c->lock);
	/* The history a report shows is the one at the violation. */
	if (c->have_first) {
		raw_unlock(&c->lock);
		return;
	}
	e = &c->hist[c->hist_seq % HISTORY];
	e->seq = ++c->hist_seq;
	e->task = task_pid(current);
	e->what = what;
	e->pfn = pfn;
	e->addr = addr;
	raw_unlock(&c->lock);
}

/*
 * The history's sink: probes on KVM's events, registered while the
 * checker is attached, each noting the step of the protocol it saw.
 */
static void note_kvm(struct checker *c, struct kvm *kvm, const char *what,
		     unsigned long pfn, unsigned long addr)
{
	if (mm_host(kvm_vm_mm(kvm)) == c->host)
		note(c, what, pfn, addr);
}

static void probe_unmap_hva_range(void *c, struct kvm *kvm,
				  unsigned long start, unsigned long end)
{
	(void)end;
	note_kvm(c, kvm, "kvm: invalidate_range_start", ~0UL, start);
}

static void probe_invalidate_range_end(void *c, struct kvm *kvm,
				       unsigned long start, unsigned long end)
{
	(void)end;
	note_kvm(c, kvm, "kvm: invalidate_range_end", ~0UL, start);
}

#define CHECKER_FAULT_PROBE(step, what)                                        \
	static void probe_fault_##step(void *c, struct kvm_vcpu *vcpu,         \
				       gpa_t gpa, unsigned long hva,           \
				       unsigned long pfn)                      \
	{                                                                      \
		(void)gpa;                                                     \
		note_kvm(c, kvm_vcpu_vm(vcpu), what, pfn, hva);                \
	}
CHECKER_FAULT_PROBE(snapshot, "kvm: fault snapshots mmu_invalidate_seq")
CHECKER_FAULT_PROBE(pfn, "kvm: fault got the page from GUP")
CHECKER_FAULT_PROBE(retry, "kvm: fault retries")
CHECKER_FAULT_PROBE(install, "kvm: fault installs the SPTE")

/* Attach (@on) or detach the history's probes. */
static int history_probes(struct checker *c, bool on)
{
	int ret = 0;

	if (on) {
		ret = register_trace_kvm_unmap_hva_range(probe_unmap_hva_range,
							 c) ?:
		      register_trace_mmulab_kvm_invalidate_range_end(
			      probe_invalidate_range_end, c) ?:
		      register_trace_mmulab_kvm_fault_snapshot(
			      probe_fault_snapshot, c) ?:
		      register_trace_mmulab_kvm_fault_pfn(probe_fault_pfn, c) ?:
		      register_trace_mmulab_kvm_fault_retry(probe_fault_retry,
							    c) ?:
		      register_trace_mmulab_kvm_fault_install(
			      probe_fault_install, c);
		if (!ret)
			return 0;
	}
	/* Off, or undo a partial attach: a probe not registered is -ENOENT. */
	unregister_trace_kvm_unmap_hva_range(probe_unmap_hva_range, c);
	unregister_trace_mmulab_kvm_invalidate_range_end(
		probe_invalidate_range_end, c);
	unregister_trace_mmulab_kvm_fault_snapshot(probe_fault_snapshot, c);
	unregister_trace_mmulab_kvm_fault_pfn(probe_fault_pfn, c);
	unregister_trace_mmulab_kvm_fault_retry(probe_fault_retry, c);
	unregister_trace_mmulab_kvm_fault_install(probe_fault_install, c);
	return ret;
}

static void vfail(struct checker *c, enum checker_inv inv, unsigned long pfn,
		  unsigned long addr, u64 gpa, const char *secondary,
		  const char *fmt, va_list ap)
{
	struct checker_event *e;

	atomic_long_inc(&c->violations);
	raw_lock(&c->lock);
	if (!c->have_first) {
		struct checker_violation *v = &c->first;

		v->inv = inv;
		v->pfn = pfn;
		v->addr = addr;
		v->gpa = gpa;
		v->secondary = secondary;
		vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
		/* The violating event closes the history. */
		e = &c->hist[c->hist_seq % HISTORY];
		e->seq = ++c->hist_seq;
		e->task = task_pid(current);
		e->what = inv_events[inv];
		e->pfn = pfn;
		e->addr = addr;
		c->first_seq = e->seq;
		c->have_first = true;
	}
	raw_unlock(&c->lock);
}

void checker_fail(struct host *host, enum checker_inv inv, unsigned long pfn,
		  unsigned long addr, u64 gpa, const char *secondary,
		  const char *fmt, ...)
{
	struct checker *c = checker_of(host);
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vfail(c, inv, pfn, addr, gpa, secondary, fmt, ap);
	va_end(ap);
}

static void fail(struct checker *c, enum checker_inv inv, unsigned long pfn,
		 unsigned long addr, const char *secondary, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, inv, pfn, addr, ~0ULL, secondary, fmt, ap);
	va_end(ap);
}

void checker_secondary_map(struct host *host, unsigned long pfn,
			   unsigned long addr, int delta)
{
	struct checker *c = checker_of(host);

	if (!c || pfn >= c->nr_frames || is_zero_pfn(pfn))
		return;
	note(c, delta > 0 ? "secondary map" : "secondary unmap", pfn, addr);
	if (atomic_add_return(delta, &c->sec_maps[pfn]) < 0)
		fail(c, INV_PINNED_OR_UNBALANCED, pfn, 0, NULL,
		     "frame %lu: more secondary unmaps than maps", pfn);
}

u32 checker_frame_gen(struct host *host, unsigned long pfn)
{
	struct checker *c = checker_of(host);

	if (!c || pfn >= c->nr_frames)
		return 0;
	return __atomic_load_n(&c->gen[pfn], __ATOMIC_ACQUIRE);
}

bool checker_tlb_use(struct host *host, unsigned long pfn, u32 gen,
		     const char *who)
{
	struct checker *c = checker_of(host);

	if (!c || pfn >= c->nr_frames || is_zero_pfn(pfn))
		return true;
	if (__atomic_load_n(&c->gen[pfn], __ATOMIC_ACQUIRE) == gen)
		return true;
	fail(c, INV_FREED_WHILE_MAPPED, pfn, 0, who,
	     "a cached translation to frame %lu was used after the frame was "
	     "freed (generation %u, now %u)",
	     pfn, gen, __atomic_load_n(&c->gen[pfn], __ATOMIC_ACQUIRE));
	return false;
}

bool checker_stopped(struct host *host)
{
	struct checker *c = checker_of(host);

	return c && atomic_long_observe(&c->violations);
}

/* Ask the secondaries who maps @pfn (lock-free on their side). */
static const char *describe(struct checker *c, unsigned long pfn, char *buf,
			    size_t n, unsigned long *addr, u64 *gpa)
{
	struct list_head *l;

	for (l = c->secondaries.next; l != &c->secondaries; l = l->next) {
		struct checker_secondary *cs =
			container_of((void *)l, struct checker_secondary, node);

		if (cs->describe && cs->describe(cs, pfn, buf, n, addr, gpa))
			return cs->name;
	}
	return NULL;
}

/**
 * checker_page_free() - @pfn is being freed: nothing may map it.  Called
 * by the frame allocator; the generation bump makes every translation
 * cached before this point detectably stale.
 */
void checker_page_free(struct host *host, unsigned long pfn)
{
	struct checker *c = checker_of(host);
	int maps;

	if (!c || pfn >= c->nr_frames)
		return;
	__atomic_fetch_add(&c->gen[pfn], 1, __ATOMIC_RELEASE);
	note(c, "frame freed", pfn, 0);
	if (unlikely(__atomic_load_n(&c->unflushed_cnt[pfn], __ATOMIC_RELAXED)))
		unflushed_freed(c, pfn);
	maps = atomic_read(&c->sec_maps[pfn]);
	if (maps > 0) {
		char what[120] = "";
		unsigned long addr = 0;
		u64 gpa = ~0ULL;
		const char *who = describe(c, pfn, what, sizeof(what), &addr,
					   &gpa);

		checker_fail(host, INV_FREED_WHILE_MAPPED, pfn, addr, gpa, who,
			     "frame %lu freed while %d secondary translation%s "
			     "still map%s it%s%s",
			     pfn, maps, maps == 1 ? "" : "s",
			     maps == 1 ? "s" : "", *what ? ": " : "", what);
	}
}

void checker_check_value(struct host *host, u32 loc, u64 val,
			 unsigned long addr)
{
	struct checker *c = checker_of(host);

	if (!c || !val || (u32)(val >> 32) == loc + 1)
		return;
	fail(c, INV_DATA, ~0UL, addr, NULL,
	     "read of location %u at %#lx returned %#llx, written to "
	     "location %d",
	     loc, addr, (unsigned long long)val, (int)(val >> 32) - 1);
}

void checker_register_secondary(struct host *host,
				struct checker_secondary *cs)
{
	struct checker *c = checker_of(host);
	struct list_head *n = (struct list_head *)cs->node;

	if (!c)
		return;
	checker_poke(cs->host, host);
	raw_lock(&c->lock);
	list_add_tail(n, &c->secondaries);
	raw_unlock(&c->lock);
}

void checker_unregister_secondary(struct host *host,
				  struct checker_secondary *cs)
{
	struct checker *c = checker_of(host);

	if (!c)
		return;
	raw_lock(&c->lock);
	list_del_init((struct list_head *)cs->node);
	raw_unlock(&c->lock);
}

unsigned long checker_sweep(struct host *host)
{
	struct checker *c = checker_of(host);
	unsigned long before;
	struct list_head *n;

	if (!c)
		return 0;
	before = atomic_long_read(&c->violations);
	/* Quiescent: nobody changes the list under us. */
	for (n = c->secondaries.next; n != &c->secondaries; n = n->next) {
		struct checker_secondary *cs =
			container_of((void *)n, struct checker_secondary, node);

		cs->sweep(cs, host);
	}
	return atomic_long_read(&c->violations) - before;
}

/* ---------------------------------------------------------------------
 * INV-6: the subscriber's side of the contract, asked by the core
 */

void checker_watch_notifier(struct checker_secondary *cs,
			    struct mmu_notifier *mn)
{
	if (mn)
		mn->checker = cs && cs->host ? cs : NULL;
}

void checker_watch_interval(struct checker_secondary *cs,
			    struct mmu_interval_notifier *mni)
{
	if (mni)
		mni->checker = cs && cs->host ? cs : NULL;
}

/*
 * Ask @cs whether it maps anything of @mm in [start, end) now that @after
 * returned.  Observation only: the query takes no lock and reaches no
 * scheduling point, and nothing here does either until a violation is
 * recorded.
 */
static void contract(struct checker_secondary *cs, struct mm_struct *mm,
		     unsigned long start, unsigned long end, const char *after)
{
	struct checker_mapping m = { .pfn = ~0UL, .gpa = ~0ULL };
	struct host *host = cs ? checker_peek(cs->host) : NULL;
	struct checker *c = checker_of(host);

	if (!c || !cs->mapped || checker_peek(c->violations.counter) ||
	    start >= end || !cs->mapped(cs, mm, start, end, &m))
		return;
	if (!start && end == ~0UL)
		checker_fail(host, INV_MAPPED_AFTER_START, m.pfn, m.addr, m.gpa,
			     cs->name,
			     "%s still maps %s (address %#lx) after its %s "
			     "returned",
			     cs->name, m.what, m.addr, after);
	else
		checker_fail(host, INV_MAPPED_AFTER_START, m.pfn, m.addr, m.gpa,
			     cs->name,
			     "%s still maps %s (address %#lx) after its %s for "
			     "[%#lx, %#lx) returned",
			     cs->name, m.what, m.addr, after, start, end);
}

/*
 * The secondary's own migration or exclusive-access request, which it may
 * skip and handle itself (a migration's pages keep their frames until its
 * finalize; an exclusive page keeps its frame).
 */
static bool own_migration(const struct checker_secondary *cs,
			  const struct mmu_notifier_range *range)
{
	return (range->event == MMU_NOTIFY_MIGRATE ||
		range->event == MMU_NOTIFY_EXCLUSIVE) &&
	       range->owner && cs->owner == range->owner;
}

void __checker_contract_start(struct mmu_notifier *sub,
			      const struct mmu_notifier_range *range)
{
	if (own_migration(sub->checker, range))
		return;
	contract(sub->checker, range->mm, range->start, range->end,
		 "invalidate_range_start");
}

void __checker_contract_interval(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range)
{
	unsigned long start = mni->interval_tree.start;
	unsigned long end = mni->interval_tree.last + 1;

	if (!range) {
		contract(mni->checker, mni->mm, start, end ? end : ~0UL,
			 "mmu_interval_notifier_remove");
		return;
	}
	if (own_migration(mni->checker, range))
		return;
	if (range->start > start)
		start = range->start;
	if (range->end < end || !end)
		end = range->end;
	contract(mni->checker, range->mm, start, end, "invalidate");
}

void __checker_contract_all(struct mmu_notifier *sub, struct mm_struct *mm,
			    const char *after)
{
	contract(sub->checker, mm, 0, ~0UL, after);
}

/* ---------------------------------------------------------------------
 * INV-7: the primary's side of the contract
 *
 * Each task keeps the invalidations it has open, as the core opened them
 * (after every subscriber's start returned) and closes them (when end is
 * called).  Per task, because the task that changes a PTE is the one that
 * opened the invalidation covering it on every path Linux has; so the
 * list needs no lock, and its upkeep no scheduling point.
 */

#define OPEN_RANGES 16

static __thread struct {
	const struct mmu_notifier_range *range;
	struct mm_struct *mm;
	unsigned long start, end;
} open_ranges[OPEN_RANGES];
static __thread unsigned int nr_open;
static __thread bool open_overflow;

static bool checking(struct mm_struct *mm)
{
	return checker_of(mm ? mm->host : NULL) != NULL;
}

void checker_range_start(const struct mmu_notifier_range *range)
{
	if (!checking(range->mm))
		return;
	if (nr_open == OPEN_RANGES) {
		/* Deeper than any path nests; stop judging this task. */
		open_overflow = true;
		return;
	}
	open_ranges[nr_open].range = range;
	open_ranges[nr_open].mm = range->mm;
	open_ranges[nr_open].start = range->start;
	open_ranges[nr_open].end = range->end;
	nr_open++;
}

void checker_range_end(const struct mmu_notifier_range *range)
{
	for (unsigned int i = nr_open; i-- > 0;) {
		if (open_ranges[i].range != range ||
		    open_ranges[i].mm != range->mm)
			continue;
		open_ranges[i] = open_ranges[--nr_open];
		return;
	}
}

static bool range_open(struct mm_struct *mm, unsigned long addr)
{
	for (unsigned int i = 0; i < nr_open; i++)
		if (open_ranges[i].mm == mm && addr >= open_ranges[i].start &&
		    addr < open_ranges[i].end)
			return true;
	return open_overflow;
}

/* Removes or downgrades what a secondary may have copied from @old. */
static bool pte_downgrade(pte_t old, pte_t new)
{
	if (!pte_present(old))
		return false;
	return !pte_present(new) || pte_pfn(new) != pte_pfn(old) ||
	       (pte_write(old) && !pte_write(new));
}

/*
 * Exceptions, where Linux itself changes a present PTE outside start/end:
 * accessed and dirty bits (aging, MADV_FREE) are not downgrades, and a
 * host in CHANGE_PTE_DIRECT mode re-points PTEs with change_pte alone, as
 * the 2009-2012 kernels did.
 */
void checker_set_pte(struct mm_struct *mm, unsigned long addr, pte_t old,
		     pte_t new)
{
	struct checker *c = checker_of(mm->host);

	if (c && pte_present(old) && !pte_special(old) &&
	    (!pte_present(new) || pte_pfn(new) != pte_pfn(old)))
		unflushed_add(c, mm, addr, pte_pfn(old));
	if (!c || !pte_downgrade(old, new) ||
	    !checker_peek(mm->notifier_subscriptions) ||
	    mm->host->cfg.change_pte == CHANGE_PTE_DIRECT ||
	    range_open(mm, addr) || checker_peek(c->violations.counter))
		return;
	checker_fail(mm->host, INV_UNNOTIFIED_PTE, pte_pfn(old), addr, ~0ULL,
		     NULL,
		     "the PTE at %#lx changed from frame %lu%s to %s outside "
		     "any invalidation this task opened over it",
		     addr, pte_pfn(old), pte_write(old) ? " (writable)" : "",
		     !pte_present(new)		      ? "not present"
		     : pte_pfn(new) != pte_pfn(old) ? "another frame"
						      : "read-only");
}

/*
 * A huge PMD changes: INV-7 for each 4 KiB page it maps, as if each were a
 * PTE (a secondary MMU may have copied any of them, or all at once).
 */
void checker_set_pmd(struct mm_struct *mm, unsigned long addr, pte_t old,
		     pte_t new)
{
	u64 flags_old = old.pte & ~(PTE_PFN_MASK | _PAGE_PSE);
	u64 flags_new = new.pte & ~(PTE_PFN_MASK | _PAGE_PSE);

	addr &= ~(PMD_SIZE - 1);
	for (unsigned long i = 0; i < PTRS_PER_TABLE; i++) {
		pte_t o = __pte(((pte_pfn(old) + i) << PAGE_SHIFT) | flags_old);
		pte_t n = pte_none(new) ? new
					: __pte(((pte_pfn(new) + i) << PAGE_SHIFT) |
						flags_new);

		checker_set_pte(mm, addr + i * PAGE_SIZE, o, n);
	}
}

/* ---------------------------------------------------------------------
 * INV-14: the primary TLB flush comes before the free
 *
 * A CPU, or a secondary MMU that walks the CPU's page tables and is told
 * of flushes by arch_invalidate_secondary_tlbs() (an IOMMU in SVA mode),
 * may keep using a translation after its PTE was cleared, until the TLB
 * flush covering it.  So Linux frees no page before that flush: mmu_gather
 * holds the mapping references until tlb_flush_mmu(), and try_to_unmap(),
 * migration, KSM and COW clear with ptep_clear_flush().  Each present PTE
 * that is cleared or re-pointed here owes a flush of its address in its
 * mm, by any task; a frame freed while it is owed is reported.  The
 * entries are host-wide, under a plain spin that is no scheduling point
 * (a deterministic run has one task running, so it never waits there).
 * Past UNFLUSHED_MAX owed flushes, new ones are not recorded: a check
 * missed, never a false report.
 */

static void unflushed_drop(struct checker *c, unsigned int i)
{
	unsigned long pfn = c->unflushed[i].pfn;

	__atomic_store_n(&c->unflushed_cnt[pfn], c->unflushed_cnt[pfn] - 1,
			 __ATOMIC_RELAXED);
	c->unflushed[i] = c->unflushed[c->nr_unflushed - 1];
	/* Read without ulock by checker_flush_tlb_range()'s first test. */
	__atomic_store_n(&c->nr_unflushed, c->nr_unflushed - 1,
			 __ATOMIC_RELAXED);
}

static void unflushed_add(struct checker *c, struct mm_struct *mm,
			  unsigned long addr, unsigned long pfn)
{
	if (pfn >= c->nr_frames)
		return;
	raw_lock(&c->ulock);
	if (c->nr_unflushed < UNFLUSHED_MAX && c->unflushed_cnt[pfn] < 255) {
		c->unflushed[c->nr_unflushed] = (struct unflushed){
			.mm = mm, .addr = addr, .pfn = pfn,
			.task = task_pid(current)};
		__atomic_store_n(&c->nr_unflushed, c->nr_unflushed + 1,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&c->unflushed_cnt[pfn],
				 c->unflushed_cnt[pfn] + 1, __ATOMIC_RELAXED);
	}
	raw_unlock(&c->ulock);
}

/**
 * checker_flush_tlb_range() - the primary TLB flush of [@start, @end) in
 * @mm ran: the flushes owed there are paid.  Called by flush_tlb_range().
 * @mm: the address space.
 * @start: first address flushed.
 * @end: first address past the flush.
 */
void checker_flush_tlb_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	struct checker *c = checker_of(mm->host);

	if (!c || !__atomic_load_n(&c->nr_unflushed, __ATOMIC_RELAXED))
		return;
	raw_lock(&c->ulock);
	for (unsigned int i = c->nr_unflushed; i-- > 0;) {
		struct unflushed *u = &c->unflushed[i];

		if (u->mm == mm && u->addr >= start && u->addr < end)
			unflushed_drop(c, i);
	}
	raw_unlock(&c->ulock);
}

/* @pfn is being freed with a flush still owed for a PTE that mapped it. */
static void unflushed_freed(struct checker *c, unsigned long pfn)
{
	struct unflushed u = { .pfn = ~0UL };

	raw_lock(&c->ulock);
	for (unsigned int i = c->nr_unflushed; i-- > 0;) {
		if (c->unflushed[i].pfn != pfn)
			continue;
		u = c->unflushed[i];
		unflushed_drop(c, i);
	}
	raw_unlock(&c->ulock);
	if (u.pfn == ~0UL)
		return;
	fail(c, INV_UNFLUSHED_FREE, pfn, u.addr, NULL,
	     "frame %lu freed before the TLB flush of the PTE at %#lx "
	     "(mm %d) that mapped it, cleared by task %d: a CPU or a "
	     "secondary sharing the page tables may still use it",
	     pfn, u.addr, u.mm->id, u.task);
}

/* ---------------------------------------------------------------------
 * INV-8: secondary TLBs
 */

void checker_tlb_flush_end(struct checker_secondary *cs, unsigned long req)
{
	unsigned long done = __atomic_load_n(&cs->tlb_done, __ATOMIC_RELAXED);

	while (done < req &&
	       !__atomic_compare_exchange_n(&cs->tlb_done, &done, req, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
}

bool checker_tlb_check(struct checker_secondary *cs, unsigned long stamp,
		       unsigned long pfn, unsigned long addr, u64 gpa)
{
	unsigned long done = __atomic_load_n(&cs->tlb_done, __ATOMIC_ACQUIRE);
	struct host *host = checker_peek(cs->host);

	if (!host || stamp >= done)
		return true;
	checker_fail(host, INV_STALE_TLB, pfn, addr, gpa, cs->name,
		     "%s used a translation to frame %lu walked before TLB "
		     "flush request %lu, after that flush returned (walked "
		     "after request %lu)",
		     cs->name, pfn, done, stamp);
	return false;
}

static void report_events(struct checker *c, const struct checker_violation *v,
			  FILE *out, unsigned long *shown);

void checker_report(struct host *host, FILE *out)
{
	struct checker *c = checker_of(host);
	const struct checker_violation *v;
	unsigned long shown = 0;

	if (!c || !c->have_first)
		return;
	v = &c->first;
	fprintf(out, "violation: INV-%d %s\n", v->inv, checker_inv_name(v->inv));
	fprintf(out, "  %s\n", v->detail);
	if (v->pfn != ~0UL)
		fprintf(out, "  frame: %lu\n", v->pfn);
	if (v->addr)
		fprintf(out, "  address: %#lx\n", v->addr);
	if (v->gpa != ~0ULL)
		fprintf(out, "  guest-physical: %#llx\n",
			(unsigned long long)v->gpa);
	if (v->secondary)
		fprintf(out, "  secondary MMU: %s\n", v->secondary);
	fprintf(out, "  events up to the violation touching it (oldest "
		     "first; >> marks the violation):\n");
	report_events(c, v, out, &shown);
	if (!shown)
		fprintf(out, "    (none recorded)\n");
}

/* Does @e concern the frame of @v, or an address where that frame was? */
static bool event_relevant(struct checker *c, const struct checker_violation *v,
			   const struct checker_event *e)
{
	if (!e->what)
		return false;
	if (e->seq == c->first_seq)
		return true;
	if (v->pfn != ~0UL && e->pfn == v->pfn)
		return true;
	if (!e->addr)
		return false;
	if (v->addr && e->addr == (v->addr & PAGE_MASK))
		return true;
	for (unsigned long i = 0; i < HISTORY; i++) {
		const struct checker_event *o = &c->hist[i];

		if (o->what && o->pfn == v->pfn && v->pfn != ~0UL &&
		    o->addr == e->addr)
			return true;
	}
	return false;
}

/* The last 16 relevant events, oldest first. */
static void report_events(struct checker *c, const struct checker_violation *v,
			  FILE *out, unsigned long *shown)
{
	unsigned long first = c->hist_seq > HISTORY ? c->hist_seq - HISTORY : 0;
	unsigned long pick[16], n = 0;

	for (unsigned long seq = c->hist_seq; seq > first && n < 16; seq--) {
		struct checker_event *e = &c->hist[(seq - 1) % HISTORY];

		if (event_relevant(c, v, e))
			pick[n++] = seq - 1;
	}
	while (n--) {
		struct checker_event *e = &c->hist[pick[n] % HISTORY];

		fprintf(out, "  %s #%lu task %d: %s (frame ",
			e->seq == c->first_seq ? ">>" : "  ", e->seq, e->task,
			e->what);
		if (e->pfn == ~0UL)
			fprintf(out, "-");
		else
			fprintf(out, "%lu", e->pfn);
		fprintf(out, ", address %#lx)\n", e->addr);
		(*shown)++;
	}
}
