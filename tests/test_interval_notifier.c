// SPDX-License-Identifier: MIT
/*
 * Tests of interval notifiers: the odd/even sequence state machine,
 * deferred insert and removal, read_begin/read_retry, their ordering
 * against hlist subscribers, and a concurrent mirror that checks the
 * collision-retry protocol end to end.  Test IDs refer to sections 7.1
 * and 7.2 of the notifier specification; INV-n to its section 6.
 */
#include <limits.h>
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
#define A1 0x110000UL
#define B0 0x200000UL
#define B1 0x210000UL
#define RW (PROT_READ | PROT_WRITE)

#include "mn_fixture.h"

static struct mmu_notifier_snapshot snap(struct mm_struct *mm)
{
	struct mmu_notifier_snapshot s;

	assert_int_equal(mmu_notifier_snapshot(mm, &s), 0);
	return s;
}

/* INV-17, as far as one snapshot can tell. */
static bool inv17_holds(const struct mmu_notifier_snapshot *s)
{
	bool odd = s->invalidate_seq & 1;

	if (!s->active_invalidate_ranges && odd)
		return false;
	if (!odd && s->nr_deferred)
		return false;
	return true;
}

static void check_inv17(struct mm_struct *mm)
{
	struct mmu_notifier_snapshot s = snap(mm);

	assert_true(inv17_holds(&s));
}

static void insert(struct rec_isub *isub, struct mm_struct *mm,
		   unsigned long start, unsigned long end)
{
	assert_int_equal(mmu_interval_notifier_insert(&isub->in, mm, start,
						      end - start, &rec_iops),
			 0);
	check_inv17(mm);
}

/*
 * Windows the test task has open: it holds the mmap_lock for the
 * outermost only (taking it again would be a recursive read, a possible
 * self-deadlock the lock validator reports).
 */
static int windows_open;

/* Open a blockable window on [start, end) and leave it open. */
static void open_window(struct mmu_notifier_range *range, struct mm_struct *mm,
			unsigned long start, unsigned long end)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	if (!windows_open++)
		mmap_read_lock(mm);
	mmu_notifier_invalidate_range_start(range);
	check_inv17(mm);
}

static void close_window(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_end(range);
	if (!--windows_open)
		mmap_read_unlock(range->mm);
	check_inv17(range->mm);
}

/* read_begin (or remove) in another task, so a test can see it block. */
struct bg_args {
	struct rec_isub *isub;
	unsigned long seq;
	struct gate done;
};

static int read_begin_fn(void *data)
{
	struct bg_args *b = data;

	b->seq = mmu_interval_read_begin(&b->isub->in);
	gate_open(&b->done);
	return 0;
}

static int remove_fn(void *data)
{
	struct bg_args *b = data;

	mmu_interval_notifier_remove(&b->isub->in);
	gate_open(&b->done);
	return 0;
}

/* Hold the driver lock in another task until the test releases it. */
struct lock_holder {
	struct rec_isub *isub;
	struct gate held, release;
};

static int hold_user_lock_fn(void *data)
{
	struct lock_holder *h = data;

	mutex_lock(&h->isub->user_lock);
	gate_open(&h->held);
	gate_wait(&h->release);
	mutex_unlock(&h->isub->user_lock);
	return 0;
}

static struct task_struct *bg_start(struct bg_args *b, struct rec_isub *isub,
				    int (*fn)(void *))
{
	struct task_struct *t;

	b->isub = isub;
	b->seq = 0;
	gate_init(&b->done);
	t = kthread_run(fn, b, "bg");
	assert_false(IS_ERR(t));
	return t;
}

/* ---------------------------------------------------------------------
 * Idle insert, one epoch, non-intersecting ranges
 */

static void test_insert_idle(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_snapshot s;
	struct rec_isub a, b;
	unsigned long seq;

	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);
	s = snap(f->mm);
	assert_true(s.has_itree);
	assert_int_equal(s.invalidate_seq, 2);
	assert_int_equal(s.active_invalidate_ranges, 0);
	assert_int_equal(s.nr_intervals, 1);
	assert_int_equal(s.nr_subscriptions, 0);
	assert_int_equal(a.in.invalidate_seq, 1);
	assert_int_equal(a.in.interval_tree.start, A0);
	assert_int_equal(a.in.interval_tree.last, A1 - 1);

	seq = mmu_interval_read_begin(&a.in);
	assert_int_equal(seq, 1);
	assert_false(mmu_interval_read_retry(&a.in, seq));
	assert_false(mmu_interval_check_retry(&a.in, seq));

	/* After an epoch (seq 4) a new subscriber starts at 3. */
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	rec_isub_init(&b, 2, &tlog);
	insert(&b, f->mm, B0, B1);
	assert_int_equal(snap(f->mm).invalidate_seq, 4);
	assert_int_equal(b.in.invalidate_seq, 3);
	assert_int_equal(mmu_interval_read_begin(&b.in), 3);

	mmu_interval_notifier_remove(&b.in);
	mmu_interval_notifier_remove(&a.in);
	assert_int_equal(snap(f->mm).nr_intervals, 0);
}

