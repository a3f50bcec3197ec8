// SPDX-License-Identifier: MIT
/*
 * Transparent huge pages: the huge fault and its fallback, COW, the splits
 * that partial munmap, mprotect and MADV_DONTNEED make (with the notifier
 * calls recorded), whole-PMD zap and mprotect, collapse, reclaim and
 * migration of huge pages, and KVM's 2 MiB SPTEs and their zap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mmulab/huge_mm.h>
#include <mmulab/kvm.h>
#include <mmulab/memfd.h>
#include <mmulab/mutant.h>
#include "guest.h"
#include "mn_recorder.h"
#include "cpu_access.h"

#define NR_FRAMES 8192
#define HP HPAGE_PMD_SIZE

struct env {
	struct host *host;
	struct mm_struct *mm;
	struct rec_log log;
	struct rec_sub sub;
};

static struct env *env_new_cfg(struct host_config *cfg)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->host = host_create(cfg);
	assert_false(IS_ERR(e->host));
	e->mm = mm_alloc(e->host);
	assert_false(IS_ERR(e->mm));
	rec_log_init(&e->log);
	rec_sub_init(&e->sub, &rec_ops, 1, &e->log);
	assert_int_equal(mmu_notifier_register(&e->sub.mn, e->mm), 0);
	return e;
}

static struct env *env_new(enum thp_mode thp)
{
	struct host_config cfg = { .nr_frames = NR_FRAMES, .thp = thp };

	return env_new_cfg(&cfg);
}

static void env_free(struct env *e)
{
	mmu_notifier_unregister(&e->sub.mn, e->mm);
	mmput(e->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(e->host), NR_FRAMES - 1);
	assert_int_equal(host_destroy(e->host), 0);
	free(e);
}

static unsigned long map(struct mm_struct *mm, unsigned long len)
{
	long addr = vm_mmap(mm, 0, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS);

	assert_true(addr > 0);
	return addr;
}

static bool huge(struct mm_struct *mm, unsigned long addr)
{
	return follow_pmd_huge(mm, addr, NULL);
}

/* Fill the 2 MiB at @a with a value per page. */
static void fill(struct mm_struct *mm, unsigned long a, u64 base)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		wr(mm, a + i * PAGE_SIZE, base + i);
}

static void check(struct mm_struct *mm, unsigned long a, u64 base,
		  unsigned long skip_from, unsigned long skip_to)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (i < skip_from || i >= skip_to)
			assert_int_equal(rd(mm, a + i * PAGE_SIZE), base + i);
}

