/* SPDX-License-Identifier: MIT */
/*
 * x86-64 four-level page tables: PGD -> PUD -> PMD -> PTE, 512 entries per
 * level, each table a frame of the host.  Upper-level entries hold the
 * frame number of the next table; leaf entries the frame of the page.
 *
 * Locking: the structure (which tables exist) changes under
 * mm->page_table_lock when a table is added, and only under the mmap_lock
 * held for writing when one is freed, so a walker that holds the mmap_lock
 * (or an rmap lock of a VMA still linked, see free_pgtables()) may follow
 * upper-level entries without further locks.  Leaf entries are read and
 * written under the page-table lock (PTL) of their table.
 */
#ifndef MMULAB_MM_PGTABLE_H
#define MMULAB_MM_PGTABLE_H

#include "internal.h"

#define _PAGE_PROTNONE _PAGE_GLOBAL /* non-present, but maps a page */
#define _PAGE_TABLE                                                            \
	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY)

enum pt_level { PT_PGD = 3, PT_PUD = 2, PT_PMD = 1, PT_PTE = 0 };

static inline unsigned int pt_index(unsigned long addr, int level)
{
	return (addr >> (PAGE_SHIFT + 9 * level)) & (PTRS_PER_TABLE - 1);
}

/* Bytes covered by one entry of a table at @level. */
static inline unsigned long pt_entry_span(int level)
{
	return 1UL << (PAGE_SHIFT + 9 * level);
}

static inline pte_t ptep_get(pte_t *ptep)
{
	return __pte(READ_ONCE(ptep->pte));
}

/*
 * ptep_get() of an upper-level entry (PGD, PUD, PMD) by a task holding
 * the mmap_lock for writing.  Only page faults, under that lock, and
 * free_pgtables(), under it exclusively, write those entries, so no write
 * can race with the read: it interacts with no other task and is not a
 * scheduling point.
 */
static inline pte_t ptep_get_exclusive(pte_t *ptep)
{
	return __pte(__atomic_load_n(&ptep->pte, __ATOMIC_RELAXED));
}

/*
 * A raw entry write: for upper-level entries and for replacing a leaf that
 * is not present.  A leaf that may be present is written with set_pte_at().
 */
static inline void set_pte(pte_t *ptep, pte_t pte)
{
	WRITE_ONCE(ptep->pte, pte.pte);
}

/* checker.c: INV-7, a leaf PTE of @mm at @addr goes from @old to @new. */
void checker_set_pte(struct mm_struct *mm, unsigned long addr, pte_t old,
		     pte_t new);

/**
 * set_pte_at() - write the leaf PTE of @addr in @mm.  Every leaf write of
 * the primary MMU goes through here, so the checker sees each change that
 * removes or downgrades a present PTE; its look is not a scheduling point.
 * @mm: the address space.
 * @addr: the address the PTE maps.
 * @ptep: the entry, PTL held.
 * @pte: the new value.
 */
static inline void set_pte_at(struct mm_struct *mm, unsigned long addr,
			      pte_t *ptep, pte_t pte)
{
	if (unlikely(checker_peek(mm->host->checker)))
		checker_set_pte(mm, addr, __pte(checker_peek(ptep->pte)), pte);
	set_pte(ptep, pte);
}

/*
 * A huge PMD: an entry of a PMD table that maps a 2 MiB page itself
 * (_PAGE_PSE), present or PROT_NONE, rather than pointing to a PTE table.
 */
static inline bool pmd_leaf(pte_t pmd)
{
	return pmd.pte & _PAGE_PSE;
}

static inline bool pte_protnone(pte_t pte)
{
	return (pte.pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) == _PAGE_PROTNONE;
}

/* Does the entry reference a page (present, or PROT_NONE)? */
static inline bool pte_maps_page(pte_t pte)
{
	return pte_present(pte) || pte_protnone(pte);
}

static inline pte_t pte_wrprotect(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_RW);
}
static inline pte_t pte_mkwrite(pte_t pte)
{
	return __pte(pte.pte | _PAGE_RW);
}
static inline pte_t pte_mkold(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_ACCESSED);
}
static inline pte_t pte_mkyoung(pte_t pte)
{
	return __pte(pte.pte | _PAGE_ACCESSED);
}
static inline pte_t pte_mkclean(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_DIRTY);
}
static inline pte_t pte_mkdirty(pte_t pte)
{
	return __pte(pte.pte | _PAGE_DIRTY);
}

static inline pte_t pfn_pte(unsigned long pfn, u64 prot)
{
	return __pte(((u64)pfn << PAGE_SHIFT) | prot);
}

