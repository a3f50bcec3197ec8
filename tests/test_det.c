// SPDX-License-Identifier: MIT
/*
 * The deterministic scheduler: the concurrency layer inside det_begin() ..
 * det_end(), replay, strategies, and deadlock/livelock detection.
 *
 * The test thread is task 0 of every run.  Other tasks cannot use cmocka's
 * assertions (they longjmp), so they report through TASK_CHECK(), which
 * the teardown asserts on.  Runs that must fail (deadlock, livelock) run
 * in a forked child whose failure handler exits with a known status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include "kernel/internal.h"

static int task_failures;

static void task_check_failed(const char *file, int line, const char *cond)
{
	fprintf(stderr, "%s:%d: task check failed: %s\n", file, line, cond);
	__atomic_fetch_add(&task_failures, 1, __ATOMIC_RELAXED);
}

#define TASK_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			task_check_failed(__FILE__, __LINE__, #cond);          \
	} while (0)

static int setup(void **state)
{
	(void)state;
	__atomic_store_n(&task_failures, 0, __ATOMIC_RELAXED);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_false(det_active());
	assert_int_equal(kthread_nr_live(), 0);
	assert_int_equal(__atomic_load_n(&task_failures, __ATOMIC_RELAXED), 0);
	return 0;
}

static const enum det_strategy strategies[] = {
	DET_STRATEGY_RANDOM,
	DET_STRATEGY_PCT,
	DET_STRATEGY_ROUND_ROBIN,
};

#define NR_STRATEGIES MMULAB_ARRAY_SIZE(strategies)

typedef void (*det_body_fn)(void *arg);

/* Run @body(@arg) as task 0 of a deterministic run under @cfg. */
static struct det_result det_run_cfg(const struct det_config *cfg,
				     det_body_fn body, void *arg)
{
	struct det_result res;

	assert_int_equal(det_begin(cfg), 0);
	assert_true(det_active());
	body(arg);
	assert_int_equal(det_end(&res), 0);
	assert_false(det_active());
	return res;
}

static struct det_result det_run(u64 seed, enum det_strategy strategy,
				 det_body_fn body, void *arg)
{
	struct det_config cfg = { .seed = seed, .strategy = strategy };

	return det_run_cfg(&cfg, body, arg);
}

static struct task_struct *spawn(int (*fn)(void *), void *arg,
				 const char *name)
{
	struct task_struct *t = kthread_run(fn, arg, name);

	assert_false(IS_ERR_OR_NULL(t));
	return t;
}

/* ---------------------------------------------------------------------
 * Mutual exclusion
 */

enum excl_kind { EX_SPIN, EX_MUTEX, EX_RWSEM, EX_RWLOCK, EX_NR };

#define EXCL_WRITERS 4
#define EXCL_READERS 2
#define EXCL_ITERS 25

struct excl {
	enum excl_kind kind;
	spinlock_t spin;
	struct mutex mutex;
	struct rw_semaphore rwsem;
	rwlock_t rwlock;
	/*
	 * Plain: one task runs at a time, but a task can be switched out
	 * between any two scheduling points, inside the section too.
	 */
	unsigned long counter;
	int writers_inside, readers_inside, max_readers_inside;
};

static void excl_lock(struct excl *e)
{
	switch (e->kind) {
	case EX_SPIN:
		spin_lock(&e->spin);
		break;
	case EX_MUTEX:
		mutex_lock(&e->mutex);
		TASK_CHECK(mutex_is_owner(&e->mutex));
		break;
	case EX_RWSEM:
		down_write(&e->rwsem);
		TASK_CHECK(rwsem_is_write_owner(&e->rwsem));
		break;
	default:
		write_lock(&e->rwlock);
		break;
	}
}

static void excl_unlock(struct excl *e)
{
	switch (e->kind) {
	case EX_SPIN:
		spin_unlock(&e->spin);
		break;
	case EX_MUTEX:
		mutex_unlock(&e->mutex);
		break;
	case EX_RWSEM:
		up_write(&e->rwsem);
		break;
	default:
		write_unlock(&e->rwlock);
		break;
	}
}

