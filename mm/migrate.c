// SPDX-License-Identifier: MIT
/*
 * Page migration: move a page, its contents and every mapping of it, to
 * another frame (the kernel's migrate_pages() for one small folio; a CLEAR
 * invalidation of the page per mapping, as docs/architecture.md's "What
 * each primary operation sends" lists).
 *
 *   lock the old page
 *   per mapping (rmap walk): invalidate_range_start, PTE cleared and
 *     flushed, migration entry written, invalidate_range_end
 *   check that nobody but the page's owner (the page cache; no one for an
 *     anonymous or KSM page) holds a reference
 *   copy the contents; hand the old page's place (page cache slot, KSM
 *     stable node) over to the new page
 *   per migration entry: PTE to the new page, without notification (the
 *     entry was not present, so no secondary MMU can map it)
 *   unlock the old page and free it
 *
 * Why it is safe without freezing the reference count as the kernel does:
 * once every PTE is a migration entry the only ways to a new reference are
 * a fault, which meets the entry and waits for the page lock we hold, and
 * the owner's lookup, which hands the page out under a lock (i_pages_lock,
 * KSM's rmap_sem) that the final check and the hand-over also hold.
 * Frame-number scanners (compaction, a second migration) take references
 * too, but never write; they only make the check fail, and we retry.
 *
 * Pinned pages never move: a pin means someone writes the frame behind
 * the MMU's back.  A pin cannot appear once every PTE is an entry, and one
 * taken earlier is seen under the PTL of the mapping it went through.
 */
#include "pgtable.h"
#include "swapops.h"

#define MIGRATE_RETRIES 10

enum movable_kind {
	MOVABLE_NONE,
	MOVABLE_ANON,
	MOVABLE_KSM,
	MOVABLE_SHMEM,
};

/*
 * What kind of page @page is, for a caller holding a reference that may
 * have been taken by frame number.  The flags are read with acquire,
 * pairing with the release that publishes a frame's first reference
 * (prep_new_page()) and with free_pt_page()'s ClearPageFlag(), so a
 * page-table page is known as one before its aliased fields are read.
 */
static enum movable_kind page_movable_kind(struct page *page)
{
	unsigned long flags = smp_load_acquire(&page->flags.counter);
	unsigned long mapping;

	if (flags & ((1UL << PG_reserved) | (1UL << PG_pgtable) |
		     (1UL << PG_buddy) | (1UL << PG_device)))
		return MOVABLE_NONE;
	mapping = (unsigned long)page_mapping_raw(page);
	switch (mapping & PAGE_MAPPING_FLAGS) {
	case PAGE_MAPPING_ANON:
		return MOVABLE_ANON;
	case PAGE_MAPPING_KSM:
		/* A bare tag: a KSM page being set up or already moved. */
		return mapping & ~PAGE_MAPPING_FLAGS ? MOVABLE_KSM
						     : MOVABLE_NONE;
	case 0:
		return mapping ? MOVABLE_SHMEM : MOVABLE_NONE;
	default:
		return MOVABLE_NONE;
	}
}

/**
 * migration_entry_wait() - a fault found the migration entry @pte under
 * @ptl: drop the lock and sleep until the migration is over, then let the
 * fault retry.  An entry exists only while the migration holds the old
 * page's lock, so waiting for that lock to be free is waiting for the PTE
 * to point at the new page (or back at the old one).
 */
vm_fault_t migration_entry_wait(struct mm_struct *mm, spinlock_t *ptl,
				pte_t pte)
{
	struct page *page = pfn_to_page(mm->host,
					swp_offset(pte_to_swp_entry(pte)));

	spin_unlock(ptl);
	if (!WARN_ON_ONCE(!page))
		wait_on_page_locked(page);
	return 0;
}

bool pte_migration_pfn(pte_t pte, unsigned long *pfn)
{
	if (!is_migration_pte(pte))
		return false;
	if (pfn)
		*pfn = swp_offset(pte_to_swp_entry(pte));
	return true;
}

/* ---------------------------------------------------------------------
 * Unmapping: PTEs to migration entries
 */

struct migrate_walk {
	bool failed;
};

