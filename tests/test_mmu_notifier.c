// SPDX-License-Identifier: MIT
/*
 * Tests of the MMU-notifier core (hlist subscribers): registration,
 * dispatch order and failure handling, get/put, SRCU guarantees, and the
 * registration-versus-invalidation race.  Test IDs refer to section 7.1 of
 * the notifier specification.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include "../mm/internal.h"
#include "mn_recorder.h"

#define A0 0x100000UL
#define A1 0x101000UL
#define B0 0x200000UL
#define B1 0x240000UL
#define RW (PROT_READ | PROT_WRITE)
#define NR_TOUCHED 8

#include "mn_fixture.h"

static unsigned long nr_subscriptions(struct mm_struct *mm)
{
	struct mmu_notifier_snapshot snap;

	if (mmu_notifier_snapshot(mm, &snap))
		return 0;
	return snap.nr_subscriptions;
}

static const struct rec_entry *ent(unsigned int i)
{
	assert_true(i < rec_log_len(&tlog));
	return &tlog.e[i];
}

static void assert_ent(unsigned int i, int id, enum rec_cb cb)
{
	assert_int_equal(ent(i)->id, id);
	assert_int_equal(ent(i)->cb, cb);
}

/* Wait up to @ms for *@p to reach @val. */
static bool wait_int(int *p, int val, unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == val)
			return true;
		msleep(1);
	}
	return __atomic_load_n(p, __ATOMIC_ACQUIRE) == val;
}

/* ---------------------------------------------------------------------
 * Blocking a callback, to hold an SRCU read section open
 */

struct blocker {
	enum rec_cb when;
	struct gate entered;
	struct gate release;
};

static void blocker_init(struct blocker *b, enum rec_cb when)
{
	b->when = when;
	gate_init(&b->entered);
	gate_init(&b->release);
}

static void block_hook(struct rec_sub *sub, enum rec_cb cb,
		       const struct mmu_notifier_range *range)
{
	struct blocker *b = sub->priv;

	(void)range;
	if (cb != b->when || gate_is_open(&b->release))
		return;
	gate_open(&b->entered);
	gate_wait(&b->release);
}

struct window_args {
	struct mm_struct *mm;
	unsigned long start, end;
	struct gate done;
};

static int window_fn(void *data)
{
	struct window_args *w = data;

	rec_window(w->mm, w->start, w->end, MMU_NOTIFY_CLEAR);
	gate_open(&w->done);
	return 0;
}

/* An SRCU reader that holds no mmap_lock, as aging runs under the PTL. */
static int aging_fn(void *data)
{
	struct window_args *w = data;

	mmu_notifier_clear_young(w->mm, w->start, w->end);
	gate_open(&w->done);
	return 0;
}

/* Map NR_TOUCHED private pages and fault each in; return the address. */
static unsigned long map_touched(struct mm_struct *mm)
{
	long addr = vm_mmap(mm, 0, NR_TOUCHED * PAGE_SIZE, RW,
			    MAP_PRIVATE | MAP_ANONYMOUS);

	assert_true(addr > 0);
	for (int i = 0; i < NR_TOUCHED; i++)
		assert_int_equal(cpu_write_u64(mm, (unsigned long)addr +
							   i * PAGE_SIZE,
					       i + 1),
				 0);
	return (unsigned long)addr;
}

/* ---------------------------------------------------------------------
 * Registration and dispatch
 */

static void test_register_window_unregister(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a;
	int count0 = mm_count_of(f->mm);

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_false(mm_has_notifiers(f->mm));
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_true(mm_has_notifiers(f->mm));
	assert_ptr_equal(a.mn.mm, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0 + 1);

	rec_window(f->mm, A0, A1, MMU_NOTIFY_UNMAP);
	assert_int_equal(rec_log_len(&tlog), 2);
	assert_ent(0, 1, REC_START);
	assert_ent(1, 1, REC_END);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(ent(i)->start, A0);
		assert_int_equal(ent(i)->end, A1);
		assert_int_equal(ent(i)->event, MMU_NOTIFY_UNMAP);
		assert_int_equal(ent(i)->flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	}

	/* Still linked: unregister runs ->release, exactly once. */
	mmu_notifier_unregister(&a.mn, f->mm);
	assert_int_equal(atomic_read(&a.nr_release), 1);
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_ent(2, 1, REC_RELEASE);
	assert_int_equal(mm_count_of(f->mm), count0);

	/* Nothing after unregister; the mm keeps its notifier state. */
	rec_window(f->mm, B0, B1, MMU_NOTIFY_UNMAP);
	assert_int_equal(mmu_notifier_clear_young(f->mm, B0, B1), 0);
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_true(mm_has_notifiers(f->mm));
	assert_int_equal(nr_subscriptions(f->mm), 0);
	assert_int_equal(atomic_read(&a.open), 0);
	assert_int_equal(atomic_read(&a.orphan_ends), 0);
}

