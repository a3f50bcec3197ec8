/* SPDX-License-Identifier: MIT */
/*
 * The swap device and the swap cache.
 *
 * A host has at most one swap device: an array of 4 KiB slots (a 64-bit
 * tag each in tag mode).  Slot 0 is never handed out, so no swap entry is
 * zero.  Each slot carries, under swap_info->lock:
 *
 *   count   the swap entries that name it: one per PTE holding the entry
 *           (fork duplicates them) and one for a shared-memory object's
 *           page cache that holds it in place of a page;
 *   cache   the page that holds its contents in memory, if any: the swap
 *           cache.  The cache holds a reference on that page.
 *
 * A slot is in use while count > 0 or cache != NULL, and free otherwise.
 *
 * Anonymous pages reach swap through the swap cache, as in Linux:
 * reclaim gives the page a slot and puts it in the cache, try_to_unmap()
 * turns every PTE into the slot's swap entry, the page is written out
 * and then leaves the cache and is freed.  A fault on a swap entry looks
 * in the cache first, so every PTE that held the entry maps the same
 * page again.  A swapped-in page stays in the cache (its slot still holds
 * a valid copy) until it is written to, so reclaiming it again while it
 * is clean costs no write.
 *
 * Shared-memory pages skip the cache: the object's page cache holds the
 * swap entry itself while the page is out (mm/shmem.c).
 */
#ifndef MMULAB_MM_SWAP_H
#define MMULAB_MM_SWAP_H

#include "swapops.h"

/* Slots a swap device may have (struct host_config, swap_slots). */
#define MAX_SWAP_SLOTS (1UL << 28)

/**
 * struct swap_slot - one slot of the swap device.
 * @cache: the swap-cache page of the slot, or NULL.
 * @tag: contents in tag mode.
 * @count: swap entries naming the slot.
 * @workingset: the page last written here was in the working set.
 * @hist_writes: writes to the slot so far (mm/page_history.c).
 * @hist_writer: the last writer, frame << 32 | its generation.  Both are
 *	relaxed atomics, kept when the slot is freed.
 */
struct swap_slot {
	struct page *cache;
	u64 tag;
	u32 count;
	bool workingset;
	u64 hist_writes;
	u64 hist_writer;
};

/**
 * struct swap_info_struct - the swap device of a host.
 * @lock: guards @slots' counts and cache pointers, and @cluster_next.
 * @max: slots, including the reserved slot 0.
 * @cluster_next: where the next free-slot search starts.
 * @inuse: slots in use.
 * @nr_cache: pages in the swap cache.
 * @slots: per-slot state.
 * @data: slot contents in data mode (@max * PAGE_SIZE bytes).
 */
struct swap_info_struct {
	spinlock_t lock;
	unsigned long max;
	unsigned long cluster_next;
	atomic_long_t inuse;
	atomic_long_t nr_cache;
	struct swap_slot *slots;
	u8 *data;
};

/*
 * page->private of a swap-cache page is its entry.  It changes only under
 * the page lock, but a few paths peek at it without, so it is accessed
 * untorn.
 */
static inline swp_entry_t page_swap_entry(const struct page *page)
{
	return (swp_entry_t){ __READ_ONCE(page->private) };
}

static inline void set_page_swap_entry(struct page *page, swp_entry_t entry)
{
	__WRITE_ONCE(page->private, entry.val);
}

static inline bool PageSwapCache(const struct page *page)
{
	return PageFlag(page, PG_swapcache);
}

/* swapfile.c: the device */
int swap_init(struct host *host);
void swap_exit(struct host *host);
bool swap_entry_valid(struct host *host, swp_entry_t entry);
unsigned long nr_free_swap_slots(struct host *host);
bool vm_swap_full(struct host *host);
swp_entry_t swap_alloc_slot(struct host *host);
int swap_duplicate(struct host *host, swp_entry_t entry);
void swap_free(struct host *host, swp_entry_t entry);
void free_swap_and_cache(struct host *host, swp_entry_t entry);
u32 swap_count(struct host *host, swp_entry_t entry);
unsigned long scan_swap_map(struct swap_info_struct *si);
void swap_slot_put(struct swap_info_struct *si, struct swap_slot *s);
void swap_write_slot(struct host *host, swp_entry_t entry, struct page *page);
void swap_read_slot(struct host *host, swp_entry_t entry, struct page *page);
/* mm/page_history.c: the provenance records of a slot write and read. */
void page_hist_swap_out(struct host *host, swp_entry_t entry,
			struct page *page);
void page_hist_swap_in(struct host *host, swp_entry_t entry,
		       struct page *page);

/* swap_state.c: the swap cache */
bool add_to_swap(struct page *page);
struct page *swap_cache_get(struct host *host, swp_entry_t entry);
int swapin_page(struct host *host, swp_entry_t entry, struct page **pagep);
void swap_writepage(struct page *page);
bool swap_cache_remove_mapping(struct page *page);
bool try_free_swap(struct page *page);
void free_swap_cache(struct page *page);

#endif /* MMULAB_MM_SWAP_H */
