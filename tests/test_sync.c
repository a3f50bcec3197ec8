// SPDX-License-Identifier: MIT
/*
 * The concurrency layer outside deterministic runs: real threads, futexes
 * and per-CPU reader counts (SRCU, per-CPU-reader rwlock_t).
 *
 * cmocka's assertions longjmp, which only works on the thread running the
 * test, so worker threads report through TASK_CHECK() and the test thread
 * asserts that no check failed once they are joined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include <mmulab/bug.h>
#include <mmulab/sync.h>
#include "kernel/internal.h"

#include "task_check.h"
#include "wait_until.h"
#include "excl_lock.h"

static int teardown(void **state)
{
	(void)state;
	task_checks_teardown();
	return 0;
}

/* Widen the window between the load and the store of an increment. */
static void dawdle(void)
{
	for (int i = 0; i < 16; i++)
		__asm__ volatile("" ::: "memory");
}

/* ---------------------------------------------------------------------
 * Mutual exclusion
 */

struct excl {
	struct excl_locks l;
	unsigned int iters;
	/* Plain: the lock is its only protection. */
	unsigned long counter;
	/* Writers inside; atomic, as readers check it too. */
	int inside;
};

static int excl_writer(void *arg)
{
	struct excl *e = arg;

	for (unsigned int i = 0; i < e->iters; i++) {
		unsigned long v;

		excl_lock(&e->l);
		TASK_CHECK(__atomic_add_fetch(&e->inside, 1,
					      __ATOMIC_RELAXED) == 1);
		v = e->counter;
		dawdle();
		e->counter = v + 1;
		__atomic_sub_fetch(&e->inside, 1, __ATOMIC_RELAXED);
		excl_unlock(&e->l);
	}
	return 0;
}

/* Readers of the reader-writer kinds: no writer may be inside with them. */
static int excl_reader(void *arg)
{
	struct excl *e = arg;

	for (unsigned int i = 0; i < e->iters; i++) {
		excl_read_lock(&e->l);
		TASK_CHECK(!__atomic_load_n(&e->inside, __ATOMIC_RELAXED));
		(void)e->counter;
		excl_read_unlock(&e->l);
	}
	return 0;
}

static void run_excl(enum excl_kind kind)
{
	enum { WRITERS = 4, READERS = 2, ITERS = 5000 };
	struct task_struct *t[WRITERS + READERS];
	struct excl e = { .iters = ITERS };
	int n = 0;

	excl_locks_init(&e.l, kind);
	for (int i = 0; i < WRITERS; i++)
		t[n++] = kthread_run(excl_writer, &e, "writer");
	if (excl_kind_shared(kind)) {
		for (int i = 0; i < READERS; i++)
			t[n++] = kthread_run(excl_reader, &e, "reader");
	}
	for (int i = 0; i < n; i++) {
		assert_false(IS_ERR(t[i]));
		assert_int_equal(kthread_stop(t[i]), 0);
	}
	assert_int_equal(e.counter, (unsigned long)WRITERS * ITERS);
	assert_false(spin_is_locked(&e.l.spin));
	assert_false(mutex_is_locked(&e.l.mutex));
	assert_false(rwsem_is_locked(&e.l.rwsem));
	assert_false(rwsem_is_locked(&e.l.rwlock.sem));
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		assert_int_equal(e.l.rwlock.slot[c].readers, 0);
}

static void test_spinlock_excl(void **state)
{
	(void)state;
	run_excl(EX_SPIN);
}

static void test_mutex_excl(void **state)
{
	(void)state;
	run_excl(EX_MUTEX);
}

static void test_rwsem_excl(void **state)
{
	(void)state;
	run_excl(EX_RWSEM);
}

static void test_rwlock_excl(void **state)
{
	(void)state;
	run_excl(EX_RWLOCK);
}

/* Per-CPU readers: writers exclude each other and the readers. */
static void test_pcpu_rwlock_excl(void **state)
{
	(void)state;
	run_excl(EX_PCPU_RWLOCK);
}

