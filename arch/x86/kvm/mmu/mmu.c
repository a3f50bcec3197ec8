// SPDX-License-Identifier: MIT
/*
 * The secondary page fault (an EPT violation), with KVM's invalidation
 * retry protocol.
 *
 * Why each step is there:
 *  1. mmu_invalidate_seq is read before the page is looked up, with a read
 *     barrier, so an invalidation that ends after the lookup started is
 *     seen as a change of sequence;
 *  2. the page is faulted in through GUP with no KVM lock held (it may
 *     sleep, break COW, and trigger invalidations of this very range);
 *  3. under mmu_lock, the fault gives up if an invalidation covering the
 *     gfn is in progress (its start may already have zapped, and the page
 *     may be freed at any moment) or if one ended since the snapshot (the
 *     page GUP returned may already be gone);
 *  4. the SPTE is installed under the same mmu_lock the invalidation takes
 *     for write, so either the fault sees the invalidation or the
 *     invalidation sees (and zaps) the new SPTE;
 *  5. the GUP reference is dropped: the notifier, not a pin, protects the
 *     mapping from now on.
 */
#include <mmulab/huge_mm.h>
#include "../../../../virt/kvm/kvm_host.h"

/*
 * An invalidation covering @gfn is in progress: its start may already have
 * zapped, and the page may be freed at any moment.  @first: the first gfn
 * of the hull taken to be covered (a mutant's may be off).
 */
bool kvm_mmu_retry_in_range(struct kvm *kvm, gfn_t first, gfn_t gfn,
			    struct kvm_vcpu_stat *stat)
{
	/* As 6.12 (mmu_invalidate_retry_gfn): the state is stable only so. */
	lockdep_assert_held(&kvm->mmu_lock);
	if (likely(!kvm->mmu_invalidate_in_progress))
		return false;
	/* begin() always sets the hull before mmu_lock is dropped. */
	if (WARN_ON_ONCE(kvm->mmu_invalidate_range_start == INVALID_GFN ||
			 kvm->mmu_invalidate_range_end == INVALID_GFN))
		return true;
	if (gfn >= first && gfn < kvm->mmu_invalidate_range_end) {
		stat_inc(&stat->pf_retry_in_progress);
		return true;
	}
	return false;
}

bool kvm_mmu_retry_in_progress(struct kvm *kvm, gfn_t gfn,
			       struct kvm_vcpu_stat *stat)
{
	return kvm_mmu_retry_in_range(kvm, kvm->mmu_invalidate_range_start,
				      gfn, stat);
}

/* An invalidation ended since @mmu_seq: the page GUP returned may be gone. */
bool kvm_mmu_retry_seq(struct kvm *kvm, unsigned long mmu_seq,
		       struct kvm_vcpu_stat *stat)
{
	lockdep_assert_held(&kvm->mmu_lock); /* as above */
	if (kvm->mmu_invalidate_seq == mmu_seq)
		return false;
	stat_inc(&stat->pf_retry_seq);
	return true;
}

/*
 * Must the fault retry?  Called with mmu_lock held, so the invalidation
 * state is stable: an invalidation updates it only under the write lock.
 */
static int mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq,
				    gfn_t gfn, struct kvm_vcpu_stat *stat)
{
	if (mutant_is(MUTANT_SKIP_IN_PROGRESS_CHECK))
		return kvm_mmu_retry_seq(kvm, mmu_seq, stat);
	if (mutant_is(MUTANT_SKIP_SEQ_CHECK))
		return kvm_mmu_retry_in_progress(kvm, gfn, stat);
	if (mutant_is(MUTANT_RANGE_OFF_BY_ONE))
		return mmu_invalidate_retry_gfn_mutant_off_by_one(kvm, mmu_seq,
								  gfn, stat);
	return kvm_mmu_retry_in_progress(kvm, gfn, stat) ||
	       kvm_mmu_retry_seq(kvm, mmu_seq, stat);
}

