// SPDX-License-Identifier: MIT
/*
 * KVM-style secondary MMU: coherence with every host operation, the fault
 * retry protocol step by step, change_pte modes, pinned baseline, memslot
 * updates, and parallel vCPUs against host churn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mmulab/sched.h>
#include "mm/pgtable.h"
#include "virt/kvm/kvm_host.h"
#include "guest.h"

#define NPAGES 32
#define RW (PROT_READ | PROT_WRITE)

struct vm {
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;
	unsigned long hva;
};

static void vm_new(struct vm *v, enum change_pte_mode mode, unsigned long flags)
{
	struct host_config cfg = { 2048, HOST_CONTENT_DATA, mode };
	struct kvm_userspace_memory_region r = { 0 };

	v->host = host_create(&cfg);
	assert_false(IS_ERR(v->host));
	v->mm = mm_alloc(v->host);
	assert_false(IS_ERR(v->mm));
	v->hva = vm_mmap(v->mm, 0, NPAGES * PAGE_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)v->hva > 0);
	v->kvm = kvm_create_vm(v->mm, flags);
	assert_false(IS_ERR(v->kvm));
	r.memory_size = NPAGES * PAGE_SIZE;
	r.userspace_addr = v->hva;
	assert_int_equal(kvm_set_user_memory_region(v->kvm, &r), 0);
	v->vcpu = kvm_vcpu_create(v->kvm);
	assert_false(IS_ERR(v->vcpu));
}

static void vm_free(struct vm *v)
{
	kvm_destroy_vm(v->kvm);
	if (v->mm)
		mmput(v->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(v->host),
			 host_config_of(v->host)->nr_frames - 1);
	assert_int_equal(host_destroy(v->host), 0);
}

static u64 gread(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	u64 val = ~0ULL;

	assert_int_equal(kvm_vcpu_read_u64(vcpu, gpa, &val), 0);
	return val;
}

static u64 hread(struct vm *v, unsigned long off)
{
	u64 val = ~0ULL;

	assert_int_equal(cpu_read_u64(v->mm, v->hva + off, &val), 0);
	return val;
}

static unsigned long spte_pfn_of(struct vm *v, gpa_t gpa)
{
	return (kvm_lookup_spte(v->kvm, gpa) & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;
}

static void assert_coherent(struct vm *v)
{
	assert_kvm_coherent(v->kvm);
}

static void test_host_and_guest_see_each_other(void **state)
{
	struct vm v;
	char buf[64], out[64];

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(cpu_write_u64(v.mm, v.hva + 8, 1234), 0);
	assert_int_equal(gread(v.vcpu, 8), 1234);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 2 * PAGE_SIZE, 99), 0);
	assert_int_equal(hread(&v, 2 * PAGE_SIZE), 99);
	for (int i = 0; i < 64; i++)
		buf[i] = (char)i;
	assert_int_equal(kvm_vcpu_write(v.vcpu, 3 * PAGE_SIZE + 100, buf, 64),
			 0);
	assert_int_equal(cpu_read(v.mm, v.hva + 3 * PAGE_SIZE + 100, out, 64),
			 0);
	assert_memory_equal(buf, out, 64);
	/* Second access hits the vCPU TLB. */
	gread(v.vcpu, 8);
	struct kvm_vcpu_stat st;

	kvm_get_vcpu_stat(v.vcpu, &st);
	assert_true(st.tlb_hits >= 1);
	/* No memslot: an exit to the VMM; bad input. */
	u64 val;

	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 1ULL << 32, &val),
			 KVM_EXIT_MMIO);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 4, &val), -EINVAL);
	assert_int_equal(kvm_vcpu_read(v.vcpu, PAGE_SIZE - 4, buf, 8),
			 -EINVAL);
	assert_coherent(&v);
	vm_free(&v);
}

