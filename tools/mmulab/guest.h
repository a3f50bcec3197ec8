/* SPDX-License-Identifier: MIT */
/*
 * A KVM VM as the mmulab command drives it: the struct kvm, its memslots
 * (remembered, so that a guest-physical address can be turned back into
 * the host virtual address the primary MMU knows), its vCPUs, and the
 * checks made at quiescent points: every present SPTE against the CPU
 * page table (kvm_next_spte() and kvm_spte_coherent()).  The memslots are
 * remembered here rather than read with kvm_for_each_memslot() or
 * gfn_to_hva_prot(): those take kvm->srcu, a scheduling point, and the
 * workloads and races translate addresses inside deterministic runs, whose
 * interleavings an observation must not change.
 */
#ifndef MMULAB_TOOL_GUEST_H
#define MMULAB_TOOL_GUEST_H

#include <mmulab/kvm.h>

#include "report.h"

#define GUEST_MAX_SLOTS 8
#define GUEST_MAX_VCPUS REPORT_MAX_VCPUS

/**
 * struct guest - one VM.
 * @name: its name in the scenario.
 * @kvm: the VM.
 * @mm: the VMM's address space (the VM keeps the struct alive).
 * @pinned: created with KVM_VM_PINNED.
 * @nr_slots: memslots in @slots.
 * @slots: the memslots, as they were set.
 * @nr_vcpus: vCPUs in @vcpus.
 * @vcpus: the vCPUs, by id.
 * @verify_points: quiescent checks made by guest_verify().
 * @stale: present SPTEs those checks found disagreeing with the CPU page
 *	table (another frame, a writable SPTE over a read-only PTE, or no
 *	PTE at all).
 */
struct guest {
	const char *name;
	struct kvm *kvm;
	struct mm_struct *mm;
	bool pinned;
	unsigned int nr_slots;
	struct kvm_userspace_memory_region slots[GUEST_MAX_SLOTS];
	unsigned int nr_vcpus;
	struct kvm_vcpu *vcpus[GUEST_MAX_VCPUS];
	unsigned long verify_points;
	unsigned long stale;
};

/**
 * guest_create() - create VM @name over @mm.
 * Return: 0 or kvm_create_vm()'s error.
 */
int guest_create(struct guest *g, const char *name, struct mm_struct *mm,
		 bool pinned);

/**
 * guest_memslot() - set memslot @slot: @len bytes at @gpa backed by @hva.
 * A zero @len deletes the slot.
 * Return: 0, -ENOSPC when more than GUEST_MAX_SLOTS would exist, or
 * kvm_set_user_memory_region()'s error.
 */
int guest_memslot(struct guest *g, u32 slot, gpa_t gpa, u64 len, u64 hva,
		  bool readonly);

/**
 * guest_add_vcpu() - add a vCPU.
 * Return: its index, or -ENOSPC or kvm_vcpu_create()'s error.
 */
int guest_add_vcpu(struct guest *g);

/**
 * guest_gpa_to_hva() - the host virtual address backing @gpa, or 0 when
 * no memslot covers it.
 */
unsigned long guest_gpa_to_hva(const struct guest *g, gpa_t gpa);

/** guest_read() - 8-byte guest load through vCPU @i. */
int guest_read(struct guest *g, unsigned int i, gpa_t gpa, u64 *val);
/** guest_write() - 8-byte guest store through vCPU @i. */
int guest_write(struct guest *g, unsigned int i, gpa_t gpa, u64 val);

/**
 * guest_verify() - at a quiescent point (no vCPU running, no host
 * operation in flight), compare every present SPTE of every memslot with
 * the CPU page table of the VMM.  After the VMM exited every present SPTE
 * is stale.  Each disagreement is a failed check of @r, named with @who,
 * unless @allow_stale: then stale SPTEs are only counted (a pinned VM's
 * are expected).
 * Return: the number of stale SPTEs found.
 */
unsigned long guest_verify(struct guest *g, struct report *r,
			   const char *who, bool allow_stale);

/**
 * guest_verify_data() - read every page of every memslot (word 0) through
 * vCPU 0 and through the host CPU, and check both read the same value.
 * Pages the host cannot read (holes, PROT_NONE) must fault for the guest
 * too.  Return: the number of pages that disagreed.
 */
unsigned long guest_verify_data(struct guest *g, struct report *r,
				const char *who);

/** guest_memslot_pages() - pages covered by the memslots. */
unsigned long guest_memslot_pages(const struct guest *g);

/** guest_report() - add @g's counters to @r, as VM @name. */
void guest_report(struct guest *g, struct report *r);

/** guest_destroy() - destroy the VM; its vCPUs must be idle. */
void guest_destroy(struct guest *g);

#endif /* MMULAB_TOOL_GUEST_H */
