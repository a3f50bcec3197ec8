/* SPDX-License-Identifier: MIT */
/*
 * Private definitions of the primary MMU: the objects behind the opaque
 * types of <mmulab/mm.h>, and the helpers the files of mm/ share.
 *
 * Lock order, outermost first (as in the kernel's mm/rmap.c comment):
 *
 *   mapping->invalidate_lock        (a memfd's truncate and hole punch;
 *                                    never taken under the mmap_lock)
 *   mmap_lock
 *     page lock (PG_locked)          (lock_page(); reclaim, swap-in)
 *       mm_all_locks_mutex           (mm_take_all_locks() only)
 *         mapping->i_mmap_rwsem
 *           anon_vma->rwsem
 *             mm->page_table_lock    (page-table allocation)
 *             page-table lock (PTL)  (one per page-table page)
 *               mapping->i_pages_lock (shared-memory page cache)
 *                 swap_info->lock    (swap counts and swap cache)
 *                   host->lru_lock
 *                     host->free_lock
 *
 * A page lock is taken with trylock_page() wherever it would nest inside
 * one of the locks below it.
 *
 * Notifier callbacks run with the mmap_lock or an rmap lock held and never
 * under a PTL, except the aging ones.  Reclaim runs them from inside the
 * page allocator, so no frame may be allocated under an rmap lock, a PTL
 * or anything below (see alloc_page()).
 */
#ifndef MMULAB_MM_INTERNAL_H
#define MMULAB_MM_INTERNAL_H

#include <mmulab/checker.h>
#include <mmulab/interval_tree.h>
#include <mmulab/list.h>
#include <mmulab/memfd.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/trace/events/mmu_notifier.h>
#include <mmulab/mutant.h>
#include "debug.h"

/* ---------------------------------------------------------------------
 * struct page: per-frame metadata, at most 64 bytes (asserted).
 */

enum pageflags {
	PG_locked,	/* folio lock (migration, KSM) */
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_active,
	PG_swapbacked,	/* anon/shmem; cleared by MADV_FREE (lazyfree) */
	PG_swapcache,
	PG_anon_exclusive, /* anon page mapped by exactly one mm, may reuse */
	PG_ksm,
	PG_reserved,	/* zero page, never freed */
	PG_pgtable,	/* a page-table page */
	PG_buddy,	/* free, on the free list */
	PG_workingset,	/* was active before deactivation or eviction */
	PG_head,	/* first frame of a huge page (mm/huge_memory.c) */
	PG_tail,	/* one of its 511 others */
	PG_device,	/* a device-private frame (mm/memremap.c) */
	NR_PAGEFLAGS,
};

/* The top byte of page->flags names the host, as the kernel keeps the
 * node and section there. */
#define PAGE_HOST_SHIFT 56
#define MAX_HOSTS 256

/*
 * page->mapping of an anonymous page points to its anon_vma tagged with
 * PAGE_MAPPING_ANON; that of a KSM page to its stable node tagged with
 * PAGE_MAPPING_KSM (both bits), so a KSM page is PageAnon() but has no
 * anon_vma.  Writers store @index first and then the mapping with
 * WRITE_ONCE(): a reader that found the page by frame number (migration,
 * compaction) and holds a reference sees a consistent pair once its
 * READ_ONCE() of the mapping returns the new value.
 */
#define PAGE_MAPPING_ANON 0x1UL
#define PAGE_MAPPING_MOVABLE 0x2UL
#define PAGE_MAPPING_KSM (PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE)
#define PAGE_MAPPING_FLAGS PAGE_MAPPING_KSM

/**
 * struct page_hist - a frame's provenance, for reports (mm/page_history.c).
 * Written and read with relaxed atomics only: recording is never a
 * scheduling point and takes no lock.
 * @gen: allocations of the frame so far (prep_new_page()).
 * @src: how the current contents were filled (enum page_hist_src) in
 *	the low 8 bits, the source (frame or swap slot) above.
 * @src_gen: the source frame's @gen, or the slot's write count, then.
 * @src_writer: for a swap-in, the slot's last writer (frame << 32 | gen).
 * @out: the last slot this frame was written to (slot << 32 | @gen then).
 */
struct page_hist {
	u32 gen;
	u64 src;
	u64 src_gen;
	u64 src_writer;
	u64 out;
};

/**
 * struct page - one frame.
 * @flags: PG_* bits, host index in the top byte.
 * @_refcount: references; 0 means free.  Each primary mapping holds one,
 *	as do the shmem page cache, GUP callers and pins (GUP_PIN_BIAS each).
 * @_mapcount: number of primary PTEs mapping the page.
 * @mapping: anon_vma | PAGE_MAPPING_ANON, or the address_space.
 * @index: page offset within the mapping (the VMA's linear index).
 * @pt_table: for page-table pages, the 512 entries.
 * @ptl: for page-table pages, the split page-table lock.
 * @pt_level: for page-table pages, the level (enum pt_level).
 * @private: the swap entry of a swap-cache page; the dev_pagemap of a
 *	device-private frame (PG_device).
 * @lru_next, @lru_prev: LRU links, as frame numbers (lru_next is also
 *	the free-list link of a free frame).
 * @tag: content in tag mode.
 */
