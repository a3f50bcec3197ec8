// SPDX-License-Identifier: MIT
/*
 * GUP-fast (get_user_pages_fast_only()): what it refuses, and, under a
 * bounded-exhaustive search of the deterministic scheduler (every
 * schedule with at most one preemption), that a page it returns is the
 * page the address mapped when it was taken, however the walk interleaves
 * with munmap, MADV_DONTNEED, exit, a THP split (32 PCT schedules) or a
 * migration that frees the page and hands its frame to another address.
 * The mutant gup-fast-no-recheck (no second look at the entries) fails
 * that against migration; against exit, so do page tables freed without
 * a grace period (a walk then reads a freed table).
 * Then KVM: a secondary fault of a mapped page completes while another
 * task holds the mmap_lock for writing (the fast path takes neither it
 * nor an mm_users reference).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include <mmulab/huge_mm.h>
#include <mmulab/kvm.h>
#include <mmulab/sched.h>
#include "mm/internal.h"

#define RW (PROT_READ | PROT_WRITE)
#define V1 0x1111000000000001ULL /* the page GUP-fast looks up */
#define V2 0x2222000000000002ULL /* what its frame may hold next */

static unsigned long map_anon(struct mm_struct *mm, unsigned long len)
{
	unsigned long a = vm_mmap(mm, 0, len, RW, MAP_PRIVATE | MAP_ANONYMOUS);

	assert_true((long)a > 0);
	return a;
}

/* The first word of @page's frame (its tag on a tag-mode host). */
static u64 frame_word(struct page *page)
{
	u64 *d = page_address(page);

	return d ? *d : page->tag;
}

static void test_refusals(void **state)
{
	struct host_config cfg = { 256, HOST_CONTENT_DATA, CHANGE_PTE_NONE };
	struct host *host = host_create(&cfg);
	struct mm_struct *mm;
	struct page *pages[4];
	unsigned long a;
	u64 v;

	(void)state;
	assert_false(IS_ERR(host));
	mm = mm_alloc(host);
	assert_false(IS_ERR(mm));
	a = map_anon(mm, 4 * PAGE_SIZE);

	/* Nothing mapped yet; bad arguments. */
	assert_int_equal(get_user_pages_fast_only(mm, a, 1, 0, pages), 0);
	assert_int_equal(get_user_pages_fast_only(mm, a + 8, 1, 0, pages),
			 -EINVAL);
	assert_int_equal(get_user_pages_fast_only(mm, a, 1, FOLL_FORCE, pages),
			 -EINVAL);
	assert_int_equal(get_user_pages_fast_only(mm, a, 1, 0, NULL), -EINVAL);
	assert_int_equal(get_user_pages_fast_only(mm, a, -1, 0, pages),
			 -EINVAL);

	/* A read fault maps the zero page: special, no reference to take. */
	assert_int_equal(cpu_read_u64(mm, a, &v), 0);
	assert_int_equal(get_user_pages_fast_only(mm, a, 1, 0, pages), 0);

	/* Two written pages: taken, with a reference, up to the hole. */
	assert_int_equal(cpu_write_u64(mm, a, V1), 0);
	assert_int_equal(cpu_write_u64(mm, a + PAGE_SIZE, V2), 0);
	assert_int_equal(get_user_pages_fast_only(mm, a, 4, FOLL_WRITE, pages),
			 2);
	assert_int_equal(frame_word(pages[0]), V1);
	assert_int_equal(frame_word(pages[1]), V2);
	assert_int_equal(page_ref_count(pages[0]), 2);
	put_page(pages[0]);
	put_page(pages[1]);

	/* Read-only: taken for reading, refused for writing. */
	assert_int_equal(do_mprotect(mm, a, PAGE_SIZE, PROT_READ), 0);
	assert_false(get_user_page_fast_only(mm, a, FOLL_WRITE, pages));
	assert_true(get_user_page_fast_only(mm, a, 0, pages));
	put_page(pages[0]);
	/* PROT_NONE: refused. */
	assert_int_equal(do_mprotect(mm, a, PAGE_SIZE, PROT_NONE), 0);
	assert_false(get_user_page_fast_only(mm, a, 0, pages));

	mmput(mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(host), cfg.nr_frames - 1);
	assert_int_equal(host_destroy(host), 0);
}

/* ---------------------------------------------------------------------
 * GUP-fast against what takes the page away, every schedule
 */

enum op { OP_MUNMAP, OP_ZAP, OP_EXIT, OP_SPLIT, OP_MIGRATE };

struct gf_run {
	enum op op;
	struct host *host;
	struct mm_struct *mm, *other;
	unsigned long addr;	/* the page GUP-fast looks up (holds V1) */
	unsigned long next;	/* where the racing task writes V2 next */
	unsigned long want_pfn; /* for a split: the frame @addr must give */
	struct page *page;
};

