// SPDX-License-Identifier: MIT
/*
 * The XPMEM-style export/attach: an importer reaches the exporter's pages
 * through remote faults; the exporter's invalidations wait for every
 * importer's service task to drop and acknowledge (INV-6 asks right after
 * start returns); the end-only variant and an importer acknowledging
 * before it drops are caught; release detaches everyone.
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
#include <mmulab/sched.h>
#include <mmulab/xpmem.h>
#include "mm/internal.h"
#include "driver_fixture.h"

#define RW (PROT_READ | PROT_WRITE)
#define NPAGES 4

struct world {
	struct host *host;
	struct mm_struct *exp, *imp;
	unsigned long base;
	struct xpmem_segment *seg;
	struct xpmem_attachment *att;
};

static void world_init(struct world *w, enum xpmem_variant v, bool attach)
{
	memset(w, 0, sizeof(*w));
	w->host = driver_host();
	w->exp = mm_alloc(w->host);
	w->imp = mm_alloc(w->host);
	assert_false(IS_ERR(w->exp) || IS_ERR(w->imp));
	w->base = vm_mmap(w->exp, 0, NPAGES * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)w->base > 0);
	for (unsigned int p = 0; p < NPAGES; p++)
		assert_int_equal(cpu_write_u64(w->exp, w->base + p * PAGE_SIZE,
					       checker_value(p, 1)),
				 0);
	w->seg = xpmem_make(w->exp, w->base, NPAGES * PAGE_SIZE, v);
	assert_false(IS_ERR(w->seg));
	if (attach) {
		w->att = xpmem_attach(w->seg, w->imp);
		assert_false(IS_ERR(w->att));
	}
}

/* Tear down; every frame comes back (importers hold no reference). */
static void world_fini(struct world *w)
{
	xpmem_remove(w->seg);
	if (w->exp)
		mmput(w->exp);
	mmput(w->imp);
	driver_host_destroy(w->host);
}

static void test_bad_arguments(void **state)
{
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, XPMEM_INVAL_START, true);
	assert_ptr_equal(xpmem_make(w.exp, w.base + 1, PAGE_SIZE,
				    XPMEM_INVAL_START),
			 ERR_PTR(-EINVAL));
	assert_ptr_equal(xpmem_make(w.exp, w.base, 0, XPMEM_INVAL_START),
			 ERR_PTR(-EINVAL));
	assert_ptr_equal(xpmem_make(w.exp, w.base, PAGE_SIZE, 7),
			 ERR_PTR(-EINVAL));
	assert_ptr_equal(xpmem_attach(w.seg, NULL), ERR_PTR(-EINVAL));
	assert_int_equal(xpmem_read_u64(w.att, 3, &v), -EINVAL);
	assert_int_equal(xpmem_read_u64(w.att, NPAGES * PAGE_SIZE, &v),
			 -EINVAL);
	world_fini(&w);
}

/* Remote faults go through the exporter's GUP; stores reach its pages. */
static void test_attach_reads_and_writes(void **state)
{
	struct xpmem_stat st;
	struct world w;
	u64 v = 0;

	(void)state;
	world_init(&w, XPMEM_INVAL_START, true);
	assert_int_equal(xpmem_read_u64(w.att, PAGE_SIZE, &v), 0);
	assert_int_equal(v, checker_value(1, 1));
	assert_int_equal(xpmem_write_u64(w.att, 2 * PAGE_SIZE + 8, 77), 0);
	assert_int_equal(cpu_read_u64(w.exp, w.base + 2 * PAGE_SIZE + 8, &v),
			 0);
	assert_int_equal(v, 77);
	xpmem_get_stat(w.seg, &st);
	assert_int_equal(st.attaches, 1);
	assert_int_equal(st.accesses, 2);
	assert_int_equal(st.faults, 2);
	assert_int_equal(checker_sweep(w.host), 0);
	world_fini(&w);
}

/*
 * munmap and mprotect in the exporter: start sends a message to the
 * importer's service task and sleeps until it acknowledged; the checker
 * asks right after start returns and finds nothing mapped.
 */
