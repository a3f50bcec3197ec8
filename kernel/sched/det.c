// SPDX-License-Identifier: MIT
/*
 * The deterministic scheduler.
 *
 * Only one task of a run executes at a time, so the run's tasks are fibers
 * (kernel/sched/fiber.c) of the thread that called det_begin(): task 0 is
 * that thread's own context, every task kthread_run() creates in the run
 * gets a stack of its own, and handing the CPU to another task is a
 * user-space context switch.  Outside runs, tasks are real pthreads.
 *
 * The scheduler's state below is touched only by the running task, on
 * the run's thread, so it needs no lock; det_lock serialises only
 * det_begin() and det_end() against callers on other threads.
 *
 * The choice of the next task depends only on the pseudo-random stream
 * seeded by the run's seed and on the sequence of events of the run, and
 * the event log hash folds in task ids and event kinds only (never a
 * pointer or a time), so a (program, seed, strategy) triple replays
 * exactly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include <mmulab/bug.h>
#include "../internal.h"
#include "search.h"

int mmulab_det_active;

/* task_struct.det_state.  Zero is a task that belongs to no run. */
enum det_task_state {
	DET_TASK_RUNNABLE = 1,	/* running, or may be chosen to */
	DET_TASK_BLOCKED,	/* in det_block_on(), until det_wake() */
	DET_TASK_DONE,		/* its body returned */
};

#define DET_DEFAULT_PCT_DEPTH 3U
#define DET_DEFAULT_PCT_STEPS 10000UL
#define DET_DEFAULT_MAX_STEPS 50000000UL

/* PCT priorities handed out at creation lie in [1, 2^62]. */
#define DET_PCT_PRIO_BITS 62

/*
 * One entry per task ever created in the run, indexed by det id.  @task
 * stays set after the task exits, until kthread_stop() reaps it (and then
 * frees it): a failing run still knows which threads it leaves behind.
 */
struct det_slot {
	struct task_struct *task;
	enum sync_point_kind last_kind;
	bool seen_point;
};

/* Event record tags folded into the log hash. */
enum det_event {
	DET_EV_POINT = 1,
	DET_EV_BLOCK,
	DET_EV_CREATE,
	DET_EV_EXIT,
	DET_EV_LOG,
};

static pthread_mutex_t det_lock = PTHREAD_MUTEX_INITIALIZER;

/* Written by the running task only (see above). */
static struct {
	bool active;
	struct det_config cfg;
	u64 rng[4];			/* xoshiro256** state */
	XXH3_state_t *xxh;
	unsigned long steps;
	unsigned long switches;
	int running;			/* det id of the running task */
	struct task_struct *prev;	/* the task that switched to it */

	struct det_slot *slots;		/* indexed by det id */
	unsigned int nr_slots, cap_slots;
	int *live;			/* ids of tasks not done, ascending */
	unsigned int nr_live;

	unsigned long *change_points;	/* PCT, ascending */
	unsigned int nr_change_points, next_change;
	long lowest_prio;		/* PCT: below every priority so far */
} det;

static void (*failure_handler)(const char *why);

/*
 * The observer of det_set_observer(): set between runs, called by the
 * running task at each scheduling point.
 */
static void (*observer_fn)(unsigned long step, void *arg);
static void *observer_arg;

static __attribute__((noreturn)) void det_oom(void)
{
	fprintf(stderr, "mmulab: det: out of memory\n");
	abort();
}

/* Totals of ended runs, and the set of their log hashes; under det_lock. */
static struct det_stats det_totals;
static struct {
	u64 *slot;		/* open addressing; 0 is free */
	unsigned long cap;
	bool zero;		/* the hash 0 was seen */
} det_seen;

static bool seen_insert(u64 h)
{
	unsigned long i;

	if (!h) {
		bool was = det_seen.zero;

		det_seen.zero = true;
		return !was;
	}
	for (i = h & (det_seen.cap - 1); det_seen.slot[i];
	     i = (i + 1) & (det_seen.cap - 1))
		if (det_seen.slot[i] == h)
			return false;
	det_seen.slot[i] = h;
	return true;
}