static int excl_writer(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < EXCL_ITERS; i++) {
		unsigned long v;

		excl_lock(e);
		TASK_CHECK(++e->writers_inside == 1);
		TASK_CHECK(e->readers_inside == 0);
		v = e->counter;
		cond_resched();
		e->counter = v + 1;
		e->writers_inside--;
		excl_unlock(e);
	}
	return 0;
}

static int excl_reader(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < EXCL_ITERS; i++) {
		if (e->kind == EX_RWSEM)
			down_read(&e->rwsem);
		else
			read_lock(&e->rwlock);
		TASK_CHECK(e->writers_inside == 0);
		if (++e->readers_inside > e->max_readers_inside)
			e->max_readers_inside = e->readers_inside;
		cond_resched();
		TASK_CHECK(e->writers_inside == 0);
		e->readers_inside--;
		if (e->kind == EX_RWSEM)
			up_read(&e->rwsem);
		else
			read_unlock(&e->rwlock);
	}
	return 0;
}

static void excl_body(void *arg)
{
	struct excl *e = arg;
	struct task_struct *t[EXCL_WRITERS + EXCL_READERS];
	int n = 0;

	for (int i = 0; i < EXCL_WRITERS; i++)
		t[n++] = spawn(excl_writer, e, "writer");
	if (e->kind == EX_RWSEM || e->kind == EX_RWLOCK) {
		for (int i = 0; i < EXCL_READERS; i++)
			t[n++] = spawn(excl_reader, e, "reader");
	}
	for (int i = 0; i < n; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
}

static void test_mutual_exclusion(void **state)
{
	(void)state;
	for (enum excl_kind kind = 0; kind < EX_NR; kind++) {
		int max_readers = 0;

		for (size_t s = 0; s < NR_STRATEGIES; s++) {
			for (u64 seed = 1; seed <= 4; seed++) {
				struct excl e = { .kind = kind };
				struct det_result res;
				bool rw = kind == EX_RWSEM || kind == EX_RWLOCK;

				spin_lock_init(&e.spin);
				mutex_init(&e.mutex);
				init_rwsem(&e.rwsem);
				rwlock_init(&e.rwlock);
				res = det_run(seed, strategies[s], excl_body,
					      &e);
				assert_int_equal(e.counter,
						 EXCL_WRITERS * EXCL_ITERS);
				assert_int_equal(res.tasks,
						 1 + EXCL_WRITERS +
							 (rw ? EXCL_READERS
							     : 0));
				assert_true(res.switches > 0);
				if (e.max_readers_inside > max_readers)
					max_readers = e.max_readers_inside;
			}
		}
		/* Readers did share the lock in some interleaving. */
		if (kind == EX_RWSEM || kind == EX_RWLOCK)
			assert_int_equal(max_readers, EXCL_READERS);
	}
}

/* ---------------------------------------------------------------------
 * Replay
 */

#define REPLAY_TASKS 3
#define REPLAY_ITERS 8

struct replay {
	struct mutex lock;
	int order[REPLAY_TASKS * REPLAY_ITERS];	/* who took the lock when */
	int n;
	const char *tag;	/* folded into the log by det_log() */
};

struct replay_arg {
	struct replay *r;
	int idx;
};

static int replay_worker(void *arg)
{
	struct replay_arg *a = arg;
	struct replay *r = a->r;

	for (int i = 0; i < REPLAY_ITERS; i++) {
		mutex_lock(&r->lock);
		r->order[r->n++] = a->idx;
		det_log("%s: task %d took the lock (%d)", r->tag, a->idx, i);
		mutex_unlock(&r->lock);
		cond_resched();
	}
	return a->idx;
}

static void replay_body(void *arg)
{
	struct replay *r = arg;
	struct replay_arg args[REPLAY_TASKS];
	struct task_struct *t[REPLAY_TASKS];

	for (int i = 0; i < REPLAY_TASKS; i++) {
		args[i] = (struct replay_arg){ .r = r, .idx = i };
		t[i] = spawn(replay_worker, &args[i], "replay");
	}
	for (int i = 0; i < REPLAY_TASKS; i++)
		assert_int_equal(kthread_stop(t[i]), i);
	assert_int_equal(r->n, REPLAY_TASKS * REPLAY_ITERS);
}

/* Run the replay program with its state at @offset in a fresh buffer. */
static struct det_result replay_run(const struct det_config *cfg,
				    const char *tag, size_t offset,
				    struct replay *out)
{
	char *buf = aligned_alloc(64, offset + sizeof(struct replay) + 64);
	struct replay *r;
	struct det_result res;

	assert_non_null(buf);
	r = (struct replay *)(buf + offset);
	memset(r, 0, sizeof(*r));
	mutex_init(&r->lock);
	r->tag = tag;
	res = det_run_cfg(cfg, replay_body, r);
	*out = *r;
	free(buf);
	return res;
}

#define REPLAY_SEEDS 20

/* How many distinct values among the first @n of @v. */
static unsigned int count_distinct(const void *v, size_t size, unsigned int n)
{
	const char *p = v;
	unsigned int distinct = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = 0;

		while (j < i && memcmp(p + j * size, p + i * size, size))
			j++;
		distinct += j == i;
	}
	return distinct;
}

