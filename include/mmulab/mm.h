/* SPDX-License-Identifier: MIT */
/*
 * The primary MMU: a host's physical frames and the process address spaces
 * (struct mm_struct) that map them through x86-64 four-level page tables.
 *
 * A secondary MMU uses this header to look at pages (struct page), to fault
 * pages in through get_user_pages*() and to read and write their contents;
 * it keeps itself coherent through <mmulab/mmu_notifier.h>.
 *
 * Return conventions follow the kernel: 0 or a count on success, a negative
 * errno on failure; functions returning objects use ERR_PTR().  Every entry
 * point validates its arguments: misuse returns -EINVAL (and, where it
 * reveals a bug in the caller, raises a WARN) rather than corrupting state.
 *
 * API misuse.  The "Misuse:" line of a function's comment says which
 * misuse it detects and what it then does; a function without one
 * detects none beyond its Return: errors.  Each is a WARN (counted by
 * warn_count(), see <mmulab/bug.h>) that names the function, its caller
 * and what is wrong, e.g.
 *
 *	WARNING: vm_mmap() misused by my_driver+0x4c: mm 0x5581... has no
 *	users: used after its last mmput()
 *
 * and the call changes nothing.  Checked API mode (CONFIG_DEBUG_API: the
 * meson option debug_api, on by default in every build type with debug
 * info, as CONFIG_DEBUG_VM in a debug kernel) also recognises hosts and
 * mms that were already freed, by keeping the last 1024 freed in a
 * quarantine, poisoned, and audits host_destroy() for interval notifiers
 * left inserted.  Self-deadlocks (taking a lock one holds) are the lock
 * layer's to report.  No check is a scheduling point: a seed replays the
 * same run in either mode.
 */
#ifndef MMULAB_MM_H
#define MMULAB_MM_H

#include <sys/mman.h>
#include <mmulab/bug.h>
#include <mmulab/interval_tree.h>
#include <mmulab/list.h>
#include <mmulab/sync.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define PMD_SHIFT 21
#define PMD_SIZE (1UL << PMD_SHIFT)
#define PUD_SHIFT 30
#define PUD_SIZE (1UL << PUD_SHIFT)
#define PGDIR_SHIFT 39
#define PGDIR_SIZE (1UL << PGDIR_SHIFT)
#define PTRS_PER_TABLE 512

/** TASK_SIZE - user address spaces span [0, TASK_SIZE): 47 bits, as x86-64. */
#define TASK_SIZE ((1UL << 47) - PAGE_SIZE)

/**
 * MMAP_MIN_ADDR - nothing may be mapped below it (the kernel's
 * vm.mmap_min_addr, 65536 as Debian sets it), so that a NULL dereference
 * always faults.  A MAP_FIXED mapping below it is refused with -EPERM, as
 * for a process without CAP_SYS_RAWIO; a hint below it is raised to it.
 */
#define MMAP_MIN_ADDR 0x10000UL

/* ---------------------------------------------------------------------
 * Page-table entries, with the x86-64 bit layout
 */

/** typedef pte_t - a page-table entry at any level. */
typedef struct {
	u64 pte;
} pte_t;

#define _PAGE_PRESENT (1ULL << 0)
#define _PAGE_RW (1ULL << 1)
#define _PAGE_USER (1ULL << 2)
#define _PAGE_PWT (1ULL << 3)
#define _PAGE_PCD (1ULL << 4)
#define _PAGE_ACCESSED (1ULL << 5)
#define _PAGE_DIRTY (1ULL << 6)
#define _PAGE_PSE (1ULL << 7)
#define _PAGE_GLOBAL (1ULL << 8)
#define _PAGE_SPECIAL (1ULL << 9) /* software bit: no struct page refcount */
#define _PAGE_SOFT_DIRTY (1ULL << 11)
#define _PAGE_NX (1ULL << 63)
#define PTE_PFN_MASK 0x000ffffffffff000ULL

static inline u64 pte_val(pte_t pte)
{
	return pte.pte;
}
static inline pte_t __pte(u64 v)
{
	return (pte_t){ v };
}
static inline bool pte_none(pte_t pte)
{
	return !pte.pte;
}
static inline bool pte_present(pte_t pte)
{
	return pte.pte & _PAGE_PRESENT;
}
static inline bool pte_write(pte_t pte)
{
	return pte.pte & _PAGE_RW;
}
static inline bool pte_young(pte_t pte)
{
	return pte.pte & _PAGE_ACCESSED;
}
static inline bool pte_dirty(pte_t pte)
{
	return pte.pte & _PAGE_DIRTY;
}
static inline bool pte_special(pte_t pte)
{
	return pte.pte & _PAGE_SPECIAL;
}
static inline bool pte_exec(pte_t pte)
{
	return !(pte.pte & _PAGE_NX);
}
/** pte_pfn() - frame number a present entry points to. */
static inline unsigned long pte_pfn(pte_t pte)
{
	return (pte.pte & PTE_PFN_MASK) >> PAGE_SHIFT;
}

/* ---------------------------------------------------------------------
 * The host: physical memory
 */

struct host;
struct page;
struct mm_struct;

/**
 * enum host_content - how frame contents are stored.
 * @HOST_CONTENT_DATA: every frame has 4 KiB of real bytes.
 * @HOST_CONTENT_TAG: every frame holds one 64-bit tag instead; any access
 *	to a page reads or writes its tag.  Lets guests of tens of GiB be
 *	modelled in a few GiB.  Page tables keep real storage in both modes.
 */
enum host_content {
	HOST_CONTENT_DATA,
	HOST_CONTENT_TAG,
};

/**
 * enum change_pte_mode - how the primary MMU re-points a present PTE
 * (COW break, KSM merge), i.e. which era of set_pte_at_notify() it models.
 * @CHANGE_PTE_NONE: Linux >= 6.9: no change_pte at all; the PTE is cleared
 *	and flushed inside invalidate_range_start/end, then set.
 * @CHANGE_PTE_BOOKENDED: Linux 2012-2024: set_pte_at_notify() inside
 *	invalidate_range_start/end, so change_pte always finds the secondary
 *	mapping already zapped (seed 000).
 * @CHANGE_PTE_DIRECT: Linux 2009-2012: set_pte_at_notify() without the
 *	surrounding invalidation; the secondary MMU updates in place and must
 *	bump its own sequence.
 */
