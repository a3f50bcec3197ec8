// SPDX-License-Identifier: MIT
/*
 * Page-table pages freed after a grace period (Linux's
 * MMU_GATHER_RCU_TABLE_FREE, tlb_remove_table()), so that a lockless
 * walker (GUP-fast, mm/gup.c) never follows an entry into a freed table.
 * The rest of mmu_gather (the page batches, the TLB flush) is in memory.c.
 *
 * A lockless walker marks its mm (MMF_LOCKLESS_WALK) once, then walks in a
 * read-side section of pt_free_srcu: the model of the IRQ-disabled walk of
 * Linux's gup_fast(), which holds off both the TLB-flush IPI and an
 * RCU-sched grace period.  Whoever unlinks tables (free_pgtables(), the
 * withdrawal of a deposited table that a collapse once had in the tree)
 * gathers them and, if the mm has had a lockless walker, frees them from
 * a call_srcu() callback, after a grace period (srcu_barrier() of any
 * domain, mmu_notifier_synchronize() among them, waits for it outside a
 * deterministic run; inside one the unlinking task waits itself).
 *
 * Model: Linux defers every table of such a kernel; here only those of an
 * mm that has been walked locklessly, so that every other run keeps its
 * schedules and gets its frames back before munmap or exit returns.  The
 * mark is set before the walker reads an entry and tested after the
 * unlinking stores with a full barrier between, so a walker that the test
 * misses started after the unlink and cannot see the table.  Linux's
 * collapse waits with tlb_remove_table_sync_one() before it deposits the
 * old table, which later is freed at once; here the deposit stays lockless
 * and the later free is the deferred one (pte_free_defer()), so that no
 * grace period is waited for under the mmap_lock.  A walker that
 * still reads the deposited table sees the entries the collapse cleared,
 * or, after a split refilled it, the same mapping it would see anyway.
 */
#include <stdlib.h>

#include <mmulab/sched.h>

#include "pgtable.h"

static struct srcu_struct pt_free_srcu_struct;

__attribute__((constructor)) static void pt_free_srcu_init(void)
{
	init_srcu_struct(&pt_free_srcu_struct);
}

struct srcu_struct *pt_free_srcu(void)
{
	return &pt_free_srcu_struct;
}

/* A gathered batch on its way through a grace period. */
struct pt_free_rcu {
	struct callback_head rcu;
	struct page *head;
};

void tlb_remove_table(struct pt_free_batch *batch, struct page *table)
{
	/* ->private links the batch: no lockless walker reads it. */
	table->private = (unsigned long)batch->head;
	batch->head = table;
}

static void free_table_list(struct page *table)
{
	while (table) {
		struct page *next = (struct page *)table->private;

		table->private = 0;
		free_pt_page(table);
		table = next;
	}
}

static void tlb_remove_table_rcu(struct callback_head *head)
{
	struct pt_free_rcu *b = container_of(head, struct pt_free_rcu, rcu);

	free_table_list(b->head);
	free(b);
}

void tlb_table_flush(struct mm_struct *mm, struct pt_free_batch *batch)
{
	struct pt_free_rcu *b;

	if (!batch->head)
		return;
	/* The unlinking stores before the test: see lockless_walk_begin(). */
	smp_mb();
	if (!mm_flag_test(mm, MMF_LOCKLESS_WALK)) {
		free_table_list(batch->head);
		batch->head = NULL;
		return;
	}
	b = det_active() ? NULL : malloc(sizeof(*b));
	if (!b) {
		/*
		 * tlb_remove_table_one(): no batch, so wait here.  Model: a
		 * deterministic run always waits here, where each domain has
		 * its own grace period and a lockless walker never blocks, so
		 * the wait cannot deadlock; the frames then come back within
		 * the run, as its checks expect.
		 */
		synchronize_srcu(pt_free_srcu());
		free_table_list(batch->head);
		batch->head = NULL;
		return;
	}
	b->head = batch->head;
	batch->head = NULL;
	call_srcu(pt_free_srcu(), &b->rcu, tlb_remove_table_rcu);
}

void pte_free_defer(struct mm_struct *mm, struct page *table)
{
	struct pt_free_batch batch = { NULL };

	tlb_remove_table(&batch, table);
	tlb_table_flush(mm, &batch);
}

int lockless_walk_begin(struct mm_struct *mm)
{
	/* Once per mm; the RMW is a full barrier (tlb_table_flush()). */
	if (!mm_flag_test(mm, MMF_LOCKLESS_WALK))
		mm_flag_set(mm, MMF_LOCKLESS_WALK);
	return srcu_read_lock(pt_free_srcu());
}

void lockless_walk_end(int idx)
{
	srcu_read_unlock(pt_free_srcu(), idx);
}

void pt_free_barrier(void)
{
	srcu_barrier(pt_free_srcu());
}