static void test_epoch(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range range;
	struct mmu_notifier_snapshot s;
	struct rec_isub a;
	unsigned long seq;

	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);
	seq = mmu_interval_read_begin(&a.in);

	open_window(&range, f->mm, A0 + PAGE_SIZE, A0 + 2 * PAGE_SIZE);
	s = snap(f->mm);
	assert_int_equal(s.invalidate_seq, 3);
	assert_int_equal(s.active_invalidate_ranges, 1);
	assert_int_equal(rec_log_len(&tlog), 1);
	assert_int_equal(tlog.e[0].seq, 3);
	assert_int_equal(tlog.e[0].start, A0 + PAGE_SIZE);
	assert_int_equal(tlog.e[0].end, A0 + 2 * PAGE_SIZE);
	assert_int_equal(tlog.e[0].event, MMU_NOTIFY_CLEAR);
	assert_int_equal(tlog.e[0].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	assert_int_equal(a.in.invalidate_seq, 3);
	close_window(&range);

	s = snap(f->mm);
	assert_int_equal(s.invalidate_seq, 4);
	assert_int_equal(s.active_invalidate_ranges, 0);
	assert_true(mmu_interval_read_retry(&a.in, seq));
	/* The epoch is over: read_begin does not wait and returns 3. */
	seq = mmu_interval_read_begin(&a.in);
	assert_int_equal(seq, 3);
	assert_false(mmu_interval_read_retry(&a.in, seq));
	mmu_interval_notifier_remove(&a.in);
}

static void test_no_intersection(void **state)
{
	struct fixture *f = *state;
	static const struct {
		unsigned long start, end;
		bool hits;
	} cases[] = {
		{ B0, B1, false },
		{ A1, A1 + PAGE_SIZE, false },		/* just after */
		{ A0 - PAGE_SIZE, A0, false },		/* just before */
		{ A0 - PAGE_SIZE, A0 + PAGE_SIZE, true },
		{ A1 - PAGE_SIZE, A1, true },		/* last page */
		{ 0, ULONG_MAX, true },
	};
	struct mmu_notifier_range range;
	struct mmu_notifier_snapshot s;
	struct rec_isub a;
	unsigned long seq;

	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(cases); i++) {
		int n0 = atomic_read(&a.nr_invalidate);
		unsigned long seq0 = snap(f->mm).invalidate_seq;

		seq = mmu_interval_read_begin(&a.in);
		open_window(&range, f->mm, cases[i].start, cases[i].end);
		s = snap(f->mm);
		assert_int_equal(s.active_invalidate_ranges, 1);
		assert_int_equal(atomic_read(&a.nr_invalidate) - n0,
				 cases[i].hits);
		assert_int_equal(s.invalidate_seq & 1, cases[i].hits);
		if (!cases[i].hits) {
			/* Partially excluded: readers proceed. */
			assert_int_equal(mmu_interval_read_begin(&a.in), seq);
			assert_false(mmu_interval_read_retry(&a.in, seq));
		}
		close_window(&range);
		assert_int_equal(snap(f->mm).invalidate_seq,
				 seq0 + 2 * cases[i].hits);
		assert_int_equal(mmu_interval_read_retry(&a.in, seq),
				 cases[i].hits);
	}
	mmu_interval_notifier_remove(&a.in);
}

/* ---------------------------------------------------------------------
 * The epoch lasts until every range ends; deferred inserts and removes
 */

static void test_epoch_waits_for_all_ranges(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range r1, r2;
	struct bg_args bg;
	struct task_struct *t;
	struct rec_isub a;

	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);
	open_window(&r1, f->mm, A0, A0 + PAGE_SIZE);
	open_window(&r2, f->mm, B0, B1);
	close_window(&r1);
	assert_int_equal(snap(f->mm).invalidate_seq, 3);
	assert_int_equal(snap(f->mm).active_invalidate_ranges, 1);

	t = bg_start(&bg, &a, read_begin_fn);
	assert_false(gate_wait_ms(&bg.done, 100));
	close_window(&r2);
	assert_true(gate_wait_ms(&bg.done, 5000));
	kthread_stop(t);
	assert_int_equal(bg.seq, 3);
	assert_int_equal(snap(f->mm).invalidate_seq, 4);
	mmu_interval_notifier_remove(&a.in);
}

