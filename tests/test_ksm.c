// SPDX-License-Identifier: MIT
/*
 * KSM: merging guest memory, COW breaks, counters, the three change_pte
 * modes as a secondary MMU sees them, unmerging, pins, fork,
 * tag mode, ksmd, and scanning against running vCPUs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/sched.h>
#include "guest.h"
#include "mm/swapops.h"

#define NPAGES 64
#define GROUP_A 32	/* pages 0..31 hold pattern A */
#define GROUP_B 16	/* pages 32..47 hold pattern B */
#define UNIQUE (NPAGES - GROUP_A - GROUP_B)
#define MERGED (GROUP_A + GROUP_B)

static u64 pattern_of(unsigned long i)
{
	if (i < GROUP_A)
		return 0xaaaa;
	if (i < GROUP_A + GROUP_B)
		return 0xbbbb;
	return 0x1000 + i;
}

/* Word @w of page @i: the page's pattern spread over every word. */
static u64 word_of(unsigned long i, unsigned long w)
{
	return pattern_of(i) * 0x9e3779b97f4a7c15ULL + w;
}

/* The guest fills every page (one write fault each, SPTEs writable). */
static void guest_fill(struct guest *g)
{
	u64 buf[PAGE_SIZE / 8];

	for (unsigned long i = 0; i < g->npages; i++) {
		for (unsigned long w = 0; w < PAGE_SIZE / 8; w++)
			buf[w] = word_of(i, w);
		assert_int_equal(kvm_vcpu_write(g->vcpu, i * PAGE_SIZE, buf,
						PAGE_SIZE),
				 0);
	}
}

static void guest_check(struct guest *g, unsigned long i)
{
	u64 buf[PAGE_SIZE / 8];

	assert_int_equal(kvm_vcpu_read(g->vcpu, i * PAGE_SIZE, buf, PAGE_SIZE),
			 0);
	for (unsigned long w = 0; w < PAGE_SIZE / 8; w++)
		assert_int_equal(buf[w], word_of(i, w));
}

static void ksm_stats_of(struct guest *g, struct ksm_stats *st)
{
	ksm_get_stats(g->host, st);
}

/* Scan until @n more passes have completed. */
static void ksm_full_scans(struct host *host, unsigned long n)
{
	struct ksm_stats st;
	unsigned long target;

	ksm_get_stats(host, &st);
	target = st.full_scans + n;
	while (st.full_scans < target) {
		assert_true(ksm_scan(host, 16) >= 0);
		ksm_get_stats(host, &st);
	}
}

static void make_mergeable(struct guest *g)
{
	assert_int_equal(do_madvise(g->mm, g->hva, g->npages * PAGE_SIZE,
				    MADV_MERGEABLE),
			 0);
}

/* A filled guest whose identical pages two KSM passes merged. */
static void merged_guest_new(struct guest *g)
{
	guest_new(g, CHANGE_PTE_NONE, NPAGES);
	guest_fill(g);
	make_mergeable(g);
	ksm_full_scans(g->host, 2);
}

static bool page_is_ksm(struct guest *g, unsigned long i)
{
	return PageKsm(pfn_to_page(g->host, guest_pfn(g, i)));
}

/* ---------------------------------------------------------------------
 * Merging and COW
 */

