// SPDX-License-Identifier: MIT
/*
 * The vCPU: its creation, the guest-mode run loop around each access
 * (entry honours a pending flush request, exit ends the stay), its TLB,
 * and the batched accesses that stay in guest mode between exits.  Linux
 * keeps this in arch/x86/kvm/x86.c (vcpu_enter_guest()); the VM, its
 * memslots and the notifier callbacks stay in virt/kvm/kvm_main.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../virt/kvm/kvm_host.h"

/* ---------------------------------------------------------------------
 * vCPUs
 */

struct kvm_vcpu *kvm_vcpu_create(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	int n;

	if (!kvm)
		return ERR_PTR(-EINVAL);
	mutex_lock(&kvm->vcpu_lock);
	n = atomic_read(&kvm->online_vcpus);
	if (n >= KVM_MAX_VCPUS) {
		mutex_unlock(&kvm->vcpu_lock);
		return ERR_PTR(-EINVAL);
	}
	/* Whole cache lines: two vCPUs running at once share none. */
	vcpu = aligned_alloc(64, (sizeof(*vcpu) + 63) & ~63UL);
	if (vcpu)
		memset(vcpu, 0, sizeof(*vcpu));
	if (!vcpu) {
		mutex_unlock(&kvm->vcpu_lock);
		return ERR_PTR(-ENOMEM);
	}
	vcpu->kvm = kvm;
	vcpu->id = n;
	mutex_init(&vcpu->mutex);
	WRITE_ONCE(kvm->vcpus[n], vcpu);
	atomic_inc_return(&kvm->online_vcpus);
	mutex_unlock(&kvm->vcpu_lock);
	return vcpu;
}

int kvm_vcpu_id(const struct kvm_vcpu *vcpu)
{
	return vcpu->id;
}

struct kvm *kvm_vcpu_vm(const struct kvm_vcpu *vcpu)
{
	return vcpu->kvm;
}

void kvm_get_vcpu_stat(struct kvm_vcpu *vcpu, struct kvm_vcpu_stat *out)
{
	const unsigned long *src = (const unsigned long *)&vcpu->stat;
	unsigned long *dst = (unsigned long *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(long); i++)
		dst[i] = data_race(src[i]);
}

/*
 * Drop every cached translation.  Not instantaneous: the flush is a store
 * per entry, and the thread of an invalidation, its contract query
 * included, may run while it is under way.
 */
static void vcpu_tlb_flush(struct kvm_vcpu *vcpu)
{
	sync_point(SP_STORE, vcpu->tlb);
	for (int i = 0; i < KVM_TLB_ENTRIES; i++)
		checker_poke(vcpu->tlb[i].gfn_plus1, 0);
	stat_inc(&vcpu->stat.tlb_flushes);
}

/*
 * Enter guest mode; a pending flush request is honoured on entry.  *@stamp
 * is the checker's TLB stamp of what this entry walks: taken after the
 * request check, so a flush requested earlier has been honoured and one
 * requested later waits for this entry to end.
 */
static unsigned long vcpu_enter_guest(struct kvm_vcpu *vcpu,
				      unsigned long *stamp)
{
	unsigned long mode = ((READ_ONCE(vcpu->mode) >> 1) + 1) << 1 |
			     IN_GUEST_MODE;

	WRITE_ONCE(vcpu->mode, mode);
	smp_mb();
	/*
	 * Flush, then clear the request (Linux's kvm_check_request() clears
	 * it first, but there no other CPU reads this one's TLB): the
	 * contract query skips a vCPU whose request is pending, so it must
	 * not see the request consumed while the TLB still holds entries.
	 * A request set between the flush and the clear finds the TLB still
	 * empty (this thread fills it only after), so it is served too.
	 */
	if (READ_ONCE(vcpu->requests) & KVM_REQ_TLB_FLUSH) {
		vcpu_tlb_flush(vcpu);
		/* Fully ordered: a query that sees it clear sees the flush. */
		atomic_long_fetch_andnot(KVM_REQ_TLB_FLUSH,
					 (atomic_long_t *)&vcpu->requests);
	}
	*stamp = checker_tlb_stamp(&vcpu->kvm->checker);
	return mode;
}

