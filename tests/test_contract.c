// SPDX-License-Identifier: MIT
/*
 * The notifier contract, checked directly: INV-6 (a subscriber still maps
 * something after its start, invalidate, release or removal returned),
 * INV-7 (a primary PTE removed or downgraded outside an invalidation the
 * task opened), INV-8 (a TLB translation used after a flush that covers
 * it returned), INV-14 (a frame freed before the primary TLB flush of a
 * PTE that mapped it), and the report's history frozen at the violation.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/checker.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/mutant.h>
#include "mm/internal.h"
#include "mm/pgtable.h"

#define RW (PROT_READ | PROT_WRITE)

/* A fake secondary: one mapped address, dropped or not by its callbacks. */
struct fake {
	struct mmu_notifier mn;
	struct mmu_interval_notifier mni;
	struct checker_secondary cs;
	unsigned long mapped; /* 0: nothing */
	bool drops;	      /* its callbacks drop the mapping */
};

static bool fake_query(struct checker_secondary *cs, struct mm_struct *mm,
		       unsigned long start, unsigned long end,
		       struct checker_mapping *out)
{
	struct fake *f = container_of(cs, struct fake, cs);
	unsigned long a = checker_peek(f->mapped);

	(void)mm;
	if (!a || a < start || a >= end)
		return false;
	out->addr = a;
	snprintf(out->what, sizeof(out->what), "its entry");
	return true;
}

static void fake_sweep(struct checker_secondary *cs, struct host *host)
{
	(void)cs;
	(void)host;
}

static void fake_drop(struct fake *f, unsigned long start, unsigned long end)
{
	if (f->drops && f->mapped >= start && f->mapped < end)
		checker_poke(f->mapped, 0UL);
}

static int fake_start(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	struct fake *f = container_of(mn, struct fake, mn);

	if (!mmu_notifier_range_blockable(range))
		return -EAGAIN; /* would have to sleep */
	fake_drop(f, range->start, range->end);
	return 0;
}

static void fake_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	fake_drop(container_of(mn, struct fake, mn), 0, ~0UL);
}

static const struct mmu_notifier_ops fake_ops = {
	.invalidate_range_start = fake_start,
	.release = fake_release,
};

static bool fake_invalidate(struct mmu_interval_notifier *mni,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	mmu_interval_set_seq(mni, cur_seq);
	fake_drop(container_of(mni, struct fake, mni), range->start,
		  range->end);
	return true;
}

static const struct mmu_interval_notifier_ops fake_iops = {
	.invalidate = fake_invalidate,
};

struct world {
	struct host *host;
	struct mm_struct *mm;
	unsigned long base;
	struct fake fake;
};