/* Register, munmap, unregister: the invalidation comes from a real munmap. */
static void test_register_munmap_unregister(void **state)
{
	struct fixture *f = *state;
	unsigned long addr = map_touched(f->mm);
	struct rec_sub a;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(vm_munmap(f->mm, addr, PAGE_SIZE), 0);
	assert_int_equal(rec_log_len(&tlog), 2);
	assert_ent(0, 1, REC_START);
	assert_ent(1, 1, REC_END);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(ent(i)->start, addr);
		assert_int_equal(ent(i)->end, addr + PAGE_SIZE);
		assert_int_equal(ent(i)->event, MMU_NOTIFY_UNMAP);
		assert_int_equal(ent(i)->flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	}
	mmu_notifier_unregister(&a.mn, f->mm);
	assert_int_equal(vm_munmap(f->mm, addr + PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_ent(2, 1, REC_RELEASE);
	assert_true(mm_has_notifiers(f->mm));
}

static void test_bad_ops_rejected(void **state)
{
	struct fixture *f = *state;
	static const struct mmu_notifier_ops bad_end = {
		.arch_invalidate_secondary_tlbs = rec_arch_invalidate,
		.invalidate_range_end = rec_end,
	};
	struct rec_sub bad, bad2, none;
	int count0 = mm_count_of(f->mm);
	unsigned long w0 = warn_count();

	warn_set_quiet(true);
	rec_sub_init(&bad, &rec_ops_bad, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&bad.mn, f->mm), -EINVAL);
	rec_sub_init(&bad2, &bad_end, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&bad2.mn, f->mm), -EINVAL);
	rec_sub_init(&none, NULL, 3, &tlog);
	assert_int_equal(mmu_notifier_register(&none.mn, f->mm), -EINVAL);
	warn_set_quiet(false);

	assert_int_equal(warn_count(), w0 + 3);
	assert_false(mm_has_notifiers(f->mm));
	assert_null(bad.mn.mm);
	assert_int_equal(mm_count_of(f->mm), count0);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_UNMAP);
	assert_int_equal(rec_log_len(&tlog), 0);
}

static void test_newest_first(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a, b;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	rec_sub_init(&b, &rec_ops, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);

	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(rec_log_len(&tlog), 4);
	assert_ent(0, 2, REC_START);
	assert_ent(1, 1, REC_START);
	assert_ent(2, 2, REC_END);
	assert_ent(3, 1, REC_END);

	mmu_notifier_unregister(&b.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
}

/* ---------------------------------------------------------------------
 * A pending signal makes registration fail without leaking
 */

static void test_eintr(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a, b;
	int count0 = mm_count_of(f->mm);
	int ret;

	for (int i = 0; i < 8; i++)
		assert_true(vm_mmap(f->mm, 0, 4 * PAGE_SIZE,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS) > 0);

	/* First registration: the structure it allocated must go too. */
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	set_signal_pending(current, true);
	ret = mmu_notifier_register(&a.mn, f->mm);
	set_signal_pending(current, false);
	assert_int_equal(ret, -EINTR);
	assert_false(mm_has_notifiers(f->mm));
	assert_null(a.mn.mm);
	assert_true(hlist_unhashed(&a.mn.hlist));
	assert_int_equal(mm_count_of(f->mm), count0);

	/* With a structure in place: it stays, nothing else changes. */
	rec_sub_init(&b, &rec_ops, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);
	set_signal_pending(current, true);
	ret = mmu_notifier_register(&a.mn, f->mm);
	set_signal_pending(current, false);
	assert_int_equal(ret, -EINTR);
	assert_int_equal(nr_subscriptions(f->mm), 1);
	assert_int_equal(mm_count_of(f->mm), count0 + 1);

	/* The failed subscription is reusable. */
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_start), 1);
	mmu_notifier_unregister(&a.mn, f->mm);
	mmu_notifier_unregister(&b.mn, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0);
}

/* ---------------------------------------------------------------------
 * Registration waits for open windows; B never sees their end
 */

struct reg_args {
	struct rec_sub *sub;
	struct mm_struct *mm;
	struct gate done;
	int ret;
};

static int register_fn(void *data)
{
	struct reg_args *r = data;

	r->ret = mmu_notifier_register(&r->sub->mn, r->mm);
	gate_open(&r->done);
	return 0;
}

static void test_register_excludes_window(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a, b;
	struct blocker blk;
	struct window_args w = { .mm = f->mm, .start = A0, .end = A1 };
	struct reg_args r = { .sub = &b, .mm = f->mm };
	struct task_struct *tw, *tr;

	/* A holds a window open (between its start and the end). */
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	blocker_init(&blk, REC_START);
	a.hook = block_hook;
	a.priv = &blk;
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	gate_init(&w.done);
	tw = kthread_run(window_fn, &w, "window");
	assert_false(IS_ERR(tw));
	assert_true(gate_wait_ms(&blk.entered, 5000));

	rec_sub_init(&b, &rec_ops, 2, &tlog);
	gate_init(&r.done);
	tr = kthread_run(register_fn, &r, "register");
	assert_false(IS_ERR(tr));
	assert_false(gate_wait_ms(&r.done, 100));

	gate_open(&blk.release);
	assert_true(gate_wait_ms(&r.done, 5000));
	kthread_stop(tw);
	kthread_stop(tr);
	assert_int_equal(r.ret, 0);

	assert_int_equal(atomic_read(&b.nr_start), 0);
	assert_int_equal(atomic_read(&b.nr_end), 0);
	assert_int_equal(atomic_read(&a.open), 0);

	rec_window(f->mm, B0, B1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&b.nr_start), 1);
	assert_int_equal(atomic_read(&b.nr_end), 1);
	assert_int_equal(atomic_read(&b.orphan_ends), 0);
	mmu_notifier_unregister(&b.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
}