enum change_pte_mode {
	CHANGE_PTE_NONE,
	CHANGE_PTE_BOOKENDED,
	CHANGE_PTE_DIRECT,
};

/**
 * enum ksm_run_mode - what ksmd does (the kernel's /sys/kernel/mm/ksm/run).
 * @KSM_RUN_STOP: no ksmd; merged pages stay merged, ksm_scan() still works.
 * @KSM_RUN_MERGE: ksmd scans pages of MADV_MERGEABLE areas and merges
 *	those with identical contents.
 * @KSM_RUN_UNMERGE: stop ksmd and give every mapping of a KSM page a
 *	private copy again (ksm_set_run() only).
 */
enum ksm_run_mode {
	KSM_RUN_STOP,
	KSM_RUN_MERGE,
	KSM_RUN_UNMERGE,
};

/**
 * struct host_config - parameters of host_create().  A zero field takes
 * its default, so a zero-initialised configuration (apart from
 * @nr_frames) is a host without swap, kswapd, OOM killer or ksmd, whose
 * allocations fail once reclaim finds nothing to free.
 * @nr_frames: physical frames (4 KiB each); at least 16.
 * @content: see enum host_content.
 * @change_pte: see enum change_pte_mode.
 * @ksm_run: KSM_RUN_MERGE starts ksmd with the host (it is then alive
 *	until host_destroy() or ksm_set_run(), so deterministic runs cannot
 *	begin meanwhile); KSM_RUN_STOP (0) does not.
 * @ksm_pages_to_scan: pages ksmd scans per batch; 0 means 100.
 * @ksm_sleep_millisecs: ksmd's sleep between batches; 0 means 20.
 * @ksm_max_page_sharing: most mappings of one KSM page; more pages with
 *	the same contents make another KSM page, chained to the full ones
 *	(Linux's max_page_sharing).  0 means 256; else at least 2.
 * @swap_slots: size of the host's swap device in 4 KiB slots (a slot
 *	holds a tag in tag mode); 0 for none.  At most 1 << 28.
 * @wmark_low: kswapd is woken when fewer frames than this are free;
 *	0 for nr_frames / 64, at least 4.
 * @wmark_high: kswapd reclaims until this many frames are free; 0 for
 *	twice @wmark_low.  Must lie above @wmark_low and below @nr_frames.
 * @kswapd: run a background reclaim thread for the host, from
 *	host_create() to host_destroy().  Off by default: a deterministic
 *	run (det_begin()) only starts when no other mmulab task is alive,
 *	so such a host must be created inside the run.
 * @oom_kill: when direct reclaim cannot free a frame, pick the address
 *	space with the most memory and reap it (the OOM killer), then
 *	retry, instead of failing the allocation at once.
 * @shared_frames: keep the frame contents (data mode only) in a memfd
 *	that another OS process can map (host_frames_fd()), so an XPMEM
 *	importer process reads and writes the frames themselves.  Off by
 *	default: the contents are then private anonymous memory.
 * @thp: transparent huge pages (enum thp_mode of <mmulab/huge_mm.h>);
 *	0 is THP_NEVER.
 */
struct host_config {
	unsigned long nr_frames;
	enum host_content content;
	enum change_pte_mode change_pte;
	enum ksm_run_mode ksm_run;
	unsigned int ksm_pages_to_scan;
	unsigned int ksm_sleep_millisecs;
	unsigned int ksm_max_page_sharing;
	unsigned long swap_slots;
	unsigned long wmark_low;
	unsigned long wmark_high;
	bool kswapd;
	bool oom_kill;
	bool shared_frames;
	int thp;
};

/**
 * enum vm_event_item - host-wide event counters (the kernel's vmstat names
 * where one exists).
 */
enum vm_event_item {
	PGALLOC,	/* frames allocated */
	PGFREE,		/* frames freed */
	PGFAULT,	/* primary page faults handled */
	PGREUSE,	/* write faults that reused the page in place */
	COW_FAULT,	/* write faults that copied the page (wp_page_copy) */
	ZERO_PAGE_MAP,	/* read faults that mapped the shared zero page */
	GUP_PAGES,	/* pages returned by get_user_pages*() */
	PIN_PAGES,	/* pages returned by pin_user_pages*() */
	TLB_FLUSH,	/* primary TLB flushes (each reaches secondary TLBs) */
	MMU_NOTIFY_START,	/* invalidate_range_start dispatches */
	MMU_NOTIFY_END,		/* invalidate_range_end dispatches */
	MMU_NOTIFY_AGE,		/* aging queries dispatched */
	MMU_NOTIFY_CHANGE_PTE,	/* change_pte dispatches */
	PGMIGRATE_SUCCESS,	/* pages migrated to another frame */
	PGMIGRATE_FAIL,		/* migrations given up (pinned, busy) */
	COMPACTMIGRATE_SCANNED,	/* frames compaction examined to move */
	COMPACTFREE_SCANNED,	/* frames compaction examined as targets */
	COMPACTISOLATED,	/* free frames compaction took as targets */
	COW_KSM,		/* COW breaks of KSM pages */
	PGALLOC_FAIL,	/* allocations failed after reclaim (mmulab) */
	ALLOCSTALL,	/* allocations that entered direct reclaim */
	PAGEOUTRUN,	/* kswapd balancing runs */
	PGSCAN_KSWAPD,	/* inactive pages scanned by kswapd */
	PGSCAN_DIRECT,	/* ... by direct and on-demand reclaim */
	PGSTEAL_KSWAPD,	/* pages freed by kswapd */
	PGSTEAL_DIRECT,	/* ... by direct and on-demand reclaim */
	PGSCAN_ANON,	/* inactive swap-backed pages scanned */
	PGSCAN_FILE,	/* inactive lazily freed pages scanned */
	PGSTEAL_ANON,	/* swap-backed pages freed by reclaim */
	PGSTEAL_FILE,	/* lazily freed pages freed by reclaim */
	PGREFILL,	/* active pages scanned for deactivation */
	PGACTIVATE,	/* pages moved to an active list */
	PGDEACTIVATE,	/* pages moved to an inactive list */
	PGLAZYFREED,	/* clean MADV_FREE pages discarded */
	PGMAJFAULT,	/* faults that read a page from swap */
	PSWPIN,		/* pages read from swap */
	PSWPOUT,	/* pages written to swap */
	WORKINGSET_REFAULT_ANON,  /* swapped-in pages that had been evicted */
	WORKINGSET_ACTIVATE_ANON, /* ... and were in the working set then */
	RECLAIM_PINNED,	/* pages reclaim left alone: pinned (mmulab) */
	RECLAIM_SWAP_FULL, /* anon pages kept: no free swap slot (mmulab) */
	OOM_KILL,	/* OOM victims chosen */
	OOM_REAP_SKIPPED, /* VMAs the reaper skipped: -EAGAIN (mmulab) */
	OOM_REAP_FAILED,  /* victims given up after the retries (mmulab) */
	THP_FAULT_ALLOC,	/* huge pages mapped by a fault */
	THP_FAULT_FALLBACK,	/* huge faults that fell back to 4 KiB */
	THP_SPLIT_PMD,		/* huge PMDs split into PTE tables */
	THP_COLLAPSE_ALLOC,	/* huge pages made by khugepaged_collapse() */
	NR_VM_EVENT_ITEMS,
};