static void test_deferred_insert(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range r1, r2;
	struct mmu_notifier_snapshot s;
	struct bg_args bg;
	struct task_struct *t;
	struct rec_isub a, x;

	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&x, 2, &tlog);
	insert(&a, f->mm, A0, A1);
	open_window(&r1, f->mm, A0, A1);

	insert(&x, f->mm, B0, B1);
	s = snap(f->mm);
	assert_int_equal(s.nr_deferred, 1);
	assert_int_equal(s.nr_intervals, 1);
	assert_int_equal(x.in.invalidate_seq, 3);

	/* A range over X joins the epoch, but X is not in the tree yet. */
	open_window(&r2, f->mm, B0, B1);
	assert_int_equal(atomic_read(&x.nr_invalidate), 0);
	close_window(&r2);

	t = bg_start(&bg, &x, read_begin_fn);
	assert_false(gate_wait_ms(&bg.done, 100));
	close_window(&r1);
	assert_true(gate_wait_ms(&bg.done, 5000));
	kthread_stop(t);
	assert_int_equal(bg.seq, 3);

	s = snap(f->mm);
	assert_int_equal(s.invalidate_seq, 4);
	assert_int_equal(s.nr_deferred, 0);
	assert_int_equal(s.nr_intervals, 2);
	rec_window(f->mm, B0, B1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&x.nr_invalidate), 1);
	assert_int_equal(x.in.invalidate_seq, 5);
	assert_true(mmu_interval_read_retry(&x.in, bg.seq));
	mmu_interval_notifier_remove(&x.in);
	mmu_interval_notifier_remove(&a.in);
}

static void test_partial_exclusion_insert(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range r;
	struct mmu_notifier_snapshot s;
	struct bg_args bg;
	struct task_struct *t;
	struct rec_isub a, x;

	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&x, 2, &tlog);
	insert(&a, f->mm, A0, A1);
	open_window(&r, f->mm, B1, B1 + PAGE_SIZE);
	assert_int_equal(snap(f->mm).invalidate_seq, 2);

	/* Unknown ranges in flight: X counts as invalidated at once. */
	insert(&x, f->mm, B0, B1);
	s = snap(f->mm);
	assert_int_equal(s.invalidate_seq, 3);
	assert_int_equal(s.nr_intervals, 2);
	assert_int_equal(s.nr_deferred, 0);
	assert_int_equal(x.in.invalidate_seq, 3);
	/* A was not hit: its readers do not wait. */
	assert_int_equal(mmu_interval_read_begin(&a.in), 1);

	t = bg_start(&bg, &x, read_begin_fn);
	assert_false(gate_wait_ms(&bg.done, 100));
	close_window(&r);
	assert_true(gate_wait_ms(&bg.done, 5000));
	kthread_stop(t);
	assert_int_equal(bg.seq, 3);
	assert_int_equal(snap(f->mm).invalidate_seq, 4);
	assert_int_equal(atomic_read(&x.nr_invalidate), 0);
	mmu_interval_notifier_remove(&x.in);
	mmu_interval_notifier_remove(&a.in);
}

static void test_remove_during_epoch(void **state)
{
	struct fixture *f = *state;
	int count0 = mm_count_of(f->mm);
	struct mmu_notifier_range r;
	struct bg_args bg;
	struct task_struct *t;
	struct rec_isub a, b;
	int n;

	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&b, 2, &tlog);
	insert(&a, f->mm, A0, A1);
	insert(&b, f->mm, B0, B1);
	open_window(&r, f->mm, A0, A1);

	t = bg_start(&bg, &a, remove_fn);
	assert_false(gate_wait_ms(&bg.done, 100));
	assert_int_equal(snap(f->mm).nr_deferred, 1);
	assert_int_equal(snap(f->mm).nr_intervals, 2);
	close_window(&r);
	assert_true(gate_wait_ms(&bg.done, 5000));
	kthread_stop(t);
	assert_int_equal(snap(f->mm).nr_intervals, 1);

	/* Gone: no callback after remove returned. */
	n = atomic_read(&a.nr_invalidate);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_invalidate), n);

	/* Removing a pending insert cancels it without waiting. */
	open_window(&r, f->mm, B0, B1);
	insert(&a, f->mm, A0, A1);
	assert_int_equal(snap(f->mm).nr_deferred, 1);
	t = bg_start(&bg, &a, remove_fn);
	assert_true(gate_wait_ms(&bg.done, 5000));
	kthread_stop(t);
	assert_int_equal(snap(f->mm).nr_deferred, 0);
	close_window(&r);
	assert_int_equal(snap(f->mm).nr_intervals, 1);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_invalidate), n);

	mmu_interval_notifier_remove(&b.in);
	assert_int_equal(mm_count_of(f->mm), count0);
}