struct race_args {
	struct mm_struct *mm;
	struct rec_sub *sub;
	int iterations;
};

/* Windows under the mmap_lock, with a scheduling point inside each. */
static int race_window_fn(void *data)
{
	struct race_args *ra = data;
	struct mmu_notifier_range range;

	for (int i = 0; i < ra->iterations; i++) {
		unsigned long start = A0 + (unsigned long)(i % 16) * PAGE_SIZE;

		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, ra->mm,
					start, start + PAGE_SIZE);
		mmap_read_lock(ra->mm);
		mmu_notifier_invalidate_range_start(&range);
		cond_resched();
		mmu_notifier_invalidate_range_end(&range);
		mmap_read_unlock(ra->mm);
	}
	return 0;
}

static int race_register_fn(void *data)
{
	struct race_args *ra = data;
	int ret = 0;

	for (int i = 0; i < ra->iterations; i++) {
		ret = mmu_notifier_register(&ra->sub->mn, ra->mm);
		if (ret)
			break;
		cond_resched();
		mmu_notifier_unregister(&ra->sub->mn, ra->mm);
		/*
		 * Unregistering inside a window leaves that window open for
		 * B for good; start the next registration from zero so an
		 * orphan end cannot hide behind it.
		 */
		atomic_set(&ra->sub->open, 0);
	}
	return ret;
}

/*
 * Run windows against register/unregister cycles of B while A stays
 * registered.  B must never see an end without its start, and A must see
 * every window whole.  Both loops are bounded, so no schedule (PCT
 * included) can starve one task behind another's spinning.
 */
static void run_register_race(struct mm_struct *mm, int windows, int cycles)
{
	struct rec_sub a, b;
	struct race_args wa = { .mm = mm, .iterations = windows };
	struct race_args ra = { .mm = mm, .sub = &b, .iterations = cycles };
	struct task_struct *tw, *tr;

	rec_sub_init(&a, &rec_ops, 1, NULL);
	rec_sub_init(&b, &rec_ops, 2, NULL);
	assert_int_equal(mmu_notifier_register(&a.mn, mm), 0);
	tw = kthread_run(race_window_fn, &wa, "windows");
	tr = kthread_run(race_register_fn, &ra, "register");
	assert_false(IS_ERR(tw));
	assert_false(IS_ERR(tr));
	assert_int_equal(kthread_stop(tr), 0);
	assert_int_equal(kthread_stop(tw), 0);

	assert_int_equal(atomic_read(&b.orphan_ends), 0);
	assert_int_equal(atomic_read(&a.orphan_ends), 0);
	assert_int_equal(atomic_read(&a.open), 0);
	assert_int_equal(atomic_read(&a.nr_start), windows);
	assert_int_equal(atomic_read(&a.nr_end), windows);
	assert_int_equal(atomic_read(&b.nr_release), cycles);
	mmu_notifier_unregister(&a.mn, mm);
}

static void test_register_race_threads(void **state)
{
	struct fixture *f = *state;

	run_register_race(f->mm, 2000, 100);
}

/* The same race under the deterministic scheduler, seed after seed. */
static void test_register_race_det(void **state)
{
	struct fixture *f = *state;
	unsigned long w0 = warn_count();

	for (u64 seed = 1; seed <= 300; seed++) {
		struct det_config dc = {
			.seed = seed,
			.strategy = seed & 1 ? DET_STRATEGY_PCT
					     : DET_STRATEGY_RANDOM,
		};
		struct det_result res;

		assert_int_equal(det_begin(&dc), 0);
		run_register_race(f->mm, 8, 3);
		assert_int_equal(det_end(&res), 0);
		assert_true(res.tasks >= 3);
	}
	assert_int_equal(warn_count(), w0);
}

/* ---------------------------------------------------------------------
 * get/put
 */

