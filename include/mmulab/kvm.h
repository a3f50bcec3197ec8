/* SPDX-License-Identifier: MIT */
/*
 * A KVM-style secondary MMU: a VM maps guest-physical memory onto a process
 * address space (struct mm_struct) through memslots, keeps its own
 * four-level TDP (EPT-like) page tables of SPTEs, caches translations in
 * per-vCPU TLBs, and stays coherent with the primary MMU through an
 * mmu_notifier without pinning any page.
 *
 * The secondary page fault follows KVM's protocol step by step: snapshot
 * mmu_invalidate_seq, fault the page in with GUP and no lock held, take
 * mmu_lock (for read, so vCPUs fault in parallel), retry if an
 * invalidation is in progress on the gfn or the sequence moved, install the
 * SPTE with compare-and-swap, drop the GUP reference.  Invalidations zap
 * SPTEs under mmu_lock held for write and flush every vCPU TLB before they
 * return.
 *
 * A VM created with KVM_VM_PINNED is the pre-notifier baseline (KVM before
 * 2008): no notifier, and every SPTE holds a pin on its page.
 */
#ifndef MMULAB_KVM_H
#define MMULAB_KVM_H

#include <mmulab/checker.h> /* kvm_spte_coherent()'s enum checker_inv */
#include <mmulab/mm.h>

typedef u64 gpa_t;
typedef u64 gfn_t;

#define KVM_MAX_VCPUS 512
#define KVM_MAX_MEMSLOTS 512

/* kvm_create_vm() flags */
#define KVM_VM_PINNED (1UL << 0) /* legacy baseline: pin, no notifier */

/* Memslot flags */
#define KVM_MEM_LOG_DIRTY_PAGES (1U << 0) /* track guest writes per page */
#define KVM_MEM_READONLY (1U << 1) /* guest writes exit to the VMM */

/* Positive results of a guest access: an exit the VMM must handle. */
#define KVM_EXIT_MMIO 6 /* no memslot, or a write to a read-only one */

/**
 * struct kvm_userspace_memory_region - a memslot, as the ioctl takes it.
 * @slot: slot id, < KVM_MAX_MEMSLOTS.
 * @flags: KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES.
 * @guest_phys_addr: first guest-physical address (page aligned).
 * @memory_size: bytes (page aligned); 0 deletes the slot.
 * @userspace_addr: host virtual address backing it (page aligned).
 */
struct kvm_userspace_memory_region {
	u32 slot;
	u32 flags;
	u64 guest_phys_addr;
	u64 memory_size;
	u64 userspace_addr;
};

struct kvm;
struct kvm_vcpu;

/**
 * struct kvm_vm_stat - per-VM counters (KVM's names where one exists).
 * @mmu_shadow_zapped: page-table pages the TDP MMU freed (KVM's meaning:
 *	leaf SPTEs zapped do not count).  The model frees TDP tables only
 *	when the VM is destroyed, so the counter stays 0 while it lives,
 *	as in Linux 6.12, whose TDP MMU never counts it.
 * @remote_tlb_flush: remote TLB flushes requested.
 * @pages_4k: 4 KiB leaf SPTEs currently present.
 * @pages_2m: 2 MiB leaf SPTEs currently present (a host huge PMD behind a
 *	2 MiB-aligned part of a memslot).
 * @mmu_invalidations: invalidate_range_start calls that hit a memslot.
 * @mmu_invalidations_nomatch: calls that hit no memslot.
 * @age_calls: aging callbacks (clear_flush_young, clear_young, test_young).
 * @age_young: aging callbacks that found a young SPTE.
 * @change_pte_calls: change_pte callbacks.
 * @change_pte_hits: change_pte callbacks that found a present SPTE.
 * @change_pte_warn: change_pte calls made with no invalidation in
 *	progress (seed 000's WARN_ON_ONCE).
 * @memslot_updates: successful memslot changes.
 * @memslot_waits: memslot changes that waited for invalidations to end.
 * @pinned_pages: pages currently pinned by SPTEs (KVM_VM_PINNED only).
 */
struct kvm_vm_stat {
	unsigned long mmu_shadow_zapped;
	unsigned long remote_tlb_flush;
	unsigned long pages_4k;
	unsigned long pages_2m;
	unsigned long mmu_invalidations;
	unsigned long mmu_invalidations_nomatch;
	unsigned long age_calls;
	unsigned long age_young;
	unsigned long change_pte_calls;
	unsigned long change_pte_hits;
	unsigned long change_pte_warn;
	unsigned long memslot_updates;
	unsigned long memslot_waits;
	unsigned long pinned_pages;
};

