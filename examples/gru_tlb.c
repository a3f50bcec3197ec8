// SPDX-License-Identifier: MIT
/*
 * gru_tlb: a TLB-only secondary MMU (like SGI's GRU) written against the
 * installed mmulab library, checked by the library's checker rather than
 * by checks of its own.
 *
 *   cc -o gru_tlb gru_tlb.c $(pkg-config --cflags --libs mmulab)
 *   gru_tlb [--at-end] [SEED]
 *
 * The device caches translations of a process's pages in a small TLB,
 * filled through GUP and holding no page reference.  Its notifier keeps
 * a count of invalidations in progress, refuses fills while one is, and
 * flushes the TLB entries of the range in invalidate_range_start.
 *
 * With --at-end it flushes in invalidate_range_end instead, the bug that
 * is a use-after-free in Linux: between start and end the primary MMU may
 * free the pages the TLB still maps.  The checker catches it the first
 * time an invalidation covers a page the TLB maps, whether or not the page
 * is then freed or reused (INV-6, mapped-after-start).
 *
 * What the program gives the checker (<mmulab/checker.h>):
 *  - a struct checker_secondary with the contract query (@mapped: what
 *    does the TLB map in this range?) and a sweep, watching its notifier;
 *  - checker_secondary_map() for every fill and flush;
 *  - a struct checker_shadow per page, so every device read is checked for
 *    staleness (INV-5);
 *  - a struct checker_park, so that under real threads the checker sweeps
 *    while the device is parked between two accesses.
 *
 * With a SEED the run is under the deterministic scheduler.  Exit status:
 * 0 no violation, 1 a violation (the report is printed), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/checker.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>

#define NR_PAGES 8
#define TLB_ENTRIES 4
#define ROUNDS 12

/* @valid and @vaddr are stored with checker_poke(): the query reads them. */
struct gru_tlb_entry {
	unsigned long vaddr;
	struct page *page;
	bool valid;
};

struct gru {
	struct mmu_notifier mn;
	struct checker_secondary cs;
	struct mm_struct *mm;
	struct host *host;
	bool flush_at_end;
	spinlock_t lock;
	struct gru_tlb_entry tlb[TLB_ENTRIES];
	long range_active;
	unsigned long seq;
	bool dead;
	/* invalidations that began with a page of their range mapped */
	int covering, caught_at;
};

static struct gru gru;
static unsigned long base;
static struct checker_shadow shadow[NR_PAGES];
static struct checker_park park;
static int stop;

static struct gru *to_gru(struct mmu_notifier *mn)
{
	return container_of(mn, struct gru, mn);
}

/* Drop the entries of [start, end); gru->lock held. */
static void tlb_flush(struct gru *g, unsigned long start, unsigned long end)
{
	for (int i = 0; i < TLB_ENTRIES; i++) {
		struct gru_tlb_entry *e = &g->tlb[i];

		if (!e->valid || e->vaddr < start || e->vaddr >= end)
			continue;
		checker_poke(e->valid, false);
		checker_secondary_map(g->host, page_to_pfn(e->page), e->vaddr,
				      -1);
	}
}

static bool tlb_maps(struct gru *g, unsigned long start, unsigned long end)
{
	for (int i = 0; i < TLB_ENTRIES; i++)
		if (g->tlb[i].valid && g->tlb[i].vaddr >= start &&
		    g->tlb[i].vaddr < end)
			return true;
	return false;
}

static int gru_start(struct mmu_notifier *mn,
		     const struct mmu_notifier_range *range)
{
	struct gru *g = to_gru(mn);

	spin_lock(&g->lock);
	if (tlb_maps(g, range->start, range->end)) {
		/* The checker reports right after a start returns. */
		if (!g->caught_at && checker_violations(g->host))
			g->caught_at = g->covering;
		g->covering++;
	}
	g->range_active++;
	if (!g->flush_at_end)
		tlb_flush(g, range->start, range->end);
	spin_unlock(&g->lock);
	return 0;
}

static void gru_end(struct mmu_notifier *mn,
		    const struct mmu_notifier_range *range)
{
	struct gru *g = to_gru(mn);

	spin_lock(&g->lock);
	if (g->flush_at_end)
		tlb_flush(g, range->start, range->end);
	g->seq++;
	g->range_active--;
	spin_unlock(&g->lock);
}

