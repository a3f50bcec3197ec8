// SPDX-License-Identifier: MIT
/*
 * Migration to and from device-private memory (the kernel's
 * mm/migrate_device.c), device-exclusive entries, and the CPU faults on
 * both (see <mmulab/migrate.h>).
 *
 * A collected page is locked, referenced by the migration, and mapped
 * nowhere: every PTE of it is a migration entry, so a CPU fault on it
 * sleeps on the page lock (migration_entry_wait()) until finalize points
 * the entries at the destination or back at the page.  While unmapped,
 * the page's anon_vma is kept alive by a reference the migration holds
 * (MIGRATE_PFN_MAPPING): the rmap walk of finalize needs it.
 */
#include <mmulab/migrate.h>
#include "pgtable.h"
#include "swapops.h"

/* src[] bit private to this file: we hold a reference on the anon_vma. */
#define MIGRATE_PFN_MAPPING (1UL << 4)

struct page *migrate_pfn_to_page(struct host *host, unsigned long mpfn)
{
	if (!host || !(mpfn & MIGRATE_PFN_VALID))
		return NULL;
	return pfn_to_page(host, mpfn >> MIGRATE_PFN_SHIFT);
}

static bool vma_is_anonymous(struct vm_area_struct *vma)
{
	return !vma->vm_file;
}

/* ---------------------------------------------------------------------
 * Collecting
 */

/*
 * The page @v maps, if migrate_vma_setup() selects it: an anonymous
 * system page for SELECT_SYSTEM, a device page of @owner for
 * SELECT_DEVICE_PRIVATE.  KSM and swap-cache pages stay (they have other
 * owners to hand over to, which Linux handles and the model does not).
 */
static struct page *collect_candidate(struct migrate_vma *args,
				      struct host *host, pte_t v)
{
	struct page *page;

	if (pte_present(v)) {
		if (!(args->flags & MIGRATE_VMA_SELECT_SYSTEM))
			return NULL;
		page = pfn_to_page(host, pte_pfn(v));
		if (!PageAnon(page) || PageKsm(page) ||
		    PageFlag(page, PG_swapcache))
			return NULL;
		return page;
	}
	if (!is_device_private_pte(v) ||
	    !(args->flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE))
		return NULL;
	page = pfn_to_page(host, swp_offset(pte_to_swp_entry(v)));
	return page_pgmap(page)->owner == args->pgmap_owner ? page : NULL;
}

/*
 * Collect the page at @addr (PTL held): lock it (trylock: we hold the
 * PTL; a page someone else has locked is left alone), take our reference
 * and one on its anon_vma, and replace the PTE by a migration entry.
 * Pinned pages stay: someone writes them behind the MMU's back.
 */
static unsigned long collect_page(struct mm_struct *mm, unsigned long addr,
				  pte_t *ptep, pte_t v, struct page *page)
{
	unsigned long mpfn = migrate_pfn_encode(page_to_pfn(page)) |
			     MIGRATE_PFN_MIGRATE;
	void *mapping;

	if (page_maybe_dma_pinned(page) || !trylock_page(page))
		return 0;
	get_page(page);
	mapping = rmap_get_mapping(page);
	if (mapping)
		mpfn |= MIGRATE_PFN_MAPPING;
	if (pte_present(v) ? pte_write(v)
			   : is_writable_device_private_entry(
				     pte_to_swp_entry(v)))
		mpfn |= MIGRATE_PFN_WRITE;
	install_migration_entry(mm, addr, ptep, page);
	return mpfn;
}

static void collect_range(struct migrate_vma *args, struct page *table,
			  unsigned long addr, unsigned long end)
{
	struct mm_struct *mm = args->vma->vm_mm;
	spinlock_t *ptl;
	pte_t *ptep = pte_table_lock(table, addr, &ptl);

	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		unsigned long i = (addr - args->start) >> PAGE_SHIFT;
		pte_t v = ptep_get(ptep);
		struct page *page;

		/* Holes and the zero page were selected up front, or not. */
		if (pte_none(v) || (pte_present(v) && pte_special(v)))
			continue;
		if (args->src[i])
			args->cpages--;
		args->src[i] = 0;
		page = collect_candidate(args, mm->host, v);
		if (page)
			args->src[i] = collect_page(mm, addr, ptep, v, page);
		if (args->src[i])
			args->cpages++;
	}
	spin_unlock(ptl);
}