static void test_get_put(void **state)
{
	struct fixture *f = *state;
	int freed0 = __atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE);
	int count0 = mm_count_of(f->mm);
	struct window_args w = { .mm = f->mm, .start = A0, .end = A1 };
	struct mmu_notifier *s1, *s2;
	struct task_struct *t;
	struct blocker blk;
	struct rec_sub c;
	int id;

	rec_getput_log = &tlog;
	s1 = mmu_notifier_get(&rec_getput_ops, f->mm);
	assert_false(IS_ERR(s1));
	s2 = mmu_notifier_get(&rec_getput_ops, f->mm);
	assert_ptr_equal(s1, s2);
	assert_int_equal(s1->users, 2);
	assert_int_equal(nr_subscriptions(f->mm), 1);
	assert_int_equal(mm_count_of(f->mm), count0 + 1);
	id = to_rec(s1)->id;

	mmu_notifier_put(s2);
	assert_int_equal(s1->users, 1);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(rec_log_count(&tlog, id, REC_START), 1);

	/* C holds an SRCU read section open in an aging callback. */
	rec_sub_init(&c, &rec_ops, 3, &tlog);
	blocker_init(&blk, REC_CLEAR_YOUNG);
	c.hook = block_hook;
	c.priv = &blk;
	assert_int_equal(mmu_notifier_register(&c.mn, f->mm), 0);
	gate_init(&w.done);
	t = kthread_run(aging_fn, &w, "reader");
	assert_true(gate_wait_ms(&blk.entered, 5000));

	/* Last put: unlinked now, freed only after the grace period. */
	mmu_notifier_put(s1);
	assert_int_equal(nr_subscriptions(f->mm), 1);
	msleep(100);
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0);

	gate_open(&blk.release);
	kthread_stop(t);
	/* Our header promises: after synchronize, the free has run. */
	mmu_notifier_synchronize();
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0 + 1);
	assert_int_equal(rec_log_count(&tlog, id, REC_FREE), 1);
	assert_int_equal(rec_log_count(&tlog, id, REC_RELEASE), 0);

	mmu_notifier_unregister(&c.mn, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0);
	rec_getput_log = NULL;
}

static void test_get_after_last_put(void **state)
{
	struct fixture *f = *state;
	int freed0 = __atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE);
	int count0 = mm_count_of(f->mm);
	struct window_args w = { .mm = f->mm, .start = A0, .end = A1 };
	struct mmu_notifier *s1, *s2;
	struct task_struct *t;
	struct blocker blk;
	struct rec_sub c;

	rec_sub_init(&c, &rec_ops, 3, &tlog);
	blocker_init(&blk, REC_CLEAR_YOUNG);
	c.hook = block_hook;
	c.priv = &blk;
	assert_int_equal(mmu_notifier_register(&c.mn, f->mm), 0);

	s1 = mmu_notifier_get(&rec_getput_ops, f->mm);
	assert_false(IS_ERR(s1));
	gate_init(&w.done);
	t = kthread_run(aging_fn, &w, "reader");
	assert_true(gate_wait_ms(&blk.entered, 5000));
	mmu_notifier_put(s1);

	/* s1 is unlinked but not freed yet: a new object is made. */
	s2 = mmu_notifier_get(&rec_getput_ops, f->mm);
	assert_false(IS_ERR(s2));
	assert_ptr_not_equal(s1, s2);
	assert_int_equal(s2->users, 1);
	assert_int_equal(nr_subscriptions(f->mm), 2);
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0);

	gate_open(&blk.release);
	kthread_stop(t);
	mmu_notifier_put(s2);
	mmu_notifier_synchronize();
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0 + 2);
	mmu_notifier_unregister(&c.mn, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0);
}

static void put_self_hook(struct rec_sub *sub, enum rec_cb cb,
			  const struct mmu_notifier_range *range)
{
	(void)range;
	if (cb == REC_RELEASE)
		mmu_notifier_put(&sub->mn);
}

static void test_put_from_release(void **state)
{
	struct fixture *f = *state;
	int freed0 = __atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE);
	struct mmu_notifier *s;
	int id;

	rec_getput_log = &tlog;
	rec_getput_hook = put_self_hook;
	s = mmu_notifier_get(&rec_getput_ops, f->mm);
	rec_getput_hook = NULL;
	assert_false(IS_ERR(s));
	id = to_rec(s)->id;

	/* The last user goes: exit runs ->release, which puts itself. */
	mmput(f->mm);
	f->mm = NULL;
	/* The free, and the last mmdrop() behind it, are done after this. */
	mmu_notifier_synchronize();
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0 + 1);
	assert_int_equal(rec_log_count(&tlog, id, REC_RELEASE), 1);
	assert_int_equal(rec_log_count(&tlog, id, REC_FREE), 1);
	assert_int_equal(atomic_read(&f->host->nr_mms), 0);
	rec_getput_log = NULL;
}

/* ---------------------------------------------------------------------
 * Non-blocking failure; aging
 */

