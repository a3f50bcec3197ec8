// SPDX-License-Identifier: MIT
/*
 * rwlock_t with per-CPU readers (percpu_rwlock_init()), KVM's mmu_lock:
 * with real threads a reader counts in its own CPU slot only, a writer
 * waits for every reader to leave and keeps new ones out, trylocks and
 * writers mix with readers without ever overlapping; in a deterministic
 * run the lock is the plain reader-writer word.
 *
 * Worker threads report through TASK_CHECK() (cmocka's assertions only
 * work on the test thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <mmulab/bug.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>

#include "task_check.h"
#include "wait_until.h"

static int teardown(void **state)
{
	(void)state;
	task_checks_teardown();
	return 0;
}

static u32 readers_in(rwlock_t *lock, unsigned int c)
{
	return __atomic_load_n(&lock->slot[c].readers, __ATOMIC_RELAXED);
}

static u32 word_of(rwlock_t *lock)
{
	return __atomic_load_n(&lock->sem.val, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------
 * Slot isolation, and a writer against readers it must wait for
 */

struct holder {
	rwlock_t *lock;
	bool write;
	unsigned int cpu;
	int inside, release;
};

/* Spin (a rwlock_t holder must not sleep) until told, or for LONG_MS. */
static bool spin_until_released(struct holder *h)
{
	u64 end = now_ms() + LONG_MS;

	while (!__atomic_load_n(&h->release, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			return false;
		cpu_relax();
	}
	return true;
}

/* Hold @h->lock (read or write) until told to release it. */
static int hold(void *arg)
{
	struct holder *h = arg;

	if (h->write)
		write_lock(h->lock);
	else
		read_lock(h->lock);
	h->cpu = stat_cpu();
	__atomic_store_n(&h->inside, 1, __ATOMIC_RELEASE);
	TASK_CHECK(spin_until_released(h));
	__atomic_store_n(&h->inside, 0, __ATOMIC_RELEASE);
	if (h->write)
		write_unlock(h->lock);
	else
		read_unlock(h->lock);
	return 0;
}

static bool is_inside(struct holder *h)
{
	return __atomic_load_n(&h->inside, __ATOMIC_ACQUIRE);
}

static void release(struct holder *h, struct task_struct *t)
{
	__atomic_store_n(&h->release, 1, __ATOMIC_RELEASE);
	assert_int_equal(kthread_stop(t), 0);
}

/*
 * Two readers inside: each counted in its own slot and nowhere else (two
 * threads may share a slot), the word untouched, the slots and the word
 * on lines of their own.
 */
static void test_reader_slots(void **state)
{
	rwlock_t lock;
	struct holder r[2] = { { .lock = &lock }, { .lock = &lock } };
	struct task_struct *t[2];

	(void)state;
	percpu_rwlock_init(&lock);
	for (int i = 0; i < 2; i++) {
		t[i] = kthread_run(hold, &r[i], "reader");
		assert_true(WAIT_UNTIL(is_inside(&r[i]), LONG_MS));
	}
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		assert_int_equal(readers_in(&lock, c),
				 (c == r[0].cpu) + (c == r[1].cpu));
	assert_int_equal(word_of(&lock), 0);
	/* The writer scans the slots handed out so far, no more. */
	assert_true(lock.nr_slots > r[0].cpu && lock.nr_slots > r[1].cpu);
	assert_true((uintptr_t)&lock.slot[0].readers / 64 >
		    (uintptr_t)&lock.nr_slots / 64);
	for (unsigned int c = 1; c < STAT_NR_CPUS; c++)
		assert_true((uintptr_t)&lock.slot[c].readers / 64 >
			    (uintptr_t)&lock.slot[c - 1].readers / 64);
	for (int i = 0; i < 2; i++)
		release(&r[i], t[i]);
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		assert_int_equal(readers_in(&lock, c), 0);
}

/*
 * A writer waits for the reader inside, and keeps new readers out until
 * it leaves; trylocks fail while the other side holds the lock.
 */
static void test_writer_waits_for_readers(void **state)
{
	rwlock_t lock;
	struct holder r = { .lock = &lock }, w = { .lock = &lock, .write = true };
	struct holder late = { .lock = &lock };
	struct task_struct *tr, *tw, *tl;

	(void)state;
	percpu_rwlock_init(&lock);
	tr = kthread_run(hold, &r, "reader");
	assert_true(WAIT_UNTIL(is_inside(&r), LONG_MS));
	assert_false(write_trylock(&lock));
	tw = kthread_run(hold, &w, "writer");
	/* The writer has the word: a trylock for read now fails... */
	assert_true(WAIT_UNTIL(word_of(&lock) & (1U << 30), LONG_MS));
	assert_false(read_trylock(&lock));
	/* ...but it is not inside while the reader is. */
	msleep(20);
	assert_false(is_inside(&w));
	release(&r, tr);
	assert_true(WAIT_UNTIL(is_inside(&w), LONG_MS));
	/* A reader arriving now waits for the writer. */
	tl = kthread_run(hold, &late, "late reader");
	msleep(20);
	assert_false(is_inside(&late));
	release(&w, tw);
	assert_true(WAIT_UNTIL(is_inside(&late), LONG_MS));
	assert_true(read_trylock(&lock));
	read_unlock(&lock);
	release(&late, tl);
	assert_true(write_trylock(&lock));
	write_unlock(&lock);
	assert_int_equal(word_of(&lock), 0);
}

/* ---------------------------------------------------------------------
 * Readers, writers and trylocks of both kinds mixed at random
 */

#define MIX_THREADS 4
#define MIX_ITERS 20000

struct mix {
	rwlock_t lock;
	int readers, writers;	/* inside, atomics the holders check */
	unsigned long counter;	/* written by writers under the lock alone */
	unsigned long writes[MIX_THREADS];
};

struct mixer {
	struct mix *m;
	int id;
};

static void mix_read(struct mix *m)
{
	__atomic_fetch_add(&m->readers, 1, __ATOMIC_RELAXED);
	TASK_CHECK(!__atomic_load_n(&m->writers, __ATOMIC_RELAXED));
	(void)*(volatile unsigned long *)&m->counter;
	__atomic_fetch_sub(&m->readers, 1, __ATOMIC_RELAXED);
}

static void mix_write(struct mix *m, int id)
{
	TASK_CHECK(__atomic_add_fetch(&m->writers, 1, __ATOMIC_RELAXED) == 1);
	TASK_CHECK(!__atomic_load_n(&m->readers, __ATOMIC_RELAXED));
	m->counter++;
	m->writes[id]++;
	__atomic_sub_fetch(&m->writers, 1, __ATOMIC_RELAXED);
}

static int mixer(void *arg)
{
	struct mixer *x = arg;
	struct mix *m = x->m;
	u32 r = 0x9e3779b9u * (u32)(x->id + 1);

	for (int i = 0; i < MIX_ITERS; i++) {
		r = r * 1103515245u + 12345u;
		switch ((r >> 16) % 16) {
		case 0:
			write_lock(&m->lock);
			mix_write(m, x->id);
			write_unlock(&m->lock);
			break;
		case 1:
			if (write_trylock(&m->lock)) {
				mix_write(m, x->id);
				write_unlock(&m->lock);
			}
			break;
		case 2:
			if (read_trylock(&m->lock)) {
				mix_read(m);
				read_unlock(&m->lock);
			}
			break;
		default:
			read_lock(&m->lock);
			mix_read(m);
			read_unlock(&m->lock);
			break;
		}
	}
	return 0;
}

static void test_mixed_stress(void **state)
{
	static struct mix m;
	struct mixer x[MIX_THREADS];
	struct task_struct *t[MIX_THREADS];
	unsigned long writes = 0;

	(void)state;
	memset(&m, 0, sizeof(m));
	percpu_rwlock_init(&m.lock);
	for (int i = 0; i < MIX_THREADS; i++) {
		x[i] = (struct mixer){ .m = &m, .id = i };
		t[i] = kthread_run(mixer, &x[i], "mixer");
		assert_false(IS_ERR_OR_NULL(t[i]));
	}
	for (int i = 0; i < MIX_THREADS; i++)
		assert_int_equal(kthread_stop(t[i]), 0);
	for (int i = 0; i < MIX_THREADS; i++)
		writes += m.writes[i];
	assert_true(writes > 0);
	assert_int_equal(m.counter, writes);
	assert_int_equal(word_of(&m.lock), 0);
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		assert_int_equal(readers_in(&m.lock, c), 0);
}

/* ---------------------------------------------------------------------
 * Deterministic runs: the word, as for every rwlock_t
 */

struct det_readers {
	rwlock_t lock;
	int inside;
	u32 word_seen;
	u32 slots_seen;
};

static int det_reader(void *arg)
{
	struct det_readers *d = arg;

	read_lock(&d->lock);
	__atomic_fetch_add(&d->inside, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&d->inside, __ATOMIC_RELAXED) < 2)
		cpu_relax();
	/* Both inside: count them in the word and the slots. */
	d->word_seen = word_of(&d->lock) & 0xffff;
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		d->slots_seen += readers_in(&d->lock, c);
	read_unlock(&d->lock);
	return 0;
}

static void test_det_uses_word(void **state)
{
	struct det_config cfg = { .seed = 5, .strategy = DET_STRATEGY_RANDOM };
	struct det_readers d = { .inside = 0 };
	struct task_struct *t[2];
	struct det_result res;

	(void)state;
	percpu_rwlock_init(&d.lock);
	assert_int_equal(det_begin(&cfg), 0);
	for (int i = 0; i < 2; i++)
		t[i] = kthread_run(det_reader, &d, "reader");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	assert_int_equal(det_end(&res), 0);
	assert_int_equal(d.word_seen, 2);
	assert_int_equal(d.slots_seen, 0);
	assert_int_equal(word_of(&d.lock), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reader_slots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_writer_waits_for_readers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_stress, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_det_uses_word, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