/* The counters count what happened, exactly, one step at a time. */
static void test_stats(void **state)
{
	struct kvm_userspace_memory_region r = {0};
	struct kvm_vcpu_stat c0, c;
	struct kvm_vm_stat s0, s;
	unsigned long a;
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	kvm_get_vm_stat(v.kvm, &s0);
	kvm_get_vcpu_stat(v.vcpu, &c0);
	assert_int_equal(s0.memslot_updates, 1);

	gread(v.vcpu, 0); /* a fault */
	gread(v.vcpu, 8); /* a TLB hit */
	kvm_get_vcpu_stat(v.vcpu, &c);
	assert_int_equal(c.accesses - c0.accesses, 2);
	assert_int_equal(c.pf_taken - c0.pf_taken, 1);
	assert_int_equal(c.pf_fixed - c0.pf_fixed, 1);
	assert_int_equal(c.tlb_hits - c0.tlb_hits, 1);
	kvm_get_vm_stat(v.kvm, &s);
	assert_int_equal(s.pages_4k, 1);

	/* Aging asks, finds the SPTE young, and clears it. */
	assert_true(mmu_notifier_clear_flush_young(v.mm, v.hva,
						   v.hva + PAGE_SIZE));
	assert_false(mmu_notifier_test_young(v.mm, v.hva));
	kvm_get_vm_stat(v.kvm, &s);
	assert_int_equal(s.age_calls - s0.age_calls, 2);
	assert_int_equal(s.age_young - s0.age_young, 1);

	/* A zap: one invalidation, one remote flush, which the vCPU runs. */
	kvm_get_vm_stat(v.kvm, &s0);
	assert_int_equal(do_madvise(v.mm, v.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	kvm_get_vm_stat(v.kvm, &s);
	assert_int_equal(s.mmu_invalidations - s0.mmu_invalidations, 1);
	assert_int_equal(s.remote_tlb_flush - s0.remote_tlb_flush, 1);
	assert_int_equal(s.pages_4k, 0);
	kvm_get_vcpu_stat(v.vcpu, &c0);
	gread(v.vcpu, 0);
	kvm_get_vcpu_stat(v.vcpu, &c);
	assert_int_equal(c.tlb_flushes - c0.tlb_flushes, 1);
	assert_int_equal(c.pf_taken - c0.pf_taken, 1);

	/* A zap outside every memslot hits none. */
	kvm_get_vm_stat(v.kvm, &s0);
	a = vm_mmap(v.mm, 0, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)a > 0);
	assert_int_equal(cpu_write_u64(v.mm, a, 1), 0);
	assert_int_equal(do_madvise(v.mm, a, PAGE_SIZE, MADV_DONTNEED), 0);
	kvm_get_vm_stat(v.kvm, &s);
	assert_int_equal(s.mmu_invalidations, s0.mmu_invalidations);
	assert_int_equal(s.mmu_invalidations_nomatch -
				 s0.mmu_invalidations_nomatch,
			 1);

	/* A second memslot: one more update. */
	r.memory_size = PAGE_SIZE;
	r.userspace_addr = v.hva;
	r.slot = 1;
	r.guest_phys_addr = 1ULL << 32;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	kvm_get_vm_stat(v.kvm, &s0);
	assert_int_equal(s0.memslot_updates - s.memslot_updates, 1);
	vm_free(&v);
}

static void test_dontneed_and_mprotect(void **state)
{
	struct vm v;
	u64 val;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 5), 0);
	assert_int_equal(do_madvise(v.mm, v.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	assert_false(kvm_lookup_spte(v.kvm, 0) & KVM_SPTE_PRESENT);
	assert_int_equal(gread(v.vcpu, 0), 0);

	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, PAGE_SIZE, 6), 0);
	assert_int_equal(do_mprotect(v.mm, v.hva, NPAGES * PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(gread(v.vcpu, PAGE_SIZE), 6);
	assert_false(kvm_lookup_spte(v.kvm, PAGE_SIZE) & KVM_SPTE_WRITABLE);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, PAGE_SIZE, 7), -EFAULT);
	assert_int_equal(do_mprotect(v.mm, v.hva, NPAGES * PAGE_SIZE, RW), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, PAGE_SIZE, 7), 0);
	assert_int_equal(hread(&v, PAGE_SIZE), 7);
	/* PROT_NONE: even reads fail. */
	assert_int_equal(do_mprotect(v.mm, v.hva, PAGE_SIZE, PROT_NONE), 0);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 0, &val), -EFAULT);
	assert_coherent(&v);
	vm_free(&v);
}

static void test_fork_cow(void **state)
{
	struct mm_struct *child;
	struct vm v;
	u64 val;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 1), 0);
	child = dup_mm(v.mm);
	assert_false(IS_ERR(child));
	/* fork write-protected the parent: the SPTE was zapped. */
	assert_false(kvm_lookup_spte(v.kvm, 0) & KVM_SPTE_PRESENT);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 2), 0);
	assert_int_equal(hread(&v, 0), 2);
	assert_int_equal(cpu_read_u64(child, v.hva, &val), 0);
	assert_int_equal(val, 1);
	assert_coherent(&v);
	mmput(child);
	vm_free(&v);
}

