/* SPDX-License-Identifier: MIT */
/*
 * A recording secondary MMU for notifier tests.
 *
 * struct rec_sub is an hlist subscriber and struct rec_isub an interval
 * subscriber; every callback appends {subscriber id, callback, start, end,
 * event, flags, seq} to a struct rec_log and then runs an optional hook,
 * which tests use to block a callback, look at core state from inside it,
 * or call back into the API (mmu_notifier_put() from ->release).
 *
 * Each hlist subscriber also counts its open invalidation windows (starts
 * minus ends).  An end arriving with no window open is counted in
 * @orphan_ends: that is INV-8, "no subscriber sees an end without its
 * start", which registration must guarantee.
 *
 * Everything shared goes through <mmulab/sync.h>, so the recorder works
 * in deterministic runs too.
 */
#ifndef MMULAB_TESTS_MN_RECORDER_H
#define MMULAB_TESTS_MN_RECORDER_H

#include <stdlib.h>
#include <string.h>

#include <mmulab/mmu_notifier.h>

#define REC_UNUSED __attribute__((unused))
#define REC_LOG_MAX 1024

/** enum rec_cb - which callback ran. */
enum rec_cb {
	REC_RELEASE,
	REC_START,
	REC_END,
	REC_CLEAR_FLUSH_YOUNG,
	REC_CLEAR_YOUNG,
	REC_TEST_YOUNG,
	REC_CHANGE_PTE,
	REC_ARCH_INVALIDATE,
	REC_INVALIDATE,		/* interval subscriber */
	REC_FREE,		/* free_notifier */
};

/**
 * struct rec_entry - one callback invocation.
 * @id: the subscriber's id.
 * @cb: which callback.
 * @start, @end: the range (aging: [start, end); test_young and change_pte:
 *	the address in @start).
 * @event: the range's event, -1 for callbacks without a range.
 * @flags: the range's flags.
 * @seq: interval invalidate: cur_seq; change_pte: the PTE value.
 * @owner: the range's owner (MIGRATE and EXCLUSIVE events), or NULL.
 */
struct rec_entry {
	int id;
	enum rec_cb cb;
	unsigned long start, end;
	int event;
	unsigned int flags;
	unsigned long seq;
	void *owner;
};

/** struct rec_log - an append-only log of callbacks. */
struct rec_log {
	spinlock_t lock;
	unsigned int n;
	bool overflow;
	struct rec_entry e[REC_LOG_MAX];
};

static inline void rec_log_init(struct rec_log *log)
{
	spin_lock_init(&log->lock);
	log->n = 0;
	log->overflow = false;
}

static inline void rec_log_add(struct rec_log *log, struct rec_entry ent)
{
	if (!log)
		return;
	spin_lock(&log->lock);
	if (log->n < REC_LOG_MAX)
		log->e[log->n++] = ent;
	else
		log->overflow = true;
	spin_unlock(&log->lock);
}

/** rec_log_len() - entries logged so far. */
static inline unsigned int rec_log_len(struct rec_log *log)
{
	unsigned int n;

	spin_lock(&log->lock);
	n = log->n;
	spin_unlock(&log->lock);
	return n;
}

/** rec_log_count() - entries for (@id, @cb); @id < 0 matches any. */
static inline unsigned int rec_log_count(struct rec_log *log, int id,
					 enum rec_cb cb)
{
	unsigned int i, n = 0;

	spin_lock(&log->lock);
	for (i = 0; i < log->n; i++)
		if ((id < 0 || log->e[i].id == id) && log->e[i].cb == cb)
			n++;
	spin_unlock(&log->lock);
	return n;
}

/* ---------------------------------------------------------------------
 * hlist subscriber
 */

struct rec_sub;
typedef void (*rec_hook_t)(struct rec_sub *sub, enum rec_cb cb,
			   const struct mmu_notifier_range *range);

/**
 * struct rec_sub - a recording hlist subscriber.
 * @mn: the subscription.
 * @id: id written to the log.
 * @log: where to log (NULL: count only).
 * @start_ret: what invalidate_range_start returns.
 * @young: what the aging callbacks return.
 * @open: windows open (starts minus ends).
 * @orphan_ends: ends received with no window open.
 * @nr_start, @nr_end, @nr_release: callback counts.
 * @hook: run after logging, from the callback.
 * @priv: for the hook.
 */
struct rec_sub {
	struct mmu_notifier mn;
	int id;
	struct rec_log *log;
	int start_ret;
	int young;
	atomic_t open;
	atomic_t orphan_ends;
	atomic_t nr_start;
	atomic_t nr_end;
	atomic_t nr_release;
	rec_hook_t hook;
	void *priv;
};

static inline struct rec_sub *to_rec(struct mmu_notifier *mn)
{
	return container_of(mn, struct rec_sub, mn);
}