/* Entry @i of the log is a @cb of event @ev over [start, end). */
static void expect_cb(struct rec_log *log, unsigned int i, enum rec_cb cb,
		      enum mmu_notifier_event ev, unsigned long start,
		      unsigned long end)
{
	assert_true(i < log->n);
	assert_int_equal(log->e[i].cb, cb);
	assert_int_equal(log->e[i].event, ev);
	assert_int_equal(log->e[i].start, start);
	assert_int_equal(log->e[i].end, end);
	assert_int_equal(log->e[i].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
}

static void expect_pair(struct rec_log *log, unsigned int i,
			enum mmu_notifier_event ev, unsigned long start,
			unsigned long end)
{
	expect_cb(log, i, REC_START, ev, start, end);
	expect_cb(log, i + 1, REC_END, ev, start, end);
}

/* ---------------------------------------------------------------------
 * The huge fault
 */

static void test_huge_fault(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, 2 * HP), head;
	struct page *page;

	(void)state;
	assert_int_equal(a & ~HPAGE_PMD_MASK, 0); /* aligned, as Linux */
	e->log.n = 0;
	wr(e->mm, a + 5 * PAGE_SIZE, 42);
	assert_int_equal(e->log.n, 0); /* filling a none PMD: no notifier */
	assert_true(follow_pmd_huge(e->mm, a, &head));
	assert_int_equal(head & (HPAGE_PMD_NR - 1), 0);
	page = pfn_to_page(e->host, head);
	assert_true(PageFlag(page, PG_head));
	assert_true(PageFlag(page + 511, PG_tail));
	assert_int_equal(page_mapcount(page + 5), 1);
	assert_int_equal(page_ref_count(page + 5), 1);
	assert_int_equal(host_vm_event(e->host, THP_FAULT_ALLOC), 1);
	assert_int_equal(rd(e->mm, a + 5 * PAGE_SIZE), 42);
	assert_int_equal(rd(e->mm, a + 6 * PAGE_SIZE), 0);
	/* follow_pte() sees the 4 KiB page of the huge one. */
	pte_t pte;
	assert_int_equal(follow_pte(e->mm, a + 5 * PAGE_SIZE, &pte), 0);
	assert_true(pte_present(pte) && pte_write(pte));
	assert_int_equal(pte_pfn(pte), head + 5);
	/* A read fault maps a huge page too (no huge zero page). */
	assert_int_equal(rd(e->mm, a + HP), 0);
	assert_true(huge(e->mm, a + HP));
	/* The whole 2 MiB unmapped: one UNMAP, no split, every frame back. */
	e->log.n = 0;
	assert_int_equal(vm_munmap(e->mm, a, HP), 0);
	assert_int_equal(e->log.n, 2);
	expect_pair(&e->log, 0, MMU_NOTIFY_UNMAP, a, a + HP);
	assert_int_equal(host_vm_event(e->host, THP_SPLIT_PMD), 0);
	env_free(e);
}

static void test_thp_modes(void **state)
{
	struct env *e = env_new(THP_MADVISE);
	unsigned long a = map(e->mm, 4 * HP);

	(void)state;
	wr(e->mm, a, 1);
	assert_false(huge(e->mm, a)); /* madvise: not without the hint */
	assert_int_equal(do_madvise(e->mm, a + HP, HP, MADV_HUGEPAGE), 0);
	wr(e->mm, a + HP, 2);
	assert_true(huge(e->mm, a + HP));
	assert_int_equal(host_set_thp(e->host, THP_ALWAYS), 0);
	assert_int_equal(do_madvise(e->mm, a + 2 * HP, HP, MADV_NOHUGEPAGE), 0);
	wr(e->mm, a + 2 * HP, 3);
	assert_false(huge(e->mm, a + 2 * HP));
	wr(e->mm, a + 3 * HP, 4);
	assert_true(huge(e->mm, a + 3 * HP));
	assert_int_equal(host_set_thp(e->host, THP_NEVER), 0);
	assert_int_equal(host_thp(e->host), THP_NEVER);
	assert_int_equal(host_set_thp(e->host, 7), -EINVAL);
	env_free(e);
}

/* A span not wholly inside the VMA, or no free aligned run: 4 KiB. */
static void test_fallback(void **state)
{
	struct host_config cfg = { .nr_frames = 1000, .thp = THP_ALWAYS };
	struct host *host = host_create(&cfg);
	struct mm_struct *mm = mm_alloc(host);
	unsigned long a = map(mm, HP);

	(void)state;
	wr(mm, a, 7);
	assert_false(huge(mm, a));
	assert_int_equal(host_vm_event(host, THP_FAULT_FALLBACK), 1);
	assert_int_equal(rd(mm, a), 7);
	mmput(mm);
	assert_int_equal(host_destroy(host), 0);

	struct env *e = env_new(THP_ALWAYS);
	a = map(e->mm, HP + PAGE_SIZE); /* not a multiple: not aligned */
	wr(e->mm, a, 1);
	assert_int_equal(huge(e->mm, a), !(a & ~HPAGE_PMD_MASK));
	env_free(e);
}

/*
 * A file's mapping (a memfd, or shared anonymous memory, which is a file
 * here) is neither placed 2 MiB-aligned nor mapped huge: THP is for
 * private anonymous memory only.
 */