static void test_merge_guest_memory(void **state)
{
	unsigned long warns = warn_count(), free_before, kpfn_a, kpfn_b;
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new(&g, CHANGE_PTE_NONE, NPAGES);
	guest_fill(&g);
	make_mergeable(&g);
	free_before = host_nr_free_frames(g.host);

	/* One pass records checksums, the next merges. */
	ksm_full_scans(g.host, 1);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, 0);
	assert_int_equal(st.pages_volatile, NPAGES);
	ksm_full_scans(g.host, 1);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, 2);
	assert_int_equal(st.pages_sharing, MERGED - 2);
	assert_int_equal(st.pages_unshared, UNIQUE);
	assert_int_equal(st.pages_volatile, 0);
	assert_int_equal(host_nr_free_frames(g.host) - free_before, MERGED - 2);

	kpfn_a = guest_pfn(&g, 0);
	kpfn_b = guest_pfn(&g, GROUP_A);
	assert_int_not_equal(kpfn_a, kpfn_b);
	for (unsigned long i = 0; i < NPAGES; i++) {
		pte_t pte = guest_pte(&g, i);

		assert_true(pte_present(pte));
		if (i < GROUP_A)
			assert_int_equal(pte_pfn(pte), kpfn_a);
		else if (i < MERGED)
			assert_int_equal(pte_pfn(pte), kpfn_b);
		assert_int_equal(page_is_ksm(&g, i), i < MERGED);
		if (i < MERGED)
			assert_false(pte_write(pte));
	}
	assert_int_equal(page_mapcount(pfn_to_page(g.host, kpfn_a)), GROUP_A);
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_check(&g, i);
	assert_guest_coherent(&g);

	/* A guest write breaks COW; the other sharers keep pattern A. */
	guest_write(&g, 3 * PAGE_SIZE, 77);
	assert_int_not_equal(guest_pfn(&g, 3), kpfn_a);
	assert_false(page_is_ksm(&g, 3));
	assert_true(pte_write(guest_pte(&g, 3)));
	assert_int_equal(host_read(&g, 3 * PAGE_SIZE), 77);
	assert_int_equal(host_read(&g, 3 * PAGE_SIZE + 8), word_of(3, 1));
	assert_int_equal(host_vm_event(g.host, COW_KSM), 1);
	for (unsigned long i = 0; i < GROUP_A; i++) {
		if (i != 3)
			guest_check(&g, i);
	}
	assert_int_equal(page_mapcount(pfn_to_page(g.host, kpfn_a)),
			 GROUP_A - 1);
	/* The next pass notices the address left the KSM page. */
	ksm_full_scans(g.host, 1);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, 2);
	assert_int_equal(st.pages_sharing, MERGED - 3);
	assert_guest_coherent(&g);
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * change_pte modes: a checker subscribed next to KVM
 */

/*
 * Subscribed after KVM, so first in the list: its end callback runs after
 * the PTE changed and before KVM's end.  Counts the invalidations open
 * over each guest page and checks, at every change_pte and every CLEAR
 * end, what KVM's MMU looks like then.
 */
struct checker {
	struct mmu_notifier mn;
	struct guest *g;
	int open[NPAGES];
	unsigned long change_pte, outside_window, present_spte, not_counted;
	unsigned long clear_ends;
};

static long page_of(struct checker *c, unsigned long addr)
{
	if (addr < c->g->hva || addr >= c->g->hva + NPAGES * PAGE_SIZE)
		return -1;
	return (addr - c->g->hva) >> PAGE_SHIFT;
}

/* What must hold while the primary PTE of page @i is being changed. */
static void check_kvm_quiet(struct checker *c, long i)
{
	struct kvm *kvm = c->g->kvm;

	if (guest_spte(c->g, i) & KVM_SPTE_PRESENT)
		c->present_spte++;
	if (!atomic_long_read(&kvm->mn_active_invalidate_count) ||
	    !READ_ONCE(kvm->mmu_invalidate_in_progress))
		c->not_counted++;
}

static int checker_start(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *r)
{
	struct checker *c = container_of(mn, struct checker, mn);

	for (unsigned long a = r->start; a < r->end; a += PAGE_SIZE) {
		long i = page_of(c, a);

		if (i >= 0)
			c->open[i]++;
	}
	return 0;
}

static void checker_end(struct mmu_notifier *mn,
			const struct mmu_notifier_range *r)
{
	struct checker *c = container_of(mn, struct checker, mn);

	for (unsigned long a = r->start; a < r->end; a += PAGE_SIZE) {
		long i = page_of(c, a);

		if (i < 0)
			continue;
		if (r->event == MMU_NOTIFY_CLEAR && r->end - r->start ==
							    PAGE_SIZE) {
			c->clear_ends++;
			check_kvm_quiet(c, i);
		}
		c->open[i]--;
	}
}

static void checker_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			       unsigned long addr, pte_t pte)
{
	struct checker *c = container_of(mn, struct checker, mn);
	long i = page_of(c, addr);

	(void)mm;
	(void)pte;
	c->change_pte++;
	if (i < 0)
		return;
	if (c->open[i] <= 0) {
		c->outside_window++;
		return;
	}
	check_kvm_quiet(c, i);
}

static const struct mmu_notifier_ops checker_ops = {
	.invalidate_range_start = checker_start,
	.invalidate_range_end = checker_end,
	.change_pte = checker_change_pte,
};

struct wave {
	unsigned long merged, shared, refaults;
	struct kvm_vm_stat vs;
	struct checker c;
};

/*
 * Fill, merge, then read every page back through the guest: how many
 * secondary faults did the merge cost?
 */
