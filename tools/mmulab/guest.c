// SPDX-License-Identifier: MIT
/*
 * The VMs of a scenario: creation, memslots, vCPUs, and the quiescent
 * coherence check.
 *
 * The check is the invariant MMU notifiers exist to keep: a secondary
 * mapping never outlives, nor exceeds, the primary one.  For each gfn of
 * each memslot, a present SPTE must map the frame the VMM's page table
 * maps at the backing address, and may be writable only if that PTE is.
 * It is only meaningful when nothing runs: no vCPU, no host operation.
 */
#include <string.h>

#include "guest.h"
#include "sample.h"

int guest_create(struct guest *g, const char *name, struct mm_struct *mm,
		 bool pinned)
{
	memset(g, 0, sizeof(*g));
	g->name = name;
	g->mm = mm;
	g->pinned = pinned;
	g->kvm = kvm_create_vm(mm, pinned ? KVM_VM_PINNED : 0);
	if (IS_ERR(g->kvm)) {
		int ret = PTR_ERR(g->kvm);

		g->kvm = NULL;
		return ret;
	}
	sample_add_vm(g->kvm, name, g->vcpus, &g->nr_vcpus);
	return 0;
}

static int slot_index(const struct guest *g, u32 slot)
{
	for (unsigned int i = 0; i < g->nr_slots; i++)
		if (g->slots[i].slot == slot)
			return i;
	return -1;
}

int guest_memslot(struct guest *g, u32 slot, gpa_t gpa, u64 len, u64 hva,
		  bool readonly)
{
	struct kvm_userspace_memory_region mem = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = hva,
	};
	int i = slot_index(g, slot);
	int ret;

	if (i < 0 && len && g->nr_slots == GUEST_MAX_SLOTS)
		return -ENOSPC;
	ret = kvm_set_user_memory_region(g->kvm, &mem);
	if (ret)
		return ret;
	if (i < 0)
		i = g->nr_slots++;
	g->slots[i] = mem;
	if (!len)
		g->slots[i] = g->slots[--g->nr_slots];
	return 0;
}

int guest_add_vcpu(struct guest *g)
{
	struct kvm_vcpu *vcpu;

	if (g->nr_vcpus == GUEST_MAX_VCPUS)
		return -ENOSPC;
	vcpu = kvm_vcpu_create(g->kvm);
	if (IS_ERR(vcpu))
		return PTR_ERR(vcpu);
	g->vcpus[g->nr_vcpus] = vcpu;
	/* The sampler reads the vCPUs up to nr_vcpus as it runs. */
	OBSERVE_SET(g->nr_vcpus, g->nr_vcpus + 1);
	return g->nr_vcpus - 1;
}

unsigned long guest_gpa_to_hva(const struct guest *g, gpa_t gpa)
{
	for (unsigned int i = 0; i < g->nr_slots; i++) {
		const struct kvm_userspace_memory_region *s = &g->slots[i];

		if (gpa >= s->guest_phys_addr &&
		    gpa - s->guest_phys_addr < s->memory_size)
			return s->userspace_addr + (gpa - s->guest_phys_addr);
	}
	return 0;
}

int guest_read(struct guest *g, unsigned int i, gpa_t gpa, u64 *val)
{
	return kvm_vcpu_read_u64(g->vcpus[i], gpa, val);
}

int guest_write(struct guest *g, unsigned int i, gpa_t gpa, u64 val)
{
	return kvm_vcpu_write_u64(g->vcpus[i], gpa, val);
}

unsigned long guest_memslot_pages(const struct guest *g)
{
	unsigned long n = 0;

	for (unsigned int i = 0; i < g->nr_slots; i++)
		n += g->slots[i].memory_size >> PAGE_SHIFT;
	return n;
}

/* Why the SPTE for @gpa disagrees with the CPU PTE, or NULL if it agrees. */
static const char *spte_stale(struct guest *g, bool alive, unsigned long hva,
			      u64 spte, pte_t *pte)
{
	*pte = __pte(0);
	if (!alive)
		return "the VMM has exited";
	switch (kvm_spte_coherent(g->kvm, hva, spte, pte)) {
	case 0:
		return NULL;
	case INV_WRITABLE_SECONDARY:
		return "writable over a read-only PTE";
	default:
		return pte_present(*pte) ? "another frame" : "no CPU PTE";
	}
}