static void test_file_not_huge(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	struct file *f = memfd_alloc_file(e->host, "ram", 0);
	unsigned long anon = map(e->mm, PAGE_SIZE), a, s;

	(void)state;
	assert_false(IS_ERR(f));
	assert_int_equal(do_ftruncate(f, 2 * HP), 0);
	a = vm_mmap_file(e->mm, f, 0, 2 * HP, PROT_READ | PROT_WRITE,
			 MAP_SHARED, 0);
	assert_true((long)a > 0);
	s = vm_mmap(e->mm, 0, 2 * HP, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS);
	assert_true((long)s > 0);
	/* Placed in the first gaps, right after the 4 KiB mapping. */
	assert_int_equal(a, anon + PAGE_SIZE);
	assert_int_equal(s, a + 2 * HP);
	assert_int_equal(do_madvise(e->mm, a, 2 * HP, MADV_HUGEPAGE), 0);
	wr(e->mm, a + HP - PAGE_SIZE, 1);
	wr(e->mm, s + HP, 2);
	assert_false(huge(e->mm, a + HP - PAGE_SIZE));
	assert_false(huge(e->mm, s + HP));
	assert_int_equal(host_vm_event(e->host, THP_FAULT_ALLOC), 0);
	assert_int_equal(rd(e->mm, a + HP - PAGE_SIZE), 1);
	fput(f);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Splits, with the notifier calls Linux 6.12 makes
 */

static void test_split_partial_munmap(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP);

	(void)state;
	fill(e->mm, a, 100);
	e->log.n = 0;
	/* The VMA split at a+4K splits the PMD (vma_adjust_trans_huge()):
	 * CLEAR over the 2 MiB, then the UNMAP of the hole. */
	assert_int_equal(vm_munmap(e->mm, a + PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(e->log.n, 4);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	expect_pair(&e->log, 2, MMU_NOTIFY_UNMAP, a + PAGE_SIZE,
		    a + 2 * PAGE_SIZE);
	assert_false(huge(e->mm, a));
	assert_int_equal(host_vm_event(e->host, THP_SPLIT_PMD), 1);
	check(e->mm, a, 100, 1, 2);
	u64 v;
	assert_int_equal(cpu_read_u64(e->mm, a + PAGE_SIZE, &v), -EFAULT);
	env_free(e);
}

static void test_split_partial_mprotect(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP);
	pte_t pte;

	(void)state;
	fill(e->mm, a, 200);
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, a + 8 * PAGE_SIZE, PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(e->log.n, 4);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	expect_pair(&e->log, 2, MMU_NOTIFY_PROTECTION_VMA, a + 8 * PAGE_SIZE,
		    a + 9 * PAGE_SIZE);
	assert_int_equal(follow_pte(e->mm, a + 8 * PAGE_SIZE, &pte), 0);
	assert_false(pte_write(pte));
	assert_int_equal(follow_pte(e->mm, a + 9 * PAGE_SIZE, &pte), 0);
	assert_true(pte_write(pte));
	check(e->mm, a, 200, 0, 0);
	/* A whole-PMD mprotect keeps it huge: one PROTECTION_VMA. */
	unsigned long b = map(e->mm, HP);
	fill(e->mm, b, 300);
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, b, HP, PROT_READ), 0);
	assert_int_equal(e->log.n, 2);
	expect_pair(&e->log, 0, MMU_NOTIFY_PROTECTION_VMA, b, b + HP);
	assert_true(huge(e->mm, b));
	assert_int_equal(follow_pte(e->mm, b + 3 * PAGE_SIZE, &pte), 0);
	assert_false(pte_write(pte));
	assert_int_equal(cpu_write_u64(e->mm, b, 1), -EFAULT);
	assert_int_equal(do_mprotect(e->mm, b, HP, PROT_READ | PROT_WRITE), 0);
	wr(e->mm, b, 1); /* exclusive: writable again in place */
	assert_true(huge(e->mm, b));
	env_free(e);
}