/*
 * Linux's migrate_vma_collect(): one MMU_NOTIFY_MIGRATE invalidation of
 * the range, with the initiator as owner, around the walk.  Every page of
 * an anonymous VMA starts selected as a hole (the destination fills it),
 * so the walk only visits the populated page tables and corrects what it
 * finds there.
 */
static void migrate_vma_collect(struct migrate_vma *args)
{
	struct mm_struct *mm = args->vma->vm_mm;
	bool holes = vma_is_anonymous(args->vma) &&
		     (args->flags & MIGRATE_VMA_SELECT_SYSTEM);
	struct mmu_notifier_range range;
	unsigned long addr = args->start, next;
	struct page *table;

	for (unsigned long i = 0; i < args->npages; i++) {
		args->src[i] = holes ? MIGRATE_PFN_MIGRATE : 0;
		args->dst[i] = 0;
	}
	args->cpages = holes ? args->npages : 0;
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE, 0, mm,
				      args->start, args->end,
				      args->pgmap_owner);
	mmu_notifier_invalidate_range_start(&range);
	for_each_pte_table(mm, table, addr, next, args->end)
		collect_range(args, table, addr, next);
	mmu_notifier_invalidate_range_end(&range);
}

/* Put a collected page back where it was and forget it. */
static void migrate_restore(struct host *host, unsigned long *mpfn)
{
	struct page *page = migrate_pfn_to_page(host, *mpfn);
	void *mapping = READ_ONCE(page->mapping);

	remove_migration_ptes(page, page);
	unlock_page(page);
	if (*mpfn & MIGRATE_PFN_MAPPING)
		rmap_put_mapping(mapping);
	put_page(page);
	*mpfn = 0;
}

/*
 * Linux's migrate_device_unmap(): a collected page still mapped elsewhere
 * (another process after fork, or every process for an eviction) has its
 * other PTEs replaced through the reverse map (MMU_NOTIFY_CLEAR per
 * mapping, try_to_migrate()).  Then nobody but the migration (and the
 * fault that asked for it) may hold a reference: anyone else may write it.
 * Returns the pages given up.
 */
static unsigned long migrate_device_unmap(struct host *host,
					  unsigned long *src,
					  unsigned long npages,
					  struct page *fault_page)
{
	unsigned long failed = 0;

	for (unsigned long i = 0; i < npages; i++) {
		struct page *page = migrate_pfn_to_page(host, src[i]);
		bool ok = true;

		if (!page || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (page_mapcount(page)) {
			void *mapping = NULL;

			if (!(src[i] & MIGRATE_PFN_MAPPING))
				mapping = rmap_get_mapping(page);
			if (mapping)
				src[i] |= MIGRATE_PFN_MAPPING;
			ok = (src[i] & MIGRATE_PFN_MAPPING) &&
			     try_to_migrate(page);
		}
		if (ok && page_ref_count(page) == 1 + (page == fault_page))
			continue;
		migrate_restore(host, &src[i]);
		failed++;
	}
	return failed;
}

int migrate_vma_setup(struct migrate_vma *args)
{
	struct vm_area_struct *vma = args ? args->vma : NULL;

	if (!vma || !args->src || !args->dst || args->start >= args->end ||
	    (args->start & ~PAGE_MASK) || (args->end & ~PAGE_MASK) ||
	    args->start < vma->vm_start || args->end > vma->vm_end ||
	    !args->flags ||
	    (args->flags & ~(unsigned long)(MIGRATE_VMA_SELECT_SYSTEM |
					    MIGRATE_VMA_SELECT_DEVICE_PRIVATE)) ||
	    (args->fault_page && !is_device_private_page(args->fault_page)))
		return -EINVAL;
	/* The VMA and the anon_vma of its pages must stay: Linux asserts it. */
	mmap_assert_locked(vma->vm_mm);
	args->npages = (args->end - args->start) >> PAGE_SHIFT;
	migrate_vma_collect(args);
	args->cpages -= migrate_device_unmap(vma->vm_mm->host, args->src,
					     args->npages, args->fault_page);
	return 0;
}

/* ---------------------------------------------------------------------
 * Handing over and mapping
 */

/*
 * Fill the hole (or zero page) at @addr with @page, inside the MIGRATE
 * invalidation the caller opened (replacing the zero page is a change a
 * secondary MMU may have copied).  Linux's migrate_vma_insert_page().
 */
static bool migrate_vma_insert_page(struct migrate_vma *args,
				    unsigned long addr, struct page *page)
{
	struct vm_area_struct *vma = args->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool device = is_device_private_page(page);
	spinlock_t *ptl;
	pte_t *ptep, v, entry;

	if (!vma_is_anonymous(vma) || anon_vma_prepare(vma))
		return false;
	ptep = pte_alloc_map_lock(mm, addr, &ptl);
	if (!ptep)
		return false;
	v = ptep_get(ptep);
	if (pte_present(v) && pte_special(v)) {
		ptep_clear_flush(mm, addr, ptep);
	} else if (!pte_none(v)) {
		spin_unlock(ptl);
		return false;
	}
	if (device)
		entry = swp_entry_to_pte(make_device_private_entry(
			page_to_pfn(page), vma->vm_flags & VM_WRITE));
	else
		entry = pte_mkdirty(pfn_pte(page_to_pfn(page),
					    vm_page_prot(vma->vm_flags, true) |
						    _PAGE_ACCESSED));
	get_page(page);
	page_add_new_anon_rmap(page, vma, addr);
	if (!device)
		lru_cache_add(page);
	inc_mm_counter(mm, MM_ANONPAGES);
	set_pte_at(mm, addr, ptep, entry);
	spin_unlock(ptl);
	return true;
}

/* @new takes @old's identity: its place in the anon_vma and its flags. */
static void migrate_hand_over(struct page *new, struct page *old)
{
	new->index = old->index;
	WRITE_ONCE(new->mapping, READ_ONCE(old->mapping));
	SetPageFlag(new, PG_swapbacked);
	if (PageFlag(old, PG_dirty))
		SetPageFlag(new, PG_dirty);
}

static void __migrate_device_pages(struct host *host, unsigned long *src,
				   unsigned long *dst, unsigned long npages,
				   struct migrate_vma *args)
{
	struct mmu_notifier_range range;
	bool notified = false;

