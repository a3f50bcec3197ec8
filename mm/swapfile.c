// SPDX-License-Identifier: MIT
/*
 * The swap device: slot allocation, the per-slot reference counts that
 * swap entries hold, and the slots' contents (the model's block device is
 * memory; a write or read is a copy made by the caller's thread).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "swap.h"

int swap_init(struct host *host)
{
	unsigned long max = host->cfg.swap_slots;
	struct swap_info_struct *si;

	if (!max)
		return 0;
	if (max >= MAX_SWAP_SLOTS)
		return -EINVAL;
	si = calloc(1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	max++; /* slot 0 is reserved */
	spin_lock_init(&si->lock);
	si->max = max;
	si->cluster_next = 1;
	si->slots = calloc(max, sizeof(*si->slots));
	if (si->slots && host->mem) {
		si->data = mmap(NULL, max * PAGE_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
				0);
		if (si->data == MAP_FAILED)
			si->data = NULL;
	}
	if (!si->slots || (host->mem && !si->data)) {
		free(si->slots);
		free(si);
		return -ENOMEM;
	}
	host->swap = si;
	return 0;
}

/* The host is idle: every swap entry went with the address spaces. */
void swap_exit(struct host *host)
{
	struct swap_info_struct *si = host->swap;

	if (!si)
		return;
	WARN_ON(atomic_long_read(&si->inuse) ||
		atomic_long_read(&si->nr_cache));
	if (si->data)
		munmap(si->data, si->max * PAGE_SIZE);
	free(si->slots);
	free(si);
	host->swap = NULL;
}

/* Does @entry name a slot of @host's device? */
bool swap_entry_valid(struct host *host, swp_entry_t entry)
{
	return host->swap && is_swap_entry(entry) && swp_offset(entry) &&
	       swp_offset(entry) < host->swap->max;
}

static struct swap_slot *swap_slot(struct host *host, swp_entry_t entry)
{
	if (WARN_ON_ONCE(!swap_entry_valid(host, entry)))
		return NULL;
	return &host->swap->slots[swp_offset(entry)];
}

unsigned long nr_free_swap_slots(struct host *host)
{
	struct swap_info_struct *si = host->swap;

	if (!si)
		return 0;
	return si->max - 1 - atomic_long_read(&si->inuse);
}

/* More than half the device in use: keep no clean copies in memory. */
bool vm_swap_full(struct host *host)
{
	struct swap_info_struct *si = host->swap;

	return si && atomic_long_read(&si->inuse) * 2 > (long)(si->max - 1);
}

/* A free slot, now counted in use (the caller sets count or cache), or 0.
 * Under si->lock. */
unsigned long scan_swap_map(struct swap_info_struct *si)
{
	unsigned long off = si->cluster_next;

	for (unsigned long n = 1; n < si->max; n++) {
		struct swap_slot *s = &si->slots[off];

		if (!s->count && !s->cache) {
			si->cluster_next = off + 1 < si->max ? off + 1 : 1;
			atomic_long_inc(&si->inuse);
			return off;
		}
		off = off + 1 < si->max ? off + 1 : 1;
	}
	return 0;
}

/*
 * Release @s if nothing uses it any more; under si->lock.  The contents
 * stay: nothing reads a free slot.
 */
void swap_slot_put(struct swap_info_struct *si, struct swap_slot *s)
{
	if (!s->count && !s->cache) {
		s->workingset = false;
		atomic_long_dec(&si->inuse);
	}
}

/**
 * swap_alloc_slot() - a free slot with one reference, for a shared-memory
 * object's page cache.  Return: its entry, or a zero entry when the
 * device is full (or absent).
 */
swp_entry_t swap_alloc_slot(struct host *host)
{
	struct swap_info_struct *si = host->swap;
	unsigned long off;

	if (!si)
		return (swp_entry_t){ 0 };
	spin_lock(&si->lock);
	off = scan_swap_map(si);
	if (off)
		si->slots[off].count = 1;
	spin_unlock(&si->lock);
	return off ? swp_entry(SWP_TYPE_SWAP, off) : (swp_entry_t){ 0 };
}