static void test_split_partial_dontneed(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP);
	unsigned long before;

	(void)state;
	fill(e->mm, a, 400);
	e->log.n = 0;
	/* zap_pmd_range() splits inside the CLEAR of the DONTNEED: nested. */
	assert_int_equal(do_madvise(e->mm, a + 4 * PAGE_SIZE, 2 * PAGE_SIZE,
				    MADV_DONTNEED),
			 0);
	assert_int_equal(e->log.n, 4);
	expect_cb(&e->log, 0, REC_START, MMU_NOTIFY_CLEAR, a + 4 * PAGE_SIZE,
		  a + 6 * PAGE_SIZE);
	expect_pair(&e->log, 1, MMU_NOTIFY_CLEAR, a, a + HP);
	expect_cb(&e->log, 3, REC_END, MMU_NOTIFY_CLEAR, a + 4 * PAGE_SIZE,
		  a + 6 * PAGE_SIZE);
	assert_int_equal(rd(e->mm, a + 4 * PAGE_SIZE), 0);
	check(e->mm, a, 400, 4, 6);
	/* The whole 2 MiB of another: no split, 512 frames back. */
	unsigned long b = map(e->mm, HP);
	fill(e->mm, b, 0);
	before = host_nr_free_frames(e->host);
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, b, HP, MADV_DONTNEED), 0);
	assert_int_equal(e->log.n, 2);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, b, b + HP);
	assert_int_equal(host_nr_free_frames(e->host), before + HPAGE_PMD_NR + 1);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * fork and COW
 */

static void test_fork_cow(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP), head;
	struct mm_struct *child;
	pte_t pte;

	(void)state;
	fill(e->mm, a, 500);
	assert_true(follow_pmd_huge(e->mm, a, &head));
	e->log.n = 0;
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	assert_int_equal(e->log.n, 2);
	expect_pair(&e->log, 0, MMU_NOTIFY_PROTECTION_PAGE, a, a + HP);
	/* Both map the same huge page, read-only. */
	assert_true(huge(child, a) && huge(e->mm, a));
	assert_int_equal(page_mapcount(pfn_to_page(e->host, head + 9)), 2);
	assert_int_equal(follow_pte(e->mm, a, &pte), 0);
	assert_false(pte_write(pte));
	/* The parent writes: as 6.12, split and COW of the one 4 KiB page. */
	e->log.n = 0;
	wr(e->mm, a + 9 * PAGE_SIZE, 1);
	assert_int_equal(e->log.n, 4);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	expect_pair(&e->log, 2, MMU_NOTIFY_CLEAR, a + 9 * PAGE_SIZE,
		    a + 10 * PAGE_SIZE);
	assert_false(huge(e->mm, a));
	assert_true(huge(child, a));
	assert_int_equal(rd(e->mm, a + 9 * PAGE_SIZE), 1);
	check(e->mm, a, 500, 9, 10);
	check(child, a, 500, 0, 0);
	assert_int_equal(follow_pte(e->mm, a + 10 * PAGE_SIZE, &pte), 0);
	assert_int_equal(pte_pfn(pte), head + 10);
	/* The child's write COWs its page too; the huge page it shares
	 * with nobody now is reused in place on the next write. */
	wr(child, a + 3 * PAGE_SIZE, 2);
	assert_int_equal(rd(child, a + 3 * PAGE_SIZE), 2);
	assert_int_equal(rd(e->mm, a + 3 * PAGE_SIZE), 503);
	mmput(child);
	env_free(e);
}

static void test_fork_exclusive_reuse(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP);
	struct mm_struct *child;

	(void)state;
	fill(e->mm, a, 600);
	child = dup_mm(e->mm);
	assert_false(IS_ERR(child));
	mmput(child); /* the parent holds the huge page alone again */
	e->log.n = 0;
	wr(e->mm, a, 9);
	assert_int_equal(e->log.n, 0); /* reused: no split, no COW */
	assert_true(huge(e->mm, a));
	assert_int_equal(host_vm_event(e->host, PGREUSE), 1);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Collapse, reclaim, migration
 */

