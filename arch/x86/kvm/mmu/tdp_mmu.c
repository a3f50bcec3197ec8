// SPDX-License-Identifier: MIT
/*
 * The TDP MMU: four-level guest-physical page tables (EPT-like), one root
 * per VM.
 *
 * Concurrency, as in x86's TDP MMU: faults hold mmu_lock for read and
 * install entries with compare-and-swap, so vCPUs fault in parallel and a
 * lost race is simply retried; zaps hold mmu_lock for write.  Non-leaf
 * tables are never freed while the VM lives, so vCPUs in guest mode walk
 * the tables without any lock, as the hardware does.
 *
 * A present leaf is never replaced by a present leaf with a different
 * pfn: it is zapped (and the TLBs flushed) first.
 *
 * A level-1 entry may be a 2 MiB leaf (KVM_SPTE_LARGE) when the host maps
 * the page with a huge PMD (see kvm_tdp_page_fault()); any invalidation
 * that overlaps it zaps it whole, as the TDP MMU does.  Model: a 2 MiB
 * leaf goes only where the level-1 entry is empty; where a PTE table is
 * already there the fault maps 4 KiB (Linux replaces the table and frees
 * it after an RCU grace period, which the model's lock-free vCPU walks
 * do not wait for).  No SPTE prefetch, as in the TDP MMU.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../../virt/kvm/kvm_host.h"

#define TDP_LEVELS 4
#define TDP_ENTRIES 512

static unsigned int tdp_index(gfn_t gfn, int level)
{
	return (gfn >> (9 * level)) & (TDP_ENTRIES - 1);
}

static u64 *tdp_table(u64 spte)
{
	return (u64 *)(uintptr_t)(spte & KVM_SPTE_PFN_MASK);
}

static u64 *tdp_alloc_table(void)
{
	u64 *t = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

	if (t)
		memset(t, 0, PAGE_SIZE);
	return t;
}

static unsigned long spte_pfn(u64 spte)
{
	return (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;
}

int kvm_tdp_mmu_init(struct kvm *kvm)
{
	kvm->root = tdp_alloc_table();
	return kvm->root ? 0 : -ENOMEM;
}

static void free_tables(u64 *table, int level)
{
	if (level > 0) {
		for (int i = 0; i < TDP_ENTRIES; i++) {
			if ((table[i] & KVM_SPTE_PRESENT) &&
			    !(table[i] & KVM_SPTE_LARGE))
				free_tables(tdp_table(table[i]), level - 1);
		}
	}
	free(table);
}

/* Called after every leaf was zapped (release or destroy). */
void kvm_tdp_mmu_destroy(struct kvm *kvm)
{
	if (kvm->root)
		free_tables(kvm->root, TDP_LEVELS - 1);
	kvm->root = NULL;
}

/**
 * kvm_tdp_mmu_walk() - the leaf entry for @gfn (a 2 MiB leaf's level-1
 * entry, see kvm_spte_4k()), or NULL; no locks.
 */
u64 *kvm_tdp_mmu_walk(struct kvm *kvm, gfn_t gfn)
{
	u64 *table = kvm->root;

	for (int level = TDP_LEVELS - 1; level > 0; level--) {
		u64 *slot = &table[tdp_index(gfn, level)];
		u64 e = READ_ONCE(*slot);

		if (!(e & KVM_SPTE_PRESENT))
			return NULL;
		if (e & KVM_SPTE_LARGE)
			return slot;
		table = tdp_table(e);
	}
	return &table[tdp_index(gfn, 0)];
}

u64 kvm_tdp_mmu_read_spte(struct kvm *kvm, gfn_t gfn)
{
	u64 *leaf = kvm_tdp_mmu_walk(kvm, gfn);

	return leaf ? kvm_spte_4k(READ_ONCE(*leaf), gfn) : 0;
}

/**
 * kvm_tdp_mmu_next_spte() - the first present leaf with gfn in [*@gfn,
 * @end): *@gfn moves to it.  An absent entry at any level skips the whole
 * span it would cover, so the cost follows what is mapped, not the range.
 * No locks, like kvm_tdp_mmu_walk().  Return: the SPTE, or 0 if none.
 */
