// SPDX-License-Identifier: MIT
/*
 * The lock validator: each rule fires (sleeping in atomic and non-blocking
 * context, order inversion, self-deadlock, failed assertions), reaches an
 * attached checker as its invariant, and names tasks and locks; the
 * kernel's sites in the notifier core fire; and the primitives the kernel
 * has (wake-ups by kthread_stop() and signals, timed waits, bitops).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <mmulab/bug.h>
#include <mmulab/checker.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include "mm/internal.h"

/* The last violation the hook saw. */
static struct {
	int calls;
	enum lockdep_kind kind;
	char report[512];
} seen;

static void hook(void *ctx, enum lockdep_kind kind, const char *report)
{
	(void)ctx;
	seen.calls++;
	seen.kind = kind;
	snprintf(seen.report, sizeof(seen.report), "%s", report);
}

static int setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	lockdep_set_hook(hook, NULL);
	warn_set_quiet(true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lockdep_set_hook(NULL, NULL);
	warn_set_quiet(false);
	return 0;
}

static void expect(enum lockdep_kind kind, int calls, const char *needle)
{
	assert_int_equal(seen.calls, calls);
	assert_int_equal(seen.kind, kind);
	if (!strstr(seen.report, needle))
		fail_msg("report '%s' lacks '%s'", seen.report, needle);
}

static void test_sleep_in_atomic(void **state)
{
	spinlock_t spin;
	rwlock_t rw;
	struct mutex m;
	unsigned long w0 = warn_count();

	(void)state;
	spin_lock_init(&spin);
	rwlock_init(&rw);
	mutex_init(&m);
	set_task_comm(current, "sleeper");

	/* Sleeping locks and sleeps are fine outside atomic context. */
	mutex_lock(&m);
	msleep(0);
	mutex_unlock(&m);
	assert_int_equal(seen.calls, 0);

	spin_lock(&spin);
	mutex_lock(&m);
	mutex_unlock(&m);
	spin_unlock(&spin);
	expect(LOCKDEP_SLEEP_IN_ATOMIC, 1, "task");
	expect(LOCKDEP_SLEEP_IN_ATOMIC, 1, "\"sleeper\"");
	expect(LOCKDEP_SLEEP_IN_ATOMIC, 1, "spinlock \"&spin\"");

	read_lock(&rw);
	cond_resched();
	read_unlock(&rw);
	expect(LOCKDEP_SLEEP_IN_ATOMIC, 2, "rwlock \"&rw\"");
	/* Outside a checked run a violation is a WARN too. */
	assert_int_equal(warn_count(), w0 + 2);
	set_task_comm(current, "thread");
}

static void test_sleep_in_nonblock(void **state)
{
	struct rw_semaphore sem;

	(void)state;
	init_rwsem(&sem);
	non_block_start();
	non_block_start();
	non_block_end();
	down_read(&sem);
	up_read(&sem);
	non_block_end();
	expect(LOCKDEP_SLEEP_IN_NONBLOCK, 1, "non-blocking section");
	might_sleep();
	assert_int_equal(seen.calls, 1);
}

struct two_locks {
	struct mutex a;
	spinlock_t b;
};

static int take_b_then_a(void *arg)
{
	struct two_locks *l = arg;

	spin_lock(&l->b);
	/* A trylock records no order: no report from it. */
	if (mutex_trylock(&l->a))
		mutex_unlock(&l->a);
	spin_unlock(&l->b);
	return 0;
}

static int take_b_then_a_for_real(void *arg)
{
	struct two_locks *l = arg;
	spinlock_t inner;

	spin_lock_init(&inner);
	spin_lock(&l->b);
	spin_lock(&inner);
	spin_unlock(&inner);
	spin_unlock(&l->b);
	mutex_lock(&l->a);
	spin_lock(&l->b);
	spin_unlock(&l->b);
	mutex_unlock(&l->a);
	return 0;
}