static void test_collapse(void **state)
{
	struct env *e = env_new(THP_NEVER);
	unsigned long a, head;

	(void)state;
	assert_int_equal(host_set_thp(e->host, THP_ALWAYS), 0);
	a = map(e->mm, HP);
	assert_int_equal(host_set_thp(e->host, THP_NEVER), 0);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 2)
		wr(e->mm, a + i * PAGE_SIZE, 700 + i);
	assert_false(huge(e->mm, a));
	assert_int_equal(khugepaged_collapse(e->mm, a), -EINVAL); /* never */
	assert_int_equal(host_set_thp(e->host, THP_ALWAYS), 0);
	e->log.n = 0;
	assert_int_equal(khugepaged_collapse(e->mm, a), 0);
	assert_int_equal(e->log.n, 2);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	assert_true(follow_pmd_huge(e->mm, a, &head));
	assert_int_equal(host_vm_event(e->host, THP_COLLAPSE_ALLOC), 1);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		assert_int_equal(rd(e->mm, a + i * PAGE_SIZE),
				 i & 1 ? 0 : 700 + i);
	assert_int_equal(khugepaged_collapse(e->mm, a), -EEXIST);
	/* A page someone else references is not collapsed. */
	unsigned long b = map(e->mm, HP);
	struct page *pg;
	assert_int_equal(vm_munmap(e->mm, b + HP - PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(khugepaged_collapse(e->mm, b), -EINVAL);
	unsigned long c = map(e->mm, 2 * HP) ;
	assert_int_equal(do_madvise(e->mm, c, 2 * HP, MADV_NOHUGEPAGE), 0);
	wr(e->mm, c, 1);
	assert_int_equal(do_madvise(e->mm, c, 2 * HP, MADV_HUGEPAGE), 0);
	assert_int_equal(get_user_pages_unlocked(e->mm, c, 1, &pg, 0), 1);
	assert_int_equal(khugepaged_collapse(e->mm, c), -EBUSY);
	put_page(pg);
	assert_int_equal(khugepaged_collapse(e->mm, c), 0);
	assert_int_equal(rd(e->mm, c), 1);
	env_free(e);
}

static void test_reclaim_splits(void **state)
{
	struct host_config cfg = { .nr_frames = NR_FRAMES, .thp = THP_ALWAYS,
				   .swap_slots = 4096 };
	struct env *e = env_new_cfg(&cfg);
	unsigned long a = map(e->mm, HP);

	(void)state;
	fill(e->mm, a, 800);
	e->log.n = 0;
	/* Reclaim splits first (6.12 splits a THP it cannot swap whole). */
	assert_int_equal(do_madvise(e->mm, a, HP, MADV_PAGEOUT), 0);
	assert_true(e->log.n >= 4);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	assert_false(huge(e->mm, a));
	assert_true(host_vm_event(e->host, PSWPOUT) >= HPAGE_PMD_NR);
	check(e->mm, a, 800, 0, 0);
	env_free(e);
}

static void test_migrate_splits(void **state)
{
	struct env *e = env_new(THP_ALWAYS);
	unsigned long a = map(e->mm, HP), head, new;
	pte_t pte;

	(void)state;
	fill(e->mm, a, 900);
	assert_true(follow_pmd_huge(e->mm, a, &head));
	e->log.n = 0;
	assert_int_equal(migrate_pfn(e->host, head + 3, &new), 0);
	assert_true(e->log.n >= 4);
	expect_pair(&e->log, 0, MMU_NOTIFY_CLEAR, a, a + HP);
	assert_false(huge(e->mm, a));
	assert_int_equal(follow_pte(e->mm, a + 3 * PAGE_SIZE, &pte), 0);
	assert_int_equal(pte_pfn(pte), new);
	check(e->mm, a, 900, 0, 0);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * KVM: 2 MiB SPTEs
 */

static void thp_guest_new(struct guest *g, unsigned long npages)
{
	struct host_config cfg = { .nr_frames = NR_FRAMES, .thp = THP_ALWAYS };

	guest_new_cfg(g, &cfg, npages);
}

static void test_kvm_2m_spte(void **state)
{
	struct kvm_vm_stat st;
	struct guest g;
	unsigned long head;
	u64 spte;

	(void)state;
	thp_guest_new(&g, 2 * HPAGE_PMD_NR);
	guest_write(&g, 0x3000, 77);
	assert_true(follow_pmd_huge(g.mm, g.hva, &head));
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(st.pages_4k, 0);
	spte = guest_spte(&g, 5);
	assert_true(spte & KVM_SPTE_LARGE);
	assert_int_equal((spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT, head + 5);
	assert_int_equal(guest_read(&g, 0x5000), 0);
	assert_int_equal(host_read(&g, 0x3000), 77);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 1); /* one fault mapped all 2 MiB */
	assert_guest_coherent(&g);
	/* A split anywhere in it zaps the whole 2 MiB SPTE. */
	assert_int_equal(do_madvise(g.mm, g.hva + 0x10000, PAGE_SIZE,
				    MADV_DONTNEED),
			 0);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(guest_spte(&g, 5), 0);
	assert_int_equal(guest_read(&g, 0x3000), 77);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_4k, 1); /* the host maps 4 KiB now */
	assert_false(guest_spte(&g, 3) & KVM_SPTE_LARGE);
	assert_guest_coherent(&g);
	assert_int_equal(st.mmu_shadow_zapped, 0);
	guest_free(&g, warn_count());
}

/* An mprotect of the whole 2 MiB keeps the host PMD huge but zaps the
 * 2 MiB SPTE; the next guest access maps it again, read-only. */
static void test_kvm_2m_zap_any_overlap(void **state)
{
	struct kvm_vm_stat st;
	struct guest g;

	(void)state;
	thp_guest_new(&g, 2 * HPAGE_PMD_NR);
	guest_write(&g, HP + 0x1000, 5);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(do_mprotect(g.mm, g.hva + HP, HP, PROT_READ), 0);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_true(follow_pmd_huge(g.mm, g.hva + HP, NULL));
	assert_int_equal(guest_read(&g, HP + 0x1000), 5);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_false(guest_spte(&g, HPAGE_PMD_NR) & KVM_SPTE_WRITABLE);
	assert_guest_coherent(&g);
	guest_free(&g, warn_count());
}

/* Dirty logging on a slot mapped by a 2 MiB SPTE: every guest write is
 * logged page by page (the 2 MiB leaf gives way to 4 KiB ones). */
static void test_kvm_2m_dirty_log(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long map[HPAGE_PMD_NR / 64] = { 0 };
	struct kvm_vm_stat st;
	struct guest g;

	(void)state;
	thp_guest_new(&g, HPAGE_PMD_NR);
	guest_write(&g, 0, 1);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 1);
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r.memory_size = HP;
	r.userspace_addr = g.hva;
	assert_int_equal(kvm_set_user_memory_region(g.kvm, &r), 0);
	guest_write(&g, 0x5000, 2);
	guest_write(&g, 0x9000, 3);
	assert_int_equal(kvm_get_dirty_log(g.kvm, 0, map), 0);
	assert_int_equal(map[0], (1UL << 5) | (1UL << 9));
	for (unsigned long i = 1; i < HPAGE_PMD_NR / 64; i++)
		assert_int_equal(map[i], 0);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(guest_read(&g, 0x9000), 3);
	assert_guest_coherent(&g);
	guest_free(&g, warn_count());
}

