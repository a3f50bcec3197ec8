// SPDX-License-Identifier: MIT
/*
 * The primary MMU under the deterministic scheduler: a run of concurrent
 * faults, COW, unmapping and GUP replays exactly from its seed (same
 * scheduler log, same notifier calls in the same order, same memory), and
 * different seeds explore different interleavings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <xxhash.h>

#include <mmulab/sched.h>
#include "mm/internal.h"
#include "mn_recorder.h"

#define NR_PAGES 16

struct run {
	struct mm_struct *mm;
	unsigned long base;
	unsigned int seed;
};

struct outcome {
	u64 sched_hash;
	u64 log_hash;
	u64 mem_hash;
	unsigned int log_len;
};

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static int writer(void *arg)
{
	struct run *r = arg;
	unsigned int s = r->seed;

	for (int i = 0; i < 40; i++)
		cpu_write_u64(r->mm, r->base + (rnd(&s) % NR_PAGES) * PAGE_SIZE,
			      i + 1);
	return 0;
}

static int churner(void *arg)
{
	struct run *r = arg;
	unsigned int s = r->seed + 1;

	for (int i = 0; i < 12; i++) {
		unsigned long a = r->base + (rnd(&s) % (NR_PAGES - 2)) * PAGE_SIZE;

		switch (rnd(&s) % 3) {
		case 0:
			do_madvise(r->mm, a, 2 * PAGE_SIZE, MADV_DONTNEED);
			break;
		case 1:
			do_mprotect(r->mm, a, 2 * PAGE_SIZE, PROT_READ);
			do_mprotect(r->mm, a, 2 * PAGE_SIZE,
				    PROT_READ | PROT_WRITE);
			break;
		case 2: {
			struct mm_struct *child = dup_mm(r->mm);

			if (!IS_ERR(child))
				mmput(child);
			break;
		}
		}
	}
	return 0;
}

static int gupper(void *arg)
{
	struct run *r = arg;
	unsigned int s = r->seed + 2;

	for (int i = 0; i < 20; i++) {
		struct page *page;

		if (get_user_pages_unlocked(r->mm,
					    r->base + (rnd(&s) % NR_PAGES) *
							      PAGE_SIZE,
					    1, &page, FOLL_WRITE) == 1)
			put_page(page);
	}
	return 0;
}

static void run_once(u64 seed, enum det_strategy strategy, struct outcome *o)
{
	struct host_config cfg = { 512, HOST_CONTENT_DATA, CHANGE_PTE_NONE };
	struct det_config dc = { .seed = seed, .strategy = strategy };
	struct task_struct *t[3];
	struct det_result res;
	struct rec_log *log = malloc(sizeof(*log));
	struct rec_sub sub;
	struct host *host;
	struct run r;

	assert_non_null(log);
	host = host_create(&cfg);
	assert_false(IS_ERR(host));
	r.mm = mm_alloc(host);
	assert_false(IS_ERR(r.mm));
	r.base = vm_mmap(r.mm, 0, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	r.seed = 17;
	rec_log_init(log);
	rec_sub_init(&sub, &rec_ops, 1, log);
	assert_int_equal(mmu_notifier_register(&sub.mn, r.mm), 0);

	assert_int_equal(det_begin(&dc), 0);
	t[0] = kthread_run(writer, &r, "writer");
	t[1] = kthread_run(churner, &r, "churner");
	t[2] = kthread_run(gupper, &r, "gup");
	for (int i = 0; i < 3; i++)
		kthread_stop(t[i]);
	assert_int_equal(det_end(&res), 0);

	assert_false(log->overflow);
	assert_int_equal(atomic_read(&sub.orphan_ends), 0);
	o->sched_hash = res.log_hash;
	o->log_len = log->n;
	o->log_hash = XXH64(log->e, log->n * sizeof(log->e[0]), 0);
	o->mem_hash = 0;
	for (int i = 0; i < NR_PAGES; i++) {
		u64 v = 0;

		cpu_read_u64(r.mm, r.base + i * PAGE_SIZE, &v);
		o->mem_hash = o->mem_hash * 1000003u + v;
	}
	mmu_notifier_unregister(&sub.mn, r.mm);
	mmput(r.mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(host), 0);
	free(log);
}

static void test_replay(void **state)
{
	static const enum det_strategy strategies[] = {
		DET_STRATEGY_RANDOM, DET_STRATEGY_PCT };

	(void)state;
	for (unsigned int s = 0; s < 2; s++) {
		struct outcome a, b;

		run_once(12345, strategies[s], &a);
		run_once(12345, strategies[s], &b);
		assert_true(a.log_len > 0);
		assert_int_equal(a.sched_hash, b.sched_hash);
		assert_int_equal(a.log_len, b.log_len);
		assert_int_equal(a.log_hash, b.log_hash);
		assert_int_equal(a.mem_hash, b.mem_hash);
	}
}

static void test_seeds_differ(void **state)
{
	u64 hashes[8];
	unsigned int distinct = 0;

	(void)state;
	for (unsigned int i = 0; i < 8; i++) {
		struct outcome o;

		run_once(1000 + i, DET_STRATEGY_RANDOM, &o);
		hashes[i] = o.log_hash ^ o.sched_hash;
		bool seen = false;

		for (unsigned int j = 0; j < i; j++)
			seen |= hashes[j] == hashes[i];
		distinct += !seen;
	}
	assert_true(distinct >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_seeds_differ),
	};

	warn_set_quiet(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