/* ---------------------------------------------------------------------
 * Insert validation, check_retry without the lock, interval before hlist
 * subscribers, a non-blockable start an interval subscriber refuses
 */

static void test_insert_validation(void **state)
{
	struct fixture *f = *state;
	int count0 = mm_count_of(f->mm);
	struct rec_isub a;

	rec_isub_init(&a, 1, &tlog);
	assert_int_equal(mmu_interval_notifier_insert(&a.in, f->mm, A0, 0,
						      &rec_iops),
			 -EOVERFLOW);
	assert_int_equal(mmu_interval_notifier_insert(
				 &a.in, f->mm, ULONG_MAX - PAGE_SIZE + 1,
				 2 * PAGE_SIZE, &rec_iops),
			 -EOVERFLOW);
	assert_int_equal(mmu_interval_notifier_insert(&a.in, f->mm, 2,
						      ULONG_MAX, &rec_iops),
			 -EOVERFLOW);
	assert_int_equal(mm_count_of(f->mm), count0);
	assert_int_equal(snap(f->mm).nr_intervals, 0);

	/* The largest representable interval: [1, ULONG_MAX]. */
	assert_int_equal(mmu_interval_notifier_insert(&a.in, f->mm, 1,
						      ULONG_MAX, &rec_iops),
			 0);
	assert_int_equal(a.in.interval_tree.last, ULONG_MAX);
	assert_int_equal(mm_count_of(f->mm), count0 + 1);
	rec_window(f->mm, B0, B1, MMU_NOTIFY_CLEAR);
	assert_int_equal(atomic_read(&a.nr_invalidate), 1);
	mmu_interval_notifier_remove(&a.in);
	assert_int_equal(mm_count_of(f->mm), count0);
}

static void test_check_retry(void **state)
{
	struct fixture *f = *state;
	struct rec_isub a;
	unsigned long seq;

	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);

	seq = mmu_interval_read_begin(&a.in);
	rec_window(f->mm, B0, B1, MMU_NOTIFY_CLEAR);
	assert_false(mmu_interval_check_retry(&a.in, seq));

	rec_window(f->mm, A0, A1, MMU_NOTIFY_CLEAR);
	assert_true(mmu_interval_check_retry(&a.in, seq));
	mutex_lock(&a.user_lock);
	assert_true(mmu_interval_read_retry(&a.in, seq));
	mutex_unlock(&a.user_lock);
	mmu_interval_notifier_remove(&a.in);
}

struct seen {
	struct mm_struct *mm;
	struct mmu_notifier_snapshot at_start, at_end;
};

static void snapshot_hook(struct rec_sub *sub, enum rec_cb cb,
			  const struct mmu_notifier_range *range)
{
	struct seen *seen = sub->priv;

	(void)range;
	if (cb == REC_START)
		mmu_notifier_snapshot(seen->mm, &seen->at_start);
	else if (cb == REC_END)
		mmu_notifier_snapshot(seen->mm, &seen->at_end);
}

static void test_interval_before_hlist(void **state)
{
	struct fixture *f = *state;
	struct seen seen = { .mm = f->mm };
	struct rec_isub a;
	struct rec_sub h;

	rec_isub_init(&a, 1, &tlog);
	rec_sub_init(&h, &rec_ops, 2, &tlog);
	h.hook = snapshot_hook;
	h.priv = &seen;
	assert_int_equal(mmu_notifier_register(&h.mn, f->mm), 0);
	insert(&a, f->mm, A0, A1);

	rec_window(f->mm, A0, A1, MMU_NOTIFY_UNMAP);
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_int_equal(tlog.e[0].id, 1);
	assert_int_equal(tlog.e[0].cb, REC_INVALIDATE);
	assert_int_equal(tlog.e[1].id, 2);
	assert_int_equal(tlog.e[1].cb, REC_START);
	assert_int_equal(tlog.e[2].id, 2);
	assert_int_equal(tlog.e[2].cb, REC_END);

	/* hlist start runs inside the epoch, hlist end after it closed. */
	assert_int_equal(seen.at_start.invalidate_seq, 3);
	assert_int_equal(seen.at_start.active_invalidate_ranges, 1);
	assert_int_equal(seen.at_end.invalidate_seq, 4);
	assert_int_equal(seen.at_end.active_invalidate_ranges, 0);

	mmu_interval_notifier_remove(&a.in);
	mmu_notifier_unregister(&h.mn, f->mm);
}