static void merge_wave(enum change_pte_mode mode, struct wave *w)
{
	unsigned long warns = warn_count();
	struct kvm_vcpu_stat before, after;
	struct ksm_stats st;
	struct guest g;

	guest_new(&g, mode, NPAGES);
	guest_fill(&g);
	make_mergeable(&g);
	memset(&w->c, 0, sizeof(w->c));
	w->c.g = &g;
	w->c.mn.ops = &checker_ops;
	assert_int_equal(mmu_notifier_register(&w->c.mn, g.mm), 0);
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	w->shared = st.pages_shared;
	w->merged = st.pages_shared + st.pages_sharing;
	kvm_get_vcpu_stat(g.vcpu, &before);
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_check(&g, i);
	kvm_get_vcpu_stat(g.vcpu, &after);
	assert_int_equal(after.pf_taken - before.pf_taken,
			 after.pf_fixed - before.pf_fixed);
	w->refaults = after.pf_taken - before.pf_taken;
	kvm_get_vm_stat(g.kvm, &w->vs);
	assert_guest_coherent(&g);
	for (unsigned long i = 0; i < MERGED; i++) {
		u64 spte = guest_spte(&g, i);

		/* A read maps the KSM page, read-only. */
		assert_true(spte & KVM_SPTE_PRESENT);
		assert_false(spte & KVM_SPTE_WRITABLE);
		assert_true(page_is_ksm(&g, i));
	}
	mmu_notifier_unregister(&w->c.mn, g.mm);
	print_message("change_pte %-9s: %lu pages merged into %lu; "
		      "change_pte calls %lu, hits %lu, warns %lu; "
		      "guest refaults %lu\n",
		      mode == CHANGE_PTE_NONE	    ? "none"
		      : mode == CHANGE_PTE_DIRECT ? "direct"
						    : "bookended",
		      w->merged, w->shared, w->vs.change_pte_calls,
		      w->vs.change_pte_hits, w->vs.change_pte_warn,
		      w->refaults);
	guest_free(&g, warns);
}

/* Per KSM page: write_protect_page() of every page, replace_page() of
 * all but the one that became the KSM page. */
static unsigned long change_pte_expected(const struct wave *w)
{
	return 2 * w->merged - w->shared;
}

static void test_merge_wave_none(void **state)
{
	struct wave w;

	(void)state;
	merge_wave(CHANGE_PTE_NONE, &w);
	assert_int_equal(w.merged, MERGED);
	assert_int_equal(w.vs.change_pte_calls, 0);
	assert_int_equal(w.c.change_pte, 0);
	/* Every merged page's SPTE was zapped and had to be refaulted. */
	assert_int_equal(w.refaults, MERGED);
	/* After each CLEAR's PTE change, KVM had no SPTE for the gfn
	 * and counted the invalidation. */
	assert_int_equal(w.c.clear_ends, change_pte_expected(&w));
	assert_int_equal(w.c.present_spte, 0);
	assert_int_equal(w.c.not_counted, 0);
}

static void test_merge_wave_bookended(void **state)
{
	struct wave w;

	(void)state;
	merge_wave(CHANGE_PTE_BOOKENDED, &w);
	assert_int_equal(w.merged, MERGED);
	assert_int_equal(w.vs.change_pte_calls, change_pte_expected(&w));
	/* change_pte always inside a start/end over its page, finding
	 * no SPTE (start zapped it), with the count elevated: seed 000. */
	assert_int_equal(w.c.change_pte, change_pte_expected(&w));
	assert_int_equal(w.c.outside_window, 0);
	assert_int_equal(w.c.present_spte, 0);
	assert_int_equal(w.c.not_counted, 0);
	assert_int_equal(w.vs.change_pte_hits, 0);
	assert_int_equal(w.vs.change_pte_warn, 0);
	/* The optimisation is dead: every merged page refaults anyway. */
	assert_int_equal(w.refaults, MERGED);
}

static void test_merge_wave_direct(void **state)
{
	struct wave w;

	(void)state;
	merge_wave(CHANGE_PTE_DIRECT, &w);
	assert_int_equal(w.merged, MERGED);
	assert_int_equal(w.vs.change_pte_calls, change_pte_expected(&w));
	/* No window around it: KVM updated the SPTEs in place... */
	assert_int_equal(w.c.outside_window, change_pte_expected(&w));
	assert_int_equal(w.c.clear_ends, 0);
	assert_int_equal(w.vs.change_pte_hits, change_pte_expected(&w));
	/* ...so the guest reads the KSM pages without a single fault. */
	assert_int_equal(w.refaults, 0);
}

/* After the merge: the guest maps the KSM page read-only, and a write breaks
 * COW through another CLEAR and maps a private copy writable. */