struct page {
	atomic_long_t flags;
	atomic_t _refcount;
	atomic_t _mapcount;
	union {
		struct {
			void *mapping;
			unsigned long index;
		};
		struct {
			pte_t *pt_table;
			spinlock_t ptl;
			u32 pt_level;
		};
	};
	unsigned long private;
	u32 lru_next, lru_prev;
	u64 tag;
};

#define GUP_PIN_BIAS 1024

static inline bool PageFlag(const struct page *page, enum pageflags f)
{
	return atomic_long_read(&page->flags) & (1UL << f);
}

static inline void SetPageFlag(struct page *page, enum pageflags f)
{
	atomic_long_fetch_or(1L << f, &page->flags);
}

static inline void ClearPageFlag(struct page *page, enum pageflags f)
{
	atomic_long_fetch_andnot(1L << f, &page->flags);
}

static inline bool TestClearPageFlag(struct page *page, enum pageflags f)
{
	return atomic_long_fetch_andnot(1L << f, &page->flags) & (1L << f);
}

static inline bool TestSetPageFlag(struct page *page, enum pageflags f)
{
	return atomic_long_fetch_or(1L << f, &page->flags) & (1L << f);
}

/* ->mapping with its tag bits, read once (it changes under readers). */
static inline void *page_mapping_raw(const struct page *page)
{
	return READ_ONCE(page->mapping);
}

static inline void set_page_mapping(struct page *page, void *mapping)
{
	WRITE_ONCE(page->mapping, mapping);
}

/*
 * ->index of a swap-cache page is written again when the page is mapped
 * back (with the value it had) while rmap walkers may read it, so it is
 * read untorn too.
 */
static inline unsigned long page_index(const struct page *page)
{
	return __READ_ONCE(page->index);
}

static inline bool PageAnon(const struct page *page)
{
	return (unsigned long)page_mapping_raw(page) & PAGE_MAPPING_ANON;
}

/* A KSM page: shared read-only by every mapping its stable node lists. */
static inline bool PageKsm(const struct page *page)
{
	return ((unsigned long)page_mapping_raw(page) & PAGE_MAPPING_FLAGS) ==
	       PAGE_MAPPING_KSM;
}

static inline struct anon_vma *page_anon_vma(const struct page *page)
{
	unsigned long mapping = (unsigned long)page_mapping_raw(page);

	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_ANON)
		return NULL;
	return (struct anon_vma *)(mapping & ~PAGE_MAPPING_FLAGS);
}

/*
 * Take a reference on a page found by frame number rather than through a
 * mapping (compaction, LRU isolation): fails once the page is free.  Not
 * for PG_reserved pages.
 */
static inline bool get_page_unless_zero(struct page *page)
{
	return atomic_inc_not_zero(&page->_refcount);
}

static inline bool PageLocked(const struct page *page)
{
	return PageFlag(page, PG_locked);
}

/* A shared-memory page: its mapping is the object's address_space. */
static inline bool PageShmem(const struct page *page)
{
	return page_mapping_raw(page) && !PageAnon(page);
}

/* Reference counts for reclaim: frozen at 0 only from @expected. */
static inline bool page_ref_freeze(struct page *page, int expected)
{
	return atomic_cmpxchg(&page->_refcount, expected, 0) == expected;
}

static inline void page_ref_unfreeze(struct page *page, int count)
{
	atomic_set(&page->_refcount, count);
}

/* ---------------------------------------------------------------------
 * LRU lists (mm/swap.c)
 *
 * Four lists per host, as the classic (non-MGLRU) kernel keeps per node:
 * swap-backed pages (anonymous and shared memory) on the anon lists,
 * lazily freed anonymous pages (MADV_FREE: no swap needed to drop them)
 * on the file lists.  A page on a list has PG_lru set; isolating it for
 * reclaim clears PG_lru and takes a reference, so a page is on at most
 * one list, and the path that frees a page takes it off first.
 */

enum lru_list {
	LRU_INACTIVE_ANON,
	LRU_ACTIVE_ANON,
	LRU_INACTIVE_FILE,
	LRU_ACTIVE_FILE,
	NR_LRU_LISTS,
};

#define LRU_ACTIVE 1
#define LRU_FILE 2

/**
 * struct lru_head - one LRU list, threaded through page->lru_next/prev.
 * @head: most recently added frame (PFN_NONE when empty).
 * @tail: least recently added frame, where reclaim takes pages from.
 * @nr: pages on the list (written under lru_lock, read anywhere).
 */
struct lru_head {
	u32 head, tail;
	atomic_long_t nr;
};

#define PFN_NONE 0xffffffffU

/* ---------------------------------------------------------------------
 * The host
 */

struct swap_info_struct;
struct task_struct;