	for (unsigned long i = 0; i < npages; i++) {
		struct page *new = migrate_pfn_to_page(host, dst[i]);
		struct page *page = migrate_pfn_to_page(host, src[i]);
		unsigned long addr;

		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (!new) {
			src[i] &= ~MIGRATE_PFN_MIGRATE;
			continue;
		}
		if (page) {
			migrate_hand_over(new, page);
			continue;
		}
		addr = args ? args->start + (i << PAGE_SHIFT) : 0;
		if (args && !notified) {
			mmu_notifier_range_init_owner(&range, MMU_NOTIFY_MIGRATE,
						      0, args->vma->vm_mm, addr,
						      args->end,
						      args->pgmap_owner);
			mmu_notifier_invalidate_range_start(&range);
			notified = true;
		}
		if (!args || !migrate_vma_insert_page(args, addr, new))
			src[i] &= ~MIGRATE_PFN_MIGRATE;
	}
	if (notified)
		mmu_notifier_invalidate_range_end(&range);
}

void migrate_vma_pages(struct migrate_vma *args)
{
	if (WARN_ON_ONCE(!args || !args->vma))
		return;
	__migrate_device_pages(args->vma->vm_mm->host, args->src, args->dst,
			       args->npages, args);
}

void migrate_device_pages(struct host *host, unsigned long *src,
			  unsigned long *dst, unsigned long npages)
{
	if (WARN_ON_ONCE(!host || !src || !dst))
		return;
	__migrate_device_pages(host, src, dst, npages, NULL);
}

/*
 * Point each collected page's migration entries at its destination, or
 * back at itself where the migration failed; release the source (freed
 * now: a device page goes back to its driver) and the driver's reference
 * on the destination.
 */
void migrate_device_finalize(struct host *host, unsigned long *src,
			     unsigned long *dst, unsigned long npages)
{
	if (WARN_ON_ONCE(!host || !src || !dst))
		return;
	for (unsigned long i = 0; i < npages; i++) {
		struct page *new = migrate_pfn_to_page(host, dst[i]);
		struct page *page = migrate_pfn_to_page(host, src[i]);
		void *mapping;

		if (!page) {
			if (new) {
				unlock_page(new);
				put_page(new);
			}
			continue;
		}
		if (!(src[i] & MIGRATE_PFN_MIGRATE) || !new) {
			if (new) {
				unlock_page(new);
				put_page(new);
			}
			new = page;
		}
		mapping = READ_ONCE(page->mapping);
		remove_migration_ptes(page, new);
		if (new != page) {
			ClearPageFlag(page, PG_anon_exclusive);
			WRITE_ONCE(page->mapping, NULL);
			if (!is_device_private_page(new))
				lru_cache_add(new);
			count_vm_event(host, PGMIGRATE_SUCCESS);
		}
		unlock_page(page);
		if (src[i] & MIGRATE_PFN_MAPPING)
			rmap_put_mapping(mapping);
		put_page(page);
		if (new != page) {
			unlock_page(new);
			put_page(new);
		}
	}
}

void migrate_vma_finalize(struct migrate_vma *args)
{
	if (WARN_ON_ONCE(!args || !args->vma))
		return;
	migrate_device_finalize(args->vma->vm_mm->host, args->src, args->dst,
				args->npages);
}

int migrate_device_range(struct host *host, unsigned long *src,
			 unsigned long npages)
{
	if (!host || !src)
		return -EINVAL;
	for (unsigned long i = 0; i < npages; i++) {
		struct page *page = migrate_pfn_to_page(host, src[i]);

		src[i] = 0;
		if (!page || !is_device_private_page(page) ||
		    !get_page_unless_zero(page))
			continue;
		if (!trylock_page(page)) {
			put_page(page);
			continue;
		}
		src[i] = migrate_pfn_encode(page_to_pfn(page)) |
			 MIGRATE_PFN_MIGRATE;
	}
	migrate_device_unmap(host, src, npages, NULL);
	return 0;
}

/* ---------------------------------------------------------------------
 * Device-exclusive entries
 */

struct make_exclusive_args {
	struct mm_struct *mm;
	unsigned long address;
	void *owner;
	bool valid;
};

/*
 * Replace the PTE of @vma at @addr, if it maps @page, by a device-exclusive
 * entry, inside an MMU_NOTIFY_EXCLUSIVE invalidation of the page whose
 * owner is the device: its own callback sees it is the requester.  The
 * entry keeps the PTE's reference; the map count goes, as Linux 6.12.
 */
static bool make_exclusive_one(struct page *page, struct vm_area_struct *vma,
			       unsigned long addr, void *arg)
{
	struct make_exclusive_args *ea = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *ptep, v, old;

	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, mm, addr,
				      addr + PAGE_SIZE, ea->owner);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, addr, &ptl);
	if (ptep) {
		v = ptep_get(ptep);
		if (pte_present(v) && !pte_special(v) &&
		    pte_pfn(v) == page_to_pfn(page)) {
			old = ptep_clear_flush(mm, addr, ptep);
			if (pte_dirty(old))
				SetPageFlag(page, PG_dirty);
			if (ea->mm == mm && ea->address == addr &&
			    pte_write(old))
				ea->valid = true;
			set_pte_at(mm, addr, ptep,
				   swp_entry_to_pte(make_device_exclusive_entry(
					   page_to_pfn(page), pte_write(old))));
			page_remove_rmap(page);
		}
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	return true;
}

