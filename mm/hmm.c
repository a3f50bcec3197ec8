// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault(): read a range of a process's page table for a device,
 * faulting in what the device asked for (Linux's mm/hmm.c).
 *
 * The walk visits the range VMA by VMA and, inside a VMA, PMD by PMD: a
 * PTE table entry by entry, a huge PMD whole (its pages reported with map
 * order 9, the PMD never split, as Linux's hmm_vma_handle_pmd()), an
 * absent table as a hole; each costs one descent (pte_table_next_huge()),
 * the per-page output is what the caller's array costs anyway.  A page that
 * needs a fault is faulted through handle_mm_fault(), as the CPU would,
 * and the walk starts over from it (-EBUSY inside, as Linux's walk does):
 * the fault may have changed any entry, and the interval's sequence is
 * checked again before the next pass.  The result is only a hint until
 * the driver's mmu_interval_read_retry() under its own lock says no
 * invalidation ran meanwhile.
 */
#include <mmulab/hmm.h>
#include <mmulab/huge_mm.h>
#include <mmulab/memremap.h>
#include <mmulab/mmu_notifier.h>

#include "pgtable.h"
#include "swapops.h"

/* What a page needs: nothing, a fault, a write fault. */
enum {
	HMM_NEED_FAULT = 1 << 0,
	HMM_NEED_WRITE_FAULT = 1 << 1,
};

/**
 * struct hmm_vma_walk - one pass of the walk.
 * @range: the request.
 * @last: where to start the next pass: the first page whose entry still
 *	holds its input.
 * @vma: the VMA being walked.
 */
struct hmm_vma_walk {
	struct hmm_range *range;
	unsigned long last;
	struct vm_area_struct *vma;
	int pmd_ret;
};

/* hmm_vma_walk.pmd_ret while no huge PMD was met. */
#define HMM_NO_HUGE_PMD 1

static unsigned long *hmm_pfn_of(struct hmm_range *range, unsigned long addr)
{
	return &range->hmm_pfns[(addr - range->start) >> PAGE_SHIFT];
}

static void hmm_pfns_fill(struct hmm_range *range, unsigned long addr,
			  unsigned long end, unsigned long value)
{
	for (; addr < end; addr += PAGE_SIZE)
		*hmm_pfn_of(range, addr) = value;
}

/*
 * The page's request (its own bits under the mask, plus the range's
 * defaults) against what the CPU has: HMM_NEED_* or 0.
 */
static unsigned int hmm_pte_need_fault(const struct hmm_range *range,
				       unsigned long req, unsigned long cpu)
{
	req = (req & range->pfn_flags_mask) | range->default_flags;
	if (!(req & HMM_PFN_REQ_FAULT))
		return 0;
	if ((req & HMM_PFN_REQ_WRITE) && !(cpu & HMM_PFN_WRITE))
		return HMM_NEED_FAULT | HMM_NEED_WRITE_FAULT;
	return (cpu & HMM_PFN_VALID) ? 0 : HMM_NEED_FAULT;
}

/* The union of what the pages of [addr, end) need, with @cpu flags. */
static unsigned int hmm_range_need_fault(struct hmm_range *range,
					 unsigned long addr, unsigned long end,
					 unsigned long cpu)
{
	unsigned int need = 0;

	/* Neither the defaults nor any page may ask: a pure snapshot. */
	if (!((range->default_flags | range->pfn_flags_mask) &
	      HMM_PFN_REQ_FAULT))
		return 0;
	for (; addr < end; addr += PAGE_SIZE) {
		need |= hmm_pte_need_fault(range, *hmm_pfn_of(range, addr),
					   cpu);
		if (need & HMM_NEED_WRITE_FAULT)
			break;
	}
	return need;
}

/*
 * Fault the page at @addr the way it needs, and make the walk start over
 * from it.  A write to a VMA without VM_WRITE is refused before any fault
 * (Linux: -EPERM, where GUP would say -EFAULT).
 */
static int hmm_vma_fault(struct hmm_vma_walk *w, unsigned long addr,
			 unsigned int need)
{
	unsigned int flags = 0;

	w->last = addr;
	if (need & HMM_NEED_WRITE_FAULT) {
		if (!(w->vma->vm_flags & VM_WRITE))
			return -EPERM;
		flags |= FAULT_FLAG_WRITE;
	}
	if (handle_mm_fault(w->vma, addr, flags) &
	    (VM_FAULT_OOM | VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS))
		return -EFAULT;
	return -EBUSY;
}

/*
 * [addr, end) has no PTE table, inside @w->vma (or in no VMA when it is
 * NULL): nothing is mapped there.
 */
static int hmm_vma_walk_hole(struct hmm_vma_walk *w, unsigned long addr,
			     unsigned long end)
{
	struct hmm_range *range = w->range;

	for (unsigned long a = addr; a < end; a += PAGE_SIZE) {
		unsigned int need =
			hmm_pte_need_fault(range, *hmm_pfn_of(range, a), 0);

		if (!need) {
			*hmm_pfn_of(range, a) = w->vma ? 0 : HMM_PFN_ERROR;
			continue;
		}
		if (!w->vma)
			return -EFAULT;
		return hmm_vma_fault(w, a, need);
	}
	return 0;
}

static unsigned long pte_to_hmm_pfn_flags(pte_t pte)
{
	if (!pte_present(pte))
		return 0;
	return pte_write(pte) ? HMM_PFN_VALID | HMM_PFN_WRITE : HMM_PFN_VALID;
}

/*
 * A device-private entry of the caller's own device memory: its frame is
 * reported, writable when the entry is, and not faulted (Linux 6.12
 * hmm_vma_handle_pte()).  Any other owner's is faulted like a swap entry:
 * the CPU fault path calls its migrate_to_ram().  The model differs in
 * one case: a write asked of a read-only one (after fork) is faulted too,
 * where Linux reports it read-only and leaves the write to the driver.
 */
static bool hmm_own_device_private(struct hmm_vma_walk *w, pte_t pte,
				   unsigned long *hmm_pfn)
{
	struct host *host = w->vma->vm_mm->host;
	unsigned long cpu;
	swp_entry_t entry;

	if (!is_device_private_pte(pte))
		return false;
	entry = pte_to_swp_entry(pte);
	if (page_pgmap(pfn_to_page(host, swp_offset(entry)))->owner !=
	    w->range->dev_private_owner)
		return false;
	cpu = HMM_PFN_VALID;
	if (is_writable_device_private_entry(entry))
		cpu |= HMM_PFN_WRITE;
	if (hmm_pte_need_fault(w->range, *hmm_pfn, cpu))
		return false;
	*hmm_pfn = swp_offset(entry) | cpu;
	return true;
}

/*
 * A non-present entry the page needs faulted: swap, device-private and
 * device-exclusive entries fault in (the CPU fault path brings a device
 * page back, or revokes exclusive access), a migration entry is waited
 * out, anything else cannot be mirrored.
 */
static int hmm_vma_handle_swap(struct hmm_vma_walk *w, unsigned long addr,
			       pte_t pte, spinlock_t *ptl, unsigned int need)
{
	if (is_migration_pte(pte)) {
		w->last = addr;
		migration_entry_wait(w->vma->vm_mm, ptl, pte);
		return -EBUSY;
	}
	spin_unlock(ptl);
	if (is_swap_pte(pte))
		return hmm_vma_fault(w, addr, need);
	return -EFAULT;
}

/*
 * One entry, read under @ptl.  Returns 0 with @ptl still held, or an
 * error or -EBUSY with it dropped.
 */
static int hmm_vma_handle_pte(struct hmm_vma_walk *w, unsigned long addr,
			      pte_t *ptep, spinlock_t *ptl)
{
	struct hmm_range *range = w->range;
	unsigned long *hmm_pfn = hmm_pfn_of(range, addr);
	pte_t pte = ptep_get(ptep);
	unsigned long cpu = pte_to_hmm_pfn_flags(pte);
	unsigned int need;

	if (hmm_own_device_private(w, pte, hmm_pfn))
		return 0;
	need = hmm_pte_need_fault(range, *hmm_pfn, cpu);
	if (pte_none(pte) || (!pte_present(pte) && !need)) {
		if (need) {
			spin_unlock(ptl);
			return hmm_vma_fault(w, addr, need);
		}
		*hmm_pfn = 0;
		return 0;
	}
	if (!pte_present(pte))
		return hmm_vma_handle_swap(w, addr, pte, ptl, need);
	if (need) {
		spin_unlock(ptl);
		return hmm_vma_fault(w, addr, need);
	}
	/*
	 * The only special PTE of the model maps the shared zero page, which
	 * Linux also reports as an ordinary page.  A PTE: map order 0.
	 */
	*hmm_pfn = pte_pfn(pte) | cpu;
	return 0;
}

/*
 * A huge PMD mapping [addr, end): every page of it is reported with the
 * PMD's permission and map order 9, or the range is faulted as its pages
 * ask (Linux 6.12 hmm_vma_handle_pmd(); a PROT_NONE PMD maps nothing the
 * device may read).
 */
static int hmm_vma_handle_pmd(struct hmm_vma_walk *w, unsigned long addr,
			      unsigned long end, pte_t pmd)
{
	struct hmm_range *range = w->range;
	unsigned long cpu = pte_to_hmm_pfn_flags(pmd), pfn;
	unsigned int need = hmm_range_need_fault(range, addr, end, cpu);

	if (need)
		return hmm_vma_fault(w, addr, need);
	if (cpu)
		cpu |= (unsigned long)HPAGE_PMD_ORDER << HMM_PFN_ORDER_SHIFT;
	pfn = pte_pfn(pmd) + ((addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT);
	for (; addr < end; addr += PAGE_SIZE, pfn++)
		*hmm_pfn_of(range, addr) = cpu ? pfn | cpu : 0;
	return 0;
}

/*
 * pte_table_next_huge()'s question for a huge PMD: handled here, never
 * split.  It is read without a lock, as Linux's hmm_vma_walk_pmd() does:
 * a split running meanwhile sends its invalidation, which the caller's
 * sequence check sees; one that has already made it a table is walked as
 * a table.
 */
static bool hmm_vma_walk_huge(pte_t *pmdp, unsigned long addr,
			      unsigned long end, void *arg)
{
	struct hmm_vma_walk *w = arg;
	pte_t pmd = ptep_get(pmdp);

	if (!pmd_leaf(pmd))
		return false;
	w->pmd_ret = hmm_vma_handle_pmd(w, addr, end, pmd);
	return true;
}

/* The entries of one PTE table covering [addr, end). */
static int hmm_vma_walk_table(struct hmm_vma_walk *w, struct page *table,
			      unsigned long addr, unsigned long end)
{
	spinlock_t *ptl;
	pte_t *pte = pte_table_lock(table, addr, &ptl);

	for (; addr < end; addr += PAGE_SIZE, pte++) {
		int r = hmm_vma_handle_pte(w, addr, pte, ptl);

		if (r)
			return r;
	}
	spin_unlock(ptl);
	return 0;
}

/*
 * Linux's test_walk: a VMA the device may not read (no VM_READ; the
 * model has no VM_IO/VM_PFNMAP) is reported as errors, or fails the
 * call when a page of it was asked for.
 */
static int hmm_vma_walk_test(struct hmm_vma_walk *w, unsigned long addr,
			     unsigned long end)
{
	if (w->vma->vm_flags & VM_READ)
		return 0;
	if (hmm_range_need_fault(w->range, addr, end, 0))
		return -EFAULT;
	hmm_pfns_fill(w->range, addr, end, HMM_PFN_ERROR);
	return 1;
}

/*
 * [addr, end) of @w->vma inside one PMD's span: a huge PMD, a PTE table or
 * a hole (Linux's hmm_vma_walk_pmd()).
 */
static int hmm_vma_walk_pmd(struct hmm_vma_walk *w, unsigned long addr,
			    unsigned long end)
{
	unsigned long a = addr;
	struct page *table;

	w->pmd_ret = HMM_NO_HUGE_PMD;
	table = pte_table_next_huge(w->vma->vm_mm, &a, end, hmm_vma_walk_huge,
				    w);
	if (w->pmd_ret != HMM_NO_HUGE_PMD)
		return w->pmd_ret;
	if (!table)
		return hmm_vma_walk_hole(w, addr, end);
	return hmm_vma_walk_table(w, table, addr, end);
}

/* [addr, end) of @w->vma, PMD by PMD. */
static int hmm_vma_walk_range(struct hmm_vma_walk *w, unsigned long addr,
			      unsigned long end)
{
	int r = hmm_vma_walk_test(w, addr, end);

	if (r)
		return r < 0 ? r : 0;
	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);

		r = hmm_vma_walk_pmd(w, addr, next);
		if (r)
			return r;
		addr = next;
	}
	return 0;
}

/* One pass over [@w->last, range->end), VMA by VMA. */
static int hmm_walk(struct hmm_vma_walk *w)
{
	struct mm_struct *mm = w->range->notifier->mm;
	unsigned long addr = w->last, end = w->range->end;

	while (addr < end) {
		struct vm_area_struct *vma = find_vma(mm, addr);
		unsigned long stop;
		int r;

		/* Before the next VMA, or after the last: no VMA. */
		w->vma = NULL;
		stop = vma && vma->vm_start < end ? vma->vm_start : end;
		if (stop > addr) {
			r = hmm_vma_walk_hole(w, addr, stop);
			if (r)
				return r;
			addr = stop;
			continue;
		}
		w->vma = vma;
		stop = vma->vm_end < end ? vma->vm_end : end;
		r = hmm_vma_walk_range(w, addr, stop);
		if (r)
			return r;
		addr = stop;
	}
	return 0;
}

static bool hmm_range_ok(const struct hmm_range *range)
{
	return range && range->notifier && range->notifier->mm &&
	       range->hmm_pfns && !(range->start & ~PAGE_MASK) &&
	       !(range->end & ~PAGE_MASK) && range->start < range->end &&
	       range->end <= TASK_SIZE;
}

int hmm_range_fault(struct hmm_range *range)
{
	struct hmm_vma_walk w = { .range = range };
	int ret;

	if (!hmm_range_ok(range))
		return -EINVAL;
	/* Linux: mmap_assert_locked(); the walk relies on it (VMAs, tables). */
	mmap_assert_locked(range->notifier->mm);
	w.last = range->start;
	do {
		/* An invalidation since notifier_seq: the caller starts over. */
		if (mmu_interval_check_retry(range->notifier,
					     range->notifier_seq))
			return -EBUSY;
		ret = hmm_walk(&w);
	} while (ret == -EBUSY);
	return ret;
}