/** vm_event_name() - printable name of @item, or NULL. */
const char *vm_event_name(enum vm_event_item item);

/**
 * host_create() - create a host with the given physical memory.
 *
 * Frame 0 is reserved as the shared zero page.
 *
 * Return: the host, or ERR_PTR(-EINVAL) for a bad configuration,
 * ERR_PTR(-ENOMEM) if the memory cannot be reserved.
 */
struct host *host_create(const struct host_config *cfg);

/**
 * host_destroy() - free a host.
 *
 * Return: 0, or -EBUSY if an address space of the host is still alive (it
 * is then left intact).
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL. Address spaces alive: a WARN for each, -EBUSY; in checked mode,
 *	mms kept alive only by interval notifiers left inserted are reported,
 *	detached and freed first.
 */
int host_destroy(struct host *host);

/**
 * host_config_check() - the checks host_create() makes of @cfg, without
 * creating anything, so that a front end can say what is wrong.
 * @cfg: the configuration.
 * @why: if not NULL, set to a sentence naming the first bad field, or to
 *	NULL when @cfg is valid.
 *
 * Return: 0 if host_create() would accept @cfg (memory permitting),
 * -EINVAL otherwise.
 */
int host_config_check(const struct host_config *cfg, const char **why);

/** host_config_of() - the configuration @host was created with. */
const struct host_config *host_config_of(const struct host *host);

/**
 * host_frames_fd() - the memfd holding the frame contents of a host
 * created with @shared_frames: frame N is the 4 KiB at offset N * 4096.
 * The host owns it; pass it on (SCM_RIGHTS), never close it.
 * @host: the host.
 * Return: the descriptor, or -EINVAL for a bad host, -ENOENT when the
 * host was created without @shared_frames.
 */
int host_frames_fd(struct host *host);

/**
 * host_nr_free_frames() - frames currently free.
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN, 0.
 */
unsigned long host_nr_free_frames(struct host *host);

/**
 * host_vm_event() - current value of one counter.
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN, 0.
 */
unsigned long host_vm_event(struct host *host, enum vm_event_item item);

/**
 * struct host_meminfo - where a host's frames and swap slots are.
 * @total: frames, the zero page included.
 * @free: frames on the free list.
 * @active_anon: swap-backed pages (anonymous and shared memory) on the
 *	active LRU list.
 * @inactive_anon: ... on the inactive list.
 * @active_file: lazily freed anonymous pages (MADV_FREE) on the active
 *	list: Linux keeps them with file pages, as they need no swap.
 * @inactive_file: ... on the inactive list.
 * @swap_total: slots of the swap device.
 * @swap_free: slots not in use.
 * @swap_cache: pages in the swap cache.
 * @wmark_low: see struct host_config.
 * @wmark_high: see struct host_config.
 */
struct host_meminfo {
	unsigned long total;
	unsigned long free;
	unsigned long active_anon;
	unsigned long inactive_anon;
	unsigned long active_file;
	unsigned long inactive_file;
	unsigned long swap_total;
	unsigned long swap_free;
	unsigned long swap_cache;
	unsigned long wmark_low;
	unsigned long wmark_high;
};

/**
 * host_meminfo() - fill @info for @host (each field read once; under
 * concurrent activity they need not add up exactly).
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode), a NULL
 *	@info: WARN, nothing filled.
 */
void host_meminfo(struct host *host, struct host_meminfo *info);

/**
 * host_observe_meminfo() - host_meminfo() for observers (samplers,
 * reports): the same fields, read without a scheduling point, so that
 * watching a deterministic run does not change it.  Safe beside running
 * tasks.
 * @host: a live host.
 * @info: filled in.
 */
void host_observe_meminfo(struct host *host, struct host_meminfo *info);

/**
 * host_reclaim() - reclaim on demand, as kswapd would: age the LRU lists
 * and free up to @nr_pages pages, writing swap-backed ones to swap.
 *
 * Every page is unmapped from every address space inside a CLEAR
 * invalidation, so secondary MMUs drop their mappings first, and is
 * freed only if no one else holds a reference.  Pinned pages and, with
 * the swap device full, swap-backed pages stay.
 *
 * Return: pages freed (at most @nr_pages), or -EINVAL.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
long host_reclaim(struct host *host, unsigned long nr_pages);

/**
 * host_notify_events() - invalidations started per mmu_notifier_event,
 * written to @out, which has room for @n counters.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	nothing written.
 */