static void test_order_inversion(void **state)
{
	struct two_locks l;
	struct task_struct *t;
	static struct lockdep_map map = STATIC_LOCKDEP_MAP_INIT("pseudo");

	(void)state;
	mutex_init(&l.a);
	spin_lock_init(&l.b);

	/* a -> b in another task, with no overlap in time. */
	t = kthread_run(take_b_then_a_for_real, &l, "first");
	assert_false(IS_ERR(t));
	kthread_stop(t);
	assert_int_equal(seen.calls, 0);
	t = kthread_run(take_b_then_a, &l, "trylocker");
	kthread_stop(t);
	assert_int_equal(seen.calls, 0);

	/* b -> a here: the first time both orders are seen. */
	spin_lock(&l.b);
	lock_map_acquire(&map); /* b -> pseudo, harmless */
	lock_map_release(&map);
	spin_unlock(&l.b);
	mutex_lock(&l.a);
	mutex_unlock(&l.a);
	assert_int_equal(seen.calls, 0);
	lock_map_acquire(&map);
	mutex_lock(&l.a); /* pseudo -> a: closes pseudo -> a -> b -> pseudo */
	mutex_unlock(&l.a);
	lock_map_release(&map);
	expect(LOCKDEP_ORDER_INVERSION, 1, "\"&l.a\"");
	expect(LOCKDEP_ORDER_INVERSION, 1, "\"pseudo\"");

	/* Reported once: the edge is known now. */
	lock_map_acquire(&map);
	mutex_lock(&l.a);
	mutex_unlock(&l.a);
	lock_map_release(&map);
	assert_int_equal(seen.calls, 1);

	/* A fresh graph (a new checked run) forgets both orders. */
	lockdep_reset_graph();
	lock_map_acquire(&map);
	mutex_lock(&l.a);
	mutex_unlock(&l.a);
	lock_map_release(&map);
	assert_int_equal(seen.calls, 1);
}

struct sleeping_pair {
	struct mutex a, c;
};

static int take_a_then_c(void *arg)
{
	struct sleeping_pair *p = arg;

	mutex_lock(&p->a);
	mutex_lock(&p->c);
	mutex_unlock(&p->c);
	mutex_unlock(&p->a);
	return 0;
}

static void test_order_inversion_names_other_task(void **state)
{
	struct sleeping_pair p;
	struct task_struct *t;

	(void)state;
	mutex_init(&p.a);
	mutex_init(&p.c);
	t = kthread_run(take_a_then_c, &p, "other");
	assert_false(IS_ERR(t));
	kthread_stop(t);
	set_task_comm(current, "this");
	mutex_lock(&p.c);
	mutex_lock(&p.a);
	mutex_unlock(&p.a);
	mutex_unlock(&p.c);
	set_task_comm(current, "thread");
	expect(LOCKDEP_ORDER_INVERSION, 1, "\"this\" takes \"&p.a\"");
	expect(LOCKDEP_ORDER_INVERSION, 1, "holding \"&p.c\"");
	expect(LOCKDEP_ORDER_INVERSION, 1, "\"other\" took \"&p.c\"");
}

static void test_assert_held(void **state)
{
	struct rw_semaphore sem;
	spinlock_t spin;

	(void)state;
	init_rwsem(&sem);
	spin_lock_init(&spin);

	spin_lock(&spin);
	lockdep_assert_held(&spin);
	assert_true(lockdep_is_held(&spin));
	spin_unlock(&spin);
	assert_int_equal(seen.calls, 0);
	lockdep_assert_held(&spin);
	expect(LOCKDEP_NOT_HELD, 1, "does not hold it");

	down_read(&sem);
	lockdep_assert_held(&sem);
	lockdep_assert_held_read(&sem);
	assert_int_equal(seen.calls, 1);
	lockdep_assert_held_write(&sem);
	expect(LOCKDEP_NOT_HELD, 2, "lockdep_assert_held_write(&sem)");
	up_read(&sem);

	down_write(&sem);
	lockdep_assert_held_write(&sem);
	lockdep_assert_held_read(&sem);
	expect(LOCKDEP_NOT_HELD, 3, "holds it for write");
	downgrade_write(&sem);
	lockdep_assert_held_read(&sem);
	assert_int_equal(seen.calls, 3);
	up_read(&sem);
}