u64 kvm_tdp_mmu_next_spte(struct kvm *kvm, gfn_t *gfn, gfn_t end)
{
	gfn_t g = *gfn;

	while (kvm->root && g < end) {
		u64 *table = kvm->root;
		int level;

		for (level = TDP_LEVELS - 1; level >= 0; level--) {
			u64 e = READ_ONCE(table[tdp_index(g, level)]);

			if (!(e & KVM_SPTE_PRESENT))
				break;
			if (!level || (e & KVM_SPTE_LARGE)) {
				*gfn = g;
				return kvm_spte_4k(e, g);
			}
			table = tdp_table(e);
		}
		/* The next entry at that level; gfns stay far below 2^64. */
		g = (g | ((1ULL << (9 * level)) - 1)) + 1;
	}
	return 0;
}

/*
 * The entry at @target for @gfn, creating tables with compare-and-swap;
 * NULL on ENOMEM or when a 2 MiB leaf is in the way of a 4 KiB walk (the
 * leaf is then returned in *@large).
 */
static u64 *tdp_walk_alloc(struct kvm *kvm, gfn_t gfn, int target,
			   u64 **large)
{
	u64 *table = kvm->root;

	*large = NULL;
	for (int level = TDP_LEVELS - 1; level > target; level--) {
		u64 *slot = &table[tdp_index(gfn, level)];
		u64 e = READ_ONCE(*slot);

		if (e & KVM_SPTE_LARGE) {
			*large = slot;
			return NULL;
		}
		if (!(e & KVM_SPTE_PRESENT)) {
			u64 *child = tdp_alloc_table();
			u64 none = 0;

			if (!child)
				return NULL;
			e = (u64)(uintptr_t)child | KVM_SPTE_PRESENT |
			    KVM_SPTE_WRITABLE;
			if (!try_cmpxchg(slot, &none, e)) {
				free(child);
				e = none;
				if (e & KVM_SPTE_LARGE) {
					*large = slot;
					return NULL;
				}
			}
		}
		table = tdp_table(e);
	}
	return &table[tdp_index(gfn, target)];
}

static void handle_removed_leaf(struct kvm *kvm, gfn_t gfn, u64 old);

/* Account a new leaf @spte at @gfn (level 1: 2 MiB) and tell the checker. */
static void account_new_leaf(struct kvm *kvm, gfn_t gfn, u64 spte, int level)
{
	unsigned long n = level ? TDP_ENTRIES : 1;

	if (level)
		kvm_stat_cpu_add(kvm, pages_2m, 1);
	else
		kvm_stat_cpu_add(kvm, pages_4k, 1);
	for (unsigned long i = 0; i < n; i++)
		checker_secondary_map(kvm->host, spte_pfn(spte) + i,
				      kvm_gfn_to_hva_peek(kvm, gfn + i), 1);
}

/*
 * The fault found the present leaf @old in @leaf for frame @pfn (of the
 * leaf's first gfn): spurious, an upgrade to writable, or a missed
 * invalidation.
 */
static int map_over_present(struct kvm *kvm, u64 *leaf, gfn_t gfn, u64 old,
			    unsigned long pfn, bool writable, bool write_fault)
{
	u64 new;

	/*
	 * A present leaf for another frame means an invalidation was
	 * missed.  Never re-point it in place: drop it (with a flush) and
	 * let the fault start over.
	 */
	if (WARN_ON_ONCE(spte_pfn(old) != pfn)) {
		checker_fail(kvm->host, INV_STALE_SECONDARY, spte_pfn(old), 0,
			     gfn << PAGE_SHIFT, "kvm",
			     "fault for gfn %#llx found a present SPTE "
			     "to frame %lu, GUP returned frame %lu",
			     (unsigned long long)gfn, spte_pfn(old), pfn);
		if (try_cmpxchg(leaf, &old, 0)) {
			handle_removed_leaf(kvm, gfn, old);
			kvm_flush_remote_tlbs(kvm);
		}
		return RET_PF_RETRY;
	}
	if (!writable || (old & KVM_SPTE_WRITABLE))
		return RET_PF_SPURIOUS;
	new = old | KVM_SPTE_WRITABLE | (write_fault ? KVM_SPTE_DIRTY : 0);
	return try_cmpxchg(leaf, &old, new) ? RET_PF_UPGRADED : RET_PF_RETRY;
}