/**
 * struct host - physical memory and everything global to it.
 * @cfg: creation parameters.
 * @index: slot in the host table (top byte of page->flags).
 * @pages: per-frame metadata, @cfg.nr_frames entries.
 * @mem: frame contents in data mode (@cfg.nr_frames * PAGE_SIZE bytes).
 * @free_lock: guards the free list.
 * @free_head: first free frame, linked through lru_next; ~0U when empty.
 * @free_tail: last frame of that list; ~0U when empty.
 * @free_uninit, @free_uninit_end: the frames in [@free_uninit,
 *	@free_uninit_end) were never handed out: free, off the list, their
 *	struct pages untouched (zero, never faulted in), so a host costs
 *	memory for the frames it used, not for its size.  Order-0
 *	allocations take them from the bottom, after the list's tail; huge
 *	pages from the top.
 * @nr_free: free frames (on the free list, or never used).
 * @nr_mms: address spaces alive.
 * @mmlist_lock: guards @mmlist.
 * @mmlist: every mm_struct of the host (mm_struct.mmlist), for the OOM
 *	killer.
 * @lru_lock: guards @lru and every page's LRU links and PG_lru changes.
 * @lru: the LRU lists.
 * @swap: the swap device, NULL without one.
 * @wmark_low, @wmark_high: kswapd's watermarks (configured or default).
 * @kswapd: the background reclaimer, NULL when not configured.
 * @kswapd_wait: where kswapd sleeps.
 * @kswapd_stop: set by host_destroy() to make kswapd exit.
 * @kswapd_failures: balancing runs in a row that freed nothing; kswapd
 *	gives up at MAX_RECLAIM_RETRIES until some reclaim makes progress.
 * @vm_events: counters (enum vm_event_item), per CPU slot (stat_cpu()),
 *	one row of whole cache lines per slot; host_vm_event() sums them.
 * @notify_events: invalidations started, per mmu_notifier_event.
 * @checker: the coherence checker, when attached.
 * @page_wait_table: where tasks wait for a page lock to be released,
 *	hashed by frame number (the kernel's folio_wait_table).
 * @ksm: KSM's state for the host (mm/ksm.c).
 */
#define PAGE_WAIT_TABLE_BITS 6

struct ksm;

/* A row of per-CPU vm events: whole cache lines (8 counters each). */
#define VM_EVENT_ROW ((NR_VM_EVENT_ITEMS + 7) & ~7)

struct host {
	u32 magic;	/* HOST_MAGIC while alive (mm/debug.h) */
	struct host_config cfg;
	unsigned int index;
	struct page *pages;
	struct page_hist *hist; /* per frame, kept across free and reuse */
	u8 *mem;
	int mem_fd; /* the memfd behind @mem (cfg.shared_frames), or -1 */
	spinlock_t free_lock;
	u32 free_head, free_tail, free_uninit, free_uninit_end;
	atomic_long_t nr_free;
	atomic_t nr_mms;
	spinlock_t mmlist_lock;
	struct list_head mmlist;
	spinlock_t lru_lock;
	struct lru_head lru[NR_LRU_LISTS];
	struct swap_info_struct *swap;
	unsigned long wmark_low, wmark_high;
	struct task_struct *kswapd;
	wait_queue_head_t kswapd_wait;
	int kswapd_stop;
	atomic_t kswapd_failures;
	atomic_long_t vm_events[STAT_NR_CPUS][VM_EVENT_ROW];
	atomic_long_t notify_events[MMU_NOTIFY_NR_EVENTS];
	struct checker *checker;
	struct checker *checker_retired;
	wait_queue_head_t page_wait_table[1 << PAGE_WAIT_TABLE_BITS];
	struct ksm *ksm;
};

/* checker.c */
void checker_page_free(struct host *host, unsigned long pfn);
void checker_flush_tlb_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end);
/* Free the checkers detached from @host; no task of it may run. */
void checker_free_retired(struct host *host);

/*
 * The notifier core's hooks into the checker (INV-6, INV-7): one call at
 * each site, free when nothing is watched, never a scheduling point.
 */
void __checker_contract_start(struct mmu_notifier *sub,
			      const struct mmu_notifier_range *range);
void __checker_contract_interval(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range);
void __checker_contract_all(struct mmu_notifier *sub, struct mm_struct *mm,
			    const char *after);
void checker_range_start(const struct mmu_notifier_range *range);
void checker_range_end(const struct mmu_notifier_range *range);

/* @sub's invalidate_range_start for @range returned 0. */
static inline void checker_contract_start(struct mmu_notifier *sub,
					  const struct mmu_notifier_range *range)
{
	if (unlikely(sub->checker))
		__checker_contract_start(sub, range);
}

/* @mni's invalidate returned true; NULL @range: it was removed. */
static inline void
checker_contract_interval(struct mmu_interval_notifier *mni,
			  const struct mmu_notifier_range *range)
{
	if (unlikely(mni->checker))
		__checker_contract_interval(mni, range);
}