/* Count @h among the distinct log hashes. */
static void seen_add(u64 h)
{
	if (2 * (det_totals.distinct + 1) > det_seen.cap) {
		unsigned long old_cap = det_seen.cap;
		u64 *old = det_seen.slot;

		det_seen.cap = old_cap ? 2 * old_cap : 1024;
		det_seen.slot = calloc(det_seen.cap, sizeof(u64));
		if (!det_seen.slot)
			det_oom();
		for (unsigned long i = 0; i < old_cap; i++)
			if (old[i])
				seen_insert(old[i]);
		free(old);
	}
	det_totals.distinct += seen_insert(h);
}

static const char *const point_names[SP_NR] = {
	[SP_LOAD] = "load",	[SP_STORE] = "store",
	[SP_ATOMIC] = "atomic",	[SP_BARRIER] = "barrier",
	[SP_LOCK] = "lock",	[SP_UNLOCK] = "unlock",
	[SP_WAIT] = "wait",	[SP_WAKE] = "wake",
	[SP_RCU] = "srcu",	[SP_THREAD] = "thread",
	[SP_YIELD] = "yield",
};

static const char *const strategy_names[] = {
	[DET_STRATEGY_RANDOM] = "random",
	[DET_STRATEGY_PCT] = "pct",
	[DET_STRATEGY_ROUND_ROBIN] = "round-robin",
	[DET_STRATEGY_BOUNDED] = "bounded",
};


/* ---------------------------------------------------------------------
 * Pseudo-random stream: xoshiro256**, seeded through splitmix64.
 */