static int gup_task(void *arg)
{
	struct gf_run *r = arg;
	struct page *page;

	if (get_user_page_fast_only(r->mm, r->addr, FOLL_WRITE, &page))
		r->page = page;
	return 0;
}

static int op_task(void *arg)
{
	struct gf_run *r = arg;
	unsigned long new_pfn;
	pte_t pte;

	switch (r->op) {
	case OP_MUNMAP:
		assert_int_equal(vm_munmap(r->mm, r->addr, PAGE_SIZE), 0);
		break;
	case OP_ZAP:
		assert_int_equal(do_madvise(r->mm, r->addr, PAGE_SIZE,
					    MADV_DONTNEED),
				 0);
		break;
	case OP_EXIT:
		mmput(r->mm); /* the last user: exit_mmap() */
		break;
	case OP_SPLIT: /* mprotect of one page of the 2 MiB splits it */
		assert_int_equal(do_mprotect(r->mm, r->addr + PAGE_SIZE,
					     PAGE_SIZE, PROT_READ),
				 0);
		break;
	case OP_MIGRATE:
		assert_int_equal(follow_pte(r->mm, r->addr, &pte), 0);
		(void)migrate_pfn(r->host, pte_pfn(pte), &new_pfn);
		break;
	}
	/* The frame just freed (the free list is LIFO) goes to @next. */
	assert_int_equal(cpu_write_u64(r->other, r->next, V2), 0);
	return 0;
}

/*
 * One schedule: the next of @s, or with no @s the PCT schedule of @seed.
 * True if GUP-fast returned a page it must not have.
 */
static bool gf_once(enum op op, struct host *host, struct det_search *s,
		    u64 seed, unsigned long *got)
{
	struct det_config dc = { .seed = seed,
				 .strategy = s ? DET_STRATEGY_BOUNDED
					       : DET_STRATEGY_PCT,
				 .search = s };
	struct gf_run r = { .op = op, .host = host };
	struct task_struct *t[2];
	struct det_result res;
	bool bad = false;
	pte_t pte;

	r.mm = mm_alloc(r.host);
	assert_false(IS_ERR(r.mm));
	if (op == OP_MUNMAP) {
		/* Alone in its 1 GiB, so munmap frees its tables too. */
		r.addr = vm_mmap(r.mm, 1UL << 30, PAGE_SIZE, RW,
				 MAP_PRIVATE | MAP_ANONYMOUS);
		assert_int_equal(r.addr, 1UL << 30);
	} else {
		r.addr = map_anon(r.mm, op == OP_SPLIT ? HPAGE_PMD_SIZE
						       : PAGE_SIZE);
	}
	r.other = op == OP_EXIT ? mm_alloc(r.host) : r.mm;
	assert_false(IS_ERR(r.other));
	r.next = map_anon(r.other, PAGE_SIZE);
	assert_int_equal(cpu_write_u64(r.mm, r.addr, V1), 0);
	assert_int_equal(follow_pte(r.mm, r.addr, &pte), 0);
	r.want_pfn = pte_pfn(pte);
	if (op == OP_EXIT)
		mmgrab(r.mm); /* GUP-fast's caller keeps the struct */

	assert_int_equal(det_begin(&dc), 0);
	t[0] = kthread_run(gup_task, &r, "gup-fast");
	t[1] = kthread_run(op_task, &r, "op");
	kthread_stop(t[0]);
	kthread_stop(t[1]);
	assert_int_equal(det_end(&res), 0);

	if (r.page) {
		/* The page @addr mapped: its frame, its data, referenced. */
		bad = (op == OP_SPLIT && page_to_pfn(r.page) != r.want_pfn) ||
		      frame_word(r.page) != V1 || page_ref_count(r.page) < 1;
		(*got)++;
		put_page(r.page);
	}
	if (op == OP_EXIT)
		mmdrop(r.mm);
	else
		mmput(r.mm);
	if (r.other != r.mm)
		mmput(r.other);
	/* Every frame back, so that each run starts from the same host. */
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(host),
			 host_config_of(host)->nr_frames - 1);
	return bad;
}

/*
 * A host for a whole search, one run after another: a host per run cost
 * more than the runs.  A huge page needs 512 frames: tags, not bytes.
 */
static struct host *gf_host(enum op op)
{
	struct host_config cfg = { op == OP_SPLIT ? 1024 : 64,
				   op == OP_SPLIT ? HOST_CONTENT_TAG
						  : HOST_CONTENT_DATA,
				   CHANGE_PTE_NONE };
	struct host *host = host_create(&cfg);

	assert_false(IS_ERR(host));
	if (op == OP_SPLIT)
		assert_int_equal(host_set_thp(host, THP_ALWAYS), 0);
	return host;
}

/*
 * Every schedule with one preemption (up to the first that went wrong,
 * with @stop); the number that went wrong.
 */