/* @sub must map nothing of @mm any more (release, unregister). */
static inline void checker_contract_all(struct mmu_notifier *sub,
					struct mm_struct *mm, const char *after)
{
	if (unlikely(sub->checker))
		__checker_contract_all(sub, mm, after);
}

extern struct host *host_table[MAX_HOSTS];

#define ZERO_PFN 0UL

static inline void count_vm_event(struct host *host, enum vm_event_item item)
{
	stat_long_add(1, &host->vm_events[stat_cpu()][item]);
}

static inline void count_vm_events(struct host *host, enum vm_event_item item,
				   long n)
{
	stat_long_add(n, &host->vm_events[stat_cpu()][item]);
}

static inline struct host *__page_host(const struct page *page)
{
	/*
	 * The host bits never change after host_create(): reading them
	 * interacts with no other task, so it is not a scheduling point.
	 */
	return host_table[(unsigned long)atomic_long_observe(&page->flags) >>
			  PAGE_HOST_SHIFT];
}

/* page_alloc.c */
struct page *isolate_free_page(struct host *host, unsigned long pfn);
void free_page_frame(struct page *page);
void release_pages(struct page **pages, unsigned int nr);
bool page_alloc_in_reclaim(void);
void *page_address(struct page *page);

/* Provenance records (mm/page_history.c): observations, never scheduling
 * points. */
enum page_hist_src {
	PAGE_HIST_NONE,		/* allocated, not filled by the library */
	PAGE_HIST_ZERO,		/* cleared */
	PAGE_HIST_COPY,		/* copied from a frame (COW, migration, ...) */
	PAGE_HIST_SWAPIN,	/* read from a swap slot */
};
void page_hist_alloc(struct page *page);
void page_hist_fill(struct page *dst, enum page_hist_src how,
		    struct page *src);

struct page *alloc_pt_page(struct host *host);
void free_pt_page(struct page *page);

/*
 * mmu_gather.c: page-table pages that a lockless walker may have seen are
 * freed after a grace period of pt_free_srcu() (tlb_remove_table()).
 */
struct pt_free_batch {
	struct page *head; /* linked through ->private */
};
/* Gather @table, unlinked from its mm's tree, into @batch. */
void tlb_remove_table(struct pt_free_batch *batch, struct page *table);
/* Free @batch's tables: after a grace period if @mm had a lockless walker. */
void tlb_table_flush(struct mm_struct *mm, struct pt_free_batch *batch);
/* tlb_table_flush() of @table alone: a PTE table that may have been seen. */
void pte_free_defer(struct mm_struct *mm, struct page *table);
/* The lockless walk's read-side section; marks @mm (MMF_LOCKLESS_WALK). */
int lockless_walk_begin(struct mm_struct *mm);
void lockless_walk_end(int idx);
/* Wait until every table whose free was deferred has been freed. */
void pt_free_barrier(void);
struct srcu_struct *pt_free_srcu(void);

/* filemap.c: the page lock (PG_locked), a sleeping bit lock */
void lock_page(struct page *page);
bool trylock_page(struct page *page); /* <mmulab/migrate.h> */
void unlock_page(struct page *page);
void __unlock_page(struct page *page);
void wait_on_page_locked(struct page *page);

/* ---------------------------------------------------------------------
 * Address spaces and VMAs
 */

#define MMF_OOM_SKIP 0	/* bit in mm->flags: the OOM killer ignores it */
#define MMF_EXITING 1
#define MMF_VM_MERGEABLE 2	/* registered with KSM (mm/ksm.c) */
#define MMF_UNSTABLE 3	/* reaped: faults must not map new memory */
#define MMF_OOM_VICTIM 4 /* chosen by the OOM killer */
#define MMF_LOCKLESS_WALK 5 /* walked by GUP-fast: table frees wait (mmu_gather.c) */

/**
 * struct anon_vma - reverse map of anonymous pages.  One per fork family:
 * a VMA and every VMA forked, split or moved from it share it, so an rmap
 * walk finds every mapping of an anonymous page by visiting the family.
 * @rwsem: taken shared by rmap walks, exclusive to change @vmas.
 * @refcount: VMAs and pages' owners keeping it alive.
 * @vmas: the VMAs (vm_area_struct.anon_vma_node).
 * @all_locks: set while mm_take_all_locks() holds @rwsem.
 * @rcu: deferred free (rmap walkers may still look at it).
 */
struct anon_vma {
	struct rw_semaphore rwsem;
	atomic_t refcount;
	struct list_head vmas;
	bool all_locks;
	struct callback_head rcu;
};

/* Page offsets the page cache can index (SHMEM_LEVELS levels of 512). */
#define SHMEM_MAX_PAGES (1UL << 36)

