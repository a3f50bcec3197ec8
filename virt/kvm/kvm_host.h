/* SPDX-License-Identifier: MIT */
/*
 * Private definitions of the KVM-style secondary MMU (virt/kvm/ and
 * arch/x86/kvm/mmu/).
 *
 * Lock order: kvm->slots_lock -> (kvm->srcu read) -> mmu_lock ->
 * mn_invalidate_lock.  mmu_lock is taken for read by faults and aging and
 * for write by zaps; nothing that sleeps on another task runs under it,
 * except the remote TLB flush's wait for vCPUs to leave guest mode, which
 * they do without taking any lock.
 */
#ifndef MMULAB_KVM_HOST_H
#define MMULAB_KVM_HOST_H

#include <mmulab/checker.h>
#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/mutant.h>
#include <mmulab/trace/events/kvm.h>

#define INVALID_GFN (~0ULL)
#define KVM_MEMSLOT_INVALID (1U << 16) /* being deleted or moved */

/**
 * struct kvm_memory_slot - one memslot, as one memslots generation sees it.
 * @base_gfn: first gfn.
 * @npages: size in pages.
 * @userspace_addr: HVA of @base_gfn.
 * @flags: KVM_MEM_* and KVM_MEMSLOT_INVALID.
 * @id: slot id.
 * @hva_node: [userspace_addr, end - 1] in the generation's HVA tree.
 */
struct kvm_memory_slot {
	gfn_t base_gfn;
	unsigned long npages;
	unsigned long userspace_addr;
	u32 flags;
	u32 id;
	struct interval_tree_node hva_node;
};

/**
 * struct kvm_memslots - one immutable generation of the memslots,
 * published under kvm->srcu.
 * @nr: slots in @sorted.
 * @sorted: slots by base_gfn, for O(log n) gfn lookups.
 * @by_id: slots by id.
 * @hva_tree: slots by HVA range, for notifier lookups.
 * @slots: the slot objects of this generation.
 */
struct kvm_memslots {
	int nr;
	struct kvm_memory_slot *sorted[KVM_MAX_MEMSLOTS];
	struct kvm_memory_slot *by_id[KVM_MAX_MEMSLOTS];
	struct interval_tree_root hva_tree;
	struct kvm_memory_slot slots[KVM_MAX_MEMSLOTS];
};

#define KVM_TLB_ENTRIES 64

/*
 * A cached translation; gfn_plus1 == 0 marks an empty entry.  @gen is the
 * frame's free generation at fill time, @stamp the checker's TLB stamp of
 * the guest entry that walked it.  Written by the vCPU's thread with
 * checker_poke() (gfn_plus1 last), because the checker's contract query
 * reads them from the invalidating task.  @page and @word (the frame's
 * first word, or its tag in tag mode, with @word_mask 0) are the
 * host-physical address a hardware TLB caches: a batched hit loads
 * @word[(offset / 8) & @word_mask] with no lookup.
 */
struct kvm_tlb_entry {
	u64 gfn_plus1;
	unsigned long pfn;
	bool writable;
	u32 gen;
	unsigned long stamp;
	struct page *page;
	const u64 *word;
	unsigned long word_mask;
};

enum vcpu_mode { OUTSIDE_GUEST_MODE, IN_GUEST_MODE };

#define KVM_REQ_TLB_FLUSH (1UL << 0)

/**
 * struct kvm_vcpu - a virtual CPU.
 * @kvm: its VM.
 * @id: index in kvm->vcpus.
 * @mutex: held by the thread running the vCPU (KVM_RUN's vcpu->mutex).
 * @mode: IN_GUEST_MODE while an access may use the TLB or SPTEs.
 * @requests: KVM_REQ_* bits set by other threads.
 * @tlb: the vCPU's TLB, touched only by the thread running the vCPU.
 * @stat: counters, written by that thread only.
 */
struct kvm_vcpu {
	struct kvm *kvm;
	int id;
	struct mutex mutex;
	unsigned long mode; /* bit 0: IN_GUEST_MODE; above: entries */
	unsigned long requests;
	struct kvm_tlb_entry tlb[KVM_TLB_ENTRIES];
	struct kvm_vcpu_stat stat;
};

