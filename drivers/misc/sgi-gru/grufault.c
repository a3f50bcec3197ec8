// SPDX-License-Identifier: MIT
/*
 * GRU-style TLB-only secondary MMU: contexts, the TLB, TLB faults and the
 * device's loads and stores (see <mmulab/gru.h>).
 *
 * Lock order: mmap_lock > ms_lock.  Invalidations arrive with the
 * mmap_lock (or the rmap locks) held and take ms_lock; a TLB fault holds
 * neither across the other -- it walks through GUP under the mmap_lock
 * only, then installs under ms_lock only.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/bug.h>
#include <mmulab/checker.h>
#include <mmulab/gru.h>
#include <mmulab/mutant.h>
#include "grutables.h"

/* Slot of @addr's set; the set index is the low bits of the page number. */
static struct gru_tlb_entry *gru_set(struct gru_thread_state *gts,
				     unsigned long addr)
{
	return &gts->ts_tlb[((addr >> PAGE_SHIFT) % gts->ts_sets) *
			    gts->ts_ways];
}

/* The entry translating @addr, or NULL; ms_lock held. */
static struct gru_tlb_entry *gru_tlb_lookup(struct gru_thread_state *gts,
					    unsigned long addr)
{
	struct gru_tlb_entry *e = gru_set(gts, addr);

	for (unsigned int w = 0; w < gts->ts_ways; w++)
		if (e[w].valid && e[w].vaddr == addr)
			return &e[w];
	return NULL;
}

void gru_tlb_drop(struct gru_thread_state *gts, struct gru_tlb_entry *e)
{
	checker_poke(e->valid, false);
	checker_secondary_map(gts->ts_host, e->pfn, e->vaddr, -1);
}

/* Install a translation; ms_lock held, no invalidation raced the walk. */
static void gru_tlb_install(struct gru_thread_state *gts, unsigned long addr,
			    struct page *page, bool write, unsigned long stamp)
{
	struct gru_tlb_entry *set = gru_set(gts, addr), *e;

	e = gru_tlb_lookup(gts, addr);
	if (!e) {
		e = &set[gts->ts_next[(set - gts->ts_tlb) / gts->ts_ways]++ %
			 gts->ts_ways];
		if (e->valid)
			gts->ts_stat.evictions++;
	}
	if (e->valid)
		gru_tlb_drop(gts, e);
	e->pfn = page_to_pfn(page);
	e->writable = write;
	e->stamp = stamp;
	checker_poke(e->vaddr, addr);
	checker_poke(e->valid, true);
	checker_secondary_map(gts->ts_host, e->pfn, addr, 1);
	gts->ts_stat.fills++;
}

/*
 * May a fill sampled at @seq install?  Not while an invalidation is open
 * (its flush may already have passed this slot) nor after one ended
 * (the walk may have seen the PTE it removed): Linux's gru_try_dropin()
 * refuses while ms_range_active; the model also compares a sequence,
 * since its GUP walk is not under the PTE lock the flush would wait for.
 */
static bool gru_fill_ok(struct gru_thread_state *gts, unsigned long seq)
{
	if (gts->ts_gms.ms_released)
		return false;
	if (mutant_is(MUTANT_GRU_FILL_NO_RECHECK)) /* broken on purpose */
		return true;
	return !atomic_read(&gts->ts_gms.ms_range_active) &&
	       gts->ts_gms.ms_seq == seq;
}

/* Sample the sequence and the TLB stamp with no invalidation open. */
static int gru_fault_begin(struct gru_thread_state *gts, unsigned long *seq,
			   unsigned long *stamp)
{
	struct gru_mm_struct *gms = &gts->ts_gms;

	for (;;) {
		spin_lock(&gms->ms_lock);
		if (gms->ms_released) {
			spin_unlock(&gms->ms_lock);
			return -EFAULT;
		}
		if (!atomic_read(&gms->ms_range_active)) {
			*seq = gms->ms_seq;
			*stamp = checker_tlb_stamp(&gts->ts_checker);
			spin_unlock(&gms->ms_lock);
			return 0;
		}
		gts->ts_stat.waits++;
		spin_unlock(&gms->ms_lock);
		wait_event(gms->ms_wait_queue,
			   !atomic_read(&gms->ms_range_active));
	}
}