static void gru_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct gru *g = to_gru(mn);

	(void)mm;
	spin_lock(&g->lock);
	tlb_flush(g, 0, ~0UL);
	g->dead = true;
	spin_unlock(&g->lock);
}

static const struct mmu_notifier_ops gru_ops = {
	.release = gru_release,
	.invalidate_range_start = gru_start,
	.invalidate_range_end = gru_end,
};

/* The contract query: no lock, no scheduling point. */
static bool gru_mapped(struct checker_secondary *cs, struct mm_struct *mm,
		       unsigned long start, unsigned long end,
		       struct checker_mapping *out)
{
	struct gru *g = container_of(cs, struct gru, cs);

	for (int i = 0; mm == g->mm && i < TLB_ENTRIES; i++) {
		unsigned long va = checker_peek(g->tlb[i].vaddr);

		if (!checker_peek(g->tlb[i].valid) || va < start || va >= end)
			continue;
		out->addr = va;
		snprintf(out->what, sizeof(out->what), "TLB entry %d", i);
		return true;
	}
	return false;
}

/* At a quiescent point every entry maps what the CPU maps. */
static void gru_sweep(struct checker_secondary *cs, struct host *host)
{
	struct gru *g = container_of(cs, struct gru, cs);

	for (int i = 0; i < TLB_ENTRIES; i++) {
		struct gru_tlb_entry *e = &g->tlb[i];
		pte_t pte;

		if (e->valid && (follow_pte(g->mm, e->vaddr, &pte) ||
				 !pte_present(pte) ||
				 pte_pfn(pte) != page_to_pfn(e->page)))
			checker_fail(host, INV_STALE_SECONDARY,
				     page_to_pfn(e->page), e->vaddr, ~0ULL,
				     cs->name, "TLB entry %d is stale", i);
	}
}

/* Fill the entry of @va: GUP, then install unless an invalidation ran. */
static int gru_fill(struct gru *g, unsigned long va)
{
	struct gru_tlb_entry *e = &g->tlb[(va >> PAGE_SHIFT) % TLB_ENTRIES];

	for (;;) {
		unsigned long seq;
		struct page *page;
		long n;

		spin_lock(&g->lock);
		seq = g->seq;
		spin_unlock(&g->lock);
		if (!mmget_not_zero(g->mm))
			return -EFAULT;
		mmap_read_lock(g->mm);
		n = get_user_pages_remote(g->mm, va, 1, 0, &page);
		mmap_read_unlock(g->mm);
		mmput(g->mm);
		if (n != 1)
			return -EFAULT;
		spin_lock(&g->lock);
		if (!g->dead && !g->range_active && g->seq == seq) {
			tlb_flush(g, e->vaddr, e->vaddr + 1);
			e->page = page;
			checker_poke(e->vaddr, va);
			checker_poke(e->valid, true);
			checker_secondary_map(g->host, page_to_pfn(page), va, 1);
			spin_unlock(&g->lock);
			put_page(page);
			return 0;
		}
		spin_unlock(&g->lock);
		put_page(page);
		if (g->dead)
			return -EFAULT;
		cond_resched();
	}
}

/* A device read of page @p, checked by INV-5's shadow. */
static void gru_read(struct gru *g, unsigned int p)
{
	unsigned long va = base + p * PAGE_SIZE;
	unsigned int from = checker_shadow_read_start(&shadow[p]);
	struct gru_tlb_entry *e;
	u64 val;

	for (;;) {
		if (checker_stopped(g->host))
			return;
		spin_lock(&g->lock);
		e = &g->tlb[(va >> PAGE_SHIFT) % TLB_ENTRIES];
		if (e->valid && e->vaddr == va)
			break;
		spin_unlock(&g->lock);
		if (gru_fill(g, va))
			return;
	}
	val = page_read_u64(e->page, 0);
	spin_unlock(&g->lock);
	checker_shadow_check(g->host, &shadow[p], from, val, p, va, ~0ULL);
}

static int device_task(void *arg)
{
	(void)arg;
	while (!READ_ONCE(stop)) {
		for (unsigned int p = 0; p < NR_PAGES; p++) {
			checker_park_point(&park);
			gru_read(&gru, p);
		}
		cond_resched();
	}
	checker_park_leave(&park);
	return 0;
}

