// SPDX-License-Identifier: MIT
/*
 * Primary MMU tests: every operation's data semantics, and the exact
 * notifier calls it makes (event, range, blockable flag, order relative to
 * the TLB flush and to the freeing of pages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mm/pgtable.h"
#include "mn_recorder.h"
#include "cpu_access.h"

#define NR_FRAMES 4096

struct env {
	struct host *host;
	struct mm_struct *mm;
	struct rec_log log;
	struct rec_sub sub;
};

static struct env *env_new(unsigned long frames, enum host_content content,
			   enum change_pte_mode mode)
{
	struct host_config cfg = { frames, content, mode };
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->host = host_create(&cfg);
	assert_false(IS_ERR(e->host));
	e->mm = mm_alloc(e->host);
	assert_false(IS_ERR(e->mm));
	rec_log_init(&e->log);
	rec_sub_init(&e->sub, &rec_ops, 1, &e->log);
	assert_int_equal(mmu_notifier_register(&e->sub.mn, e->mm), 0);
	return e;
}

static void env_free(struct env *e)
{
	if (e->mm) {
		mmu_notifier_unregister(&e->sub.mn, e->mm);
		mmput(e->mm);
	}
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(e->host), 0);
	free(e);
}

static unsigned long map(struct mm_struct *mm, unsigned long len, int prot,
			 int flags)
{
	long addr = vm_mmap(mm, 0, len, prot, flags | MAP_ANONYMOUS);

	assert_true(addr > 0);
	return addr;
}

#define RW (PROT_READ | PROT_WRITE)

/* The log holds exactly one start/end pair for @mm_range and nothing else. */
static void expect_pair(struct rec_log *log, unsigned int from,
			enum mmu_notifier_event ev, unsigned long start,
			unsigned long end)
{
	assert_int_equal(log->n, from + 2);
	assert_int_equal(log->e[from].cb, REC_START);
	assert_int_equal(log->e[from].event, ev);
	assert_int_equal(log->e[from].start, start);
	assert_int_equal(log->e[from].end, end);
	assert_int_equal(log->e[from].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	assert_int_equal(log->e[from + 1].cb, REC_END);
	assert_int_equal(log->e[from + 1].event, ev);
	assert_int_equal(log->e[from + 1].start, start);
	assert_int_equal(log->e[from + 1].end, end);
}

/* ---------------------------------------------------------------------
 * munmap
 */

static unsigned long free_at_end;

static void capture_free_at_end(struct rec_sub *sub, enum rec_cb cb,
				const struct mmu_notifier_range *range)
{
	(void)range;
	if (cb == REC_END)
		free_at_end = host_nr_free_frames(
			mm_host(sub->mn.mm));
}

static void test_munmap_sequence(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 8 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long before;

	(void)state;
	for (int i = 0; i < 8; i++)
		wr(e->mm, a + i * PAGE_SIZE, 100 + i);
	before = host_nr_free_frames(e->host);
	e->log.n = 0;
	e->sub.hook = capture_free_at_end;
	assert_int_equal(vm_munmap(e->mm, a + 2 * PAGE_SIZE, 3 * PAGE_SIZE), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_UNMAP, a + 2 * PAGE_SIZE,
		    a + 5 * PAGE_SIZE);
	/* A small zap frees its batch after end, never before start. */
	assert_int_equal(free_at_end, before);
	assert_true(host_nr_free_frames(e->host) >= before + 3);
	/* Neighbours intact, the hole faults. */
	assert_int_equal(rd(e->mm, a + PAGE_SIZE), 101);
	assert_int_equal(rd(e->mm, a + 5 * PAGE_SIZE), 105);
	u64 v;
	assert_int_equal(cpu_read_u64(e->mm, a + 3 * PAGE_SIZE, &v), -EFAULT);
	e->sub.hook = NULL;
	env_free(e);
}

/* A big zap flushes and frees a full batch inside start/end. */
static void test_munmap_frees_mid_range(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_TAG, CHANGE_PTE_NONE);
	unsigned long n = MMU_GATHER_BATCH * 2 + 10;
	unsigned long a = map(e->mm, n * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long before;

	(void)state;
	for (unsigned long i = 0; i < n; i++)
		wr(e->mm, a + i * PAGE_SIZE, i);
	before = host_nr_free_frames(e->host);
	e->sub.hook = capture_free_at_end;
	assert_int_equal(vm_munmap(e->mm, a, n * PAGE_SIZE), 0);
	assert_true(free_at_end >= before + 2 * MMU_GATHER_BATCH);
	assert_true(host_nr_free_frames(e->host) >= before + n);
	e->sub.hook = NULL;
	env_free(e);
}

/* The TLB flush (and arch_invalidate_secondary_tlbs) follows end. */
static void test_munmap_arch_invalidate_order(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);
	struct rec_sub sva;

	(void)state;
	rec_sub_init(&sva, &rec_ops_arch, 2, &e->log);
	assert_int_equal(mmu_notifier_register(&sva.mn, e->mm), 0);
	wr(e->mm, a, 1);
	wr(e->mm, a + 3 * PAGE_SIZE, 2);
	e->log.n = 0;
	assert_int_equal(vm_munmap(e->mm, a, 4 * PAGE_SIZE), 0);
	assert_int_equal(e->log.n, 3);
	assert_int_equal(e->log.e[0].cb, REC_START);
	assert_int_equal(e->log.e[1].cb, REC_END);
	assert_int_equal(e->log.e[2].cb, REC_ARCH_INVALIDATE);
	assert_int_equal(e->log.e[2].id, 2);
	assert_true(e->log.e[2].start <= a);
	assert_true(e->log.e[2].end >= a + 4 * PAGE_SIZE);
	mmu_notifier_unregister(&sva.mn, e->mm);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * madvise
 */

static void test_madvise_dontneed(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long s = map(e->mm, 2 * PAGE_SIZE, RW, MAP_SHARED);

	(void)state;
	wr(e->mm, a, 7);
	wr(e->mm, a + PAGE_SIZE, 8);
	wr(e->mm, s, 9);
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, a, PAGE_SIZE, MADV_DONTNEED), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + PAGE_SIZE);
	assert_int_equal(rd(e->mm, a), 0);
	assert_int_equal(rd(e->mm, a + PAGE_SIZE), 8);
	/* Shared memory: the mapping goes, the data stays. */
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, s, PAGE_SIZE, MADV_DONTNEED), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, s, s + PAGE_SIZE);
	assert_int_equal(rd(e->mm, s), 9);
	/* Holes and bad advice. */
	assert_int_equal(do_madvise(e->mm, a, 64 * PAGE_SIZE, MADV_DONTNEED),
			 -ENOMEM);
	assert_int_equal(do_madvise(e->mm, a, PAGE_SIZE, 12345), -EINVAL);
	assert_int_equal(do_madvise(e->mm, a + 1, PAGE_SIZE, MADV_DONTNEED),
			 -EINVAL);
	env_free(e);
}