int gru_tlb_fault(struct gru_thread_state *gts, unsigned long addr, bool write)
{
	struct gru_mm_struct *gms = &gts->ts_gms;

	addr &= PAGE_MASK;
	for (int tries = 0; tries < 100000; tries++) {
		unsigned long seq, stamp;
		struct page *page;
		long n;
		int r = gru_fault_begin(gts, &seq, &stamp);

		if (r)
			return r;
		if (!mmget_not_zero(gts->ts_mm))
			return -EFAULT;
		n = get_user_pages_unlocked(gts->ts_mm, addr, 1, &page,
					    write ? FOLL_WRITE : 0);
		mmput(gts->ts_mm);
		if (n != 1)
			return n == -ENOMEM ? -ENOMEM : -EFAULT;
		spin_lock(&gms->ms_lock);
		if (gru_fill_ok(gts, seq)) {
			gru_tlb_install(gts, addr, page, write, stamp);
			spin_unlock(&gms->ms_lock);
			/* Not a pinning TLB: the notifier keeps it right. */
			put_page(page);
			return 0;
		}
		gts->ts_stat.fills_dropped++;
		spin_unlock(&gms->ms_lock);
		put_page(page);
	}
	return -EAGAIN;
}

/* Use entry @e for the access; ms_lock held (it keeps the flush out). */
static int gru_tlb_access(struct gru_thread_state *gts,
			  struct gru_tlb_entry *e, unsigned long addr,
			  u64 *val, bool write)
{
	struct page *page;

	if (!checker_tlb_check(&gts->ts_checker, e->stamp, e->pfn, e->vaddr,
			       ~0ULL))
		return -EIO;
	page = pfn_to_page(gts->ts_host, e->pfn);
	if (write)
		page_write_u64(page, addr & ~PAGE_MASK, *val);
	else
		*val = page_read_u64(page, addr & ~PAGE_MASK);
	return 0;
}

static int gru_access(struct gru_thread_state *gts, unsigned long addr,
		      u64 *val, bool write)
{
	struct gru_mm_struct *gms;

	if (!gts || !val || (addr & 7))
		return -EINVAL;
	gms = &gts->ts_gms;
	spin_lock(&gms->ms_lock);
	gts->ts_stat.accesses++;
	for (bool hit = true;; hit = false) {
		struct gru_tlb_entry *e;
		int r;

		/* A broken protocol was caught: touch no frame any more. */
		if (checker_stopped(gts->ts_host)) {
			spin_unlock(&gms->ms_lock);
			return -EIO;
		}
		e = gru_tlb_lookup(gts, addr & PAGE_MASK);
		if (e && (!write || e->writable)) {
			gts->ts_stat.tlb_hits += hit;
			r = gru_tlb_access(gts, e, addr, val, write);
			spin_unlock(&gms->ms_lock);
			return r;
		}
		gts->ts_stat.tlb_faults++;
		spin_unlock(&gms->ms_lock);
		r = gru_tlb_fault(gts, addr, write);
		if (r)
			return r;
		spin_lock(&gms->ms_lock);
	}
}

int gru_read_u64(struct gru_thread_state *gts, unsigned long addr, u64 *val)
{
	return gru_access(gts, addr, val, false);
}

int gru_write_u64(struct gru_thread_state *gts, unsigned long addr, u64 val)
{
	return gru_access(gts, addr, &val, true);
}

unsigned int gru_tlb_valid(struct gru_thread_state *gts)
{
	unsigned int n = 0;

	spin_lock(&gts->ts_gms.ms_lock);
	for (unsigned int i = 0; i < gts->ts_sets * gts->ts_ways; i++)
		n += gts->ts_tlb[i].valid;
	spin_unlock(&gts->ts_gms.ms_lock);
	return n;
}

void gru_get_stat(struct gru_thread_state *gts, struct gru_stat *out)
{
	spin_lock(&gts->ts_gms.ms_lock);
	*out = gts->ts_stat;
	out->released = gts->ts_gms.ms_released;
	spin_unlock(&gts->ts_gms.ms_lock);
}