void install_migration_entry(struct mm_struct *mm, unsigned long addr,
			     pte_t *pte, struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	pte_t old = ptep_get(pte);
	bool write, exclusive = PageAnon(page) &&
				PageFlag(page, PG_anon_exclusive);
	swp_entry_t entry;

	/* A device-private entry is not in any TLB: nothing to flush. */
	if (is_device_private_pte(old))
		write = is_writable_device_private_entry(pte_to_swp_entry(old));
	else
		write = pte_write(old = ptep_clear_flush(mm, addr, pte));
	if (write)
		entry = make_migration_entry(pfn, true);
	else if (exclusive)
		entry = make_readable_exclusive_migration_entry(pfn);
	else
		entry = make_migration_entry(pfn, false);
	/*
	 * The page's exclusivity moves into the entry, as 6.12's
	 * try_to_migrate_one() shares the page before it writes one
	 * (folio_try_share_anon_rmap_pte()): remove_migration_pte() gives it
	 * back only from an entry that still says so.  A fork meanwhile copies the
	 * entry and makes both read-only and shared; had the page kept the
	 * flag, a migration that fails and maps it back would leave a page
	 * the parent and the child share marked exclusive, and a write fault
	 * on either side would reuse it instead of copying it.
	 */
	if (exclusive)
		ClearPageFlag(page, PG_anon_exclusive);
	if (pte_present(old) && pte_dirty(old))
		SetPageFlag(page, PG_dirty);
	if (pte_present(old) && pte_young(old))
		SetPageFlag(page, PG_referenced);
	set_pte_at(mm, addr, pte, swp_entry_to_pte(entry));
	page_remove_rmap(page);
	put_page(page);
}

/*
 * Replace the PTE of @vma at @addr, if it maps @page, by a migration entry,
 * inside a CLEAR invalidation of that page: start, clear and flush, entry,
 * end.  A page that turns out pinned ends the walk; the caller restores
 * what was already replaced.
 */
static bool try_to_migrate_one(struct page *page, struct vm_area_struct *vma,
			       unsigned long addr, void *arg)
{
	struct migrate_walk *mw = arg;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;
	pte_t *pte;

	/* TTU_SPLIT_HUGE_PMD: a huge PMD is split before the page's CLEAR. */
	__split_huge_pmd(mm, addr);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
				addr + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	pte = pte_offset_map_lock(mm, addr, &ptl);
	if (pte) {
		pte_t v = ptep_get(pte);

		if ((pte_maps_page(v) && !pte_special(v) &&
		     pte_pfn(v) == page_to_pfn(page)) ||
		    (is_device_private_pte(v) &&
		     swp_offset(pte_to_swp_entry(v)) == page_to_pfn(page))) {
			if (page_maybe_dma_pinned(page))
				mw->failed = true;
			else
				install_migration_entry(mm, addr, pte, page);
		}
		spin_unlock(ptl);
	}
	mmu_notifier_invalidate_range_end(&range);
	return !mw->failed;
}

bool try_to_migrate(struct page *page)
{
	struct migrate_walk mw = { false };
	struct rmap_walk_control rwc = { try_to_migrate_one, &mw, false };

	rmap_walk(page, &rwc);
	return !mw.failed && !page_mapcount(page);
}

/* ---------------------------------------------------------------------
 * Remapping: migration entries to PTEs
 */

/*
 * Point the migration entry for @old at @vma/@addr, if there is one, at
 * @page (the new page, or @old itself when the migration failed).  The
 * protections are the VMA's now, read under the PTL: mprotect changes
 * vm_flags before it walks the PTEs under their PTLs, so either it sees
 * the PTE restored here and fixes it, or we see its new flags.
 */
static void remove_migration_pte(struct page *page, struct page *old,
				 struct vm_area_struct *vma, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(vma->vm_mm, addr, &ptl);
	unsigned long vm_flags;
	swp_entry_t entry;
	bool writable;
	pte_t v;

	if (!pte)
		return;
	v = ptep_get(pte);
	entry = pte_to_swp_entry(v);
	if (!is_migration_pte(v) || swp_offset(entry) != page_to_pfn(old)) {
		spin_unlock(ptl);
		return;
	}
	vm_flags = READ_ONCE(vma->vm_flags);
	writable = is_writable_migration_entry(entry) && (vm_flags & VM_WRITE);
	if (PageFlag(page, PG_device)) {
		/* Into device memory: the CPU's entry names the device page. */
		v = swp_entry_to_pte(
			make_device_private_entry(page_to_pfn(page), writable));
	} else {
		v = pfn_pte(page_to_pfn(page),
			    vm_page_prot(vm_flags, writable) | _PAGE_ACCESSED);
		if (writable && PageFlag(page, PG_dirty))
			v = pte_mkdirty(v);
	}
	get_page(page);
	page_dup_rmap(page);
	if (PageAnon(page) && !PageKsm(page) &&
	    is_exclusive_migration_entry(entry))
		SetPageFlag(page, PG_anon_exclusive);
	set_pte_at(vma->vm_mm, addr, pte, v);
	spin_unlock(ptl);
}