static void test_remap_and_memslots(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };
	struct vm v;
	u64 val;
	long a;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 11), 0);
	assert_int_equal(vm_munmap(v.mm, v.hva, NPAGES * PAGE_SIZE), 0);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 0, &val), -EFAULT);
	a = vm_mmap(v.mm, v.hva, NPAGES * PAGE_SIZE, RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	assert_int_equal(a, v.hva);
	assert_int_equal(cpu_write_u64(v.mm, v.hva, 22), 0);
	assert_int_equal(gread(v.vcpu, 0), 22);

	/* Move the slot: old GPAs exit, new GPAs see the same memory. */
	r.memory_size = NPAGES * PAGE_SIZE;
	r.userspace_addr = v.hva;
	r.guest_phys_addr = 1ULL << 30;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 0, &val), KVM_EXIT_MMIO);
	assert_int_equal(gread(v.vcpu, 1ULL << 30), 22);
	/* No stale SPTE at the old place. */
	assert_false(kvm_lookup_spte(v.kvm, 0) & KVM_SPTE_PRESENT);
	/* Errors: overlap, changing size, misalignment. */
	struct kvm_userspace_memory_region o = r;

	o.slot = 1;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &o), -EEXIST);
	o = r;
	o.memory_size = PAGE_SIZE;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &o), -EINVAL);
	o = r;
	o.guest_phys_addr = 5;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &o), -EINVAL);
	o.slot = KVM_MAX_MEMSLOTS;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &o), -EINVAL);
	/* Read-only slot: reads work, writes exit. */
	o = r;
	o.slot = 2;
	o.guest_phys_addr = 1ULL << 31;
	o.flags = KVM_MEM_READONLY;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &o), 0);
	assert_int_equal(gread(v.vcpu, 1ULL << 31), 22);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 1ULL << 31, 1),
			 KVM_EXIT_MMIO);
	/* Delete: the guest sees MMIO, no SPTE remains. */
	r.memory_size = 0;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 1ULL << 30, &val),
			 KVM_EXIT_MMIO);
	assert_false(kvm_lookup_spte(v.kvm, 1ULL << 30) & KVM_SPTE_PRESENT);
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), -EINVAL);
	vm_free(&v);
}

static int count_slot(const struct kvm_userspace_memory_region *slot,
		      void *arg)
{
	u64 *n = arg;

	n[0]++;
	n[1] += slot->memory_size;
	return slot->guest_phys_addr == n[2] ? 7 : 0;
}

static int count_spte(gpa_t gpa, unsigned long hva, u64 spte, void *arg)
{
	struct vm *v = arg;

	assert_true(spte & KVM_SPTE_PRESENT);
	assert_int_equal(hva, gfn_to_hva_prot(v->kvm, gpa >> PAGE_SHIFT,
					      NULL));
	assert_int_equal(spte, kvm_lookup_spte(v->kvm, gpa));
	return 0;
}

static int stop_spte(gpa_t gpa, unsigned long hva, u64 spte, void *arg)
{
	(void)hva, (void)spte;
	*(gpa_t *)arg = gpa;
	return 1;
}

/*
 * The public readers of KVM's state: gfn_to_hva_prot(), the memslot walk,
 * the SPTE walk (only present SPTEs, a callback's value stops it) and the
 * SPTE-versus-PTE verdict, which fires for another frame and for a
 * writable SPTE over a read-only PTE.
 */
