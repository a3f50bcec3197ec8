// SPDX-License-Identifier: MIT
/*
 * The host's physical memory: frame metadata, the free list, and frame
 * contents (4 KiB of bytes in data mode, one 64-bit tag in tag mode).
 */
#include <mmulab/huge_mm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "swap.h"

_Static_assert(sizeof(struct page) <= 64, "struct page must fit 64 bytes");
_Static_assert(NR_PAGEFLAGS <= PAGE_HOST_SHIFT, "page flags overlap the host");

struct host *host_table[MAX_HOSTS];
DEFINE_MUTEX(host_table_lock);

/*
 * The free list is a stack of frame numbers linked through lru_next and
 * guarded by free_lock.  It is the only host-wide lock an allocation takes.
 */

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	[PGALLOC] = "pgalloc",
	[PGFREE] = "pgfree",
	[PGFAULT] = "pgfault",
	[PGREUSE] = "pgreuse",
	[COW_FAULT] = "cow_fault",
	[ZERO_PAGE_MAP] = "zero_page_map",
	[GUP_PAGES] = "gup_pages",
	[PIN_PAGES] = "pin_pages",
	[TLB_FLUSH] = "tlb_flush",
	[MMU_NOTIFY_START] = "mmu_notify_start",
	[MMU_NOTIFY_END] = "mmu_notify_end",
	[MMU_NOTIFY_AGE] = "mmu_notify_age",
	[MMU_NOTIFY_CHANGE_PTE] = "mmu_notify_change_pte",
	[PGMIGRATE_SUCCESS] = "pgmigrate_success",
	[PGMIGRATE_FAIL] = "pgmigrate_fail",
	[COMPACTMIGRATE_SCANNED] = "compact_migrate_scanned",
	[COMPACTFREE_SCANNED] = "compact_free_scanned",
	[COMPACTISOLATED] = "compact_isolated",
	[COW_KSM] = "cow_ksm",
	[PGALLOC_FAIL] = "pgalloc_fail",
	[ALLOCSTALL] = "allocstall",
	[PAGEOUTRUN] = "pageoutrun",
	[PGSCAN_KSWAPD] = "pgscan_kswapd",
	[PGSCAN_DIRECT] = "pgscan_direct",
	[PGSTEAL_KSWAPD] = "pgsteal_kswapd",
	[PGSTEAL_DIRECT] = "pgsteal_direct",
	[PGSCAN_ANON] = "pgscan_anon",
	[PGSCAN_FILE] = "pgscan_file",
	[PGSTEAL_ANON] = "pgsteal_anon",
	[PGSTEAL_FILE] = "pgsteal_file",
	[PGREFILL] = "pgrefill",
	[PGACTIVATE] = "pgactivate",
	[PGDEACTIVATE] = "pgdeactivate",
	[PGLAZYFREED] = "pglazyfreed",
	[PGMAJFAULT] = "pgmajfault",
	[PSWPIN] = "pswpin",
	[PSWPOUT] = "pswpout",
	[WORKINGSET_REFAULT_ANON] = "workingset_refault_anon",
	[WORKINGSET_ACTIVATE_ANON] = "workingset_activate_anon",
	[RECLAIM_PINNED] = "reclaim_pinned",
	[RECLAIM_SWAP_FULL] = "reclaim_swap_full",
	[OOM_KILL] = "oom_kill",
	[OOM_REAP_SKIPPED] = "oom_reap_skipped",
	[OOM_REAP_FAILED] = "oom_reap_failed",
	[THP_FAULT_ALLOC] = "thp_fault_alloc",
	[THP_FAULT_FALLBACK] = "thp_fault_fallback",
	[THP_SPLIT_PMD] = "thp_split_pmd",
	[THP_COLLAPSE_ALLOC] = "thp_collapse_alloc",
};

const char *vm_event_name(enum vm_event_item item)
{
	if ((unsigned int)item >= NR_VM_EVENT_ITEMS)
		return NULL;
	return vm_event_names[item];
}

static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Frame contents another OS process can map: a memfd of the whole memory,
 * mapped shared here (an XPMEM importer process maps the same file).
 */
static void *map_shared_frames(struct host *host, size_t bytes)
{
	void *p;
	int fd = memfd_create("mmulab-frames", MFD_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)bytes)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	host->mem_fd = fd;
	return p;
}