/**
 * struct kvm - a VM.
 * @mm: the VMM's address space.
 * @host: its host.
 * @flags: KVM_VM_*.
 * @mmu_notifier: the VM's subscription (unless pinned).
 * @mmu_lock: protects the SPTEs' existence and the invalidation state.
 * @mmu_invalidate_seq: bumped by every invalidation end that hit a slot.
 * @mmu_invalidate_in_progress: invalidations between begin and end.
 * @mmu_invalidate_range_start, @mmu_invalidate_range_end: hull [start,
 *	end) of the gfns of those invalidations.
 * @mm_dead: set by the notifier's release, under @mmu_lock for write:
 *	from then on the mm is torn down without telling KVM, so no fault
 *	may install an SPTE (checked under @mmu_lock, kvm_tdp_page_fault()).
 * @mn_invalidate_lock: protects @mn_active_invalidate_count.
 * @mn_active_invalidate_count: notifier invalidations between start and
 *	end, whether or not they hit a slot.
 * @mn_memslots_update_wq: where memslot updates wait for it to drop to 0.
 * @slots_lock: serialises memslot updates.
 * @memslots: current generation (read under @srcu).
 * @srcu: protects @memslots.
 * @root: the TDP root table.
 * @vcpu_lock: serialises vCPU creation.
 * @vcpus: the vCPUs; @online_vcpus of them are valid.
 * @stat: counters (atomic).
 * @stat_cpu: the counters of the fault and zap paths, per CPU slot, so
 *	that vCPUs faulting at once write no shared cache line for them.
 * @checker: the VM's part in checker sweeps.
 * @dirty_bitmap: per slot id, the dirty log of a slot with
 *	KVM_MEM_LOG_DIRTY_PAGES (one bit per page, set by write faults).
 */
struct kvm {
	struct mm_struct *mm;
	struct host *host;
	unsigned long flags;
	struct mmu_notifier mmu_notifier;

	rwlock_t mmu_lock;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	gfn_t mmu_invalidate_range_start;
	gfn_t mmu_invalidate_range_end;
	bool mm_dead;

	spinlock_t mn_invalidate_lock;
	atomic_long_t mn_active_invalidate_count;
	wait_queue_head_t mn_memslots_update_wq;

	struct mutex slots_lock;
	struct kvm_memslots *memslots;
	struct srcu_struct srcu;

	u64 *root;

	struct mutex vcpu_lock;
	struct kvm_vcpu *vcpus[KVM_MAX_VCPUS];
	atomic_t online_vcpus;

	/* What the fault and zap paths count, per CPU slot (stat_cpu()). */
	struct kvm_stat_cpu {
		atomic_long_t mmu_shadow_zapped;
		atomic_long_t pages_4k;
		atomic_long_t pages_2m;
		atomic_long_t pad[5]; /* one cache line each */
	} stat_cpu[STAT_NR_CPUS];

	struct {
		atomic_long_t remote_tlb_flush;
		atomic_long_t mmu_invalidations;
		atomic_long_t mmu_invalidations_nomatch;
		atomic_long_t age_calls;
		atomic_long_t age_young;
		atomic_long_t change_pte_calls;
		atomic_long_t change_pte_hits;
		atomic_long_t change_pte_warn;
		atomic_long_t memslot_updates;
		atomic_long_t memslot_waits;
		atomic_long_t pinned_pages;
	} stat;

	struct checker_secondary checker;
	unsigned long *dirty_bitmap[KVM_MAX_MEMSLOTS];
};

/* Add @n to the per-CPU counter @field of @kvm; not a scheduling point. */
#define kvm_stat_cpu_add(kvm, field, n)                                        \
	stat_long_add((n), &(kvm)->stat_cpu[stat_cpu()].field)

/* Counters with one writer: no atomic read-modify-write, not modelled. */
static inline void stat_inc(unsigned long *p)
{
	__WRITE_ONCE(*p, __READ_ONCE(*p) + 1);
}

static inline bool kvm_pinned(const struct kvm *kvm)
{
	return kvm->flags & KVM_VM_PINNED;
}

static inline unsigned long slot_hva_end(const struct kvm_memory_slot *slot)
{
	return slot->userspace_addr + (slot->npages << PAGE_SHIFT);
}

static inline gfn_t hva_to_gfn(unsigned long hva,
			       const struct kvm_memory_slot *slot)
{
	return slot->base_gfn + ((hva - slot->userspace_addr) >> PAGE_SHIFT);
}

/* virt/kvm/kvm_checker.c */
void kvm_checker_register(struct kvm *kvm);

/* virt/kvm/kvm_main.c */
void kvm_make_vcpus_request(struct kvm *kvm, int n, unsigned long req);
void kvm_flush_remote_tlbs(struct kvm *kvm);
struct kvm_memory_slot *gfn_to_memslot(struct kvm_memslots *slots, gfn_t gfn);
void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end);
int kvm_mmu_invalidate_range_start(struct kvm *kvm,
				   const struct mmu_notifier_range *range);