static void test_memslot_and_spte_walks(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };
	u64 n[3] = { 0, 0, ~0ULL };
	bool writable = true;
	gpa_t first = ~0ULL;
	pte_t pte;
	struct vm v;
	u64 spte;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	r.slot = 1;
	r.flags = KVM_MEM_READONLY;
	r.guest_phys_addr = 1ULL << 30;
	r.memory_size = 2 * PAGE_SIZE;
	r.userspace_addr = v.hva;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	assert_int_equal(gfn_to_hva_prot(v.kvm, 3, &writable),
			 v.hva + 3 * PAGE_SIZE);
	assert_true(writable);
	assert_int_equal(gfn_to_hva_prot(v.kvm, (1ULL << 30 >> PAGE_SHIFT) + 1,
					 &writable),
			 v.hva + PAGE_SIZE);
	assert_false(writable);
	assert_true(kvm_is_error_hva(gfn_to_hva_prot(v.kvm, NPAGES, NULL)));
	assert_true(kvm_is_error_hva(gfn_to_hva_prot(NULL, 0, NULL)));

	assert_int_equal(kvm_for_each_memslot(v.kvm, count_slot, n), 0);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], NPAGES * PAGE_SIZE + 2 * PAGE_SIZE);
	n[0] = 0, n[2] = 0; /* stop at the slot at gpa 0, the first */
	assert_int_equal(kvm_for_each_memslot(v.kvm, count_slot, n), 7);
	assert_int_equal(n[0], 1);
	assert_int_equal(kvm_for_each_memslot(v.kvm, NULL, n), -EINVAL);

	/* Nothing mapped yet; then pages 2 and 5. */
	assert_int_equal(kvm_walk_sptes(v.kvm, stop_spte, &first), 0);
	assert_int_equal(first, ~0ULL);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 5 * PAGE_SIZE, 1), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 2 * PAGE_SIZE, 1), 0);
	assert_int_equal(kvm_walk_sptes(v.kvm, count_spte, &v), 0);
	assert_int_equal(kvm_walk_sptes(v.kvm, stop_spte, &first), 1);
	assert_int_equal(first, 2 * PAGE_SIZE);
	assert_int_equal(kvm_walk_sptes(NULL, stop_spte, &first), -EINVAL);
	assert_coherent(&v);

	/* The verdict: agree, another frame, writable over read-only. */
	spte = kvm_lookup_spte(v.kvm, 2 * PAGE_SIZE);
	assert_int_equal(kvm_spte_coherent(v.kvm, v.hva + 2 * PAGE_SIZE, spte,
					   &pte),
			 0);
	assert_int_equal(pte_pfn(pte), spte_pfn_of(&v, 2 * PAGE_SIZE));
	assert_int_equal(kvm_spte_coherent(v.kvm, v.hva + 5 * PAGE_SIZE, spte,
					   NULL),
			 INV_STALE_SECONDARY);
	assert_int_equal(kvm_spte_coherent(v.kvm, v.hva + 7 * PAGE_SIZE, spte,
					   &pte),
			 INV_STALE_SECONDARY);
	assert_false(pte_present(pte));
	assert_int_equal(do_mprotect(v.mm, v.hva, NPAGES * PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(kvm_spte_coherent(v.kvm, v.hva + 2 * PAGE_SIZE, spte,
					   NULL),
			 INV_WRITABLE_SECONDARY);
	assert_int_equal(kvm_spte_coherent(NULL, v.hva, spte, NULL), -EINVAL);
	assert_coherent(&v);
	vm_free(&v);
}

static void test_dirty_log(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long map[1];
	struct vm v;
	u64 val;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	/* Mapped writable before logging starts. */
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 1), 0);
	assert_int_equal(kvm_get_dirty_log(v.kvm, 0, map), -EINVAL);
	/* A flags update turns logging on and write-protects the slot. */
	r.memory_size = NPAGES * PAGE_SIZE;
	r.userspace_addr = v.hva;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	assert_false(kvm_lookup_spte(v.kvm, 0) & KVM_SPTE_WRITABLE);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 2), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 3 * PAGE_SIZE, 3), 0);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 5 * PAGE_SIZE, &val), 0);
	assert_int_equal(kvm_get_dirty_log(v.kvm, 0, map), 0);
	assert_int_equal(map[0], (1UL << 0) | (1UL << 3));
	/* Cleared and write-protected again: nothing, then just page 3. */
	assert_int_equal(kvm_get_dirty_log(v.kvm, 0, map), 0);
	assert_int_equal(map[0], 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 3 * PAGE_SIZE, 4), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 3 * PAGE_SIZE + 8, 5), 0);
	assert_int_equal(kvm_get_dirty_log(v.kvm, 0, map), 0);
	assert_int_equal(map[0], 1UL << 3);
	assert_int_equal(hread(&v, 3 * PAGE_SIZE), 4);
	/* READONLY cannot be changed; logging can be turned off. */
	r.flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), -EINVAL);
	r.flags = 0;
	assert_int_equal(kvm_set_user_memory_region(v.kvm, &r), 0);
	assert_int_equal(kvm_get_dirty_log(v.kvm, 0, map), -EINVAL);
	assert_coherent(&v);
	vm_free(&v);
}