static void test_invalidate_waits_for_ack(void **state)
{
	struct xpmem_stat st;
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, XPMEM_INVAL_START, true);
	for (unsigned int p = 0; p < NPAGES; p++)
		assert_int_equal(xpmem_write_u64(w.att, p * PAGE_SIZE, p), 0);
	assert_int_equal(do_mprotect(w.exp, w.base, PAGE_SIZE, PROT_READ), 0);
	assert_int_equal(vm_munmap(w.exp, w.base + PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(checker_violations(w.host), 0);
	xpmem_get_stat(w.seg, &st);
	assert_true(st.messages >= 2);
	assert_int_equal(st.acks, st.messages);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(xpmem_read_u64(w.att, PAGE_SIZE, &v), -EFAULT);
	assert_int_equal(xpmem_write_u64(w.att, 0, 1), -EFAULT);
	assert_int_equal(xpmem_read_u64(w.att, 0, &v), 0);
	assert_int_equal(checker_sweep(w.host), 0);
	world_fini(&w);
}

/* Upstream's end-only variant: the first covering zap is caught. */
static void test_end_only_caught(void **state)
{
	const struct checker_violation *v;
	struct world w;
	u64 val;

	(void)state;
	world_init(&w, XPMEM_INVAL_END_ONLY, true);
	assert_int_equal(xpmem_read_u64(w.att, 0, &val), 0);
	warn_set_quiet(true);
	assert_int_equal(do_madvise(w.exp, w.base, PAGE_SIZE, MADV_DONTNEED),
			 0);
	warn_set_quiet(false);
	v = checker_first(w.host);
	assert_non_null(v);
	assert_int_equal(v->inv, INV_MAPPED_AFTER_START);
	world_fini(&w);
}

/* The exporter exits: release detaches the importer. */
static void test_release_detaches(void **state)
{
	struct xpmem_stat st;
	struct world w;
	u64 v;

	(void)state;
	world_init(&w, XPMEM_INVAL_START, true);
	assert_int_equal(xpmem_read_u64(w.att, 0, &v), 0);
	mmput(w.exp);
	w.exp = NULL;
	xpmem_get_stat(w.seg, &st);
	assert_int_equal(st.released, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(xpmem_read_u64(w.att, 0, &v), -ENOENT);
	assert_ptr_equal(xpmem_attach(w.seg, w.imp), ERR_PTR(-ENOENT));
	assert_int_equal(checker_violations(w.host), 0);
	world_fini(&w);
}

/* ---------------------------------------------------------------------
 * Under the deterministic scheduler: the importer attaches in its task
 */

static int importer_task(void *arg)
{
	struct world *w = arg;
	u64 v;

	w->att = xpmem_attach(w->seg, w->imp);
	if (IS_ERR(w->att))
		return 0;
	for (int i = 0; i < 16 && !checker_violations(w->host); i++)
		xpmem_read_u64(w->att, (i % NPAGES) * PAGE_SIZE, &v);
	xpmem_detach(w->att);
	w->att = NULL;
	return 0;
}

static int exporter_task(void *arg)
{
	struct world *w = arg;

	for (int i = 0; i < 6 && !checker_violations(w->host); i++) {
		unsigned long a = w->base + (i % NPAGES) * PAGE_SIZE;

		if (i & 1)
			do_madvise(w->exp, a, PAGE_SIZE, MADV_DONTNEED);
		else
			do_mprotect(w->exp, a, PAGE_SIZE, PROT_READ);
		cond_resched();
		do_mprotect(w->exp, a, PAGE_SIZE, RW);
	}
	return 0;
}

/* One seed; *@dropped += importer mappings its invalidations dropped. */
static unsigned long race_once(u64 seed, unsigned long *dropped)
{
	struct xpmem_stat st;
	struct det_config dc = { .seed = seed,
				 .strategy = DET_STRATEGY_RANDOM };
	struct task_struct *t[2];
	struct det_result res;
	unsigned long bad;
	struct world w;

	world_init(&w, XPMEM_INVAL_START, false);
	assert_int_equal(det_begin(&dc), 0);
	t[0] = kthread_run(importer_task, &w, "importer");
	t[1] = kthread_run(exporter_task, &w, "exporter");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	det_end(&res);
	if (!checker_violations(w.host))
		checker_sweep(w.host);
	bad = checker_violations(w.host);
	xpmem_get_stat(w.seg, &st);
	*dropped += st.dropped;
	world_fini(&w);
	return bad;
}

static void test_race_clean(void **state)
{
	unsigned long dropped = 0;

	(void)state;
	for (u64 seed = 1; seed <= 40; seed++)
		assert_int_equal(race_once(seed, &dropped), 0);
	assert_true(dropped > 0);
}

static void test_ack_before_drop_caught(void **state)
{
	unsigned long bad = 0, dropped = 0;

	(void)state;
	mutant_set(MUTANT_XPMEM_ACK_BEFORE_DROP);
	warn_set_quiet(true);
	for (u64 seed = 1; seed <= 200 && !bad; seed++)
		bad = race_once(seed, &dropped);
	warn_set_quiet(false);
	mutant_set(MUTANT_NONE);
	assert_true(bad > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_attach_reads_and_writes),
		cmocka_unit_test(test_invalidate_waits_for_ack),
		cmocka_unit_test(test_end_only_caught),
		cmocka_unit_test(test_release_detaches),
		cmocka_unit_test(test_race_clean),
		cmocka_unit_test(test_ack_before_drop_caught),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