/* ---------------------------------------------------------------------
 * Reader-writer semaphores
 */

struct share {
	struct rw_semaphore sem;
	int inside;
};

/* Returns 1 if it saw the other reader inside while it held the lock. */
static int share_reader(void *arg)
{
	struct share *s = arg;
	bool met;

	down_read(&s->sem);
	__atomic_fetch_add(&s->inside, 1, __ATOMIC_RELAXED);
	met = WAIT_UNTIL(__atomic_load_n(&s->inside, __ATOMIC_RELAXED) == 2,
			 LONG_MS);
	up_read(&s->sem);
	return met;
}

static void test_rwsem_readers_share(void **state)
{
	struct share s = { .inside = 0 };
	struct task_struct *a, *b;

	(void)state;
	init_rwsem(&s.sem);
	a = kthread_run(share_reader, &s, "reader-a");
	b = kthread_run(share_reader, &s, "reader-b");
	assert_int_equal(kthread_stop(a), 1);
	assert_int_equal(kthread_stop(b), 1);
}

struct stream {
	struct rw_semaphore sem;
	int stop;
	unsigned long reads;
	/* Readers give up then, so that a starved writer fails the test. */
	u64 deadline;
};

static int stream_reader(void *arg)
{
	struct stream *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED) &&
	       now_ms() < s->deadline) {
		down_read(&s->sem);
		__atomic_fetch_add(&s->reads, 1, __ATOMIC_RELAXED);
		msleep(1);
		up_read(&s->sem);
	}
	return 0;
}

/*
 * Readers that overlap (each holds the lock across a sleep) keep it
 * read-held nearly all the time; only writer preference lets a writer in.
 */