/* Without ms_lock: an observer no writer runs beside (gru.h). */
unsigned int gru_observe_stat(struct gru_thread_state *gts,
			      struct gru_stat *out)
{
	const unsigned long *src = (const unsigned long *)&gts->ts_stat;
	unsigned long *dst = (unsigned long *)out;
	unsigned int n = 0;

	for (size_t i = 0; i < sizeof(*out) / sizeof(long); i++)
		dst[i] = data_race(src[i]);
	out->released = data_race(gts->ts_gms.ms_released);
	for (unsigned int i = 0; i < gts->ts_sets * gts->ts_ways; i++)
		n += data_race(gts->ts_tlb[i].valid);
	return n;
}

/* At a quiescent point every entry must translate what the CPU does. */
static void gru_sweep(struct checker_secondary *cs, struct host *host)
{
	struct gru_thread_state *gts =
		container_of(cs, struct gru_thread_state, ts_checker);

	for (unsigned int i = 0; i < gts->ts_sets * gts->ts_ways; i++) {
		struct gru_tlb_entry *e = &gts->ts_tlb[i];
		pte_t pte;

		if (!e->valid)
			continue;
		if (follow_pte(gts->ts_mm, e->vaddr, &pte) ||
		    !pte_present(pte) || pte_pfn(pte) != e->pfn)
			checker_fail(host, INV_STALE_SECONDARY, e->pfn, e->vaddr,
				     ~0ULL, cs->name,
				     "TLB entry %u for %#lx maps frame %lu, "
				     "the CPU maps %s",
				     i, e->vaddr, e->pfn,
				     pte_present(pte) ? "another" : "nothing");
		else if (e->writable && !pte_write(pte))
			checker_fail(host, INV_WRITABLE_SECONDARY, e->pfn,
				     e->vaddr, ~0ULL, cs->name,
				     "TLB entry %u for %#lx is writable, the "
				     "CPU's PTE is not",
				     i, e->vaddr);
	}
}

/* The contract query (INV-6): no lock, no scheduling point. */
static bool gru_mapped(struct checker_secondary *cs, struct mm_struct *mm,
		       unsigned long start, unsigned long end,
		       struct checker_mapping *out)
{
	struct gru_thread_state *gts =
		container_of(cs, struct gru_thread_state, ts_checker);

	for (unsigned int i = 0;
	     mm == gts->ts_mm && i < gts->ts_sets * gts->ts_ways; i++) {
		struct gru_tlb_entry *e = &gts->ts_tlb[i];
		unsigned long va = checker_peek(e->vaddr);

		if (!checker_peek(e->valid) || va < start || va >= end)
			continue;
		out->addr = va;
		out->pfn = checker_peek(e->pfn);
		snprintf(out->what, sizeof(out->what),
			 "TLB set %u way %u for %#lx", i / gts->ts_ways,
			 i % gts->ts_ways, va);
		return true;
	}
	return false;
}

struct gru_thread_state *gru_alloc_gts(struct mm_struct *mm, unsigned int sets,
				       unsigned int ways, const char *name)
{
	struct gru_thread_state *gts;
	int r;

	if (!mm || !sets || sets > GRU_MAX_TLB_SETS || !ways ||
	    ways > GRU_MAX_TLB_WAYS)
		return ERR_PTR(-EINVAL);
	gts = calloc(1, sizeof(*gts));
	if (!gts)
		return ERR_PTR(-ENOMEM);
	gts->ts_mm = mm;
	gts->ts_host = mm_host(mm);
	gts->ts_sets = sets;
	gts->ts_ways = ways;
	gts->ts_checker.name = name ? name : "gru";
	gts->ts_checker.sweep = gru_sweep;
	gts->ts_checker.mapped = gru_mapped;
	checker_register_secondary(gts->ts_host, &gts->ts_checker);
	r = gru_register_mmu_notifier(gts);
	if (r) {
		checker_unregister_secondary(gts->ts_host, &gts->ts_checker);
		free(gts);
		return ERR_PTR(r);
	}
	return gts;
}

void gru_free_gts(struct gru_thread_state *gts)
{
	if (!gts)
		return;
	gru_unregister_mmu_notifier(gts);
	checker_unregister_secondary(gts->ts_host, &gts->ts_checker);
	free(gts);
}