/**
 * kvm_tdp_mmu_map() - install @page at @gfn; mmu_lock held for read and
 * the retry check passed.  @level 1 maps the 2 MiB around @gfn (@page is
 * then the 4 KiB page of a host huge PMD at @gfn), where no PTE table is
 * in the way; otherwise 4 KiB.  Returns RET_PF_FIXED (new SPTE),
 * RET_PF_UPGRADED (made writable), RET_PF_SPURIOUS (already mapped well
 * enough), RET_PF_RETRY (lost a race), or -ENOMEM.
 */
int kvm_tdp_mmu_map(struct kvm *kvm, gfn_t gfn, struct page *page,
		    bool writable, bool write_fault, int level)
{
	unsigned long pfn = page_to_pfn(page);
	gfn_t gfn_4k = gfn;
	u64 *large, *leaf;
	u64 old, new;

	/* As 6.12 (tdp_mmu_set_spte_atomic): faults share mmu_lock. */
	lockdep_assert_held_read(&kvm->mmu_lock);

	if (level) {
		gfn &= ~(gfn_t)(TDP_ENTRIES - 1);
		pfn &= ~(unsigned long)(TDP_ENTRIES - 1);
	}
	leaf = tdp_walk_alloc(kvm, gfn, level, &large);
	if (!leaf && large) {
		/*
		 * A 4 KiB fault under a 2 MiB leaf: its frame, or a race.  A
		 * leaf that must become writable for a 4 KiB fault (a
		 * dirty-logged slot) is zapped instead, and the retry maps
		 * 4 KiB, so that each write is logged (the TDP MMU splits it).
		 */
		old = READ_ONCE(*large);
		if (!(old & KVM_SPTE_PRESENT))
			return RET_PF_RETRY;
		if (writable && !(old & KVM_SPTE_WRITABLE)) {
			if (try_cmpxchg(large, &old, 0)) {
				handle_removed_leaf(kvm, gfn & ~(gfn_t)511, old);
				kvm_flush_remote_tlbs(kvm);
			}
			return RET_PF_RETRY;
		}
		return map_over_present(kvm, large, gfn & ~(gfn_t)511, old,
					pfn - (gfn & 511), writable,
					write_fault);
	}
	if (!leaf)
		return -ENOMEM;
	old = READ_ONCE(*leaf);
	if (old & KVM_SPTE_PRESENT) {
		if (level && !(old & KVM_SPTE_LARGE))
			return kvm_tdp_mmu_map(kvm, gfn_4k, page, writable,
					       write_fault, 0);
		return map_over_present(kvm, leaf, gfn, old, pfn, writable,
					write_fault);
	}
	new = ((u64)pfn << PAGE_SHIFT) | KVM_SPTE_PRESENT | KVM_SPTE_ACCESSED |
	      (writable ? KVM_SPTE_WRITABLE : 0) |
	      (write_fault ? KVM_SPTE_DIRTY : 0) | (level ? KVM_SPTE_LARGE : 0);
	if (!try_cmpxchg(leaf, &old, new))
		return RET_PF_RETRY;
	account_new_leaf(kvm, gfn, new, level);
	return RET_PF_FIXED;
}

/*
 * A leaf went away: hand its dirty and accessed state to the page before
 * the zap returns (the primary MMU may free or write back the page right
 * after), and drop the pin of a pinned VM.
 */
static void handle_removed_leaf(struct kvm *kvm, gfn_t gfn, u64 old)
{
	struct page *page = pfn_to_page(kvm->host, spte_pfn(old));
	unsigned long n = (old & KVM_SPTE_LARGE) ? TDP_ENTRIES : 1;

	for (unsigned long i = 0; i < n; i++) {
		struct page *p = pfn_to_page(kvm->host, spte_pfn(old) + i);

		if (old & KVM_SPTE_DIRTY)
			set_page_dirty(p);
		if (old & KVM_SPTE_ACCESSED)
			mark_page_accessed(p);
		checker_secondary_map(kvm->host, spte_pfn(old) + i,
				      kvm_gfn_to_hva_peek(kvm, gfn + i), -1);
	}
	/* Not mmu_shadow_zapped: that counts page-table pages, not leaves. */
	if (n > 1)
		kvm_stat_cpu_add(kvm, pages_2m, -1);
	else
		kvm_stat_cpu_add(kvm, pages_4k, -1);
	if (kvm_pinned(kvm)) {
		unpin_user_page(page);
		atomic_long_dec(&kvm->stat.pinned_pages);
	}
}

