// SPDX-License-Identifier: MIT
/*
 * The GRU-style TLB-only secondary MMU: a miss is a fault through GUP, the
 * TLB is set-associative, invalidate_range_start flushes the range (the
 * checker's INV-6 asks right after it returns), a fill racing an
 * invalidation is dropped (and kept, and caught, by the
 * gru-fill-no-recheck mutant), and release unbinds the context.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/checker.h>
#include <mmulab/gru.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/mutant.h>
#include <mmulab/sched.h>
#include "mm/internal.h"
#include "driver_fixture.h"

#define RW (PROT_READ | PROT_WRITE)
#define NPAGES 4

struct world {
	struct host *host;
	struct mm_struct *mm;
	unsigned long base;
	struct gru_thread_state *gts;
	int stop;
};

static void world_init(struct world *w, unsigned int sets, unsigned int ways)
{
	memset(w, 0, sizeof(*w));
	w->host = driver_host();
	w->mm = mm_alloc(w->host);
	assert_false(IS_ERR(w->mm));
	w->base = vm_mmap(w->mm, 0, NPAGES * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)w->base > 0);
	for (unsigned int p = 0; p < NPAGES; p++)
		assert_int_equal(cpu_write_u64(w->mm, w->base + p * PAGE_SIZE,
					       checker_value(p, 1)),
				 0);
	w->gts = gru_alloc_gts(w->mm, sets, ways, "gru");
	assert_false(IS_ERR(w->gts));
}

/* Tear down; every frame must come back (the TLB holds no reference). */
static void world_fini(struct world *w)
{
	gru_free_gts(w->gts);
	if (w->mm)
		mmput(w->mm);
	driver_host_destroy(w->host);
}

static void test_bad_arguments(void **state)
{
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, 2, 2);
	assert_ptr_equal(gru_alloc_gts(w.mm, 0, 1, NULL), ERR_PTR(-EINVAL));
	assert_ptr_equal(gru_alloc_gts(w.mm, 1, GRU_MAX_TLB_WAYS + 1, NULL),
			 ERR_PTR(-EINVAL));
	assert_ptr_equal(gru_alloc_gts(NULL, 1, 1, NULL), ERR_PTR(-EINVAL));
	assert_int_equal(gru_read_u64(w.gts, w.base + 3, &v), -EINVAL);
	assert_int_equal(gru_read_u64(w.gts, w.base, NULL), -EINVAL);
	/* Nothing mapped there: the fault's GUP refuses. */
	assert_int_equal(gru_read_u64(w.gts, w.base + 64 * PAGE_SIZE, &v),
			 -EFAULT);
	world_fini(&w);
}

/* A miss faults through GUP and fills; the next access hits. */
static void test_fault_fills_then_hits(void **state)
{
	struct gru_stat st;
	struct world w;
	u64 v = 0;

	(void)state;
	world_init(&w, 2, 2);
	assert_int_equal(gru_read_u64(w.gts, w.base + PAGE_SIZE, &v), 0);
	assert_int_equal(v, checker_value(1, 1));
	assert_int_equal(gru_read_u64(w.gts, w.base + PAGE_SIZE, &v), 0);
	gru_get_stat(w.gts, &st);
	assert_int_equal(st.accesses, 2);
	assert_int_equal(st.tlb_faults, 1);
	assert_int_equal(st.fills, 1);
	assert_int_equal(st.tlb_hits, 1);
	assert_int_equal(gru_tlb_valid(w.gts), 1);
	assert_int_equal(checker_violations(w.host), 0);
	assert_int_equal(checker_sweep(w.host), 0);
	world_fini(&w);
}

/* A device store after fork breaks COW through the write fault. */
static void test_write_fault_breaks_cow(void **state)
{
	struct mm_struct *child;
	struct gru_stat st;
	struct world w;
	u64 v = 0;

	(void)state;
	world_init(&w, 2, 2);
	assert_int_equal(gru_read_u64(w.gts, w.base, &v), 0);
	child = dup_mm(w.mm);
	assert_false(IS_ERR(child));
	assert_int_equal(gru_write_u64(w.gts, w.base, checker_value(0, 7)), 0);
	assert_int_equal(cpu_read_u64(w.mm, w.base, &v), 0);
	assert_int_equal(v, checker_value(0, 7));
	assert_int_equal(cpu_read_u64(child, w.base, &v), 0);
	assert_int_equal(v, checker_value(0, 1));
	gru_get_stat(w.gts, &st);
	assert_int_equal(st.tlb_faults, 2); /* read miss, write on read-only */
	assert_int_equal(checker_sweep(w.host), 0);
	mmput(child);
	world_fini(&w);
}

/* One set of two ways: the third page evicts one of the first two. */
static void test_set_associative_eviction(void **state)
{
	struct gru_stat st;
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, 1, 2);
	for (unsigned int p = 0; p < 3; p++)
		assert_int_equal(gru_read_u64(w.gts, w.base + p * PAGE_SIZE, &v),
				 0);
	gru_get_stat(w.gts, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(gru_tlb_valid(w.gts), 2);
	world_fini(&w);
}