static int host_table_add(struct host *host)
{
	int ret = -ENOSPC;

	mutex_lock(&host_table_lock);
	for (unsigned int i = 0; i < MAX_HOSTS; i++) {
		if (!host_table[i]) {
			host_table[i] = host;
			host->index = i;
			ret = 0;
			break;
		}
	}
	mutex_unlock(&host_table_lock);
	return ret;
}

static void host_unlist(struct host *host)
{
	mutex_lock(&host_table_lock);
	host_table[host->index] = NULL;
	mutex_unlock(&host_table_lock);
}

static void host_free_memory(struct host *host)
{
	if (host->pages)
		munmap(host->pages, host->cfg.nr_frames * sizeof(struct page));
	if (host->hist)
		munmap(host->hist,
		       host->cfg.nr_frames * sizeof(struct page_hist));
	if (host->mem)
		munmap(host->mem, host->cfg.nr_frames * PAGE_SIZE);
	if (host->mem_fd >= 0)
		close(host->mem_fd);
	__atomic_store_n(&host->magic, OBJ_POISON, __ATOMIC_RELAXED);
	api_free(host);
}

/*
 * The free list is doubly linked through lru_next/lru_prev, so compaction
 * can take a given free frame off it (isolate_free_page()).  Both links and
 * PG_buddy change only under free_lock: a frame is on the list exactly
 * when PG_buddy is set.
 */
static void free_list_add(struct host *host, struct page *page)
{
	u32 pfn = (u32)(page - host->pages);

	page->lru_prev = PFN_NONE;
	page->lru_next = host->free_head;
	if (host->free_head != PFN_NONE)
		host->pages[host->free_head].lru_prev = pfn;
	else
		host->free_tail = pfn;
	host->free_head = pfn;
	SetPageFlag(page, PG_buddy);
}

static void free_list_del(struct host *host, struct page *page)
{
	if (page->lru_prev != PFN_NONE)
		host->pages[page->lru_prev].lru_next = page->lru_next;
	else
		host->free_head = page->lru_next;
	if (page->lru_next != PFN_NONE)
		host->pages[page->lru_next].lru_prev = page->lru_prev;
	else
		host->free_tail = page->lru_prev;
	ClearPageFlag(page, PG_buddy);
}

/*
 * Frames are initialised lazily, on first use: a never-used frame gets
 * its host bits here.  The compaction scanners may read its flags at the
 * same time (they find it free and move on): a relaxed store, no
 * scheduling point, as the eager initialisation was.
 */
static struct page *frame_first_use(struct host *host, u32 pfn)
{
	struct page *page = &host->pages[pfn];

	__atomic_store_n(&page->flags.counter,
			 (unsigned long)host->index << PAGE_HOST_SHIFT,
			 __ATOMIC_RELAXED);
	return page;
}

/*
 * Put the never-used frames below @pfn on the free list, at its tail in
 * ascending order, where they stood in the allocation order all along,
 * so that the frame @pfn (a compaction target) can be taken.  Under
 * free_lock.
 */
static void free_list_append(struct host *host, u32 f)
{
	struct page *page = frame_first_use(host, f);

	page->lru_next = PFN_NONE;
	page->lru_prev = host->free_tail;
	if (host->free_tail != PFN_NONE)
		host->pages[host->free_tail].lru_next = f;
	else
		host->free_head = f;
	host->free_tail = f;
	SetPageFlag(page, PG_buddy);
}

static void free_list_grow(struct host *host, unsigned long pfn)
{
	while (host->free_uninit < pfn) {
		u32 f = host->free_uninit;

		__atomic_store_n(&host->free_uninit, f + 1, __ATOMIC_RELAXED);
		free_list_append(host, f);
	}
}

/* Is @pfn never used yet?  Under free_lock, or a hint without it. */
static bool frame_uninit(struct host *host, unsigned long pfn)
{
	return pfn >= __atomic_load_n(&host->free_uninit, __ATOMIC_RELAXED) &&
	       pfn < __atomic_load_n(&host->free_uninit_end, __ATOMIC_RELAXED);
}