/* ---------------------------------------------------------------------
 * The retry protocol, one step at a time
 */

/* The steps of the fault a test places another event at. */
enum fault_step {
	AT_SNAPSHOT, /* mmulab_kvm_fault_snapshot */
	AT_PFN,	     /* mmulab_kvm_fault_pfn: GUP done, no lock held */
};

struct race {
	struct vm *v;
	enum fault_step stage;
	int calls;
	struct mmu_notifier_range range;
	bool open;
	unsigned long inv_off; /* page offset of the invalidation */
	void (*hook)(struct race *r, enum fault_step step);
};

#define RACE_PROBE(name, step)                                                 \
	static void name(void *r, struct kvm_vcpu *vcpu, gpa_t gpa,            \
			 unsigned long hva, unsigned long pfn)                 \
	{                                                                      \
		struct race *race = r;                                         \
                                                                               \
		(void)gpa, (void)hva, (void)pfn;                               \
		if (kvm_vcpu_vm(vcpu) == race->v->kvm)                         \
			race->hook(race, step);                                \
	}
RACE_PROBE(probe_snapshot, AT_SNAPSHOT)
RACE_PROBE(probe_pfn, AT_PFN)

/* Test hooks are probes on the fault's tracepoints. */
static void race_attach(struct race *r,
			void (*hook)(struct race *r, enum fault_step step))
{
	r->hook = hook;
	assert_int_equal(register_trace_mmulab_kvm_fault_snapshot(
				 probe_snapshot, r), 0);
	assert_int_equal(register_trace_mmulab_kvm_fault_pfn(probe_pfn, r), 0);
}

static void race_detach(struct race *r)
{
	assert_int_equal(unregister_trace_mmulab_kvm_fault_snapshot(
				 probe_snapshot, r), 0);
	assert_int_equal(unregister_trace_mmulab_kvm_fault_pfn(probe_pfn, r),
			 0);
	tracepoint_synchronize_unregister();
}