static bool page_make_device_exclusive(struct page *page, struct mm_struct *mm,
				       unsigned long addr, void *owner)
{
	struct make_exclusive_args ea = { mm, addr, owner, false };
	struct rmap_walk_control rwc = { make_exclusive_one, &ea, false };

	/* Anonymous pages only, as Linux (no writeback to worry about). */
	if (!PageAnon(page) || PageKsm(page))
		return false;
	rmap_walk(page, &rwc);
	return ea.valid && !page_mapcount(page);
}

long make_device_exclusive_range(struct mm_struct *mm, unsigned long start,
				 unsigned long end, struct page **pages,
				 void *owner)
{
	long n;

	if (!mm || !pages || start >= end || (start & ~PAGE_MASK) ||
	    (end & ~PAGE_MASK))
		return -EINVAL;
	n = get_user_pages_remote(mm, start, (end - start) >> PAGE_SHIFT,
				  FOLL_WRITE, pages);
	for (long i = 0; i < n; i++, start += PAGE_SIZE) {
		if (!trylock_page(pages[i])) {
			put_page(pages[i]);
			pages[i] = NULL;
			continue;
		}
		if (!page_make_device_exclusive(pages[i], mm, start, owner)) {
			unlock_page(pages[i]);
			put_page(pages[i]);
			pages[i] = NULL;
		}
	}
	return n;
}

/*
 * The CPU's way back from a device-exclusive entry (PTL held, @ptep the
 * entry): the PTE the entry replaced, with the VMA's protections now.
 */