/**
 * struct kvm_vcpu_stat - per-vCPU counters.
 * @accesses: guest accesses performed.
 * @tlb_hits: accesses served by the vCPU TLB.
 * @tlb_flushes: TLB flushes this vCPU executed (remote requests).
 * @pf_taken: secondary (EPT-violation) faults taken.
 * @pf_fixed: faults that installed an SPTE.
 * @pf_spurious: faults that found the SPTE already there.
 * @pf_retry_in_progress: retries because an invalidation covering the gfn
 *	was in progress.
 * @pf_retry_seq: retries because mmu_invalidate_seq moved.
 * @pf_retry_race: retries because another vCPU changed the SPTE first.
 * @pf_mmio: faults that exited to the VMM (no memslot, read-only slot).
 * @pf_efault: faults that failed with -EFAULT (host refused the access).
 */
struct kvm_vcpu_stat {
	unsigned long accesses;
	unsigned long tlb_hits;
	unsigned long tlb_flushes;
	unsigned long pf_taken;
	unsigned long pf_fixed;
	unsigned long pf_spurious;
	unsigned long pf_retry_in_progress;
	unsigned long pf_retry_seq;
	unsigned long pf_retry_race;
	unsigned long pf_mmio;
	unsigned long pf_efault;
};

/**
 * kvm_create_vm() - create a VM whose guest memory lives in @mm.
 * @mm: the VMM's address space; the VM keeps the struct alive (mmgrab)
 *	but not its mappings: the VMM keeps its user reference while vCPUs
 *	run.
 * @flags: 0, or KVM_VM_PINNED.
 *
 * Registers the VM's mmu_notifier (unless pinned).
 * Return: the VM, or ERR_PTR(-EINVAL/-ENOMEM/-EINTR).
 */
struct kvm *kvm_create_vm(struct mm_struct *mm, unsigned long flags);

/**
 * kvm_destroy_vm() - destroy a VM whose vCPUs are idle: unregister the
 * notifier (its release zaps every SPTE), drop every pin, free everything.
 */
void kvm_destroy_vm(struct kvm *kvm);

/**
 * kvm_set_user_memory_region() - create, move, resize-by-delete, delete or
 * re-flag a memslot.  Waits, as KVM does, until no invalidation is in
 * flight before it publishes the new memslots, so an invalidation never
 * sees different memslots at start and at end; a deleted or moved slot's
 * SPTEs are zapped before it returns.
 * Only KVM_MEM_LOG_DIRTY_PAGES may change on an existing slot (a flags
 * update); turning it on write-protects the slot's SPTEs, so that every
 * first guest write to a page faults and is logged.
 * Return: 0; -EINVAL for misaligned or out-of-range values, a change of
 * size, backing or KVM_MEM_READONLY of an existing slot; -EEXIST when the
 * range overlaps another slot; -ENOMEM.
 */
int kvm_set_user_memory_region(struct kvm *kvm,
			       const struct kvm_userspace_memory_region *mem);

/**
 * kvm_get_dirty_log() - the pages of memslot @slot written by the guest
 * since the last call (or since logging was turned on), one bit per page
 * from the slot's first gfn, in @bitmap (room for the slot's pages);
 * clears the log and write-protects those pages again.
 * Return: 0, or -EINVAL for an unknown slot or one without
 * KVM_MEM_LOG_DIRTY_PAGES.
 */
int kvm_get_dirty_log(struct kvm *kvm, u32 slot, unsigned long *bitmap);

/**
 * kvm_vcpu_create() - add a vCPU.  A vCPU is driven by one thread at a
 * time (the accesses below take its mutex, as KVM_RUN does).
 * Return: the vCPU or ERR_PTR(-EINVAL) past KVM_MAX_VCPUS, -ENOMEM.
 */
struct kvm_vcpu *kvm_vcpu_create(struct kvm *kvm);

/** kvm_vcpu_id() - index of @vcpu in its VM. */
int kvm_vcpu_id(const struct kvm_vcpu *vcpu);

/** kvm_vcpu_vm() - the VM @vcpu belongs to (the kernel's vcpu->kvm). */
struct kvm *kvm_vcpu_vm(const struct kvm_vcpu *vcpu);

/** kvm_vm_mm() - the process whose memory @kvm maps (kvm->mm). */
struct mm_struct *kvm_vm_mm(const struct kvm *kvm);

/**
 * kvm_vcpu_read() - a guest load of @len bytes (1 to PAGE_SIZE, within
 * one page) at @gpa, through the vCPU TLB, the SPTEs and, on a miss, the
 * secondary page fault.  Data mode only for lengths other than 8.
 * Return: 0, KVM_EXIT_MMIO, -EFAULT (host refused the access), -ENOMEM,
 * -EINVAL.
 */
int kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len);
/** kvm_vcpu_write() - a guest store; as kvm_vcpu_read(). */
int kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf,
		   size_t len);