/* A memslot whose 2 MiB of guest memory is not 2 MiB-aligned in the host
 * maps 4 KiB SPTEs, whatever the host does (kvm_mmu_max_mapping_level). */
static void test_kvm_misaligned_slot(void **state)
{
	struct host_config cfg = { .nr_frames = NR_FRAMES, .thp = THP_ALWAYS };
	struct kvm_userspace_memory_region r = { 0 };
	struct kvm_vm_stat st;
	struct host *host = host_create(&cfg);
	struct mm_struct *mm = mm_alloc(host);
	unsigned long a = map(mm, 2 * HP);
	struct kvm *kvm = kvm_create_vm(mm, 0);
	struct kvm_vcpu *vcpu;
	u64 v;

	(void)state;
	assert_false(IS_ERR(kvm));
	r.memory_size = HP;
	r.userspace_addr = a + PAGE_SIZE; /* gfn 0 at a + 4K */
	assert_int_equal(kvm_set_user_memory_region(kvm, &r), 0);
	vcpu = kvm_vcpu_create(kvm);
	assert_false(IS_ERR(vcpu));
	assert_int_equal(kvm_vcpu_write_u64(vcpu, 0, 3), 0);
	assert_true(follow_pmd_huge(mm, a, NULL));
	kvm_get_vm_stat(kvm, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 1);
	assert_int_equal(cpu_read_u64(mm, a + PAGE_SIZE, &v), 0);
	assert_int_equal(v, 3);
	kvm_destroy_vm(kvm);
	mmput(mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(host), 0);
}