/*
 * hva_to_pfn_slow: the page behind @hva, referenced (pinned for a pinned
 * VM).  A read fault takes the page writable if the host already maps it
 * so, without faulting, so a later guest write needs no second exit.
 *
 * On success the caller holds a user reference on the mm until the SPTE
 * is installed (or not) and drops it with mmput().  In Linux the vCPU
 * thread is a user of current->mm for as long as it runs; here a vCPU
 * task is not.  The reference is not what keeps a stale SPTE out (the
 * fast path takes none): the release marks the mm dead under mmu_lock and
 * the install checks the mark (mm_dead); it is what get_user_pages_remote()
 * asks of its caller.
 */
/*
 * A read fault that had to fault the page in may still map it writable:
 * the host's fault may have made the PTE writable (shared memory, a page
 * this mm owns alone), so look again with FOLL_WRITE without faulting, as
 * hva_to_pfn_slow() does with get_user_page_fast_only() in 6.12.  Saves
 * the guest a second exit on its first write to the page.
 */
static void try_upgrade_writable(struct mm_struct *mm, unsigned long hva,
				 struct page **page, bool *writable)
{
	struct page *wpage;

	if (get_user_pages_remote(mm, hva, 1, FOLL_WRITE | FOLL_NOFAULT,
				  &wpage) != 1)
		return;
	put_page(*page);
	*page = wpage;
	*writable = true;
}

/*
 * host_pfn_mapping_level(): does the host map @page at @hva with a huge
 * PMD?  Read under the mmap_lock, right after GUP; an invalidation that
 * splits the PMD before the SPTE is installed fails the retry check.
 */
static bool host_maps_huge(struct mm_struct *mm, unsigned long hva,
			   struct page *page)
{
	unsigned long head;

	return pmd_huge_pfn(mm, hva, &head) &&
	       head + ((hva >> PAGE_SHIFT) & 511) == page_to_pfn(page);
}

/*
 * kvm_mmu_max_mapping_level() for a 2 MiB SPTE at @gfn: the memslot
 * must cover the whole 2 MiB and place it at a 2 MiB-aligned host
 * address, and not be dirty-logged.  Model: a pinned VM maps 4 KiB
 * only (its pin is per page).
 */
