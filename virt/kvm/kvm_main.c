// SPDX-License-Identifier: MIT
/*
 * VMs, memslots and the MMU-notifier callbacks that keep the TDP MMU
 * coherent with the primary MMU (the vCPU is arch/x86/kvm/x86.c's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_host.h"

DEFINE_TRACE(kvm_page_fault);
DEFINE_TRACE(kvm_unmap_hva_range);
DEFINE_TRACE(mmulab_kvm_invalidate_range_end);
DEFINE_TRACE(mmulab_kvm_fault_snapshot);
DEFINE_TRACE(mmulab_kvm_fault_pfn);
DEFINE_TRACE(mmulab_kvm_fault_locked);
DEFINE_TRACE(mmulab_kvm_fault_retry);
DEFINE_TRACE(mmulab_kvm_fault_install);

static inline struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}

/* ---------------------------------------------------------------------
 * Memslots
 */

/** gfn_to_memslot() - the slot containing @gfn, by binary search. */
struct kvm_memory_slot *gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn)
{
	int lo = 0, hi = slots->nr - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct kvm_memory_slot *s = slots->sorted[mid];

		if (gfn < s->base_gfn)
			hi = mid - 1;
		else if (gfn >= s->base_gfn + s->npages)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/**
 * kvm_gfn_to_hva_peek() - the host virtual address of @gfn, or 0, for the
 * checker: memslots read without SRCU or scheduling point.  Callers run
 * where the generation cannot be freed under them (inside a notifier
 * invalidation, which memslot updates wait for, or in the updater).
 */
unsigned long kvm_gfn_to_hva_peek(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memslots *slots = checker_peek(kvm->memslots);
	struct kvm_memory_slot *slot = slots ? gfn_to_memslot(slots, gfn) : NULL;

	return slot ? slot->userspace_addr +
			      ((gfn - slot->base_gfn) << PAGE_SHIFT)
		    : 0;
}

static int cmp_base_gfn(const void *a, const void *b)
{
	const struct kvm_memory_slot *x = *(struct kvm_memory_slot *const *)a;
	const struct kvm_memory_slot *y = *(struct kvm_memory_slot *const *)b;

	return x->base_gfn < y->base_gfn ? -1 : x->base_gfn > y->base_gfn;
}

/* Rebuild the lookup structures of a generation from its by_id table. */
static void memslots_index(struct kvm_memslots *slots)
{
	slots->nr = 0;
	slots->hva_tree = (struct interval_tree_root)INTERVAL_TREE_ROOT;
	for (int id = 0; id < KVM_MAX_MEMSLOTS; id++) {
		struct kvm_memory_slot *s = slots->by_id[id];

		if (!s)
			continue;
		slots->sorted[slots->nr++] = s;
		s->hva_node.start = s->userspace_addr;
		s->hva_node.last = slot_hva_end(s) - 1;
		interval_tree_insert(&s->hva_node, &slots->hva_tree);
	}
	qsort(slots->sorted, slots->nr, sizeof(slots->sorted[0]),
	      cmp_base_gfn);
}

/* A new generation with the same slots as @old (or none). */
static struct kvm_memslots *memslots_copy(const struct kvm_memslots *old)
{
	struct kvm_memslots *slots = calloc(1, sizeof(*slots));

	if (!slots)
		return NULL;
	for (int id = 0; old && id < KVM_MAX_MEMSLOTS; id++) {
		if (!old->by_id[id])
			continue;
		slots->slots[id] = *old->by_id[id];
		slots->by_id[id] = &slots->slots[id];
	}
	memslots_index(slots);
	return slots;
}

/*
 * Publish a new generation.  Not while a notifier invalidation is between
 * start and end: it must see the same memslots in both, or
 * mmu_invalidate_in_progress would be raised by one generation's match
 * and lowered by another's miss.  Readers of the old generation are gone
 * once synchronize_srcu() returns.
 */
static void kvm_swap_active_memslots(struct kvm *kvm, struct kvm_memslots *new)
{
	struct kvm_memslots *old;

	spin_lock(&kvm->mn_invalidate_lock);
	while (atomic_long_read(&kvm->mn_active_invalidate_count)) {
		atomic_long_inc(&kvm->stat.memslot_waits);
		spin_unlock(&kvm->mn_invalidate_lock);
		wait_event(kvm->mn_memslots_update_wq,
			   !atomic_long_read(&kvm->mn_active_invalidate_count));
		spin_lock(&kvm->mn_invalidate_lock);
	}
	old = kvm->memslots;
	rcu_assign_pointer(kvm->memslots, new);
	spin_unlock(&kvm->mn_invalidate_lock);
	synchronize_srcu(&kvm->srcu);
	free(old);
}

static void kvm_zap_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct kvm_gfn_range r = { start, end };