/* The mutant split sends no invalidation: the checker catches the 2 MiB
 * SPTE outliving its PMD (INV-7 on the PMD's change). */
static void test_split_no_notify_mutant(void **state)
{
	struct guest g;

	(void)state;
	thp_guest_new(&g, HPAGE_PMD_NR);
	guest_write(&g, 0, 1);
	mutant_set(MUTANT_THP_SPLIT_NO_NOTIFY);
	assert_int_equal(do_mprotect(g.mm, g.hva + PAGE_SIZE, PAGE_SIZE,
				     PROT_READ),
			 0);
	mutant_set(MUTANT_NONE);
	assert_true(checker_violations(g.host) > 0);
	kvm_destroy_vm(g.kvm);
	mmput(g.mm);
	mmu_notifier_synchronize();
	checker_detach(g.host);
	assert_int_equal(host_destroy(g.host), 0);
}

/* KVM's mmu_shadow_zapped counts page-table pages, not leaves: zapping
 * 16 MiB of 4 KiB SPTEs (4,096 leaves, which it used to count) reports 0. */
static void test_shadow_zapped_meaning(void **state)
{
	struct host_config cfg = { .nr_frames = 8192,
				   .content = HOST_CONTENT_TAG };
	unsigned long n = (16UL << 20) >> PAGE_SHIFT;
	struct kvm_vm_stat st;
	struct guest g;

	(void)state;
	guest_new_cfg(&g, &cfg, n);
	for (unsigned long i = 0; i < n; i++)
		guest_write(&g, i * PAGE_SIZE, i);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_4k, n);
	assert_int_equal(do_madvise(g.mm, g.hva, n * PAGE_SIZE, MADV_DONTNEED),
			 0);
	kvm_get_vm_stat(g.kvm, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(st.mmu_shadow_zapped, 0);
	guest_free(&g, warn_count());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_fault),
		cmocka_unit_test(test_thp_modes),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_file_not_huge),
		cmocka_unit_test(test_split_partial_munmap),
		cmocka_unit_test(test_split_partial_mprotect),
		cmocka_unit_test(test_split_partial_dontneed),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_fork_exclusive_reuse),
		cmocka_unit_test(test_collapse),
		cmocka_unit_test(test_reclaim_splits),
		cmocka_unit_test(test_migrate_splits),
		cmocka_unit_test(test_kvm_2m_spte),
		cmocka_unit_test(test_kvm_2m_zap_any_overlap),
		cmocka_unit_test(test_kvm_2m_dirty_log),
		cmocka_unit_test(test_kvm_misaligned_slot),
		cmocka_unit_test(test_split_no_notify_mutant),
		cmocka_unit_test(test_shadow_zapped_meaning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