typedef bool (*leaf_fn)(struct kvm *kvm, u64 *leaf, gfn_t gfn);

/* Visit every present leaf with gfn in [start, end): work proportional to
 * the populated part of the range. */
static bool for_each_leaf(struct kvm *kvm, u64 *table, int level, gfn_t base,
			  gfn_t start, gfn_t end, leaf_fn fn)
{
	gfn_t span = 1ULL << (9 * level);
	unsigned int first = start > base ? (start - base) / span : 0;
	bool ret = false;

	for (unsigned int i = first; i < TDP_ENTRIES; i++) {
		gfn_t lo = base + i * span;
		u64 e;

		if (lo >= end)
			break;
		e = READ_ONCE(table[i]);
		if (!(e & KVM_SPTE_PRESENT))
			continue;
		if (level > 0 && !(e & KVM_SPTE_LARGE))
			ret |= for_each_leaf(kvm, tdp_table(e), level - 1, lo,
					     start, end, fn);
		else /* a 4 KiB leaf, or a 2 MiB one the range overlaps */
			ret |= fn(kvm, &table[i], lo);
	}
	return ret;
}

static bool walk_range(struct kvm *kvm, struct kvm_gfn_range *r, leaf_fn fn)
{
	if (!kvm->root || r->start >= r->end)
		return false;
	return for_each_leaf(kvm, kvm->root, TDP_LEVELS - 1, 0, r->start,
			     r->end, fn);
}

static bool zap_leaf(struct kvm *kvm, u64 *leaf, gfn_t gfn)
{
	u64 old = xchg(leaf, 0);

	if (!(old & KVM_SPTE_PRESENT))
		return false;
	handle_removed_leaf(kvm, gfn, old);
	return true;
}

/**
 * kvm_tdp_mmu_unmap_gfn_range() - zap every leaf in the range; mmu_lock
 * held for write.  True if anything was zapped: the caller must flush the
 * vCPU TLBs before dropping mmu_lock.
 */
bool kvm_tdp_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r)
{
	/* As 6.12 (kvm_tdp_mmu_zap_leafs): zaps exclude faults. */
	lockdep_assert_held_write(&kvm->mmu_lock);
	return walk_range(kvm, r, zap_leaf);
}

static bool age_leaf(struct kvm *kvm, u64 *leaf, gfn_t gfn)
{
	u64 old;

	(void)kvm;
	(void)gfn;
	old = atomic64_fetch_and(~KVM_SPTE_ACCESSED, (atomic64_t *)leaf);
	return old & KVM_SPTE_ACCESSED;
}

static bool test_age_leaf(struct kvm *kvm, u64 *leaf, gfn_t gfn)
{
	(void)kvm;
	(void)gfn;
	return READ_ONCE(*leaf) & KVM_SPTE_ACCESSED;
}

/** kvm_tdp_mmu_age_gfn_range() - test and clear accessed bits. */
bool kvm_tdp_mmu_age_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r)
{
	/* As 6.12 (kvm_tdp_mmu_age_gfn_range walks under mmu_lock). */
	lockdep_assert_held(&kvm->mmu_lock);
	return walk_range(kvm, r, age_leaf);
}

/** kvm_tdp_mmu_test_age_gfn() - any accessed bit set in the range? */
bool kvm_tdp_mmu_test_age_gfn(struct kvm *kvm, struct kvm_gfn_range *r)
{
	/* As 6.12 (kvm_tdp_mmu_test_age_gfn walks under mmu_lock). */
	lockdep_assert_held(&kvm->mmu_lock);
	return walk_range(kvm, r, test_age_leaf);
}