	write_lock(&kvm->mmu_lock);
	if (kvm_tdp_mmu_unmap_gfn_range(kvm, &r))
		kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
}

static bool slot_overlaps(struct kvm_memslots *slots, u32 skip_id, gfn_t base,
			  unsigned long npages)
{
	for (int i = 0; i < slots->nr; i++) {
		struct kvm_memory_slot *s = slots->sorted[i];

		if (s->id != skip_id && base < s->base_gfn + s->npages &&
		    s->base_gfn < base + npages)
			return true;
	}
	return false;
}

static int check_region(const struct kvm_userspace_memory_region *mem)
{
	if (!mem || mem->slot >= KVM_MAX_MEMSLOTS ||
	    (mem->flags & ~(KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES)))
		return -EINVAL;
	if ((mem->guest_phys_addr | mem->memory_size | mem->userspace_addr) &
	    ~PAGE_MASK)
		return -EINVAL;
	if (mem->guest_phys_addr >= (1ULL << 48) ||
	    mem->memory_size > (1ULL << 48) - mem->guest_phys_addr)
		return -EINVAL;
	if (mem->memory_size && (mem->userspace_addr >= TASK_SIZE ||
				 mem->memory_size > TASK_SIZE -
							    mem->userspace_addr))
		return -EINVAL;
	return 0;
}

/*
 * Delete or move: first publish the slot as invalid (new faults on it exit
 * to the VMM instead of installing SPTEs), then zap what it mapped, then
 * publish the final state.
 */
static int kvm_invalidate_slot(struct kvm *kvm, struct kvm_memory_slot *old,
			       struct kvm_memslots **out)
{
	struct kvm_memslots *inv = memslots_copy(kvm->memslots);
	gfn_t base = old->base_gfn, npages = old->npages;

