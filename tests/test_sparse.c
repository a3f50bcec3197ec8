// SPDX-License-Identifier: MIT
/*
 * Sparse memory: 64 TiB of address space, a VM memslot over all of it,
 * and a handful of pages written in it.  Every range operation (MADV_FREE,
 * MADV_MERGEABLE and the KSM scan, aging, mprotect, fork, the SPTE and PTE
 * walks, mremap, MADV_DONTNEED, munmap, exit) must skip the page tables
 * that do not exist, and a shared object's page cache must hold only the
 * pages written: done page by page, any one of them would run for
 * minutes, far past the test's timeout.  The assertions check that each
 * did its work on the pages that are there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "guest.h"

#define SPARSE_LEN (64UL << 40)
#define TIB (1UL << 40)

/* Where the pages are: first, last, and across every level's span. */
static const unsigned long offs[] = {
	0,
	PAGE_SIZE * 3 + TIB,
	32 * TIB,
	48 * TIB + PMD_SIZE,
	SPARSE_LEN - PAGE_SIZE,
};
#define NR_OFFS (sizeof(offs) / sizeof(offs[0]))

/* Pages 0 and 2 hold the same contents: KSM merges them. */
static u64 value_of(unsigned int i)
{
	return i == 0 || i == 2 ? 0x5a5a : 0x1000 + i;
}

static void sparse_new(struct guest *g)
{
	struct host_config cfg = { 4096, HOST_CONTENT_DATA, CHANGE_PTE_NONE };

	guest_new_cfg(g, &cfg, SPARSE_LEN >> PAGE_SHIFT);
	for (unsigned int i = 0; i < NR_OFFS; i++)
		assert_int_equal(cpu_write_u64(g->mm, g->hva + offs[i],
					       value_of(i)),
				 0);
}

static void check_values(struct guest *g, struct mm_struct *mm)
{
	for (unsigned int i = 0; i < NR_OFFS; i++) {
		u64 v = 0;

		assert_int_equal(cpu_read_u64(mm, g->hva + offs[i], &v), 0);
		assert_int_equal(v, value_of(i));
	}
}

static pte_t pte_at(struct guest *g, unsigned long off)
{
	pte_t pte;

	assert_int_equal(follow_pte(g->mm, g->hva + off, &pte), 0);
	return pte;
}

/* follow_pte_next() finds exactly the pages written, in order. */
static void test_sparse_pte_walk(void **state)
{
	unsigned long warns = warn_count(), addr;
	struct guest g;
	unsigned int n = 0;
	pte_t pte;

	(void)state;
	sparse_new(&g);
	addr = g.hva;
	while (!follow_pte_next(g.mm, &addr, g.hva + SPARSE_LEN, &pte)) {
		assert_true(n < NR_OFFS);
		assert_int_equal(addr - g.hva, offs[n]);
		assert_true(pte_present(pte));
		n++;
		addr += PAGE_SIZE;
	}
	assert_int_equal(n, NR_OFFS);
	addr = g.hva + PAGE_SIZE;
	assert_int_equal(follow_pte_next(g.mm, &addr, g.hva + TIB, &pte),
			 -ENOENT);
	assert_int_equal(follow_pte_next(NULL, &addr, ~0UL, &pte), -EINVAL);
	guest_free(&g, warns);
}

