// SPDX-License-Identifier: MIT
/*
 * CPU loads and stores through the primary MMU's page tables: what the
 * model has in place of the hardware's page walker.  An access that the
 * PTE allows sets the accessed (and dirty) bits and touches the frame
 * under the PTL; any other goes through handle_mm_fault() and tries
 * again, as a faulting instruction is restarted.
 */
#include <string.h>

#include <mmulab/huge_mm.h>

#include "internal.h"
#include "pgtable.h"

/*
 * One access within one page: walk, and if the PTE allows it set the
 * accessed (and dirty) bits and touch the frame under the PTL, which is
 * what keeps the frame from being freed underneath, as a TLB shootdown
 * would; otherwise fault and try again.
 */
static int access_page(struct mm_struct *mm, unsigned long addr, void *buf,
		       size_t len, bool write, page_access_fn fn)
{
	unsigned int flags = write ? FAULT_FLAG_WRITE : 0;

	for (int tries = 0; tries < 64; tries++) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct page *huge;
		spinlock_t *ptl;
		vm_fault_t ret;
		pte_t *pte, hv;

		if (!vma || !vma_access_ok(vma, flags))
			return -EFAULT;
		huge = follow_huge_pmd_lock(mm, addr, &hv, &ptl);
		pte = huge ? &hv : pte_offset_map_lock(mm, addr, &ptl);
		if (pte) {
			pte_t v = ptep_get(pte);

			if (pte_present(v) && (!write || pte_write(v))) {
				v = pte_mkyoung(v);
				if (write)
					v = pte_mkdirty(v);
				if (huge)
					huge_pmd_touch(mm, addr, write);
				else
					set_pte_at(mm, addr, pte, v);
				fn(pfn_to_page(mm->host, pte_pfn(v)),
				   addr & ~PAGE_MASK, buf, len, write);
				spin_unlock(ptl);
				return 0;
			}
			spin_unlock(ptl);
		}
		ret = handle_mm_fault(vma, addr, flags);
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS))
			return -EFAULT;
	}
	return -EFAULT;
}

static int cpu_access(struct mm_struct *mm, unsigned long addr, void *buf,
		      size_t len, bool write)
{
	int ret = 0;

	if (!buf || addr >= TASK_SIZE || len > TASK_SIZE - addr)
		return -EINVAL;
	if (!mm->host->mem)
		return -EINVAL; /* tag mode has no bytes */
	mmap_read_lock(mm);
	while (len && !ret) {
		size_t chunk = PAGE_SIZE - (addr & ~PAGE_MASK);

		if (chunk > len)
			chunk = len;
		ret = access_page(mm, addr, buf, chunk, write,
				  page_access_bytes);
		addr += chunk;
		buf = (u8 *)buf + chunk;
		len -= chunk;
	}
	mmap_read_unlock(mm);
	return ret;
}

int cpu_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	return cpu_access(mm, addr, buf, len, false);
}

int cpu_write(struct mm_struct *mm, unsigned long addr, const void *buf,
	      size_t len)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	return cpu_access(mm, addr, (void *)buf, len, true);
}

static int cpu_access_u64(struct mm_struct *mm, unsigned long addr, u64 *val,
			  bool write)
{
	int ret;

	if (!val || addr >= TASK_SIZE || (addr & 7))
		return -EINVAL;
	mmap_read_lock(mm);
	ret = access_page(mm, addr, val, 8, write, page_access_u64);
	mmap_read_unlock(mm);
	return ret;
}

int cpu_read_u64(struct mm_struct *mm, unsigned long addr, u64 *val)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	return cpu_access_u64(mm, addr, val, false);
}

int cpu_write_u64(struct mm_struct *mm, unsigned long addr, u64 val)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	return cpu_access_u64(mm, addr, &val, true);
}