static struct world *world_new(enum change_pte_mode mode)
{
	struct host_config cfg = { .nr_frames = 128,
				   .content = HOST_CONTENT_DATA,
				   .change_pte = mode };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->host = host_create(&cfg);
	assert_false(IS_ERR(w->host));
	assert_int_equal(checker_attach(w->host), 0);
	w->mm = mm_alloc(w->host);
	assert_false(IS_ERR(w->mm));
	w->base = vm_mmap(w->mm, 0, 4 * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	for (int p = 0; p < 4; p++)
		assert_int_equal(cpu_write_u64(w->mm, w->base + p * PAGE_SIZE,
					       p + 1),
				 0);
	w->fake.cs.name = "fake";
	w->fake.cs.sweep = fake_sweep;
	w->fake.cs.mapped = fake_query;
	checker_register_secondary(w->host, &w->fake.cs);
	return w;
}

static void hlist_subscribe(struct world *w, bool drops)
{
	w->fake.drops = drops;
	w->fake.mn.ops = &fake_ops;
	checker_watch_notifier(&w->fake.cs, &w->fake.mn);
	assert_int_equal(mmu_notifier_register(&w->fake.mn, w->mm), 0);
	w->fake.mapped = w->base + PAGE_SIZE;
}

static void world_free(struct world *w, bool hlist)
{
	if (w->mm) {
		if (hlist)
			mmu_notifier_unregister(&w->fake.mn, w->mm);
		mmput(w->mm);
	}
	mmu_notifier_synchronize();
	checker_unregister_secondary(w->host, &w->fake.cs);
	checker_detach(w->host);
	host_destroy(w->host);
	free(w);
}

static void assert_violation(struct world *w, enum checker_inv inv,
			     const char *detail)
{
	const struct checker_violation *v = checker_first(w->host);

	assert_non_null(v);
	assert_int_equal(v->inv, inv);
	if (detail && !strstr(v->detail, detail))
		fail_msg("'%s' lacks '%s'", v->detail, detail);
}

static void test_start_leaves_mapping(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	hlist_subscribe(w, false);
	do_madvise(w->mm, w->base, 4 * PAGE_SIZE, MADV_DONTNEED);
	assert_violation(w, INV_MAPPED_AFTER_START,
			 "after its invalidate_range_start");
	assert_int_equal(checker_first(w->host)->addr, w->base + PAGE_SIZE);
	world_free(w, true);
}

static void test_start_drops_mapping(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	hlist_subscribe(w, true);
	do_madvise(w->mm, w->base, 4 * PAGE_SIZE, MADV_DONTNEED);
	do_mprotect(w->mm, w->base, 4 * PAGE_SIZE, PROT_READ);
	assert_int_equal(checker_violations(w->host), 0);
	world_free(w, true);
}

/* A non-blockable start may refuse; the refusing subscriber is not asked. */
static void test_nonblock_refusal_not_asked(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);
	struct mmu_notifier_range r;

	(void)state;
	hlist_subscribe(w, true);
	mmu_notifier_range_init(&r, MMU_NOTIFY_UNMAP, 0, w->mm, w->base,
				w->base + 4 * PAGE_SIZE);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&r),
			 -EAGAIN);
	assert_int_equal(checker_violations(w->host), 0);
	world_free(w, true);
}

static void test_release_leaves_mapping(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	hlist_subscribe(w, false);
	mmput(w->mm); /* exit: release */
	assert_violation(w, INV_MAPPED_AFTER_START, "after its release");
	mmu_notifier_unregister(&w->fake.mn, w->mm);
	w->mm = NULL;
	world_free(w, false);
}

static void interval_subscribe(struct world *w, bool drops)
{
	w->fake.drops = drops;
	checker_watch_interval(&w->fake.cs, &w->fake.mni);
	assert_int_equal(mmu_interval_notifier_insert(&w->fake.mni, w->mm,
						      w->base, 2 * PAGE_SIZE,
						      &fake_iops),
			 0);
	w->fake.mapped = w->base + PAGE_SIZE;
}

static void test_interval_invalidate_leaves_mapping(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);
	char want[64];

	(void)state;
	interval_subscribe(w, false);
	do_madvise(w->mm, w->base, 4 * PAGE_SIZE, MADV_DONTNEED);
	/* Asked about the intersection with its interval only. */
	snprintf(want, sizeof(want), "invalidate for [%#lx, %#lx)", w->base,
		 w->base + 2 * PAGE_SIZE);
	assert_violation(w, INV_MAPPED_AFTER_START, want);
	mmu_interval_notifier_remove(&w->fake.mni);
	world_free(w, false);
}

static void test_interval_remove_leaves_mapping(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	interval_subscribe(w, true);
	do_madvise(w->mm, w->base, 4 * PAGE_SIZE, MADV_DONTNEED);
	assert_int_equal(checker_violations(w->host), 0);
	checker_poke(w->fake.mapped, w->base); /* mapped again */
	mmu_interval_notifier_remove(&w->fake.mni);
	assert_violation(w, INV_MAPPED_AFTER_START,
			 "after its mmu_interval_notifier_remove");
	world_free(w, false);
}

static void test_unnotified_pte(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	hlist_subscribe(w, true);
	mutant_set(MUTANT_PRIMARY_NO_NOTIFIER);
	do_mprotect(w->mm, w->base, 4 * PAGE_SIZE, PROT_READ);
	mutant_set(MUTANT_NONE);
	assert_violation(w, INV_UNNOTIFIED_PTE, "to read-only");
	assert_int_equal(checker_first(w->host)->addr, w->base);
	world_free(w, true);
}