static void test_guest_write_after_merge(void **state)
{
	unsigned long warns = warn_count(), kpfn;
	unsigned long clear_before, clear_after;
	unsigned long ev[MMU_NOTIFY_NR_EVENTS];
	struct guest g;
	u64 spte;

	(void)state;
	merged_guest_new(&g);
	kpfn = guest_pfn(&g, 5);
	guest_check(&g, 5);
	spte = guest_spte(&g, 5);
	assert_int_equal((spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT, kpfn);
	assert_false(spte & KVM_SPTE_WRITABLE);
	host_notify_events(g.host, ev, MMU_NOTIFY_NR_EVENTS);
	clear_before = ev[MMU_NOTIFY_CLEAR];
	guest_write(&g, 5 * PAGE_SIZE + 16, 1234);
	host_notify_events(g.host, ev, MMU_NOTIFY_NR_EVENTS);
	clear_after = ev[MMU_NOTIFY_CLEAR];
	assert_int_equal(clear_after - clear_before, 1);
	spte = guest_spte(&g, 5);
	assert_true(spte & KVM_SPTE_WRITABLE);
	assert_int_not_equal((spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT, kpfn);
	assert_int_equal(host_read(&g, 5 * PAGE_SIZE + 16), 1234);
	assert_int_equal(guest_read(&g, 6 * PAGE_SIZE + 16), word_of(6, 2));
	assert_guest_coherent(&g);
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * Unmerging, pins, fork, mremap
 */

static void test_unmerge(void **state)
{
	unsigned long warns = warn_count(), free_merged;
	struct ksm_stats st;
	struct guest g;

	(void)state;
	merged_guest_new(&g);
	free_merged = host_nr_free_frames(g.host);

	/* Pages 8..15: private copies again, VMA split around them. */
	assert_int_equal(do_madvise(g.mm, g.hva + 8 * PAGE_SIZE,
				    8 * PAGE_SIZE, MADV_UNMERGEABLE),
			 0);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(page_is_ksm(&g, i),
				 i < MERGED && (i < 8 || i >= 16));
	for (unsigned long i = 8; i < 16; i++) {
		for (unsigned long j = i + 1; j < 16; j++)
			assert_int_not_equal(guest_pfn(&g, i),
					     guest_pfn(&g, j));
		guest_check(&g, i);
	}
	assert_int_equal(free_merged - host_nr_free_frames(g.host), 8);
	ksm_full_scans(g.host, 1);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared + st.pages_sharing, MERGED - 8);
	/* They are not merged again: the area is no longer mergeable. */
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared + st.pages_sharing, MERGED - 8);

	/* run = 2: everything unmerged and forgotten. */
	assert_int_equal(ksm_set_run(g.host, KSM_RUN_UNMERGE), 0);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, 0);
	assert_int_equal(st.pages_sharing, 0);
	assert_int_equal(st.pages_unshared, 0);
	assert_int_equal(st.stable_nodes, 0);
	for (unsigned long i = 0; i < NPAGES; i++) {
		assert_false(page_is_ksm(&g, i));
		guest_check(&g, i);
	}
	assert_guest_coherent(&g);
	guest_free(&g, warns);
}

/*
 * An mm with no mergeable area left is dropped by the next pass, and can
 * register again.
 */
static void test_reregister(void **state)
{
	unsigned long warns = warn_count();
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new(&g, CHANGE_PTE_NONE, NPAGES);
	guest_fill(&g);
	/* A hole: the scan steps over it. */
	assert_int_equal(do_madvise(g.mm, g.hva + (NPAGES - 1) * PAGE_SIZE,
				    PAGE_SIZE, MADV_DONTNEED),
			 0);
	make_mergeable(&g);
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_unshared, UNIQUE - 1);
	assert_int_equal(do_madvise(g.mm, g.hva, NPAGES * PAGE_SIZE,
				    MADV_UNMERGEABLE),
			 0);
	assert_true(atomic_long_read(&g.mm->flags) & (1L << MMF_VM_MERGEABLE));
	ksm_full_scans(g.host, 1);
	assert_false(atomic_long_read(&g.mm->flags) &
		     (1L << MMF_VM_MERGEABLE));
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared + st.pages_sharing +
				 st.pages_unshared + st.pages_volatile,
			 0);
	assert_int_equal(st.stable_nodes, 0);
	/* Nothing registered: a scan has nothing to do. */
	assert_int_equal(ksm_scan(g.host, 100), 0);
	make_mergeable(&g);
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared + st.pages_sharing, MERGED);
	guest_free(&g, warns);
}

