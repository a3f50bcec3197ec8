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

#if defined(__SANITIZE_THREAD__)
/*
 * The children that must fail exit at once; TSan would otherwise sleep a
 * second in each before exiting, looking for races at exit.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "atexit_sleep_ms=0";
}
#endif

#include "task_check.h"
#include "excl_lock.h"

static int teardown(void **state)
{
	(void)state;
	assert_false(det_active());
	task_checks_teardown();
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

/* A budget far above what any test here needs, so a livelock fails fast. */
#define TEST_MAX_STEPS 1000000

static struct det_result det_run(u64 seed, enum det_strategy strategy,
				 det_body_fn body, void *arg)
{
	struct det_config cfg = {
		.seed = seed,
		.strategy = strategy,
		.max_steps = TEST_MAX_STEPS,
	};

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

#define EXCL_WRITERS 4
#define EXCL_READERS 2
#define EXCL_ITERS 25

struct excl {
	struct excl_locks l;
	/*
	 * Plain: one task runs at a time, but a task can be switched out
	 * between any two scheduling points, inside the section too.
	 */
	unsigned long counter;
	int writers_inside, readers_inside, max_readers_inside;
};

static int excl_writer(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < EXCL_ITERS; i++) {
		unsigned long v;

		excl_lock(&e->l);
		TASK_CHECK(++e->writers_inside == 1);
		TASK_CHECK(e->readers_inside == 0);
		v = e->counter;
		cpu_relax(); /* a scheduling point; spinning, not sleeping */
		e->counter = v + 1;
		e->writers_inside--;
		excl_unlock(&e->l);
	}
	return 0;
}