void host_notify_events(struct host *host, unsigned long *out, unsigned int n);

/* ---------------------------------------------------------------------
 * Pages (frames)
 */

/** pfn_to_page() - the frame @pfn of @host, or NULL if out of range. */
struct page *pfn_to_page(struct host *host, unsigned long pfn);
/** page_to_pfn() - frame number of @page. */
unsigned long page_to_pfn(const struct page *page);
/** page_host() - host that owns @page. */
struct host *page_host(const struct page *page);

/** get_page() - take a reference on @page, which the caller keeps alive. */
void get_page(struct page *page);
/** put_page() - drop a reference; the last one frees the frame. */
void put_page(struct page *page);
/** page_ref_count() - current reference count of @page. */
int page_ref_count(const struct page *page);
/** page_mapcount() - number of primary PTEs mapping @page. */
int page_mapcount(const struct page *page);
/**
 * page_maybe_dma_pinned() - true if @page may be pinned by
 * pin_user_pages*() (its reference count carries the pin bias).
 */
bool page_maybe_dma_pinned(const struct page *page);
/**
 * set_page_dirty() - record that @page was written through a mapping the
 * primary MMU cannot see (a secondary MMU's dirty SPTE, DMA), so reclaim
 * and KSM treat its contents as changed.
 */
void set_page_dirty(struct page *page);
/**
 * mark_page_accessed() - record that @page was accessed through such a
 * mapping, so aging treats it as recently used.
 */
void mark_page_accessed(struct page *page);
/** is_zero_pfn() - true for the shared zero page's frame number. */
bool is_zero_pfn(unsigned long pfn);

/**
 * page_read_u64() - read 8 bytes at @offset (8-aligned, < PAGE_SIZE) of
 * @page; in tag mode, the page's tag.
 */
u64 page_read_u64(struct page *page, unsigned long offset);
/** page_write_u64() - write 8 bytes at @offset; in tag mode, the tag. */
void page_write_u64(struct page *page, unsigned long offset, u64 val);
/**
 * page_copy_to() - copy @len bytes from @page at @offset into @buf.
 * Return: 0, or -EINVAL in tag mode or for a range outside the page.
 */
int page_copy_to(struct page *page, unsigned long offset, void *buf,
		 size_t len);
/** page_copy_from() - copy @len bytes from @buf into @page at @offset. */
int page_copy_from(struct page *page, unsigned long offset, const void *buf,
		   size_t len);

/**
 * page_word_address() - where the 8-byte word at @offset of @page's
 * contents lives: in the frame's bytes (data mode) or the frame's tag (tag
 * mode, whatever @offset), so that a load from it is page_read_u64()
 * without the lookup, as a TLB caches the host-physical address.
 * @page: a frame.
 * @offset: 8-aligned, < PAGE_SIZE.
 * Return: the address, or NULL for a NULL @page or a bad @offset.
 */
u64 *page_word_address(struct page *page, unsigned long offset);

/**
 * typedef page_access_fn - one access of @len bytes at @offset of @page:
 * a store of @buf when @write, else a load into @buf.
 */
typedef void (*page_access_fn)(struct page *page, unsigned long offset,
			       void *buf, size_t len, bool write);

/** page_access_bytes() - a page_access_fn over bytes (data mode). */
void page_access_bytes(struct page *page, unsigned long offset, void *buf,
		       size_t len, bool write);
/** page_access_u64() - a page_access_fn over one u64 (or the tag). */
void page_access_u64(struct page *page, unsigned long offset, void *buf,
		     size_t len, bool write);

/* ---------------------------------------------------------------------
 * Address spaces
 */

/**
 * mm_alloc() - a new, empty address space on @host, with one user (the
 * caller's) and one reference.
 * Return: the mm, or ERR_PTR(-ENOMEM).
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	ERR_PTR(-EINVAL).
 */
struct mm_struct *mm_alloc(struct host *host);

/**
 * mm_host() - host of @mm.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, NULL.
 */
struct host *mm_host(const struct mm_struct *mm);

/**
 * mmget() - take a user reference; the caller already holds one.
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, no reference taken.
 */
void mmget(struct mm_struct *mm);
/**
 * mmget_not_zero() - take a user reference unless the mm is exiting.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, false.
 */
bool mmget_not_zero(struct mm_struct *mm);
/**
 * mmput() - drop a user reference; the last one tears the address space
 * down (exit_mmap: notifier release, unmap of every VMA, frames freed).
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(a put after the last one): WARN, nothing dropped.
 */
void mmput(struct mm_struct *mm);
/**
 * mmgrab() - keep the mm_struct itself alive (not its mappings).
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, no reference
 *	taken.
 */
void mmgrab(struct mm_struct *mm);
/**
 * mmdrop() - drop an mmgrab() reference; the last one frees the struct.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, nothing dropped.
 */
void mmdrop(struct mm_struct *mm);

/**
 * mm_oom_reap() - treat @mm as the OOM killer's victim and reap it, as
 * the OOM reaper does: under mmap_read_trylock(), unmap every private
 * VMA inside a non-blockable UNMAP invalidation.  A VMA whose secondary
 * MMUs cannot invalidate without sleeping (-EAGAIN) is skipped, and the
 * whole reap is retried up to ten times before the mm is given up.
 * From the first attempt on, faults that would map new memory in @mm
 * fail (the address space is no longer stable); pages already mapped
 * in skipped VMAs stay.  The caller must hold a user reference.
 *
 * Return: 0 when every eligible VMA was reaped, -EAGAIN when the reaper
 * gave up, -EINVAL for a NULL @mm, -EEXIST when @mm was already given up
 * (by an earlier reap or by exit).
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, -EINVAL.
 */
int mm_oom_reap(struct mm_struct *mm);

/**
 * dup_mm() - fork: a new address space that shares @oldmm's private pages
 * copy-on-write and its shared mappings outright.
 * Return: the child mm (one user), or ERR_PTR(-ENOMEM).
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, ERR_PTR(-EINVAL).
 */