/* ---------------------------------------------------------------------
 * Self-deadlocks end the process (a documented BUG) instead of hanging:
 * run each in a child and read what it printed.
 */

static void run_child(void (*fn)(void *), void *arg, bool det,
		      const char *needle)
{
	int fds[2];
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = det_fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], 2);
		close(fds[0]);
		warn_set_quiet(false);
		lockdep_set_hook(NULL, NULL);
		if (det) {
			struct det_config dc = { .seed = 1 };

			if (det_begin(&dc))
				_exit(3);
		}
		fn(arg);
		_exit(0); /* not reached if caught */
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	if (!strstr(buf, needle))
		fail_msg("child printed '%s', expected '%s'", buf, needle);
}

static void recursive_mutex(void *arg)
{
	struct mutex m;

	(void)arg;
	mutex_init(&m);
	mutex_lock(&m);
	mutex_lock(&m);
}

static void write_while_read(void *arg)
{
	struct rw_semaphore sem;

	(void)arg;
	init_rwsem(&sem);
	down_read(&sem);
	down_write(&sem);
}

static void sync_in_read_section(void *arg)
{
	struct srcu_struct ss;

	(void)arg;
	init_srcu_struct(&ss);
	srcu_read_lock(&ss);
	synchronize_srcu(&ss);
}

static void nested_srcu_is_fine(void)
{
	struct srcu_struct ss;
	int a, b;

	init_srcu_struct(&ss);
	a = srcu_read_lock(&ss);
	b = srcu_read_lock(&ss);
	srcu_read_unlock(&ss, b);
	srcu_read_unlock(&ss, a);
	synchronize_srcu(&ss);
	cleanup_srcu_struct(&ss);
}

static void test_self_deadlock(void **state)
{
	(void)state;
	run_child(recursive_mutex, NULL, false,
		  "BUG: lockdep: self-deadlock: task");
	run_child(recursive_mutex, NULL, false, "again, taken at tests/");
	run_child(write_while_read, NULL, false,
		  "for write; it holds it for read");
	run_child(sync_in_read_section, NULL, false,
		  "grace period of \"&ss\" inside its own read section");
	/* In a deterministic run the run is abandoned, with every task. */
	run_child(recursive_mutex, NULL, true, "mmulab: det: self-deadlock");
	nested_srcu_is_fine();
	assert_int_equal(seen.calls, 0);
}

/* ---------------------------------------------------------------------
 * The kernel's sites in the notifier core and the mm
 */

struct mm_world {
	struct host *host;
	struct mm_struct *mm;
	struct mmu_notifier mn;
	struct mutex driver_lock;
	bool blocking_ok;
};

static int sleepy_start(struct mmu_notifier *mn,
			const struct mmu_notifier_range *range)
{
	struct mm_world *w = container_of(mn, struct mm_world, mn);

	(void)range;
	/* Ignores mmu_notifier_range_blockable(): the bug under test. */
	mutex_lock(&w->driver_lock);
	mutex_unlock(&w->driver_lock);
	return 0;
}

static void sleepy_end(struct mmu_notifier *mn,
		       const struct mmu_notifier_range *range)
{
	(void)range;
	(void)mn;
	msleep(0);
}

static const struct mmu_notifier_ops sleepy_ops = {
	.invalidate_range_start = sleepy_start,
	.invalidate_range_end = sleepy_end,
};