static void test_interval_refuses_nonblock(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range range;
	struct mmu_notifier_snapshot s;
	struct rec_isub a, b;
	struct rec_sub h;
	struct lock_holder holder;
	struct task_struct *t;
	unsigned long w0 = warn_count();

	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&b, 2, &tlog);
	rec_sub_init(&h, &rec_ops, 3, &tlog);
	assert_int_equal(mmu_notifier_register(&h.mn, f->mm), 0);
	insert(&a, f->mm, A0, A1);
	insert(&b, f->mm, A0, A1);

	/*
	 * A's driver lock is busy (held by another task: holding it here
	 * around an invalidation would invert the callback's lock order):
	 * its non-blocking callback refuses.
	 */
	holder.isub = &a;
	gate_init(&holder.held);
	gate_init(&holder.release);
	t = kthread_run(hold_user_lock_fn, &holder, "holder");
	assert_false(IS_ERR(t));
	gate_wait(&holder.held);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A0, A1);
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 -EAGAIN);
	mmap_read_unlock(f->mm);
	gate_open(&holder.release);
	kthread_stop(t);

	/* The walk stopped at A: neither B nor the hlist was asked. */
	assert_int_equal(atomic_read(&a.nr_invalidate), 1);
	assert_int_equal(atomic_read(&b.nr_invalidate), 0);
	assert_int_equal(rec_log_count(&tlog, 3, REC_START), 0);
	assert_int_equal(rec_log_count(&tlog, 3, REC_END), 0);
	s = snap(f->mm);
	assert_int_equal(s.active_invalidate_ranges, 0);
	assert_int_equal(s.invalidate_seq, 4);
	assert_int_equal(warn_count(), w0);

	/* Refusing a blockable range is a driver bug: WARN, carry on. */
	WRITE_ONCE(a.refuse, true);
	warn_set_quiet(true);
	rec_window(f->mm, A0, A1, MMU_NOTIFY_UNMAP);
	warn_set_quiet(false);
	WRITE_ONCE(a.refuse, false);
	assert_int_equal(warn_count(), w0 + 1);
	assert_int_equal(atomic_read(&b.nr_invalidate), 1);
	assert_int_equal(rec_log_count(&tlog, 3, REC_START), 1);
	assert_int_equal(rec_log_count(&tlog, 3, REC_END), 1);
	check_inv17(f->mm);

	mmu_interval_notifier_remove(&a.in);
	mmu_interval_notifier_remove(&b.in);
	mmu_notifier_unregister(&h.mn, f->mm);
}

/*
 * When interval subscribers accepted a non-blocking range and an hlist
 * subscriber then fails it, Linux 6.12 returns -EAGAIN and ends the
 * interval side itself (__mmu_notifier_invalidate_range_start() calls
 * mn_itree_inv_end()), since the caller will call no end: the range stops
 * counting as active and an epoch it opened closes.
 */
static void test_hlist_failure_after_itree_start(void **state)
{
	struct fixture *f = *state;
	struct mmu_notifier_range range;
	struct mmu_notifier_snapshot s;
	struct rec_isub a;
	struct rec_sub h;
	unsigned long w0 = warn_count();

	rec_isub_init(&a, 1, &tlog);
	rec_sub_init(&h, &rec_ops_start_only, 2, &tlog);
	h.start_ret = -EAGAIN;
	assert_int_equal(mmu_notifier_register(&h.mn, f->mm), 0);
	insert(&a, f->mm, A0, A1);

	/* A range beside the interval: no epoch, only the count. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, B0, B1);
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 -EAGAIN);
	mmap_read_unlock(f->mm);
	s = snap(f->mm);
	assert_int_equal(s.active_invalidate_ranges, 0);
	assert_int_equal(s.invalidate_seq, 2);

	/* A range over it: the epoch it opened (seq 3) closes (seq 4). */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, A0, A1);
	mmap_read_lock(f->mm);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 -EAGAIN);
	mmap_read_unlock(f->mm);
	assert_int_equal(atomic_read(&a.nr_invalidate), 1);
	s = snap(f->mm);
	assert_int_equal(s.active_invalidate_ranges, 0);
	assert_int_equal(s.invalidate_seq, 4);
	assert_int_equal(warn_count(), w0);

	mmu_interval_notifier_remove(&a.in);
	mmu_notifier_unregister(&h.mn, f->mm);
}

/* ---------------------------------------------------------------------
 * Exit: RELEASE first, then the UNMAP of the teardown
 */

struct exit_probe {
	struct host *host;
	long free_at[2];
	int n;
};

static void exit_probe_hook(struct rec_isub *isub,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	struct exit_probe *p = isub->priv;

	(void)range;
	(void)cur_seq;
	if (p->n < 2)
		p->free_at[p->n++] = (long)host_nr_free_frames(p->host);
}