struct mm_struct *dup_mm(struct mm_struct *oldmm);

/* Back ends of the mmap_lock macros below (@site: the caller's). */
void __mmap_read_lock(struct mm_struct *mm, const char *site);
bool __mmap_read_trylock(struct mm_struct *mm, const char *site);
void __mmap_write_lock(struct mm_struct *mm, const char *site);

/**
 * mmap_read_lock() - take @mm's mmap_lock shared; may sleep.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, no lock taken
 *	(and none released by the matching unlock).  Taking it while the task
 *	already holds it (either way) is reported as a self-deadlock by the
 *	lock validator (<mmulab/sync.h>).
 */
#define mmap_read_lock(mm) __mmap_read_lock((mm), LOCK_SITE)
/**
 * mmap_read_trylock() - take @mm's mmap_lock shared if that needs no
 * wait (no writer holds it or waits for it); true on success.
 *
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, false.
 */
#define mmap_read_trylock(mm) __mmap_read_trylock((mm), LOCK_SITE)
/**
 * mmap_read_unlock() - release a shared hold of the mmap_lock.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, nothing
 *	released.
 */
void mmap_read_unlock(struct mm_struct *mm);
/**
 * mmap_write_lock() - take @mm's mmap_lock exclusive; may sleep.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, no lock taken.
 *	A self-deadlock (the task holds it already) is reported, not hung.
 */
#define mmap_write_lock(mm) __mmap_write_lock((mm), LOCK_SITE)
/**
 * mmap_write_unlock() - release an exclusive hold of the mmap_lock.
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, nothing
 *	released.
 */
void mmap_write_unlock(struct mm_struct *mm);

/**
 * vm_mmap() - map anonymous memory.
 * @mm: address space.
 * @addr: hint (aligned down, raised to MMAP_MIN_ADDR), or the exact
 *	address with MAP_FIXED / MAP_FIXED_NOREPLACE.
 * @len: length in bytes (rounded up to pages).
 * @prot: PROT_READ | PROT_WRITE | PROT_EXEC, or PROT_NONE.
 * @flags: MAP_ANONYMOUS with exactly one of MAP_PRIVATE or MAP_SHARED,
 *	optionally MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE.
 *
 * A MAP_FIXED mapping replaces what was there (an UNMAP invalidation).
 * MAP_SHARED memory is a file without a name, made for the mapping (see
 * <mmulab/memfd.h>; vm_mmap_file() maps a memfd).  A new mapping merges
 * with adjacent ones of the same flags, as Linux's.
 * Without a hint, a length that is a multiple of 2 MiB is placed 2 MiB-
 * aligned while the host's THP setting is not THP_NEVER.
 *
 * Return: the address; -EINVAL for a zero @len, bad @prot or @flags, a
 * misaligned fixed @addr, or an mm that is NULL, freed or without users
 * (a WARN); -ENOMEM when @len is over TASK_SIZE or a fixed range ends
 * above it, or nothing fits; -EPERM for a fixed @addr below
 * MMAP_MIN_ADDR; -EEXIST (FIXED_NOREPLACE).  As Linux, for the errors.
 */
long vm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	     unsigned long prot, unsigned long flags);

/**
 * vm_munmap() - unmap [@start, @start + @len).
 * Return: 0 or -EINVAL.
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, -EINVAL.
 */
int vm_munmap(struct mm_struct *mm, unsigned long start, unsigned long len);

/**
 * do_mprotect() - change protections of [@start, @start + @len), which
 * must be fully mapped.  VMAs split at the ends of the range, and merge
 * back with their neighbours where flags, file, anon_vma and page
 * offsets allow (Linux 6.12's vma_merge): restoring the protection
 * leaves one VMA.
 * Return: 0 (also for a zero @len); -EINVAL for a misaligned @start, bad
 * @prot, or an mm that is NULL, freed or without users (a WARN);
 * -ENOMEM for a hole in the range or a range that wraps or leaves the
 * user range, as Linux.
 */
int do_mprotect(struct mm_struct *mm, unsigned long start, unsigned long len,
		unsigned long prot);

/**
 * do_madvise() - MADV_DONTNEED, MADV_FREE, MADV_MERGEABLE,
 * MADV_UNMERGEABLE, MADV_COLD, MADV_PAGEOUT and MADV_REMOVE (MADV_NORMAL
 * and friends are accepted and ignored).
 *
 * MADV_REMOVE punches a hole in the file behind a shared mapping (a memfd
 * or shared anonymous memory): vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) of
 * the file range the request maps, see <mmulab/memfd.h>; every mapping of
 * the file then reads zero there.  It returns -EACCES for a private
 * mapping and -EINVAL for anonymous memory, and stops at the first hole
 * (-ENOMEM).
 *
 * MADV_MERGEABLE marks the private anonymous mappings of the range
 * VM_MERGEABLE (splitting VMAs at its ends) and registers @mm with KSM;
 * shared mappings are left alone.  MADV_UNMERGEABLE clears the mark and
 * gives every KSM page of the range a private copy again.
 *
 * MADV_HUGEPAGE and MADV_NOHUGEPAGE mark the private anonymous VMAs of
 * the range (splitting them at its ends) for transparent huge pages or
 * against them (<mmulab/huge_mm.h>); they take the mmap_lock for writing.
 *
 * MADV_COLD deactivates the pages this mapping alone maps, clearing the
 * CPU accessed bits (not a secondary MMU's); MADV_PAGEOUT reclaims them
 * now, whether used or not (see host_reclaim()).
 *
 * Return: 0 (also for a zero @len); -EINVAL for a misaligned @start, an
 * unknown @behavior, a length that wraps when rounded up to pages or
 * added to @start, or an mm that is NULL, freed or without users (a
 * WARN); -ENOMEM for a hole in the range (also beyond TASK_SIZE) or no
 * memory.  As Linux.
 */
int do_madvise(struct mm_struct *mm, unsigned long start, unsigned long len,
	       int behavior);