static void host_init_frames(struct host *host)
{
	unsigned long flags0 = (unsigned long)host->index << PAGE_HOST_SHIFT;

	spin_lock_init(&host->free_lock);
	spin_lock_init(&host->lru_lock);
	for (int i = 0; i < NR_LRU_LISTS; i++)
		host->lru[i].head = host->lru[i].tail = PFN_NONE;
	spin_lock_init(&host->mmlist_lock);
	INIT_LIST_HEAD(&host->mmlist);
	init_waitqueue_head(&host->kswapd_wait);
	host->free_head = host->free_tail = PFN_NONE;
	/* Every frame but 0 is free; each is set up at its first use. */
	host->free_uninit = ZERO_PFN + 1;
	host->free_uninit_end = host->cfg.nr_frames;
	atomic_long_set(&host->nr_free, host->cfg.nr_frames - 1);
	/* Frame 0: the shared zero page, never freed, always zero. */
	host->pages[ZERO_PFN].flags.counter = flags0 | (1UL << PG_reserved);
	atomic_set(&host->pages[ZERO_PFN]._refcount, 1);
	for (int i = 0; i < 1 << PAGE_WAIT_TABLE_BITS; i++)
		init_waitqueue_head(&host->page_wait_table[i]);
}

/*
 * Watermarks: kswapd wakes below the low one and works up to the high
 * one.  The defaults leave room for a batch of reclaim to land before the
 * free list runs dry.
 */
static int watermarks_of(const struct host_config *cfg, unsigned long *lowp,
			 unsigned long *highp)
{
	unsigned long low = cfg->wmark_low, high = cfg->wmark_high;

	if (!low) {
		low = cfg->nr_frames / 64;
		if (low < 4)
			low = 4;
		if (high && low >= high)
			low = high - 1;
	}
	if (!high)
		high = 2 * low;
	if (!low || low >= high || high >= cfg->nr_frames)
		return -EINVAL;
	*lowp = low;
	*highp = high;
	return 0;
}

int host_config_check(const struct host_config *cfg, const char **why)
{
	unsigned long low, high;
	const char *bad = NULL;

	if (!cfg)
		bad = "no configuration";
	else if (cfg->nr_frames < 16 || cfg->nr_frames >= PFN_NONE)
		bad = "nr_frames must be at least 16";
	else if ((unsigned int)cfg->content > HOST_CONTENT_TAG)
		bad = "unknown content";
	else if ((unsigned int)cfg->change_pte > CHANGE_PTE_DIRECT)
		bad = "unknown change_pte mode";
	else if ((unsigned int)cfg->ksm_run > KSM_RUN_MERGE)
		bad = "ksm_run must be KSM_RUN_STOP or KSM_RUN_MERGE";
	else if ((unsigned int)cfg->thp > THP_ALWAYS)
		bad = "unknown thp mode";
	else if (cfg->shared_frames && cfg->content != HOST_CONTENT_DATA)
		bad = "shared_frames needs content data";
	else if (cfg->ksm_max_page_sharing == 1)
		bad = "ksm_max_page_sharing must be 0 (256) or at least 2";
	else if (cfg->swap_slots >= MAX_SWAP_SLOTS)
		bad = "swap_slots must be below 1 << 28";
	else if (watermarks_of(cfg, &low, &high))
		bad = "watermarks must satisfy 0 < wmark_low < wmark_high < "
		      "nr_frames";
	if (why)
		*why = bad;
	return bad ? -EINVAL : 0;
}

struct host *host_create(const struct host_config *cfg)
{
	struct host *host;
	int err;

	if (host_config_check(cfg, NULL))
		return ERR_PTR(-EINVAL);
	host = calloc(1, sizeof(*host));
	if (!host)
		return ERR_PTR(-ENOMEM);
	host->magic = HOST_MAGIC;
	host->cfg = *cfg;
	host->mem_fd = -1;
	watermarks_of(cfg, &host->wmark_low, &host->wmark_high);
	host->pages = map_zeroed(cfg->nr_frames * sizeof(struct page));
	host->hist = map_zeroed(cfg->nr_frames * sizeof(struct page_hist));
	if (cfg->shared_frames)
		host->mem = map_shared_frames(host, cfg->nr_frames * PAGE_SIZE);
	else if (cfg->content == HOST_CONTENT_DATA)
		host->mem = map_zeroed(cfg->nr_frames * PAGE_SIZE);
	if (!host->pages || !host->hist ||
	    (cfg->content == HOST_CONTENT_DATA && !host->mem) ||
	    host_table_add(host)) {
		host_free_memory(host);
		return ERR_PTR(-ENOMEM);
	}
	host_init_frames(host);
	err = swap_init(host);
	if (!err)
		err = ksm_init_host(host);
	if (!err && cfg->kswapd)
		err = kswapd_start(host);
	if (err) {
		host_destroy(host);
		return ERR_PTR(err);
	}
	return host;
}