	/* @old belongs to the generation the swap below frees. */
	if (!inv)
		return -ENOMEM;
	inv->by_id[old->id]->flags |= KVM_MEMSLOT_INVALID;
	kvm_swap_active_memslots(kvm, inv);
	kvm_zap_gfn_range(kvm, base, base + npages);
	*out = memslots_copy(inv);
	if (!*out) {
		/* Leave it invalid; the VMM may try again. */
		return -ENOMEM;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Dirty logging
 */

static int kvm_alloc_dirty_bitmap(struct kvm *kvm, u32 id,
				  unsigned long npages)
{
	size_t words = (npages + 63) / 64;

	kvm->dirty_bitmap[id] = calloc(words, sizeof(unsigned long));
	return kvm->dirty_bitmap[id] ? 0 : -ENOMEM;
}

/* After the memslots that referred to it are gone (synchronize_srcu). */
static void kvm_free_dirty_bitmap(struct kvm *kvm, u32 id)
{
	free(kvm->dirty_bitmap[id]);
	kvm->dirty_bitmap[id] = NULL;
}

/** mark_page_dirty_in_slot() - log a guest write to @gfn of @slot. */
void mark_page_dirty_in_slot(struct kvm *kvm, struct kvm_memory_slot *slot,
			     gfn_t gfn)
{
	unsigned long *map = kvm->dirty_bitmap[slot->id];
	unsigned long bit = gfn - slot->base_gfn;

	if (!map)
		return;
	set_bit(bit, map);
}

/* Write-protect [start, end) so the next guest write faults, and flush. */
static void kvm_wrprot_gfn_range(struct kvm *kvm, gfn_t start, gfn_t end)
{
	struct kvm_gfn_range r = { start, end };

	write_lock(&kvm->mmu_lock);
	if (kvm_tdp_mmu_wrprot_gfn_range(kvm, &r))
		kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
}

/*
 * A flags update: only dirty logging changes.  Turning it on allocates the
 * log first, then publishes the flag, then write-protects what is mapped,
 * so no write after this call goes unlogged.
 */
static int kvm_update_slot_flags(struct kvm *kvm, struct kvm_memory_slot *old,
				 u32 flags)
{
	bool log = flags & KVM_MEM_LOG_DIRTY_PAGES;
	gfn_t base = old->base_gfn, npages = old->npages;
	u32 id = old->id;
	struct kvm_memslots *new;

	if (log && kvm_alloc_dirty_bitmap(kvm, id, npages))
		return -ENOMEM;
	new = memslots_copy(kvm->memslots);
	if (!new) {
		if (log)
			kvm_free_dirty_bitmap(kvm, id);
		return -ENOMEM;
	}
	new->by_id[id]->flags = flags;
	memslots_index(new);
	kvm_swap_active_memslots(kvm, new); /* @old is gone from here on */
	if (log)
		kvm_wrprot_gfn_range(kvm, base, base + npages);
	else
		kvm_free_dirty_bitmap(kvm, id);
	return 0;
}

int kvm_get_dirty_log(struct kvm *kvm, u32 id, unsigned long *bitmap)
{
	struct kvm_memory_slot *slot;
	int r = -EINVAL;

	if (!kvm || !bitmap || id >= KVM_MAX_MEMSLOTS)
		return -EINVAL;
	mutex_lock(&kvm->slots_lock);
	slot = kvm->memslots->by_id[id];
	if (slot && (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
	    kvm->dirty_bitmap[id]) {
		unsigned long *map = kvm->dirty_bitmap[id];

		for (size_t w = 0; w < (slot->npages + 63) / 64; w++)
			bitmap[w] = xchg(&map[w], 0);
		/* Logged pages must fault again on their next write. */
		for (unsigned long i = 0; i < slot->npages; i++) {
			if (!bitmap[i / 64]) {
				i |= 63; /* a clean word: skip it whole */
				continue;
			}
			if (bitmap[i / 64] & (1UL << (i % 64)))
				kvm_wrprot_gfn_range(kvm, slot->base_gfn + i,
						     slot->base_gfn + i + 1);
		}
		r = 0;
	}
	mutex_unlock(&kvm->slots_lock);
	return r;
}

static int set_region_locked(struct kvm *kvm,
			     const struct kvm_userspace_memory_region *mem)
{
	struct kvm_memory_slot *old = kvm->memslots->by_id[mem->slot];
	gfn_t base = mem->guest_phys_addr >> PAGE_SHIFT;
	unsigned long npages = mem->memory_size >> PAGE_SHIFT;
	struct kvm_memslots *new;
	struct kvm_memory_slot s;
	int r;

	if (!npages) { /* delete */
		if (!old)
			return -EINVAL;
		r = kvm_invalidate_slot(kvm, old, &new);
		if (r)
			return r;
		new->by_id[mem->slot] = NULL;
		memslots_index(new);
		kvm_swap_active_memslots(kvm, new);
		kvm_free_dirty_bitmap(kvm, mem->slot);
		return 0;
	}
	if (slot_overlaps(kvm->memslots, mem->slot, base, npages))
		return -EEXIST;
	if (!old) { /* create */
		new = memslots_copy(kvm->memslots);
		if (!new)
			return -ENOMEM;
		s = (struct kvm_memory_slot){ .base_gfn = base,
					      .npages = npages,
					      .userspace_addr =
						      mem->userspace_addr,
					      .flags = mem->flags,
					      .id = mem->slot };
		if ((mem->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
		    kvm_alloc_dirty_bitmap(kvm, mem->slot, npages)) {
			free(new);
			return -ENOMEM;
		}
		new->slots[mem->slot] = s;
		new->by_id[mem->slot] = &new->slots[mem->slot];
		memslots_index(new);
		kvm_swap_active_memslots(kvm, new);
		return 0;
	}
	/* Size, backing and read-only-ness of an existing slot are fixed. */
	if (npages != old->npages || mem->userspace_addr != old->userspace_addr ||
	    ((mem->flags ^ old->flags) & KVM_MEM_READONLY))
		return -EINVAL;
	if (mem->flags != old->flags) {
		if (base != old->base_gfn)
			return -EINVAL; /* one change at a time */
		return kvm_update_slot_flags(kvm, old, mem->flags);
	}
	if (base == old->base_gfn)
		return 0;
	r = kvm_invalidate_slot(kvm, old, &new); /* move */
	if (r)
		return r;
	new->by_id[mem->slot]->base_gfn = base;
	new->by_id[mem->slot]->flags &= ~KVM_MEMSLOT_INVALID;
	memslots_index(new);
	kvm_swap_active_memslots(kvm, new);
	return 0;
}

int kvm_set_user_memory_region(struct kvm *kvm,
			       const struct kvm_userspace_memory_region *mem)
{
	int r;

	if (!kvm)
		return -EINVAL;
	r = check_region(mem);
	if (r)
		return r;
	mutex_lock(&kvm->slots_lock);
	r = set_region_locked(kvm, mem);
	mutex_unlock(&kvm->slots_lock);
	if (!r)
		atomic_long_inc(&kvm->stat.memslot_updates);
	return r;
}

/* ---------------------------------------------------------------------
 * Remote TLB flush
 */

/**
 * kvm_make_vcpus_request() - post @req to the first @n vCPUs, which honour
 * it on their next guest entry; a full barrier follows.
 */
void kvm_make_vcpus_request(struct kvm *kvm, int n, unsigned long req)
{
	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *v = READ_ONCE(kvm->vcpus[i]);

		atomic_long_fetch_or(req, (atomic_long_t *)&v->requests);
	}
	smp_mb();
}

/**
 * kvm_flush_remote_tlbs() - make every vCPU drop its cached translations
 * before returning.  Each vCPU gets a flush request, which it honours on
 * its next guest entry; a vCPU inside guest mode now may still be using a
 * translation read before the zap, so wait for it to leave guest mode (or
 * re-enter, which means it saw the request).
 */
void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	unsigned long req;
	int n;

	if (mutant_is(MUTANT_FLUSH_NO_WAIT))
		return kvm_flush_remote_tlbs_mutant_no_wait(kvm);
	req = checker_tlb_flush_begin(&kvm->checker);
	n = atomic_read(&kvm->online_vcpus);
	atomic_long_inc(&kvm->stat.remote_tlb_flush);
	kvm_make_vcpus_request(kvm, n, KVM_REQ_TLB_FLUSH);
	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *v = READ_ONCE(kvm->vcpus[i]);
		unsigned long mode = READ_ONCE(v->mode);

		if (!(mode & IN_GUEST_MODE))
			continue;
		while (READ_ONCE(v->mode) == mode)
			cpu_relax();
	}
	checker_tlb_flush_end(&kvm->checker, req);
}

/* ---------------------------------------------------------------------
 * MMU notifier callbacks
 */

struct kvm_hva_range {
	unsigned long start, end;
	pte_t pte;
	bool (*handler)(struct kvm *kvm, struct kvm_gfn_range *r);
	void (*on_lock)(struct kvm *kvm);
	bool flush_on_ret;
	bool write;
};

struct kvm_hva_result {
	bool found_memslot;
	bool ret;
};

/*
 * Run @range->handler over the gfns of every memslot the HVA range covers.
 * mmu_lock is taken at the first memslot hit, and @on_lock runs then, so
 * an invalidation that hits no memslot leaves the invalidation state
 * alone.  Flushes the vCPU TLBs before mmu_lock is dropped if a handler
 * asked for it.
 */
static struct kvm_hva_result handle_hva_range(struct kvm *kvm,
					      const struct kvm_hva_range *range)
{
	struct kvm_hva_result res = { false, false };
	struct interval_tree_node *node;
	struct kvm_memslots *slots;
	unsigned long last = range->end - 1;
	int idx;

	idx = srcu_read_lock(&kvm->srcu);
	slots = rcu_dereference(kvm->memslots);
	for (node = interval_tree_iter_first(&slots->hva_tree, range->start,
					     last);
	     node; node = interval_tree_iter_next(node, range->start, last)) {
		struct kvm_memory_slot *slot =
			container_of(node, struct kvm_memory_slot, hva_node);
		unsigned long hs = range->start > slot->userspace_addr
					   ? range->start
					   : slot->userspace_addr;
		unsigned long he = range->end < slot_hva_end(slot)
					   ? range->end
					   : slot_hva_end(slot);
		struct kvm_gfn_range r = { hva_to_gfn(hs, slot),
					   hva_to_gfn(he + PAGE_SIZE - 1, slot),
					   range->pte };

		if (!res.found_memslot) {
			res.found_memslot = true;
			if (range->write)
				write_lock(&kvm->mmu_lock);
			else
				read_lock(&kvm->mmu_lock);
			if (range->on_lock)
				range->on_lock(kvm);
		}
		if (range->handler)
			res.ret |= range->handler(kvm, &r);
	}
	if (res.found_memslot) {
		if (range->flush_on_ret && res.ret)
			kvm_flush_remote_tlbs(kvm);
		if (range->write)
			write_unlock(&kvm->mmu_lock);
		else
			read_unlock(&kvm->mmu_lock);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return res;
}

/*
 * begin: count the invalidation and reset the gfn hull when it is the
 * first one; the hull then only grows until the count is back to zero.
 */
static void kvm_mmu_invalidate_begin(struct kvm *kvm)
{
	/* As 6.12: the fault's retry check reads this under mmu_lock. */
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->mmu_invalidate_in_progress++;
	if (kvm->mmu_invalidate_in_progress == 1) {
		kvm->mmu_invalidate_range_start = INVALID_GFN;
		kvm->mmu_invalidate_range_end = INVALID_GFN;
	}
}

void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end)
{
	/* As 6.12: the hull and the count change together. */
	lockdep_assert_held_write(&kvm->mmu_lock);
	WARN_ON_ONCE(!kvm->mmu_invalidate_in_progress);
	if (kvm->mmu_invalidate_range_start == INVALID_GFN) {
		kvm->mmu_invalidate_range_start = start;
		kvm->mmu_invalidate_range_end = end;
	} else {
		if (start < kvm->mmu_invalidate_range_start)
			kvm->mmu_invalidate_range_start = start;
		if (end > kvm->mmu_invalidate_range_end)
			kvm->mmu_invalidate_range_end = end;
	}
}

/*
 * end: bump the sequence before dropping the count, with a write barrier
 * between, so a fault that sees the count drop also sees the new sequence
 * and retries if its page was looked up before this invalidation ended.
 */
static void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	if (mutant_is(MUTANT_SEQ_AFTER_COUNT))
		return kvm_mmu_invalidate_end_mutant_seq_after_count(kvm);
	/* As 6.12: seq and count change under the write lock. */
	lockdep_assert_held_write(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
	smp_wmb();
	kvm->mmu_invalidate_in_progress--;
	if (WARN_ON_ONCE(kvm->mmu_invalidate_in_progress < 0))
		checker_fail(kvm->host, INV_PINNED_OR_UNBALANCED, ~0UL, 0,
			     ~0ULL, "kvm",
			     "invalidate_range_end without its start: "
			     "mmu_invalidate_in_progress went negative");
}

static bool kvm_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r)
{
	if (mutant_is(MUTANT_SKIP_TLB_FLUSH) || mutant_is(MUTANT_FLUSH_AT_END))
		return kvm_mmu_unmap_gfn_range_mutant_no_flush(kvm, r);
	kvm_mmu_invalidate_range_add(kvm, r->start, r->end);
	return kvm_tdp_mmu_unmap_gfn_range(kvm, r);
}