static void world_init(struct mm_world *w)
{
	struct host_config cfg = { .nr_frames = 64,
				   .content = HOST_CONTENT_TAG };

	memset(w, 0, sizeof(*w));
	w->host = host_create(&cfg);
	assert_false(IS_ERR(w->host));
	/*
	 * These tests read the lock validator's own reports: the test
	 * harness's checker goes, and the hook back to the test's.
	 */
	checker_detach(w->host);
	lockdep_set_hook(hook, NULL);
	w->mm = mm_alloc(w->host);
	assert_false(IS_ERR(w->mm));
	mutex_init(&w->driver_lock);
	w->mn.ops = &sleepy_ops;
}

static void world_fini(struct mm_world *w)
{
	mmput(w->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(w->host), 0);
}

static void test_notifier_sites(void **state)
{
	struct mm_world w;
	struct mmu_notifier_range range;
	struct checker_violation v;

	(void)state;
	world_init(&w);
	assert_int_equal(mmu_notifier_register(&w.mn, w.mm), 0);

	/* Blockable: sleeping is allowed. */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, w.mm, 0,
				PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	assert_int_equal(seen.calls, 0);

	/* The OOM reaper's non-blockable range: start and end both fire. */
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 0);
	expect(LOCKDEP_SLEEP_IN_NONBLOCK, 1, "section begun at mm/");
	mmu_notifier_invalidate_range_end(&range);
	expect(LOCKDEP_SLEEP_IN_NONBLOCK, 2, "non-blocking section");

	/* Registration without the mmap_lock: asserted, and refused. */
	assert_int_equal(__mmu_notifier_register(NULL, w.mm), -EINVAL);
	expect(LOCKDEP_NOT_HELD, 3, "lockdep_assert_held_write(&(mm)->mmap_lock)");

	/* With a checker attached the rules are its invariants. */
	assert_int_equal(checker_attach(w.host), 0);
	assert_int_equal(mmu_notifier_invalidate_range_start_nonblock(&range),
			 0);
	mmu_notifier_invalidate_range_end(&range);
	assert_int_equal(checker_violations(w.host), 2);
	v = *checker_first(w.host);
	assert_int_equal(v.inv, INV_SLEEP_IN_NONBLOCK);
	assert_string_equal(checker_inv_name(v.inv), "sleep-in-nonblock");
	assert_non_null(strstr(v.detail, "task"));
	checker_detach(w.host);
	lockdep_set_hook(hook, NULL);

	mmu_notifier_unregister(&w.mn, w.mm);
	world_fini(&w);
}

static void register_under_mmap_lock(void *arg)
{
	struct mm_world *w = arg;

	mmap_write_lock(w->mm);
	mmu_notifier_register(&w->mn, w->mm);
}

