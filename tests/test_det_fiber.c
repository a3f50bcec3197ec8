// SPDX-License-Identifier: MIT
/*
 * Tasks as fibers in deterministic runs: what a task keeps for itself
 * (current, errno, PF_MEMALLOC) survives switches to other tasks on the
 * same thread, and a stack overflow hits the guard page below the stack.
 * And observers' accesses (<mmulab/sync.h>'s OBSERVE_ONCE() and friends)
 * are not scheduling points.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include "task_check.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

static int teardown(void **state)
{
	(void)state;
	task_checks_teardown();
	return 0;
}

#define NR_TASKS 4
#define ROUNDS 50

struct own_state {
	int id;
	pthread_t thread;
};

/*
 * Each task sets errno and PF_MEMALLOC its own way, then yields many
 * times to the others, which set theirs differently.
 */
static int keeps_its_state(void *arg)
{
	struct own_state *s = arg;
	struct task_struct *me = current;
	bool reclaiming = s->id & 1;
	unsigned int old = 0;

	if (reclaiming)
		old = memalloc_noreclaim_save();
	for (int i = 0; i < ROUNDS; i++) {
		errno = 1000 + s->id * ROUNDS + i;
		cond_resched();
		TASK_CHECK(current == me);
		TASK_CHECK(errno == 1000 + s->id * ROUNDS + i);
		TASK_CHECK(current_in_reclaim() == reclaiming);
	}
	if (reclaiming)
		memalloc_noreclaim_restore(old);
	TASK_CHECK(!current_in_reclaim());
	s->thread = pthread_self();
	return 0;
}

static void test_task_state_is_per_fiber(void **state)
{
	struct det_config cfg = { .seed = 7 };
	struct own_state s[NR_TASKS];
	struct task_struct *t[NR_TASKS];
	struct det_result res;

	(void)state;
	assert_int_equal(det_begin(&cfg), 0);
	for (int i = 0; i < NR_TASKS; i++) {
		s[i].id = i;
		t[i] = kthread_run(keeps_its_state, &s[i], "own");
		assert_false(IS_ERR(t[i]));
	}
	for (int i = 0; i < NR_TASKS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
	assert_int_equal(det_end(&res), 0);
	assert_false(current_in_reclaim());
	/* Every task ran on the caller's thread, as a fiber. */
	for (int i = 0; i < NR_TASKS; i++)
		assert_true(pthread_equal(s[i].thread, pthread_self()));
	assert_true(res.switches > NR_TASKS * ROUNDS / 2);
}

/* Outside runs a task is a thread of its own. */
static void test_threads_outside_runs(void **state)
{
	struct own_state s = { .id = 0 };
	struct task_struct *t = kthread_run(keeps_its_state, &s, "thread");

	(void)state;
	assert_false(IS_ERR(t));
	assert_int_equal(kthread_stop(t), 0);
	assert_false(pthread_equal(s.thread, pthread_self()));
}

/* ---------------------------------------------------------------------
 * The guard page
 */

#define EXIT_GUARD 50
#define EXIT_RETURNED 51
#define EXIT_OTHER 52

static const char *guard_lo, *guard_hi;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	const char *a = si->si_addr;

	(void)sig;
	(void)uc;
	_exit(a >= guard_lo && a < guard_hi ? EXIT_GUARD : EXIT_OTHER);
}

static unsigned long recurse(unsigned int depth)
{
	volatile char frame[4096];

	frame[0] = (char)depth;
	frame[sizeof(frame) - 1] = (char)depth;
	if (!depth)
		return frame[0];
	return recurse(depth - 1) + frame[sizeof(frame) - 1];
}

static int overflow(void *arg)
{
	struct fiber *f = &current->det_fiber;
	long page = sysconf(_SC_PAGESIZE);

	(void)arg;
	guard_hi = f->stack;
	guard_lo = guard_hi - page;
	/* Twice the stack: only a guard stops this short of it. */
	return (int)recurse(2 * DET_FIBER_STACK_SIZE / 4096);
}

static void test_stack_overflow_hits_guard(void **state)
{
	static char altstack[64 * 1024];
	int status;
	pid_t pid;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer reports the overflow itself, on its own handler. */
	skip();
#endif
	fflush(NULL);
	pid = det_fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct det_config cfg = { .seed = 1 };
		struct sigaction sa = { .sa_sigaction = on_segv,
					.sa_flags = SA_SIGINFO | SA_ONSTACK };
		stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
		struct task_struct *t;

		alarm(20);
		if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL) ||
		    det_begin(&cfg))
			_exit(EXIT_OTHER);
		t = kthread_run(overflow, NULL, "deep");
		if (IS_ERR(t))
			_exit(EXIT_OTHER);
		kthread_stop(t);
		_exit(EXIT_RETURNED);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXIT_GUARD);
}

/* ---------------------------------------------------------------------
 * Observation
 */

struct observed {
	atomic_long_t stat;
	unsigned long word;
	bool observe;
};

static int worker(void *arg)
{
	struct observed *o = arg;

	for (int i = 0; i < 20; i++) {
		WRITE_ONCE(o->word, (unsigned long)i);
		if (o->observe) {
			stat_long_add(1, &o->stat);
			OBSERVE_SET(o->word, OBSERVE_ONCE(o->word) + 0);
			(void)atomic_long_observe(&o->stat);
		}
	}
	return 0;
}

static struct det_result observed_run(bool observe)
{
	struct det_config cfg = { .seed = 11 };
	struct observed o = { .observe = observe };
	struct task_struct *t[2];
	struct det_result res;

	assert_int_equal(det_begin(&cfg), 0);
	for (int i = 0; i < 2; i++)
		t[i] = kthread_run(worker, &o, "worker");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	assert_int_equal(det_end(&res), 0);
	assert_int_equal(atomic_long_observe(&o.stat), observe ? 40 : 0);
	return res;
}

/* The same run with and without observers: same steps, same schedule. */
static void test_observers_add_no_points(void **state)
{
	struct det_stats before, after;
	struct det_result plain, watched;

	(void)state;
	det_get_stats(&before);
	plain = observed_run(false);
	watched = observed_run(true);
	det_get_stats(&after);
	/* The totals add up the runs. */
	assert_int_equal(after.runs - before.runs, 2);
	assert_int_equal(after.steps - before.steps, plain.steps + watched.steps);
	assert_int_equal(plain.steps, watched.steps);
	assert_int_equal(plain.log_hash, watched.log_hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Forks first, before any other thread exists (TSan). */
		cmocka_unit_test_setup_teardown(test_stack_overflow_hits_guard,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_task_state_is_per_fiber,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_outside_runs,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_observers_add_no_points,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