static int excl_reader(void *arg)
{
	struct excl *e = arg;

	for (int i = 0; i < EXCL_ITERS; i++) {
		excl_read_lock(&e->l);
		TASK_CHECK(e->writers_inside == 0);
		if (++e->readers_inside > e->max_readers_inside)
			e->max_readers_inside = e->readers_inside;
		cpu_relax();
		TASK_CHECK(e->writers_inside == 0);
		e->readers_inside--;
		excl_read_unlock(&e->l);
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
	if (excl_kind_shared(e->l.kind)) {
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
				struct excl e = { 0 };
				struct det_result res;
				bool rw = excl_kind_shared(kind);

				excl_locks_init(&e.l, kind);
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
		if (excl_kind_shared(kind))
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
	/* Who took the lock, in order. */
	int order[REPLAY_TASKS * REPLAY_ITERS];
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
	char *buf = malloc(offset + sizeof(struct replay));
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
	/* The worker index of each record, in order. */
	int seq[YIELDERS * YIELD_MAX_ITERS];
	int n;
	unsigned int iters;
	/* Step with an atomic operation instead of cond_resched(). */
	bool busy;
	atomic_t ticks;
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
		if (a->log->busy)
			atomic_inc(&a->log->ticks);
		else
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
 * PCT runs the highest-priority runnable task until it blocks, exits,
 * yields or meets a change point, so busy tasks switch rarely; the random
 * strategy switches at about every other point.
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
		struct yield_log log = { .iters = ITERS, .busy = true };
		struct det_result pct, rnd, pct_yield;

		pct = det_run_cfg(&cfg, yield_body, &log);
		log = (struct yield_log){ .iters = ITERS, .busy = true };
		rnd = det_run(seed, DET_STRATEGY_RANDOM, yield_body, &log);
		/* Creations, exits, joins and change points; not steps. */
		assert_true(pct.switches <= 4 * (YIELDERS + 1) + DEPTH);
		assert_true(rnd.switches >= YIELDERS * ITERS / 3);
		/* A yield lets the others go first. */
		log = (struct yield_log){ .iters = ITERS };
		pct_yield = det_run_cfg(&cfg, yield_body, &log);
		assert_true(pct_yield.switches >= YIELDERS * ITERS / 2);
	}
}

struct busy_wait {
	int flag;
	int spins;
};

static int set_flag(void *arg)
{
	struct busy_wait *b = arg;

	WRITE_ONCE(b->flag, 1);
	return 0;
}

static void busy_wait_body(void *arg)
{
	struct busy_wait *b = arg;
	struct task_struct *t = spawn(set_flag, b, "setter");

	while (!READ_ONCE(b->flag)) {
		b->spins++;
		cpu_relax();
	}
	assert_int_equal(kthread_stop(t), 0);
}

/*
 * Under PCT a busy-wait on a lower-priority task ends at its first
 * cpu_relax(), without waiting for a change point (placed out of reach
 * here; a livelock would exhaust the step budget and abort).
 */
static void test_pct_busy_wait(void **state)
{
	int waited = 0;

	(void)state;
	for (u64 seed = 1; seed <= 8; seed++) {
		struct det_config cfg = {
			.seed = seed,
			.strategy = DET_STRATEGY_PCT,
			.pct_steps = 1UL << 40,
			.max_steps = TEST_MAX_STEPS,
		};
		struct busy_wait b = { .flag = 0 };

		det_run_cfg(&cfg, busy_wait_body, &b);
		assert_true(b.spins <= 1);
		waited += b.spins;
	}
	/* In some seeds the waiter had the higher priority. */
	assert_true(waited > 0);
}

/* ---------------------------------------------------------------------
 * Wait queues and SRCU
 */

#define WAITERS 3

struct levels {
	wait_queue_head_t wq;
	int level;
	int passed;
};

static int level_waiter(void *arg)
{
	struct levels *l = arg;

	wait_event(l->wq, READ_ONCE(l->level) >= 2);
	l->passed++;
	return 0;
}

static void levels_body(void *arg)
{
	struct levels *l = arg;
	struct task_struct *t[WAITERS];

	for (int i = 0; i < WAITERS; i++)
		t[i] = spawn(level_waiter, l, "waiter");
	for (int i = 0; i < 10; i++)
		cond_resched();
	/* Woken with the condition still false: they must sleep again. */
	WRITE_ONCE(l->level, 1);
	wake_up_all(&l->wq);
	for (int i = 0; i < 20; i++)
		cond_resched();
	assert_int_equal(l->passed, 0);
	WRITE_ONCE(l->level, 2);
	wake_up_all(&l->wq);
	for (int i = 0; i < WAITERS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
	assert_int_equal(l->passed, WAITERS);
}

static void test_wait_event(void **state)
{
	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		for (u64 seed = 1; seed <= 5; seed++) {
			struct levels l = { .level = 0 };

			init_waitqueue_head(&l.wq);
			det_run(seed, strategies[s], levels_body, &l);
		}
	}
}

enum reader_state { R_OUTSIDE, R_INSIDE, R_DONE };

#define SRCU_READERS 2

struct gp {
	struct srcu_struct srcu;
	wait_queue_head_t wq;
	int state[SRCU_READERS];
	int gp_started;		/* readers stay inside until it is set */
	int waited;	/* readers the grace period had to wait for */
};

struct gp_arg {
	struct gp *gp;
	int idx;
};

static int gp_reader(void *arg)
{
	struct gp_arg *a = arg;
	struct gp *gp = a->gp;
	int idx = srcu_read_lock(&gp->srcu);

	WRITE_ONCE(gp->state[a->idx], R_INSIDE);
	wake_up_all(&gp->wq);
	wait_event(gp->wq, READ_ONCE(gp->gp_started));
	for (int i = 0; i < 4; i++)
		cond_resched();
	WRITE_ONCE(gp->state[a->idx], R_DONE);
	srcu_read_unlock(&gp->srcu, idx);
	return 0;
}

static bool any_reader_in(struct gp *gp)
{
	for (int i = 0; i < SRCU_READERS; i++) {
		if (READ_ONCE(gp->state[i]) == R_INSIDE)
			return true;
	}
	return false;
}

/*
 * Every reader seen inside before synchronize_srcu() was called must have
 * left when it returns.
 */
static void gp_body(void *arg)
{
	struct gp *gp = arg;
	struct gp_arg args[SRCU_READERS];
	struct task_struct *t[SRCU_READERS];
	bool inside[SRCU_READERS];

	for (int i = 0; i < SRCU_READERS; i++) {
		args[i] = (struct gp_arg){ .gp = gp, .idx = i };
		t[i] = spawn(gp_reader, &args[i], "reader");
	}
	wait_event(gp->wq, any_reader_in(gp));
	for (int i = 0; i < SRCU_READERS; i++)
		inside[i] = READ_ONCE(gp->state[i]) == R_INSIDE;
	WRITE_ONCE(gp->gp_started, 1);
	wake_up_all(&gp->wq);
	synchronize_srcu(&gp->srcu);
	for (int i = 0; i < SRCU_READERS; i++) {
		if (inside[i]) {
			assert_int_equal(READ_ONCE(gp->state[i]), R_DONE);
			gp->waited++;
		}
	}
	for (int i = 0; i < SRCU_READERS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
}

static void test_srcu_grace_period(void **state)
{
	int waited = 0;

	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		for (u64 seed = 1; seed <= 8; seed++) {
			struct gp gp = { .waited = 0 };

			init_srcu_struct(&gp.srcu);
			init_waitqueue_head(&gp.wq);
			det_run(seed, strategies[s], gp_body, &gp);
			cleanup_srcu_struct(&gp.srcu);
			waited += gp.waited;
		}
	}
	/* Readers stay inside until the grace period starts. */
	assert_true(waited >= (int)(NR_STRATEGIES * 8));
}

struct cb_ctx;

struct cb_item {
	struct callback_head head;
	struct cb_ctx *c;
	int ran;
	int reader_seen;	/* the reader's state when the callback ran */
	int det_seen;		/* det_active() when the callback ran */
};

struct cb_ctx {
	struct srcu_struct srcu;
	wait_queue_head_t wq;
	int reader;		/* enum reader_state */
	int queued;		/* the reader stays inside until it is set */
	struct cb_item cb[3];
};

static void cb_fn(struct callback_head *head)
{
	struct cb_item *it = container_of(head, struct cb_item, head);

	it->ran++;
	it->reader_seen = it->c->reader;
	it->det_seen = det_active();
}

static int cb_reader(void *arg)
{
	struct cb_ctx *c = arg;
	int idx = srcu_read_lock(&c->srcu);

	WRITE_ONCE(c->reader, R_INSIDE);
	wake_up_all(&c->wq);
	wait_event(c->wq, READ_ONCE(c->queued));
	for (int i = 0; i < 6; i++)
		cond_resched();
	WRITE_ONCE(c->reader, R_DONE);
	srcu_read_unlock(&c->srcu, idx);
	return 0;
}

static void cb_body(void *arg)
{
	struct cb_ctx *c = arg;
	struct task_struct *t = spawn(cb_reader, c, "reader");

	wait_event(c->wq, READ_ONCE(c->reader) == R_INSIDE);
	call_srcu(&c->srcu, &c->cb[0].head, cb_fn);
	WRITE_ONCE(c->queued, 1);
	wake_up_all(&c->wq);
	for (int i = 0; i < 3; i++)
		cond_resched();
	assert_int_equal(c->cb[0].ran, 0);
	/* Runs it, after the reader that was inside left. */
	srcu_barrier(&c->srcu);
	assert_int_equal(c->cb[0].ran, 1);
	assert_int_equal(kthread_stop(t), 0);
	/* Left for det_end(). */
	call_srcu(&c->srcu, &c->cb[1].head, cb_fn);
	assert_int_equal(c->cb[1].ran, 0);
}

static void test_srcu_callbacks(void **state)
{
	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		for (u64 seed = 1; seed <= 4; seed++) {
			struct cb_ctx c = { .reader = R_OUTSIDE };

			for (int i = 0; i < 3; i++)
				c.cb[i].c = &c;
			init_srcu_struct(&c.srcu);
			init_waitqueue_head(&c.wq);
			det_run(seed, strategies[s], cb_body, &c);
			assert_int_equal(c.cb[0].ran, 1);
			assert_int_equal(c.cb[0].reader_seen, R_DONE);
			assert_int_equal(c.cb[0].det_seen, 1);
			assert_int_equal(c.cb[1].ran, 1);
			assert_int_equal(c.cb[1].det_seen, 1);
			/* Outside the run again: SRCU's callback worker runs it. */
			call_srcu(&c.srcu, &c.cb[2].head, cb_fn);
			cleanup_srcu_struct(&c.srcu);
			assert_int_equal(c.cb[2].ran, 1);
			assert_int_equal(c.cb[2].det_seen, 0);
		}
	}
}