int host_destroy(struct host *host)
{
	if (!host_api_ok(host))
		return -EINVAL;
	if (atomic_read(&host->nr_mms) &&
	    host_teardown_audit(host, __builtin_return_address(0)))
		return -EBUSY;
	kswapd_stop(host);
	pt_free_barrier(); /* the page tables whose free was deferred */
	checker_free_retired(host);
	ksm_destroy_host(host);
	/* Every frame but the zero page must be back on the free list. */
	WARN_ON(atomic_long_read(&host->nr_free) !=
		(long)host->cfg.nr_frames - 1);
	swap_exit(host);
	host_unlist(host);
	host_free_memory(host);
	return 0;
}

const struct host_config *host_config_of(const struct host *host)
{
	return &host->cfg;
}

int host_frames_fd(struct host *host)
{
	if (!host_api_ok(host))
		return -EINVAL;
	return host->mem_fd >= 0 ? host->mem_fd : -ENOENT;
}

unsigned long host_nr_free_frames(struct host *host)
{
	if (!host_api_ok(host))
		return 0;
	return atomic_long_read(&host->nr_free);
}

unsigned long host_vm_event(struct host *host, enum vm_event_item item)
{
	long sum = 0;

	if (!host_api_ok(host) || (unsigned int)item >= NR_VM_EVENT_ITEMS)
		return 0;
	for (unsigned int c = 0; c < STAT_NR_CPUS; c++)
		sum += atomic_long_observe(&host->vm_events[c][item]);
	return sum;
}

void host_meminfo(struct host *host, struct host_meminfo *info)
{
	struct swap_info_struct *si;

	if (!host_api_ok(host) || WARN_ON_ONCE(!info))
		return;
	si = host->swap;
	info->total = host->cfg.nr_frames;
	info->free = atomic_long_read(&host->nr_free);
	info->active_anon = lru_size(host, LRU_ACTIVE_ANON);
	info->inactive_anon = lru_size(host, LRU_INACTIVE_ANON);
	info->active_file = lru_size(host, LRU_ACTIVE_FILE);
	info->inactive_file = lru_size(host, LRU_INACTIVE_FILE);
	info->swap_total = si ? si->max - 1 : 0;
	info->swap_free = nr_free_swap_slots(host);
	info->swap_cache = si ? atomic_long_read(&si->nr_cache) : 0;
	info->wmark_low = host->wmark_low;
	info->wmark_high = host->wmark_high;
}

/* Every field is an atomic counter: observed, never a scheduling point. */
void host_observe_meminfo(struct host *host, struct host_meminfo *info)
{
	struct swap_info_struct *si = host->swap;

	info->total = host->cfg.nr_frames;
	info->free = atomic_long_observe(&host->nr_free);
	info->active_anon = atomic_long_observe(&host->lru[LRU_ACTIVE_ANON].nr);
	info->inactive_anon =
		atomic_long_observe(&host->lru[LRU_INACTIVE_ANON].nr);
	info->active_file = atomic_long_observe(&host->lru[LRU_ACTIVE_FILE].nr);
	info->inactive_file =
		atomic_long_observe(&host->lru[LRU_INACTIVE_FILE].nr);
	info->swap_total = si ? si->max - 1 : 0;
	info->swap_free = si ? si->max - 1 - atomic_long_observe(&si->inuse) : 0;
	info->swap_cache = si ? atomic_long_observe(&si->nr_cache) : 0;
	info->wmark_low = host->wmark_low;
	info->wmark_high = host->wmark_high;
}

void host_notify_events(struct host *host, unsigned long *out, unsigned int n)
{
	if (!host_api_ok(host))
		return;
	for (unsigned int i = 0; i < n && i < MMU_NOTIFY_NR_EVENTS; i++)
		out[i] = atomic_long_observe(&host->notify_events[i]);
}

/* ---------------------------------------------------------------------
 * Frames
 */

struct page *pfn_to_page(struct host *host, unsigned long pfn)
{
	if (!host || pfn >= host->cfg.nr_frames)
		return NULL;
	return &host->pages[pfn];
}

unsigned long page_to_pfn(const struct page *page)
{
	return page - __page_host(page)->pages;
}

struct host *page_host(const struct page *page)
{
	return __page_host(page);
}