static void test_madvise_free(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	pte_t pte;

	(void)state;
	wr(e->mm, a, 5);
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, a, 2 * PAGE_SIZE, MADV_FREE), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + 2 * PAGE_SIZE);
	assert_int_equal(follow_pte(e->mm, a, &pte), 0);
	assert_true(pte_present(pte));
	assert_false(pte_dirty(pte));
	assert_false(pte_young(pte));
	assert_int_equal(rd(e->mm, a), 5);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * mprotect
 */

static void test_mprotect(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);

	(void)state;
	wr(e->mm, a, 11);
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, a, 4 * PAGE_SIZE, PROT_READ), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_PROTECTION_VMA, a,
		    a + 4 * PAGE_SIZE);
	assert_int_equal(rd(e->mm, a), 11);
	assert_int_equal(cpu_write_u64(e->mm, a, 1), -EFAULT);
	/* Upgrades notify too. */
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, a, 4 * PAGE_SIZE, RW), 0);
	expect_pair(&e->log, 0, MMU_NOTIFY_PROTECTION_VMA, a,
		    a + 4 * PAGE_SIZE);
	wr(e->mm, a, 12);
	assert_int_equal(rd(e->mm, a), 12);
	/* PROT_NONE: no access at all; back to RW keeps the data. */
	assert_int_equal(do_mprotect(e->mm, a, PAGE_SIZE, PROT_NONE), 0);
	u64 v;
	assert_int_equal(cpu_read_u64(e->mm, a, &v), -EFAULT);
	assert_int_equal(do_mprotect(e->mm, a, PAGE_SIZE, PROT_READ), 0);
	assert_int_equal(rd(e->mm, a), 12);
	/* A hole is an error. */
	assert_int_equal(do_mprotect(e->mm, a, 1UL << 30, PROT_READ), -ENOMEM);
	assert_int_equal(do_mprotect(e->mm, a, PAGE_SIZE, 0x100), -EINVAL);
	/* The length rounds up to whole pages; the start must be aligned. */
	assert_int_equal(do_mprotect(e->mm, a + 8, PAGE_SIZE, RW), -EINVAL);
	assert_int_equal(do_mprotect(e->mm, a, 4 * PAGE_SIZE, PROT_READ), 0);
	assert_int_equal(do_mprotect(e->mm, a + PAGE_SIZE, 1, RW), 0);
	assert_int_equal(cpu_write_u64(e->mm, a + 2 * PAGE_SIZE - 8, 5), 0);
	assert_int_equal(cpu_write_u64(e->mm, a + 2 * PAGE_SIZE, 5), -EFAULT);
	env_free(e);
}