/* Enough pages that both tables must grow; tag mode keeps it cheap. */
static void test_many_pages(void **state)
{
	struct host_config cfg = { 8192, HOST_CONTENT_TAG, CHANGE_PTE_NONE };
	unsigned long warns = warn_count(), n = 2048, pairs = 768;
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new_cfg(&g, &cfg, n);
	for (unsigned long i = 0; i < n; i++)
		guest_write(&g, i * PAGE_SIZE,
			    i < 2 * pairs ? i / 2 : (1UL << 20) + i);
	make_mergeable(&g);
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, pairs);
	assert_int_equal(st.pages_sharing, pairs);
	assert_int_equal(st.pages_unshared, n - 2 * pairs);
	assert_int_equal(st.pages_volatile, 0);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(guest_read(&g, i * PAGE_SIZE),
				 i < 2 * pairs ? i / 2 : (1UL << 20) + i);
	guest_free(&g, warns);
}

/* A pinned page is referenced beyond its mappings: never merged. */
static void test_pinned_page_not_merged(void **state)
{
	unsigned long warns = warn_count(), pinned_pfn;
	struct ksm_stats st;
	struct page *pin;
	struct guest g;

	(void)state;
	guest_new(&g, CHANGE_PTE_NONE, NPAGES);
	guest_fill(&g);
	make_mergeable(&g);
	mmap_read_lock(g.mm);
	assert_int_equal(pin_user_pages_remote(g.mm, g.hva + 2 * PAGE_SIZE, 1,
					       FOLL_WRITE | FOLL_LONGTERM,
					       &pin),
			 1);
	mmap_read_unlock(g.mm);
	pinned_pfn = page_to_pfn(pin);
	ksm_full_scans(g.host, 3);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared + st.pages_sharing, MERGED - 1);
	assert_int_equal(guest_pfn(&g, 2), pinned_pfn);
	assert_false(page_is_ksm(&g, 2));
	assert_true(pte_write(guest_pte(&g, 2)));
	/* DMA into the pinned page lands where the process sees it. */
	page_write_u64(pin, 0, 4242);
	assert_int_equal(guest_read(&g, 2 * PAGE_SIZE), 4242);
	unpin_user_page(pin);
	guest_free(&g, warns);
}

static void test_fork_and_migrate_ksm_page(void **state)
{
	unsigned long warns = warn_count(), kpfn, new_pfn;
	struct mm_struct *child;
	struct guest g;
	pte_t pte;
	u64 val;

	(void)state;
	merged_guest_new(&g);
	kpfn = guest_pfn(&g, 0);
	child = dup_mm(g.mm);
	assert_false(IS_ERR(child));
	assert_int_equal(page_mapcount(pfn_to_page(g.host, kpfn)),
			 2 * GROUP_A);
	/* The child maps the KSM page too; KSM's reverse map finds it
	 * through the parent's anon_vma before it scanned the child. */
	assert_int_equal(migrate_pfn(g.host, kpfn, &new_pfn), 0);
	assert_int_not_equal(new_pfn, kpfn);
	for (unsigned long i = 0; i < GROUP_A; i++) {
		assert_int_equal(guest_pfn(&g, i), new_pfn);
		assert_int_equal(follow_pte(child, g.hva + i * PAGE_SIZE, &pte),
				 0);
		assert_int_equal(pte_pfn(pte), new_pfn);
		assert_false(pte_write(pte));
	}
	assert_true(PageKsm(pfn_to_page(g.host, new_pfn)));
	assert_false(PageKsm(pfn_to_page(g.host, kpfn)));
	/* The child writes: its copy, not the parent's data. */
	assert_int_equal(cpu_write_u64(child, g.hva, 5), 0);
	guest_check(&g, 0);
	assert_int_equal(cpu_read_u64(child, g.hva + PAGE_SIZE, &val), 0);
	assert_int_equal(val, word_of(1, 0));
	/* The child's scan appends its mappings to the stable node. */
	ksm_full_scans(g.host, 2);
	mmput(child);
	ksm_full_scans(g.host, 1);
	assert_guest_coherent(&g);
	guest_free(&g, warns);
}