static inline void rec_note(struct rec_sub *sub, enum rec_cb cb,
			    unsigned long start, unsigned long end,
			    const struct mmu_notifier_range *range,
			    unsigned long seq)
{
	struct rec_entry ent = {
		.id = sub->id, .cb = cb, .start = start, .end = end,
		.event = range ? (int)range->event : -1,
		.flags = range ? range->flags : 0, .seq = seq,
		.owner = range ? range->owner : NULL,
	};

	rec_log_add(sub->log, ent);
	if (sub->hook)
		sub->hook(sub, cb, range);
}

static inline void rec_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct rec_sub *sub = to_rec(mn);

	(void)mm;
	atomic_inc(&sub->nr_release);
	rec_note(sub, REC_RELEASE, 0, 0, NULL, 0);
}

static inline int rec_start(struct mmu_notifier *mn,
			    const struct mmu_notifier_range *range)
{
	struct rec_sub *sub = to_rec(mn);

	atomic_inc(&sub->nr_start);
	rec_note(sub, REC_START, range->start, range->end, range, 0);
	if (sub->start_ret)
		return sub->start_ret;
	atomic_inc(&sub->open);
	return 0;
}

static inline void rec_end(struct mmu_notifier *mn,
			   const struct mmu_notifier_range *range)
{
	struct rec_sub *sub = to_rec(mn);

	atomic_inc(&sub->nr_end);
	if (atomic_dec_return(&sub->open) < 0) {
		atomic_inc(&sub->orphan_ends);
		atomic_inc(&sub->open);
	}
	rec_note(sub, REC_END, range->start, range->end, range, 0);
}

static inline int rec_clear_flush_young(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	(void)mm;
	rec_note(to_rec(mn), REC_CLEAR_FLUSH_YOUNG, start, end, NULL, 0);
	return to_rec(mn)->young;
}

static inline int rec_clear_young(struct mmu_notifier *mn,
				  struct mm_struct *mm, unsigned long start,
				  unsigned long end)
{
	(void)mm;
	rec_note(to_rec(mn), REC_CLEAR_YOUNG, start, end, NULL, 0);
	return to_rec(mn)->young;
}

static inline int rec_test_young(struct mmu_notifier *mn,
				 struct mm_struct *mm, unsigned long address)
{
	(void)mm;
	rec_note(to_rec(mn), REC_TEST_YOUNG, address, address, NULL, 0);
	return to_rec(mn)->young;
}

static inline void rec_change_pte(struct mmu_notifier *mn,
				  struct mm_struct *mm, unsigned long address,
				  pte_t pte)
{
	(void)mm;
	rec_note(to_rec(mn), REC_CHANGE_PTE, address, address, NULL,
		 pte_val(pte));
}

static inline void rec_arch_invalidate(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long start, unsigned long end)
{
	(void)mm;
	rec_note(to_rec(mn), REC_ARCH_INVALIDATE, start, end, NULL, 0);
}

/* Everything a start/end consumer (KVM-like) implements. */
static const struct mmu_notifier_ops rec_ops REC_UNUSED = {
	.release = rec_release,
	.clear_flush_young = rec_clear_flush_young,
	.clear_young = rec_clear_young,
	.test_young = rec_test_young,
	.change_pte = rec_change_pte,
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
};

/* A subscriber with start but no end (the only kind allowed to fail). */
static const struct mmu_notifier_ops rec_ops_start_only REC_UNUSED = {
	.release = rec_release,
	.test_young = rec_test_young,
	.invalidate_range_start = rec_start,
};

/* A CPU-page-table sharer (IOMMU SVA-like). */
static const struct mmu_notifier_ops rec_ops_arch REC_UNUSED = {
	.release = rec_release,
	.arch_invalidate_secondary_tlbs = rec_arch_invalidate,
};

/* Forbidden: arch_invalidate_secondary_tlbs together with start/end. */
static const struct mmu_notifier_ops rec_ops_bad REC_UNUSED = {
	.arch_invalidate_secondary_tlbs = rec_arch_invalidate,
	.invalidate_range_start = rec_start,
};

/** rec_sub_init() - zero @sub and give it @ops, @id and @log. */
static inline void rec_sub_init(struct rec_sub *sub,
				const struct mmu_notifier_ops *ops, int id,
				struct rec_log *log)
{
	memset(sub, 0, sizeof(*sub));
	sub->mn.ops = ops;
	sub->id = id;
	sub->log = log;
}

/* ---------------------------------------------------------------------
 * mmu_notifier_get()/put() subscribers: allocated by the core's request
 */

/* Where get/put subscribers log, their next id, and how many were freed. */
static struct rec_log *rec_getput_log REC_UNUSED;
static int rec_getput_next_id REC_UNUSED = 100;
static int rec_getput_freed REC_UNUSED;
static rec_hook_t rec_getput_hook REC_UNUSED;