static void cpu_store(unsigned int p, u32 count)
{
	u64 val = checker_value(p, count);

	checker_shadow_begin(&shadow[p], val);
	cpu_write_u64(gru.mm, base + p * PAGE_SIZE, val);
	checker_shadow_commit(&shadow[p]);
}

/* Replace, write, write-protect: every round invalidates every page. */
static void cpu_round(unsigned int round)
{
	unsigned long len = NR_PAGES * PAGE_SIZE;

	for (unsigned int p = 0; p < NR_PAGES; p++)
		checker_shadow_begin(&shadow[p], 0);
	vm_mmap(gru.mm, base, len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	for (unsigned int p = 0; p < NR_PAGES; p++)
		checker_shadow_commit(&shadow[p]);
	for (unsigned int p = 0; p < NR_PAGES; p++)
		cpu_store(p, round);
	do_mprotect(gru.mm, base, len, PROT_READ);
	do_mprotect(gru.mm, base, len, PROT_READ | PROT_WRITE);
}

static int setup(bool at_end)
{
	struct host_config cfg = { .nr_frames = 256,
				   .content = HOST_CONTENT_DATA };

	gru.host = host_create(&cfg);
	if (IS_ERR(gru.host) || checker_attach(gru.host))
		return -ENOMEM;
	gru.mm = mm_alloc(gru.host);
	if (IS_ERR(gru.mm))
		return -ENOMEM;
	spin_lock_init(&gru.lock);
	gru.flush_at_end = at_end;
	gru.cs.name = "gru";
	gru.cs.sweep = gru_sweep;
	gru.cs.mapped = gru_mapped;
	checker_register_secondary(gru.host, &gru.cs);
	checker_watch_notifier(&gru.cs, &gru.mn);
	gru.mn.ops = &gru_ops;
	if (mmu_notifier_register(&gru.mn, gru.mm))
		return -EINVAL;
	base = vm_mmap(gru.mm, 0, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS);
	if ((long)base < 0)
		return (int)base;
	for (unsigned int p = 0; p < NR_PAGES; p++)
		cpu_store(p, 0);
	checker_park_init(&park, 1);
	return 0;
}

static void run(void)
{
	struct task_struct *t;

	/* A warm TLB: the very first invalidation covers mapped pages. */
	for (unsigned int p = 0; p < NR_PAGES; p++)
		gru_read(&gru, p);
	t = kthread_run(device_task, NULL, "gru");
	if (IS_ERR(t))
		return;
	for (unsigned int r = 1; r <= ROUNDS; r++) {
		cpu_round(r);
		checker_park_sweep(&park, gru.host);
	}
	WRITE_ONCE(stop, 1);
	kthread_stop(t);
}

int main(int argc, char **argv)
{
	struct det_config cfg = { .strategy = DET_STRATEGY_RANDOM };
	bool at_end = argc > 1 && !strcmp(argv[1], "--at-end");
	bool det = argc > 1 + at_end;
	struct det_result res;
	unsigned long found;
	char *end;

	if (argc > 2 + at_end ||
	    (det && (cfg.seed = strtoull(argv[1 + at_end], &end, 0), *end))) {
		fprintf(stderr, "usage: gru_tlb [--at-end] [SEED]\n");
		return 2;
	}
	if (setup(at_end)) {
		fprintf(stderr, "gru_tlb: setup failed\n");
		return 1;
	}
	if (det && det_begin(&cfg))
		return 1;
	run();
	if (det)
		det_end(&res);
	if (!checker_violations(gru.host))
		checker_sweep(gru.host);
	mmput(gru.mm);
	mmu_notifier_unregister(&gru.mn, gru.mm);
	found = checker_violations(gru.host);
	if (found && !gru.caught_at)
		gru.caught_at = gru.covering;
	printf("gru_tlb: flush in %s, %d invalidations covered a mapped page, "
	       "%lu violations",
	       at_end ? "invalidate_range_end" : "invalidate_range_start",
	       gru.covering, found);
	if (found)
		printf(", the first at covering invalidation %d", gru.caught_at);
	printf("\n");
	checker_report(gru.host, stdout);
	return found ? 1 : 0;
}
