/* SPDX-License-Identifier: MIT */
/*
 * A guest for the KSM and migration tests: a host watched by the
 * coherence checker, a VMM address space with one private anonymous area,
 * and a KVM VM whose memslot 0 maps it at guest-physical 0, with one vCPU.
 * Include after cmocka.h.
 */
#ifndef MMULAB_TESTS_GUEST_H
#define MMULAB_TESTS_GUEST_H

#include <mmulab/checker.h>
#include "mm/pgtable.h"
#include "virt/kvm/kvm_host.h"

#define RW (PROT_READ | PROT_WRITE)

struct guest {
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	unsigned long hva;
	unsigned long npages;
};

/* The VM (kvm_create_vm() @flags) over g->npages pages at g->hva, and its
 * vCPU. */
static inline void guest_attach_vm_flags(struct guest *g, unsigned long flags)
{
	struct kvm_userspace_memory_region r = { 0 };

	g->kvm = kvm_create_vm(g->mm, flags);
	assert_false(IS_ERR(g->kvm));
	r.memory_size = g->npages * PAGE_SIZE;
	r.userspace_addr = g->hva;
	assert_int_equal(kvm_set_user_memory_region(g->kvm, &r), 0);
	g->vcpu = kvm_vcpu_create(g->kvm);
	assert_false(IS_ERR(g->vcpu));
}

static inline void guest_attach_vm(struct guest *g)
{
	guest_attach_vm_flags(g, 0);
}

/* A host watched by the checker, and an mm without mappings yet. */
static inline void guest_host_new(struct guest *g,
				  const struct host_config *cfg,
				  unsigned long npages)
{
	g->npages = npages;
	g->host = host_create(cfg);
	assert_false(IS_ERR(g->host));
	assert_int_equal(checker_attach(g->host), 0);
	g->mm = mm_alloc(g->host);
	assert_false(IS_ERR(g->mm));
}

static inline void guest_new_cfg(struct guest *g,
				 const struct host_config *cfg,
				 unsigned long npages)
{
	guest_host_new(g, cfg, npages);
	g->hva = vm_mmap(g->mm, 0, npages * PAGE_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)g->hva > 0);
	guest_attach_vm(g);
}

static inline void guest_new(struct guest *g, enum change_pte_mode mode,
			     unsigned long npages)
{
	struct host_config cfg = { 4096, HOST_CONTENT_DATA, mode };

	guest_new_cfg(g, &cfg, npages);
}

/*
 * Tear down; the checker must have seen no violation, every frame must be
 * back, and no warning raised meanwhile.
 */
static inline void guest_free(struct guest *g, unsigned long warns)
{
	if (checker_sweep(g->host) || checker_violations(g->host))
		checker_report(g->host, stderr);
	assert_int_equal(checker_violations(g->host), 0);
	kvm_destroy_vm(g->kvm);
	if (g->mm)
		mmput(g->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(g->host),
			 host_config_of(g->host)->nr_frames - 1);
	checker_detach(g->host);
	assert_int_equal(host_destroy(g->host), 0);
	assert_int_equal(warn_count(), warns);
}

static inline u64 guest_read(struct guest *g, gpa_t gpa)
{
	u64 val = ~0ULL;

	assert_int_equal(kvm_vcpu_read_u64(g->vcpu, gpa, &val), 0);
	return val;
}

static inline void guest_write(struct guest *g, gpa_t gpa, u64 val)
{
	assert_int_equal(kvm_vcpu_write_u64(g->vcpu, gpa, val), 0);
}

static inline u64 host_read(struct guest *g, unsigned long off)
{
	u64 val = ~0ULL;

	assert_int_equal(cpu_read_u64(g->mm, g->hva + off, &val), 0);
	return val;
}

/* The host PTE of guest page @i. */
static inline pte_t guest_pte(struct guest *g, unsigned long i)
{
	pte_t pte;

	assert_int_equal(follow_pte(g->mm, g->hva + i * PAGE_SIZE, &pte), 0);
	return pte;
}

static inline unsigned long guest_pfn(struct guest *g, unsigned long i)
{
	pte_t pte = guest_pte(g, i);

	assert_true(pte_present(pte));
	return pte_pfn(pte);
}

static inline u64 guest_spte(struct guest *g, unsigned long i)
{
	return kvm_lookup_spte(g->kvm, i * PAGE_SIZE);
}

/* kvm_walk_sptes() callback: report and stop at an incoherent SPTE. */
static int spte_incoherent(gpa_t gpa, unsigned long hva, u64 spte, void *arg)
{
	pte_t pte;
	int inv = kvm_spte_coherent(arg, hva, spte, &pte);

	if (inv)
		print_message("gpa %#llx: spte %#llx, host pte %#llx: %s\n",
			      (unsigned long long)gpa, (unsigned long long)spte,
			      (unsigned long long)pte_val(pte),
			      checker_inv_name(inv));
	return inv;
}

/*
 * Coherence: every present SPTE of @kvm maps the frame the host PTE maps
 * at that HVA, and is writable only if the host PTE is.
 */
static inline void assert_kvm_coherent(struct kvm *kvm)
{
	assert_int_equal(kvm_walk_sptes(kvm, spte_incoherent, kvm), 0);
}

static inline void assert_guest_coherent(struct guest *g)
{
	assert_kvm_coherent(g->kvm);
}

#endif /* MMULAB_TESTS_GUEST_H */