/* ---------------------------------------------------------------------
 * Tasks and the run's life cycle
 */

static int until_stopped(void *arg)
{
	(void)arg;
	while (!kthread_should_stop())
		msleep(1);
	return 101;
}

static int returns_arg(void *arg)
{
	return (int)(long)arg;
}

static void test_begin_end_errors(void **state)
{
	struct det_config cfg = { .seed = 1 };
	struct det_config bad = { .strategy = (enum det_strategy)42 };
	struct det_result res;
	struct task_struct *t;

	(void)state;
	assert_int_equal(det_end(&res), -EINVAL);
	assert_int_equal(det_begin(&bad), -EINVAL);
	assert_int_equal(det_begin(NULL), -EINVAL);

	/* A task started outside the run is alive. */
	t = spawn(until_stopped, NULL, "outsider");
	assert_int_equal(det_begin(&cfg), -EBUSY);
	assert_false(det_active());
	assert_int_equal(kthread_stop(t), 101);

	assert_int_equal(det_begin(&cfg), 0);
	assert_int_equal(det_begin(&cfg), -EBUSY);
	assert_int_equal(det_end(&res), 0);
	assert_int_equal(res.tasks, 1);
	assert_int_equal(det_end(&res), -EINVAL);
}

struct sleeper {
	wait_queue_head_t wq;
	int go;
};