/* Replace the page under the fault: a complete invalidation. */
static void hook_replace(struct race *r, enum fault_step stage)
{
	if (stage != r->stage || r->calls++)
		return;
	assert_int_equal(vm_mmap(r->v->mm, r->v->hva, PAGE_SIZE, RW,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
			 r->v->hva);
	assert_int_equal(cpu_write_u64(r->v->mm, r->v->hva, 77), 0);
}

static void test_retry_on_sequence(void **state)
{
	struct kvm_vcpu_stat st;
	struct race r = { 0 };
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(cpu_write_u64(v.mm, v.hva, 66), 0);
	r.v = &v;
	r.stage = AT_PFN;
	race_attach(&r, hook_replace);
	/* The fault got the old page; the invalidation ended before the
	 * install: the sequence moved, so it retries and maps the new one. */
	assert_int_equal(gread(v.vcpu, 0), 77);
	kvm_get_vcpu_stat(v.vcpu, &st);
	assert_int_equal(st.pf_retry_seq, 1);
	assert_int_equal(st.pf_retry_in_progress, 0);
	assert_int_equal(st.pf_fixed, 1);
	assert_coherent(&v);
	race_detach(&r);
	vm_free(&v);
}

/* Open an invalidation of page @inv_off on the first call, close it on the
 * next fault's snapshot. */
static void hook_window(struct race *r, enum fault_step stage)
{
	unsigned long a = r->v->hva + r->inv_off;

	if (stage == AT_PFN && !r->calls++) {
		mmap_read_lock(r->v->mm);
		mmu_notifier_range_init(&r->range, MMU_NOTIFY_CLEAR, 0,
					r->v->mm, a, a + PAGE_SIZE);
		mmu_notifier_invalidate_range_start(&r->range);
		r->open = true;
	} else if (stage == AT_SNAPSHOT && r->open) {
		mmu_notifier_invalidate_range_end(&r->range);
		mmap_read_unlock(r->v->mm);
		r->open = false;
	}
}

static void test_retry_on_in_progress(void **state)
{
	struct kvm_vcpu_stat st;
	struct race r = { 0 };
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	r.v = &v;
	r.inv_off = 0;
	race_attach(&r, hook_window);
	assert_int_equal(gread(v.vcpu, 0), 0);
	kvm_get_vcpu_stat(v.vcpu, &st);
	/* First attempt: the gfn is inside an open invalidation.  Second:
	 * its end bumped the sequence after our snapshot.  Third: maps. */
	assert_int_equal(st.pf_retry_in_progress, 1);
	assert_int_equal(st.pf_retry_seq, 1);
	assert_int_equal(st.pf_fixed, 1);
	assert_false(r.open);
	race_detach(&r);
	assert_coherent(&v);
	vm_free(&v);
}

/* An open invalidation of a neighbouring gfn must not make the fault
 * retry: the hull is [gfn, gfn + 1), exclusive at the end. */
static void test_no_retry_outside_range(void **state)
{
	struct kvm_vcpu_stat st;
	struct race r = { 0 };
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	r.v = &v;
	r.inv_off = 4 * PAGE_SIZE;
	race_attach(&r, hook_window);
	/* gfn 5 is just past the invalidated [4, 5). */
	assert_int_equal(gread(v.vcpu, 5 * PAGE_SIZE), 0);
	kvm_get_vcpu_stat(v.vcpu, &st);
	assert_int_equal(st.pf_retry_in_progress, 0);
	assert_int_equal(st.pf_retry_seq, 0);
	assert_int_equal(st.pf_fixed, 1);
	assert_true(r.open);
	/* Now the end: no fault is pending, nothing retries. */
	mmu_notifier_invalidate_range_end(&r.range);
	mmap_read_unlock(v.mm);
	/* gfn 3, just below: also outside. */
	r.calls = 0;
	r.open = false;
	assert_int_equal(gread(v.vcpu, 3 * PAGE_SIZE), 0);
	kvm_get_vcpu_stat(v.vcpu, &st);
	assert_int_equal(st.pf_retry_in_progress, 0);
	mmu_notifier_invalidate_range_end(&r.range);
	mmap_read_unlock(v.mm);
	race_detach(&r);
	vm_free(&v);
}

/* ---------------------------------------------------------------------
 * change_pte and pinning
 */

static void cow_under_guest(struct vm *v, struct kvm_vm_stat *vs)
{
	struct mm_struct *child;

	assert_int_equal(kvm_vcpu_write_u64(v->vcpu, 0, 1), 0);
	child = dup_mm(v->mm);
	assert_false(IS_ERR(child));
	assert_int_equal(gread(v->vcpu, 0), 1); /* read-only SPTE again */
	assert_int_equal(cpu_write_u64(v->mm, v->hva, 2), 0); /* host COW */
	assert_int_equal(gread(v->vcpu, 0), 2);
	kvm_get_vm_stat(v->kvm, vs);
	mmput(child);
	assert_coherent(v);
}

static void test_change_pte_modes(void **state)
{
	struct kvm_vm_stat vs;
	unsigned long warns;
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_BOOKENDED, 0);
	warns = warn_count();
	cow_under_guest(&v, &vs);
	assert_int_equal(vs.change_pte_calls, 1);
	assert_int_equal(vs.change_pte_hits, 0); /* start already zapped */
	assert_int_equal(vs.change_pte_warn, 0);
	assert_int_equal(warn_count(), warns);
	vm_free(&v);

	vm_new(&v, CHANGE_PTE_DIRECT, 0);
	cow_under_guest(&v, &vs);
	assert_int_equal(vs.change_pte_calls, 1);
	assert_int_equal(vs.change_pte_hits, 1); /* updated in place */
	vm_free(&v);

	vm_new(&v, CHANGE_PTE_NONE, 0);
	cow_under_guest(&v, &vs);
	assert_int_equal(vs.change_pte_calls, 0);
	vm_free(&v);
}

