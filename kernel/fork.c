// SPDX-License-Identifier: MIT
/*
 * Address-space life cycle: mm_alloc(), the two reference counts, and
 * fork (dup_mm(), dup_mmap()).
 *
 * mm_users counts users of the address space (tasks, a VM that runs the
 * guest through it); when it drops to zero the address space is torn down
 * by exit_mmap().  mm_count counts references to the struct itself (each
 * notifier registration holds one); the last mmdrop() frees it.  mm_users
 * holds one mm_count reference between them, as in the kernel.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../mm/internal.h"

static int next_mm_id = 1;

struct mm_struct *mm_alloc(struct host *host)
{
	struct mm_struct *mm;

	if (!host_api_ok(host))
		return ERR_PTR(-EINVAL);
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return ERR_PTR(-ENOMEM);
	mm->pgd = alloc_pt_page(host);
	if (!mm->pgd) {
		free(mm);
		return ERR_PTR(-ENOMEM);
	}
	mm->magic = MM_MAGIC;
	mm->host = host;
	init_rwsem(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock);
	atomic_set(&mm->mm_users, 1);
	atomic_set(&mm->mm_count, 1);
	mm->mmap_base = 0x10000000UL;
	mm->id = __atomic_fetch_add(&next_mm_id, 1, __ATOMIC_RELAXED);
	atomic_inc(&host->nr_mms);
	/* The OOM killer looks for victims here. */
	spin_lock(&host->mmlist_lock);
	list_add_tail(&mm->mmlist, &host->mmlist);
	spin_unlock(&host->mmlist_lock);
	return mm;
}

struct host *mm_host(const struct mm_struct *mm)
{
	if (!mm_api_ok(mm, MM_STRUCT))
		return NULL;
	return mm->host;
}

void mmget(struct mm_struct *mm)
{
	if (mm_api_ok(mm, MM_USERS))
		atomic_inc(&mm->mm_users);
}

bool mmget_not_zero(struct mm_struct *mm)
{
	return mm_api_ok(mm, MM_STRUCT) && atomic_inc_not_zero(&mm->mm_users);
}

void mmgrab(struct mm_struct *mm)
{
	if (mm_api_ok(mm, MM_STRUCT))
		WARN_ON_ONCE(atomic_inc_return(&mm->mm_count) <= 1);
}

/*
 * As 6.12's check_mm(): each PTE that counted a page or a swap entry in
 * rss_stat uncounted it when it went, so a freed mm's counters are zero.
 * One that is not means a path changed a PTE without its accounting (the
 * OOM killer's badness reads these counters).
 */
static void check_mm(struct mm_struct *mm)
{
	static const char *const names[NR_MM_COUNTERS] = {
		[MM_ANONPAGES] = "MM_ANONPAGES",
		[MM_SHMEMPAGES] = "MM_SHMEMPAGES",
		[MM_SWAPENTS] = "MM_SWAPENTS",
	};
	char msg[96];

	for (int i = 0; i < NR_MM_COUNTERS; i++) {
		long x = get_mm_counter(mm, i);

		if (likely(!x))
			continue;
		snprintf(msg, sizeof(msg),
			 "Bad rss-counter state mm:%d type:%s val:%ld", mm->id,
			 names[i], x);
		__warn_msg(msg);
	}
}

static void __mmdrop(struct mm_struct *mm)
{
	struct host *host = mm->host;

	WARN_ON_ONCE(mm->map_count || !interval_tree_empty(&mm->mm_vmas));
	check_mm(mm);
	spin_lock(&host->mmlist_lock);
	list_del_init(&mm->mmlist);
	spin_unlock(&host->mmlist_lock);
	__mmu_notifier_subscriptions_destroy(mm);
	free_pt_page(mm->pgd);
	__atomic_store_n(&mm->magic, OBJ_POISON, __ATOMIC_RELAXED);
	api_free(mm);
	atomic_dec(&host->nr_mms);
}

void mmdrop(struct mm_struct *mm)
{
	int left;

	if (!mm_api_ok(mm, MM_STRUCT))
		return;
	left = atomic_dec_return(&mm->mm_count);

	if (left == 0)
		__mmdrop(mm);
	else
		WARN_ON_ONCE(left < 0);
}

void mmput(struct mm_struct *mm)
{
	int left;

	if (!mm_api_ok(mm, MM_USERS))
		return;
	left = atomic_dec_return(&mm->mm_users);

	if (left == 0) {
		/* KSM forgets the mm once no PTE maps its pages any more. */
		exit_mmap(mm);
		ksm_exit(mm);
		mmdrop(mm);
	} else {
		WARN_ON_ONCE(left < 0);
	}
}

struct mm_struct *dup_mm(struct mm_struct *oldmm)
{
	struct mm_struct *mm;
	int err;

	if (!mm_api_ok(oldmm, MM_USERS))
		return ERR_PTR(-EINVAL);
	mm = mm_alloc(oldmm->host);
	if (IS_ERR(mm))
		return mm;
	mm->mmap_base = oldmm->mmap_base;
	err = dup_mmap(mm, oldmm);
	if (err) {
		mmput(mm);
		return ERR_PTR(err);
	}
	return mm;
}

/**
 * dup_mmap() - copy @oldmm's VMAs and page tables into the new @mm.
 *
 * The parent's mmap_lock is held for writing throughout, so no fault or
 * invalidation of the parent runs meanwhile; each private mapping's PTEs
 * are write-protected inside a PROTECTION_PAGE invalidation
 * (copy_page_range()), and the parent's TLB is flushed at the end.  The
 * child starts with no notifier subscribers, and is registered with KSM
 * if the parent is (it may map the parent's KSM pages).
 */
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vm_area_struct *vma;
	int err = 0;

	mmap_write_lock(oldmm);
	mmap_write_lock(mm);
	err = ksm_fork(mm, oldmm);
	for (vma = vma_of(interval_tree_first(&oldmm->mm_vmas)); vma && !err;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		struct vm_area_struct *new = vm_area_dup(
			vma, mm, vma->vm_start, vma->vm_end, vma->vm_pgoff);

		if (!new) {
			err = -ENOMEM;
			break;
		}
		vma_insert(new);
		err = copy_page_range(new, vma);
		if (err)
			break;
	}
	mmap_write_unlock(mm);
	flush_tlb_range(oldmm, 0, TASK_SIZE);
	mmap_write_unlock(oldmm);
	return err;
}
