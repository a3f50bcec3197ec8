// SPDX-License-Identifier: MIT
/*
 * The bounded-exhaustive search (struct det_search): on tiny programs
 * whose schedules can be counted by hand it runs exactly that many, each
 * once; a schedule it prints replays; and a lost update that needs one
 * preemption is found with bound 1 and not with bound 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include "task_check.h"

static int teardown(void **state)
{
	(void)state;
	task_checks_teardown();
	return 0;
}

#define N 5
#define P 1 /* task 0's points in kthread_stop() before it blocks */

struct prog {
	int points;		/* scheduling points per worker */
	int workers;		/* 1 or 2 */
	unsigned long x;	/* lost-update counter */
	bool racy;
	unsigned long word[2];
};

struct worker_arg {
	struct prog *p;
	int i;
};

static int worker(void *arg)
{
	struct worker_arg *a = arg;
	struct prog *p = a->p;

	if (p->racy) {
		unsigned long v = READ_ONCE(p->x);

		WRITE_ONCE(p->x, v + 1);
		return 0;
	}
	for (int k = 0; k < p->points; k++)
		WRITE_ONCE(p->word[a->i], (unsigned long)k);
	return 0;
}

/* Task 0 starts the workers, then stops them in order. */
static u64 run_once(struct prog *p, struct det_search *s)
{
	struct det_config cfg = { .strategy = DET_STRATEGY_BOUNDED,
				  .search = s };
	struct worker_arg a[2] = { { p, 0 }, { p, 1 } };
	struct task_struct *t[2];
	struct det_result res;

	p->x = 0;
	assert_int_equal(det_begin(&cfg), 0);
	for (int i = 0; i < p->workers; i++)
		t[i] = kthread_run(worker, &a[i], "worker");
	for (int i = 0; i < p->workers; i++)
		kthread_stop(t[i]);
	assert_int_equal(det_end(&res), 0);
	return res.log_hash;
}

/*
 * Run the whole search with bound @k; return the distinct schedules it
 * ran (by log hash), check it counted exactly those, and that each
 * printed schedule replays to the same hash.
 */
static unsigned long search_all(struct prog *p, unsigned int k,
				unsigned long *bad)
{
	struct det_search *s = det_search_create(k);
	static u64 seen[1024];
	unsigned long n = 0, runs = 0;
	char spec[4096];

	assert_false(IS_ERR(s));
	do {
		u64 h = run_once(p, s);
		struct det_search *r;

		bool fresh = true;

		runs++;
		if (p->racy && p->x != 2)
			(*bad)++;
		for (unsigned long i = 0; i < n; i++)
			fresh &= seen[i] != h;
		assert_true(n < MMULAB_ARRAY_SIZE(seen));
		if (fresh)
			seen[n++] = h;
		assert_true(det_search_format(s, spec, sizeof(spec)) >= 0);
		r = det_search_parse(spec);
		assert_false(IS_ERR(r));
		assert_true(run_once(p, r) == h);
		assert_false(det_search_next(r));
		det_search_destroy(r);
	} while (det_search_next(s));
	/* Each schedule counted once; re-runs are of lower levels only. */
	assert_int_equal(det_search_schedules(s), n);
	assert_int_equal(det_search_runs(s), runs);
	assert_true(runs >= n);
	det_search_destroy(s);
	return n;
}

/*
 * One worker with N points; task 0 passes P points in kthread_stop()
 * before it blocks there.  Bound 0: task 0 goes on to block, then the
 * worker runs alone: 1 schedule.  Bound 1: also the worker preempting
 * task 0 at any of its P points: 1 + P.  Bound 2: also, in each of those,
 * task 0 preempting back at each of the worker's N points: 1 + P + P * N.
 * Bound 3: also, where task 0 came back before its last point, the worker
 * preempting it again at a later one: 1 + P + P * N + (P - 1) * N.
 */
static void test_one_worker_counts(void **state)
{
	struct prog p = { .points = N, .workers = 1 };
	unsigned long bad = 0;

	(void)state;
	assert_int_equal(search_all(&p, 0, &bad), 1);
	assert_int_equal(search_all(&p, 1, &bad), 1 + P);
	assert_int_equal(search_all(&p, 2, &bad), 1 + P + P * N);
	assert_int_equal(search_all(&p, 3, &bad),
			 1 + P + P * N + (P - 1) * N);
}

/*
 * Two workers, bound 0: task 0 runs until it blocks on the first worker;
 * then the free choice is worker 1 (which runs to its exit; then task 0
 * or worker 2 may follow, 2 schedules) or worker 2 (then worker 1, then
 * task 0: 1 schedule).
 */
static void test_two_workers_no_preemption(void **state)
{
	struct prog p = { .points = N, .workers = 2 };
	unsigned long bad = 0;

	(void)state;
	assert_int_equal(search_all(&p, 0, &bad), 3);
	/* More preemptions, strictly more schedules. */
	assert_true(search_all(&p, 1, &bad) > 3);
}

/* A read-modify-write race needs exactly one preemption. */
static void test_lost_update_needs_one_preemption(void **state)
{
	struct prog p = { .workers = 2, .racy = true };
	unsigned long bad = 0;

	(void)state;
	search_all(&p, 0, &bad);
	assert_int_equal(bad, 0);
	search_all(&p, 1, &bad);
	assert_true(bad > 0);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = { "x", "3", "3:", "3:1,", "3:1,2:0",
					   "1:64", "-1:0", "1:1;2:2" };
	struct det_config cfg = { .strategy = DET_STRATEGY_BOUNDED };
	struct det_search *s = det_search_parse("");

	(void)state;
	assert_false(IS_ERR(s));
	det_search_destroy(s);
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(bad); i++)
		assert_true(IS_ERR(det_search_parse(bad[i])));
	/* The bounded strategy needs a search. */
	assert_int_equal(det_begin(&cfg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_worker_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_workers_no_preemption,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lost_update_needs_one_preemption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