static void mmap_under_mmap_lock(void *arg)
{
	struct mm_world *w = arg;

	mmap_read_lock(w->mm);
	vm_mmap(w->mm, 0, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
}

static struct mm_world *unreg_world;

static int unregister_from_callback(struct mmu_notifier *mn,
				    const struct mmu_notifier_range *range)
{
	(void)range;
	mmu_notifier_unregister(mn, unreg_world->mm);
	return 0;
}

static const struct mmu_notifier_ops unreg_ops = {
	.invalidate_range_start = unregister_from_callback,
};

static void unregister_inside_callback(void *arg)
{
	struct mm_world *w = arg;
	struct mmu_notifier_range range;

	unreg_world = w;
	w->mn.ops = &unreg_ops;
	mmu_notifier_register(&w->mn, w->mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, w->mm, 0,
				PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
}

static void test_api_self_deadlocks(void **state)
{
	struct mm_world w;

	(void)state;
	world_init(&w);
	run_child(register_under_mmap_lock, &w, false,
		  "acquires rwsem \"&mm->mmap_lock\"");
	run_child(mmap_under_mmap_lock, &w, false,
		  "for write; it holds it for read, taken at tests/");
	run_child(unregister_inside_callback, &w, false,
		  "inside its own read section");
	world_fini(&w);
}

/* ---------------------------------------------------------------------
 * Primitives
 */

struct sleeper {
	wait_queue_head_t wq;
	int ret;
};

static int sleep_until_stopped(void *arg)
{
	struct sleeper *s = arg;

	wait_event(s->wq, kthread_should_stop());
	return 7;
}

static int sleep_until_signalled(void *arg)
{
	struct sleeper *s = arg;

	s->ret = wait_event_interruptible(s->wq, false);
	return 0;
}

static void stop_and_signal(void)
{
	struct sleeper s;
	struct task_struct *t;

	init_waitqueue_head(&s.wq);
	t = kthread_run(sleep_until_stopped, &s, "stoppable");
	assert_false(IS_ERR(t));
	/* Nobody wakes the queue: kthread_stop() itself must. */
	assert_int_equal(kthread_stop(t), 7);

	t = kthread_run(sleep_until_signalled, &s, "signalled");
	assert_false(IS_ERR(t));
	msleep(1);
	set_signal_pending(t, true);
	kthread_stop(t);
	assert_int_equal(s.ret, -ERESTARTSYS);
}

static void test_wakeups(void **state)
{
	struct det_config dc = { .seed = 3 };
	struct det_result res;

	(void)state;
	stop_and_signal();
	assert_int_equal(det_begin(&dc), 0);
	stop_and_signal();
	assert_int_equal(det_end(&res), 0);
	assert_int_equal(seen.calls, 0);
}

static void test_wait_event_timeout(void **state)
{
	struct det_config dc = { .seed = 5 };
	struct det_result res;
	wait_queue_head_t wq;
	int flag = 1;

	(void)state;
	init_waitqueue_head(&wq);
	assert_true(wait_event_timeout(wq, READ_ONCE(flag), 50) > 0);
	flag = 0;
	assert_int_equal(wait_event_timeout(wq, READ_ONCE(flag), 20), 0);
	/* Deterministic: times out only when nothing else can run. */
	assert_int_equal(det_begin(&dc), 0);
	assert_int_equal(wait_event_timeout(wq, READ_ONCE(flag), 1000), 0);
	assert_int_equal(det_end(&res), 0);
}

static void test_bitops(void **state)
{
	unsigned long map[2] = { 0, 0 };
	atomic_t a = ATOMIC_INIT(0x0f);
	atomic_long_t l = ATOMIC_INIT(1);

	(void)state;
	set_bit(3, map);
	set_bit(BITS_PER_LONG + 1, map);
	assert_true(test_bit(3, map));
	assert_true(test_bit(BITS_PER_LONG + 1, map));
	assert_false(test_bit(4, map));
	assert_false(test_and_set_bit(5, map));
	assert_true(test_and_set_bit(5, map));
	assert_true(test_and_clear_bit(5, map));
	assert_false(test_and_clear_bit(5, map));
	clear_bit(3, map);
	change_bit(0, map);
	assert_true(test_and_change_bit(0, map));
	__set_bit(7, map);
	__clear_bit(BITS_PER_LONG + 1, map);
	assert_int_equal(map[0], 1UL << 7);
	assert_int_equal(map[1], 0);
	assert_int_equal(atomic_fetch_or(0x30, &a), 0x0f);
	assert_int_equal(atomic_fetch_and(0x3c, &a), 0x3f);
	assert_int_equal(atomic_fetch_andnot(0x04, &a), 0x3c);
	atomic_or(1, &a);
	atomic_and(~0x10, &a);
	assert_int_equal(atomic_read(&a), 0x29);
	assert_int_equal(atomic_long_fetch_or(2, &l), 1);
	assert_int_equal(data_race(l.counter), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sleep_in_atomic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sleep_in_nonblock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_order_inversion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_order_inversion_names_other_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assert_held, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_self_deadlock, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_notifier_sites, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_api_self_deadlocks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wakeups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_event_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bitops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
