// SPDX-License-Identifier: MIT
/*
 * KVM's protocol mutants in the notifier callbacks and the remote TLB
 * flush (<mmulab/mutant.h>): each function is the broken variant of the
 * one its name begins with, which selects it in the first line of its
 * body.  Broken on purpose, so that the tests and `mmulab check --mutant`
 * show the checker catching each one; they keep every scheduling point of
 * the real code they do not break.
 */
#include "kvm_host.h"

/*
 * MUTANT_FLUSH_NO_WAIT: the flush requests go out but nobody waits for the
 * vCPUs in guest mode, which may still use a translation read before the
 * zap.
 */
void kvm_flush_remote_tlbs_mutant_no_wait(struct kvm *kvm)
{
	unsigned long req = checker_tlb_flush_begin(&kvm->checker);
	int n = atomic_read(&kvm->online_vcpus);

	atomic_long_inc(&kvm->stat.remote_tlb_flush);
	kvm_make_vcpus_request(kvm, n, KVM_REQ_TLB_FLUSH);
	checker_tlb_flush_end(&kvm->checker, req);
}

/*
 * MUTANT_SEQ_AFTER_COUNT: invalidate_range_end drops the count before it
 * bumps the sequence, with mmu_lock dropped between: a fault may see
 * neither.
 */
void kvm_mmu_invalidate_end_mutant_seq_after_count(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	kvm->mmu_invalidate_in_progress--;
	write_unlock(&kvm->mmu_lock);
	cond_resched();
	write_lock(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
}

/*
 * MUTANT_SKIP_TLB_FLUSH and MUTANT_FLUSH_AT_END: invalidate_range_start
 * zaps the SPTEs but asks for no flush of the vCPU TLBs.
 */
bool kvm_mmu_unmap_gfn_range_mutant_no_flush(struct kvm *kvm,
					     struct kvm_gfn_range *r)
{
	kvm_mmu_invalidate_range_add(kvm, r->start, r->end);
	kvm_tdp_mmu_unmap_gfn_range(kvm, r);
	return false;
}

/* A driver lock only MUTANT_SLEEP_IN_NONBLOCK takes. */
DEFINE_MUTEX(mutant_driver_lock);

/*
 * MUTANT_SLEEP_IN_NONBLOCK: invalidate_range_start takes a sleeping driver
 * lock even in a non-blockable range (the OOM reaper's).
 */
int kvm_mmu_notifier_invalidate_range_start_mutant_sleep(
	struct kvm *kvm, const struct mmu_notifier_range *range)
{
	mutex_lock(&mutant_driver_lock);
	mutex_unlock(&mutant_driver_lock);
	return kvm_mmu_invalidate_range_start(kvm, range);
}

/*
 * MUTANT_FLUSH_AT_END (with the start of kvm_mmu_unmap_gfn_range_mutant_
 * no_flush()): the vCPU TLBs are flushed only in invalidate_range_end, the
 * GRU's bug: between start and end the primary may free the pages.
 */
void kvm_mmu_notifier_invalidate_range_end_mutant_flush_at_end(
	struct kvm *kvm, const struct mmu_notifier_range *range)
{
	if (kvm_mmu_invalidate_range_end(kvm, range))
		kvm_flush_remote_tlbs(kvm);
	kvm_mn_invalidate_range_end(kvm, range);
}