/**
 * swap_duplicate() - one more swap entry names @entry's slot (fork copied
 * a PTE holding it, or try_to_unmap() is about to install it).
 * Return: 0, or -ENOENT when the slot is not in use (a caller bug).
 */
int swap_duplicate(struct host *host, swp_entry_t entry)
{
	struct swap_slot *s = swap_slot(host, entry);
	int ret = 0;

	if (!s)
		return -ENOENT;
	spin_lock(&host->swap->lock);
	if (WARN_ON_ONCE(!s->count && !s->cache))
		ret = -ENOENT;
	else
		s->count++;
	spin_unlock(&host->swap->lock);
	return ret;
}

/**
 * swap_free() - drop one swap entry's reference on its slot; the slot is
 * free once no entry names it and no page caches it.
 */
void swap_free(struct host *host, swp_entry_t entry)
{
	struct swap_slot *s = swap_slot(host, entry);

	if (!s)
		return;
	spin_lock(&host->swap->lock);
	if (!WARN_ON_ONCE(!s->count)) {
		s->count--;
		swap_slot_put(host->swap, s);
	}
	spin_unlock(&host->swap->lock);
}

/**
 * free_swap_and_cache() - a PTE holding @entry is gone (zap, MADV_FREE):
 * drop its reference, and if that was the last one, drop the swap-cache
 * page too unless someone still maps it.  May be called under the PTL.
 */
void free_swap_and_cache(struct host *host, swp_entry_t entry)
{
	struct swap_slot *s = swap_slot(host, entry);
	struct page *page = NULL;

	if (!s)
		return;
	spin_lock(&host->swap->lock);
	if (!WARN_ON_ONCE(!s->count)) {
		s->count--;
		page = s->count ? NULL : s->cache;
		if (page)
			get_page(page);
		swap_slot_put(host->swap, s);
	}
	spin_unlock(&host->swap->lock);
	if (page) {
		free_swap_cache(page);
		put_page(page);
	}
}

/** swap_count() - references on @entry's slot (for tests and checks). */
u32 swap_count(struct host *host, swp_entry_t entry)
{
	struct swap_slot *s;
	u32 n;

	if (!swap_entry_valid(host, entry))
		return 0;
	s = &host->swap->slots[swp_offset(entry)];
	spin_lock(&host->swap->lock);
	n = s->count;
	spin_unlock(&host->swap->lock);
	return n;
}

/*
 * Slot contents.  The caller owns the slot for the copy: it holds the
 * slot's swap-cache page locked, or (shared memory) the object's
 * i_pages_lock with the entry in its page cache.  Page words are read and
 * written untorn, as every other access to frame contents is.
 */
void swap_write_slot(struct host *host, swp_entry_t entry, struct page *page)
{
	struct swap_info_struct *si = host->swap;
	unsigned long off = swp_offset(entry);
	u64 *src = page_address(page), *dst;

	page_hist_swap_out(host, entry, page);
	if (!si->data) {
		si->slots[off].tag = __READ_ONCE(page->tag);
		return;
	}
	dst = (u64 *)(si->data + off * PAGE_SIZE);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		dst[i] = __READ_ONCE(src[i]);
}

void swap_read_slot(struct host *host, swp_entry_t entry, struct page *page)
{
	struct swap_info_struct *si = host->swap;
	unsigned long off = swp_offset(entry);
	u64 *dst = page_address(page), *src;

	page_hist_swap_in(host, entry, page);
	if (!si->data) {
		__WRITE_ONCE(page->tag, si->slots[off].tag);
		return;
	}
	src = (u64 *)(si->data + off * PAGE_SIZE);
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		__WRITE_ONCE(dst[i], src[i]);
}