struct remove_walk {
	struct page *old;
};

static bool remove_migration_one(struct page *page, struct vm_area_struct *vma,
				 unsigned long addr, void *arg)
{
	struct remove_walk *rw = arg;

	remove_migration_pte(page, rw->old, vma, addr);
	return true;
}

/*
 * Walk @page's reverse map (its mapping is @old's) and replace every
 * migration entry for @old by a PTE mapping @page.
 */
void remove_migration_ptes(struct page *old, struct page *page)
{
	struct remove_walk rw = { old };
	struct rmap_walk_control rwc = { remove_migration_one, &rw, true };

	rmap_walk(page, &rwc);
}

/* ---------------------------------------------------------------------
 * The move
 */

/*
 * References held by the page's owner rather than its mappings: the page
 * cache's; none for anonymous and KSM pages (a stable node holds none).
 */
static int owner_refs(enum movable_kind kind)
{
	return kind == MOVABLE_SHMEM ? 1 : 0;
}

static void migrate_page_flags(struct page *new, struct page *old)
{
	static const enum pageflags carried[] = {
		PG_referenced, PG_uptodate, PG_dirty, PG_active,
		PG_swapbacked,
	};

	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(carried); i++) {
		if (PageFlag(old, carried[i]))
			SetPageFlag(new, carried[i]);
	}
}

/*
 * Hand a shared-memory page's place in the page cache over to @new, if the
 * cache and the migration are its only holders.  The check and the switch
 * are under i_pages_lock, which every cache lookup takes.
 */
static int shmem_migrate_page(struct page *new, struct page *old)
{
	struct address_space *m = page_mapping_raw(old);
	unsigned long index = old->index;
	int ret = -EAGAIN;
	void **slot;

	spin_lock(&m->i_pages_lock);
	slot = shmem_slot(m, index, false);
	if (slot && *slot == old && page_ref_count(old) == 2) {
		get_page(new); /* the cache's reference */
		new->index = index;
		WRITE_ONCE(new->mapping, m);
		*slot = new;
		ret = 0;
	}
	spin_unlock(&m->i_pages_lock);
	return ret;
}

static int migrate_mapping(enum movable_kind kind, struct page *new,
			   struct page *old)
{
	switch (kind) {
	case MOVABLE_ANON:
		/* Nobody can look an unmapped anonymous page up. */
		if (page_ref_count(old) != 1)
			return -EAGAIN;
		new->index = old->index;
		WRITE_ONCE(new->mapping, READ_ONCE(old->mapping));
		return 0;
	case MOVABLE_KSM:
		return ksm_migrate_page(new, old);
	case MOVABLE_SHMEM:
		return shmem_migrate_page(new, old);
	default:
		return -EINVAL;
	}
}

/*
 * Move @old, locked and referenced by the caller, to @new (fresh from the
 * allocator, locked, one reference: the caller's).  On failure @old is
 * mapped as it was and @new is as it came, but for its contents.
 */
static int __migrate_page_mapped(enum movable_kind kind, struct page *new,
				 struct page *old, bool walk);

/*
 * While its PTEs are migration entries the page is not mapped, and rmap
 * walks no longer keep its anon_vma or address_space alive: a munmap
 * racing the move could free them under remove_migration_ptes().  Hold a
 * reference on them from before the unmap until after the restore.
 */
static int __migrate_page(enum movable_kind kind, struct page *new,
			  struct page *old)
{
	void *mapping = NULL;
	int ret;

	if (kind != MOVABLE_KSM) {
		mapping = rmap_get_mapping(old);
		/* Without it, only a page mapped nowhere can move. */
		if (!mapping && page_mapcount(old))
			return -EAGAIN;
	}
	ret = __migrate_page_mapped(kind, new, old,
				    mapping || kind == MOVABLE_KSM);
	if (mapping)
		rmap_put_mapping(mapping);
	return ret;
}

static int __migrate_page_mapped(enum movable_kind kind, struct page *new,
				 struct page *old, bool walk)
{
	int expected = 1 + owner_refs(kind);
	int ret;