/*
 * The invalidation starts: it is counted, then the SPTEs in its range are
 * zapped and the vCPU TLBs flushed under mmu_lock.
 */
int kvm_mmu_invalidate_range_start(struct kvm *kvm,
				   const struct mmu_notifier_range *range)
{
	const struct kvm_hva_range hva_range = {
		.start = range->start,
		.end = range->end,
		.handler = kvm_mmu_unmap_gfn_range,
		.on_lock = kvm_mmu_invalidate_begin,
		.flush_on_ret = true,
		.write = true,
	};

	/*
	 * Counted before anything else, and for every invalidation: memslot
	 * updates wait for this count to drop to zero, which is what keeps
	 * the memslots seen here and in end() the same.
	 */
	spin_lock(&kvm->mn_invalidate_lock);
	atomic_long_inc(&kvm->mn_active_invalidate_count);
	spin_unlock(&kvm->mn_invalidate_lock);
	trace_kvm_unmap_hva_range(kvm, range->start, range->end);

	if (handle_hva_range(kvm, &hva_range).found_memslot)
		stat_long_add(1, &kvm->stat.mmu_invalidations);
	else
		stat_long_add(1, &kvm->stat.mmu_invalidations_nomatch);
	return 0;
}

static int kvm_mmu_notifier_invalidate_range_start(
	struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	if (mutant_is(MUTANT_SLEEP_IN_NONBLOCK))
		return kvm_mmu_notifier_invalidate_range_start_mutant_sleep(
			kvm, range);
	return kvm_mmu_invalidate_range_start(kvm, range);
}