static void test_exit(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *mm = f->mm;
	struct exit_probe probe = { .host = f->host };
	unsigned long free0;
	struct rec_isub a;
	struct rec_sub h;
	long addr;

	addr = vm_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true(addr > 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cpu_write_u64(mm, addr + i * PAGE_SIZE, 1), 0);
	rec_isub_init(&a, 1, &tlog);
	a.hook = exit_probe_hook;
	a.priv = &probe;
	insert(&a, mm, (unsigned long)addr, (unsigned long)addr + PAGE_SIZE);
	rec_sub_init(&h, &rec_ops, 2, &tlog);
	assert_int_equal(mmu_notifier_register(&h.mn, mm), 0);
	free0 = host_nr_free_frames(f->host);

	f->mm = NULL;
	mmput(mm);

	/*
	 * The interval RELEASE over everything comes first, then the hlist
	 * ->release; exit's UNMAP then reaches the interval subscriber only.
	 * Both invalidations are blockable and precede every page free.
	 */
	assert_int_equal(rec_log_len(&tlog), 3);
	assert_int_equal(tlog.e[0].id, 1);
	assert_int_equal(tlog.e[0].event, MMU_NOTIFY_RELEASE);
	assert_int_equal(tlog.e[0].start, 0);
	assert_int_equal(tlog.e[0].end, ULONG_MAX);
	assert_int_equal(tlog.e[1].id, 2);
	assert_int_equal(tlog.e[1].cb, REC_RELEASE);
	assert_int_equal(tlog.e[2].id, 1);
	assert_int_equal(tlog.e[2].event, MMU_NOTIFY_UNMAP);
	assert_int_equal(tlog.e[0].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	assert_int_equal(tlog.e[2].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	for (int i = 0; i < 2; i++)
		assert_int_equal(probe.free_at[i], free0);
	assert_true(host_nr_free_frames(f->host) >= free0 + 4);

	/* Still in the tree until removed; the mm_struct lives until then. */
	assert_int_equal(snap(mm).nr_intervals, 1);
	assert_int_equal(snap(mm).nr_subscriptions, 0);
	check_inv17(mm);
	mmu_interval_notifier_remove(&a.in);
	mmu_notifier_unregister(&h.mn, mm);
	assert_int_equal(atomic_read(&h.nr_release), 1);
}

/* ---------------------------------------------------------------------
 * Registration side of interval notifiers, and misuse
 */

static void test_insert_registers(void **state)
{
	struct fixture *f = *state;
	struct mm_struct *mm2 = mm_alloc(f->host);
	int count2 = mm_count_of(mm2);
	struct rec_isub a, b, c;
	unsigned long w0;
	int ret;

	assert_false(mm_has_notifiers(f->mm));
	rec_isub_init(&a, 1, &tlog);
	insert(&a, f->mm, A0, A1);
	assert_true(mm_has_notifiers(f->mm));
	assert_true(snap(f->mm).has_itree);

	/* _locked: the caller holds the mmap_lock for writing. */
	rec_isub_init(&b, 2, &tlog);
	checker_detach(f->host); /* the lock validator's report: a WARN */
	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(mmu_interval_notifier_insert_locked(
				 &b.in, f->mm, B0, B1 - B0, &rec_iops),
			 -EINVAL);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 1);
	mmap_write_lock(f->mm);
	assert_int_equal(mmu_interval_notifier_insert_locked(
				 &b.in, f->mm, B0, B1 - B0, &rec_iops),
			 0);
	mmap_write_unlock(f->mm);
	assert_int_equal(snap(f->mm).nr_intervals, 2);

	/* First insert on mm2 must register, and a signal stops that. */
	for (int i = 0; i < 4; i++)
		assert_true(vm_mmap(mm2, 0, PAGE_SIZE, PROT_READ,
				    MAP_PRIVATE | MAP_ANONYMOUS) > 0);
	rec_isub_init(&c, 3, &tlog);
	set_signal_pending(current, true);
	ret = mmu_interval_notifier_insert(&c.in, mm2, A0, A1 - A0, &rec_iops);
	set_signal_pending(current, false);
	assert_int_equal(ret, -EINTR);
	assert_false(mm_has_notifiers(mm2));
	assert_int_equal(mm_count_of(mm2), count2);
	mmap_write_lock(mm2);
	assert_int_equal(mmu_interval_notifier_insert_locked(
				 &c.in, mm2, A0, A1 - A0, &rec_iops),
			 0);
	mmap_write_unlock(mm2);
	assert_true(snap(mm2).has_itree);
	assert_int_equal(snap(mm2).nr_subscriptions, 0);
	assert_int_equal(snap(mm2).nr_intervals, 1);

	mmu_interval_notifier_remove(&c.in);
	mmu_interval_notifier_remove(&b.in);
	mmu_interval_notifier_remove(&a.in);
	mmput(mm2);
}

static void test_double_remove(void **state)
{
	struct fixture *f = *state;
	int count0 = mm_count_of(f->mm);
	struct rec_isub a, never;
	unsigned long w0;

	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&never, 2, &tlog);
	insert(&a, f->mm, A0, A1);
	mmu_interval_notifier_remove(&a.in);
	assert_int_equal(mm_count_of(f->mm), count0);

	w0 = warn_count();
	warn_set_quiet(true);
	mmu_interval_notifier_remove(&a.in);
	mmu_interval_notifier_remove(&never.in);
	warn_set_quiet(false);
	assert_int_equal(warn_count(), w0 + 2);
	assert_int_equal(mm_count_of(f->mm), count0);
	assert_int_equal(snap(f->mm).nr_intervals, 0);
}