/**
 * do_mremap() - resize or move a mapping (MREMAP_MAYMOVE, MREMAP_FIXED).
 * Return: the new address, or -EINVAL (also for an mm that is NULL,
 * freed or without users, with a WARN), -ENOMEM, -EFAULT, -EPERM for a
 * MREMAP_FIXED @new_addr below MMAP_MIN_ADDR.
 */
long do_mremap(struct mm_struct *mm, unsigned long addr,
	       unsigned long old_len, unsigned long new_len,
	       unsigned long flags, unsigned long new_addr);

/* ---------------------------------------------------------------------
 * KSM: kernel samepage merging (mm/ksm.c)
 *
 * Pages of MADV_MERGEABLE areas with identical contents (identical tags in
 * HOST_CONTENT_TAG mode) are merged into one write-protected KSM page that
 * every mapping shares; a write to it breaks COW and gives the writer a
 * private copy.  A page is merged only after two scans found the same
 * contents.  Pages of zeroes are merged like any others, into a KSM page,
 * not onto the zero page (the kernel's default, use_zero_pages = 0).
 */

/**
 * struct ksm_stats - KSM's counters, with the kernel's sysfs names.
 * @pages_shared: KSM pages in use (stable nodes with a mapping).
 * @pages_sharing: further mappings of those pages: the frames saved.
 * @pages_unshared: pages scanned, stable, but with no twin yet (the
 *	unstable tree), as of their last scan.
 * @pages_volatile: pages scanned whose contents changed too recently.
 * @full_scans: passes completed over every mergeable area.
 * @pages_scanned: pages looked at, in total.
 * @stable_nodes: KSM pages known to KSM, mapped or not yet pruned.
 * @stable_node_chains: contents shared by more than max_page_sharing
 *	mappings, so held by several KSM pages (a chain).
 * @stable_node_dups: the KSM pages of those chains.
 */
struct ksm_stats {
	unsigned long pages_shared;
	unsigned long pages_sharing;
	unsigned long pages_unshared;
	unsigned long pages_volatile;
	unsigned long full_scans;
	unsigned long pages_scanned;
	unsigned long stable_nodes;
	unsigned long stable_node_chains;
	unsigned long stable_node_dups;
};

/**
 * ksm_scan() - scan up to @nr_pages mergeable pages now, in the calling
 * task, continuing where ksmd or the last call stopped; like one of
 * ksmd's batches it stops early at the end of a pass (counted in
 * ksm_stats.full_scans), so the next call starts a new one.
 * Return: pages scanned, or -EINVAL.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
long ksm_scan(struct host *host, unsigned long nr_pages);

/**
 * ksm_set_run() - start (KSM_RUN_MERGE) or stop (KSM_RUN_STOP) ksmd, or
 * stop it and unmerge everything (KSM_RUN_UNMERGE), which also forgets
 * every scanned page.  Waits for a running ksmd to finish its batch.
 * Return: 0, -EINVAL, or the error of starting the thread.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
int ksm_set_run(struct host *host, enum ksm_run_mode run);

/**
 * ksm_get_stats() - a consistent snapshot of @host's KSM counters.
 * Misuse: a NULL or destroyed host (destroyed: checked mode), a NULL
 *	@stats: WARN, nothing filled.
 */
void ksm_get_stats(struct host *host, struct ksm_stats *stats);

/**
 * ksm_observe_stats() - ksm_get_stats() without KSM's lock, for an
 * observer that must not take one (a det_set_observer() sampler): the
 * fields are read one by one and need not add up.  Only where no task
 * runs beside the caller (a deterministic run); elsewhere use
 * ksm_get_stats().
 * @host: a live host.
 * @stats: filled in.
 */
void ksm_observe_stats(struct host *host, struct ksm_stats *stats);

/* ---------------------------------------------------------------------
 * Migration and compaction (mm/migrate.c, mm/compaction.c)
 *
 * A page moves to another frame with its contents and every mapping: each
 * PTE becomes a migration entry inside a CLEAR invalidation of its page,
 * the contents are copied, and the PTEs are pointed at the new frame
 * without notification (they were not present).  CPU and GUP faults that
 * meet a migration entry wait until it is gone.  Pinned pages are never
 * moved; neither are page tables or the zero page.
 */

/**
 * migrate_pfn() - move the page in frame @pfn to a free frame.
 * @host: the host.
 * @pfn: the frame to empty.
 * @new_pfn: where the page went (may be NULL).
 * Return: 0; -EINVAL if the frame holds no movable page (free, reserved,
 * a page table, a page neither mapped nor cached); -EBUSY if the page is
 * pinned or stays referenced by someone other than its mappings;
 * -ENOMEM if no frame is free.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
int migrate_pfn(struct host *host, unsigned long pfn, unsigned long *new_pfn);

/**
 * pte_migration_pfn() - is @pte, an entry as follow_pte() returns it, a
 * migration entry?  It stands for a page being moved, and exists only
 * while that move runs: one seen when no migration runs (a quiescent
 * point) was left behind, and the page's data with it.
 * @pte: the entry.
 * @pfn: set to the frame being moved from, when it is one (may be NULL).
 * Return: true for a migration entry, false for anything else.
 */
bool pte_migration_pfn(pte_t pte, unsigned long *pfn);

/**
 * struct compact_result - what host_compact() did.
 * @migrate_scanned: frames looked at from the top for pages to move.
 * @free_scanned: frames looked at from the bottom for free targets.
 * @moved: pages moved down.
 * @failed: movable pages that could not be moved (pinned, busy).
 */
struct compact_result {
	unsigned long migrate_scanned;
	unsigned long free_scanned;
	unsigned long moved;
	unsigned long failed;
};

/**
 * host_compact() - compact frames [@start_pfn, @end_pfn) (clipped to the
 * host; 0 and ~0UL for all of it): move used frames from the top of the
 * range into free frames at its bottom until the two scans meet.
 * @res: filled in (may be NULL).
 * Return: 0 or -EINVAL.
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	-EINVAL.
 */
int host_compact(struct host *host, unsigned long start_pfn,
		 unsigned long end_pfn, struct compact_result *res);

