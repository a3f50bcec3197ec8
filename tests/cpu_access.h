/* SPDX-License-Identifier: MIT */
/*
 * A CPU load or store through an address space's page tables that must
 * succeed, and the frame a present PTE maps, for tests on the test's own
 * thread (cmocka's assertions).
 * Include after <cmocka.h>.
 */
#ifndef MMULAB_TESTS_CPU_ACCESS_H
#define MMULAB_TESTS_CPU_ACCESS_H

#include <mmulab/mm.h>

/* The word at @addr of @mm. */
static inline u64 rd(struct mm_struct *mm, unsigned long addr)
{
	u64 v = ~0ULL;

	assert_int_equal(cpu_read_u64(mm, addr, &v), 0);
	return v;
}

/* Store @v at @addr of @mm. */
static inline void wr(struct mm_struct *mm, unsigned long addr, u64 v)
{
	assert_int_equal(cpu_write_u64(mm, addr, v), 0);
}

/* The frame @addr of @mm maps: its PTE must be present. */
static inline unsigned long pfn_at(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte;

	assert_int_equal(follow_pte(mm, addr, &pte), 0);
	assert_true(pte_present(pte));
	return pte_pfn(pte);
}

#endif /* MMULAB_TESTS_CPU_ACCESS_H */