static inline struct mmu_notifier *rec_alloc_notifier(struct mm_struct *mm)
{
	struct rec_sub *sub = calloc(1, sizeof(*sub));

	(void)mm;
	if (!sub)
		return ERR_PTR(-ENOMEM);
	sub->id = __atomic_fetch_add(&rec_getput_next_id, 1, __ATOMIC_RELAXED);
	sub->log = rec_getput_log;
	sub->hook = rec_getput_hook;
	return &sub->mn;
}

/* Runs from an SRCU callback: no sleeping. */
static inline void rec_free_notifier(struct mmu_notifier *mn)
{
	struct rec_sub *sub = to_rec(mn);

	rec_note(sub, REC_FREE, 0, 0, NULL, 0);
	free(sub);
	__atomic_fetch_add(&rec_getput_freed, 1, __ATOMIC_RELEASE);
}

static const struct mmu_notifier_ops rec_getput_ops REC_UNUSED = {
	.release = rec_release,
	.clear_flush_young = rec_clear_flush_young,
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
	.alloc_notifier = rec_alloc_notifier,
	.free_notifier = rec_free_notifier,
};

/* ---------------------------------------------------------------------
 * Interval subscriber
 */

struct rec_isub;
typedef void (*rec_ihook_t)(struct rec_isub *isub,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq);

/**
 * struct rec_isub - a recording interval subscriber, driver-style: the
 * callback takes @user_lock (trylock when it may not sleep) and records
 * cur_seq under it.
 * @in: the subscription.
 * @id: id written to the log.
 * @log: where to log (NULL: count only).
 * @user_lock: the driver lock around set_seq and read_retry.
 * @refuse: return false (without set_seq) instead of invalidating.
 * @nr_invalidate: invalidations that reached the callback.
 * @hook: run under @user_lock after set_seq.
 * @priv: for the hook.
 */
struct rec_isub {
	struct mmu_interval_notifier in;
	int id;
	struct rec_log *log;
	struct mutex user_lock;
	bool refuse;
	atomic_t nr_invalidate;
	rec_ihook_t hook;
	void *priv;
};

static inline bool rec_invalidate(struct mmu_interval_notifier *in,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq)
{
	struct rec_isub *isub = container_of(in, struct rec_isub, in);
	struct rec_entry ent = {
		.id = isub->id, .cb = REC_INVALIDATE, .start = range->start,
		.end = range->end, .event = (int)range->event,
		.flags = range->flags, .seq = cur_seq, .owner = range->owner,
	};

	atomic_inc(&isub->nr_invalidate);
	rec_log_add(isub->log, ent);
	if (READ_ONCE(isub->refuse))
		return false;
	if (mmu_notifier_range_blockable(range))
		mutex_lock(&isub->user_lock);
	else if (!mutex_trylock(&isub->user_lock))
		return false;
	mmu_interval_set_seq(in, cur_seq);
	if (isub->hook)
		isub->hook(isub, range, cur_seq);
	mutex_unlock(&isub->user_lock);
	return true;
}

static const struct mmu_interval_notifier_ops rec_iops REC_UNUSED = {
	.invalidate = rec_invalidate,
};

/** rec_isub_init() - zero @isub and give it @id and @log. */
static inline void rec_isub_init(struct rec_isub *isub, int id,
				 struct rec_log *log)
{
	memset(isub, 0, sizeof(*isub));
	isub->id = id;
	isub->log = log;
	mutex_init(&isub->user_lock);
}

/* ---------------------------------------------------------------------
 * Primary-MMU side helpers and cross-task signalling
 */

/** rec_window() - one blockable start/end on [@start, @end) under the
 * mmap_lock, as a primary-MMU path would issue it. */
static inline void rec_window(struct mm_struct *mm, unsigned long start,
			      unsigned long end, enum mmu_notifier_event event)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, event, 0, mm, start, end);
	mmap_read_lock(mm);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(mm);
}

/** struct gate - a one-shot event one task waits for and another opens. */
struct gate {
	int open;
	wait_queue_head_t wq;
};

static inline void gate_init(struct gate *g)
{
	g->open = 0;
	init_waitqueue_head(&g->wq);
}

static inline void gate_open(struct gate *g)
{
	WRITE_ONCE(g->open, 1);
	wake_up_all(&g->wq);
}

static inline void gate_wait(struct gate *g)
{
	wait_event(g->wq, READ_ONCE(g->open));
}

static inline bool gate_is_open(struct gate *g)
{
	return READ_ONCE(g->open);
}

/**
 * gate_wait_ms() - wait up to @ms milliseconds for @g.  A test that
 * expects progress uses it so that a hang becomes a failure.
 * Return: true if @g opened.
 */
static inline bool gate_wait_ms(struct gate *g, unsigned int ms)
{
	for (unsigned int i = 0; i < ms; i++) {
		if (gate_is_open(g))
			return true;
		msleep(1);
	}
	return gate_is_open(g);
}

#endif /* MMULAB_TESTS_MN_RECORDER_H */