/* Many intervals: each range reaches exactly the intervals it overlaps. */
static void test_many_intervals(void **state)
{
	enum { N = 48, ROUNDS = 200 };
	struct fixture *f = *state;
	static struct rec_isub subs[N];
	unsigned long x = 88172645463325252UL;

	for (int i = 0; i < N; i++) {
		unsigned long start = (unsigned long)(i % 16) * 0x3000 +
				      (unsigned long)(i / 16) * 0x800;
		unsigned long len = 0x1000 + (unsigned long)(i % 5) * 0x2800;

		rec_isub_init(&subs[i], i, NULL);
		insert(&subs[i], f->mm, start, start + len);
	}
	for (int r = 0; r < ROUNDS; r++) {
		unsigned long start, end;
		int before[N];

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		start = (x % 0x40) * 0x1000;
		end = start + ((x >> 8) % 0x10 + 1) * 0x1000;
		for (int i = 0; i < N; i++)
			before[i] = atomic_read(&subs[i].nr_invalidate);
		rec_window(f->mm, start, end, MMU_NOTIFY_CLEAR);
		for (int i = 0; i < N; i++) {
			struct interval_tree_node *n;
			bool hit;

			n = &subs[i].in.interval_tree;
			hit = n->start < end && n->last >= start;

			assert_int_equal(atomic_read(&subs[i].nr_invalidate) -
						 before[i],
					 hit);
		}
	}
	for (int i = 0; i < N; i++)
		mmu_interval_notifier_remove(&subs[i].in);
	check_inv17(f->mm);
}

/* ---------------------------------------------------------------------
 * A concurrent mirror: the collision-retry protocol end to end
 *
 * One page-table entry ("pte", a version number) covered by interval
 * subscriber M.  Writers change it only inside a start/end window over
 * it; a reader mirrors it into "spte" with read_begin / read_retry under
 * M's user lock; M's invalidate clears spte.  If the core is right, the
 * reader never installs a version that is not current (INV-4), and no
 * stale spte survives a window's end (INV-6).  Meanwhile other tasks
 * open non-intersecting windows and insert/remove intervals, so epochs,
 * partial exclusion and deferred changes all happen concurrently.
 */

struct mirror {
	struct rec_isub m;
	struct mm_struct *mm;
	atomic_long_t pte;	/* the primary entry: a version, from 1 */
	unsigned long spte;	/* under m.user_lock; 0 = not mapped */
	int bad_install;
	int stale_after_end;
	int inv17_broken;
	int installs;
	int iterations;
};

static void mirror_invalidate_hook(struct rec_isub *isub,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct mirror *mi = container_of(isub, struct mirror, m);

	(void)range;
	(void)cur_seq;
	mi->spte = 0;
}

static int mirror_writer_fn(void *data)
{
	struct mirror *mi = data;
	struct mmu_notifier_range range;

	for (int i = 0; i < mi->iterations; i++) {
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mi->mm,
					A0, A0 + PAGE_SIZE);
		mmap_read_lock(mi->mm);
		mmu_notifier_invalidate_range_start(&range);
		atomic_long_inc(&mi->pte);
		cond_resched();
		mmu_notifier_invalidate_range_end(&range);
		mmap_read_unlock(mi->mm);

		mutex_lock(&mi->m.user_lock);
		if (mi->spte &&
		    mi->spte != (unsigned long)atomic_long_read(&mi->pte))
			mi->stale_after_end++;
		mutex_unlock(&mi->m.user_lock);
		cond_resched();
	}
	return 0;
}

/* One read_begin/read/retry/install attempt; true if it installed. */
static bool mirror_read_once(struct mirror *mi)
{
	unsigned long seq = mmu_interval_read_begin(&mi->m.in);
	unsigned long v = atomic_long_read(&mi->pte);
	bool installed = false;

	cond_resched();
	mutex_lock(&mi->m.user_lock);
	if (!mmu_interval_read_retry(&mi->m.in, seq)) {
		if (v != (unsigned long)atomic_long_read(&mi->pte))
			mi->bad_install++;
		mi->spte = v;
		mi->installs++;
		installed = true;
	}
	mutex_unlock(&mi->m.user_lock);
	return installed;
}