static void test_mremap_unmerges(void **state)
{
	unsigned long warns = warn_count();
	struct guest g;
	long to;

	(void)state;
	merged_guest_new(&g);
	to = do_mremap(g.mm, g.hva, 4 * PAGE_SIZE, 4 * PAGE_SIZE,
		       MREMAP_MAYMOVE | MREMAP_FIXED, g.hva + (1UL << 30));
	assert_int_equal(to, g.hva + (1UL << 30));
	for (unsigned long i = 0; i < 4; i++) {
		pte_t pte;
		u64 val;

		assert_int_equal(follow_pte(g.mm, to + i * PAGE_SIZE, &pte), 0);
		assert_true(pte_present(pte));
		assert_false(PageKsm(pfn_to_page(g.host, pte_pfn(pte))));
		assert_int_equal(cpu_read_u64(g.mm, to + i * PAGE_SIZE + 8,
					      &val),
				 0);
		assert_int_equal(val, word_of(i, 1));
	}
	/* The moved area is still mergeable. */
	ksm_full_scans(g.host, 3);
	for (unsigned long i = 0; i < 4; i++) {
		pte_t pte;

		assert_int_equal(follow_pte(g.mm, to + i * PAGE_SIZE, &pte), 0);
		assert_true(PageKsm(pfn_to_page(g.host, pte_pfn(pte))));
	}
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * Tag mode, empty pages, ksmd
 */

static void test_tag_mode_and_zero_pages(void **state)
{
	struct host_config cfg = { 4096, HOST_CONTENT_TAG, CHANGE_PTE_NONE };
	unsigned long warns = warn_count();
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new_cfg(&g, &cfg, NPAGES);
	/* Tags: equal tags merge; pages written with 0 merge too, into a
	 * KSM page rather than the zero page. */
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_write(&g, i * PAGE_SIZE, i < 40 ? 0 : 1 + i % 2);
	make_mergeable(&g);
	ksm_full_scans(g.host, 2);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, 3);
	assert_int_equal(st.pages_sharing, NPAGES - 3);
	for (unsigned long i = 0; i < NPAGES; i++) {
		assert_true(page_is_ksm(&g, i));
		assert_false(is_zero_pfn(guest_pfn(&g, i)));
		assert_int_equal(guest_read(&g, i * PAGE_SIZE),
				 i < 40 ? 0 : 1 + i % 2);
	}
	guest_write(&g, 0, 9);
	assert_int_equal(guest_read(&g, 0), 9);
	assert_int_equal(guest_read(&g, PAGE_SIZE), 0);
	guest_free(&g, warns);
}

static void test_ksmd(void **state)
{
	struct host_config cfg = { 4096, HOST_CONTENT_DATA, CHANGE_PTE_NONE,
				   KSM_RUN_MERGE, 8, 1 };
	unsigned long warns = warn_count();
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new_cfg(&g, &cfg, NPAGES);
	guest_fill(&g);
	make_mergeable(&g);
	for (int ms = 0; ms < 10000; ms++) {
		ksm_stats_of(&g, &st);
		if (st.pages_shared + st.pages_sharing == MERGED)
			break;
		msleep(1);
	}
	assert_int_equal(st.pages_shared + st.pages_sharing, MERGED);
	assert_int_equal(ksm_set_run(g.host, KSM_RUN_STOP), 0);
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_check(&g, i);
	assert_int_equal(ksm_set_run(g.host, 7), -EINVAL);
	cfg.ksm_run = KSM_RUN_UNMERGE;
	assert_true(IS_ERR(host_create(&cfg)));
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * Migrating a KSM page while the scanner drops one of its rmap_items
 */

/*
 * Subscribed after KVM: its end callback runs inside the migration of the
 * KSM page, right after the first of its PTEs became a migration entry.
 * There it starts a scan pass in another task, which finds no page at that
 * address (only the entry) and so drops the address's rmap_item from the
 * stable node, the node through which the migration will look for its
 * entries again to point them at the new page.  Under the deterministic
 * scheduler, round robin, the callback then lets the scanner run until it
 * finished or is blocked.
 */
struct ksm_hook {
	struct mmu_notifier mn;
	struct guest *g;
	unsigned long start, end;
	bool armed, fired;
	int done;
};

static int scan_pass_thread(void *arg)
{
	struct ksm_hook *h = arg;

	ksm_scan(h->g->host, 4 * NPAGES);
	WRITE_ONCE(h->done, 1);
	return 0;
}

static struct task_struct *hook_scanner;

static void ksm_hook_end(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *r)
{
	struct ksm_hook *h = container_of(mn, struct ksm_hook, mn);

	if (!h->armed || r->event != MMU_NOTIFY_CLEAR || r->start < h->start ||
	    r->start >= h->end)
		return;
	h->armed = false;
	h->fired = true;
	hook_scanner = kthread_run(scan_pass_thread, h, "ksm_scan");
	for (int i = 0; i < 200000 && !READ_ONCE(h->done); i++)
		cond_resched();
}

static const struct mmu_notifier_ops ksm_hook_ops = {
	.invalidate_range_end = ksm_hook_end,
};

static bool migration_entry_at(struct guest *g, unsigned long i)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(g->mm, g->hva + i * PAGE_SIZE, &ptl);
	bool ret;

	if (!pte)
		return false;
	ret = is_migration_pte(ptep_get(pte));
	spin_unlock(ptl);
	return ret;
}