/* The guest maps some pages; verify walks only the SPTEs that exist. */
static void test_sparse_spte_walk(void **state)
{
	unsigned long warns = warn_count();
	unsigned int n = 0;
	struct guest g;
	gpa_t gpa = 0;
	u64 spte;

	(void)state;
	sparse_new(&g);
	for (unsigned int i = 0; i < NR_OFFS; i += 2)
		assert_int_equal(guest_read(&g, offs[i]), value_of(i));
	while ((spte = kvm_next_spte(g.kvm, &gpa, SPARSE_LEN))) {
		assert_int_equal(gpa, offs[2 * n]);
		assert_int_equal((spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT,
				 pte_pfn(pte_at(&g, gpa)));
		n++;
		gpa += PAGE_SIZE;
	}
	assert_int_equal(n, (NR_OFFS + 1) / 2);
	/* The checker's sweep compares every SPTE with its PTE too. */
	assert_int_equal(checker_sweep(g.host), 0);
	guest_free(&g, warns);
}

/* MADV_FREE cleans what is there; aging reaches the secondary MMU. */
static void test_sparse_free_and_age(void **state)
{
	unsigned long warns = warn_count();
	struct guest g;

	(void)state;
	sparse_new(&g);
	assert_int_equal(do_madvise(g.mm, g.hva, SPARSE_LEN, MADV_FREE), 0);
	for (unsigned int i = 0; i < NR_OFFS; i++)
		assert_false(pte_dirty(pte_at(&g, offs[i])));
	check_values(&g, g.mm);
	assert_int_equal(guest_read(&g, offs[1]), value_of(1));
	assert_true(mmu_notifier_clear_flush_young(g.mm, g.hva,
						   g.hva + SPARSE_LEN));
	assert_false(kvm_lookup_spte(g.kvm, offs[1]) & KVM_SPTE_ACCESSED);
	guest_free(&g, warns);
}

static void ksm_two_passes(struct host *host)
{
	struct ksm_stats st;
	unsigned long target;

	ksm_get_stats(host, &st);
	target = st.full_scans + 2;
	while (st.full_scans < target) {
		assert_true(ksm_scan(host, 100) >= 0);
		ksm_get_stats(host, &st);
	}
}

/* KSM registers, scans, merges and unmerges across 64 TiB. */
static void test_sparse_ksm(void **state)
{
	unsigned long warns = warn_count();
	struct ksm_stats st;
	struct guest g;

	(void)state;
	sparse_new(&g);
	assert_int_equal(do_madvise(g.mm, g.hva, SPARSE_LEN, MADV_MERGEABLE),
			 0);
	ksm_two_passes(g.host);
	ksm_get_stats(g.host, &st);
	assert_int_equal(st.pages_sharing, 1);
	assert_int_equal(pte_pfn(pte_at(&g, offs[0])),
			 pte_pfn(pte_at(&g, offs[2])));
	assert_int_equal(do_madvise(g.mm, g.hva, SPARSE_LEN,
				    MADV_UNMERGEABLE),
			 0);
	assert_int_not_equal(pte_pfn(pte_at(&g, offs[0])),
			     pte_pfn(pte_at(&g, offs[2])));
	check_values(&g, g.mm);
	guest_free(&g, warns);
}

/* mprotect and fork over all of it; the child sees the same values. */
static void test_sparse_mprotect_fork(void **state)
{
	unsigned long warns = warn_count();
	struct mm_struct *child;
	struct guest g;

	(void)state;
	sparse_new(&g);
	assert_int_equal(do_mprotect(g.mm, g.hva, SPARSE_LEN, PROT_READ), 0);
	for (unsigned int i = 0; i < NR_OFFS; i++)
		assert_false(pte_write(pte_at(&g, offs[i])));
	assert_int_equal(cpu_write_u64(g.mm, g.hva + offs[3], 1), -EFAULT);
	assert_int_equal(do_mprotect(g.mm, g.hva, SPARSE_LEN, RW), 0);
	child = dup_mm(g.mm);
	assert_false(IS_ERR(child));
	check_values(&g, child);
	assert_int_equal(cpu_write_u64(child, g.hva + offs[4], 99), 0);
	check_values(&g, g.mm);
	mmput(child);
	guest_free(&g, warns);
}

/* mremap moves only what is there; DONTNEED and munmap leave nothing. */
static void test_sparse_mremap_zap(void **state)
{
	unsigned long warns = warn_count(), addr;
	struct guest g;
	gpa_t gpa = 0;
	pte_t pte;
	long moved;

	(void)state;
	sparse_new(&g);
	assert_int_equal(guest_read(&g, offs[3]), value_of(3));
	assert_int_equal(do_madvise(g.mm, g.hva, SPARSE_LEN, MADV_DONTNEED),
			 0);
	addr = g.hva;
	assert_int_equal(follow_pte_next(g.mm, &addr, g.hva + SPARSE_LEN,
					 &pte),
			 -ENOENT);
	assert_int_equal(kvm_next_spte(g.kvm, &gpa, SPARSE_LEN), 0);
	/* The last 16 TiB, populated at both ends, move 32 TiB down. */
	assert_int_equal(cpu_write_u64(g.mm, g.hva + 48 * TIB, 5), 0);
	assert_int_equal(cpu_write_u64(g.mm, g.hva + SPARSE_LEN - 8, 6), 0);
	moved = do_mremap(g.mm, g.hva + 48 * TIB, 16 * TIB, 16 * TIB,
			  MREMAP_MAYMOVE | MREMAP_FIXED, g.hva + 16 * TIB);
	assert_int_equal(moved, g.hva + 16 * TIB);
	assert_int_equal(host_read(&g, 16 * TIB), 5);
	assert_int_equal(host_read(&g, 32 * TIB - 8), 6);
	assert_int_equal(vm_munmap(g.mm, g.hva, 48 * TIB), 0);
	guest_free(&g, warns);
}

/* A shared object of 32 TiB: its page cache holds what was written. */
static void test_sparse_shared(void **state)
{
	unsigned long warns = warn_count(), len = 32 * TIB;
	struct host_config cfg = { 4096, HOST_CONTENT_DATA, CHANGE_PTE_NONE };
	struct host *host = host_create(&cfg);
	struct mm_struct *mm, *child;
	unsigned long free0;
	long addr;
	u64 v = 0;

	(void)state;
	assert_false(IS_ERR(host));
	free0 = host_nr_free_frames(host);
	mm = mm_alloc(host);
	assert_false(IS_ERR(mm));
	addr = vm_mmap(mm, 0, len, RW, MAP_SHARED | MAP_ANONYMOUS);
	assert_true(addr > 0);
	assert_int_equal(cpu_write_u64(mm, addr + 16 * TIB, 3), 0);
	assert_int_equal(cpu_write_u64(mm, addr + len - 8, 4), 0);
	child = dup_mm(mm);
	assert_false(IS_ERR(child));
	assert_int_equal(cpu_write_u64(child, addr + 16 * TIB, 5), 0);
	assert_int_equal(cpu_read_u64(mm, addr + 16 * TIB, &v), 0);
	assert_int_equal(v, 5); /* shared: the child's store is the parent's */
	mmput(child);
	assert_int_equal(do_madvise(mm, addr, len, MADV_DONTNEED), 0);
	assert_int_equal(cpu_read_u64(mm, addr + len - 8, &v), 0);
	assert_int_equal(v, 4); /* the object keeps it */
	assert_int_equal(vm_munmap(mm, addr, len), 0);
	mmput(mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(host), free0);
	assert_int_equal(host_destroy(host), 0);
	assert_int_equal(warn_count(), warns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_pte_walk),
		cmocka_unit_test(test_sparse_spte_walk),
		cmocka_unit_test(test_sparse_free_and_age),
		cmocka_unit_test(test_sparse_ksm),
		cmocka_unit_test(test_sparse_mprotect_fork),
		cmocka_unit_test(test_sparse_mremap_zap),
		cmocka_unit_test(test_sparse_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