/* mprotect of a range whose upper-level tables do not exist sends nothing */
static void test_mprotect_unpopulated(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	long far = vm_mmap(e->mm, 0x400000000000UL, 4 * PAGE_SIZE, RW,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);

	(void)state;
	assert_true(far > 0);
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, far, 4 * PAGE_SIZE, PROT_READ), 0);
	assert_int_equal(e->log.n, 0);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Faults, COW, fork
 */

static void test_zero_page_and_cow_from_zero(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);

	(void)state;
	e->log.n = 0;
	assert_int_equal(rd(e->mm, a), 0);
	assert_true(is_zero_pfn(pfn_at(e->mm, a)));
	assert_int_equal(e->log.n, 0); /* a fill: no notification */
	wr(e->mm, a, 3);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + PAGE_SIZE);
	assert_false(is_zero_pfn(pfn_at(e->mm, a)));
	assert_int_equal(rd(e->mm, a), 3);
	env_free(e);
}

static void test_fork_cow(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long s = map(e->mm, PAGE_SIZE, RW, MAP_SHARED);
	struct mm_struct *child;
	unsigned long pfn;

	(void)state;
	wr(e->mm, a, 1);
	wr(e->mm, s, 2);
	pfn = pfn_at(e->mm, a);
	e->log.n = 0;
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	/* The parent's private VMA is write-protected under PROTECTION_PAGE;
	 * the shared one is not touched. */
	expect_pair(&e->log, 0, MMU_NOTIFY_PROTECTION_PAGE, a,
		    a + 4 * PAGE_SIZE);
	assert_int_equal(pfn_at(child, a), pfn);
	e->log.n = 0;
	wr(e->mm, a, 10);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + PAGE_SIZE);
	assert_int_not_equal(pfn_at(e->mm, a), pfn);
	assert_int_equal(rd(child, a), 1);
	assert_int_equal(rd(e->mm, a), 10);
	/* The child's write reuses the page now that it owns it alone. */
	wr(child, a, 20);
	assert_int_equal(pfn_at(child, a), pfn);
	assert_int_equal(rd(e->mm, a), 10);
	/* Shared memory is shared. */
	wr(child, s, 30);
	assert_int_equal(rd(e->mm, s), 30);
	mmput(child);
	assert_int_equal(rd(e->mm, s), 30);
	env_free(e);
}