/* Without subscribers, or for accessed bits, nothing is owed. */
static void test_unnotified_pte_exceptions(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	mutant_set(MUTANT_PRIMARY_NO_NOTIFIER);
	do_mprotect(w->mm, w->base, 4 * PAGE_SIZE, PROT_READ);
	mutant_set(MUTANT_NONE);
	assert_int_equal(checker_violations(w->host), 0);
	do_mprotect(w->mm, w->base, 4 * PAGE_SIZE, RW);
	hlist_subscribe(w, true);
	do_madvise(w->mm, w->base, 4 * PAGE_SIZE, MADV_COLD);
	assert_int_equal(checker_violations(w->host), 0);
	world_free(w, true);
}

/* The 2009-2012 COW re-pointed the PTE with change_pte alone. */
static void test_change_pte_direct_exempt(void **state)
{
	struct world *w = world_new(CHANGE_PTE_DIRECT);
	struct mm_struct *child;

	(void)state;
	hlist_subscribe(w, true);
	child = dup_mm(w->mm);
	assert_false(IS_ERR(child));
	assert_int_equal(cpu_write_u64(w->mm, w->base, 42), 0); /* COW */
	mmput(child);
	assert_int_equal(checker_violations(w->host), 0);
	world_free(w, true);
}

static void test_tlb_flush_rule(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);
	struct checker_secondary *cs = &w->fake.cs;
	unsigned long before = checker_tlb_stamp(cs), req, after;

	(void)state;
	req = checker_tlb_flush_begin(cs);
	after = checker_tlb_stamp(cs);
	/* Until the flush returns, the old translation may still be used. */
	assert_true(checker_tlb_check(cs, before, 3, w->base, ~0ULL));
	checker_tlb_flush_end(cs, req);
	assert_true(checker_tlb_check(cs, after, 3, w->base, ~0ULL));
	assert_int_equal(checker_violations(w->host), 0);
	assert_false(checker_tlb_check(cs, before, 3, w->base, ~0ULL));
	assert_violation(w, INV_STALE_TLB, "walked before TLB flush request");
	world_free(w, false);
}

/*
 * A primary operation of the test's own: clear the PTE of the second page
 * inside its invalidation (INV-7 holds), flush [@flush_start, +@flush_len)
 * if @flush_len, then drop the mapping's reference, which frees the frame.
 */
static void clear_and_free(struct world *w, unsigned long flush_start,
			   unsigned long flush_len)
{
	unsigned long addr = w->base + PAGE_SIZE;
	struct mmu_notifier_range range;
	struct page *page;
	spinlock_t *ptl;
	pte_t *pte;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, w->mm, addr,
				addr + PAGE_SIZE);
	mmap_read_lock(w->mm);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(w->mm, addr, &ptl);
	assert_non_null(pte);
	page = pfn_to_page(w->host, pte_pfn(ptep_get(pte)));
	set_pte_at(w->mm, addr, pte, __pte(0));
	dec_mm_counter(w->mm, MM_ANONPAGES);
	page_remove_rmap(page);
	spin_unlock(ptl);
	if (flush_len)
		flush_tlb_range(w->mm, flush_start, flush_start + flush_len);
	put_page(page);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(w->mm);
}

/* INV-14: the frame goes back only after the TLB flush of its PTE. */
static void test_unflushed_free(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);

	(void)state;
	clear_and_free(w, w->base, 4 * PAGE_SIZE);
	assert_int_equal(checker_violations(w->host), 0);
	world_free(w, false);

	/* A flush of the neighbouring pages does not cover it. */
	w = world_new(CHANGE_PTE_NONE);
	clear_and_free(w, w->base + 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	assert_violation(w, INV_UNFLUSHED_FREE, "before the TLB flush");
	assert_int_equal(checker_first(w->host)->addr, w->base + PAGE_SIZE);
	world_free(w, false);

	w = world_new(CHANGE_PTE_NONE);
	clear_and_free(w, 0, 0);
	assert_violation(w, INV_UNFLUSHED_FREE, "before the TLB flush");
	world_free(w, false);
}