static unsigned long verify_slot(struct guest *g, bool alive,
				 const struct kvm_userspace_memory_region *s,
				 struct report *r, const char *who, bool allow)
{
	gpa_t gpa = s->guest_phys_addr, end = gpa + s->memory_size;
	unsigned long bad = 0;
	u64 spte;

	/* Only the SPTEs that exist: a sparse slot costs what it maps. */
	for (; (spte = kvm_next_spte(g->kvm, &gpa, end)); gpa += PAGE_SIZE) {
		u64 off = gpa - s->guest_phys_addr;
		const char *why;
		pte_t pte;

		why = spte_stale(g, alive, s->userspace_addr + off, spte, &pte);
		bad += why != NULL;
		if (allow)
			continue;
		report_check(r, !why,
			     "%s: vm %s: stale SPTE at gpa %#llx (hva %#llx): "
			     "%s (spte %#llx, pte %#llx)", who, g->name,
			     (unsigned long long)gpa,
			     (unsigned long long)(s->userspace_addr + off), why,
			     (unsigned long long)spte,
			     (unsigned long long)pte_val(pte));
	}
	return bad;
}

unsigned long guest_verify(struct guest *g, struct report *r,
			   const char *who, bool allow_stale)
{
	bool alive = mmget_not_zero(g->mm);
	unsigned long bad = 0;

	for (unsigned int i = 0; i < g->nr_slots; i++)
		bad += verify_slot(g, alive, &g->slots[i], r, who,
				   allow_stale);
	if (alive)
		mmput(g->mm);
	g->verify_points++;
	g->stale += bad;
	return bad;
}

/* Compare the guest's and the host's view of word 0 of one page. */
static bool verify_page(struct guest *g, gpa_t gpa, unsigned long hva,
			struct report *r, const char *who)
{
	u64 gval = 0, hval = 0;
	int hret = cpu_read_u64(g->mm, hva, &hval);
	int gret = guest_read(g, 0, gpa, &gval);
	bool ok;

	if (hret)
		ok = gret == -EFAULT;
	else
		ok = !gret && gval == hval;
	return report_check(r, ok,
			    "%s: vm %s gpa %#llx: guest read %s %#llx, host "
			    "read %s %#llx", who, g->name,
			    (unsigned long long)gpa, errno_name(gret),
			    (unsigned long long)gval, errno_name(hret),
			    (unsigned long long)hval);
}

unsigned long guest_verify_data(struct guest *g, struct report *r,
				const char *who)
{
	unsigned long bad = 0;

	if (!g->nr_vcpus ||
	    !report_check(r, mmget_not_zero(g->mm),
			  "%s: vm %s: the VMM has exited", who, g->name))
		return 0;
	for (unsigned int i = 0; i < g->nr_slots; i++) {
		const struct kvm_userspace_memory_region *s = &g->slots[i];

		for (u64 off = 0; off < s->memory_size; off += PAGE_SIZE)
			bad += !verify_page(g, s->guest_phys_addr + off,
					    s->userspace_addr + off, r, who);
	}
	mmput(g->mm);
	return bad;
}

void guest_report(struct guest *g, struct report *r)
{
	struct report_vm *v = report_add_vm(r, g->name);

	if (!v)
		return;
	v->pinned = g->pinned;
	v->change_pte = report_change_pte_name(mm_host(g->mm));
	v->memslots = g->nr_slots;
	v->memslot_pages = guest_memslot_pages(g);
	v->verify_points = g->verify_points;
	v->stale_sptes = g->stale;
	kvm_get_vm_stat(g->kvm, &v->stat);
	v->nr_vcpus = g->nr_vcpus;
	for (unsigned int i = 0; i < g->nr_vcpus; i++)
		kvm_get_vcpu_stat(g->vcpus[i], &v->vcpus[i]);
}

void guest_destroy(struct guest *g)
{
	if (g->kvm) {
		sample_remove(g->kvm);
		kvm_destroy_vm(g->kvm);
	}
	g->kvm = NULL;
	g->nr_vcpus = 0;
}
