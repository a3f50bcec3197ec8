/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages for anonymous memory (mm/huge_memory.c).
 *
 * A private anonymous VMA that THP is enabled for gets a 2 MiB page
 * mapped by one PMD entry at its first fault on a 2 MiB-aligned span
 * that lies wholly inside it, when the page allocator has a free,
 * aligned run of 512 frames; otherwise the fault falls back to 4 KiB.
 * Operations on part of a huge mapping (munmap, mprotect, MADV_DONTNEED,
 * mremap, COW, reclaim, migration, KSM) split the PMD into 512 PTEs
 * first, inside a CLEAR invalidation of the whole 2 MiB, as Linux 6.12's
 * __split_huge_pmd(); operations covering all of it act on the PMD.
 *
 * Model: the 512 frames of a huge page keep their own reference and map
 * counts (a PMD mapping counts once in each), so splitting the PMD never
 * has to split the folio: Linux 6.12 splits the folio later, from its
 * deferred split queue, without telling secondary MMUs anything.
 */
#ifndef MMULAB_HUGE_MM_H
#define MMULAB_HUGE_MM_H

#include <mmulab/mm.h>

#define HPAGE_PMD_ORDER 9
#define HPAGE_PMD_NR (1UL << HPAGE_PMD_ORDER)
#define HPAGE_PMD_SIZE PMD_SIZE
#define HPAGE_PMD_MASK (~(HPAGE_PMD_SIZE - 1))

/**
 * enum thp_mode - /sys/kernel/mm/transparent_hugepage/enabled.
 * @THP_NEVER: no huge pages (the default of a zeroed host_config).
 * @THP_MADVISE: only in VMAs given MADV_HUGEPAGE.
 * @THP_ALWAYS: in every eligible VMA not given MADV_NOHUGEPAGE.
 */
enum thp_mode {
	THP_NEVER,
	THP_MADVISE,
	THP_ALWAYS,
};

/**
 * host_set_thp() - change @host's THP setting; later faults follow it,
 * huge pages already mapped stay.
 * @host: the host.
 * @mode: the new setting.
 * Return: 0, or -EINVAL for a bad @mode.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
int host_set_thp(struct host *host, enum thp_mode mode);

/**
 * host_thp() - @host's THP setting.
 * @host: the host.
 * Return: the setting; THP_NEVER for a NULL host.
 */
enum thp_mode host_thp(struct host *host);

/**
 * follow_pmd_huge() - is @addr of @mm mapped by a PMD (a 2 MiB page)?
 * @mm: the address space.
 * @addr: any address of the span.
 * @head_pfn: set to the first frame of the huge page when it is.
 * Return: true when a present PMD leaf maps @addr.
 *
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, false.
 */
bool follow_pmd_huge(struct mm_struct *mm, unsigned long addr,
		     unsigned long *head_pfn);

/**
 * pmd_huge_pfn() - follow_pmd_huge() for a caller that already holds
 * @mm's mmap_lock (for reading or writing), as KVM's
 * host_pfn_mapping_level() reads the host's page table right after GUP.
 * @mm: the address space.
 * @addr: any address of the span.
 * @head_pfn: set to the first frame of the huge page when it is; may be
 *	NULL.
 * Return: true when a present PMD leaf maps @addr.
 */
bool pmd_huge_pfn(struct mm_struct *mm, unsigned long addr,
		  unsigned long *head_pfn);

/**
 * pmd_huge_pfn_fast() - pmd_huge_pfn() without the mmap_lock: a lockless
 * walk like get_user_pages_fast_only()'s, as KVM's
 * host_pfn_mapping_level() walks the host's table with IRQs off.  The
 * answer may be stale at once; a fault relies on its retry check.
 * @mm: the address space; the caller holds at least mmgrab(@mm).
 * @addr: any address of the span.
 * @head_pfn: set to the first frame of the huge page when it is; may be
 *	NULL.
 * Return: true when a present PMD leaf mapped @addr.
 */
bool pmd_huge_pfn_fast(struct mm_struct *mm, unsigned long addr,
		       unsigned long *head_pfn);

/**
 * khugepaged_collapse() - collapse the 2 MiB span of @mm at @addr, as
 * khugepaged's collapse_huge_page(): a new huge page gets a copy of the
 * 4 KiB pages the span maps (zeroes where none), inside a CLEAR
 * invalidation of the span, and replaces them under one PMD.
 * @mm: the address space (with a user reference).
 * @addr: any address of the span.
 * Return: 0; -EINVAL when the span is not wholly inside one private
 * anonymous VMA THP is enabled for; -EEXIST when a PMD maps it already;
 * -EBUSY when nothing is mapped there, or a page of it is shared,
 * pinned, swapped out or busy;
 * -ENOMEM when no aligned run of 512 frames is free.
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users:
 *	WARN, -EINVAL.
 */
int khugepaged_collapse(struct mm_struct *mm, unsigned long addr);

#endif /* MMULAB_HUGE_MM_H */