/* Protection bits of a leaf entry for a VMA with @vm_flags. */
static inline u64 vm_page_prot(unsigned long vm_flags, bool writable)
{
	u64 prot;

	if (!(vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return _PAGE_PROTNONE | _PAGE_USER;
	prot = _PAGE_PRESENT | _PAGE_USER;
	if (writable && (vm_flags & VM_WRITE))
		prot |= _PAGE_RW;
	if (!(vm_flags & VM_EXEC))
		prot |= _PAGE_NX;
	return prot;
}

/* The page-table page an upper-level entry points to. */
static inline struct page *pt_next(struct mm_struct *mm, pte_t entry)
{
	return &mm->host->pages[pte_pfn(entry)];
}

/*
 * Where the span of the entry at @level covering @addr ends, or @end if
 * that comes first: Linux's pgd_addr_end()/pud_addr_end()/pmd_addr_end().
 * Comparing one below each bound keeps a span ending at the top of the
 * address space (boundary 0) right.
 */
static inline unsigned long pt_addr_end(unsigned long addr, unsigned long end,
					int level)
{
	unsigned long span = pt_entry_span(level);
	unsigned long boundary = (addr + span) & ~(span - 1);

	return boundary - 1 < end - 1 ? boundary : end;
}

/* The end of the PTE table's span at @addr, or @end: pmd_addr_end(). */
static inline unsigned long pmd_addr_end(unsigned long addr, unsigned long end)
{
	return pt_addr_end(addr, end, PT_PMD);
}

/* Lock the PTE table @table found by a walk; the entry of @addr. */
static inline pte_t *pte_table_lock(struct page *table, unsigned long addr,
				    spinlock_t **ptlp)
{
	spin_lock(&table->ptl);
	*ptlp = &table->ptl;
	return &table->pt_table[pt_index(addr, PT_PTE)];
}

/*
 * for_each_pte_table() - every PTE table that covers part of [addr, end),
 * in order: @table is the table, [@addr, @next) the part of the range it
 * covers.  Absent upper-level tables are skipped whole, so the cost is
 * proportional to the populated tables, not to the range (Linux's
 * pXd_none() checks at each level of its range walks).  The walk goes on
 * from @next: a body that stopped half way through a table lowers @next
 * to resume there.  The caller holds the mmap_lock (or an rmap lock, see
 * free_pgtables()), which keeps the tables from being freed.
 */
#define for_each_pte_table(mm, table, addr, next, end)                         \
	for (; ((table) = pte_table_next((mm), &(addr), (end))) &&             \
	       ((next) = pmd_addr_end((addr), (end)), true);                   \
	     (addr) = (next))

/*
 * for_each_pte_table_huge() - as for_each_pte_table(), offering each huge
 * PMD met to @fn first (see pte_table_next_huge()).
 */
#define for_each_pte_table_huge(mm, table, addr, next, end, fn, arg)          \
	for (; ((table) = pte_table_next_huge((mm), &(addr), (end), (fn),     \
					      (arg))) &&                      \
	       ((next) = pmd_addr_end((addr), (end)), true);                   \
	     (addr) = (next))

/* memory.c */
pte_t *pte_offset_map_lock(struct mm_struct *mm, unsigned long addr,
			   spinlock_t **ptlp);
pte_t *pte_alloc_map_lock(struct mm_struct *mm, unsigned long addr,
			  spinlock_t **ptlp);
struct page *pte_table_page(struct mm_struct *mm, unsigned long addr);
struct page *pte_table_next(struct mm_struct *mm, unsigned long *addr,
			    unsigned long end);
/*
 * A huge PMD @pmdp at @addr met by a walk of [.., @end): true if handled,
 * false to have it split.  Called without locks.
 */
typedef bool (*pmd_fn_t)(pte_t *pmdp, unsigned long addr, unsigned long end,
			 void *arg);
struct page *pte_table_next_huge(struct mm_struct *mm, unsigned long *addr,
				 unsigned long end, pmd_fn_t pmd_fn, void *arg);
struct page *pt_table_at(struct mm_struct *mm, unsigned long addr, int level,
			 bool alloc);
void checker_set_pmd(struct mm_struct *mm, unsigned long addr, pte_t old,
		     pte_t new);
pte_t ptep_clear_flush(struct mm_struct *mm, unsigned long addr, pte_t *ptep);
void free_pgtables(struct mm_struct *mm, unsigned long start,
		   unsigned long end);

#endif /* MMULAB_MM_PGTABLE_H */
