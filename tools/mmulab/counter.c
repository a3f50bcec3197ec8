// SPDX-License-Identifier: MIT
/*
 * The counting subscriber.
 *
 * It holds no secondary mappings, so its only duty to the core is to
 * answer the aging queries ("nothing young here").  What it adds is
 * observation: per-callback and per-event counts for the report, and
 * WARN_ON()s for what the core promises never to do (an end without its
 * start, a callback for another mm, an empty range).
 */
#include <string.h>

#include "counter.h"

static const char *const counter_names[NR_CNT_CALLBACKS] = {
	[CNT_RELEASE] = "release",
	[CNT_START] = "invalidate_range_start",
	[CNT_END] = "invalidate_range_end",
	[CNT_CLEAR_FLUSH_YOUNG] = "clear_flush_young",
	[CNT_CLEAR_YOUNG] = "clear_young",
	[CNT_TEST_YOUNG] = "test_young",
	[CNT_CHANGE_PTE] = "change_pte",
};

static struct counter *to_counter(struct mmu_notifier *mn)
{
	return container_of(mn, struct counter, mn);
}

static void counter_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct counter *c = to_counter(mn);

	WARN_ON(mm != mn->mm);
	atomic_long_inc(&c->calls[CNT_RELEASE]);
}

static int counter_start(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	struct counter *c = to_counter(mn);

	WARN_ON(range->mm != mn->mm || range->start >= range->end);
	if (!WARN_ON((unsigned int)range->event >= MMU_NOTIFY_NR_EVENTS))
		atomic_long_inc(&c->starts[range->event]);
	atomic_inc(&c->active);
	atomic_long_inc(&c->calls[CNT_START]);
	return 0;
}

static void counter_end(struct mmu_notifier *mn,
			const struct mmu_notifier_range *range)
{
	struct counter *c = to_counter(mn);

	(void)range;
	/* The core never delivers an end whose start this subscriber missed. */
	WARN_ON(atomic_dec_return(&c->active) < 0);
	atomic_long_inc(&c->calls[CNT_END]);
}

static int counter_clear_flush_young(struct mmu_notifier *mn,
				     struct mm_struct *mm, unsigned long start,
				     unsigned long end)
{
	(void)mm;
	WARN_ON(start >= end);
	atomic_long_inc(&to_counter(mn)->calls[CNT_CLEAR_FLUSH_YOUNG]);
	return 0;
}

static int counter_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long start, unsigned long end)
{
	(void)mm;
	WARN_ON(start >= end);
	atomic_long_inc(&to_counter(mn)->calls[CNT_CLEAR_YOUNG]);
	return 0;
}

static int counter_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long address)
{
	(void)mm;
	(void)address;
	atomic_long_inc(&to_counter(mn)->calls[CNT_TEST_YOUNG]);
	return 0;
}

static void counter_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long address, pte_t pte)
{
	struct counter *c = to_counter(mn);

	(void)mm;
	(void)address;
	(void)pte;
	if (atomic_read(&c->active))
		atomic_long_inc(&c->change_pte_bookended);
	atomic_long_inc(&c->calls[CNT_CHANGE_PTE]);
}

static const struct mmu_notifier_ops counter_ops = {
	.release = counter_release,
	.clear_flush_young = counter_clear_flush_young,
	.clear_young = counter_clear_young,
	.test_young = counter_test_young,
	.change_pte = counter_change_pte,
	.invalidate_range_start = counter_start,
	.invalidate_range_end = counter_end,
};

int counter_register(struct counter *c, struct mm_struct *mm)
{
	memset(c, 0, sizeof(*c));
	c->mn.ops = &counter_ops;
	return mmu_notifier_register(&c->mn, mm);
}

void counter_unregister(struct counter *c, struct mm_struct *mm)
{
	mmu_notifier_unregister(&c->mn, mm);
	WARN_ON(atomic_read(&c->active));
}

unsigned long counter_calls(struct counter *c, enum counter_callback cb)
{
	return atomic_long_read(&c->calls[cb]);
}

const char *counter_callback_name(enum counter_callback cb)
{
	return (unsigned int)cb < NR_CNT_CALLBACKS ? counter_names[cb] : "?";
}

unsigned long counter_starts(struct counter *c, enum mmu_notifier_event event)
{
	return atomic_long_read(&c->starts[event]);
}

void counter_report(struct counter *c, const char *name, struct report *r)
{
	struct report_sub *s = report_add_sub(r, name, "mmu_notifier");

	if (!s)
		return;
	for (unsigned int i = 0; i < NR_CNT_CALLBACKS; i++)
		report_sub_count(s, counter_callback_name(i),
				 counter_calls(c, i));
	report_sub_count(s, "change_pte_bookended",
			 atomic_long_read(&c->change_pte_bookended));
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		s->by_event[e] = counter_starts(c, e);
}