static void test_nonblock_failure(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range range;
	struct rec_sub a, b;
	unsigned long w0;

	/* A: start only, fails; B (newer): start and end, succeeds. */
	rec_sub_init(&a, &rec_ops_start_only, 1, &tlog);
	a.start_ret = -EAGAIN;
	rec_sub_init(&b, &rec_ops, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);

	w0 = warn_count();
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A0, A1);
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 -EAGAIN);
	mmap_read_unlock(f->mm);
	assert_int_equal(warn_count(), w0);

	/* Every start was called; the core itself ended B. */
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_ent(0, 2, REC_START);
	assert_ent(1, 1, REC_START);
	assert_ent(2, 2, REC_END);
	assert_int_equal(ent(0)->flags, 0);
	assert_int_equal(ent(2)->flags, 0);
	assert_int_equal(atomic_read(&b.open), 0);

	/* The same failure in a blockable range is a subscriber bug. */
	warn_set_quiet(true);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_UNMAP);
	warn_set_quiet(false);
	assert_true(warn_count() > w0);

	mmu_notifier_unregister(&b.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_failing_sub_visited_first(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range range;
	struct rec_sub a, b, c;

	/* Order B (newest, fails), C, A: the walk goes on after B fails. */
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	rec_sub_init(&c, &rec_ops, 3, &tlog);
	rec_sub_init(&b, &rec_ops_start_only, 2, &tlog);
	b.start_ret = -EAGAIN;
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&c.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A0, A1);
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 -EAGAIN);
	mmap_read_unlock(f->mm);
	assert_int_equal(rec_log_len(&tlog), 5);
	assert_ent(0, 2, REC_START);
	assert_ent(1, 3, REC_START);
	assert_ent(2, 1, REC_START);
	assert_ent(3, 3, REC_END);
	assert_ent(4, 1, REC_END);

	/* Succeeding non-blocking start: the caller ends it, unblocked. */
	b.start_ret = 0;
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 0);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(f->mm);
	assert_int_equal(rec_log_count(&tlog, 1, REC_END), 2);
	assert_int_equal(tlog.e[rec_log_len(&tlog) - 1].flags, 0);
	assert_int_equal(atomic_read(&a.open), 0);
	assert_int_equal(atomic_read(&c.open), 0);

	mmu_notifier_unregister(&b.mn, f->mm);
	mmu_notifier_unregister(&c.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_young(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a, b;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	a.young = 1;
	rec_sub_init(&b, &rec_ops, 2, &tlog);

	/* B registered after A, so B is asked first. */
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);
	assert_int_not_equal(mmu_notifier_clear_flush_young(f->mm, A0, A1), 0);
	assert_int_not_equal(mmu_notifier_clear_young(f->mm, A0, A1), 0);
	assert_int_not_equal(mmu_notifier_test_young(f->mm, A0), 0);
	assert_int_equal(rec_log_len(&tlog), 6);
	assert_ent(0, 2, REC_CLEAR_FLUSH_YOUNG);
	assert_ent(1, 1, REC_CLEAR_FLUSH_YOUNG);
	assert_ent(2, 2, REC_CLEAR_YOUNG);
	assert_ent(3, 1, REC_CLEAR_YOUNG);
	assert_ent(4, 2, REC_TEST_YOUNG);
	assert_ent(5, 1, REC_TEST_YOUNG);
	assert_int_equal(ent(0)->start, A0);
	assert_int_equal(ent(0)->end, A1);

	/* Clearing asks everyone even when the first one says young. */
	mmu_notifier_unregister(&b.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
	rec_log_init(&tlog);
	assert_int_equal(mmu_notifier_register(&b.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_not_equal(mmu_notifier_clear_flush_young(f->mm, A0, A1), 0);
	assert_int_not_equal(mmu_notifier_clear_young(f->mm, A0, A1), 0);
	assert_int_equal(rec_log_count(&tlog, 2, REC_CLEAR_FLUSH_YOUNG), 1);
	assert_int_equal(rec_log_count(&tlog, 2, REC_CLEAR_YOUNG), 1);

	/* test_young stops at the first young answer: B is not asked. */
	assert_int_not_equal(mmu_notifier_test_young(f->mm, A0), 0);
	assert_int_equal(rec_log_count(&tlog, 1, REC_TEST_YOUNG), 1);
	assert_int_equal(rec_log_count(&tlog, 2, REC_TEST_YOUNG), 0);

	/* Nobody young: zero, everyone asked. */
	a.young = 0;
	assert_int_equal(mmu_notifier_test_young(f->mm, A0), 0);
	assert_int_equal(mmu_notifier_clear_young(f->mm, A0, A1), 0);
	assert_int_equal(rec_log_count(&tlog, 2, REC_TEST_YOUNG), 1);

	/* Aging never opens a window. */
	assert_int_equal(rec_log_count(&tlog, -1, REC_START), 0);
	mmu_notifier_unregister(&a.mn, f->mm);
	mmu_notifier_unregister(&b.mn, f->mm);
}

/* ---------------------------------------------------------------------
 * change_pte, arch_invalidate_secondary_tlbs, counters, event names
 */

static void test_change_pte_and_arch_invalidate(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a, s;
	pte_t pte = __pte(0x1234000ULL | _PAGE_PRESENT);

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	rec_sub_init(&s, &rec_ops_arch, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	assert_int_equal(mmu_notifier_register(&s.mn, f->mm), 0);

	mmu_notifier_change_pte(f->mm, A0, pte);
	assert_int_equal(rec_log_len(&tlog), 1);
	assert_ent(0, 1, REC_CHANGE_PTE);
	assert_int_equal(ent(0)->start, A0);
	assert_int_equal(ent(0)->seq, pte_val(pte));

	mmu_notifier_arch_invalidate_secondary_tlbs(f->mm, 0, ~0UL);
	assert_int_equal(rec_log_len(&tlog), 2);
	assert_ent(1, 2, REC_ARCH_INVALIDATE);
	assert_int_equal(ent(1)->start, 0);
	assert_int_equal(ent(1)->end, ~0UL);

	/* The SVA-like subscriber gets no start/end. */
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(rec_log_count(&tlog, 2, REC_START), 0);
	assert_int_equal(rec_log_count(&tlog, 1, REC_START), 1);

	mmu_notifier_unregister(&s.mn, f->mm);
	mmu_notifier_unregister(&a.mn, f->mm);
	assert_int_equal(rec_log_count(&tlog, 2, REC_RELEASE), 1);
}

static void test_counters_and_noop_without_notifiers(void **state)
{
	struct fixture *f = *state;
	unsigned long ev0[MMU_NOTIFY_NR_EVENTS], ev1[MMU_NOTIFY_NR_EVENTS];
	unsigned long start0 = host_vm_event(f->host, MMU_NOTIFY_START);
	unsigned long end0 = host_vm_event(f->host, MMU_NOTIFY_END);
	unsigned long age0 = host_vm_event(f->host, MMU_NOTIFY_AGE);
	unsigned long cp0 = host_vm_event(f->host, MMU_NOTIFY_CHANGE_PTE);
	struct mmu_notifier_range range;
	struct rec_sub a;

	host_notify_events(f->host, ev0, MMU_NOTIFY_NR_EVENTS);
	/* No notifier: every wrapper is a no-op, but still counted. */
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A0, A1);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 0);
	mmu_notifier_invalidate_range_end(&range);
	assert_int_equal(mmu_notifier_clear_flush_young(f->mm, A0, A1), 0);
	assert_int_equal(mmu_notifier_test_young(f->mm, A0), 0);
	mmu_notifier_change_pte(f->mm, A0, __pte(0));
	mmu_notifier_arch_invalidate_secondary_tlbs(f->mm, A0, A1);
	assert_false(mm_has_notifiers(f->mm));

	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_START), start0 + 2);
	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_END), end0 + 2);
	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_AGE), age0 + 2);
	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_CHANGE_PTE),
			 cp0 + 1);
	host_notify_events(f->host, ev1, MMU_NOTIFY_NR_EVENTS);
	for (int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++) {
		unsigned long want = ev0[e];

		if (e == MMU_NOTIFY_CLEAR || e == MMU_NOTIFY_UNMAP)
			want++;
		assert_int_equal(ev1[e], want);
	}

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_PROTECTION_VMA);
	host_notify_events(f->host, ev1, MMU_NOTIFY_NR_EVENTS);
	assert_int_equal(ev1[MMU_NOTIFY_PROTECTION_VMA],
			 ev0[MMU_NOTIFY_PROTECTION_VMA] + 1);
	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_START), start0 + 3);
	assert_int_equal(rec_log_count(&tlog, 1, REC_START), 1);
	mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_event_names(void **state)
{
	static const char *const names[] = {
		"UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE",
		"SOFT_DIRTY", "RELEASE", "MIGRATE", "EXCLUSIVE",
	};

	(void)state;
	assert_int_equal(MMULAB_ARRAY_SIZE(names), MMU_NOTIFY_NR_EVENTS);
	for (int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		assert_string_equal(mmu_notifier_event_name(e), names[e]);
	assert_null(mmu_notifier_event_name(MMU_NOTIFY_NR_EVENTS));
	assert_null(mmu_notifier_event_name((enum mmu_notifier_event)-1));
}

/* ---------------------------------------------------------------------
 * SRCU guarantees: unregister and synchronize wait for running callbacks
 */

struct unreg_args {
	struct rec_sub *sub;
	struct mm_struct *mm;
	struct gate done;
};

static int unregister_fn(void *data)
{
	struct unreg_args *u = data;

	mmu_notifier_unregister(&u->sub->mn, u->mm);
	gate_open(&u->done);
	return 0;
}

static int synchronize_fn(void *data)
{
	struct unreg_args *u = data;

	mmu_notifier_synchronize();
	gate_open(&u->done);
	return 0;
}

static void run_wait_for_callback(struct fixture *f, int (*fn)(void *))
{
	struct window_args w = { .mm = f->mm, .start = A0, .end = A1 };
	struct rec_sub a;
	struct unreg_args u = { .sub = &a, .mm = f->mm };
	struct task_struct *tw, *tu;
	struct blocker blk;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	blocker_init(&blk, REC_START);
	a.hook = block_hook;
	a.priv = &blk;
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	gate_init(&w.done);
	gate_init(&u.done);
	tw = kthread_run(window_fn, &w, "window");
	assert_true(gate_wait_ms(&blk.entered, 5000));

	tu = kthread_run(fn, &u, "waiter");
	assert_false(gate_wait_ms(&u.done, 100));
	gate_open(&blk.release);
	assert_true(gate_wait_ms(&u.done, 5000));
	kthread_stop(tu);
	kthread_stop(tw);
	if (fn != unregister_fn)
		mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_unregister_waits_for_callbacks(void **state)
{
	run_wait_for_callback(*state, unregister_fn);
}

static void test_synchronize_waits_for_callbacks(void **state)
{
	run_wait_for_callback(*state, synchronize_fn);
}

/* ---------------------------------------------------------------------
 * Exit
 */

struct free_probe {
	struct host *host;
	long at_release;
};

static void free_probe_hook(struct rec_sub *sub, enum rec_cb cb,
			    const struct mmu_notifier_range *range)
{
	struct free_probe *p = sub->priv;

	(void)range;
	if (cb == REC_RELEASE)
		WRITE_ONCE(p->at_release, (long)host_nr_free_frames(p->host));
}

static void test_exit_releases_first(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *mm = f->mm;
	struct free_probe probe = { .host = f->host, .at_release = -1 };
	unsigned long free0;
	struct rec_sub a;

	map_touched(mm);
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	a.hook = free_probe_hook;
	a.priv = &probe;
	assert_int_equal(mmu_notifier_register(&a.mn, mm), 0);
	free0 = host_nr_free_frames(f->host);

	/* The last user leaves; A's registration keeps the mm_struct. */
	f->mm = NULL;
	mmput(mm);
	assert_int_equal(atomic_read(&a.nr_release), 1);
	assert_int_equal(probe.at_release, free0);
	assert_true(host_nr_free_frames(f->host) >= free0 + NR_TOUCHED);
	assert_int_equal(atomic_read(&a.nr_start), 0);
	assert_int_equal(atomic_read(&a.nr_end), 0);
	assert_int_equal(nr_subscriptions(mm), 0);

	/* Exit unlinked A: unregister only waits and drops the mm. */
	mmu_notifier_unregister(&a.mn, mm);
	assert_int_equal(atomic_read(&a.nr_release), 1);
	assert_int_equal(rec_log_len(&tlog), 1);
}

/* The first ->release blocks until the test lets it go; later ones don't. */
struct release_race {
	struct host *host;
	int calls;
	struct gate entered;
	struct gate release;
};

static void release_race_hook(struct rec_sub *sub, enum rec_cb cb,
			      const struct mmu_notifier_range *range)
{
	struct release_race *rr = sub->priv;

	(void)range;
	if (cb != REC_RELEASE ||
	    __atomic_add_fetch(&rr->calls, 1, __ATOMIC_ACQ_REL) != 1)
		return;
	gate_open(&rr->entered);
	gate_wait(&rr->release);
}

struct exit_args {
	struct mm_struct *mm;
	struct gate done;
};

static int exit_fn(void *data)
{
	struct exit_args *e = data;

	mmput(e->mm);
	gate_open(&e->done);
	return 0;
}

static void test_unregister_races_exit(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *mm = f->mm;
	struct release_race rr = { .host = f->host };
	struct unreg_args u = { .mm = mm };
	struct exit_args e = { .mm = mm };
	struct task_struct *tu, *te;
	unsigned long free0;
	struct rec_sub a;

	map_touched(mm);
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	gate_init(&rr.entered);
	gate_init(&rr.release);
	a.hook = release_race_hook;
	a.priv = &rr;
	u.sub = &a;
	gate_init(&u.done);
	gate_init(&e.done);
	assert_int_equal(mmu_notifier_register(&a.mn, mm), 0);
	free0 = host_nr_free_frames(f->host);

	/* unregister finds A linked and runs ->release, which blocks. */
	tu = kthread_run(unregister_fn, &u, "unregister");
	assert_true(gate_wait_ms(&rr.entered, 5000));

	/* Exit runs ->release again, then must wait for the first one. */
	f->mm = NULL;
	te = kthread_run(exit_fn, &e, "exit");
	assert_true(wait_int(&rr.calls, 2, 5000));
	assert_false(gate_wait_ms(&e.done, 100));
	assert_false(gate_is_open(&u.done));
	assert_int_equal(host_nr_free_frames(f->host), free0);

	gate_open(&rr.release);
	assert_true(gate_wait_ms(&e.done, 5000));
	assert_true(gate_wait_ms(&u.done, 5000));
	kthread_stop(te);
	kthread_stop(tu);
	assert_int_equal(atomic_read(&a.nr_release), 2);
	assert_int_equal(atomic_read(&a.nr_start), 0);
	assert_true(host_nr_free_frames(f->host) >= free0 + NR_TOUCHED);
}

/* ---------------------------------------------------------------------
 * Misuse: WARN and an error, never corruption
 */

static void test_double_unregister(void **state)
{
	struct fixture *f = *state;
	int count0 = mm_count_of(f->mm);
	struct rec_sub a;
	unsigned long w0;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);
	mmu_notifier_unregister(&a.mn, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0);

	w0 = warn_count();
	warn_set_quiet(true);
	mmu_notifier_unregister(&a.mn, f->mm);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 1);
	assert_int_equal(mm_count_of(f->mm), count0);
	assert_int_equal(atomic_read(&a.nr_release), 1);
}