bool is_zero_pfn(unsigned long pfn)
{
	return pfn == ZERO_PFN;
}

/*
 * A frame just taken off the free list: reset what its previous owner
 * left, then publish the first reference with a release store.  Whoever
 * takes a reference by frame number (get_page_unless_zero(), an acquire)
 * therefore sees the reset metadata and @init_flags, never stale ones.
 */
static void prep_new_page(struct host *host, struct page *page,
			  unsigned long init_flags)
{
	unsigned long keep = atomic_long_read(&page->flags) &
			     ~((1UL << PAGE_HOST_SHIFT) - 1);

	atomic_long_set(&page->flags, keep | init_flags);
	page->mapping = NULL;
	page->index = 0;
	page->private = 0;
	page->lru_next = page->lru_prev = PFN_NONE;
	page->tag = 0;
	page_hist_alloc(page);
	atomic_set(&page->_mapcount, 0);
	smp_store_release(&page->_refcount.counter, 1);
	atomic_long_dec(&host->nr_free);
	count_vm_event(host, PGALLOC);
}

static struct page *__alloc_page(struct host *host, unsigned long init_flags)
{
	struct page *page;
	u32 pfn;

	spin_lock(&host->free_lock);
	pfn = host->free_head;
	if (pfn != PFN_NONE) {
		page = &host->pages[pfn];
		free_list_del(host, page);
	} else if (host->free_uninit < host->free_uninit_end) {
		page = frame_first_use(host, host->free_uninit);
		/* Read unlocked by isolate_free_page()'s quick check. */
		__atomic_store_n(&host->free_uninit, host->free_uninit + 1,
				 __ATOMIC_RELAXED);
	} else {
		spin_unlock(&host->free_lock);
		return NULL;
	}
	spin_unlock(&host->free_lock);
	prep_new_page(host, page, init_flags);
	return page;
}


/**
 * isolate_free_page() - take the free frame @pfn off the free list, as
 * alloc_page() would hand it out (compaction's migration target).
 * Return: the page, or NULL if @pfn is not free.
 */
struct page *isolate_free_page(struct host *host, unsigned long pfn)
{
	struct page *page = pfn_to_page(host, pfn);

	if (!page || (!PageFlag(page, PG_buddy) && !frame_uninit(host, pfn)))
		return NULL;
	spin_lock(&host->free_lock);
	if (frame_uninit(host, pfn)) {
		free_list_grow(host, pfn + 1);
	} else if (!PageFlag(page, PG_buddy)) {
		spin_unlock(&host->free_lock);
		return NULL;
	}
	free_list_del(host, page);
	spin_unlock(&host->free_lock);
	prep_new_page(host, page, 0);
	return page;
}

/* Is the aligned run of HPAGE_PMD_NR frames at @base all free?  free_lock
 * held: PG_buddy changes only under it, so the reads need no ordering. */
static bool huge_run_free(struct host *host, unsigned long base)
{
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		if (!frame_uninit(host, base + i) &&
		    !(atomic_long_observe(&host->pages[base + i].flags) &
		      (1UL << PG_buddy)))
			return false;
	return true;
}

/*
 * Take the free run at @base: its frames on the free list off it, its
 * never-used frames out of the never-used range [free_uninit,
 * free_uninit_end).  A run at the bottom of that range moves its start
 * (the frames below the run's end join the list, as compaction's would);
 * any other moves its end down to the run, the never-used frames above
 * the run (fewer than a run, since runs are taken from the top) joining
 * the list.  free_lock held.
 */
static void huge_run_take(struct host *host, unsigned long base)
{
	unsigned long end = base + HPAGE_PMD_NR;

	if (base <= host->free_uninit && end > host->free_uninit) {
		free_list_grow(host, end < host->free_uninit_end
					     ? end
					     : host->free_uninit_end);
	} else if (frame_uninit(host, base)) {
		for (unsigned long f = end; f < host->free_uninit_end; f++)
			free_list_append(host, f);
		__atomic_store_n(&host->free_uninit_end, base,
				 __ATOMIC_RELAXED);
	}
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *page = &host->pages[base + i];

		if (PageFlag(page, PG_buddy))
			free_list_del(host, page);
		else
			frame_first_use(host, base + i);
	}
}