/**
 * struct address_space - a file's page cache: a memfd, or shared anonymous
 * memory (MAP_SHARED|MAP_ANONYMOUS, a file without a name).
 * @invalidate_lock: serialises the changes of size and the removals of a
 *	memfd (the inode lock Linux's ftruncate and fallocate take).
 * @i_mmap_rwsem: taken shared by rmap walks, exclusive to change @i_mmap.
 * @i_mmap: the VMAs mapping it (vm_area_struct.shared_node).
 * @refcount: VMAs referring to it.
 * @i_pages_lock: protects @i_pages, and @nr_pages and @i_size against
 *	writers (readers outside it use READ_ONCE()).
 * @nr_pages: size in pages (@i_size rounded up): pages at or past it are
 *	never added to the cache.
 * @i_size: size in bytes (a memfd's ftruncate()).
 * @i_pages: the page cache, indexed by page offset: a page, a swap entry
 *	(shmem_swp_entry()) for a page that was written to swap, or NULL.
 *	A radix tree of SHMEM_NODE_SLOTS-way nodes made as slots are
 *	filled (Linux's xarray), so an object costs what it holds, not its
 *	size; shmem_slot() finds a slot.
 * @host: the host whose frames and swap device it uses.
 * @all_locks: set while mm_take_all_locks() holds @i_mmap_rwsem.
 * @rcu: deferred free (rmap walkers may still look at it).
 */
struct address_space {
	struct mutex invalidate_lock;
	struct rw_semaphore i_mmap_rwsem;
	struct list_head i_mmap;
	atomic_t refcount;
	spinlock_t i_pages_lock;
	unsigned long nr_pages;
	long long i_size;
	void *i_pages;
	struct host *host;
	bool all_locks;
	struct callback_head rcu;
};

/**
 * struct file - a memfd (or shared anonymous memory's file without a
 * name): a reference-counted handle on a page cache.
 * @magic: FILE_MAGIC while alive (mm/debug.h).
 * @f_count: references (memfd_alloc_file(), get_file()); mappings hold the
 *	page cache, not the file.
 * @f_mapping: the page cache; the file holds one reference on it.
 * @f_name: the name given to memfd_alloc_file().
 */
struct file {
	u32 magic;
	atomic_t f_count;
	struct address_space *f_mapping;
	char f_name[MFD_NAME_MAX_LEN + 1];
};

struct mmu_notifier_subscriptions;

/**
 * enum mm_counter - what an mm's rss_stat counts.
 * @MM_ANONPAGES: present PTEs mapping anonymous pages.
 * @MM_SHMEMPAGES: present PTEs mapping shared-memory pages.
 * @MM_SWAPENTS: swap entries in PTEs.
 */
enum mm_counter {
	MM_ANONPAGES,
	MM_SHMEMPAGES,
	MM_SWAPENTS,
	NR_MM_COUNTERS,
};

/**
 * struct mm_struct - an address space.
 * @host: physical memory it maps.
 * @pgd: the top-level page-table page.
 * @mmap_lock: protects the VMA tree and the page-table structure.
 * @page_table_lock: serialises page-table allocation.
 * @mm_users: users of the address space; the last mmput() exits it.
 * @mm_count: references to this structure; the last mmdrop() frees it.
 * @mm_vmas: the VMAs, by address.
 * @map_count: number of VMAs.
 * @notifier_subscriptions: notifier state, NULL until first registration.
 * @flags: MMF_* bits.
 * @mmap_base: where unhinted mappings are placed from.
 * @id: small id for logs.
 * @mmlist: link in host->mmlist.
 * @rss_stat: pages mapped and swap entries held, per enum mm_counter (the
 *	OOM killer's measure of an address space).
 */
struct mm_struct {
	u32 magic;	/* MM_MAGIC while alive (mm/debug.h) */
	struct host *host;
	struct page *pgd;
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;
	atomic_t mm_users;
	atomic_t mm_count;
	struct interval_tree_root mm_vmas;
	int map_count;
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	atomic_long_t flags;
	unsigned long mmap_base;
	int id;
	struct list_head mmlist;
	atomic_long_t rss_stat[NR_MM_COUNTERS];
};

static inline void add_mm_counter(struct mm_struct *mm, enum mm_counter c,
				  long n)
{
	atomic_long_add(n, &mm->rss_stat[c]);
}

static inline void inc_mm_counter(struct mm_struct *mm, enum mm_counter c)
{
	add_mm_counter(mm, c, 1);
}

static inline void dec_mm_counter(struct mm_struct *mm, enum mm_counter c)
{
	add_mm_counter(mm, c, -1);
}

static inline long get_mm_counter(struct mm_struct *mm, enum mm_counter c)
{
	return atomic_long_read(&mm->rss_stat[c]);
}

/* The counter a mapped page of this kind belongs to. */
static inline enum mm_counter mm_counter_page(const struct page *page)
{
	return PageAnon(page) ? MM_ANONPAGES : MM_SHMEMPAGES;
}

static inline bool mm_flag_test(struct mm_struct *mm, int bit)
{
	return atomic_long_read(&mm->flags) & (1L << bit);
}

/* Set @bit; true if it was already set. */
static inline bool mm_flag_test_and_set(struct mm_struct *mm, int bit)
{
	return atomic_long_fetch_or(1L << bit, &mm->flags) & (1L << bit);
}