/*
 * The invalidation's end in the memslots it hits, under mmu_lock.
 * Return: whether it hit any.
 */
bool kvm_mmu_invalidate_range_end(struct kvm *kvm,
				  const struct mmu_notifier_range *range)
{
	const struct kvm_hva_range hva_range = {
		.start = range->start,
		.end = range->end,
		.on_lock = kvm_mmu_invalidate_end,
		.write = true,
	};

	return handle_hva_range(kvm, &hva_range).found_memslot;
}

/*
 * The invalidation is no longer counted: memslot updates waiting for the
 * count to drop to zero may go on.
 */
void kvm_mn_invalidate_range_end(struct kvm *kvm,
				 const struct mmu_notifier_range *range)
{
	long left;
	bool wake;

	trace_mmulab_kvm_invalidate_range_end(kvm, range->start, range->end);
	spin_lock(&kvm->mn_invalidate_lock);
	left = atomic_long_dec_return(&kvm->mn_active_invalidate_count);
	spin_unlock(&kvm->mn_invalidate_lock);
	if (WARN_ON_ONCE(left < 0)) {
		checker_fail(kvm->host, INV_PINNED_OR_UNBALANCED, ~0UL,
			     range->start, ~0ULL, "kvm",
			     "invalidate_range_end without its start: "
			     "mn_active_invalidate_count went negative");
		atomic_long_set(&kvm->mn_active_invalidate_count, 0);
	}
	wake = left <= 0;
	if (wake)
		wake_up_all(&kvm->mn_memslots_update_wq);
}

static void
kvm_mmu_notifier_invalidate_range_end(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	if (mutant_is(MUTANT_FLUSH_AT_END))
		return kvm_mmu_notifier_invalidate_range_end_mutant_flush_at_end(
			kvm, range);
	kvm_mmu_invalidate_range_end(kvm, range);
	kvm_mn_invalidate_range_end(kvm, range);
}