static u64 splitmix64(u64 *x)
{
	u64 z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 rotl64(u64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static void rng_seed(u64 seed)
{
	for (int i = 0; i < 4; i++)
		det.rng[i] = splitmix64(&seed);
}

static u64 rng_next(void)
{
	u64 *s = det.rng;
	u64 result = rotl64(s[1] * 5, 7) * 9;
	u64 t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static u64 rng_below(u64 n)
{
	u64 limit = -n % n;	/* 2^64 mod n: the biased low values */
	u64 r;

	do {
		r = rng_next();
	} while (r < limit);
	return r % n;
}

/* ---------------------------------------------------------------------
 * Event log.  Records are fixed little-endian byte strings, so the hash
 * does not depend on the host's struct layout.
 */

static void log_record(enum det_event ev, int id, u32 arg)
{
	u8 rec[9];
	u32 uid = (u32)id;

	rec[0] = (u8)ev;
	for (int i = 0; i < 4; i++) {
		rec[1 + i] = (u8)(uid >> (8 * i));
		rec[5 + i] = (u8)(arg >> (8 * i));
	}
	XXH3_64bits_update(det.xxh, rec, sizeof(rec));
}

/* ---------------------------------------------------------------------
 * Task table
 */

static struct task_struct *slot_task(int id)
{
	return det.slots[id].task;
}

static bool is_runnable(int id)
{
	return slot_task(id)->det_state == DET_TASK_RUNNABLE;
}

static unsigned int live_index(int id)
{
	unsigned int lo = 0, hi = det.nr_live;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (det.live[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A PCT priority above every lowered one and distinct from all others. */
static long pct_fresh_prio(void)
{
	long prio;
	bool taken;

	do {
		prio = 1 + (long)(rng_next() >> (64 - DET_PCT_PRIO_BITS));
		taken = false;
		for (unsigned int i = 0; i < det.nr_live; i++)
			taken |= slot_task(det.live[i])->det_prio == prio;
	} while (taken);
	return prio;
}

/* Give @t the next det id and make it runnable. */
static void task_register(struct task_struct *t)
{
	if (det.nr_slots == det.cap_slots) {
		unsigned int cap = det.cap_slots ? 2 * det.cap_slots : 16;
		struct det_slot *slots;
		int *live;

		slots = realloc(det.slots, cap * sizeof(*slots));
		if (!slots)
			det_oom();
		det.slots = slots;
		live = realloc(det.live, cap * sizeof(*live));
		if (!live)
			det_oom();
		det.live = live;
		det.cap_slots = cap;
	}
	t->det_id = (int)det.nr_slots++;
	t->det_state = DET_TASK_RUNNABLE;
	t->det_blocked_on = NULL;
	t->det_prio = det.cfg.strategy == DET_STRATEGY_PCT ? pct_fresh_prio()
							   : 0;
	det.slots[t->det_id] = (struct det_slot){ .task = t };
	/* Ids only grow, so appending keeps det.live sorted. */
	det.live[det.nr_live++] = t->det_id;
}

/* @t is done: it is never chosen again, but stays in its slot. */
static void task_retire(struct task_struct *t)
{
	unsigned int i = live_index(t->det_id);

	BUG_ON(i >= det.nr_live || det.live[i] != t->det_id);
	memmove(&det.live[i], &det.live[i + 1],
		(det.nr_live - i - 1) * sizeof(det.live[0]));
	det.nr_live--;
	t->det_state = DET_TASK_DONE;
}

/* @t is about to be freed: forget it. */
static void task_forget(struct task_struct *t)
{
	BUG_ON(det.slots[t->det_id].task != t ||
	       t->det_state != DET_TASK_DONE);
	det.slots[t->det_id].task = NULL;
}

/* ---------------------------------------------------------------------
 * Choosing the next task.  Each returns a runnable id, or -1 if none.
 */

static int pick_random(void)
{
	unsigned int n = 0, k;

	for (unsigned int i = 0; i < det.nr_live; i++)
		n += is_runnable(det.live[i]);
	if (!n)
		return -1;
	k = (unsigned int)rng_below(n);
	for (unsigned int i = 0;; i++) {
		if (is_runnable(det.live[i]) && k-- == 0)
			return det.live[i];
	}
}

static int pick_pct(void)
{
	int best = -1;
	long best_prio = 0;

	for (unsigned int i = 0; i < det.nr_live; i++) {
		struct task_struct *t = slot_task(det.live[i]);

		if (t->det_state != DET_TASK_RUNNABLE)
			continue;
		if (best < 0 || t->det_prio > best_prio) {
			best = det.live[i];
			best_prio = t->det_prio;
		}
	}
	return best;
}

/* The first runnable id after det.running, wrapping around. */
static int pick_round_robin(void)
{
	unsigned int start = live_index(det.running + 1);

	for (unsigned int k = 0; k < det.nr_live; k++) {
		int id = det.live[(start + k) % det.nr_live];

		if (is_runnable(id))
			return id;
	}
	return -1;
}

static __attribute__((noreturn)) void det_fail(const char *why);

/*
 * The bounded search's choice.  @cur_ok: the running task could go on (a
 * scheduling point, not a block or an exit); @yield: it yields.
 */
static int pick_bounded(bool cur_ok, bool yield)
{
	u64 runnable = 0;
	int next;

	for (unsigned int i = 0; i < det.nr_live; i++) {
		int id = det.live[i];

		if (!is_runnable(id))
			continue;
		if (id >= DET_SEARCH_MAX_TASKS)
			det_fail("bounded search: more than 64 tasks");
		runnable |= 1ULL << id;
	}
	if (!runnable)
		return -1;
	next = search_choose(det.cfg.search, runnable, det.running, cur_ok,
			     yield);
	if (next < 0)
		det_fail("bounded search: a replayed schedule diverged (the "
			 "program does not repeat itself under one schedule)");
	return next;
}

/* At a scheduling point of @kind (@cur_ok), or after a block or exit. */
static int pick_next(bool cur_ok, enum sync_point_kind kind)
{
	switch (det.cfg.strategy) {
	case DET_STRATEGY_PCT:
		return pick_pct();
	case DET_STRATEGY_ROUND_ROBIN:
		return pick_round_robin();
	case DET_STRATEGY_BOUNDED:
		return pick_bounded(cur_ok, cur_ok && kind == SP_YIELD);
	case DET_STRATEGY_RANDOM:
	default:
		return pick_random();
	}
}

/*
 * PCT: at a change point the running task drops below everyone.  So does
 * a task that yields (cond_resched(), cpu_relax(), msleep()): under strict
 * priorities a busy-wait for a lower-priority task would spin forever,
 * whereas on real hardware the awaited task runs on another CPU.
 */
static void pct_reprioritize(struct task_struct *t, enum sync_point_kind kind)
{
	bool drop = kind == SP_YIELD;

	while (det.next_change < det.nr_change_points &&
	       det.change_points[det.next_change] <= det.steps) {
		if (det.change_points[det.next_change] == det.steps)
			drop = true;
		det.next_change++;
	}
	if (drop)
		t->det_prio = --det.lowest_prio;
}

/* ---------------------------------------------------------------------
 * Failures
 */

static void report_task(int id)
{
	struct det_slot *s = &det.slots[id];
	struct task_struct *t = s->task;
	const char *last = "-";

	if (s->seen_point && s->last_kind < SP_NR)
		last = point_names[s->last_kind];

	fprintf(stderr, "  task %d \"%s\" (pid %d): ", id, t->comm, t->pid);
	switch (t->det_state) {
	case DET_TASK_RUNNABLE:
		fprintf(stderr, "%s, last point %s\n",
			id == det.running ? "running" : "runnable", last);
		return;
	case DET_TASK_DONE:
		fprintf(stderr, "exited, not reaped\n");
		return;
	}
	fprintf(stderr, "blocked on %p (at %s)", t->det_blocked_on, last);
	if (t->blocked_name)
		fprintf(stderr, ", \"%s\"", t->blocked_name);
	/* A joiner blocks on the task it waits for: name that task. */
	for (unsigned int i = 0; i < det.nr_slots; i++) {
		struct task_struct *w = slot_task((int)i);

		if (w && w == t->det_blocked_on)
			fprintf(stderr, ", the exit of task %d \"%s\"",
				w->det_id, w->comm);
	}
	fputc('\n', stderr);
}

/*
 * Report why the run cannot go on and call the failure handler, which
 * does not return.  It runs on the fiber of the task that found the
 * failure.
 */
static __attribute__((noreturn)) void det_fail(const char *why)
{
	void (*fn)(const char *why);

	fprintf(stderr,
		"mmulab: det: %s (seed %llu, strategy %s, step %lu)\n", why,
		(unsigned long long)det.cfg.seed,
		strategy_names[det.cfg.strategy], det.steps);
	for (unsigned int i = 0; i < det.nr_slots; i++) {
		if (slot_task((int)i))
			report_task((int)i);
	}
	fflush(stderr);
	fn = __atomic_load_n(&failure_handler, __ATOMIC_ACQUIRE);
	if (fn)
		fn(why);
	abort();
}

/* ---------------------------------------------------------------------
 * Switching
 */

/* Make task @next the running one; returns it. */
static struct task_struct *hand_over(struct task_struct *t, int next)
{
	struct task_struct *n = slot_task(next);

	det.running = next;
	det.switches++;
	det.prev = t;
	set_current(n);
	return n;
}

/*
 * Nothing can run: time passes, and the timed sleeper with the lowest id
 * times out (the run stays a function of its seed).
 */
static int time_out_one(void)
{
	for (unsigned int i = 0; i < det.nr_live; i++) {
		struct task_struct *t = slot_task(det.live[i]);

		if (t->det_state == DET_TASK_BLOCKED && t->det_timed) {
			t->det_state = DET_TASK_RUNNABLE;
			t->det_blocked_on = NULL;
			t->det_timed_out = true;
			return pick_next(false, SP_NR);
		}
	}
	return -1;
}

/* @t gives the CPU to task @next and returns when it is chosen again. */
static void switch_to(struct task_struct *t, int next)
{
	fiber_switch(&t->det_fiber, &hand_over(t, next)->det_fiber);
}

/* The running task @t gives up the CPU (it blocked). */
static void schedule_away(struct task_struct *t, const char *why_deadlock)
{
	int next = pick_next(false, SP_NR);

	if (next < 0)
		next = time_out_one();
	if (next < 0)
		det_fail(why_deadlock);
	/* A timed sleep of the only task times out: it goes on running. */
	if (next == t->det_id)
		return;
	switch_to(t, next);
}

/* A task created in the run starts here, on its own fiber. */
static void task_fiber_entry(void)
{
	struct task_struct *t = current;

	fiber_started(&t->det_fiber, &det.prev->det_fiber);
	kthread_body(t);
	det_task_exit(t);
}

/*
 * The calling thread, which must be the running task of the run: only it
 * may change the scheduler's state (everyone else is asleep).
 */
static struct task_struct *running_task(void)
{
	struct task_struct *t = current;

	BUG_ON(!det.active || t->det_id < 0 || det.running != t->det_id);
	return t;
}

/* ---------------------------------------------------------------------
 * Hooks of the concurrency layer
 */

void det_sched_point(enum sync_point_kind kind, const void *obj)
{
	struct task_struct *t = current;
	int next;

	(void)obj;
	/* Threads outside the run (a test's own) are not scheduled. */
	if (t->det_id < 0)
		return;
	running_task();
	det.steps++;
	det.slots[t->det_id].last_kind = kind;
	det.slots[t->det_id].seen_point = true;
	log_record(DET_EV_POINT, t->det_id, (u32)kind);
	if (det.steps > det.cfg.max_steps)
		det_fail("livelock: step budget exhausted");
	/* Observation: no decision below depends on what it does. */
	if (observer_fn)
		observer_fn(det.steps, observer_arg);
	if (det.cfg.strategy == DET_STRATEGY_PCT)
		pct_reprioritize(t, kind);
	next = pick_next(true, kind);
	if (next != t->det_id)
		switch_to(t, next);
}

void det_block_on(const void *obj)
{
	struct task_struct *t = running_task();

	log_record(DET_EV_BLOCK, t->det_id, 0);
	t->det_state = DET_TASK_BLOCKED;
	t->det_blocked_on = obj;
	schedule_away(t, "deadlock: every task is blocked");
}

bool det_block_on_timeout(const void *obj)
{
	struct task_struct *t = current;
	bool timed_out;

	t->det_timed = true;
	t->det_timed_out = false;
	det_block_on(obj);
	timed_out = t->det_timed_out;
	t->det_timed = false;
	t->det_timed_out = false;
	return timed_out;
}

void det_abandon(const char *why)
{
	running_task();
	det_fail(why);
}

static void wake_locked(const void *obj)
{
	for (unsigned int i = 0; i < det.nr_live; i++) {
		struct task_struct *t = slot_task(det.live[i]);

		if (t->det_state == DET_TASK_BLOCKED &&
		    t->det_blocked_on == obj) {
			t->det_state = DET_TASK_RUNNABLE;
			t->det_blocked_on = NULL;
		}
	}
}

void det_wake(const void *obj)
{
	/* Only the running task may change who is runnable. */
	if (WARN_ON_ONCE(current->det_id < 0))
		return;
	running_task();
	wake_locked(obj);
}

int det_task_created(struct task_struct *t)
{
	struct task_struct *creator = running_task();

	if (fiber_create(&t->det_fiber, task_fiber_entry))
		return -ENOMEM;
	task_register(t);
	log_record(DET_EV_CREATE, creator->det_id, (u32)t->det_id);
	return 0;
}

void det_task_exit(struct task_struct *t)
{
	int next;

	log_record(DET_EV_EXIT, t->det_id, 0);
	task_retire(t);
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
	wake_locked(t);
	next = pick_next(false, SP_NR);
	if (next < 0)
		det_fail("deadlock: the last runnable task exited");
	/* From here on @t may be freed by its joiner as soon as it runs. */
	fiber_exit(&t->det_fiber, &hand_over(t, next)->det_fiber);
}

void det_task_reap(struct task_struct *t)
{
	running_task();
	task_forget(t);
	fiber_destroy(&t->det_fiber);
}

/* ---------------------------------------------------------------------
 * Runs
 */

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

/*
 * Place the change points uniformly in [1, pct_steps].  Two may fall on
 * the same step; the running task is then lowered once.
 */
static int pct_setup(void)
{
	unsigned int n = det.cfg.pct_depth;

	det.change_points = calloc(n, sizeof(*det.change_points));
	if (!det.change_points)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		det.change_points[i] = 1 + rng_below(det.cfg.pct_steps);
	qsort(det.change_points, n, sizeof(*det.change_points), cmp_ulong);
	det.nr_change_points = n;
	det.next_change = 0;
	det.lowest_prio = 0;
	return 0;
}

static void det_reset(void)
{
	free(det.slots);
	free(det.live);
	free(det.change_points);
	if (det.xxh)
		XXH3_freeState(det.xxh);
	memset(&det, 0, sizeof(det));
}

static int det_setup(const struct det_config *cfg)
{
	det.cfg = *cfg;
	if (!det.cfg.pct_depth)
		det.cfg.pct_depth = DET_DEFAULT_PCT_DEPTH;
	if (!det.cfg.pct_steps)
		det.cfg.pct_steps = DET_DEFAULT_PCT_STEPS;
	if (!det.cfg.max_steps)
		det.cfg.max_steps = DET_DEFAULT_MAX_STEPS;
	rng_seed(det.cfg.seed);
	det.xxh = XXH3_createState();
	if (!det.xxh || XXH3_64bits_reset(det.xxh) != XXH_OK)
		return -ENOMEM;
	if (det.cfg.strategy == DET_STRATEGY_PCT && pct_setup())
		return -ENOMEM;
	if (det.cfg.strategy == DET_STRATEGY_BOUNDED)
		search_run_begin(det.cfg.search);
	return 0;
}

int det_begin(const struct det_config *cfg)
{
	struct task_struct *t = current;
	int err;

	if (!cfg || (cfg->strategy != DET_STRATEGY_RANDOM &&
		     cfg->strategy != DET_STRATEGY_PCT &&
		     cfg->strategy != DET_STRATEGY_ROUND_ROBIN &&
		     cfg->strategy != DET_STRATEGY_BOUNDED) ||
	    (cfg->strategy == DET_STRATEGY_BOUNDED && IS_ERR_OR_NULL(cfg->search)))
		return -EINVAL;
	if (det_active())
		return -EBUSY;
	/*
	 * Callbacks queued with call_srcu() before the run would otherwise
	 * run on the SRCU callback thread in the middle of it, at times no
	 * seed decides.
	 */
	srcu_quiesce_callbacks();

	pthread_mutex_lock(&det_lock);
	if (det.active || kthread_nr_live() != 0) {
		pthread_mutex_unlock(&det_lock);
		return -EBUSY;
	}
	err = det_setup(cfg);
	if (err) {
		det_reset();
		pthread_mutex_unlock(&det_lock);
		return err;
	}
	fiber_init_self(&t->det_fiber);
	task_register(t);
	det.running = t->det_id;
	det.active = true;
	pthread_mutex_unlock(&det_lock);

	__atomic_store_n(&mmulab_det_active, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int det_end(struct det_result *res)
{
	struct task_struct *t = current;
	u64 hash;

	pthread_mutex_lock(&det_lock);
	if (!det.active || t->det_id < 0) {
		pthread_mutex_unlock(&det_lock);
		return -EINVAL;
	}
	if (kthread_nr_live() != 0) {
		pthread_mutex_unlock(&det_lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&det_lock);

	/* The caller is the only task left; this may still block on it. */
	det_srcu_flush_all();
	__atomic_store_n(&mmulab_det_active, 0, __ATOMIC_SEQ_CST);

	pthread_mutex_lock(&det_lock);
	hash = XXH3_64bits_digest(det.xxh);
	if (res) {
		res->steps = det.steps;
		res->switches = det.switches;
		res->tasks = det.nr_slots;
		res->log_hash = hash;
	}
	seen_add(hash);
	det_totals.runs++;
	det_totals.steps += det.steps;
	det_totals.switches += det.switches;
	task_retire(t);
	task_forget(t);
	fiber_fini_self(&t->det_fiber);
	t->det_id = -1;
	t->det_state = 0;
	det_reset();
	pthread_mutex_unlock(&det_lock);
	return 0;
}

void det_get_stats(struct det_stats *out)
{
	pthread_mutex_lock(&det_lock);
	*out = det_totals;
	pthread_mutex_unlock(&det_lock);
}

bool det_active(void)
{
	return __atomic_load_n(&mmulab_det_active, __ATOMIC_ACQUIRE);
}

void det_log(const char *fmt, ...)
{
	struct task_struct *t;
	char buf[256], *line = buf;
	va_list ap;
	int len;

	if (!det_active())
		return;
	t = current;
	if (t->det_id < 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(buf)) {
		line = malloc((size_t)len + 1);
		if (!line)
			det_oom();
		va_start(ap, fmt);
		vsnprintf(line, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	running_task();
	log_record(DET_EV_LOG, t->det_id, (u32)len);
	XXH3_64bits_update(det.xxh, line, (size_t)len);
	if (line != buf)
		free(line);
}

pid_t det_fork(void)
{
	pid_t pid;
	int err;

	if (WARN_ON(det_active())) {
		errno = EBUSY;
		return -1;
	}
	/*
	 * Park the SRCU callback worker: fork() copies only this thread, and
	 * the worker may hold its queue's lock or be inside a grace period.
	 */
	srcu_before_fork();
	pid = fork();
	err = errno;
	srcu_after_fork(pid == 0);
	errno = err;
	return pid;
}

void det_set_observer(void (*fn)(unsigned long step, void *arg), void *arg)
{
	WARN_ON(det.active);
	observer_fn = fn;
	observer_arg = arg;
}

void det_set_failure_handler(void (*fn)(const char *why))
{
	__atomic_store_n(&failure_handler, fn, __ATOMIC_RELEASE);
}