/**
 * alloc_huge_page() - an order-9 compound page: 512 free frames aligned
 * to 2 MiB, the first PG_head, the others PG_tail, each with one
 * reference (see <mmulab/huge_mm.h> for why each keeps its own).  The
 * model's free list is not a buddy allocator: the runs are searched from
 * the top of memory, where order-0 allocations come last, and no reclaim
 * or compaction is tried for them (a THP fault falls back to 4 KiB, as
 * Linux's defrag=madvise does for a VMA without MADV_HUGEPAGE).
 * Return: the head page, or NULL.
 */
struct page *alloc_huge_page(struct host *host)
{
	unsigned long nr = host->cfg.nr_frames & ~(HPAGE_PMD_NR - 1);
	unsigned long base = 0;

	spin_lock(&host->free_lock);
	/* Frame 0 is the zero page: run 0 is never free. */
	for (unsigned long b = nr; b >= 2 * HPAGE_PMD_NR; b -= HPAGE_PMD_NR) {
		if (huge_run_free(host, b - HPAGE_PMD_NR)) {
			base = b - HPAGE_PMD_NR;
			break;
		}
	}
	if (base)
		huge_run_take(host, base);
	spin_unlock(&host->free_lock);
	if (!base)
		return NULL;
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i++)
		prep_new_page(host, &host->pages[base + i],
			      1UL << (i ? PG_tail : PG_head));
	return &host->pages[base];
}

/*
 * The free list is empty: reclaim directly and retry.  Other tasks may
 * take the frames reclaim freed, and a round may free nothing while every
 * page it met was in use (an unmap in progress holds its pages in an
 * mmu_gather; a GUP reference is in flight), so a round without progress
 * waits a little for those to finish, and only MAX_RECLAIM_RETRIES such
 * rounds in a row end the attempt.  Then, if the host has one, the OOM
 * killer reaps an address space and the attempt starts over, for as long
 * as it finds victims.  A task that is itself reclaiming gets no second
 * round of reclaim: it fails at once.
 */
static struct page *alloc_page_slowpath(struct host *host)
{
	int no_progress_loops = 0;
	struct page *page;

	if (page_alloc_in_reclaim())
		goto fail;
	wakeup_kswapd(host);
	for (;;) {
		count_vm_event(host, ALLOCSTALL);
		if (try_to_free_pages(host, SWAP_CLUSTER_MAX))
			no_progress_loops = 0;
		else
			no_progress_loops++;
		page = __alloc_page(host, 0);
		if (page)
			return page;
		if (no_progress_loops < MAX_RECLAIM_RETRIES) {
			if (no_progress_loops)
				reclaim_throttle(host);
			continue;
		}
		if (!host->cfg.oom_kill || !out_of_memory(host))
			break;
		no_progress_loops = 0;
		page = __alloc_page(host, 0);
		if (page)
			return page;
	}
fail:
	count_vm_event(host, PGALLOC_FAIL);
	return NULL;
}

/**
 * alloc_page() - take a free frame, with one reference and no mapping.
 *
 * When the free list runs low kswapd is woken; when it is empty the
 * caller reclaims directly.  Direct reclaim walks the rmap (taking
 * i_mmap_rwsem and anon_vma locks), takes PTLs, the page lock (tried
 * only) and the swap and LRU locks, and calls every notifier subscriber's
 * invalidate_range_start/end and clear_flush_young: so a caller must hold
 * none of those locks, nor any lock a notifier callback takes.  Every
 * caller in mm/ allocates first and takes its PTL or rmap lock after
 * (faults, COW, fork's copy, page tables, shared memory, swap-in), and
 * re-checks what it saw before.  Holding the mmap_lock, even for
 * writing, or being inside an invalidate_range_start/end window is fine:
 * reclaim takes neither, and windows may nest.
 *
 * Return: the page, or NULL when the host is out of frames.
 */
struct page *alloc_page(struct host *host)
{
	struct page *page = __alloc_page(host, 0);

	if (!page)
		return alloc_page_slowpath(host);
	if ((unsigned long)atomic_long_read(&host->nr_free) < host->wmark_low)
		wakeup_kswapd(host);
	return page;
}

/*
 * As 6.12's free_page_is_bad(): a frame going back must be mapped by no
 * PTE, neither free nor reserved already, out of the swap cache, unlocked,
 * and no longer in a file's page cache (an anonymous page's mapping is
 * its anon_vma, which the free forgets, as Linux clears it).
 */