static int mirror_reader_fn(void *data)
{
	struct mirror *mi = data;
	bool any = false;

	/*
	 * Every attempt may collide while the writers run; keep going until
	 * one installs (they finish, and then nothing collides).
	 */
	for (long i = 0; i < 2 * mi->iterations || (!any && i < 10000000);
	     i++)
		any |= mirror_read_once(mi);
	return 0;
}

/* Windows that hit no interval: partial exclusion, longer epochs. */
static int mirror_noise_fn(void *data)
{
	struct mirror *mi = data;

	for (int i = 0; i < mi->iterations; i++)
		rec_window(mi->mm, B0, B1, MMU_NOTIFY_CLEAR);
	return 0;
}

/* Inserts and removals racing the epochs: deferred and immediate ones. */
static int mirror_churn_fn(void *data)
{
	struct mirror *mi = data;
	struct rec_isub near, far;
	struct mmu_notifier_snapshot s;

	rec_isub_init(&near, 10, NULL);
	rec_isub_init(&far, 11, NULL);
	for (int i = 0; i < (mi->iterations + 1) / 2; i++) {
		if (mmu_interval_notifier_insert(&near.in, mi->mm, A0,
						 PAGE_SIZE, &rec_iops) ||
		    mmu_interval_notifier_insert(&far.in, mi->mm, B0,
						 PAGE_SIZE, &rec_iops))
			return -1;
		mmu_notifier_snapshot(mi->mm, &s);
		if (!inv17_holds(&s))
			mi->inv17_broken++;
		cond_resched();
		mmu_interval_notifier_remove(&near.in);
		mmu_interval_notifier_remove(&far.in);
	}
	return 0;
}

/*
 * Every loop is bounded, so no schedule (PCT included) can starve a task
 * behind another's spinning.
 */
static void run_mirror(struct mm_struct *mm, int iterations)
{
	static int (*const fns[])(void *) = {
		mirror_writer_fn, mirror_writer_fn, mirror_reader_fn,
		mirror_noise_fn, mirror_churn_fn,
	};
	struct task_struct *t[MMULAB_ARRAY_SIZE(fns)];
	struct mirror *mi = calloc(1, sizeof(*mi));

	assert_non_null(mi);
	rec_isub_init(&mi->m, 1, NULL);
	mi->m.hook = mirror_invalidate_hook;
	mi->mm = mm;
	atomic_long_set(&mi->pte, 1);
	mi->iterations = iterations;
	assert_int_equal(mmu_interval_notifier_insert(&mi->m.in, mm, A0,
						      PAGE_SIZE, &rec_iops),
			 0);

	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(fns); i++) {
		t[i] = kthread_run(fns[i], mi, "mirror");
		assert_false(IS_ERR(t[i]));
	}
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(fns); i++)
		assert_int_equal(kthread_stop(t[i]), 0);

	/* Quiescent now: a read must succeed and see the final entry. */
	assert_true(mirror_read_once(mi));
	assert_int_equal(mi->spte, atomic_long_read(&mi->pte));
	assert_int_equal(atomic_long_read(&mi->pte), 1 + 2 * iterations);
	assert_int_equal(mi->bad_install, 0);
	assert_int_equal(mi->stale_after_end, 0);
	assert_int_equal(mi->inv17_broken, 0);
	check_inv17(mm);
	assert_int_equal(snap(mm).active_invalidate_ranges, 0);
	assert_int_equal(snap(mm).nr_intervals, 1);
	mmu_interval_notifier_remove(&mi->m.in);
	free(mi);
}

static void test_mirror_threads(void **state)
{
	struct fixture *f = *state;

	run_mirror(f->mm, 3000);
}

/* The mirror under the deterministic scheduler, seed after seed. */
static void test_mirror_det(void **state)
{
	struct fixture *f = *state;
	unsigned long w0 = warn_count();

	for (u64 seed = 1; seed <= 200; seed++) {
		struct det_config dc = {
			.seed = seed,
			.strategy = seed & 1 ? DET_STRATEGY_PCT
					     : DET_STRATEGY_RANDOM,
		};
		struct det_result res;

		assert_int_equal(det_begin(&dc), 0);
		run_mirror(f->mm, 6);
		assert_int_equal(det_end(&res), 0);
	}
	assert_int_equal(warn_count(), w0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_idle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_epoch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_intersection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_epoch_waits_for_all_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_insert,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_partial_exclusion_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_during_epoch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_validation,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_retry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_interval_before_hlist, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_interval_refuses_nonblock, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hlist_failure_after_itree_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_registers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_double_remove, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_intervals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mirror_threads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mirror_det, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