static int kvm_age(struct mmu_notifier *mn, unsigned long start,
		   unsigned long end,
		   bool (*handler)(struct kvm *, struct kvm_gfn_range *),
		   bool flush)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_hva_range hva_range = {
		.start = start,
		.end = end,
		.handler = handler,
		.flush_on_ret = flush,
	};
	bool young = handle_hva_range(kvm, &hva_range).ret;

	atomic_long_inc(&kvm->stat.age_calls);
	if (young)
		atomic_long_inc(&kvm->stat.age_young);
	return young;
}

/* Aging: clear the accessed bits; the flushing variant also empties the
 * TLBs so the next access walks and sets them again. */
static int kvm_mmu_notifier_clear_flush_young(struct mmu_notifier *mn,
					      struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	(void)mm;
	return kvm_age(mn, start, end, kvm_tdp_mmu_age_gfn_range, true);
}

static int kvm_mmu_notifier_clear_young(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	(void)mm;
	return kvm_age(mn, start, end, kvm_tdp_mmu_age_gfn_range, false);
}

static int kvm_mmu_notifier_test_young(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long address)
{
	(void)mm;
	return kvm_age(mn, address, address + PAGE_SIZE,
		       kvm_tdp_mmu_test_age_gfn, false);
}

static bool kvm_change_spte_gfn(struct kvm *kvm, struct kvm_gfn_range *r)
{
	bool hit = kvm_tdp_mmu_set_spte_gfn(kvm, r->start, r->pte);

	if (hit)
		atomic_long_inc(&kvm->stat.change_pte_hits);
	return hit;
}

static void kvm_bump_seq(struct kvm *kvm)
{
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
}

/*
 * change_pte.  Bookended (2012-2024): the primary MMU calls it between
 * invalidate_range_start and end, so an invalidation is in flight and
 * start has already zapped the SPTE: assert the first (seed 000), and the
 * handler finds nothing.  Direct (2009-2012): no invalidation surrounds
 * it, so a fault that read the old PTE must be made to retry: bump the
 * sequence under mmu_lock, then update the SPTE in place.
 */
static void kvm_mmu_notifier_change_pte(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long address, pte_t pte)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	bool direct = host_config_of(mm_host(mm))->change_pte ==
		      CHANGE_PTE_DIRECT;
	const struct kvm_hva_range hva_range = {
		.start = address,
		.end = address + PAGE_SIZE,
		.pte = pte,
		.handler = kvm_change_spte_gfn,
		.on_lock = direct ? kvm_bump_seq : NULL,
		.flush_on_ret = true,
		.write = true,
	};

	atomic_long_inc(&kvm->stat.change_pte_calls);
	if (!direct &&
	    WARN_ON_ONCE(!atomic_long_read(&kvm->mn_active_invalidate_count))) {
		atomic_long_inc(&kvm->stat.change_pte_warn);
		checker_fail(kvm->host, INV_PINNED_OR_UNBALANCED, pte_pfn(pte),
			     address, ~0ULL, "kvm",
			     "change_pte for %#lx with no invalidation in "
			     "progress: a fault racing it can install the old "
			     "page",
			     address);
	}
	handle_hva_range(kvm, &hva_range);
}

static bool zap_all(struct kvm *kvm)
{
	struct kvm_gfn_range r = { 0, 1ULL << (48 - PAGE_SHIFT) };

	return kvm_tdp_mmu_unmap_gfn_range(kvm, &r);
}

/* No fault installs an SPTE from now on; mmu_lock held for write. */
static void kvm_mark_mm_dead(struct kvm *kvm)
{
	if (mutant_is(MUTANT_RELEASE_NO_DEAD_MARK))
		return; /* broken on purpose: a GUP-fast fault still installs */
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->mm_dead = true;
}

/*
 * The mm is going away: drop every SPTE and make no more.  exit_mmap()
 * unmaps and frees everything after this without telling KVM (it is
 * unlinked), and a fault that got its page by GUP-fast holds no user
 * reference that would hold the teardown off, so the mm is marked dead
 * under mmu_lock: a fault checks the mark under mmu_lock before it
 * installs.  Model: Linux 6.12 needs no mark, its vCPU threads being
 * users of the mm; here a vCPU task is not.
 */
static void kvm_mmu_notifier_release(struct mmu_notifier *mn,
				     struct mm_struct *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	(void)mm;
	if (mutant_is(MUTANT_RELEASE_LEAVES_MAPPINGS))
		return; /* broken on purpose: every SPTE stays */
	write_lock(&kvm->mmu_lock);
	kvm_mark_mm_dead(kvm);
	if (zap_all(kvm))
		kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
}