static void test_gup_cow(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	struct mm_struct *child;
	struct page *page;
	unsigned long shared;

	(void)state;
	wr(e->mm, a, 1);
	wr(e->mm, a + PAGE_SIZE, 2);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	shared = pfn_at(child, a);
	/* A read GUP returns the shared page, takes a reference. */
	assert_int_equal(get_user_pages_unlocked(e->mm, a, 1, &page, 0), 1);
	assert_int_equal(page_to_pfn(page), shared);
	assert_int_equal(page_ref_count(page), 3);
	put_page(page);
	/* A write GUP breaks COW first (a CLEAR of that page). */
	e->log.n = 0;
	assert_int_equal(get_user_pages_unlocked(e->mm, a, 1, &page,
						 FOLL_WRITE),
			 1);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + PAGE_SIZE);
	assert_int_not_equal(page_to_pfn(page), shared);
	assert_int_equal(page_to_pfn(page), pfn_at(e->mm, a));
	assert_int_equal(page_read_u64(page, 0), 1);
	page_write_u64(page, 0, 77);
	put_page(page);
	assert_int_equal(rd(e->mm, a), 77);
	assert_int_equal(rd(child, a), 1);
	/* A read pin of a COW-shared page unshares it. */
	e->log.n = 0;
	mmap_read_lock(e->mm);
	assert_int_equal(pin_user_pages_remote(e->mm, a + PAGE_SIZE, 1, 0,
					       &page),
			 1);
	mmap_read_unlock(e->mm);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a + PAGE_SIZE,
		    a + 2 * PAGE_SIZE);
	assert_true(page_maybe_dma_pinned(page));
	assert_int_not_equal(page_to_pfn(page), pfn_at(child, a + PAGE_SIZE));
	unpin_user_page(page);
	assert_false(page_maybe_dma_pinned(page));
	/* Bad arguments. */
	assert_int_equal(get_user_pages_unlocked(e->mm, a + 1, 1, &page, 0),
			 -EINVAL);
	assert_int_equal(get_user_pages_unlocked(e->mm, 0x1000, 1, &page, 0),
			 -EFAULT);
	mmput(child);
	env_free(e);
}

/* A page pinned at fork stays the parent's; the child gets a copy. */
static void test_fork_pinned(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	struct mm_struct *child;
	struct page *page;

	(void)state;
	wr(e->mm, a, 5);
	mmap_read_lock(e->mm);
	assert_int_equal(pin_user_pages_remote(e->mm, a, 1, FOLL_WRITE,
					       &page),
			 1);
	mmap_read_unlock(e->mm);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	assert_int_equal(pfn_at(e->mm, a), page_to_pfn(page));
	assert_int_not_equal(pfn_at(child, a), page_to_pfn(page));
	assert_int_equal(rd(child, a), 5);
	/* The parent writes in place: no COW, the pin sees it. */
	e->log.n = 0;
	wr(e->mm, a, 6);
	assert_int_equal(e->log.n, 0);
	assert_int_equal(page_read_u64(page, 0), 6);
	assert_int_equal(rd(child, a), 5);
	unpin_user_page(page);
	mmput(child);
	env_free(e);
}