static void test_pinning(void **state)
{
	struct kvm_vm_stat vs;
	struct page *page;
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(kvm_vcpu_write_u64(v.vcpu, i * PAGE_SIZE, i),
				 0);
	for (int i = 0; i < 8; i++) {
		page = pfn_to_page(v.host, spte_pfn_of(&v, i * PAGE_SIZE));
		assert_false(page_maybe_dma_pinned(page));
		assert_int_equal(page_ref_count(page), 1);
	}
	vm_free(&v);

	vm_new(&v, CHANGE_PTE_NONE, KVM_VM_PINNED);
	for (int i = 0; i < 8; i++)
		assert_int_equal(kvm_vcpu_write_u64(v.vcpu, i * PAGE_SIZE, i),
				 0);
	kvm_get_vm_stat(v.kvm, &vs);
	assert_int_equal(vs.pinned_pages, 8);
	for (int i = 0; i < 8; i++) {
		page = pfn_to_page(v.host, spte_pfn_of(&v, i * PAGE_SIZE));
		assert_true(page_maybe_dma_pinned(page));
	}
	/* Without a notifier the guest keeps the old page: the baseline's
	 * incoherence, which notifiers exist to remove. */
	assert_int_equal(do_madvise(v.mm, v.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(gread(v.vcpu, 0), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 5), 0);
	assert_int_equal(hread(&v, 0), 0);
	vm_free(&v);
}

/* ---------------------------------------------------------------------
 * Memslot updates wait for invalidations, destroy mid-window
 */

struct slot_thread {
	struct vm *v;
	int done;
};

static int add_slot(void *arg)
{
	struct slot_thread *st = arg;
	struct kvm_userspace_memory_region r = { 0 };

	r.slot = 3;
	r.guest_phys_addr = 1ULL << 32;
	r.memory_size = PAGE_SIZE;
	r.userspace_addr = st->v->hva;
	assert_int_equal(kvm_set_user_memory_region(st->v->kvm, &r), 0);
	WRITE_ONCE(st->done, 1);
	return 0;
}

static void test_memslot_waits_for_window(void **state)
{
	struct mmu_notifier_range range;
	struct slot_thread st = { 0 };
	struct task_struct *t;
	struct kvm_vm_stat vs;
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	st.v = &v;
	mmap_read_lock(v.mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, v.mm, v.hva,
				v.hva + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	t = kthread_run(add_slot, &st, "memslot");
	for (int i = 0; i < 50; i++)
		msleep(1);
	assert_int_equal(READ_ONCE(st.done), 0);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(v.mm);
	kthread_stop(t);
	assert_int_equal(st.done, 1);
	kvm_get_vm_stat(v.kvm, &vs);
	assert_true(vs.memslot_waits >= 1);
	vm_free(&v);
}

static void test_destroy_mid_window(void **state)
{
	struct mmu_notifier_range range;
	unsigned long warns = warn_count();
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 1), 0);
	mmap_read_lock(v.mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, v.mm, v.hva,
				v.hva + PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	kvm_destroy_vm(v.kvm);
	mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(v.mm);
	assert_int_equal(warn_count(), warns);
	v.kvm = kvm_create_vm(v.mm, 0); /* for vm_free */
	assert_false(IS_ERR(v.kvm));
	vm_free(&v);
}

static void test_release_on_exit(void **state)
{
	struct vm v;
	u64 val;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 1), 0);
	mmput(v.mm); /* the VMM exits; the VM still holds the struct */
	v.mm = NULL;
	assert_false(kvm_lookup_spte(v.kvm, 0) & KVM_SPTE_PRESENT);
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, 0, &val), -EFAULT);
	vm_free(&v);
}

static void test_aging(void **state)
{
	struct vm v;
	struct page *page;
	pte_t pte;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 1), 0);
	assert_int_equal(follow_pte(v.mm, v.hva, &pte), 0);
	page = pfn_to_page(v.host, pte_pfn(pte));
	get_page(page);
	/* Primary and secondary were both young: one mapping, counted once. */
	assert_int_equal(folio_referenced(page), 1);
	assert_int_equal(folio_referenced(page), 0);
	/* A guest access through the (flushed) TLB makes it young again. */
	gread(v.vcpu, 0);
	assert_int_equal(folio_referenced(page), 1);
	assert_int_equal(mmu_notifier_test_young(v.mm, v.hva), 0);
	gread(v.vcpu, 0);
	assert_int_equal(mmu_notifier_test_young(v.mm, v.hva), 1);
	put_page(page);
	vm_free(&v);
}

/* ---------------------------------------------------------------------
 * Parallel vCPUs against host churn
 */

#define NVCPUS 4

struct par {
	struct vm *v;
	struct kvm_vcpu *vcpus[NVCPUS];
	int stop;
	atomic_t errors;
};

/* The run the vCPU threads belong to. */
static struct par *cur_par;