static void free_page_check(struct page *page)
{
	WARN_ON_ONCE(atomic_read(&page->_mapcount) != 0);
	WARN_ON_ONCE(PageFlag(page, PG_buddy) || PageFlag(page, PG_reserved));
	WARN_ON_ONCE(PageSwapCache(page) || PageLocked(page));
	WARN_ON_ONCE(PageShmem(page));
}

/**
 * free_page_frame() - return a frame whose last reference is gone,
 * taking it off its LRU list first.
 */
void free_page_frame(struct page *page)
{
	struct host *host = __page_host(page);

	free_page_check(page);
	if (PageFlag(page, PG_lru))
		lru_del_page(page);
	if (unlikely(READ_ONCE(host->checker)))
		checker_page_free(host, page - host->pages);
	spin_lock(&host->free_lock);
	free_list_add(host, page);
	spin_unlock(&host->free_lock);
	atomic_long_inc(&host->nr_free);
	count_vm_event(host, PGFREE);
}

/*
 * Return @n frames of @host whose last references are gone, as
 * free_page_frame() does each, but with one hold of the LRU lock and of
 * the free lock, and one update of the counters, for the whole batch.
 */
static void free_page_frames(struct host *host, struct page **pages,
			     unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free_page_check(pages[i]);
	lru_del_pages(pages, n);
	if (unlikely(READ_ONCE(host->checker)))
		for (unsigned int i = 0; i < n; i++)
			checker_page_free(host, pages[i] - host->pages);
	spin_lock(&host->free_lock);
	for (unsigned int i = 0; i < n; i++)
		free_list_add(host, pages[i]);
	spin_unlock(&host->free_lock);
	atomic_long_add(n, &host->nr_free);
	count_vm_events(host, PGFREE, n);
}

/**
 * release_pages() - put_page() on each of @nr pages (Linux's
 * release_pages(), which mmu_gather frees its batch with): the frames
 * whose last reference this was are freed together, per host, after the
 * whole batch was dropped.
 */
void release_pages(struct page **pages, unsigned int nr)
{
	struct page *dead[MMU_GATHER_BATCH];
	struct host *host = NULL;
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr; i++) {
		struct page *page = pages[i];
		int ref;

		if (PageFlag(page, PG_reserved))
			continue;
		ref = atomic_dec_return(&page->_refcount);
		if (ref) {
			WARN_ON_ONCE(ref < 0);
			continue;
		}
		if (n && (n == MMU_GATHER_BATCH || __page_host(page) != host)) {
			free_page_frames(host, dead, n);
			n = 0;
		}
		host = __page_host(page);
		dead[n++] = page;
	}
	if (n)
		free_page_frames(host, dead, n);
}

void get_page(struct page *page)
{
	if (PageFlag(page, PG_reserved))
		return;
	WARN_ON_ONCE(atomic_inc_return(&page->_refcount) <= 1);
}

void put_page(struct page *page)
{
	int ref;

	if (PageFlag(page, PG_reserved))
		return;
	ref = atomic_dec_return(&page->_refcount);
	if (ref == 0 && PageFlag(page, PG_device))
		free_zone_device_page(page); /* back to its driver */
	else if (ref == 0)
		free_page_frame(page);
	else
		WARN_ON_ONCE(ref < 0);
}

void set_page_dirty(struct page *page)
{
	if (!PageFlag(page, PG_reserved))
		SetPageFlag(page, PG_dirty);
}

void mark_page_accessed(struct page *page)
{
	if (!PageFlag(page, PG_reserved))
		SetPageFlag(page, PG_referenced);
}

int page_ref_count(const struct page *page)
{
	return atomic_read(&page->_refcount);
}

int page_mapcount(const struct page *page)
{
	return atomic_read(&page->_mapcount);
}

int page_expected_refs(const struct page *page)
{
	return page_mapcount(page) + (PageAnon(page) ? 0 : 1) +
	       (PageFlag(page, PG_swapcache) ? 1 : 0);
}

bool page_maybe_dma_pinned(const struct page *page)
{
	return !PageFlag(page, PG_reserved) &&
	       atomic_read(&page->_refcount) >= GUP_PIN_BIAS;
}

/* ---------------------------------------------------------------------
 * Contents.  Accesses are 64-bit relaxed atomics: two CPUs of the model
 * (a vCPU and a host thread, say) may legitimately race on guest memory,
 * and that must not be a data race of the model itself.
 */

void *page_address(struct page *page)
{
	struct host *host = __page_host(page);

	if (!host->mem)
		return NULL;
	return host->mem + (page - host->pages) * PAGE_SIZE;
}