static void test_rwsem_writer_not_starved(void **state)
{
	enum { READERS = 4 };
	struct stream s = { .deadline = now_ms() + 3000 };
	struct task_struct *t[READERS];
	u64 start, waited;

	(void)state;
	init_rwsem(&s.sem);
	for (int i = 0; i < READERS; i++)
		t[i] = kthread_run(stream_reader, &s, "stream");
	assert_true(WAIT_UNTIL(__atomic_load_n(&s.reads, __ATOMIC_RELAXED) >=
				       4 * READERS,
			       LONG_MS));
	start = now_ms();
	down_write(&s.sem);
	waited = now_ms() - start;
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	up_write(&s.sem);
	for (int i = 0; i < READERS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
	assert_true(waited < 1000);
}

struct downgrade {
	struct rw_semaphore sem;
	int data;
	int got_read, got_write;
};

static int downgrade_reader(void *arg)
{
	struct downgrade *d = arg;
	int seen;

	down_read(&d->sem);
	seen = d->data;
	__atomic_store_n(&d->got_read, 1, __ATOMIC_RELAXED);
	up_read(&d->sem);
	return seen;
}

static int downgrade_writer(void *arg)
{
	struct downgrade *d = arg;

	down_write(&d->sem);
	d->data = 2;
	__atomic_store_n(&d->got_write, 1, __ATOMIC_RELAXED);
	up_write(&d->sem);
	return 0;
}

static void test_rwsem_downgrade(void **state)
{
	struct downgrade d = { .data = 0 };
	struct task_struct *r, *w;

	(void)state;
	init_rwsem(&d.sem);
	down_write(&d.sem);
	d.data = 1;
	downgrade_write(&d.sem);
	assert_false(rwsem_is_write_owner(&d.sem));
	assert_true(rwsem_is_locked(&d.sem));
	assert_false(down_write_trylock(&d.sem));
	assert_true(down_read_trylock(&d.sem));
	up_read(&d.sem);

	/* A reader gets in beside the downgraded holder... */
	r = kthread_run(downgrade_reader, &d, "reader");
	assert_true(WAIT_UNTIL(__atomic_load_n(&d.got_read, __ATOMIC_RELAXED),
			       LONG_MS));
	assert_int_equal(kthread_stop(r), 1);
	/* ...a writer does not, until the shared hold is dropped. */
	w = kthread_run(downgrade_writer, &d, "writer");
	msleep(20);
	assert_int_equal(__atomic_load_n(&d.got_write, __ATOMIC_RELAXED), 0);
	up_read(&d.sem);
	assert_int_equal(kthread_stop(w), 0);
	assert_int_equal(d.data, 2);
	assert_false(rwsem_is_locked(&d.sem));
}

/* ---------------------------------------------------------------------
 * Trylocks, tried from another thread where the holder is this one
 */

struct try_ctx {
	spinlock_t spin;
	struct mutex mutex;
	struct rw_semaphore sem;
};

static int try_spin(void *arg)
{
	struct try_ctx *c = arg;

	if (!spin_trylock(&c->spin))
		return 0;
	spin_unlock(&c->spin);
	return 1;
}

static int try_mutex(void *arg)
{
	struct try_ctx *c = arg;

	TASK_CHECK(!mutex_is_owner(&c->mutex));
	if (!mutex_trylock(&c->mutex))
		return 0;
	TASK_CHECK(mutex_is_owner(&c->mutex));
	mutex_unlock(&c->mutex);
	return 1;
}

static int try_read(void *arg)
{
	struct try_ctx *c = arg;

	if (!down_read_trylock(&c->sem))
		return 0;
	up_read(&c->sem);
	return 1;
}

static int try_write(void *arg)
{
	struct try_ctx *c = arg;

	if (!down_write_trylock(&c->sem))
		return 0;
	up_write(&c->sem);
	return 1;
}

static int block_write(void *arg)
{
	struct try_ctx *c = arg;

	down_write(&c->sem);
	up_write(&c->sem);
	return 0;
}

/* Run @fn(@c) to completion on a thread of its own; its return value. */
static int on_other_thread(int (*fn)(void *), struct try_ctx *c)
{
	struct task_struct *t = kthread_run(fn, c, "try");

	assert_false(IS_ERR(t));
	return kthread_stop(t);
}

static void test_trylocks(void **state)
{
	struct try_ctx c;
	struct task_struct *w;
	unsigned long sleeps;

	(void)state;
	spin_lock_init(&c.spin);
	mutex_init(&c.mutex);
	init_rwsem(&c.sem);

	assert_int_equal(on_other_thread(try_spin, &c), 1);
	assert_true(spin_trylock(&c.spin));
	assert_true(spin_is_locked(&c.spin));
	assert_false(spin_trylock(&c.spin));
	/* Joining a thread while holding a spinlock is sleeping in atomic. */
	sleeps = lockdep_count(LOCKDEP_SLEEP_IN_ATOMIC);
	warn_set_quiet(true);
	assert_int_equal(on_other_thread(try_spin, &c), 0);
	warn_set_quiet(false);
	assert_int_equal(lockdep_count(LOCKDEP_SLEEP_IN_ATOMIC), sleeps + 1);
	spin_unlock(&c.spin);
	assert_false(spin_is_locked(&c.spin));

	assert_true(mutex_trylock(&c.mutex));
	assert_true(mutex_is_owner(&c.mutex));
	assert_int_equal(on_other_thread(try_mutex, &c), 0);
	mutex_unlock(&c.mutex);
	assert_int_equal(on_other_thread(try_mutex, &c), 1);

	assert_true(down_read_trylock(&c.sem));
	assert_int_equal(on_other_thread(try_read, &c), 1);
	assert_int_equal(on_other_thread(try_write, &c), 0);
	up_read(&c.sem);
	assert_true(down_write_trylock(&c.sem));
	assert_true(rwsem_is_write_owner(&c.sem));
	assert_int_equal(on_other_thread(try_read, &c), 0);
	assert_int_equal(on_other_thread(try_write, &c), 0);
	up_write(&c.sem);
	assert_int_equal(on_other_thread(try_write, &c), 1);

	/* A waiting writer turns new readers away. */
	assert_true(down_read_trylock(&c.sem));
	w = kthread_run(block_write, &c, "writer");
	assert_true(WAIT_UNTIL(!on_other_thread(try_read, &c), LONG_MS));
	up_read(&c.sem);
	assert_int_equal(kthread_stop(w), 0);
	assert_int_equal(on_other_thread(try_read, &c), 1);
}

/* ---------------------------------------------------------------------
 * Wait queues
 */

struct waiters {
	wait_queue_head_t wq;
	int level;
	int passed;
};

static int level_waiter(void *arg)
{
	struct waiters *w = arg;

	wait_event(w->wq, READ_ONCE(w->level) >= 2);
	__atomic_fetch_add(&w->passed, 1, __ATOMIC_RELAXED);
	return 0;
}

static void test_wait_event(void **state)
{
	enum { N = 4 };
	struct waiters w = { .level = 0 };
	struct task_struct *t[N];

	(void)state;
	init_waitqueue_head(&w.wq);
	for (int i = 0; i < N; i++)
		t[i] = kthread_run(level_waiter, &w, "waiter");
	msleep(20);
	assert_int_equal(__atomic_load_n(&w.passed, __ATOMIC_RELAXED), 0);
	/* A wake-up whose condition is still false lets nobody through. */
	WRITE_ONCE(w.level, 1);
	wake_up_all(&w.wq);
	msleep(20);
	assert_int_equal(__atomic_load_n(&w.passed, __ATOMIC_RELAXED), 0);
	WRITE_ONCE(w.level, 2);
	wake_up_all(&w.wq);
	for (int i = 0; i < N; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
	assert_int_equal(w.passed, N);
}

/* ---------------------------------------------------------------------
 * Tasks
 */

struct looper {
	unsigned long loops;
	int pid_seen;
};

static int looper_fn(void *arg)
{
	struct looper *l = arg;

	l->pid_seen = task_pid(current);
	while (!kthread_should_stop()) {
		__atomic_fetch_add(&l->loops, 1, __ATOMIC_RELAXED);
		msleep(1);
	}
	return 1234;
}

static int quick_fn(void *arg)
{
	return -(int)(long)arg;
}

static void test_kthread(void **state)
{
	struct looper l = { .loops = 0 };
	struct task_struct *t, *q;
	int pid;

	(void)state;
	assert_false(kthread_should_stop());
	t = kthread_run(looper_fn, &l, "a-rather-long-task-name");
	assert_false(IS_ERR(t));
	assert_string_equal(task_comm(t), "a-rather-long-t");
	assert_int_equal(kthread_nr_live(), 1);
	pid = task_pid(t);
	assert_int_not_equal(pid, task_pid(current));
	/* It keeps running until asked to stop. */
	assert_true(WAIT_UNTIL(__atomic_load_n(&l.loops, __ATOMIC_RELAXED) >= 3,
			       LONG_MS));
	assert_int_equal(kthread_stop(t), 1234);
	assert_int_equal(l.pid_seen, pid);
	assert_int_equal(kthread_nr_live(), 0);

	/* One that already returned is just reaped. */
	q = kthread_run(quick_fn, (void *)5L, NULL);
	assert_false(IS_ERR(q));
	assert_string_equal(task_comm(q), "kthread");
	assert_true(WAIT_UNTIL(__atomic_load_n(&q->exited, __ATOMIC_ACQUIRE),
			       LONG_MS));
	assert_int_equal(kthread_nr_live(), 1);
	assert_int_equal(kthread_stop(q), -5);
	assert_int_equal(kthread_nr_live(), 0);
}

static int signal_waiter(void *arg)
{
	(void)arg;
	return WAIT_UNTIL(signal_pending(current), LONG_MS);
}

static void test_signal_pending(void **state)
{
	struct task_struct *t;

	(void)state;
	assert_false(signal_pending(current));
	set_signal_pending(current, true);
	assert_true(signal_pending(current));
	set_signal_pending(current, false);
	assert_false(signal_pending(current));

	t = kthread_run(signal_waiter, NULL, "sig");
	assert_false(signal_pending(t));
	set_signal_pending(t, true);
	assert_int_equal(kthread_stop(t), 1);
	assert_false(signal_pending(current));
}

/* ---------------------------------------------------------------------
 * SRCU
 */

struct srcu_ctx {
	struct srcu_struct srcu;
	int inside;
	int done;
	int release;	/* held_reader leaves its section once set */
};

/* A reader that stays in its section for a while. */
static int slow_reader(void *arg)
{
	struct srcu_ctx *c = arg;
	int idx = srcu_read_lock(&c->srcu);

	__atomic_store_n(&c->inside, 1, __ATOMIC_RELAXED);
	msleep(30);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELAXED);
	srcu_read_unlock(&c->srcu, idx);
	return 0;
}

static void test_srcu_synchronize(void **state)
{
	struct srcu_ctx c = { .inside = 0 };
	struct task_struct *t;

	(void)state;
	init_srcu_struct(&c.srcu);
	/* No reader: returns at once. */
	synchronize_srcu(&c.srcu);
	t = kthread_run(slow_reader, &c, "reader");
	assert_true(WAIT_UNTIL(__atomic_load_n(&c.inside, __ATOMIC_RELAXED),
			       LONG_MS));
	synchronize_srcu(&c.srcu);
	assert_int_equal(__atomic_load_n(&c.done, __ATOMIC_RELAXED), 1);
	assert_int_equal(kthread_stop(t), 0);
	cleanup_srcu_struct(&c.srcu);
}

/* A reader that stays in its section until released. */
static int held_reader(void *arg)
{
	struct srcu_ctx *c = arg;
	int idx = srcu_read_lock(&c->srcu);
	bool released;

	__atomic_store_n(&c->inside, 1, __ATOMIC_RELAXED);
	released = WAIT_UNTIL(__atomic_load_n(&c->release, __ATOMIC_RELAXED),
			      LONG_MS);
	srcu_read_unlock(&c->srcu, idx);
	return released;
}

struct cb_item {
	struct callback_head head;
	int *counter;
	/* Plain: srcu_barrier() must order it before the caller's reads. */
	int stamp;
};

static void count_cb(struct callback_head *head)
{
	struct cb_item *it = container_of(head, struct cb_item, head);

	it->stamp = __atomic_add_fetch(it->counter, 1, __ATOMIC_RELAXED);
}

static void test_srcu_callbacks(void **state)
{
	enum { N = 8 };
	struct srcu_ctx c = { .inside = 0 };
	struct cb_item items[N];
	struct task_struct *t;
	int ran = 0;

	(void)state;
	init_srcu_struct(&c.srcu);
	for (int i = 0; i < N; i++) {
		items[i].counter = &ran;
		call_srcu(&c.srcu, &items[i].head, count_cb);
	}
	srcu_barrier(&c.srcu);
	assert_int_equal(__atomic_load_n(&ran, __ATOMIC_RELAXED), N);
	for (int i = 0; i < N; i++)
		assert_in_range(items[i].stamp, 1, N);

	/* A callback waits for a reader that was inside when it was queued. */
	t = kthread_run(held_reader, &c, "reader");
	assert_true(WAIT_UNTIL(__atomic_load_n(&c.inside, __ATOMIC_RELAXED),
			       LONG_MS));
	call_srcu(&c.srcu, &items[0].head, count_cb);
	msleep(30);
	assert_int_equal(__atomic_load_n(&ran, __ATOMIC_RELAXED), N);
	__atomic_store_n(&c.release, 1, __ATOMIC_RELAXED);
	srcu_barrier(&c.srcu);
	assert_int_equal(__atomic_load_n(&ran, __ATOMIC_RELAXED), N + 1);
	assert_int_equal(kthread_stop(t), 1);

	/* Tearing the domain down runs what is still queued. */
	call_srcu(&c.srcu, &items[1].head, count_cb);
	cleanup_srcu_struct(&c.srcu);
	assert_int_equal(__atomic_load_n(&ran, __ATOMIC_RELAXED), N + 2);
}

/*
 * A reader writes only the counters of its own CPU slot, one cache line
 * of its own, as Linux's srcu_read_lock(): two readers on two threads
 * write no common line, and a grace period of one domain does not wait
 * for the readers of another.
 */
struct slot_reader {
	struct srcu_struct *ssp;
	unsigned int cpu;
	int inside, release;
};

static int slot_reader(void *arg)
{
	struct slot_reader *r = arg;
	int idx = srcu_read_lock(r->ssp);

	r->cpu = stat_cpu();
	__atomic_store_n(&r->inside, 1, __ATOMIC_RELEASE);
	WAIT_UNTIL(__atomic_load_n(&r->release, __ATOMIC_RELAXED), LONG_MS);
	srcu_read_unlock(r->ssp, idx);
	return 0;
}

/* A reader count, read while readers may be counting. */
static unsigned long count_of(const unsigned long *count)
{
	return __atomic_load_n(count, __ATOMIC_RELAXED);
}

static void test_srcu_per_cpu_readers(void **state)
{
	struct srcu_ctx c = { .inside = 0 }, other = { .inside = 0 };
	struct slot_reader r[2] = { { .ssp = &c.srcu }, { .ssp = &c.srcu } };
	struct task_struct *t[2];
	unsigned long idx;

	(void)state;
	init_srcu_struct(&c.srcu);
	init_srcu_struct(&other.srcu);
	idx = count_of(&c.srcu.srcu_idx) & 1;
	for (int i = 0; i < 2; i++) {
		t[i] = kthread_run(slot_reader, &r[i], "reader");
		assert_true(WAIT_UNTIL(__atomic_load_n(&r[i].inside,
						       __ATOMIC_ACQUIRE),
				       LONG_MS));
	}
	/* Each counted in its own slot, and nowhere else. */
	for (unsigned int s = 0; s < STAT_NR_CPUS; s++) {
		unsigned long want = (s == r[0].cpu) + (s == r[1].cpu);

		assert_int_equal(count_of(&c.srcu.sda[s].lock_count[idx]), want);
		assert_int_equal(count_of(&c.srcu.sda[s].unlock_count[idx]), 0);
		assert_int_equal(count_of(&c.srcu.sda[s].lock_count[!idx]), 0);
	}
	/* Two slots never share a line (two threads may share a slot). */
	for (unsigned int s = 1; s < STAT_NR_CPUS; s++)
		assert_true((uintptr_t)&c.srcu.sda[s].lock_count[0] / 64 >
			    (uintptr_t)&c.srcu.sda[s - 1].unlock_count[1] / 64);
	/* Readers of c inside: a grace period of another domain returns. */
	synchronize_srcu(&other.srcu);
	for (int i = 0; i < 2; i++) {
		__atomic_store_n(&r[i].release, 1, __ATOMIC_RELAXED);
		assert_int_equal(kthread_stop(t[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		struct srcu_data *d = &c.srcu.sda[r[i].cpu];

		assert_int_equal(count_of(&d->unlock_count[idx]),
				 count_of(&d->lock_count[idx]));
	}
	synchronize_srcu(&c.srcu);
	cleanup_srcu_struct(&other.srcu);
	cleanup_srcu_struct(&c.srcu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spinlock_excl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mutex_excl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rwsem_excl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rwlock_excl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pcpu_rwlock_excl, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rwsem_readers_share, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rwsem_writer_not_starved,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_rwsem_downgrade, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_trylocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_event, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_kthread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_srcu_synchronize, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_srcu_callbacks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_srcu_per_cpu_readers,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
