// SPDX-License-Identifier: MIT
/*
 * Page provenance: where a frame's contents came from, for reports.
 *
 * A read that returns another page's data (INV-5) names the value, not
 * the path it took.  Every frame and every swap slot therefore keeps a
 * small record, kept across free and reuse: how many times the frame was
 * allocated (its generation), how its current contents were filled
 * (cleared, copied from which frame and generation, read from which
 * swap slot and which write of it, that write's writer), and the last
 * slot it was written to; a slot keeps its writes and its last writer.
 * dump_frame_provenance() prints a frame's, as an observation (at the
 * moment a check fails, say); dump_user_addr() those of the frame or swap
 * entry an address maps now, after a run.  Linux's page_owner (CONFIG_PAGE_OWNER) records allocation
 * stacks for the same purpose; this model records the data's path.
 *
 * Recording is observation: relaxed atomics, no lock, never a scheduling
 * point, so a seed replays the same interleaving with it.  The fields of
 * one record are not updated together, so a report written while others
 * run may mix two events; the generations tell them apart.
 */
#include <stdio.h>
#include <mmulab/checker.h>

#include "swap.h"

#define HIST_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define HIST_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* @page's record; a frame outside the host's table has a scratch one. */
static struct page_hist *hist_of(const struct page *page)
{
	static struct page_hist scratch;
	struct host *host = __page_host(page);
	unsigned long pfn = page_to_pfn(page);

	return pfn < host->cfg.nr_frames ? &host->hist[pfn] : &scratch;
}

/* Frame number and generation of @page, packed as the records keep them. */
static u64 hist_id(const struct page *page)
{
	return (u64)page_to_pfn(page) << 32 | HIST_GET(hist_of(page)->gen);
}

void page_hist_alloc(struct page *page)
{
	struct page_hist *h = hist_of(page);

	HIST_SET(h->gen, HIST_GET(h->gen) + 1);
	HIST_SET(h->src, (u64)PAGE_HIST_NONE);
}

void page_hist_fill(struct page *dst, enum page_hist_src how,
		    struct page *src)
{
	struct page_hist *h = hist_of(dst);

	if (how == PAGE_HIST_COPY && src) {
		HIST_SET(h->src_gen, (u64)HIST_GET(hist_of(src)->gen));
		HIST_SET(h->src, (u64)page_to_pfn(src) << 8 | PAGE_HIST_COPY);
		return;
	}
	HIST_SET(h->src, (u64)how);
}

/* Called by swap_write_slot(): @page's contents went to @entry's slot. */
void page_hist_swap_out(struct host *host, swp_entry_t entry,
			struct page *page)
{
	struct swap_slot *s = &host->swap->slots[swp_offset(entry)];
	struct page_hist *h = hist_of(page);

	HIST_SET(s->hist_writes, HIST_GET(s->hist_writes) + 1);
	HIST_SET(s->hist_writer, hist_id(page));
	HIST_SET(h->out, (u64)swp_offset(entry) << 32 | HIST_GET(h->gen));
}

/* Called by swap_read_slot(): @page was filled from @entry's slot. */
void page_hist_swap_in(struct host *host, swp_entry_t entry,
		       struct page *page)
{
	struct swap_slot *s = &host->swap->slots[swp_offset(entry)];
	struct page_hist *h = hist_of(page);

	HIST_SET(h->src_gen, HIST_GET(s->hist_writes));
	HIST_SET(h->src_writer, HIST_GET(s->hist_writer));
	HIST_SET(h->src, (u64)swp_offset(entry) << 8 | PAGE_HIST_SWAPIN);
}

static void print_id(FILE *f, const char *what, u64 id)
{
	fprintf(f, "%s frame %llu (allocation %llu)", what,
		(unsigned long long)(id >> 32),
		(unsigned long long)(id & 0xffffffffu));
}

static void dump_slot(FILE *f, struct host *host, unsigned long off)
{
	struct swap_slot *s = &host->swap->slots[off];

	fprintf(f, "  slot %lu: %llu writes, last by", off,
		(unsigned long long)HIST_GET(s->hist_writes));
	print_id(f, "", HIST_GET(s->hist_writer));
	fprintf(f, "\n");
}

/* One frame's state and record, a line or two each. */
static void dump_frame(FILE *f, struct host *host, struct page *page)
{
	static const char *const how[] = { "not filled here", "cleared",
					   "copied from", "read from slot" };
	struct page_hist *h = hist_of(page);
	u64 src = HIST_GET(h->src), out = HIST_GET(h->out);
	unsigned long off = src >> 8;

	fprintf(f, "  frame %lu: allocation %u, flags %#lx, refcount %d, "
		   "mapcount %d, swap entry %#lx\n",
		page_to_pfn(page), HIST_GET(h->gen),
		atomic_long_observe(&page->flags),
		__atomic_load_n(&page->_refcount.counter, __ATOMIC_RELAXED),
		__atomic_load_n(&page->_mapcount.counter, __ATOMIC_RELAXED),
		atomic_long_observe(&page->flags) & (1UL << PG_swapcache)
			? __atomic_load_n(&page->private, __ATOMIC_RELAXED)
			: 0UL);
	fprintf(f, "  contents: %s", how[src & 3]);
	if ((src & 0xff) == PAGE_HIST_COPY)
		fprintf(f, " frame %lu (allocation %llu)", off,
			(unsigned long long)HIST_GET(h->src_gen));
	if ((src & 0xff) == PAGE_HIST_SWAPIN) {
		fprintf(f, " %lu (its write %llu, by", off,
			(unsigned long long)HIST_GET(h->src_gen));
		print_id(f, "", HIST_GET(h->src_writer));
		fprintf(f, ")");
	}
	if (out >> 32)
		fprintf(f, "\n  last written to slot %llu during allocation "
			   "%llu\n",
			(unsigned long long)(out >> 32),
			(unsigned long long)(out & 0xffffffffu));
	else
		fprintf(f, "\n  never written to a slot\n");
	if ((src & 0xff) == PAGE_HIST_SWAPIN && host->swap &&
	    off < host->swap->max)
		dump_slot(f, host, off);
}

void dump_frame_provenance(struct host *host, unsigned long pfn, FILE *f)
{
	struct page *page = pfn_to_page(host, pfn);

	if (!page || !f) {
		if (f)
			fprintf(f, "  frame %lu: no such frame\n", pfn);
		return;
	}
	dump_frame(f, host, page);
}

void dump_user_addr(struct mm_struct *mm, unsigned long addr, FILE *f)
{
	struct host *host;
	swp_entry_t e;
	pte_t pte;

	if (!f || !mm || follow_pte(mm, addr, &pte)) {
		if (f)
			fprintf(f, "  %#lx: no address space\n", addr);
		return;
	}
	host = mm->host;
	fprintf(f, "  %#lx: pte %#llx\n", addr,
		(unsigned long long)pte_val(pte));
	if (pte_present(pte)) {
		struct page *page = pfn_to_page(host, pte_pfn(pte));

		if (page)
			dump_frame(f, host, page);
		return;
	}
	if (!is_swap_pte(pte))
		return;
	e = pte_to_swp_entry(pte);
	if (is_swap_entry(e) && swap_entry_valid(host, e))
		dump_slot(f, host, swp_offset(e));
}