u64 *page_word_address(struct page *page, unsigned long offset)
{
	u64 *p;

	if (!page || offset >= PAGE_SIZE || (offset & 7))
		return NULL;
	p = page_address(page);
	return p ? &p[offset / 8] : &page->tag;
}

u64 page_read_u64(struct page *page, unsigned long offset)
{
	u64 *p = page_address(page);

	if (!p)
		return __READ_ONCE(page->tag);
	if (WARN_ON_ONCE(offset >= PAGE_SIZE || (offset & 7)))
		return 0;
	return __READ_ONCE(p[offset / 8]);
}

void page_write_u64(struct page *page, unsigned long offset, u64 val)
{
	u64 *p = page_address(page);

	if (WARN_ON_ONCE(PageFlag(page, PG_reserved)))
		return;
	if (!p) {
		__WRITE_ONCE(page->tag, val);
		return;
	}
	if (WARN_ON_ONCE(offset >= PAGE_SIZE || (offset & 7)))
		return;
	__WRITE_ONCE(p[offset / 8], val);
}

int page_copy_to(struct page *page, unsigned long offset, void *buf,
		 size_t len)
{
	u8 *p = page_address(page);

	if (!p || offset > PAGE_SIZE || len > PAGE_SIZE - offset)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		((u8 *)buf)[i] = __READ_ONCE(p[offset + i]);
	return 0;
}

int page_copy_from(struct page *page, unsigned long offset, const void *buf,
		   size_t len)
{
	u8 *p = page_address(page);

	if (!p || offset > PAGE_SIZE || len > PAGE_SIZE - offset ||
	    PageFlag(page, PG_reserved))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		__WRITE_ONCE(p[offset + i], ((const u8 *)buf)[i]);
	return 0;
}

void page_access_bytes(struct page *page, unsigned long offset, void *buf,
		       size_t len, bool write)
{
	if (write)
		page_copy_from(page, offset, buf, len);
	else
		page_copy_to(page, offset, buf, len);
}

void page_access_u64(struct page *page, unsigned long offset, void *buf,
		     size_t len, bool write)
{
	(void)len;
	if (write)
		page_write_u64(page, offset, *(u64 *)buf);
	else
		*(u64 *)buf = page_read_u64(page, offset);
}

/** copy_highpage() - @dst gets @src's bytes (or tag). */
void copy_highpage(struct page *dst, struct page *src)
{
	u64 *d = page_address(dst), *s = page_address(src);

	page_hist_fill(dst, PAGE_HIST_COPY, src);
	if (!d) {
		__WRITE_ONCE(dst->tag, __READ_ONCE(src->tag));
		return;
	}
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		__WRITE_ONCE(d[i], __READ_ONCE(s[i]));
}

/** clear_highpage() - zero @page (data) or its tag. */
void clear_highpage(struct page *page)
{
	u64 *d = page_address(page);

	page_hist_fill(page, PAGE_HIST_ZERO, NULL);
	if (!d) {
		__WRITE_ONCE(page->tag, 0);
		return;
	}
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		__WRITE_ONCE(d[i], 0);
}

/* ---------------------------------------------------------------------
 * Page-table pages are frames too (they count against host memory); their
 * entries live in the frame in data mode and in a side allocation in tag
 * mode.  The split page-table lock lives in the struct page, as in Linux.
 */

/*
 * PG_pgtable is set before the first reference is published, so a
 * frame-number scanner that got a reference knows the page-table page
 * for what it is before it looks at the fields pt_table aliases.
 */
struct page *alloc_pt_page(struct host *host)
{
	struct page *page = __alloc_page(host, 1UL << PG_pgtable);
	pte_t *table;

	if (!page)
		return NULL;
	table = page_address(page);
	if (!table) {
		table = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
		if (!table) {
			ClearPageFlag(page, PG_pgtable);
			put_page(page);
			return NULL;
		}
	}
	memset(table, 0, PAGE_SIZE);
	page->pt_table = table;
	spin_lock_init(&page->ptl);
	page->pt_level = 0;
	return page;
}

void free_pt_page(struct page *page)
{
	if (!page_address(page))
		free(page->pt_table);
	page->pt_table = NULL;
	page->index = 0;
	/* After the aliased fields are reset: see alloc_pt_page(). */
	ClearPageFlag(page, PG_pgtable);
	put_page(page);
}