static void test_unregister_wrong_mm(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *other = mm_alloc(f->host);
	int count0 = mm_count_of(f->mm), other0;
	struct rec_sub a;
	unsigned long w0;

	assert_false(IS_ERR(other));
	other0 = mm_count_of(other);
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);

	w0 = warn_count();
	warn_set_quiet(true);
	mmu_notifier_unregister(&a.mn, other);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 1);
	assert_int_equal(mm_count_of(other), other0);
	assert_int_equal(atomic_read(&a.nr_release), 0);

	/* Still registered with its own mm. */
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_start), 1);
	mmu_notifier_unregister(&a.mn, f->mm);
	assert_int_equal(mm_count_of(f->mm), count0);
	mmput(other);
}

static void test_register_twice(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *other = mm_alloc(f->host);
	int count0 = mm_count_of(f->mm);
	struct rec_sub a;
	unsigned long w0;

	assert_false(IS_ERR(other));
	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);

	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), -EINVAL);
	assert_int_equal(mmu_notifier_register(&a.mn, other), -EINVAL);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 2);
	assert_int_equal(nr_subscriptions(f->mm), 1);
	assert_int_equal(mm_count_of(f->mm), count0 + 1);

	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_start), 1);
	mmu_notifier_unregister(&a.mn, f->mm);
	mmput(other);
}