static int vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct par *p = READ_ONCE(cur_par);
	unsigned int s = kvm_vcpu_id(vcpu) * 31 + 1;

	for (int i = 0; i < 600 && !READ_ONCE(p->stop); i++) {
		gpa_t gpa;
		u64 val;
		int r;

		s = s * 1103515245u + 12345u;
		gpa = ((s >> 8) % NPAGES) * PAGE_SIZE;
		r = (s >> 4) & 1 ? kvm_vcpu_write_u64(vcpu, gpa, i)
				 : kvm_vcpu_read_u64(vcpu, gpa, &val);
		if (r && r != -EFAULT)
			atomic_inc(&p->errors);
	}
	return 0;
}

static int host_thread(void *arg)
{
	struct par *p = arg;
	struct vm *v = p->v;
	unsigned int s = 5;

	for (int i = 0; i < 150; i++) {
		unsigned long off;

		s = s * 1103515245u + 12345u;
		off = ((s >> 8) % (NPAGES - 4)) * PAGE_SIZE;
		switch ((s >> 4) % 4) {
		case 0:
			vm_mmap(v->mm, v->hva + off, 4 * PAGE_SIZE, RW,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
			break;
		case 1:
			do_mprotect(v->mm, v->hva + off, 4 * PAGE_SIZE,
				    PROT_READ);
			do_mprotect(v->mm, v->hva + off, 4 * PAGE_SIZE, RW);
			break;
		case 2:
			do_madvise(v->mm, v->hva + off, 2 * PAGE_SIZE,
				   MADV_DONTNEED);
			break;
		case 3:
			cpu_write_u64(v->mm, v->hva + off, i);
			break;
		}
	}
	return 0;
}

static void run_parallel(struct vm *v)
{
	struct task_struct *t[NVCPUS + 1];
	struct par p = { .v = v };

	WRITE_ONCE(cur_par, &p);
	for (int i = 0; i < NVCPUS; i++) {
		p.vcpus[i] = i ? kvm_vcpu_create(v->kvm) : v->vcpu;
		assert_false(IS_ERR(p.vcpus[i]));
	}
	t[NVCPUS] = kthread_run(host_thread, &p, "host");
	for (int i = 0; i < NVCPUS; i++)
		t[i] = kthread_run(vcpu_thread, p.vcpus[i], "vcpu");
	kthread_stop(t[NVCPUS]);
	WRITE_ONCE(p.stop, 1);
	for (int i = 0; i < NVCPUS; i++)
		kthread_stop(t[i]);
	WRITE_ONCE(cur_par, NULL);
	assert_int_equal(atomic_read(&p.errors), 0);
	assert_coherent(v);
}

static void test_parallel_vcpus(void **state)
{
	unsigned long warns = warn_count();
	struct vm v;

	(void)state;
	vm_new(&v, CHANGE_PTE_NONE, 0);
	run_parallel(&v);
	assert_int_equal(warn_count(), warns);
	vm_free(&v);
}

/* The same under the deterministic scheduler, seed after seed. */
static void test_parallel_vcpus_det(void **state)
{
	unsigned long warns = warn_count();

	(void)state;
	for (u64 seed = 1; seed <= 12; seed++) {
		struct det_config dc = { .seed = seed,
					 .strategy = seed & 1
							     ? DET_STRATEGY_PCT
							     : DET_STRATEGY_RANDOM };
		struct det_result res;
		struct vm v;

		vm_new(&v, CHANGE_PTE_NONE, 0);
		assert_int_equal(det_begin(&dc), 0);
		run_parallel(&v);
		assert_int_equal(det_end(&res), 0);
		vm_free(&v);
	}
	assert_int_equal(warn_count(), warns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_and_guest_see_each_other),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_dontneed_and_mprotect),
		cmocka_unit_test(test_fork_cow),
		cmocka_unit_test(test_remap_and_memslots),
		cmocka_unit_test(test_memslot_and_spte_walks),
		cmocka_unit_test(test_dirty_log),
		cmocka_unit_test(test_retry_on_sequence),
		cmocka_unit_test(test_retry_on_in_progress),
		cmocka_unit_test(test_no_retry_outside_range),
		cmocka_unit_test(test_change_pte_modes),
		cmocka_unit_test(test_pinning),
		cmocka_unit_test(test_memslot_waits_for_window),
		cmocka_unit_test(test_destroy_mid_window),
		cmocka_unit_test(test_release_on_exit),
		cmocka_unit_test(test_aging),
		cmocka_unit_test(test_parallel_vcpus),
		cmocka_unit_test(test_parallel_vcpus_det),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
