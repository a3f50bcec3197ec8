// SPDX-License-Identifier: MIT
/*
 * The OOM killer and the OOM reaper.
 *
 * When reclaim cannot free a frame and the host has an OOM killer
 * (host_config.oom_kill), the allocator picks the address space that
 * holds the most memory, not counting those already dealt with
 * (MMF_OOM_SKIP), and reaps it at once, as Linux's oom_reaper thread would
 * shortly after the kill: under mmap_read_trylock(), every private VMA is
 * unmapped inside a non-blockable UNMAP invalidation (the OOM reaper's
 * row of the table in docs/architecture.md, "What each primary operation
 * sends").
 *
 * Non-blockable means a subscriber may answer -EAGAIN when it could only
 * invalidate by sleeping.  The reaper then must not touch that VMA (no
 * PTE change, no end: the core already ended the subscribers that had
 * started), counts it, and tries the whole mm again later, ten times in
 * all, before it gives up.  Either way the mm is then marked
 * MMF_OOM_SKIP and the killer moves on to the next victim.
 *
 * The model has no tasks to kill, so a victim's address space simply
 * stops getting memory: the reaper sets MMF_UNSTABLE before it unmaps
 * anything, and faults that would map a page check it under the PTL and
 * fail (Linux's check_stable_address_space()).
 */
#include "pgtable.h"

#define MAX_OOM_REAP_RETRIES 10
#define OOM_REAP_RETRY_MS 100 /* HZ/10 */

/* What killing @mm would give back: pages it maps and swap it holds. */
static long oom_badness(struct mm_struct *mm)
{
	return get_mm_counter(mm, MM_ANONPAGES) +
	       get_mm_counter(mm, MM_SHMEMPAGES) +
	       get_mm_counter(mm, MM_SWAPENTS);
}

/*
 * The mm with the highest badness that is alive and not yet dealt with,
 * with a user reference; NULL when there is none worth killing.
 */
static struct mm_struct *select_bad_process(struct host *host)
{
	struct mm_struct *mm, *victim = NULL;
	long best = 0;

	spin_lock(&host->mmlist_lock);
	list_for_each_entry(mm, &host->mmlist, mmlist) {
		long points;

		if (mm_flag_test(mm, MMF_OOM_SKIP) ||
		    !atomic_read(&mm->mm_users))
			continue;
		points = oom_badness(mm);
		if (points > best) {
			best = points;
			victim = mm;
		}
	}
	/* It may have exited since: then there is no victim this round. */
	if (victim && !mmget_not_zero(victim))
		victim = NULL;
	spin_unlock(&host->mmlist_lock);
	return victim;
}

/*
 * Unmap every private VMA of @mm whose subscribers can invalidate it
 * without sleeping.  Shared-memory VMAs are left: their pages stay in
 * their object's page cache, so unmapping them frees nothing.
 */
static bool __oom_reap_task_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	bool ret = true;

	mm_flag_set(mm, MMF_UNSTABLE);
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		struct mmu_notifier_range range;
		struct mmu_gather tlb;

		if (vma->vm_flags & VM_SHARED)
			continue;
		mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm,
					vma->vm_start, vma->vm_end);
		tlb_gather_mmu(&tlb, mm);
		if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
			tlb_finish_mmu(&tlb);
			count_vm_event(mm->host, OOM_REAP_SKIPPED);
			ret = false;
			continue;
		}
		unmap_page_range(&tlb, vma, vma->vm_start, vma->vm_end);
		mmu_notifier_invalidate_range_end(&range);
		tlb_finish_mmu(&tlb);
	}
	return ret;
}

/* One attempt; false when it should be retried. */
static bool oom_reap_task_mm(struct mm_struct *mm)
{
	bool ret = true;

	if (!mmap_read_trylock(mm))
		return false;
	/* exit_mmap() sets it with the mmap_lock held for writing. */
	if (!mm_flag_test(mm, MMF_OOM_SKIP))
		ret = __oom_reap_task_mm(mm);
	mmap_read_unlock(mm);
	return ret;
}

static int oom_reap_task(struct mm_struct *mm)
{
	int attempts = 0;
	int ret = 0;

	while (attempts++ < MAX_OOM_REAP_RETRIES && !oom_reap_task_mm(mm))
		msleep(OOM_REAP_RETRY_MS);
	if (attempts > MAX_OOM_REAP_RETRIES &&
	    !mm_flag_test(mm, MMF_OOM_SKIP)) {
		count_vm_event(mm->host, OOM_REAP_FAILED);
		ret = -EAGAIN;
	}
	/* Reaped, or hopeless: either way, not a victim to pick again. */
	mm_flag_set(mm, MMF_OOM_SKIP);
	return ret;
}

static int oom_kill_mm(struct mm_struct *mm)
{
	mm_flag_set(mm, MMF_OOM_VICTIM);
	count_vm_event(mm->host, OOM_KILL);
	return oom_reap_task(mm);
}

/**
 * out_of_memory() - kill and reap the biggest address space of @host.
 * Called by the allocator after reclaim failed; it holds no PTL, rmap,
 * page, swap or LRU lock.
 * Return: true if a victim was reaped (the allocation is worth retrying).
 */
bool out_of_memory(struct host *host)
{
	struct mm_struct *victim = select_bad_process(host);

	if (!victim)
		return false;
	oom_kill_mm(victim);
	mmput(victim);
	return true;
}

int mm_oom_reap(struct mm_struct *mm)
{
	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	if (mm_flag_test(mm, MMF_OOM_SKIP))
		return -EEXIST;
	return oom_kill_mm(mm);
}