static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start = kvm_mmu_notifier_invalidate_range_start,
	.invalidate_range_end = kvm_mmu_notifier_invalidate_range_end,
	.clear_flush_young = kvm_mmu_notifier_clear_flush_young,
	.clear_young = kvm_mmu_notifier_clear_young,
	.test_young = kvm_mmu_notifier_test_young,
	.change_pte = kvm_mmu_notifier_change_pte,
	.release = kvm_mmu_notifier_release,
};

/* ---------------------------------------------------------------------
 * VM life cycle
 */

static void kvm_free(struct kvm *kvm)
{
	int n = atomic_read(&kvm->online_vcpus);

	if (kvm->checker.name)
		checker_unregister_secondary(kvm->host, &kvm->checker);

	kvm_tdp_mmu_destroy(kvm);
	for (int i = 0; i < KVM_MAX_MEMSLOTS; i++)
		free(kvm->dirty_bitmap[i]);
	for (int i = 0; i < n; i++)
		free(kvm->vcpus[i]);
	free(kvm->memslots);
	cleanup_srcu_struct(&kvm->srcu);
	mmdrop(kvm->mm);
	free(kvm);
}

struct kvm *kvm_create_vm(struct mm_struct *mm, unsigned long flags)
{
	struct kvm *kvm;
	int r;

	if (!mm || (flags & ~KVM_VM_PINNED))
		return ERR_PTR(-EINVAL);
	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return ERR_PTR(-ENOMEM);
	kvm->mm = mm;
	mmgrab(mm);
	kvm->host = mm_host(mm);
	kvm->flags = flags;
	/*
	 * Unlike 6.12's rwlock_t (one qrwlock reader count every CPU
	 * writes), mmu_lock's readers count per CPU outside deterministic
	 * runs and its writers scan the counts: the model's fault is ~15x
	 * cheaper than a real one, so that shared line's bounce would be a
	 * far larger share of it.  Same exclusion and lockdep semantics.
	 */
	percpu_rwlock_init(&kvm->mmu_lock);
	spin_lock_init(&kvm->mn_invalidate_lock);
	init_waitqueue_head(&kvm->mn_memslots_update_wq);
	mutex_init(&kvm->slots_lock);
	mutex_init(&kvm->vcpu_lock);
	init_srcu_struct(&kvm->srcu);
	kvm->mmu_invalidate_range_start = INVALID_GFN;
	kvm->mmu_invalidate_range_end = INVALID_GFN;
	kvm->memslots = memslots_copy(NULL);
	r = kvm->memslots ? kvm_tdp_mmu_init(kvm) : -ENOMEM;
	/* Watched from the first invalidation the notifier sees. */
	if (!r && checker_attached(kvm->host))
		kvm_checker_register(kvm);
	if (!r && !kvm_pinned(kvm)) {
		kvm->mmu_notifier.ops = &kvm_mmu_notifier_ops;
		r = mmu_notifier_register(&kvm->mmu_notifier, mm);
	}
	if (r) {
		kvm_free(kvm);
		return ERR_PTR(r);
	}
	return kvm;
}

void kvm_destroy_vm(struct kvm *kvm)
{
	if (!kvm)
		return;
	if (!kvm_pinned(kvm)) {
		mmu_notifier_unregister(&kvm->mmu_notifier, kvm->mm);
		/*
		 * An invalidation that was between start and end when the
		 * subscription went away will never call end here: its count
		 * is stale, not leaked.  Otherwise nothing may be in progress.
		 */
		if (atomic_long_read(&kvm->mn_active_invalidate_count))
			atomic_long_set(&kvm->mn_active_invalidate_count, 0);
		else
			WARN_ON(kvm->mmu_invalidate_in_progress);
	}
	write_lock(&kvm->mmu_lock);
	zap_all(kvm);
	write_unlock(&kvm->mmu_lock);
	kvm_free(kvm);
}

struct mm_struct *kvm_vm_mm(const struct kvm *kvm)
{
	return kvm->mm;
}

u64 kvm_lookup_spte(struct kvm *kvm, gpa_t gpa)
{
	if (!kvm || gpa >= (1ULL << 48))
		return 0;
	return kvm_tdp_mmu_read_spte(kvm, gpa >> PAGE_SHIFT);
}

u64 kvm_next_spte(struct kvm *kvm, gpa_t *gpa, gpa_t end)
{
	gfn_t gfn, last;
	u64 spte;

	if (!kvm || !gpa || *gpa >= (1ULL << 48))
		return 0;
	gfn = *gpa >> PAGE_SHIFT;
	last = (end < (1ULL << 48) ? end : 1ULL << 48) + PAGE_SIZE - 1;
	spte = kvm_tdp_mmu_next_spte(kvm, &gfn, last >> PAGE_SHIFT);
	if (spte)
		*gpa = gfn << PAGE_SHIFT;
	return spte;
}