/** kvm_vcpu_read_u64() - 8-byte load; in tag mode the page's tag. */
int kvm_vcpu_read_u64(struct kvm_vcpu *vcpu, gpa_t gpa, u64 *val);
/** kvm_vcpu_write_u64() - 8-byte store; in tag mode sets the tag. */
int kvm_vcpu_write_u64(struct kvm_vcpu *vcpu, gpa_t gpa, u64 val);

/**
 * kvm_vcpu_read_u64_batch() - @n 8-byte guest loads, @val[i] from @gpa[i],
 * in as few stays in guest mode as the TLB allows: every access the vCPU
 * TLB holds is served without a guest exit; a miss exits, faults and
 * re-enters, and a pending TLB flush request (kvm_flush_remote_tlbs())
 * forces an exit before the next access, as kvm_vcpu_kick()'s IPI does.
 * @vcpu: the vCPU (its mutex is held for the whole batch, as KVM_RUN).
 * @gpa: the guest-physical addresses (8-byte aligned, < 2^48).
 * @val: where the loaded values go.
 * @n: number of accesses (0 is allowed).
 * @done: if not NULL, set to the number of accesses completed.
 * Return: 0 when all @n are done, else the result of the first access
 * that failed, as kvm_vcpu_read_u64() would return it.
 */
int kvm_vcpu_read_u64_batch(struct kvm_vcpu *vcpu, const gpa_t *gpa,
			    u64 *val, size_t n, size_t *done);
/**
 * kvm_vcpu_write_u64_batch() - @n 8-byte guest stores of @val[i] at
 * @gpa[i]; as kvm_vcpu_read_u64_batch() (a TLB entry serves a store only
 * once its SPTE is dirty).
 * @vcpu: the vCPU.
 * @gpa: the guest-physical addresses.
 * @val: the values to store.
 * @n: number of accesses.
 * @done: if not NULL, set to the number of accesses completed.
 * Return: 0, or the result of the first access that failed.
 */
int kvm_vcpu_write_u64_batch(struct kvm_vcpu *vcpu, const gpa_t *gpa,
			     const u64 *val, size_t n, size_t *done);

/** kvm_get_vm_stat() - snapshot of @kvm's counters. */
void kvm_get_vm_stat(struct kvm *kvm, struct kvm_vm_stat *out);
/** kvm_get_vcpu_stat() - snapshot of @vcpu's counters. */
void kvm_get_vcpu_stat(struct kvm_vcpu *vcpu, struct kvm_vcpu_stat *out);

/**
 * kvm_lookup_spte() - the leaf SPTE for @gpa (0 if none), for tests and
 * the checker.  Bits: see KVM_SPTE_* below.
 */
u64 kvm_lookup_spte(struct kvm *kvm, gpa_t gpa);

/**
 * kvm_next_spte() - the first present leaf SPTE at a page in [*@gpa,
 * @end), for walking what a VM maps: empty upper-level tables are skipped
 * whole, so a walk costs what is mapped, not the size of the range.
 * @kvm: the VM.
 * @gpa: where to start; on success, moved to the page of the SPTE found.
 * @end: where to stop (exclusive).
 * Lock-free, like kvm_lookup_spte(): call it at a quiescent point for a
 * stable answer.
 * Return: the SPTE (KVM_SPTE_PRESENT set), or 0 when the range has none
 * (or @kvm or @gpa is NULL).
 */
u64 kvm_next_spte(struct kvm *kvm, gpa_t *gpa, gpa_t end);

#define KVM_SPTE_PRESENT (1ULL << 0) /* readable */
#define KVM_SPTE_WRITABLE (1ULL << 1)
#define KVM_SPTE_LARGE (1ULL << 7) /* a 2 MiB leaf, in a level-1 entry */
#define KVM_SPTE_ACCESSED (1ULL << 8)
#define KVM_SPTE_DIRTY (1ULL << 9)
#define KVM_SPTE_PFN_MASK 0x000ffffffffff000ULL

/* The page-fault error code's write bit (kvm_page_fault's @error_code). */
#define PFERR_WRITE_MASK (1ULL << 1)

/* ---------------------------------------------------------------------
 * Reading a VM's memslots and SPTEs from outside KVM (tools, tests,
 * checks at quiescent points), as the kernel's own helpers do inside it.
 * Each takes kvm->srcu for reading: a memslot update waits for it, so a
 * callback must not update the memslots or destroy the VM; it may sleep
 * and take the VMM's mmap_lock (follow_pte()).
 */

#define KVM_HVA_ERR_BAD (~0UL)

/**
 * kvm_is_error_hva() - did gfn_to_hva_prot() fail?
 * @hva: what it returned.
 * Return: true for KVM_HVA_ERR_BAD.
 */