static int sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	wait_event(s->wq, READ_ONCE(s->go));
	return 5;
}

static void unreaped_body(void *arg)
{
	struct sleeper *s = arg;
	struct det_result res;
	struct task_struct *t, *q;

	/* Done but not reaped. */
	q = spawn(returns_arg, (void *)7L, "quick");
	assert_int_equal(det_end(&res), -EBUSY);
	while (!READ_ONCE(q->exited))
		cond_resched();
	assert_int_equal(det_end(&res), -EBUSY);
	assert_true(det_active());
	assert_int_equal(kthread_stop(q), 7);

	/* Blocked. */
	t = spawn(sleeper_fn, s, "sleeper");
	for (int i = 0; i < 5; i++)
		cond_resched();
	assert_int_equal(det_end(&res), -EBUSY);
	WRITE_ONCE(s->go, 1);
	wake_up_all(&s->wq);
	assert_int_equal(kthread_stop(t), 5);
}

static void test_end_unreaped(void **state)
{
	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		struct sleeper sl = { .go = 0 };
		struct det_result res;

		init_waitqueue_head(&sl.wq);
		res = det_run(3, strategies[s], unreaped_body, &sl);
		assert_int_equal(res.tasks, 3);
	}
}

static int spin_until_stopped(void *arg)
{
	(void)arg;
	while (!kthread_should_stop())
		cond_resched();
	return 9;
}

/* kthread_should_stop() and kthread_stop() inside a run. */
static void stop_body(void *arg)
{
	struct task_struct *t = spawn(spin_until_stopped, NULL, "spinner");

	(void)arg;
	for (int i = 0; i < 10; i++)
		cond_resched();
	assert_int_equal(kthread_stop(t), 9);
}

static void test_kthread_stop(void **state)
{
	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		for (u64 seed = 1; seed <= 4; seed++)
			det_run(seed, strategies[s], stop_body, NULL);
	}
}

/* ---------------------------------------------------------------------
 * Failures, each in a child process
 */

#define EXIT_DEADLOCK 42
#define EXIT_LIVELOCK 43
#define EXIT_OTHER 44
#define EXIT_NO_FAILURE 45

static void child_failure(const char *why)
{
	if (strstr(why, "deadlock"))
		_exit(EXIT_DEADLOCK);
	if (strstr(why, "livelock"))
		_exit(EXIT_LIVELOCK);
	_exit(EXIT_OTHER);
}

/*
 * Run @body in a deterministic run in a child process that must fail;
 * return its exit status and leave what it wrote to stderr in @log.
 */