static unsigned long slot_gfn_to_hva(const struct kvm_memory_slot *slot,
				     gfn_t gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

unsigned long gfn_to_hva_prot(struct kvm *kvm, gfn_t gfn, bool *writable)
{
	unsigned long hva = KVM_HVA_ERR_BAD;
	struct kvm_memory_slot *slot;
	int idx;

	if (!kvm)
		return KVM_HVA_ERR_BAD;
	idx = srcu_read_lock(&kvm->srcu);
	slot = gfn_to_memslot(rcu_dereference(kvm->memslots), gfn);
	if (slot && !(slot->flags & KVM_MEMSLOT_INVALID)) {
		hva = slot_gfn_to_hva(slot, gfn);
		if (writable)
			*writable = !(slot->flags & KVM_MEM_READONLY);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return hva;
}

/* One memslot's part of kvm_walk_sptes(). */
static int walk_slot_sptes(struct kvm *kvm, struct kvm_memory_slot *slot,
			   kvm_spte_fn fn, void *arg)
{
	gfn_t gfn = slot->base_gfn, end = gfn + slot->npages;
	int ret = 0;
	u64 spte;

	for (; !ret && (spte = kvm_tdp_mmu_next_spte(kvm, &gfn, end)); gfn++)
		ret = fn(gfn << PAGE_SHIFT, slot_gfn_to_hva(slot, gfn), spte,
			 arg);
	return ret;
}

/*
 * The walks behind kvm_for_each_memslot() and kvm_walk_sptes(): @slot_fn
 * or, for each slot, its SPTEs, under kvm->srcu.
 */
static int walk_memslots(struct kvm *kvm, kvm_memslot_fn slot_fn,
			 kvm_spte_fn spte_fn, void *arg)
{
	struct kvm_memslots *slots;
	int ret = 0, idx;

	if (!kvm || (!slot_fn && !spte_fn))
		return -EINVAL;
	idx = srcu_read_lock(&kvm->srcu);
	slots = rcu_dereference(kvm->memslots);
	for (int i = 0; i < slots->nr && !ret; i++) {
		struct kvm_memory_slot *slot = slots->sorted[i];
		struct kvm_userspace_memory_region r = {
			.slot = slot->id,
			.flags = slot->flags,
			.guest_phys_addr = slot->base_gfn << PAGE_SHIFT,
			.memory_size = (u64)slot->npages << PAGE_SHIFT,
			.userspace_addr = slot->userspace_addr,
		};

		if (slot->flags & KVM_MEMSLOT_INVALID)
			continue;
		ret = slot_fn ? slot_fn(&r, arg)
			      : walk_slot_sptes(kvm, slot, spte_fn, arg);
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

int kvm_for_each_memslot(struct kvm *kvm, kvm_memslot_fn fn, void *arg)
{
	return fn ? walk_memslots(kvm, fn, NULL, arg) : -EINVAL;
}

int kvm_walk_sptes(struct kvm *kvm, kvm_spte_fn fn, void *arg)
{
	return fn ? walk_memslots(kvm, NULL, fn, arg) : -EINVAL;
}

int kvm_spte_coherent(struct kvm *kvm, unsigned long hva, u64 spte,
		      pte_t *pte)
{
	unsigned long pfn = (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;
	pte_t host = __pte(0);

	if (!kvm)
		return -EINVAL;
	follow_pte(kvm->mm, hva, &host);
	if (pte)
		*pte = host;
	if (!pte_present(host) || pte_pfn(host) != pfn)
		return INV_STALE_SECONDARY;
	if ((spte & KVM_SPTE_WRITABLE) && !pte_write(host))
		return INV_WRITABLE_SECONDARY;
	return 0;
}

#define STAT(x) out->x = atomic_long_observe(&kvm->stat.x)

/* Sum of the per-CPU counter @x. */
#define STAT_CPU(x)                                                            \
	do {                                                                   \
		out->x = 0;                                                    \
		for (int c = 0; c < STAT_NR_CPUS; c++)                         \
			out->x += atomic_long_observe(&kvm->stat_cpu[c].x);    \
	} while (0)

void kvm_get_vm_stat(struct kvm *kvm, struct kvm_vm_stat *out)
{
	STAT_CPU(mmu_shadow_zapped);
	STAT(remote_tlb_flush);
	STAT_CPU(pages_4k);
	STAT_CPU(pages_2m);
	STAT(mmu_invalidations);
	STAT(mmu_invalidations_nomatch);
	STAT(age_calls);
	STAT(age_young);
	STAT(change_pte_calls);
	STAT(change_pte_hits);
	STAT(change_pte_warn);
	STAT(memslot_updates);
	STAT(memslot_waits);
	STAT(pinned_pages);
}