static bool slot_allows_2m(struct kvm *kvm, struct kvm_memory_slot *slot,
			   gfn_t gfn)
{
	gfn_t first = gfn & ~(gfn_t)511;

	if (kvm_pinned(kvm) || (slot->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return false;
	if (((slot->userspace_addr >> PAGE_SHIFT) ^ slot->base_gfn) & 511)
		return false;
	return first >= slot->base_gfn &&
	       first + 512 <= slot->base_gfn + slot->npages;
}

/*
 * May the fault at @gfn map its 2 MiB now?  Model: not while an
 * invalidation overlapping the 2 MiB is in progress: the fault then maps
 * 4 KiB.  Linux 6.12 checks the faulting gfn alone and may install the
 * huge SPTE over a range being invalidated, relying on the host to split
 * its PMD, a CLEAR of the whole 2 MiB that zaps the SPTE, before it
 * changes any part of it; the checker's INV-6 would see that window.
 * mmu_lock held, so the invalidation state is stable.
 */
static bool no_invalidation_in_2m(struct kvm *kvm, gfn_t gfn)
{
	gfn_t first = gfn & ~(gfn_t)511;

	lockdep_assert_held(&kvm->mmu_lock);
	return !kvm->mmu_invalidate_in_progress ||
	       kvm->mmu_invalidate_range_end <= first ||
	       kvm->mmu_invalidate_range_start >= first + 512;
}

/**
 * kvm_mmu_map_huge() - may the fault at @gfn of @slot map 2 MiB?  Where
 * the host maps the page huge (@host_huge), and the memslot and the
 * invalidations in progress allow it.
 */
bool kvm_mmu_map_huge(struct kvm *kvm, struct kvm_memory_slot *slot,
		      gfn_t gfn, bool host_huge)
{
	return host_huge && slot_allows_2m(kvm, slot, gfn) &&
	       no_invalidation_in_2m(kvm, gfn);
}

/* Install the SPTE: mmu_lock held for read, the retry check passed. */
static int kvm_mmu_map(struct kvm *kvm, struct kvm_memory_slot *slot,
		       gfn_t gfn, struct page *page, bool writable, bool write,
		       bool huge)
{
	if (mutant_is(MUTANT_LOCK_INVERSION))
		return kvm_mmu_map_mutant_lock_inversion(kvm, slot, gfn, page,
							 writable, write, huge);
	return kvm_tdp_mmu_map(kvm, gfn, page, writable, write,
			       kvm_mmu_map_huge(kvm, slot, gfn, huge));
}

static int faultin_page(struct kvm *kvm, unsigned long hva, bool write,
			struct page **page, bool *writable, bool *huge)
{
	struct mm_struct *mm = kvm->mm;
	unsigned int flags = write ? FOLL_WRITE : 0;
	long n;

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	if (kvm_pinned(kvm)) {
		*writable = true;
		n = pin_user_pages_remote(mm, hva, 1, FOLL_WRITE | FOLL_NOFAULT |
						      FOLL_LONGTERM, page);
		if (n != 1 && !write) {
			*writable = false;
			n = pin_user_pages_remote(mm, hva, 1, FOLL_LONGTERM,
						  page);
		} else if (n != 1) {
			n = pin_user_pages_remote(mm, hva, 1,
						  flags | FOLL_LONGTERM, page);
		}
	} else {
		*writable = true;
		n = get_user_pages_remote(mm, hva, 1, FOLL_WRITE | FOLL_NOFAULT,
					  page);
		if (n != 1) {
			*writable = write;
			n = get_user_pages_remote(mm, hva, 1, flags, page);
		}
		if (n == 1 && !*writable)
			try_upgrade_writable(mm, hva, page, writable);
	}
	*huge = n == 1 && host_maps_huge(mm, hva, *page);
	mmap_read_unlock(mm);
	if (n == 1)
		return 0;
	mmput(mm);
	return n == -ENOMEM ? -ENOMEM : -EFAULT;
}

/*
 * hva_to_pfn_fast(): GUP-fast, no mmap_lock and no mm_users reference, so
 * that vCPUs faulting at once write no shared cache line here.  Writable
 * only, whatever the access, as Linux 6.12 asks of it when the caller
 * accepts a writable mapping; anything else takes the slow path.  Model:
 * a pinned VM pins through the slow path (FOLL_LONGTERM) always.
 */
static bool hva_to_pfn_fast(struct kvm *kvm, unsigned long hva,
			    struct page **page, bool *writable, bool *huge)
{
	unsigned long head;

	if (kvm_pinned(kvm) ||
	    !get_user_page_fast_only(kvm->mm, hva, FOLL_WRITE, page))
		return false;
	*writable = true;
	/* host_pfn_mapping_level(): a lockless look at the host's PMD. */
	*huge = pmd_huge_pfn_fast(kvm->mm, hva, &head) &&
		head + ((hva >> PAGE_SHIFT) & 511) == page_to_pfn(*page);
	return true;
}

/* The page behind @hva: GUP-fast, else GUP (with an mm_users reference). */
static int hva_to_pfn(struct kvm *kvm, unsigned long hva, bool write,
		      struct page **page, bool *writable, bool *huge,
		      bool *mm_ref)
{
	*mm_ref = false;
	if (hva_to_pfn_fast(kvm, hva, page, writable, huge))
		return 0;
	*mm_ref = true;
	return faultin_page(kvm, hva, write, page, writable, huge);
}

/*
 * May the fault install?  Not once the release marked the mm dead: its
 * teardown, which KVM no longer hears of, may have unmapped the page.
 */
static int kvm_mmu_check_install(struct kvm *kvm, unsigned long mmu_seq,
				 gfn_t gfn, struct kvm_vcpu_stat *stat)
{
	lockdep_assert_held(&kvm->mmu_lock);
	if (kvm->mm_dead)
		return -EFAULT;
	return mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn, stat) ? RET_PF_RETRY
								   : 0;
}

static void release_page(struct kvm *kvm, struct page *page, bool keep_pin)
{
	if (mutant_is(MUTANT_KEEP_GUP_REF) && !kvm_pinned(kvm))
		return; /* broken on purpose: the GUP reference leaks */
	if (!kvm_pinned(kvm)) {
		put_page(page);
		return;
	}
	if (keep_pin) {
		atomic_long_inc(&kvm->stat.pinned_pages);
		return;
	}
	unpin_user_page(page);
}

/**
 * kvm_tdp_page_fault() - resolve a guest access to @gpa that missed.
 * Return: RET_PF_FIXED, RET_PF_SPURIOUS or RET_PF_RETRY (the access is
 * retried), KVM_EXIT_MMIO, or a negative errno for the VMM.
 */
int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	struct kvm *kvm = vcpu->kvm;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct kvm_memory_slot *slot;
	unsigned long mmu_seq, hva;
	struct page *page;
	bool writable, huge, mm_ref;
	int idx, r;

	trace_kvm_page_fault(vcpu, gpa, write ? PFERR_WRITE_MASK : 0);
	stat_inc(&vcpu->stat.pf_taken);
	idx = srcu_read_lock(&kvm->srcu);
	slot = gfn_to_memslot(rcu_dereference(kvm->memslots), gfn);
	if (!slot || (slot->flags & KVM_MEMSLOT_INVALID) ||
	    (write && (slot->flags & KVM_MEM_READONLY))) {
		srcu_read_unlock(&kvm->srcu, idx);
		stat_inc(&vcpu->stat.pf_mmio);
		return KVM_EXIT_MMIO;
	}
	hva = slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);

	mmu_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	smp_rmb();
	trace_mmulab_kvm_fault_snapshot(vcpu, gpa, hva, ~0UL);

	r = hva_to_pfn(kvm, hva, write, &page, &writable, &huge, &mm_ref);
	if (r) {
		srcu_read_unlock(&kvm->srcu, idx);
		stat_inc(&vcpu->stat.pf_efault);
		return r;
	}
	/* A logged slot maps writable only for a write, which is logged. */
	if ((slot->flags & KVM_MEM_READONLY) ||
	    ((slot->flags & KVM_MEM_LOG_DIRTY_PAGES) && !write))
		writable = false;
	trace_mmulab_kvm_fault_pfn(vcpu, gpa, hva, page_to_pfn(page));

	read_lock(&kvm->mmu_lock);
	trace_mmulab_kvm_fault_locked(vcpu, gpa, hva, page_to_pfn(page));
	r = kvm_mmu_check_install(kvm, mmu_seq, gfn, &vcpu->stat);
	if (r) {
		trace_mmulab_kvm_fault_retry(vcpu, gpa, hva, page_to_pfn(page));
	} else {
		trace_mmulab_kvm_fault_install(vcpu, gpa, hva,
					       page_to_pfn(page));
		r = kvm_mmu_map(kvm, slot, gfn, page, writable, write, huge);
		if (r == RET_PF_RETRY)
			stat_inc(&vcpu->stat.pf_retry_race);
	}
	read_unlock(&kvm->mmu_lock);

	/* A write that got a writable SPTE is logged before it happens. */
	if (write && (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
	    (r == RET_PF_FIXED || r == RET_PF_UPGRADED ||
	     r == RET_PF_SPURIOUS))
		mark_page_dirty_in_slot(kvm, slot, gfn);
	/* A pinned VM keeps the pin only for a newly installed SPTE. */
	release_page(kvm, page, r == RET_PF_FIXED);
	srcu_read_unlock(&kvm->srcu, idx);
	if (mm_ref)
		mmput(kvm->mm); /* faultin_page()'s reference */
	if (r == RET_PF_FIXED || r == RET_PF_UPGRADED)
		stat_inc(&vcpu->stat.pf_fixed);
	else if (r == RET_PF_SPURIOUS)
		stat_inc(&vcpu->stat.pf_spurious);
	else if (r == -EFAULT)
		stat_inc(&vcpu->stat.pf_efault);
	return r;
}