static void replay_strategy(enum det_strategy strategy)
{
	static int orders[REPLAY_SEEDS][REPLAY_TASKS * REPLAY_ITERS];
	u64 hashes[REPLAY_SEEDS];

	for (unsigned int i = 0; i < REPLAY_SEEDS; i++) {
		struct det_config cfg = {
			.seed = 1000 + i,
			.strategy = strategy,
			.pct_steps = 300,
		};
		struct det_result a, b;
		struct replay ra, rb;

		/* Same seed twice, with the state at different addresses. */
		a = replay_run(&cfg, "replay", 0, &ra);
		b = replay_run(&cfg, "replay", 4096 + 64 * i, &rb);
		assert_int_equal(a.log_hash, b.log_hash);
		assert_int_equal(a.steps, b.steps);
		assert_int_equal(a.switches, b.switches);
		assert_int_equal(a.tasks, 1 + REPLAY_TASKS);
		assert_memory_equal(ra.order, rb.order, sizeof(ra.order));
		hashes[i] = a.log_hash;
		memcpy(orders[i], ra.order, sizeof(orders[i]));
	}
	/* Equal hashes mean equal runs. */
	for (unsigned int i = 0; i < REPLAY_SEEDS; i++) {
		for (unsigned int j = 0; j < i; j++) {
			if (hashes[i] == hashes[j])
				assert_memory_equal(orders[i], orders[j],
						    sizeof(orders[i]));
		}
	}
	if (strategy == DET_STRATEGY_ROUND_ROBIN) {
		/* The seed is unused. */
		assert_int_equal(count_distinct(hashes, sizeof(hashes[0]),
						REPLAY_SEEDS),
				 1);
		return;
	}
	assert_true(count_distinct(hashes, sizeof(hashes[0]), REPLAY_SEEDS) >=
		    2);
	assert_true(count_distinct(orders, sizeof(orders[0]), REPLAY_SEEDS) >=
		    2);
}

static void test_replay_random(void **state)
{
	(void)state;
	replay_strategy(DET_STRATEGY_RANDOM);
}

static void test_replay_pct(void **state)
{
	(void)state;
	replay_strategy(DET_STRATEGY_PCT);
}

static void test_replay_round_robin(void **state)
{
	(void)state;
	replay_strategy(DET_STRATEGY_ROUND_ROBIN);
}