static void test_register_without_users(void **state)
{
	struct fixture *f = *state;
	int count0 = mm_count_of(f->mm);
	struct rec_sub a;
	unsigned long w0 = warn_count();

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	atomic_set(&f->mm->mm_users, 0);
	warn_set_quiet(true);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), -EINVAL);
	warn_set_quiet(false);
	atomic_set(&f->mm->mm_users, 1);
	assert_int_equal(warn_count(), w0 + 1);
	assert_false(mm_has_notifiers(f->mm));
	assert_int_equal(mm_count_of(f->mm), count0);
}

static void test_register_locked_requires_write_lock(void **state)
{
	struct fixture *f = *state;
	struct rec_sub a;
	struct mmu_notifier *s;
	unsigned long w0 = warn_count();

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	/* Misuse on purpose: the lock validator's reports stay warnings. */
	checker_detach(f->host);
	warn_set_quiet(true);
	assert_int_equal(__mmu_notifier_register(&a.mn, f->mm), -EINVAL);
	s = mmu_notifier_get_locked(&rec_getput_ops, f->mm);
	warn_set_quiet(false);
	assert_ptr_equal(s, ERR_PTR(-EINVAL));
	assert_int_equal(warn_count(), w0 + 2);
	assert_false(mm_has_notifiers(f->mm));

	mmap_write_lock(f->mm);
	assert_int_equal(__mmu_notifier_register(&a.mn, f->mm), 0);
	mmap_write_unlock(f->mm);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_start), 1);
	mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_invalid_range(void **state)
{
	struct fixture *f = *state;
	unsigned long start0 = host_vm_event(f->host, MMU_NOTIFY_START);
	struct mmu_notifier_range range;
	struct rec_sub a;
	unsigned long w0;

	rec_sub_init(&a, &rec_ops, 1, &tlog);
	assert_int_equal(mmu_notifier_register(&a.mn, f->mm), 0);

	w0 = warn_count();
	warn_set_quiet(true);
	/* Empty, inverted, and an unknown event. */
	rec_window(f->mm, A0, A0, MMU_NOTIFY_CLEAR);
	rec_window(f->mm, A1, A0, MMU_NOTIFY_CLEAR);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_NR_EVENTS);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A1, A0);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 0);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 7);
	assert_int_equal(rec_log_len(&tlog), 0);
	assert_int_equal(host_vm_event(f->host, MMU_NOTIFY_START), start0);
	mmu_notifier_unregister(&a.mn, f->mm);
}