bool kvm_mmu_invalidate_range_end(struct kvm *kvm,
				  const struct mmu_notifier_range *range);
void kvm_mn_invalidate_range_end(struct kvm *kvm,
				 const struct mmu_notifier_range *range);

/* arch/x86/kvm/mmu/mmu.c */
#define RET_PF_FIXED 0
#define RET_PF_SPURIOUS 1
#define RET_PF_RETRY 2
#define RET_PF_UPGRADED 3 /* an existing SPTE was made writable */
int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, bool write);
bool kvm_mmu_retry_in_range(struct kvm *kvm, gfn_t first, gfn_t gfn,
			    struct kvm_vcpu_stat *stat);
bool kvm_mmu_retry_in_progress(struct kvm *kvm, gfn_t gfn,
			       struct kvm_vcpu_stat *stat);
bool kvm_mmu_retry_seq(struct kvm *kvm, unsigned long mmu_seq,
		       struct kvm_vcpu_stat *stat);
bool kvm_mmu_map_huge(struct kvm *kvm, struct kvm_memory_slot *slot,
		      gfn_t gfn, bool host_huge);

/* arch/x86/kvm/mmu/tdp_mmu.c */
/* A gfn range of one memslot handed to a notifier handler; @pte is the
 * new host PTE for change_pte. */
struct kvm_gfn_range {
	gfn_t start, end;
	pte_t pte;
};

int kvm_tdp_mmu_init(struct kvm *kvm);
void kvm_tdp_mmu_destroy(struct kvm *kvm);
u64 kvm_tdp_mmu_read_spte(struct kvm *kvm, gfn_t gfn);
u64 *kvm_tdp_mmu_walk(struct kvm *kvm, gfn_t gfn);
u64 kvm_tdp_mmu_next_spte(struct kvm *kvm, gfn_t *gfn, gfn_t end);
int kvm_tdp_mmu_map(struct kvm *kvm, gfn_t gfn, struct page *page,
		    bool writable, bool write_fault, int level);

/* The 4 KiB view of the raw leaf @spte at @gfn: a 2 MiB leaf's frame for
 * @gfn (KVM_SPTE_LARGE kept, to say where it comes from). */
static inline u64 kvm_spte_4k(u64 spte, gfn_t gfn)
{
	if (!(spte & KVM_SPTE_LARGE))
		return spte;
	return spte + ((gfn & 511) << PAGE_SHIFT);
}
bool kvm_tdp_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r);
bool kvm_tdp_mmu_age_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r);
bool kvm_tdp_mmu_test_age_gfn(struct kvm *kvm, struct kvm_gfn_range *r);
bool kvm_tdp_mmu_set_spte_gfn(struct kvm *kvm, gfn_t gfn, pte_t host_pte);
bool kvm_tdp_mmu_wrprot_gfn_range(struct kvm *kvm, struct kvm_gfn_range *r);
bool kvm_tdp_mmu_peek_range(struct kvm *kvm, gfn_t start, gfn_t end,
			    gfn_t *gfn, u64 *spte);
unsigned long kvm_gfn_to_hva_peek(struct kvm *kvm, gfn_t gfn);
void mark_page_dirty_in_slot(struct kvm *kvm, struct kvm_memory_slot *slot,
			     gfn_t gfn);

/*
 * virt/kvm/mutants.c and arch/x86/kvm/mmu/mutants.c: KVM's protocol
 * mutants (<mmulab/mutant.h>), each named after the function it breaks.
 */
void kvm_flush_remote_tlbs_mutant_no_wait(struct kvm *kvm);
void kvm_mmu_invalidate_end_mutant_seq_after_count(struct kvm *kvm);
bool kvm_mmu_unmap_gfn_range_mutant_no_flush(struct kvm *kvm,
					     struct kvm_gfn_range *r);
int kvm_mmu_notifier_invalidate_range_start_mutant_sleep(
	struct kvm *kvm, const struct mmu_notifier_range *range);
void kvm_mmu_notifier_invalidate_range_end_mutant_flush_at_end(
	struct kvm *kvm, const struct mmu_notifier_range *range);
int mmu_invalidate_retry_gfn_mutant_off_by_one(struct kvm *kvm,
					       unsigned long mmu_seq,
					       gfn_t gfn,
					       struct kvm_vcpu_stat *stat);
int kvm_mmu_map_mutant_lock_inversion(struct kvm *kvm,
				      struct kvm_memory_slot *slot, gfn_t gfn,
				      struct page *page, bool writable,
				      bool write, bool huge);

#endif /* MMULAB_KVM_HOST_H */