	if (page_maybe_dma_pinned(old))
		return -EBUSY;
	/*
	 * Unmap only a page whose entries the walk will restore (6.12's
	 * PAGE_WAS_MAPPED), and move only one that is mapped nowhere then.
	 * Without a walk the page was mapped nowhere when we looked, but it
	 * may be mapped now: a fault gives its new page the anon_vma before
	 * the map count, under the PTL, not the page lock, so a migration by
	 * frame number can lock the page in between (Linux only migrates
	 * isolated LRU pages, which a new page joins only after it has its
	 * map count).  Unmapped by try_to_migrate(), its PTE would keep a
	 * migration entry that nothing restores, for a frame that is then
	 * freed and reused.
	 */
	if ((walk && !try_to_migrate(old)) || page_mapcount(old)) {
		ret = page_maybe_dma_pinned(old) ? -EBUSY : -EAGAIN;
		goto restore;
	}
	/* Someone got the page before we unmapped it and may write it. */
	if (page_ref_count(old) != expected) {
		ret = -EAGAIN;
		goto restore;
	}
	copy_highpage(new, old);
	ret = migrate_mapping(kind, new, old);
	if (ret)
		goto restore;
	migrate_page_flags(new, old);
	/* @new takes @old's place on the LRU; @old leaves it when freed. */
	lru_cache_add(new);
	if (walk)
		remove_migration_ptes(old, new);
	/* The old frame is nobody's now: drop what named it. */
	ClearPageFlag(old, PG_ksm);
	ClearPageFlag(old, PG_anon_exclusive);
	WRITE_ONCE(old->mapping, NULL);
	if (owner_refs(kind))
		put_page(old);
	return 0;
restore:
	if (walk)
		remove_migration_ptes(old, old);
	return ret;
}

/**
 * migrate_page_to() - move @old to @new.
 * @old: the page, referenced by the caller (by frame number is fine).
 * @new: a free frame just allocated or isolated, with one reference.
 *
 * On success @new holds the page, with the caller's reference still on
 * it, and @old only the caller's reference.  On failure @new can be used
 * again as a target.
 *
 * Return: 0; -EINVAL if @old is not a movable page; -EBUSY if it is
 * pinned; -EAGAIN if someone else holds a reference now.
 */
int migrate_page_to(struct page *old, struct page *new)
{
	enum movable_kind kind;
	struct address_space *m = NULL;
	int ret, idx;

	if (page_movable_kind(old) == MOVABLE_NONE)
		return -EINVAL;
	lock_page(old);
	WARN_ON_ONCE(!trylock_page(new));
	kind = page_movable_kind(old); /* stable now: the lock is held */
	if (kind == MOVABLE_SHMEM) {
		/*
		 * Keep the object from being torn down under us.  Teardown
		 * clears ->mapping without the page lock, so read it once.
		 */
		idx = srcu_read_lock(rmap_srcu());
		m = page_mapping_raw(old);
		if (!m || !atomic_inc_not_zero(&m->refcount))
			kind = MOVABLE_NONE;
		srcu_read_unlock(rmap_srcu(), idx);
	}
	ret = kind == MOVABLE_NONE ? -EINVAL : __migrate_page(kind, new, old);
	unlock_page(new);
	unlock_page(old);
	if (kind == MOVABLE_SHMEM)
		shmem_put_mapping(m);
	return ret;
}

/**
 * migrate_page_retry() - migrate_page_to(), retried while the page is only
 * transiently referenced (a secondary MMU's fault between GUP and put, a
 * scanner), and counted.
 * Return: as migrate_page_to(), with -EBUSY when the retries ran out.
 */
int migrate_page_retry(struct page *old, struct page *new)
{
	struct host *host = __page_host(old);
	int ret;

	for (int tries = 0;; tries++) {
		ret = migrate_page_to(old, new);
		if (ret != -EAGAIN || tries == MIGRATE_RETRIES)
			break;
		cond_resched();
	}
	if (!ret)
		count_vm_event(host, PGMIGRATE_SUCCESS);
	else if (ret != -EINVAL)
		count_vm_event(host, PGMIGRATE_FAIL);
	return ret == -EAGAIN ? -EBUSY : ret;
}

int migrate_pfn(struct host *host, unsigned long pfn, unsigned long *new_pfn)
{
	struct page *old = host_api_ok(host) ? pfn_to_page(host, pfn) : NULL;
	struct page *new;
	int ret;

	if (!old || is_zero_pfn(pfn) || PageFlag(old, PG_reserved))
		return -EINVAL;
	if (!get_page_unless_zero(old))
		return -EINVAL;
	new = alloc_page(host);
	if (!new) {
		put_page(old);
		return -ENOMEM;
	}
	ret = migrate_page_retry(old, new);
	if (!ret && new_pfn)
		*new_pfn = page_to_pfn(new);
	put_page(new);
	put_page(old);
	return ret;
}