/**
 * kvm_tdp_mmu_set_spte_gfn() - change_pte: the host now maps @host_pte at
 * the HVA of @gfn.  A writable new PTE just zaps; a read-only one is
 * installed in place of the old leaf, by zapping it first.  True if a
 * present SPTE was found (the caller flushes).  mmu_lock held for write.
 */
bool kvm_tdp_mmu_set_spte_gfn(struct kvm *kvm, gfn_t gfn, pte_t host_pte)
{
	u64 *leaf = kvm_tdp_mmu_walk(kvm, gfn);
	u64 old;

	/* As 6.12 (tdp_mmu_set_spte): a non-atomic SPTE change. */
	lockdep_assert_held_write(&kvm->mmu_lock);

	if (!leaf)
		return false;
	old = xchg(leaf, 0);
	if (!(old & KVM_SPTE_PRESENT))
		return false;
	if (old & KVM_SPTE_LARGE) {
		/* A 2 MiB leaf is zapped whole; the vCPU refaults 4 KiB. */
		handle_removed_leaf(kvm, gfn & ~(gfn_t)511, old);
		return true;
	}
	handle_removed_leaf(kvm, gfn, old);
	if (!pte_write(host_pte) && pte_present(host_pte)) {
		WRITE_ONCE(*leaf, ((u64)pte_pfn(host_pte) << PAGE_SHIFT) |
					  KVM_SPTE_PRESENT);
		kvm_stat_cpu_add(kvm, pages_4k, 1);
		checker_secondary_map(kvm->host, pte_pfn(host_pte),
				      kvm_gfn_to_hva_peek(kvm, gfn), 1);
	}
	return true;
}

static bool wrprot_leaf(struct kvm *kvm, u64 *leaf, gfn_t gfn)
{
	u64 old;

	(void)kvm;
	(void)gfn;
	old = atomic64_fetch_and(~KVM_SPTE_WRITABLE, (atomic64_t *)leaf);
	return old & KVM_SPTE_WRITABLE;
}

/**
 * kvm_tdp_mmu_wrprot_gfn_range() - make the leaves of the range read-only
 * (dirty logging); mmu_lock held for write.  True if any was writable:
 * the caller flushes the vCPU TLBs.
 */
bool kvm_tdp_mmu_wrprot_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r)
{
	/* As 6.12 (write-protecting for dirty logging, write-locked here). */
	lockdep_assert_held_write(&kvm->mmu_lock);
	return walk_range(kvm, r, wrprot_leaf);
}

/* The first present leaf with gfn in [start, end), for the checker. */
static bool peek_leaf(u64 *table, int level, gfn_t base, gfn_t start,
		      gfn_t end, gfn_t *gfn, u64 *spte)
{
	gfn_t span = 1ULL << (9 * level);
	unsigned int first = start > base ? (start - base) / span : 0;

	for (unsigned int i = first; i < TDP_ENTRIES; i++) {
		gfn_t lo = base + i * span;
		u64 e;

		if (lo >= end)
			break;
		e = checker_peek(table[i]);
		if (!(e & KVM_SPTE_PRESENT))
			continue;
		if (level > 0 && (e & KVM_SPTE_LARGE)) {
			*gfn = lo > start ? lo : start;
			*spte = kvm_spte_4k(e, *gfn);
			return true;
		}
		if (level > 0) {
			if (peek_leaf(tdp_table(e), level - 1, lo, start, end,
				      gfn, spte))
				return true;
			continue;
		}
		*gfn = lo;
		*spte = e;
		return true;
	}
	return false;
}

/**
 * kvm_tdp_mmu_peek_range() - the checker's contract query: the first
 * present leaf with gfn in [@start, @end), read without locks or
 * scheduling points (tables are never freed while the VM lives).
 * Return: true with *@gfn and *@spte set, false if none.
 */
bool kvm_tdp_mmu_peek_range(struct kvm *kvm, gfn_t start, gfn_t end,
			    gfn_t *gfn, u64 *spte)
{
	if (!kvm->root || start >= end)
		return false;
	return peek_leaf(kvm->root, TDP_LEVELS - 1, 0, start, end, gfn, spte);
}