/* The report shows the history at the violation, the violation marked. */
static void test_history_at_violation(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);
	char buf[4096] = "";
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_non_null(out);
	checker_secondary_map(w->host, 5, w->base, 1);
	checker_fail(w->host, INV_DATA, 5, w->base, ~0ULL, NULL, "bad");
	checker_secondary_map(w->host, 5, w->base, -1);
	checker_report(w->host, out);
	fclose(out);
	assert_non_null(strstr(buf, "secondary map"));
	assert_null(strstr(buf, "secondary unmap"));
	assert_non_null(strstr(buf, ">> #2 task"));
	assert_non_null(strstr(buf, "VIOLATION INV-5 data"));
	world_free(w, false);
}

/*
 * checker_park_sweep() reads what the workers wrote before they parked.
 * The park's handshake must order each worker's writes before the sweep's
 * reads with nothing else to help it: here each worker stores a plain
 * word of its own and the sweep reads them all, on real threads, so that
 * ThreadSanitizer reports the pair if the count is ever incremented or
 * read without ordering.
 */
#define PARK_WORKERS 2
#define PARK_SWEEPS 300

struct park_world {
	struct checker_park park;
	struct checker_secondary cs;
	unsigned long word[PARK_WORKERS];
	unsigned long seen;
	int stop;
};

struct park_worker {
	struct park_world *pw;
	int id;
};

static void park_sweep_reads(struct checker_secondary *cs, struct host *host)
{
	struct park_world *pw = container_of(cs, struct park_world, cs);

	(void)host;
	for (int i = 0; i < PARK_WORKERS; i++)
		pw->seen += pw->word[i]; /* plain: the park orders it */
}

static int park_worker_fn(void *arg)
{
	struct park_worker *pk = arg;
	struct park_world *pw = pk->pw;

	while (!READ_ONCE(pw->stop)) {
		pw->word[pk->id]++; /* plain: only this worker writes it */
		checker_park_point(&pw->park);
	}
	checker_park_leave(&pw->park);
	return 0;
}

static void test_park_orders_worker_writes(void **state)
{
	struct world *w = world_new(CHANGE_PTE_NONE);
	struct park_worker pk[PARK_WORKERS];
	struct task_struct *t[PARK_WORKERS];
	struct park_world *pw = calloc(1, sizeof(*pw));

	(void)state;
	assert_non_null(pw);
	checker_park_init(&pw->park, PARK_WORKERS);
	pw->cs.name = "park";
	pw->cs.sweep = park_sweep_reads;
	checker_register_secondary(w->host, &pw->cs);
	for (int i = 0; i < PARK_WORKERS; i++) {
		pk[i] = (struct park_worker){ .pw = pw, .id = i };
		t[i] = kthread_run(park_worker_fn, &pk[i], "park");
	}
	for (int s = 0; s < PARK_SWEEPS; s++)
		assert_int_equal(checker_park_sweep(&pw->park, w->host), 0);
	WRITE_ONCE(pw->stop, 1);
	for (int i = 0; i < PARK_WORKERS; i++)
		kthread_stop(t[i]);
	assert_true(pw->seen > 0);
	checker_unregister_secondary(w->host, &pw->cs);
	free(pw);
	world_free(w, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_leaves_mapping),
		cmocka_unit_test(test_start_drops_mapping),
		cmocka_unit_test(test_nonblock_refusal_not_asked),
		cmocka_unit_test(test_release_leaves_mapping),
		cmocka_unit_test(test_interval_invalidate_leaves_mapping),
		cmocka_unit_test(test_interval_remove_leaves_mapping),
		cmocka_unit_test(test_unnotified_pte),
		cmocka_unit_test(test_unnotified_pte_exceptions),
		cmocka_unit_test(test_change_pte_direct_exempt),
		cmocka_unit_test(test_tlb_flush_rule),
		cmocka_unit_test(test_unflushed_free),
		cmocka_unit_test(test_history_at_violation),
		cmocka_unit_test(test_park_orders_worker_writes),
	};

	warn_set_quiet(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