static inline bool kvm_is_error_hva(unsigned long hva)
{
	return hva == KVM_HVA_ERR_BAD;
}

/**
 * gfn_to_hva_prot() - the host virtual address backing guest frame @gfn.
 * @kvm: the VM.
 * @gfn: the guest frame.
 * @writable: when not NULL, set to whether the memslot lets the guest
 *	write (not KVM_MEM_READONLY).
 * Return: the address of the page, or KVM_HVA_ERR_BAD when no memslot
 * covers @gfn (or it is being deleted or moved), or @kvm is NULL.
 */
unsigned long gfn_to_hva_prot(struct kvm *kvm, gfn_t gfn, bool *writable);

/**
 * typedef kvm_memslot_fn - kvm_for_each_memslot()'s callback.
 * @slot: the memslot, as kvm_set_user_memory_region() set it.
 * @arg: the walk's argument.
 * Return: 0 to go on, anything else to stop the walk with that value.
 */
typedef int (*kvm_memslot_fn)(const struct kvm_userspace_memory_region *slot,
			      void *arg);

/**
 * kvm_for_each_memslot() - call @fn for each memslot of @kvm, by
 * guest-physical address; a slot being deleted or moved is skipped.
 * @kvm: the VM.
 * @fn: the callback.
 * @arg: passed to @fn.
 * Return: 0 after the last slot, what @fn returned when not 0, or -EINVAL
 * for a NULL @kvm or @fn.
 */
int kvm_for_each_memslot(struct kvm *kvm, kvm_memslot_fn fn, void *arg);

/**
 * typedef kvm_spte_fn - kvm_walk_sptes()'s callback.
 * @gpa: the guest page the SPTE maps.
 * @hva: the host page its memslot backs it with.
 * @spte: the leaf SPTE, KVM_SPTE_PRESENT set; a 2 MiB leaf is visited once
 *	per 4 KiB page, with the frame of that page.
 * @arg: the walk's argument.
 * Return: 0 to go on, anything else to stop the walk with that value.
 */
typedef int (*kvm_spte_fn)(gpa_t gpa, unsigned long hva, u64 spte, void *arg);

/**
 * kvm_walk_sptes() - call @fn for each present leaf SPTE of a gfn that a
 * memslot of @kvm covers, slot by slot: empty SPTE tables are skipped
 * whole, so a walk costs what the VM maps, not the size of its memslots.
 * SPTEs are read without mmu_lock: call it at a quiescent point (no vCPU
 * running, no invalidation in flight) for a stable answer.
 * @kvm: the VM.
 * @fn: the callback.
 * @arg: passed to @fn.
 * Return: 0 after the last SPTE, what @fn returned when not 0, or -EINVAL
 * for a NULL @kvm or @fn.
 */
int kvm_walk_sptes(struct kvm *kvm, kvm_spte_fn fn, void *arg);

/**
 * kvm_spte_coherent() - does @spte agree with the host page table of the
 * VMM at @hva?  It must map the frame the host PTE maps there, and be
 * writable only if that PTE is: the invariant MMU notifiers exist to keep.
 * Meaningful at a quiescent point only.
 * @kvm: the VM.
 * @hva: the host page backing the SPTE's gfn (kvm_walk_sptes()).
 * @spte: a present leaf SPTE.
 * @pte: when not NULL, set to the host PTE (none when there is no table).
 * Return: 0 when they agree, INV_STALE_SECONDARY when the host maps
 * another frame or none, INV_WRITABLE_SECONDARY when the SPTE is writable
 * over a read-only PTE (enum checker_inv), or -EINVAL for a NULL @kvm.
 */
int kvm_spte_coherent(struct kvm *kvm, unsigned long hva, u64 spte,
		      pte_t *pte);

/**
 * enum kvm_fault_stage - instrumentation points of the secondary fault,
 * in order, for tests and experiments that need to place another event
 * at an exact step of the protocol.
 * @KVM_FAULT_SNAPSHOT: mmu_invalidate_seq has been read.
 * @KVM_FAULT_GUP_DONE: the page was faulted in and referenced (no lock).
 * @KVM_FAULT_LOCKED: mmu_lock is held for read; the retry check is next.
 *	A hook must not sleep or touch the mm here.
 */
enum kvm_fault_stage {
	KVM_FAULT_SNAPSHOT,
	KVM_FAULT_GUP_DONE,
	KVM_FAULT_LOCKED,
};

typedef void (*kvm_fault_hook_t)(struct kvm_vcpu *vcpu,
				 enum kvm_fault_stage stage, gpa_t gpa,
				 void *arg);

/** kvm_set_fault_hook() - call @hook(@arg) at each stage; NULL removes. */
void kvm_set_fault_hook(struct kvm *kvm, kvm_fault_hook_t hook, void *arg);

#endif /* MMULAB_KVM_H */