void restore_exclusive_pte(struct vm_area_struct *vma, unsigned long addr,
			   pte_t *ptep)
{
	swp_entry_t entry = pte_to_swp_entry(ptep_get(ptep));
	struct page *page = pfn_to_page(vma->vm_mm->host, swp_offset(entry));
	unsigned long vm_flags = READ_ONCE(vma->vm_flags);
	bool writable = is_writable_device_exclusive_entry(entry) &&
			(vm_flags & VM_WRITE);
	pte_t v = pfn_pte(page_to_pfn(page),
			  vm_page_prot(vm_flags, writable) | _PAGE_ACCESSED);

	/* The entry kept the reference, and the anon_vma its mapping. */
	page_dup_rmap(page);
	set_pte_at(vma->vm_mm, addr, ptep, writable ? pte_mkdirty(v) : v);
}

/*
 * A CPU access met a device-exclusive entry: under the page lock (the
 * device holds it while programming its access), tell every subscriber
 * with an MMU_NOTIFY_EXCLUSIVE invalidation without owner, so the device
 * drops its access, and put the PTE back.  Linux's
 * remove_device_exclusive_entry().
 */
static vm_fault_t remove_device_exclusive_entry(struct vm_area_struct *vma,
						unsigned long addr,
						struct page *page, pte_t orig)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *ptep;

	lock_page(page);
	mmu_notifier_range_init_owner(&range, MMU_NOTIFY_EXCLUSIVE, 0, mm, addr,
				      addr + PAGE_SIZE, NULL);
	mmu_notifier_invalidate_range_start(&range);
	ptep = pte_offset_map_lock(mm, addr, &ptl);
	if (ptep) {
		if (pte_val(ptep_get(ptep)) == pte_val(orig))
			restore_exclusive_pte(vma, addr, ptep);
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	unlock_page(page);
	return 0;
}

vm_fault_t do_device_entry_fault(struct vm_area_struct *vma,
				 unsigned long addr, spinlock_t *ptl,
				 pte_t orig, unsigned int flags)
{
	struct page *page = pfn_to_page(vma->vm_mm->host,
					swp_offset(pte_to_swp_entry(orig)));
	vm_fault_t ret;

	/* The entry's reference keeps it until we have our own. */
	get_page(page);
	spin_unlock(ptl);
	if (is_device_exclusive_pte(orig)) {
		ret = remove_device_exclusive_entry(vma, addr, page, orig);
	} else {
		struct vm_fault vmf = { vma, addr, flags, page };

		ret = page_pgmap(page)->ops->migrate_to_ram(&vmf);
	}
	put_page(page);
	return ret;
}

/*
 * A device entry holds the reference of the PTE it stands for (and, for a
 * device-private page, its map count): released now, as no TLB holds it.
 * The last reference to a device page returns it to its driver.
 */
void zap_device_entry(struct mm_struct *mm, swp_entry_t entry)
{
	struct page *page = pfn_to_page(mm->host, swp_offset(entry));

	dec_mm_counter(mm, MM_ANONPAGES);
	if (is_device_private_entry(entry))
		page_remove_rmap(page);
	put_page(page);
}

/*
 * Fork of a device-private entry: the child maps the device page too (a
 * reference and a map count), which is no longer exclusive; in a COW
 * mapping both entries become read-only, so a write on either side
 * migrates the page back and breaks COW there (Linux's copy_nonpresent_pte).
 */
void copy_device_private_pte(struct mm_struct *mm, pte_t *dst, pte_t *src,
			     pte_t v, bool is_cow)
{
	swp_entry_t entry = pte_to_swp_entry(v);
	struct page *page = pfn_to_page(mm->host, swp_offset(entry));

	get_page(page);
	page_dup_rmap(page);
	inc_mm_counter(mm, MM_ANONPAGES);
	ClearPageFlag(page, PG_anon_exclusive);
	if (is_cow && is_writable_device_private_entry(entry)) {
		v = swp_entry_to_pte(
			make_device_private_entry(swp_offset(entry), false));
		set_pte(src, v);
	}
	set_pte(dst, v);
}

bool pte_entry_pfn(pte_t pte, unsigned long *pfn, bool *write)
{
	swp_entry_t e;

	if (pte_present(pte)) {
		*pfn = pte_pfn(pte);
		*write = pte_write(pte);
		return true;
	}
	if (!is_swap_pte(pte))
		return false;
	e = pte_to_swp_entry(pte);
	if (!is_device_private_entry(e) && !is_device_exclusive_entry(e))
		return false;
	*pfn = swp_offset(e);
	*write = is_writable_device_private_entry(e) ||
		 is_writable_device_exclusive_entry(e);
	return true;
}