static int run_failing_child(const struct det_config *cfg, det_body_fn body,
			     void *arg, char *log, size_t size)
{
	size_t len = 0;
	int pfd[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid = det_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		alarm(20);	/* a missed detection hangs: end it */
		det_set_failure_handler(child_failure);
		if (det_begin(cfg))
			_exit(EXIT_OTHER);
		body(arg);
		_exit(EXIT_NO_FAILURE);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], log + len, size - 1 - len)) > 0)
		len += (size_t)n;
	log[len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (status != EXIT_DEADLOCK && status != EXIT_LIVELOCK)
		fprintf(stderr, "child exited %d; its stderr:\n%s", status,
			log);
	return status;
}

/* Child-side helpers: no cmocka there. */
static struct task_struct *child_spawn(int (*fn)(void *), void *arg,
				       const char *name)
{
	struct task_struct *t = kthread_run(fn, arg, name);

	if (IS_ERR_OR_NULL(t))
		_exit(EXIT_OTHER);
	return t;
}

struct abba {
	struct mutex a, b;
	wait_queue_head_t wq;
	int a_held, b_held;
};

static int abba_a(void *arg)
{
	struct abba *x = arg;

	mutex_lock(&x->a);
	WRITE_ONCE(x->a_held, 1);
	wake_up_all(&x->wq);
	wait_event(x->wq, READ_ONCE(x->b_held));
	mutex_lock(&x->b);
	mutex_unlock(&x->b);
	mutex_unlock(&x->a);
	return 0;
}

static int abba_b(void *arg)
{
	struct abba *x = arg;

	mutex_lock(&x->b);
	WRITE_ONCE(x->b_held, 1);
	wake_up_all(&x->wq);
	wait_event(x->wq, READ_ONCE(x->a_held));
	mutex_lock(&x->a);
	mutex_unlock(&x->a);
	mutex_unlock(&x->b);
	return 0;
}

static void abba_body(void *arg)
{
	struct abba *x = arg;
	struct task_struct *a = child_spawn(abba_a, x, "abba-a");
	struct task_struct *b = child_spawn(abba_b, x, "abba-b");

	kthread_stop(a);
	kthread_stop(b);
}

static void test_deadlock_abba(void **state)
{
	static char log[8192];

	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		struct det_config cfg = {
			.seed = 5,
			.strategy = strategies[s],
		};
		struct abba x = { .a_held = 0 };

		mutex_init(&x.a);
		mutex_init(&x.b);
		init_waitqueue_head(&x.wq);
		assert_int_equal(run_failing_child(&cfg, abba_body, &x, log,
						   sizeof(log)),
				 EXIT_DEADLOCK);
		/* The report names every task and what it waits for. */
		assert_non_null(strstr(log, "deadlock"));
		assert_non_null(strstr(log, "task 0 "));
		assert_non_null(strstr(log, "\"abba-a\""));
		assert_non_null(strstr(log, "\"abba-b\""));
		assert_non_null(strstr(log, "the exit of task 1 \"abba-a\""));
		assert_null(strstr(log, "runnable,"));
	}
}

/* The last runnable task exits while the others wait for nothing. */
static int leave_late(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++)
		cond_resched();
	return 0;
}

static void exit_deadlock_body(void *arg)
{
	struct sleeper *s = arg;

	child_spawn(leave_late, NULL, "leaver");
	wait_event(s->wq, READ_ONCE(s->go));
}

static void test_deadlock_at_exit(void **state)
{
	static char log[8192];

	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		struct det_config cfg = {
			.seed = 11,
			.strategy = strategies[s],
		};
		struct sleeper sl = { .go = 0 };

		init_waitqueue_head(&sl.wq);
		assert_int_equal(run_failing_child(&cfg, exit_deadlock_body,
						   &sl, log, sizeof(log)),
				 EXIT_DEADLOCK);
		assert_non_null(strstr(log, "blocked on"));
		/* PCT may run the leaver to its end first. */
		if (strategies[s] != DET_STRATEGY_PCT) {
			assert_non_null(strstr(log, "deadlock: the last "
						    "runnable task exited"));
		}
	}
}

/* A task that exited but was not reaped when the run failed. */
static int leave_early(void *arg)
{
	(void)arg;
	return 0;
}

static void unreaped_deadlock_body(void *arg)
{
	struct sleeper *s = arg;
	struct task_struct *t = child_spawn(leave_early, NULL, "leaver");

	while (!READ_ONCE(t->exited))
		cond_resched();
	wait_event(s->wq, READ_ONCE(s->go));
}