/* ---------------------------------------------------------------------
 * CPU accesses: what a thread of the process does with a load or store.
 * They walk the page tables, set the accessed and dirty bits and take page
 * faults as the hardware would.
 */

/**
 * cpu_read() - load @len bytes at @addr into @buf (data mode only).
 * Return: 0, -EFAULT (no mapping or no permission), -ENOMEM, -EINVAL.
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, -EINVAL; nothing is allocated.
 */
int cpu_read(struct mm_struct *mm, unsigned long addr, void *buf, size_t len);
/**
 * cpu_write() - store @len bytes from @buf at @addr (data mode only).
 * Misuse: as cpu_read().
 */
int cpu_write(struct mm_struct *mm, unsigned long addr, const void *buf,
	      size_t len);
/**
 * cpu_read_u64() - load 8 bytes at an 8-aligned @addr; in tag mode the
 * tag of the page containing @addr.
 *
 * Misuse: as cpu_read().
 */
int cpu_read_u64(struct mm_struct *mm, unsigned long addr, u64 *val);
/**
 * cpu_write_u64() - store 8 bytes at @addr; in tag mode set the tag.
 * Misuse: as cpu_read().
 */
int cpu_write_u64(struct mm_struct *mm, unsigned long addr, u64 val);

/**
 * follow_pte() - the current page-table entry mapping @addr (none if
 * there is no page table for it).
 * Return: 0, or -EINVAL for an address outside the user range.
 *
 * Misuse: a NULL or freed mm (freed: checked mode): WARN, -EINVAL (an mm
 *	without users reads as empty).
 */
int follow_pte(struct mm_struct *mm, unsigned long addr, pte_t *pte);

/**
 * follow_pte_next() - the first page-table entry that is not none (a
 * present page, or a swap or migration entry) at an address in [*@addr,
 * @end), for walking what a range holds: absent page tables are skipped
 * whole, so a walk costs what is populated, not the size of the range.
 * @mm: the address space.
 * @addr: where to start; on success, moved to the page of the entry.
 * @end: where to stop (exclusive; clipped to TASK_SIZE).
 * @pte: the entry found.
 * Return: 0, -ENOENT when the range has no such entry, or -EINVAL for a
 * NULL argument or a start outside the user range.
 */
int follow_pte_next(struct mm_struct *mm, unsigned long *addr,
		    unsigned long end, pte_t *pte);

/* ---------------------------------------------------------------------
 * get_user_pages: how secondary MMUs find (and fault in) primary pages
 */

#define FOLL_WRITE 0x01		/* the caller will write: break COW */
#define FOLL_FORCE 0x10		/* allow writes to read-only private maps */
#define FOLL_NOFAULT 0x80	/* fail rather than fault pages in */
#define FOLL_LONGTERM 0x100	/* the reference is long-lived (pins only) */

/**
 * get_user_pages_remote() - take a reference on each of @nr_pages pages of
 * @mm starting at @start, faulting them in (for writing with FOLL_WRITE,
 * which breaks COW).  The caller holds mmap_read_lock(@mm).
 *
 * The references keep the frames allocated, not mapped: a non-pinning
 * secondary MMU drops them as soon as its mapping is installed and relies
 * on notifiers from then on.
 *
 * Return: number of pages taken (possibly fewer than asked when a later
 * page faults), or -EFAULT, -ENOMEM, -EINVAL when none could be.
 *
 * Misuse: a NULL or freed mm (freed: checked mode), an mm without users
 *	(used after its last mmput()): WARN, -EINVAL.
 */
long get_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages);

/**
 * get_user_pages_unlocked() - as get_user_pages_remote(), but takes and
 * releases the mmap_lock itself.
 *
 * Misuse: as get_user_pages_remote().
 */
long get_user_pages_unlocked(struct mm_struct *mm, unsigned long start,
			     unsigned long nr_pages, struct page **pages,
			     unsigned int gup_flags);

/**
 * pin_user_pages_remote() - as get_user_pages_remote(), but the references
 * are pins (FOLL_PIN): page_maybe_dma_pinned() becomes true, reclaim and
 * migration leave the pages alone, fork copies them eagerly, and a read
 * pin of a COW-shared anonymous page unshares it first.  Release with
 * unpin_user_page().
 *
 * Misuse: as get_user_pages_remote().
 */
long pin_user_pages_remote(struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags,
			   struct page **pages);

/**
 * get_user_pages_fast_only() - take a reference on each of @nr_pages pages
 * of @mm from @start that its page tables already map as asked, without
 * the mmap_lock, a page-table lock or a user reference on @mm (Linux's
 * GUP-fast: a lockless walk, each entry read once, the page taken with a
 * try-get and dropped again if its entry changed meanwhile).  Never
 * faults and never sleeps; stops at the first page that is not mapped so
 * (not present, swap or migration entry, PROT_NONE, special, read-only for
 * FOLL_WRITE).  The caller holds at least mmgrab(@mm).  Release each page
 * with put_page().  As with get_user_pages_remote(), the references keep
 * the frames, not the mappings: a secondary MMU must check for
 * invalidations (and for its mm's release) before it maps a page.
 * @mm: the address space (Model: Linux walks current->mm).
 * @start: page-aligned user address.
 * @nr_pages: how many pages.
 * @gup_flags: 0 or FOLL_WRITE.
 * @pages: where the pages go.
 * Return: the number of pages taken from @start (0 to @nr_pages), or
 *	-EINVAL for other flags, a NULL @pages, a misaligned or out-of-range
 *	request, or a NULL or freed @mm (which also WARNs).
 */
int get_user_pages_fast_only(struct mm_struct *mm, unsigned long start,
			     int nr_pages, unsigned int gup_flags,
			     struct page **pages);

/**
 * get_user_page_fast_only() - get_user_pages_fast_only() of one page.
 * @mm: the address space.
 * @addr: page-aligned user address.
 * @gup_flags: 0 or FOLL_WRITE.
 * @pagep: where the page goes.
 * Return: true when the page was taken.
 */