/*
 * munmap, MADV_DONTNEED and mprotect flush the range in
 * invalidate_range_start: the checker asks right after it returns (INV-6)
 * and finds nothing; entries outside the range survive and stay usable.
 */
static void test_flush_at_start(void **state)
{
	struct gru_stat st;
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, 4, 2);
	for (unsigned int p = 0; p < NPAGES; p++)
		assert_int_equal(gru_read_u64(w.gts, w.base + p * PAGE_SIZE, &v),
				 0);
	assert_int_equal(gru_tlb_valid(w.gts), NPAGES);
	assert_int_equal(vm_munmap(w.mm, w.base, PAGE_SIZE), 0);
	assert_int_equal(gru_tlb_valid(w.gts), NPAGES - 1);
	assert_int_equal(do_madvise(w.mm, w.base + PAGE_SIZE, PAGE_SIZE,
				    MADV_DONTNEED),
			 0);
	assert_int_equal(do_mprotect(w.mm, w.base + 2 * PAGE_SIZE, PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(gru_tlb_valid(w.gts), NPAGES - 3);
	gru_get_stat(w.gts, &st);
	assert_int_equal(st.flushed, 3);
	assert_true(st.invalidations >= 3);
	/* The survivor is used after three flushes: INV-8 stays quiet. */
	assert_int_equal(gru_read_u64(w.gts, w.base + 3 * PAGE_SIZE, &v), 0);
	assert_int_equal(v, checker_value(3, 1));
	assert_int_equal(gru_read_u64(w.gts, w.base, &v), -EFAULT);
	assert_int_equal(checker_violations(w.host), 0);
	assert_int_equal(checker_sweep(w.host), 0);
	world_fini(&w);
}

/* The mm exits: release flushes and unbinds; the device then faults. */
static void test_release_unbinds(void **state)
{
	struct gru_stat st;
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, 2, 2);
	assert_int_equal(gru_read_u64(w.gts, w.base, &v), 0);
	mmput(w.mm);
	w.mm = NULL;
	assert_int_equal(gru_tlb_valid(w.gts), 0);
	gru_get_stat(w.gts, &st);
	assert_int_equal(st.released, 1);
	assert_int_equal(gru_read_u64(w.gts, w.base, &v), -EFAULT);
	assert_int_equal(checker_violations(w.host), 0);
	world_fini(&w);
}

/* ---------------------------------------------------------------------
 * A fill racing an invalidation, under the deterministic scheduler
 */

static int device_task(void *arg)
{
	struct world *w = arg;
	u64 v;

	for (int i = 0; i < 24 && !checker_violations(w->host); i++)
		gru_read_u64(w->gts, w->base + (i % NPAGES) * PAGE_SIZE, &v);
	return 0;
}

static int host_task(void *arg)
{
	struct world *w = arg;

	for (int i = 0; i < 8 && !checker_violations(w->host); i++) {
		unsigned long a = w->base + (i % NPAGES) * PAGE_SIZE;

		vm_mmap(w->mm, a, PAGE_SIZE, RW,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		cpu_write_u64(w->mm, a, checker_value(i % NPAGES, i));
	}
	return 0;
}

/* Run one seed; return the fills dropped, *@violations what was found. */
static unsigned long race_once(u64 seed, unsigned long *violations)
{
	struct det_config dc = { .seed = seed,
				 .strategy = DET_STRATEGY_RANDOM };
	struct task_struct *t[2];
	struct det_result res;
	struct gru_stat st;
	struct world w;

	world_init(&w, 2, 2);
	assert_int_equal(det_begin(&dc), 0);
	t[0] = kthread_run(device_task, &w, "gru");
	t[1] = kthread_run(host_task, &w, "host");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	det_end(&res);
	if (!checker_violations(w.host))
		checker_sweep(w.host);
	*violations = checker_violations(w.host);
	gru_get_stat(w.gts, &st);
	if (*violations) { /* the broken fill left a frame mapped */
		gru_free_gts(w.gts);
		w.gts = NULL;
		warn_set_quiet(true);
	}
	world_fini(&w);
	warn_set_quiet(false);
	return st.fills_dropped;
}

/* The real fault drops racing fills and stays coherent. */
static void test_racing_fill_dropped(void **state)
{
	unsigned long dropped = 0, bad;

	(void)state;
	for (u64 seed = 1; seed <= 60; seed++) {
		dropped += race_once(seed, &bad);
		assert_int_equal(bad, 0);
	}
	assert_true(dropped > 0);
}

/* Without the re-check the racing fill is kept, and the checker sees it. */
static void test_fill_no_recheck_caught(void **state)
{
	unsigned long bad = 0;
	u64 seed;

	(void)state;
	mutant_set(MUTANT_GRU_FILL_NO_RECHECK);
	for (seed = 1; seed <= 200 && !bad; seed++)
		race_once(seed, &bad);
	mutant_set(MUTANT_NONE);
	assert_true(bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_fault_fills_then_hits),
		cmocka_unit_test(test_write_fault_breaks_cow),
		cmocka_unit_test(test_set_associative_eviction),
		cmocka_unit_test(test_flush_at_start),
		cmocka_unit_test(test_release_unbinds),
		cmocka_unit_test(test_racing_fill_dropped),
		cmocka_unit_test(test_fill_no_recheck_caught),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