static unsigned long gf_search(enum op op, bool stop, unsigned long *runs,
			       unsigned long *got)
{
	struct det_search *s = det_search_create(1);
	struct host *host = gf_host(op);
	unsigned long bad = 0;

	*runs = *got = 0;
	do {
		bad += gf_once(op, host, s, 0, got);
		(*runs)++;
	} while (!(stop && bad) && det_search_next(s));
	det_search_destroy(s);
	assert_int_equal(host_destroy(host), 0);
	return bad;
}

static void gf_expect_clean(enum op op)
{
	unsigned long runs, got;

	assert_int_equal(gf_search(op, false, &runs, &got), 0);
	/* Both outcomes happen: some schedules take the page, some not. */
	assert_true(got > 0);
	assert_true(got < runs);
}

static void test_vs_munmap(void **state)
{
	(void)state;
	gf_expect_clean(OP_MUNMAP);
}

static void test_vs_zap(void **state)
{
	(void)state;
	gf_expect_clean(OP_ZAP);
}

static void test_vs_exit(void **state)
{
	(void)state;
	gf_expect_clean(OP_EXIT);
}

/*
 * The split writes 512 PTEs, each a scheduling point, which makes the
 * one-preemption search long (1,876 schedules): 32 PCT schedules instead.
 * Nothing is freed: the page is always taken, and always the right one.
 */
static void test_vs_split(void **state)
{
	struct host *host = gf_host(OP_SPLIT);
	unsigned long got = 0;

	(void)state;
	for (u64 seed = 1; seed <= 32; seed++)
		assert_false(gf_once(OP_SPLIT, host, NULL, seed, &got));
	assert_int_equal(got, 32);
	assert_int_equal(host_destroy(host), 0);
}

static void test_vs_migrate(void **state)
{
	(void)state;
	gf_expect_clean(OP_MIGRATE);
}

/* Without the second look, a schedule returns the frame's next page. */
static void test_mutant_no_recheck(void **state)
{
	unsigned long runs, got;

	(void)state;
	mutant_set(MUTANT_GUP_FAST_NO_RECHECK);
	assert_true(gf_search(OP_MIGRATE, true, &runs, &got) > 0);
	mutant_set(MUTANT_NONE);
}

/* ---------------------------------------------------------------------
 * KVM's fault takes the fast path
 */

struct vcpu_reader {
	struct kvm_vcpu *vcpu;
	u64 val;
	int ret;
	int done;
};

static void *vcpu_read(void *arg)
{
	struct vcpu_reader *v = arg;

	v->ret = kvm_vcpu_read_u64(v->vcpu, 0, &v->val);
	__atomic_store_n(&v->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_kvm_fault_without_mmap_lock(void **state)
{
	struct host_config cfg = { 256, HOST_CONTENT_DATA, CHANGE_PTE_NONE };
	struct host *host = host_create(&cfg);
	struct kvm_userspace_memory_region mr = { 0 };
	struct vcpu_reader v = { 0 };
	struct mm_struct *mm;
	struct kvm *kvm;
	pthread_t thread;
	int done = 0;

	(void)state;
	assert_false(IS_ERR(host));
	mm = mm_alloc(host);
	assert_false(IS_ERR(mm));
	mr.userspace_addr = map_anon(mm, PAGE_SIZE);
	mr.memory_size = PAGE_SIZE;
	assert_int_equal(cpu_write_u64(mm, mr.userspace_addr, V1), 0);
	kvm = kvm_create_vm(mm, 0);
	assert_false(IS_ERR(kvm));
	assert_int_equal(kvm_set_user_memory_region(kvm, &mr), 0);
	v.vcpu = kvm_vcpu_create(kvm);
	assert_false(IS_ERR(v.vcpu));

	/* The slow path would wait for this lock; the fast path does not. */
	mmap_write_lock(mm);
	assert_int_equal(pthread_create(&thread, NULL, vcpu_read, &v), 0);
	for (int i = 0; i < 2000 && !done; i++) {
		struct timespec ts = { 0, 5000000 };

		nanosleep(&ts, NULL);
		done = __atomic_load_n(&v.done, __ATOMIC_ACQUIRE);
	}
	mmap_write_unlock(mm);
	pthread_join(thread, NULL);
	assert_true(done);
	assert_int_equal(v.ret, 0);
	assert_int_equal(v.val, V1);

	kvm_destroy_vm(kvm);
	mmput(mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(host), cfg.nr_frames - 1);
	assert_int_equal(host_destroy(host), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_vs_munmap),
		cmocka_unit_test(test_vs_zap),
		cmocka_unit_test(test_vs_exit),
		cmocka_unit_test(test_vs_split),
		cmocka_unit_test(test_vs_migrate),
		cmocka_unit_test(test_mutant_no_recheck),
		cmocka_unit_test(test_kvm_fault_without_mmap_lock),
	};

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