static void test_deadlock_unreaped(void **state)
{
	static char log[8192];
	struct det_config cfg = { .seed = 4 };
	struct sleeper sl = { .go = 0 };

	(void)state;
	init_waitqueue_head(&sl.wq);
	assert_int_equal(run_failing_child(&cfg, unreaped_deadlock_body, &sl,
					   log, sizeof(log)),
			 EXIT_DEADLOCK);
	assert_non_null(strstr(log, "deadlock: every task is blocked"));
	assert_non_null(strstr(log, "task 1 \"leaver\""));
	assert_non_null(strstr(log, "exited, not reaped"));
}

static int spin_forever(void *arg)
{
	int *flag = arg;

	while (!READ_ONCE(*flag))
		cond_resched();
	return 0;
}

static void livelock_body(void *arg)
{
	struct task_struct *t = child_spawn(spin_forever, arg, "spinner");

	kthread_stop(t);
}

static void test_livelock(void **state)
{
	static char log[8192];

	(void)state;
	for (size_t s = 0; s < NR_STRATEGIES; s++) {
		struct det_config cfg = {
			.seed = 3,
			.strategy = strategies[s],
			.max_steps = 5000,
		};
		int flag = 0;

		assert_int_equal(run_failing_child(&cfg, livelock_body, &flag,
						   log, sizeof(log)),
				 EXIT_LIVELOCK);
		assert_non_null(strstr(log, "livelock"));
		assert_non_null(strstr(log, "step 5001"));
		assert_non_null(strstr(log, "\"spinner\""));
	}
}

/* Without a failure, a run that stays under its budget ends normally. */
static void test_max_steps_not_hit(void **state)
{
	struct det_config cfg = { .seed = 3, .max_steps = 100000 };
	struct yield_log log = { .iters = YIELD_ITERS };
	struct det_result res;

	(void)state;
	res = det_run_cfg(&cfg, yield_body, &log);
	assert_true(res.steps < cfg.max_steps);
	assert_int_equal(log.n, YIELDERS * YIELD_ITERS);
}

/*
 * After SRCU's callback worker exists, a child made by det_fork() can
 * still use SRCU and start runs (after a plain fork() det_begin() would
 * wait forever for the missing worker).
 */
static void fork_cb(struct callback_head *head)
{
	struct cb_item *it = container_of(head, struct cb_item, head);

	it->ran++;
}

static void test_fork_after_call_rcu(void **state)
{
	struct det_config cfg = { .seed = 1 };
	struct srcu_struct srcu;
	struct cb_item it = { .ran = 0 };
	int status;
	pid_t pid;

	(void)state;
#if defined(__SANITIZE_THREAD__)
	/* The child starts threads after a multi-threaded fork. */
	skip();
#endif
	init_srcu_struct(&srcu);
	call_srcu(&srcu, &it.head, fork_cb);
	srcu_barrier(&srcu);
	assert_int_equal(it.ran, 1);

	fflush(NULL);
	pid = det_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct det_result res;

		alarm(20);
		call_srcu(&srcu, &it.head, fork_cb);
		srcu_barrier(&srcu);
		if (it.ran != 2 || det_begin(&cfg) || det_end(&res))
			_exit(EXIT_OTHER);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* And the parent's worker still runs callbacks. */
	call_srcu(&srcu, &it.head, fork_cb);
	srcu_barrier(&srcu);
	assert_int_equal(it.ran, 2);
	cleanup_srcu_struct(&srcu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/*
		 * These fork.  ThreadSanitizer cannot follow a child that
		 * starts threads when the parent had several, so they run
		 * before anything starts SRCU's callback worker.
		 */
		cmocka_unit_test_setup_teardown(test_deadlock_abba, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deadlock_at_exit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deadlock_unreaped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_livelock, setup,
						teardown),
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
		cmocka_unit_test_setup_teardown(test_pct_busy_wait, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wait_event, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_srcu_grace_period, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_srcu_callbacks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_begin_end_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_end_unreaped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kthread_stop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_max_steps_not_hit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fork_after_call_rcu, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
