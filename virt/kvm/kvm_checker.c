// SPDX-License-Identifier: MIT
/*
 * KVM's part in the coherence checker (<mmulab/checker.h>): the sweep that
 * compares every SPTE with the host page tables at a quiescent point, the
 * contract query over SPTEs and vCPU TLB entries, and the description of
 * what maps a frame for reports.  Checking code, kept apart from the
 * protocol as Linux keeps KVM's debugfs code in files of its own; the
 * contract query takes no lock and adds no scheduling point.
 */
#include <stdio.h>
#include "kvm_host.h"

static void kvm_check_spte(struct kvm *kvm, struct kvm_memory_slot *slot,
			   gfn_t gfn, u64 spte)
{
	unsigned long hva = slot->userspace_addr +
			    ((gfn - slot->base_gfn) << PAGE_SHIFT);
	unsigned long pfn = (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;
	gpa_t gpa = gfn << PAGE_SHIFT;
	struct page *page = pfn_to_page(kvm->host, pfn);
	pte_t pte;
	int inv = kvm_spte_coherent(kvm, hva, spte, &pte);

	if (inv == INV_STALE_SECONDARY) {
		checker_fail(kvm->host, INV_STALE_SECONDARY, pfn, hva, gpa,
			     "kvm",
			     "SPTE for gfn %#llx maps frame %lu; the host PTE "
			     "at %#lx %s %lu",
			     (unsigned long long)gfn, pfn, hva,
			     pte_present(pte) ? "maps frame" : "is not present, was",
			     pte_present(pte) ? pte_pfn(pte) : 0UL);
		return;
	}
	if (inv == INV_WRITABLE_SECONDARY)
		checker_fail(kvm->host, INV_WRITABLE_SECONDARY, pfn, hva, gpa,
			     "kvm",
			     "SPTE for gfn %#llx is writable, the host PTE at "
			     "%#lx is read-only",
			     (unsigned long long)gfn, hva);
	if (kvm_pinned(kvm) || is_zero_pfn(pfn))
		return;
	if (page_ref_count(page) > page_expected_refs(page))
		checker_fail(kvm->host, INV_PINNED_OR_UNBALANCED, pfn, hva, gpa,
			     "kvm",
			     "frame %lu mapped by the VM has %d references, "
			     "%d expected from its mappings: a reference leaked",
			     pfn, page_ref_count(page), page_expected_refs(page));
}

/* Which SPTE maps @pfn?  Lock-free: SPTEs are read once, memslots under
 * SRCU, and tables are never freed while the VM lives. */
static bool kvm_checker_describe(struct checker_secondary *cs,
				 unsigned long pfn, char *buf, size_t n,
				 unsigned long *addr, u64 *gpa)
{
	struct kvm *kvm = container_of(cs, struct kvm, checker);
	struct kvm_memslots *slots;
	bool found = false;
	int idx = srcu_read_lock(&kvm->srcu);

	slots = rcu_dereference(kvm->memslots);
	for (int i = 0; i < slots->nr && !found; i++) {
		struct kvm_memory_slot *slot = slots->sorted[i];

		gfn_t gfn = slot->base_gfn, end = gfn + slot->npages;
		u64 spte;

		for (; !found && (spte = kvm_tdp_mmu_next_spte(kvm, &gfn, end));
		     gfn++) {
			if ((spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT != pfn)
				continue;
			*gpa = gfn << PAGE_SHIFT;
			*addr = slot->userspace_addr +
				((gfn - slot->base_gfn) << PAGE_SHIFT);
			snprintf(buf, n, "SPTE gfn %#llx -> frame %lu (%s%s%s)",
				 (unsigned long long)gfn, pfn,
				 spte & KVM_SPTE_WRITABLE ? "W" : "R",
				 spte & KVM_SPTE_ACCESSED ? "A" : "",
				 spte & KVM_SPTE_DIRTY ? "D" : "");
			found = true;
		}
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return found;
}

/*
 * A vCPU TLB entry of [gs, ge) still usable: one with a flush request
 * pending is dropped at the vCPU's next guest entry, and the flush that
 * set the request waited for the vCPU to leave guest mode.
 */
static bool kvm_tlb_mapped(struct kvm *kvm, gfn_t gs, gfn_t ge,
			   struct checker_mapping *out)
{
	int n = checker_peek(kvm->online_vcpus.counter);

	for (int i = 0; i < n; i++) {
		struct kvm_vcpu *v = checker_peek(kvm->vcpus[i]);

		if (!v || (checker_peek(v->requests) & KVM_REQ_TLB_FLUSH))
			continue;
		for (int j = 0; j < KVM_TLB_ENTRIES; j++) {
			u64 gfn = checker_peek(v->tlb[j].gfn_plus1) - 1;

			if (gfn + 1 == 0 || gfn < gs || gfn >= ge)
				continue;
			out->pfn = checker_peek(v->tlb[j].pfn);
			out->gpa = gfn << PAGE_SHIFT;
			out->addr = kvm_gfn_to_hva_peek(kvm, gfn);
			snprintf(out->what, sizeof(out->what),
				 "vCPU %d's TLB entry for gfn %#llx", i,
				 (unsigned long long)gfn);
			return true;
		}
	}
	return false;
}

static bool kvm_gfns_mapped(struct kvm *kvm, gfn_t gs, gfn_t ge,
			    struct checker_mapping *out)
{
	gfn_t gfn;
	u64 spte;

	if (kvm_tdp_mmu_peek_range(kvm, gs, ge, &gfn, &spte)) {
		out->pfn = (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;
		out->gpa = gfn << PAGE_SHIFT;
		out->addr = kvm_gfn_to_hva_peek(kvm, gfn);
		snprintf(out->what, sizeof(out->what), "the SPTE for gfn %#llx",
			 (unsigned long long)gfn);
		return true;
	}
	return kvm_tlb_mapped(kvm, gs, ge, out);
}

/*
 * The contract query: SPTEs and vCPU TLB entries translating host
 * addresses in [start, end) of @mm; everything for the whole space
 * (release, unregister).  Memslots are stable here: updates wait for the
 * invalidation that asks to end.
 */
static bool kvm_checker_mapped(struct checker_secondary *cs,
			       struct mm_struct *mm, unsigned long start,
			       unsigned long end, struct checker_mapping *out)
{
	struct kvm *kvm = container_of(cs, struct kvm, checker);
	struct kvm_memslots *slots;

	if (mm != kvm->mm)
		return false;
	if (!start && end == ~0UL)
		return kvm_gfns_mapped(kvm, 0, 1ULL << (48 - PAGE_SHIFT), out);
	slots = checker_peek(kvm->memslots);
	for (int i = 0; slots && i < slots->nr; i++) {
		struct kvm_memory_slot *slot = slots->sorted[i];
		unsigned long hs = start > slot->userspace_addr
					   ? start
					   : slot->userspace_addr;
		unsigned long he = end < slot_hva_end(slot) ? end
							    : slot_hva_end(slot);

		if (hs < he &&
		    kvm_gfns_mapped(kvm, hva_to_gfn(hs, slot),
				    hva_to_gfn(he + PAGE_SIZE - 1, slot), out))
			return true;
	}
	return false;
}

/*
 * At a quiescent point: no invalidation may be half done, and every SPTE
 * must agree with the host page tables.
 */
static void kvm_checker_sweep(struct checker_secondary *cs, struct host *host)
{
	struct kvm *kvm = container_of(cs, struct kvm, checker);
	struct kvm_memslots *slots = kvm->memslots;

	if (kvm->mmu_invalidate_in_progress ||
	    atomic_long_read(&kvm->mn_active_invalidate_count))
		checker_fail(host, INV_PINNED_OR_UNBALANCED, ~0UL, 0, ~0ULL,
			     "kvm",
			     "idle VM has %ld invalidations in progress and "
			     "%ld active",
			     kvm->mmu_invalidate_in_progress,
			     atomic_long_read(&kvm->mn_active_invalidate_count));
	for (int i = 0; i < slots->nr; i++) {
		struct kvm_memory_slot *slot = slots->sorted[i];

		gfn_t gfn = slot->base_gfn, end = gfn + slot->npages;
		u64 spte;

		for (; (spte = kvm_tdp_mmu_next_spte(kvm, &gfn, end)); gfn++)
			kvm_check_spte(kvm, slot, gfn, spte);
	}
}

/**
 * kvm_checker_register() - have the host's checker sweep @kvm, ask it the
 * contract query after each of its notifier's invalidations, and describe
 * its SPTEs in reports.  Called at creation, before the notifier is
 * registered, when the host has a checker.
 */
void kvm_checker_register(struct kvm *kvm)
{
	kvm->checker.name = "kvm";
	kvm->checker.sweep = kvm_checker_sweep;
	kvm->checker.describe = kvm_checker_describe;
	kvm->checker.mapped = kvm_checker_mapped;
	checker_register_secondary(kvm->host, &kvm->checker);
	checker_watch_notifier(&kvm->checker, &kvm->mmu_notifier);
}