/* det_log() lines are part of the log: all of each line, however long. */
static void test_det_log_hashed(void **state)
{
	struct det_config cfg = { .seed = 7 };
	char long_a[600], long_b[600];
	struct det_result a, b, c, d;
	struct replay ra, rb;

	(void)state;
	memset(long_a, 'x', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	memcpy(long_b, long_a, sizeof(long_b));
	long_b[sizeof(long_b) - 2] = 'y';

	a = replay_run(&cfg, "one", 0, &ra);
	b = replay_run(&cfg, "two", 0, &rb);
	/* The same interleaving, told differently. */
	assert_memory_equal(ra.order, rb.order, sizeof(ra.order));
	assert_int_equal(a.steps, b.steps);
	assert_int_not_equal(a.log_hash, b.log_hash);

	c = replay_run(&cfg, long_a, 0, &ra);
	d = replay_run(&cfg, long_b, 0, &rb);
	assert_int_not_equal(c.log_hash, d.log_hash);
	d = replay_run(&cfg, long_a, 0, &rb);
	assert_int_equal(c.log_hash, d.log_hash);

	/* Outside a run it does nothing (and does not crash). */
	det_log("not in a run: %s", long_a);
}

/* ---------------------------------------------------------------------
 * Strategies
 */

#define YIELDERS 3
#define YIELD_ITERS 12
#define YIELD_MAX_ITERS 100

struct yield_log {
	int seq[YIELDERS * YIELD_MAX_ITERS];	/* worker index per record */
	int n;
	unsigned int iters;
};

struct yield_arg {
	struct yield_log *log;
	int idx;
};

static int yielder(void *arg)
{
	struct yield_arg *a = arg;

	for (unsigned int i = 0; i < a->log->iters; i++) {
		a->log->seq[a->log->n++] = a->idx;
		cond_resched();
	}
	return 0;
}

static void yield_body(void *arg)
{
	struct yield_log *log = arg;
	struct yield_arg args[YIELDERS];
	struct task_struct *t[YIELDERS];

	for (int i = 0; i < YIELDERS; i++) {
		args[i] = (struct yield_arg){ .log = log, .idx = i };
		t[i] = spawn(yielder, &args[i], "yielder");
	}
	for (int i = 0; i < YIELDERS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
}

/*
 * Round robin: once every worker has started, each record is followed by
 * one of the next worker in id order (cyclically) that still has records
 * to make.  Task 0 runs in between, unseen.
 */
static bool is_round_robin(const struct yield_log *log)
{
	bool seen[YIELDERS] = { false };
	int left[YIELDERS], started = 0, i;

	for (i = 0; i < YIELDERS; i++)
		left[i] = (int)log->iters;
	/* Up to the first record of the last worker to start. */
	for (i = 0; i < log->n; i++) {
		int w = log->seq[i];

		left[w]--;
		if (!seen[w]) {
			seen[w] = true;
			if (++started == YIELDERS)
				break;
		}
	}
	for (; i + 1 < log->n; i++) {
		int want = log->seq[i], k;

		for (k = 0; k < YIELDERS; k++) {
			want = (want + 1) % YIELDERS;
			if (left[want] > 0)
				break;
		}
		if (k == YIELDERS || log->seq[i + 1] != want)
			return false;
		left[want]--;
	}
	return true;
}

static void test_round_robin_order(void **state)
{
	struct yield_log log = { .iters = YIELD_ITERS };

	(void)state;
	det_run(99, DET_STRATEGY_ROUND_ROBIN, yield_body, &log);
	assert_int_equal(log.n, YIELDERS * YIELD_ITERS);
	assert_true(is_round_robin(&log));

	/* The check has teeth: a random schedule is not round robin. */
	log = (struct yield_log){ .iters = YIELD_ITERS };
	det_run(99, DET_STRATEGY_RANDOM, yield_body, &log);
	assert_int_equal(log.n, YIELDERS * YIELD_ITERS);
	assert_false(is_round_robin(&log));
}

/*
 * PCT runs the highest-priority runnable task until it blocks, exits or
 * meets a change point, so tasks that only yield switch rarely; the
 * random strategy switches at about every other point.
 */
static void test_pct_few_switches(void **state)
{
	enum { DEPTH = 3, ITERS = YIELD_MAX_ITERS };

	(void)state;
	for (u64 seed = 1; seed <= 10; seed++) {
		struct det_config cfg = {
			.seed = seed,
			.strategy = DET_STRATEGY_PCT,
			.pct_depth = DEPTH,
			.pct_steps = YIELDERS * ITERS,
		};
		struct yield_log log = { .iters = ITERS };
		struct det_result pct, rnd;

		pct = det_run_cfg(&cfg, yield_body, &log);
		log = (struct yield_log){ .iters = ITERS };
		rnd = det_run(seed, DET_STRATEGY_RANDOM, yield_body, &log);
		/* Creations, exits, joins and change points; not yields. */
		assert_true(pct.switches <= 4 * (YIELDERS + 1) + DEPTH);
		assert_true(rnd.switches >= YIELDERS * ITERS / 3);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mutual_exclusion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_random, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_pct, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_round_robin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_det_log_hashed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_round_robin_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pct_few_switches, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
