// SPDX-License-Identifier: MIT
/*
 * Real threads hammering one address space: faults, COW, munmap/mmap,
 * mprotect, madvise, fork, GUP pins and rmap unmapping at the same time,
 * with a recording subscriber attached.  Run under ThreadSanitizer this is
 * the test of the primary MMU's locking; in any build it checks that no
 * subscriber ever sees an end without its start, that the model never
 * warns, and that every frame comes back once everything is torn down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mm/internal.h"
#include "mn_recorder.h"

#define NR_PAGES 64
#define ITERS 400

struct shared {
	struct mm_struct *mm;
	unsigned long priv, shm;
	atomic_t errors;
};

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static unsigned long pick(struct shared *sh, unsigned int *seed)
{
	unsigned long base = rnd(seed) & 1 ? sh->priv : sh->shm;

	return base + (rnd(seed) % NR_PAGES) * PAGE_SIZE;
}

/* Loads and stores; -EFAULT is fine (the range may be protected). */
static int cpu_thread(void *arg)
{
	struct shared *sh = arg;
	unsigned int seed = task_pid(current) * 7919u;

	for (int i = 0; i < ITERS * 4; i++) {
		unsigned long a = pick(sh, &seed);
		u64 v;
		int ret = rnd(&seed) & 1 ? cpu_write_u64(sh->mm, a, i)
					 : cpu_read_u64(sh->mm, a, &v);

		if (ret && ret != -EFAULT)
			atomic_inc(&sh->errors);
	}
	return 0;
}

static int churn_thread(void *arg)
{
	struct shared *sh = arg;
	unsigned int seed = 4242;

	for (int i = 0; i < ITERS; i++) {
		unsigned long a = pick(sh, &seed);
		unsigned long len = (1 + rnd(&seed) % 4) * PAGE_SIZE;
		unsigned long base = a < sh->shm ? sh->priv : sh->shm;

		if (a + len > base + NR_PAGES * PAGE_SIZE)
			len = base + NR_PAGES * PAGE_SIZE - a;
		switch (rnd(&seed) % 5) {
		case 0:
			do_madvise(sh->mm, a, len, MADV_DONTNEED);
			break;
		case 1:
			do_mprotect(sh->mm, a, len, PROT_READ);
			break;
		case 2:
			do_mprotect(sh->mm, a, len, PROT_READ | PROT_WRITE);
			break;
		case 3:
			if (base == sh->priv)
				do_madvise(sh->mm, a, len, MADV_FREE);
			break;
		case 4:
			/* Replace the pages with fresh ones, same protection. */
			vm_mmap(sh->mm, a, len, PROT_READ | PROT_WRITE,
				MAP_FIXED | MAP_ANONYMOUS |
					(base == sh->priv ? MAP_PRIVATE
							  : MAP_SHARED));
			break;
		}
	}
	return 0;
}

static int fork_thread(void *arg)
{
	struct shared *sh = arg;
	unsigned int seed = 99;

	for (int i = 0; i < ITERS / 8; i++) {
		struct mm_struct *child = dup_mm(sh->mm);

		if (IS_ERR(child)) {
			atomic_inc(&sh->errors);
			continue;
		}
		for (int j = 0; j < 8; j++)
			cpu_write_u64(child, pick(sh, &seed), j);
		mmput(child);
	}
	return 0;
}

static int gup_thread(void *arg)
{
	struct shared *sh = arg;
	unsigned int seed = 7;

	for (int i = 0; i < ITERS; i++) {
		unsigned long a = pick(sh, &seed);
		bool pin = rnd(&seed) & 1;
		unsigned int flags = rnd(&seed) & 1 ? FOLL_WRITE : 0;
		struct page *page;
		long n;

		mmap_read_lock(sh->mm);
		n = pin ? pin_user_pages_remote(sh->mm, a, 1, flags, &page)
			: get_user_pages_remote(sh->mm, a, 1, flags, &page);
		mmap_read_unlock(sh->mm);
		if (n != 1)
			continue;
		/* A secondary MMU would map it; then, without notifiers,
		 * try to take it away through the rmap. */
		if (!pin && (rnd(&seed) & 3) == 0) {
			lock_page(page);
			try_to_unmap(page);
			unlock_page(page);
		}
		if (pin)
			unpin_user_page(page);
		else
			put_page(page);
	}
	return 0;
}

static void test_concurrent_churn(void **state)
{
	struct host_config cfg = { 8192, HOST_CONTENT_DATA, CHANGE_PTE_NONE };
	struct task_struct *t[6];
	struct shared sh = { 0 };
	struct rec_sub sub;
	unsigned long warns = warn_count();
	struct host *host;

	(void)state;
	host = host_create(&cfg);
	assert_false(IS_ERR(host));
	sh.mm = mm_alloc(host);
	assert_false(IS_ERR(sh.mm));
	sh.priv = vm_mmap(sh.mm, 0, NR_PAGES * PAGE_SIZE,
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	sh.shm = vm_mmap(sh.mm, 0, NR_PAGES * PAGE_SIZE,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	assert_true((long)sh.priv > 0 && (long)sh.shm > 0);
	rec_sub_init(&sub, &rec_ops, 1, NULL);
	assert_int_equal(mmu_notifier_register(&sub.mn, sh.mm), 0);

	t[0] = kthread_run(cpu_thread, &sh, "cpu0");
	t[1] = kthread_run(cpu_thread, &sh, "cpu1");
	t[2] = kthread_run(churn_thread, &sh, "churn");
	t[3] = kthread_run(fork_thread, &sh, "fork");
	t[4] = kthread_run(gup_thread, &sh, "gup");
	t[5] = kthread_run(cpu_thread, &sh, "cpu2");
	for (int i = 0; i < 6; i++) {
		assert_false(IS_ERR(t[i]));
		kthread_stop(t[i]);
	}
	assert_int_equal(atomic_read(&sh.errors), 0);
	assert_int_equal(atomic_read(&sub.orphan_ends), 0);
	assert_int_equal(atomic_read(&sub.open), 0);
	assert_true(atomic_read(&sub.nr_start) > 0);
	assert_int_equal(atomic_read(&sub.nr_start), atomic_read(&sub.nr_end));

	mmu_notifier_unregister(&sub.mn, sh.mm);
	mmput(sh.mm);
	mmu_notifier_synchronize();
	assert_int_equal(warn_count(), warns);
	/* Every frame is back: nothing leaked, nothing freed twice. */
	assert_int_equal(host_nr_free_frames(host), cfg.nr_frames - 1);
	assert_int_equal(host_destroy(host), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
