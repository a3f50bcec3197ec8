/* SPDX-License-Identifier: MIT */
/*
 * A counting hlist subscriber: maps nothing, counts every callback it
 * receives and checks the core's bracketing guarantees as it goes.
 */
#ifndef MMULAB_TOOL_COUNTER_H
#define MMULAB_TOOL_COUNTER_H

#include <mmulab/mmu_notifier.h>

#include "report.h"

enum counter_callback {
	CNT_RELEASE,
	CNT_START,
	CNT_END,
	CNT_CLEAR_FLUSH_YOUNG,
	CNT_CLEAR_YOUNG,
	CNT_TEST_YOUNG,
	CNT_CHANGE_PTE,
	NR_CNT_CALLBACKS,
};

/**
 * struct counter - the subscriber.
 * @mn: the subscription.
 * @calls: callbacks received, per enum counter_callback.
 * @starts: invalidate_range_start received, per mmu_notifier_event.
 * @active: invalidation windows open right now.
 * @change_pte_bookended: change_pte calls that arrived inside a window
 *	(the 2012-2024 behaviour, seed 000).
 */
struct counter {
	struct mmu_notifier mn;
	atomic_long_t calls[NR_CNT_CALLBACKS];
	atomic_long_t starts[MMU_NOTIFY_NR_EVENTS];
	atomic_t active;
	atomic_long_t change_pte_bookended;
};

/** counter_register() - zero @c and subscribe it to @mm. */
int counter_register(struct counter *c, struct mm_struct *mm);

/** counter_unregister() - unsubscribe; the mm may have exited. */
void counter_unregister(struct counter *c, struct mm_struct *mm);

/** counter_calls() - callbacks of kind @cb received so far. */
unsigned long counter_calls(struct counter *c, enum counter_callback cb);

/** counter_callback_name() - "release", "invalidate_range_start", ... */
const char *counter_callback_name(enum counter_callback cb);

/** counter_starts() - starts received for @event so far. */
unsigned long counter_starts(struct counter *c,
			     enum mmu_notifier_event event);

/** counter_report() - add @c to @r as subscriber @name. */
void counter_report(struct counter *c, const char *name, struct report *r);

#endif /* MMULAB_TOOL_COUNTER_H */