/*
 * The migration must find, when it restores them, every entry it
 * installed: the scanner may not take an item off the stable node while
 * the KSM page is locked for the move.  Left behind, the entry would name
 * the old frame after it was freed, and its data would be lost.
 */
static void test_migrate_ksm_page_while_scanned(void **state)
{
	struct det_config dc = { .strategy = DET_STRATEGY_ROUND_ROBIN };
	unsigned long warns = warn_count(), kpfn;
	struct det_result res;
	struct ksm_hook h = { 0 };
	struct guest g;
	bool left = false;

	(void)state;
	merged_guest_new(&g);
	kpfn = guest_pfn(&g, 0);
	assert_true(page_is_ksm(&g, 0));
	h.g = &g;
	h.start = g.hva;
	h.end = g.hva + GROUP_A * PAGE_SIZE;
	h.mn.ops = &ksm_hook_ops;
	assert_int_equal(mmu_notifier_register(&h.mn, g.mm), 0);
	assert_int_equal(det_begin(&dc), 0);
	h.armed = true;
	(void)migrate_pfn(g.host, kpfn, NULL);
	assert_true(h.fired);
	kthread_stop(hook_scanner);
	assert_int_equal(det_end(&res), 0);
	mmu_notifier_unregister(&h.mn, g.mm);
	for (unsigned long i = 0; i < NPAGES; i++)
		left |= migration_entry_at(&g, i);
	assert_false(left);
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_check(&g, i);
	assert_guest_coherent(&g);
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * Scanning against running vCPUs
 */

#define NVCPUS 3
#define ROUNDS 40	/* per vCPU; a deterministic run does fewer */
#define DET_ROUNDS 12

struct par {
	struct guest *g;
	struct kvm_vcpu *vcpus[NVCPUS];
	u64 rounds;
	int stop;
	atomic_t errors;
};

/* The run the vCPU threads belong to. */
static struct par *cur_par;

/*
 * vCPU @id owns pages id, id + NVCPUS, ...; it keeps them identical to
 * each other (so KSM keeps merging them) and checks that what it reads is
 * what it last wrote: a write lost to a merge, or a stale translation,
 * shows as a mismatch.
 */
static int vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct par *p = READ_ONCE(cur_par);
	int id = kvm_vcpu_id(vcpu);

	for (u64 round = 1; round <= p->rounds; round++) {
		u64 val = (u64)id << 32 | round;

		for (unsigned long i = id; i < NPAGES; i += NVCPUS) {
			if (kvm_vcpu_write_u64(vcpu, i * PAGE_SIZE, val))
				atomic_inc(&p->errors);
		}
		for (int spin = 0; spin < 3; spin++) {
			for (unsigned long i = id; i < NPAGES; i += NVCPUS) {
				u64 got = 0;

				if (kvm_vcpu_read_u64(vcpu, i * PAGE_SIZE,
						      &got) ||
				    got != val)
					atomic_inc(&p->errors);
			}
		}
	}
	return 0;
}

static int scan_thread(void *arg)
{
	struct par *p = arg;

	while (!READ_ONCE(p->stop))
		ksm_scan(p->g->host, 8);
	return 0;
}

static void run_parallel(struct guest *g, u64 rounds)
{
	struct task_struct *t[NVCPUS], *scanner;
	struct par p = { .g = g, .rounds = rounds };

	WRITE_ONCE(cur_par, &p);
	for (int i = 0; i < NVCPUS; i++) {
		p.vcpus[i] = i ? kvm_vcpu_create(g->kvm) : g->vcpu;
		assert_false(IS_ERR(p.vcpus[i]));
	}
	for (unsigned long i = 0; i < NPAGES; i++)
		guest_write(g, i * PAGE_SIZE, 0);
	make_mergeable(g);
	scanner = kthread_run(scan_thread, &p, "ksm_scan");
	for (int i = 0; i < NVCPUS; i++)
		t[i] = kthread_run(vcpu_thread, p.vcpus[i], "vcpu");
	for (int i = 0; i < NVCPUS; i++)
		kthread_stop(t[i]);
	WRITE_ONCE(p.stop, 1);
	kthread_stop(scanner);
	WRITE_ONCE(cur_par, NULL);
	assert_int_equal(atomic_read(&p.errors), 0);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(host_read(g, i * PAGE_SIZE),
				 (u64)(i % NVCPUS) << 32 | rounds);
	assert_guest_coherent(g);
}