static void test_cpu_bytes_and_write_protect(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 3 * PAGE_SIZE, RW, MAP_PRIVATE);
	char buf[3 * PAGE_SIZE], out[3 * PAGE_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	/* A copy straddling page boundaries. */
	assert_int_equal(cpu_write(e->mm, a + 100, buf, sizeof(buf) - 200), 0);
	assert_int_equal(cpu_read(e->mm, a + 100, out, sizeof(buf) - 200), 0);
	assert_memory_equal(buf, out, sizeof(buf) - 200);
	assert_int_equal(cpu_read(e->mm, a + 3 * PAGE_SIZE - 8, out, 16),
			 -EFAULT);
	assert_int_equal(cpu_read_u64(e->mm, a + 4, (u64 *)out), -EINVAL);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * mremap
 */

static void test_mremap_move(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long blocker, pfn;
	long n;

	(void)state;
	blocker = vm_mmap(e->mm, a + 4 * PAGE_SIZE, PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	assert_int_equal(blocker, a + 4 * PAGE_SIZE);
	for (int i = 0; i < 4; i++)
		wr(e->mm, a + i * PAGE_SIZE, 40 + i);
	pfn = pfn_at(e->mm, a + PAGE_SIZE);
	e->log.n = 0;
	/* Cannot grow in place (blocked), so it moves. */
	n = do_mremap(e->mm, a, 4 * PAGE_SIZE, 8 * PAGE_SIZE, MREMAP_MAYMOVE,
		      0);
	assert_true(n > 0);
	assert_int_not_equal(n, a);
	expect_pair(&e->log, 0, MMU_NOTIFY_UNMAP, a, a + 4 * PAGE_SIZE);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd(e->mm, n + i * PAGE_SIZE), 40 + i);
	/* Pages moved, not copied. */
	assert_int_equal(pfn_at(e->mm, n + PAGE_SIZE), pfn);
	assert_int_equal(rd(e->mm, n + 6 * PAGE_SIZE), 0);
	u64 v;
	assert_int_equal(cpu_read_u64(e->mm, a, &v), -EFAULT);
	/* The moved pages still reverse-map: fork then COW works. */
	struct mm_struct *child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	wr(child, n, 99);
	assert_int_equal(rd(e->mm, n), 40);
	mmput(child);
	/* Shrink in place, bad arguments. */
	assert_int_equal(do_mremap(e->mm, n, 8 * PAGE_SIZE, 2 * PAGE_SIZE, 0,
				   0),
			 n);
	assert_int_equal(cpu_read_u64(e->mm, n + 3 * PAGE_SIZE, &v), -EFAULT);
	assert_int_equal(do_mremap(e->mm, n, PAGE_SIZE, PAGE_SIZE, 0x80, 0),
			 -EINVAL);
	assert_int_equal(do_mremap(e->mm, n, PAGE_SIZE, 2 * PAGE_SIZE,
				   MREMAP_FIXED, 0),
			 -EINVAL);
	env_free(e);
}

static void test_mremap_fixed_and_map_fixed(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long b = map(e->mm, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	long r;

	(void)state;
	wr(e->mm, a, 1);
	wr(e->mm, b, 2);
	e->log.n = 0;
	r = do_mremap(e->mm, a, 2 * PAGE_SIZE, 2 * PAGE_SIZE,
		      MREMAP_MAYMOVE | MREMAP_FIXED, b);
	assert_int_equal(r, b);
	/* First the target is unmapped, then the source moves. */
	assert_int_equal(e->log.n, 4);
	assert_int_equal(e->log.e[0].event, MMU_NOTIFY_UNMAP);
	assert_int_equal(e->log.e[0].start, b);
	assert_int_equal(e->log.e[2].event, MMU_NOTIFY_UNMAP);
	assert_int_equal(e->log.e[2].start, a);
	assert_int_equal(rd(e->mm, b), 1);
	/* MAP_FIXED over a mapping unmaps it first. */
	e->log.n = 0;
	r = vm_mmap(e->mm, b, PAGE_SIZE, RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	assert_int_equal(r, b);
	expect_pair(&e->log, 0, MMU_NOTIFY_UNMAP, b, b + PAGE_SIZE);
	assert_int_equal(rd(e->mm, b), 0);
	assert_int_equal(vm_mmap(e->mm, b, PAGE_SIZE, RW,
				 MAP_PRIVATE | MAP_ANONYMOUS |
					 MAP_FIXED_NOREPLACE),
			 -EEXIST);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * exit, rmap
 */

static unsigned long free_at_release;

static void capture_free_at_release(struct rec_sub *sub, enum rec_cb cb,
				    const struct mmu_notifier_range *range)
{
	(void)range;
	if (cb == REC_RELEASE)
		free_at_release = host_nr_free_frames(mm_host(sub->mn.mm));
}

static void test_exit_release_first(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 4 * PAGE_SIZE, RW, MAP_PRIVATE);
	unsigned long before;

	(void)state;
	for (int i = 0; i < 4; i++)
		wr(e->mm, a + i * PAGE_SIZE, i);
	before = host_nr_free_frames(e->host);
	e->log.n = 0;
	e->sub.hook = capture_free_at_release;
	mmgrab(e->mm);
	mmput(e->mm);
	/* release ran before any page was freed, and was the only call. */
	assert_int_equal(free_at_release, before);
	assert_int_equal(e->log.n, 1);
	assert_int_equal(e->log.e[0].cb, REC_RELEASE);
	assert_true(host_nr_free_frames(e->host) > before);
	/* A later unregister does not call release again. */
	mmu_notifier_unregister(&e->sub.mn, e->mm);
	assert_int_equal(e->log.n, 1);
	mmdrop(e->mm);
	e->mm = NULL;
	env_free(e);
}

static void test_try_to_unmap_shared(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long s = map(e->mm, PAGE_SIZE, RW, MAP_SHARED);
	unsigned long p = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	struct mm_struct *child;
	struct page *page;

	(void)state;
	wr(e->mm, s, 42);
	wr(e->mm, p, 43);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	assert_int_equal(rd(child, s), 42);
	page = pfn_to_page(e->host, pfn_at(e->mm, s));
	get_page(page);
	assert_int_equal(page_mapcount(page), 2);
	e->log.n = 0;
	lock_page(page);
	assert_true(try_to_unmap(page));
	unlock_page(page);
	assert_int_equal(page_mapcount(page), 0);
	/* The parent's subscriber saw its page go, under CLEAR. */
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, s, s + PAGE_SIZE);
	/* Both refault the same, intact page. */
	assert_int_equal(rd(child, s), 42);
	assert_int_equal(rd(e->mm, s), 42);
	assert_int_equal(pfn_at(e->mm, s), page_to_pfn(page));
	put_page(page);
	/* A dirty anonymous page cannot be dropped without swap. */
	page = pfn_to_page(e->host, pfn_at(e->mm, p));
	get_page(page);
	lock_page(page);
	assert_false(try_to_unmap(page));
	unlock_page(page);
	put_page(page);
	mmput(child);
	env_free(e);
}

static void test_aging_asks_secondaries(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	struct page *page;

	(void)state;
	wr(e->mm, a, 1);
	page = pfn_to_page(e->host, pfn_at(e->mm, a));
	get_page(page);
	e->sub.young = 1;
	e->log.n = 0;
	/* Young in the primary and in the secondary: one mapping, once. */
	assert_int_equal(folio_referenced(page), 1);
	assert_int_equal(e->log.n, 1);
	assert_int_equal(e->log.e[0].cb, REC_CLEAR_FLUSH_YOUNG);
	assert_int_equal(e->log.e[0].start, a);
	e->sub.young = 0;
	assert_int_equal(folio_referenced(page), 0);
	put_page(page);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * change_pte modes
 */

static void cow_once(struct env *e, unsigned long a)
{
	struct mm_struct *child;

	wr(e->mm, a, 1);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	e->log.n = 0;
	wr(e->mm, a, 2);
	mmput(child);
}

static void test_change_pte_modes(void **state)
{
	struct env *e;
	unsigned long a;

	(void)state;
	e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	cow_once(e, a);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + PAGE_SIZE);
	env_free(e);

	/* 2012-2024: change_pte strictly inside start/end. */
	e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_BOOKENDED);
	a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	cow_once(e, a);
	assert_int_equal(e->log.n, 3);
	assert_int_equal(e->log.e[0].cb, REC_START);
	assert_int_equal(e->log.e[1].cb, REC_CHANGE_PTE);
	assert_int_equal(e->log.e[1].start, a);
	assert_int_equal(e->log.e[2].cb, REC_END);
	assert_int_equal(pte_pfn(__pte(e->log.e[1].seq)), pfn_at(e->mm, a));
	env_free(e);

	/* 2009-2012: change_pte is the only notification. */
	e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_DIRECT);
	a = map(e->mm, PAGE_SIZE, RW, MAP_PRIVATE);
	cow_once(e, a);
	assert_int_equal(e->log.n, 1);
	assert_int_equal(e->log.e[0].cb, REC_CHANGE_PTE);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Exhaustion and bad input
 */

static void test_out_of_frames(void **state)
{
	struct env *e = env_new(64, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	unsigned long initial = host_nr_free_frames(e->host);
	unsigned long a = map(e->mm, 128 * PAGE_SIZE, RW, MAP_PRIVATE);
	struct mm_struct *child;
	int ret = 0, i;

	(void)state;
	for (i = 0; i < 128 && !ret; i++)
		ret = cpu_write_u64(e->mm, a + i * PAGE_SIZE, i);
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(host_nr_free_frames(e->host), 0);
	/* Everything written before the failure is intact. */
	for (int j = 0; j < i - 1; j++)
		assert_int_equal(rd(e->mm, a + j * PAGE_SIZE), j);
	/* fork cannot allocate page tables: clean failure. */
	child = dup_mm(e->mm);
	assert_true(IS_ERR(child));
	assert_int_equal(PTR_ERR(child), -ENOMEM);
	assert_int_equal(vm_munmap(e->mm, a, 128 * PAGE_SIZE), 0);
	/* Data pages and the page tables of the range are back. */
	assert_int_equal(host_nr_free_frames(e->host), initial);
	mmgrab(e->mm);
	mmput(e->mm);
	mmu_notifier_unregister(&e->sub.mn, e->mm);
	mmdrop(e->mm);
	e->mm = NULL;
	/* ... and the top-level table with the mm itself. */
	assert_int_equal(host_nr_free_frames(e->host), initial + 1);
	env_free(e);
}

static void test_bad_input(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_DATA, CHANGE_PTE_NONE);
	struct host_config bad = { 8, HOST_CONTENT_DATA, CHANGE_PTE_NONE };

	(void)state;
	assert_true(IS_ERR(host_create(&bad)));
	assert_true(IS_ERR(host_create(NULL)));
	assert_int_equal(host_destroy(e->host), -EBUSY);
	assert_int_equal(vm_mmap(e->mm, 0, 0, RW, MAP_PRIVATE | MAP_ANONYMOUS),
			 -EINVAL);
	assert_int_equal(vm_mmap(e->mm, 0, PAGE_SIZE, RW, MAP_PRIVATE),
			 -EINVAL);
	assert_int_equal(vm_mmap(e->mm, 0, PAGE_SIZE, RW,
				 MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS),
			 -EINVAL);
	assert_int_equal(vm_mmap(e->mm, 0x1001, PAGE_SIZE, RW,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
			 -EINVAL);
	assert_int_equal(vm_mmap(e->mm, 0, PAGE_SIZE, 0x40,
				 MAP_PRIVATE | MAP_ANONYMOUS),
			 -EINVAL);
	assert_int_equal(vm_munmap(e->mm, 0x1001, PAGE_SIZE), -EINVAL);
	assert_int_equal(vm_munmap(e->mm, 0x1000, 0), -EINVAL);
	assert_int_equal(vm_munmap(e->mm, TASK_SIZE, PAGE_SIZE), -EINVAL);
	assert_int_equal(vm_munmap(NULL, 0x1000, PAGE_SIZE), -EINVAL);
	/* Unmapping nothing is fine, and sends nothing. */
	e->log.n = 0;
	assert_int_equal(vm_munmap(e->mm, 0x1000, PAGE_SIZE), 0);
	assert_int_equal(e->log.n, 0);
	env_free(e);
}

static void test_tag_mode(void **state)
{
	struct env *e = env_new(NR_FRAMES, HOST_CONTENT_TAG, CHANGE_PTE_NONE);
	unsigned long a = map(e->mm, 2 * PAGE_SIZE, RW, MAP_PRIVATE);
	struct mm_struct *child;
	char buf[8];

	(void)state;
	wr(e->mm, a + 8, 0xabc);
	/* Any address of the page reads its tag. */
	assert_int_equal(rd(e->mm, a), 0xabc);
	assert_int_equal(rd(e->mm, a + PAGE_SIZE), 0);
	assert_int_equal(cpu_read(e->mm, a, buf, 8), -EINVAL);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	wr(child, a, 0xdef);
	assert_int_equal(rd(e->mm, a), 0xabc);
	assert_int_equal(rd(child, a), 0xdef);
	mmput(child);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_munmap_sequence),
		cmocka_unit_test(test_munmap_frees_mid_range),
		cmocka_unit_test(test_munmap_arch_invalidate_order),
		cmocka_unit_test(test_madvise_dontneed),
		cmocka_unit_test(test_madvise_free),
		cmocka_unit_test(test_mprotect),
		cmocka_unit_test(test_mprotect_unpopulated),
		cmocka_unit_test(test_zero_page_and_cow_from_zero),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_gup_cow),
		cmocka_unit_test(test_fork_pinned),
		cmocka_unit_test(test_cpu_bytes_and_write_protect),
		cmocka_unit_test(test_mremap_move),
		cmocka_unit_test(test_mremap_fixed_and_map_fixed),
		cmocka_unit_test(test_exit_release_first),
		cmocka_unit_test(test_try_to_unmap_shared),
		cmocka_unit_test(test_aging_asks_secondaries),
		cmocka_unit_test(test_change_pte_modes),
		cmocka_unit_test(test_out_of_frames),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_tag_mode),
	};

	warn_set_quiet(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