bool get_user_page_fast_only(struct mm_struct *mm, unsigned long addr,
			     unsigned int gup_flags, struct page **pagep);

/** unpin_user_page() - release one pin taken by pin_user_pages_remote(). */
void unpin_user_page(struct page *page);
/** unpin_user_pages() - release @n pins. */
void unpin_user_pages(struct page **pages, unsigned long n);

/* ---------------------------------------------------------------------
 * What a driver of a secondary MMU uses of the primary MMU: VMAs, fault
 * results, page-table walks, and frames it allocates and copies itself
 * (device memory's migrations), under the kernel's names.
 */

#define VM_READ 0x1UL
#define VM_WRITE 0x2UL
#define VM_EXEC 0x4UL
#define VM_SHARED 0x8UL
#define VM_MAYREAD 0x10UL
#define VM_MAYWRITE 0x20UL
#define VM_MAYEXEC 0x40UL
#define VM_MAYSHARE 0x80UL
#define VM_HUGEPAGE 0x20000000UL	/* MADV_HUGEPAGE */
#define VM_NOHUGEPAGE 0x40000000UL	/* MADV_NOHUGEPAGE */
#define VM_MERGEABLE 0x80000000UL

struct anon_vma;
struct address_space;

/**
 * struct vm_area_struct - one mapping.
 * @vm_start, @vm_end: [start, end) of the mapping.
 * @vm_mm: its address space.
 * @vm_flags: VM_* bits.
 * @vm_pgoff: linear page index of @vm_start (anon) or offset in @vm_file.
 * @anon_vma: reverse map of its anonymous pages, set at the first fault.
 * @anon_vma_node: link in anon_vma->vmas.
 * @vm_file: the file's page cache, for file mappings (MAP_SHARED, or
 *	MAP_PRIVATE of a memfd: then @anon_vma holds the private copies).
 * @shared_node: link in vm_file->i_mmap.
 * @vm_rb: node in the mm's VMA tree, [vm_start, vm_end - 1].
 */
struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	unsigned long vm_pgoff;
	struct anon_vma *anon_vma;
	struct list_head anon_vma_node;
	struct address_space *vm_file;
	struct list_head shared_node;
	struct interval_tree_node vm_rb;
};

/**
 * find_vma() - the first VMA of @mm that ends above @addr.
 * @mm: the address space; the caller holds its mmap_lock.
 * @addr: the address.
 * Return: the VMA, or NULL when none ends above @addr.
 */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);

/**
 * vma_lookup() - the VMA of @mm that contains @addr.
 * @mm: the address space; the caller holds its mmap_lock.
 * @addr: the address.
 * Return: the VMA, or NULL when no VMA contains @addr.
 */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);

/*
 * vm_fault_t - what a fault handler returns: 0 when the fault was handled
 * (the access may be retried), else VM_FAULT_* bits.
 */
typedef unsigned int vm_fault_t;
#define VM_FAULT_OOM 0x1
#define VM_FAULT_SIGSEGV 0x2
#define VM_FAULT_SIGBUS 0x4	/* reaped address space, or past a file's end */
#define VM_FAULT_FALLBACK 0x8	/* no huge page: fault 4 KiB instead */

/**
 * pte_offset_map_lock_nosplit() - the PTE mapping @addr, with the lock of
 * its page table (its PTL) taken: Linux's pte_offset_map_lock(), which
 * finds no PTE table under a huge PMD.  (The model's mm/ also has a
 * variant that splits the PMD; a driver never wants it.)  Creates no
 * table and never sleeps.
 * @mm: the address space; the caller holds its mmap_lock, which keeps the
 *	page tables from being freed.
 * @addr: the address (below TASK_SIZE).
 * @ptlp: set to the lock taken, for pte_unmap_unlock().
 * Return: the entry, locked; NULL (nothing locked) when no PTE table
 * covers @addr or a huge PMD maps it.
 */
pte_t *pte_offset_map_lock_nosplit(struct mm_struct *mm, unsigned long addr,
				   spinlock_t **ptlp);

/**
 * pte_unmap_unlock() - release what pte_offset_map_lock_nosplit() took.
 * @pte: the entry it returned.
 * @ptl: the lock it set.
 */
static inline void pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	(void)pte;
	spin_unlock(ptl);
}

/**
 * pte_entry_pfn() - the frame a leaf page-table entry stands for: a
 * present (or PROT_NONE) PTE's, or a device-private or device-exclusive
 * entry's, for a driver comparing its own entries with the CPU's.
 * @pte: the entry (follow_pte()).
 * @pfn: set to the frame.
 * @write: set to whether the entry grants write access.
 * Return: true, or false (nothing set) for none, swap and migration
 * entries.
 */
bool pte_entry_pfn(pte_t pte, unsigned long *pfn, bool *write);

/**
 * alloc_page() - a free frame of @host, with one reference: device memory
 * migrating back to system memory needs one (put_page() frees it).  May
 * reclaim, which calls every notifier: call it holding no page-table,
 * rmap or driver lock a notifier callback takes.
 * @host: the host.
 * Return: the page, or NULL when the host is out of frames.
 */
struct page *alloc_page(struct host *host);

/**
 * copy_highpage() - @dst gets @src's contents (bytes, or the tag in tag
 * mode).
 * @dst: the frame written.
 * @src: the frame read.
 */
void copy_highpage(struct page *dst, struct page *src);

/**
 * clear_highpage() - zero @page's contents (bytes, or the tag in tag
 * mode).
 * @page: the frame.
 */
void clear_highpage(struct page *page);

/**
 * page_expected_refs() - the references @page holds for the primary MMU:
 * one per PTE mapping it, plus the page cache's (a shared-memory page) and
 * the swap cache's.  A frame nobody else holds has page_ref_count() equal
 * to this; a secondary MMU that keeps no reference (uses notifiers, not
 * pins) checks that it leaked none.
 * @page: a frame in use.
 * Return: the count.
 */
int page_expected_refs(const struct page *page);

#endif /* MMULAB_MM_H */