static inline void mm_flag_set(struct mm_struct *mm, int bit)
{
	(void)mm_flag_test_and_set(mm, bit);
}

static inline struct vm_area_struct *vma_of(struct interval_tree_node *n)
{
	return n ? container_of(n, struct vm_area_struct, vm_rb) : NULL;
}

/* mmap.c */
struct vm_area_struct *vma_next_in(struct vm_area_struct *vma,
				   unsigned long end);
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end);
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *vma,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end, unsigned long pgoff);
bool range_is_free(struct mm_struct *mm, unsigned long addr,
		   unsigned long len);
long get_unmapped_area(struct mm_struct *mm, struct address_space *m,
		       unsigned long hint, unsigned long len);
void vma_insert(struct vm_area_struct *vma);
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, unsigned long pgoff);
struct vm_area_struct *split_vma(struct vm_area_struct *vma,
				 unsigned long addr);
struct vm_area_struct *vma_isolate(struct vm_area_struct *vma,
				   unsigned long start, unsigned long end);
void vma_remove_free(struct vm_area_struct *vma);
int mmap_check(unsigned long addr, unsigned long len, unsigned long prot,
	       unsigned long flags, bool file);
long do_mmap(struct mm_struct *mm, struct address_space *m, unsigned long addr,
	     unsigned long len, unsigned long prot, unsigned long flags,
	     unsigned long pgoff);
void vma_merge_neighbours(struct vm_area_struct *vma);
void vma_merge_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end);
int mm_take_all_locks(struct mm_struct *mm);
void mm_drop_all_locks(struct mm_struct *mm);
void exit_mmap(struct mm_struct *mm);

#define for_each_vma_range(mm, vma, start, end)                                \
	for (vma = vma_of(interval_tree_iter_first(&(mm)->mm_vmas, (start),   \
						   (end) - 1));                \
	     vma; vma = vma_next_in(vma, (end)))

/* mmap_assert_locked() - the calling task holds @mm's mmap_lock. */
#define mmap_assert_locked(mm) lockdep_assert_held(&(mm)->mmap_lock)

/* mmap_assert_write_locked() - it holds @mm's mmap_lock exclusive. */
#define mmap_assert_write_locked(mm) lockdep_assert_held_write(&(mm)->mmap_lock)

/* memory.c */
#define FAULT_FLAG_WRITE 0x1	/* the access writes */
#define FAULT_FLAG_UNSHARE 0x2	/* make a COW-shared anon page exclusive */
#define FAULT_FLAG_FORCE 0x4	/* FOLL_FORCE: write to a private read-only map */

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, unsigned long addr,
			   unsigned int flags);

#define MMU_GATHER_BATCH 256

/**
 * struct mmu_gather - pages unmapped but not yet freed, and the range of
 * the primary TLB flush that must come before they are.  When the batch
 * fills, it is flushed and freed on the spot, which can be inside
 * invalidate_range_start/end: why secondary MMUs must drop mappings in
 * start, not end.
 */
struct mmu_gather {
	struct mm_struct *mm;
	unsigned long start, end;
	unsigned int nr;
	struct page *pages[MMU_GATHER_BATCH];
};

void tlb_gather_mmu(struct mmu_gather *tlb, struct mm_struct *mm);
void tlb_flush_mmu(struct mmu_gather *tlb);
void tlb_finish_mmu(struct mmu_gather *tlb);
void flush_tlb_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end);
void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long addr, unsigned long end);

/**
 * struct zap_details - what a zap of a file's range removes.
 * @mapping: the file whose pages go.
 * @even_cows: also private copies (anonymous pages and swap entries).
 */
struct zap_details {
	struct address_space *mapping;
	bool even_cows;
};

void unmap_page_range_details(struct mmu_gather *tlb,
			      struct vm_area_struct *vma, unsigned long addr,
			      unsigned long end,
			      const struct zap_details *details);
void unmap_mapping_pages(struct address_space *mapping, unsigned long start,
			 unsigned long nr, bool even_cows);
void zap_page_range_single(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long size);
int copy_page_range(struct vm_area_struct *dst_vma,
		    struct vm_area_struct *src_vma);
bool vma_access_ok(struct vm_area_struct *vma, unsigned int fault_flags);

/* rmap.c */
int anon_vma_prepare(struct vm_area_struct *vma);
void anon_vma_link(struct vm_area_struct *vma, struct anon_vma *anon_vma);
void unlink_anon_vma(struct vm_area_struct *vma);
void page_add_new_anon_rmap(struct page *page, struct vm_area_struct *vma,
			    unsigned long addr);
void page_add_anon_rmap(struct page *page, struct vm_area_struct *vma,
			unsigned long addr, bool exclusive);
void page_dup_rmap(struct page *page);
void page_add_file_rmap(struct page *page);
void page_remove_rmap(struct page *page);
unsigned long linear_page_index(struct vm_area_struct *vma,
				unsigned long addr);
struct srcu_struct *rmap_srcu(void);