static void test_put_unused_users(void **state)
{
	struct fixture *f = *state;
	int freed0 = __atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE);
	struct mmu_notifier *s;
	unsigned long w0;

	s = mmu_notifier_get(&rec_getput_ops, f->mm);
	assert_false(IS_ERR(s));
	/* A put without a get: drop users behind the core's back. */
	s->users = 0;
	w0 = warn_count();
	warn_set_quiet(true);
	mmu_notifier_put(s);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 1);
	assert_int_equal(nr_subscriptions(f->mm), 1);

	s->users = 1;
	mmu_notifier_put(s);
	mmu_notifier_synchronize();
	assert_int_equal(__atomic_load_n(&rec_getput_freed, __ATOMIC_ACQUIRE),
			 freed0 + 1);
	assert_int_equal(nr_subscriptions(f->mm), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_register_window_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_munmap_unregister, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eintr, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_ops_rejected,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_register_excludes_window, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_register_race_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_race_det,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_newest_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_put, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_after_last_put,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_releases_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_races_exit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonblock_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failing_sub_visited_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_young, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put_from_release,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_change_pte_and_arch_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_counters_and_noop_without_notifiers, setup,
			teardown),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test_setup_teardown(
			test_unregister_waits_for_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_synchronize_waits_for_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_unregister, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unregister_wrong_mm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_twice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_register_without_users,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_register_locked_requires_write_lock, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_invalid_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_put_unused_users, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