static bool tag_mode(struct kvm_vcpu *vcpu)
{
	return host_config_of(vcpu->kvm->host)->content == HOST_CONTENT_TAG;
}

/* Cache the translation of @gfn walked in the guest entry of @stamp. */
static void vcpu_tlb_fill(struct kvm_vcpu *vcpu, struct kvm_tlb_entry *e,
			  gfn_t gfn, u64 spte, unsigned long stamp)
{
	unsigned long pfn = (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT;

	checker_poke(e->gfn_plus1, 0);
	checker_poke(e->pfn, pfn);
	e->page = pfn_to_page(vcpu->kvm->host, pfn);
	e->word = page_word_address(e->page, 0);
	e->word_mask = tag_mode(vcpu) ? 0 : PAGE_SIZE / 8 - 1;
	e->writable = (spte & KVM_SPTE_WRITABLE) && (spte & KVM_SPTE_DIRTY);
	e->gen = checker_frame_gen(vcpu->kvm->host, pfn);
	e->stamp = stamp;
	checker_poke(e->gfn_plus1, gfn + 1);
}

/*
 * May the TLB entry @e be used?  Not if a flush that covers it returned
 * (INV-8), nor if its frame was freed since it was filled (INV-2).
 */
static bool vcpu_tlb_usable(struct kvm_vcpu *vcpu, struct kvm_tlb_entry *e,
			    gpa_t gpa)
{
	struct kvm *kvm = vcpu->kvm;

	if (likely(!checker_attached(kvm->host)))
		return true;
	/*
	 * No host address for the report: a vCPU in guest mode holds no
	 * SRCU, so it cannot read the memslots (a memslot update may free
	 * them under it); the frame and the guest-physical address name it.
	 */
	return checker_tlb_check(&kvm->checker, e->stamp, e->pfn, 0,
				 gpa & PAGE_MASK) &&
	       checker_tlb_use(kvm->host, e->pfn, e->gen, "kvm tlb");
}

static void vcpu_exit_guest(struct kvm_vcpu *vcpu, unsigned long mode)
{
	WRITE_ONCE(vcpu->mode, mode & ~(unsigned long)IN_GUEST_MODE);
}

/*
 * One attempt in guest mode: the TLB, then the TDP walk (setting accessed
 * and dirty bits as the hardware would).  A TLB entry is writable only if
 * the SPTE was already dirty, so the first write to a clean page walks
 * and marks it.  Returns 0 when done, 1 on an EPT violation, 2 to retry,
 * -EIO when the checker forbids the use of a stale TLB entry.
 */
static int guest_access_once(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf,
			     size_t len, bool write, page_access_fn fn)
{
	struct kvm *kvm = vcpu->kvm;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct kvm_tlb_entry *e = &vcpu->tlb[gfn % KVM_TLB_ENTRIES];
	unsigned long stamp, mode = vcpu_enter_guest(vcpu, &stamp);
	int ret = 1;
	u64 *leaf, spte;

	/*
	 * The hardware's TLB lookup: a load the vCPU may be delayed at for
	 * any time, so the scheduler explores a flush landing between this
	 * guest entry and the use of what the TLB holds.
	 */
	sync_point(SP_LOAD, e);
	if (e->gfn_plus1 == gfn + 1 && (!write || e->writable)) {
		if (!vcpu_tlb_usable(vcpu, e, gpa)) {
			ret = -EIO;
			goto out;
		}
		fn(pfn_to_page(kvm->host, e->pfn), gpa & ~PAGE_MASK, buf, len,
		   write);
		stat_inc(&vcpu->stat.tlb_hits);
		ret = 0;
		goto out;
	}
	leaf = kvm_tdp_mmu_walk(kvm, gfn);
	spte = leaf ? READ_ONCE(*leaf) : 0;
	if (!(spte & KVM_SPTE_PRESENT) ||
	    (write && !(spte & KVM_SPTE_WRITABLE)))
		goto out;
	if (!(spte & KVM_SPTE_ACCESSED) || (write && !(spte & KVM_SPTE_DIRTY))) {
		u64 want = spte | KVM_SPTE_ACCESSED |
			   (write ? KVM_SPTE_DIRTY : 0);

		if (!try_cmpxchg(leaf, &spte, want)) {
			ret = 2;
			goto out;
		}
		spte = want;
	}
	vcpu_tlb_fill(vcpu, e, gfn, kvm_spte_4k(spte, gfn), stamp);
	fn(pfn_to_page(kvm->host, e->pfn), gpa & ~PAGE_MASK, buf, len, write);
	ret = 0;
out:
	vcpu_exit_guest(vcpu, mode);
	return ret;
}

#define KVM_MAX_RETRIES 100000

/* One access with the vCPU's mutex held: retried until done or failed. */
static int vcpu_access_locked(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf,
			      size_t len, bool write, page_access_fn fn)
{
	int r = -EAGAIN;

	stat_inc(&vcpu->stat.accesses);
	for (int tries = 0; tries < KVM_MAX_RETRIES; tries++) {
		int once;

		/* A broken protocol was caught: touch no frame any more. */
		if (unlikely(checker_attached(vcpu->kvm->host)) &&
		    checker_stopped(vcpu->kvm->host)) {
			r = -EIO;
			break;
		}
		once = guest_access_once(vcpu, gpa, buf, len, write, fn);
		if (once < 0) {
			r = once;
			break;
		}
		if (once == 0) {
			r = 0;
			break;
		}
		/*
		 * Lost a race: let whoever won (an invalidation) finish; it
		 * may be waiting for a processor this thread is spinning on.
		 */
		if (once == 2) {
			cpu_relax();
			continue;
		}
		r = kvm_tdp_page_fault(vcpu, gpa, write);
		if (r == KVM_EXIT_MMIO || r < 0)
			break;
		if (r == RET_PF_RETRY)
			cpu_relax();
		r = -EAGAIN;
	}
	WARN_ON_ONCE(r == -EAGAIN);
	return r;
}

static int vcpu_access(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf,
		       size_t len, bool write, page_access_fn fn)
{
	int r;

	if (!vcpu || !buf || !len || len > PAGE_SIZE ||
	    (gpa & ~PAGE_MASK) + len > PAGE_SIZE || gpa >= (1ULL << 48))
		return -EINVAL;
	mutex_lock(&vcpu->mutex);
	r = vcpu_access_locked(vcpu, gpa, buf, len, write, fn);
	mutex_unlock(&vcpu->mutex);
	return r;
}

int kvm_vcpu_read(struct kvm_vcpu *vcpu, gpa_t gpa, void *buf, size_t len)
{
	if (!vcpu || tag_mode(vcpu))
		return -EINVAL;
	return vcpu_access(vcpu, gpa, buf, len, false, page_access_bytes);
}

int kvm_vcpu_write(struct kvm_vcpu *vcpu, gpa_t gpa, const void *buf,
		   size_t len)
{
	if (!vcpu || tag_mode(vcpu))
		return -EINVAL;
	return vcpu_access(vcpu, gpa, (void *)buf, len, true, page_access_bytes);
}

int kvm_vcpu_read_u64(struct kvm_vcpu *vcpu, gpa_t gpa, u64 *val)
{
	if (gpa & 7)
		return -EINVAL;
	return vcpu_access(vcpu, gpa, val, 8, false, page_access_u64);
}

int kvm_vcpu_write_u64(struct kvm_vcpu *vcpu, gpa_t gpa, u64 val)
{
	if (gpa & 7)
		return -EINVAL;
	return vcpu_access(vcpu, gpa, &val, 8, true, page_access_u64);
}

/*
 * Batched guest accesses: one stay in guest mode serves every access the
 * TLB holds, as a real vCPU runs between exits, so a hit costs the lookup
 * and the load, with no entry or exit barrier.  The stay ends at a TLB
 * miss (the EPT walk and fault run in vcpu_access_locked(), as an exit
 * would), at the end of the batch, or when a TLB flush request is pending:
 * the load of vcpu->requests each access stands for the IPI with which
 * kvm_vcpu_kick() forces a vCPU out of guest mode, so a flush waiting in
 * kvm_flush_remote_tlbs() for this vCPU's mode to change is honoured at
 * the next access, by the exit and the re-entry that flushes (INV-8 as for
 * single accesses).
 */
static bool batch_gpa_ok(gpa_t gpa)
{
	return !(gpa & 7) && gpa < (1ULL << 48);
}

/* Serve @gpa[0..@n) from the TLB in one stay; return how many were. */
static size_t guest_run_hits(struct kvm_vcpu *vcpu, const gpa_t *gpa,
			     u64 *val, size_t n, bool write, int *r)
{
	struct host *host = vcpu->kvm->host;
	unsigned long stamp, mode = vcpu_enter_guest(vcpu, &stamp);
	/* Once a stay: a checker is attached before the VM exists. */
	bool checked = checker_attached(host);
	size_t i;

	for (i = 0; i < n; i++) {
		gpa_t g = gpa[i];
		gfn_t gfn = g >> PAGE_SHIFT;
		struct kvm_tlb_entry *e = &vcpu->tlb[gfn % KVM_TLB_ENTRIES];

		if (unlikely(!batch_gpa_ok(g))) {
			*r = -EINVAL;
			break;
		}
		if (READ_ONCE(vcpu->requests) & KVM_REQ_TLB_FLUSH)
			break; /* kicked: exit, and flush on re-entry */
		sync_point(SP_LOAD, e);
		if (e->gfn_plus1 != gfn + 1 || (write && !e->writable))
			break;
		if (unlikely(checked) &&
		    (checker_stopped(host) || !vcpu_tlb_usable(vcpu, e, g))) {
			*r = -EIO;
			break;
		}
		if (write)
			page_access_u64(e->page, g & ~PAGE_MASK, &val[i], 8,
					true);
		else /* page_read_u64(), through the cached address */
			val[i] = __READ_ONCE(
				e->word[((g & ~PAGE_MASK) / 8) & e->word_mask]);
	}
	vcpu_exit_guest(vcpu, mode);
	/* One writer (the mutex holder): two stores per stay, not per hit. */
	__WRITE_ONCE(vcpu->stat.accesses, __READ_ONCE(vcpu->stat.accesses) + i);
	__WRITE_ONCE(vcpu->stat.tlb_hits, __READ_ONCE(vcpu->stat.tlb_hits) + i);
	return i;
}

static int vcpu_batch_u64(struct kvm_vcpu *vcpu, const gpa_t *gpa, u64 *val,
			  size_t n, bool write, size_t *done)
{
	size_t i = 0;
	int r = 0;

	if (done)
		*done = 0;
	if (!vcpu || (n && (!gpa || !val)))
		return -EINVAL;
	mutex_lock(&vcpu->mutex);
	while (i < n && !r) {
		i += guest_run_hits(vcpu, gpa + i, val + i, n - i, write, &r);
		if (i == n || r)
			break;
		/* The exit: a miss, or a request served on the next entry. */
		r = vcpu_access_locked(vcpu, gpa[i], &val[i], 8, write,
				       page_access_u64);
		if (!r)
			i++;
	}
	mutex_unlock(&vcpu->mutex);
	if (done)
		*done = i;
	return r;
}

int kvm_vcpu_read_u64_batch(struct kvm_vcpu *vcpu, const gpa_t *gpa,
			    u64 *val, size_t n, size_t *done)
{
	return vcpu_batch_u64(vcpu, gpa, val, n, false, done);
}

int kvm_vcpu_write_u64_batch(struct kvm_vcpu *vcpu, const gpa_t *gpa,
			     const u64 *val, size_t n, size_t *done)
{
	return vcpu_batch_u64(vcpu, gpa, (u64 *)val, n, true, done);
}