/**
 * struct rmap_walk_control - what rmap_walk() does with each mapping.
 * @rmap_one: called for every VMA that may map the page, with the address
 *	it would have there; return false to stop the walk.
 * @arg: passed through.
 * @walk_unmapped: walk even when no PTE maps the page (migration looks
 *	for its migration entries).
 */
struct rmap_walk_control {
	bool (*rmap_one)(struct page *page, struct vm_area_struct *vma,
			 unsigned long addr, void *arg);
	void *arg;
	bool walk_unmapped;
};

void get_anon_vma(struct anon_vma *av);
void put_anon_vma(struct anon_vma *av);
void rmap_walk(struct page *page, struct rmap_walk_control *rwc);
void *rmap_get_mapping(struct page *page);
void rmap_put_mapping(void *mapping);
bool try_to_unmap(struct page *page);
int folio_referenced(struct page *page);

/* swap.c: LRU lists */
void lru_cache_add(struct page *page);
bool isolate_lru_page(struct page *page);
void putback_lru_page(struct page *page);
void lru_del_page(struct page *page);
void lru_del_pages(struct page **pages, unsigned int n);
void mark_page_lazyfree(struct page *page);
void deactivate_page(struct page *page);
unsigned long isolate_lru_pages(struct host *host, enum lru_list lru,
				unsigned long nr, struct page **pages);
unsigned long lru_size(struct host *host, enum lru_list lru);

static inline enum lru_list page_lru_base(const struct page *page)
{
	return PageFlag(page, PG_swapbacked) ? LRU_INACTIVE_ANON
					     : LRU_INACTIVE_FILE;
}

/* vmscan.c */
#define SWAP_CLUSTER_MAX 32UL
#define MAX_RECLAIM_RETRIES 16
unsigned long try_to_free_pages(struct host *host, unsigned long nr);
void reclaim_throttle(struct host *host);
unsigned long reclaim_pages(struct host *host, struct page **pages,
			    unsigned long nr);
void wakeup_kswapd(struct host *host);
int kswapd_start(struct host *host);
void kswapd_stop(struct host *host);

/* oom_kill.c */
bool out_of_memory(struct host *host);

/* migrate.c */
bool try_to_migrate(struct page *page);
void remove_migration_ptes(struct page *old, struct page *page);
vm_fault_t migration_entry_wait(struct mm_struct *mm, spinlock_t *ptl,
				pte_t pte);
int migrate_page_to(struct page *old, struct page *new);
int migrate_page_retry(struct page *old, struct page *new);

/* memremap.c, migrate_device.c: device-private memory */
void free_zone_device_page(struct page *page);
vm_fault_t do_device_entry_fault(struct vm_area_struct *vma,
				 unsigned long addr, spinlock_t *ptl,
				 pte_t orig, unsigned int flags);
void restore_exclusive_pte(struct vm_area_struct *vma, unsigned long addr,
			   pte_t *ptep);
void install_migration_entry(struct mm_struct *mm, unsigned long addr,
			     pte_t *pte, struct page *page);

/* ksm.c */
int ksm_init_host(struct host *host);
void ksm_destroy_host(struct host *host);
int ksm_madvise(struct vm_area_struct *vma, unsigned long start,
		unsigned long end, int advice);
int ksm_unmerge_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end);
int ksm_fork(struct mm_struct *mm, struct mm_struct *oldmm);
void ksm_exit(struct mm_struct *mm);
void rmap_walk_ksm(struct page *page, struct rmap_walk_control *rwc);
int ksm_migrate_page(struct page *new, struct page *old);

/* shmem.c */
struct address_space *shmem_create(struct host *host, unsigned long nr_pages);
int shmem_writeout(struct page *page);
void **shmem_slot(struct address_space *mapping, unsigned long index,
		  bool alloc);
void shmem_get_mapping(struct address_space *mapping);
void shmem_put_mapping(struct address_space *mapping);
struct page *shmem_get_page(struct address_space *mapping, unsigned long pgoff,
			    struct host *host, int *err);
void shmem_link_vma(struct vm_area_struct *vma);
void shmem_truncate_range(struct address_space *m, unsigned long start,
			  unsigned long end);
void shmem_zero_partial(struct address_space *m, unsigned long index,
			unsigned int from, unsigned int to);
void shmem_set_size(struct address_space *m, long long size);
unsigned long shmem_nr_cached(struct address_space *m);

/* memfd.c */
struct file *shmem_file_setup(struct host *host, const char *name,
			      unsigned long size);
int shmem_punch_hole(struct address_space *m, long long offset,
		     long long len);
void shmem_unlink_vma(struct vm_area_struct *vma);

/* gup.c */
#define FOLL_PIN 0x40000	/* internal: pin, not get */

/* huge_memory.c: transparent huge pages (<mmulab/huge_mm.h>) */
struct page *alloc_huge_page(struct host *host);
bool thp_vma_allowable(struct vm_area_struct *vma, unsigned long addr);
vm_fault_t huge_pmd_fault(struct vm_area_struct *vma, unsigned long addr,
			  unsigned int flags, bool *handled);
