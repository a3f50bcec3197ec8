/* SPDX-License-Identifier: MIT */
/*
 * KVM's events: those Linux 6.12 has under the same name (kvm_page_fault
 * from arch/x86/kvm/trace.h, kvm_unmap_hva_range from
 * include/trace/events/kvm.h), and the model's own, prefixed mmulab_kvm_,
 * one per step of the secondary fault's retry protocol (arch/x86/kvm/mmu),
 * so that the checker's history shows each step and a test can place
 * another event exactly between two of them.  A probe of a fault step
 * runs on the faulting vCPU's task; at mmulab_kvm_fault_locked it holds
 * mmu_lock for read and must not sleep or touch the mm.
 */
#ifndef MMULAB_TRACE_EVENTS_KVM_H
#define MMULAB_TRACE_EVENTS_KVM_H

#include <mmulab/kvm.h>
#include <mmulab/tracepoint.h>

/*
 * kvm_page_fault: an EPT violation at guest-physical @fault_address; bit 1
 * of @error_code (PFERR_WRITE_MASK) is set for a store.  Each retry is a
 * new exit, so a new event.
 */
DECLARE_TRACE(kvm_page_fault,
	      TP_PROTO(struct kvm_vcpu *vcpu, u64 fault_address,
		       u64 error_code),
	      TP_ARGS(vcpu, fault_address, error_code))

/*
 * kvm_unmap_hva_range: KVM's invalidate_range_start for [@start, @end).
 * Linux's has no @kvm (its ring is per VM); the model's says which VM.
 */
DECLARE_TRACE(kvm_unmap_hva_range,
	      TP_PROTO(struct kvm *kvm, unsigned long start, unsigned long end),
	      TP_ARGS(kvm, start, end))

/* mmulab_kvm_invalidate_range_end: KVM's invalidate_range_end. */
DECLARE_TRACE(mmulab_kvm_invalidate_range_end,
	      TP_PROTO(struct kvm *kvm, unsigned long start, unsigned long end),
	      TP_ARGS(kvm, start, end))

/*
 * The fault's steps, at guest-physical @gpa and host virtual @hva; @pfn is
 * the frame GUP returned (~0UL before it).
 * mmulab_kvm_fault_snapshot: mmu_invalidate_seq has been read.
 * mmulab_kvm_fault_pfn: the page was faulted in and referenced, no lock.
 * mmulab_kvm_fault_locked: mmu_lock is held for read; the retry check is
 *	next.
 * mmulab_kvm_fault_retry: the check failed; the fault will be retried.
 * mmulab_kvm_fault_install: the check passed; the SPTE is installed next.
 */
/* One prototype for every step, as Linux's DEFINE_EVENT() of a class. */
#define MMULAB_KVM_FAULT_STEP(name)                                            \
	DECLARE_TRACE(name,                                                    \
		      TP_PROTO(struct kvm_vcpu *vcpu, gpa_t gpa,               \
			       unsigned long hva, unsigned long pfn),          \
		      TP_ARGS(vcpu, gpa, hva, pfn))
MMULAB_KVM_FAULT_STEP(mmulab_kvm_fault_snapshot)
MMULAB_KVM_FAULT_STEP(mmulab_kvm_fault_pfn)
MMULAB_KVM_FAULT_STEP(mmulab_kvm_fault_locked)
MMULAB_KVM_FAULT_STEP(mmulab_kvm_fault_retry)
MMULAB_KVM_FAULT_STEP(mmulab_kvm_fault_install)

#endif /* MMULAB_TRACE_EVENTS_KVM_H */
