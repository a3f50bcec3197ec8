// SPDX-License-Identifier: MIT
/*
 * The swap-guest scenario (seed 002): the same guest, twice the size of
 * its host's RAM, once with MMU notifiers and once as the pre-2008
 * baseline that pins every page it maps.  With notifiers, reclaim unmaps
 * guest pages through the rmap, KVM drops its SPTEs in
 * invalidate_range_start, and the pages go to swap and come back on the
 * next guest access.  Pinned, reclaim must skip every page the guest has
 * touched, and the guest runs out of memory.
 */
#include <stdio.h>

#include <mmulab/kvm.h>

#include "mmulab.h"
#include "sample.h"

#define SWAP_FRAMES 512
#define SWAP_PAGES 1024 /* guest RAM: twice the host's */

struct swap_phase {
	const char *name;
	unsigned long vm_flags;
	unsigned long written, read_ok, pswpout, pswpin, pinned_skipped;
	int first_error;
};

static u64 swap_value(unsigned long i)
{
	return 0x51a900000000ULL | i;
}

static void swap_guest_run(struct report *r, struct kvm_vcpu *vcpu,
			   struct swap_phase *ph)
{
	for (unsigned long i = 0; i < SWAP_PAGES; i++) {
		int e = kvm_vcpu_write_u64(vcpu, i * PAGE_SIZE, swap_value(i));

		if (e) {
			ph->first_error = e;
			return;
		}
		ph->written++;
	}
	for (unsigned long i = 0; i < SWAP_PAGES; i++) {
		u64 val = 0;
		int e = kvm_vcpu_read_u64(vcpu, i * PAGE_SIZE, &val);

		if (report_check(r, !e && val == swap_value(i),
				 "%s: guest read of page %lu: %d, %#llx",
				 ph->name, i, e, (unsigned long long)val))
			ph->read_ok++;
	}
}

static void swap_phase_run(struct report *r, struct swap_phase *ph)
{
	unsigned int nr_vcpus = 1;
	struct kvm_vcpu *vcpu;
	struct host_config cfg = { .nr_frames = SWAP_FRAMES,
				   .content = HOST_CONTENT_TAG,
				   .swap_slots = 4 * SWAP_PAGES };
	struct kvm_userspace_memory_region mem = { 0 };
	struct host *host = host_create(&cfg);
	struct mm_struct *mm;
	struct kvm *kvm;
	long hva;

	if (!report_check(r, !IS_ERR(host), "%s: host_create", ph->name))
		return;
	report_host_config(r, host);
	sample_add_host(host, ph->name);
	mm = mm_alloc(host);
	hva = IS_ERR(mm) ? PTR_ERR(mm)
			 : vm_mmap(mm, 0, SWAP_PAGES * PAGE_SIZE,
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS);
	kvm = hva > 0 ? kvm_create_vm(mm, ph->vm_flags) : ERR_PTR(-ENOMEM);
	mem.memory_size = SWAP_PAGES * PAGE_SIZE;
	mem.userspace_addr = hva;
	if (report_check(r, !IS_ERR(kvm) &&
				    !kvm_set_user_memory_region(kvm, &mem),
			 "%s: VM and memslot", ph->name)) {
		vcpu = kvm_vcpu_create(kvm);
		sample_add_vm(kvm, ph->name, &vcpu, &nr_vcpus);
		swap_guest_run(r, vcpu, ph);
	}
	report_sample_frames(r, host);
	ph->pswpout = host_vm_event(host, PSWPOUT);
	ph->pswpin = host_vm_event(host, PSWPIN);
	ph->pinned_skipped = host_vm_event(host, RECLAIM_PINNED);
	report_step(r, "%s: a %d-page guest on a %d-frame host: wrote %lu "
		       "pages%s%s, read back %lu; %lu swapped out, %lu "
		       "swapped in, %lu pinned pages reclaim had to skip",
		    ph->name, SWAP_PAGES, SWAP_FRAMES, ph->written,
		    ph->first_error ? ", then " : "",
		    ph->first_error ? errno_name(ph->first_error) : "",
		    ph->read_ok, ph->pswpout, ph->pswpin, ph->pinned_skipped);
	if (!IS_ERR_OR_NULL(kvm)) {
		sample_remove(kvm);
		kvm_destroy_vm(kvm);
	}
	if (!IS_ERR_OR_NULL(mm))
		mmput(mm);
	mmu_notifier_synchronize();
	r->frames_total = SWAP_FRAMES;
	r->frames_free_end = host_nr_free_frames(host);
	report_check(r, r->frames_free_end == SWAP_FRAMES - 1,
		     "%s: %lu frames free after teardown, want all but the "
		     "zero page", ph->name, r->frames_free_end);
	sample_remove(host);
	host_destroy(host);
}

void scenario_swap_guest(struct report *r)
{
	struct swap_phase notifiers = { .name = "notifiers" };
	struct swap_phase pinned = { .name = "pinned",
				     .vm_flags = KVM_VM_PINNED };

	swap_phase_run(r, &notifiers);
	swap_phase_run(r, &pinned);
	report_check(r, notifiers.written == SWAP_PAGES &&
				notifiers.read_ok == SWAP_PAGES &&
				notifiers.pswpout > 0,
		     "notifiers: the whole guest ran, through swap");
	report_check(r, pinned.written < SWAP_PAGES && pinned.pswpout == 0 &&
				pinned.pinned_skipped > 0,
		     "pinned: reclaim could not free the guest's pages");
}