void __split_huge_pmd(struct mm_struct *mm, unsigned long addr);
void vma_adjust_trans_huge(struct vm_area_struct *vma, unsigned long addr);
bool zap_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  pte_t *pmdp, unsigned long addr);
bool change_huge_pmd(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     pte_t *pmdp, unsigned long addr);
bool copy_huge_pmd(struct vm_area_struct *dst_vma,
		   struct vm_area_struct *src_vma, pte_t *src_pmdp,
		   unsigned long addr);
struct page *follow_huge_pmd_lock(struct mm_struct *mm, unsigned long addr,
				  pte_t *pte, spinlock_t **ptlp);
void huge_pmd_touch(struct mm_struct *mm, unsigned long addr, bool write);
unsigned long thp_mmap_align(struct mm_struct *mm, unsigned long hint,
			     unsigned long len);
void free_deposited_tables(struct page *pmd_table, struct pt_free_batch *batch);
bool tlb_remove_page(struct mmu_gather *tlb, struct page *page);
void tlb_track(struct mmu_gather *tlb, unsigned long addr);

/* fork.c */
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm);

/* ---------------------------------------------------------------------
 * Notifier core hooks used by the primary MMU (mm/mmu_notifier.c)
 */

void __mmu_notifier_release(struct mm_struct *mm);
void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm);
/*
 * mmu_notifier_leftovers() - interval notifiers still inserted in @mm, so
 * the mm_count references they hold; with @detach, report and unlink each
 * (its ->mm cleared: a later remove is a WARN).  Host teardown only.
 */
int mmu_notifier_leftovers(struct mm_struct *mm, bool detach);

/**
 * struct mmu_notifier_snapshot - notifier state of one mm, read at once
 * under its lock (for tests and checkers, e.g. INV-17).
 * @has_itree: interval subscribers may exist.
 * @invalidate_seq: interval-layer sequence; odd while an epoch is open.
 * @active_invalidate_ranges: start/end pairs in flight (interval layer).
 * @nr_intervals: interval subscribers in the tree.
 * @nr_deferred: inserts and removals waiting for the epoch to end.
 * @nr_subscriptions: linked hlist subscribers.
 */
struct mmu_notifier_snapshot {
	bool has_itree;
	unsigned long invalidate_seq;
	unsigned long active_invalidate_ranges;
	unsigned long nr_intervals;
	unsigned long nr_deferred;
	unsigned long nr_subscriptions;
};

/**
 * mmu_notifier_snapshot() - fill @snap for @mm.
 * Return: 0, or -ENOENT if nothing ever registered with @mm.
 */
int mmu_notifier_snapshot(struct mm_struct *mm,
			  struct mmu_notifier_snapshot *snap);

static inline void mmu_notifier_release(struct mm_struct *mm)
{
	trace_mmu_notifier_release(mm);
	if (mm_has_notifiers(mm))
		__mmu_notifier_release(mm);
}

/**
 * set_pte_at_notify() - re-point a present PTE and tell the secondary
 * MMUs with change_pte (the historical KSM/COW path).  In
 * CHANGE_PTE_BOOKENDED mode the caller is inside invalidate_range_start/
 * end for @addr; in CHANGE_PTE_DIRECT mode it is not.
 */
void set_pte_at_notify(struct mm_struct *mm, unsigned long addr, pte_t *ptep,
		       pte_t pte);
enum change_pte_mode change_pte_mode(struct mm_struct *mm);

/* The steps the primary MMU's mutants share with the real code. */
void zap_vma_list(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  unsigned long end);
pte_t *huge_pmd_at(struct mm_struct *mm, unsigned long haddr,
		   struct page **pmd_table);
void split_huge_pmd_flush(struct mm_struct *mm, struct page *pmd_table,
			  pte_t *pmdp, unsigned long haddr);
bool pud_populated(struct mm_struct *mm, unsigned long addr);
void tlb_batch_pages_flush(struct mmu_gather *tlb);
void change_pud_span(struct mmu_gather *tlb, struct vm_area_struct *vma,
		     unsigned long addr, unsigned long end);

/* mutants.c: the primary MMU's protocol mutants (<mmulab/mutant.h>) */
void unmap_vmas_mutant_free_before_start(struct mmu_gather *tlb,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long end);
void unmap_vmas_mutant_end_before_zap(struct mmu_gather *tlb,
				      struct vm_area_struct *vma,
				      unsigned long start, unsigned long end);
void zap_page_range_mutant_free_before_start(struct vm_area_struct *vma,
					     unsigned long addr,
					     unsigned long size,
					     const struct zap_details *details);
void __split_huge_pmd_mutant_no_notify(struct mm_struct *mm,
				       unsigned long addr);
void change_pgd_span_mutant_no_notifier(struct mmu_gather *tlb,
					struct vm_area_struct *vma,
					unsigned long addr, unsigned long end);
void tlb_flush_mmu_mutant_no_flush(struct mmu_gather *tlb);

#endif /* MMULAB_MM_INTERNAL_H */