static void test_scan_under_vcpus(void **state)
{
	unsigned long warns = warn_count();
	struct ksm_stats st;
	struct guest g;

	(void)state;
	guest_new(&g, CHANGE_PTE_NONE, NPAGES);
	run_parallel(&g, ROUNDS);
	/*
	 * Quiet now: the rest of the pass under way, one pass to see the
	 * last checksums, one to merge each vCPU's identical pages.
	 */
	ksm_full_scans(g.host, 3);
	ksm_stats_of(&g, &st);
	assert_int_equal(st.pages_shared, NVCPUS);
	assert_int_equal(st.pages_sharing, NPAGES - NVCPUS);
	guest_free(&g, warns);
}

static void test_scan_under_vcpus_det(void **state)
{
	unsigned long warns = warn_count();

	(void)state;
	for (u64 seed = 1; seed <= 6; seed++) {
		struct det_config dc = { .seed = seed,
					 .strategy = DET_STRATEGY_RANDOM };
		enum change_pte_mode mode = seed % 3;
		struct det_result res;
		struct guest g;

		guest_new(&g, mode, NPAGES);
		assert_int_equal(det_begin(&dc), 0);
		run_parallel(&g, DET_ROUNDS);
		assert_int_equal(det_end(&res), 0);
		guest_free(&g, warns);
	}
}

/*
 * A fault's anon_vma_prepare() sets vma->anon_vma under the shared
 * mmap_lock while a KSM pass, under the same shared lock, reads it to
 * decide whether the VMA has anonymous pages.  Neither lock orders the two,
 * so the read must be READ_ONCE: this runs the two side by side on real
 * threads for ThreadSanitizer, which reports a plain read of the field
 * against the fault's write whenever the two read-side sections overlap.
 */
struct anon_vma_race {
	struct host *host;
	struct mm_struct *mm;
	int stop;
};

static int anon_vma_scanner(void *arg)
{
	struct anon_vma_race *r = arg;

	while (!READ_ONCE(r->stop))
		ksm_scan(r->host, 64);
	return 0;
}

static void test_scan_races_anon_vma_prepare(void **state)
{
	const struct host_config cfg = { .nr_frames = 256 };
	unsigned long warns = warn_count();
	struct anon_vma_race r = { 0 };
	struct task_struct *scanner;

	(void)state;
	r.host = host_create(&cfg);
	assert_non_null(r.host);
	r.mm = mm_alloc(r.host);
	assert_non_null(r.mm);
	scanner = kthread_run(anon_vma_scanner, &r, "ksm_scan");
	for (int i = 0; i < 2000; i++) {
		long addr = vm_mmap(r.mm, 0, 4 * PAGE_SIZE,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS);

		assert_true(addr > 0);
		assert_int_equal(do_madvise(r.mm, addr, 4 * PAGE_SIZE,
					    MADV_MERGEABLE),
				 0);
		/* The first write fault prepares the anon_vma. */
		assert_int_equal(cpu_write_u64(r.mm, addr, i), 0);
		assert_int_equal(vm_munmap(r.mm, addr, 4 * PAGE_SIZE), 0);
	}
	WRITE_ONCE(r.stop, 1);
	kthread_stop(scanner);
	mmput(r.mm);
	assert_int_equal(host_destroy(r.host), 0);
	assert_int_equal(warn_count(), warns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_guest_memory),
		cmocka_unit_test(test_merge_wave_none),
		cmocka_unit_test(test_merge_wave_bookended),
		cmocka_unit_test(test_merge_wave_direct),
		cmocka_unit_test(test_guest_write_after_merge),
		cmocka_unit_test(test_unmerge),
		cmocka_unit_test(test_reregister),
		cmocka_unit_test(test_many_pages),
		cmocka_unit_test(test_pinned_page_not_merged),
		cmocka_unit_test(test_fork_and_migrate_ksm_page),
		cmocka_unit_test(test_migrate_ksm_page_while_scanned),
		cmocka_unit_test(test_mremap_unmerges),
		cmocka_unit_test(test_tag_mode_and_zero_pages),
		cmocka_unit_test(test_ksmd),
		cmocka_unit_test(test_scan_under_vcpus),
		cmocka_unit_test(test_scan_under_vcpus_det),
		cmocka_unit_test(test_scan_races_anon_vma_prepare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
