// SPDX-License-Identifier: MIT
/*
 * VMAs and the operations that create and destroy them: mmap, munmap,
 * exit_mmap, and mm_take_all_locks() for notifier registration.
 */
#include <stdlib.h>

#include "pgtable.h"

/* The lock primitives get the caller's site, for the validator's reports. */
void __mmap_read_lock(struct mm_struct *mm, const char *site)
{
	if (mm_api_ok(mm, MM_STRUCT))
		_down_read(&mm->mmap_lock, site);
}

bool __mmap_read_trylock(struct mm_struct *mm, const char *site)
{
	return mm_api_ok(mm, MM_STRUCT) &&
	       _down_read_trylock(&mm->mmap_lock, site);
}

void mmap_read_unlock(struct mm_struct *mm)
{
	if (mm_api_ok(mm, MM_STRUCT))
		up_read(&mm->mmap_lock);
}

void __mmap_write_lock(struct mm_struct *mm, const char *site)
{
	if (mm_api_ok(mm, MM_STRUCT))
		_down_write(&mm->mmap_lock, site);
}

void mmap_write_unlock(struct mm_struct *mm)
{
	if (mm_api_ok(mm, MM_STRUCT))
		up_write(&mm->mmap_lock);
}

/* ---------------------------------------------------------------------
 * The VMA tree
 */

/** find_vma() - the first VMA ending above @addr, or NULL. */
struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	return vma_of(interval_tree_iter_first(&mm->mm_vmas, addr, ~0UL));
}

/** vma_lookup() - the VMA containing @addr, or NULL. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

/** vma_next_in() - the VMA after @vma if it starts below @end. */
struct vm_area_struct *vma_next_in(struct vm_area_struct *vma,
				   unsigned long end)
{
	struct interval_tree_node *n = interval_tree_next(&vma->vm_rb);

	return n && n->start < end ? vma_of(n) : NULL;
}

static void vma_tree_insert(struct mm_struct *mm, struct vm_area_struct *vma)
{
	vma->vm_rb.start = vma->vm_start;
	vma->vm_rb.last = vma->vm_end - 1;
	interval_tree_insert(&vma->vm_rb, &mm->mm_vmas);
	mm->map_count++;
}

static void vma_tree_remove(struct mm_struct *mm, struct vm_area_struct *vma)
{
	interval_tree_remove(&vma->vm_rb, &mm->mm_vmas);
	mm->map_count--;
}

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = calloc(1, sizeof(*vma));

	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_node);
	INIT_LIST_HEAD(&vma->shared_node);
	return vma;
}

/* Link a new VMA into the rmap of its object and its anon_vma. */
static void vma_link_rmap(struct vm_area_struct *vma, struct anon_vma *av)
{
	if (vma->vm_file) {
		shmem_get_mapping(vma->vm_file);
		shmem_link_vma(vma);
	}
	if (av)
		anon_vma_link(vma, av);
}

static void vma_unlink_rmap(struct vm_area_struct *vma)
{
	unlink_anon_vma(vma);
	if (vma->vm_file) {
		shmem_unlink_vma(vma);
		shmem_put_mapping(vma->vm_file);
		vma->vm_file = NULL;
	}
}

/*
 * Take the rmap locks of @vma exclusive, so rmap walkers never see its
 * range half-changed.
 */
static void vma_rmap_lock(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		down_write(&vma->vm_file->i_mmap_rwsem);
	if (vma->anon_vma)
		down_write(&vma->anon_vma->rwsem);
}

static void vma_rmap_unlock(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		up_write(&vma->anon_vma->rwsem);
	if (vma->vm_file)
		up_write(&vma->vm_file->i_mmap_rwsem);
}

/**
 * vma_set_range() - resize @vma to [@start, @end) with page offset @pgoff,
 * keeping the tree and the rmap consistent.
 */
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, unsigned long pgoff)
{
	struct mm_struct *mm = vma->vm_mm;

	vma_rmap_lock(vma);
	vma_tree_remove(mm, vma);
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma_tree_insert(mm, vma);
	vma_rmap_unlock(vma);
}

/**
 * vm_area_dup() - a copy of @vma (flags, object, rmap membership) for @mm
 * covering [@start, @end) at page offset @pgoff, not yet in any tree.  The
 * range is set before the VMA becomes visible to rmap walkers.
 */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *vma,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end, unsigned long pgoff)
{
	struct vm_area_struct *new = vm_area_alloc(mm);

	if (!new)
		return NULL;
	new->vm_start = start;
	new->vm_end = end;
	new->vm_flags = vma->vm_flags;
	new->vm_pgoff = pgoff;
	new->vm_file = vma->vm_file;
	vma_link_rmap(new, vma->anon_vma);
	return new;
}

/** vma_insert() - put a VMA made by vm_area_dup() into its mm's tree. */
void vma_insert(struct vm_area_struct *vma)
{
	vma_tree_insert(vma->vm_mm, vma);
}

/**
 * split_vma() - split @vma at @addr; @vma keeps [vm_start, addr) and the
 * returned VMA covers [addr, vm_end).  NULL on ENOMEM.
 */
struct vm_area_struct *split_vma(struct vm_area_struct *vma,
				 unsigned long addr)
{
	struct vm_area_struct *new;

	vma_adjust_trans_huge(vma, addr);
	new = vm_area_dup(vma, vma->vm_mm, addr, vma->vm_end,
			  linear_page_index(vma, addr));
	if (!new)
		return NULL;
	vma_set_range(vma, vma->vm_start, addr, vma->vm_pgoff);
	vma_insert(new);
	return new;
}

/**
 * vma_isolate() - make [@start, @end) of @vma a VMA of its own by
 * splitting off what lies outside; returns it, or NULL on ENOMEM.
 */
struct vm_area_struct *vma_isolate(struct vm_area_struct *vma,
				   unsigned long start, unsigned long end)
{
	if (vma->vm_start < start) {
		vma = split_vma(vma, start);
		if (!vma)
			return NULL;
	}
	if (vma->vm_end > end && !split_vma(vma, end))
		return NULL;
	return vma;
}

static void vm_area_free(struct vm_area_struct *vma)
{
	vma_unlink_rmap(vma);
	free(vma);
}

/**
 * vma_remove_free() - take @vma out of its tree and the rmap and free it.
 * Its page tables must hold no entry any more.
 */
void vma_remove_free(struct vm_area_struct *vma)
{
	vma_rmap_lock(vma);
	vma_tree_remove(vma->vm_mm, vma);
	vma_rmap_unlock(vma);
	vm_area_free(vma);
}

/* ---------------------------------------------------------------------
 * Merging
 */

/*
 * May @a and @b, which follow each other in the tree, be one VMA?  As
 * Linux 6.12's vma_merge (is_mergeable_vma(), is_mergeable_anon_vma(),
 * and a page offset that continues): adjacent, the same flags and file,
 * compatible anon_vmas (the same, or one of them none yet: the model's
 * anon_vma is per fork family, so the one without simply joins it), and
 * @b's page offset where @a's ends.
 */
static bool vmas_mergeable(const struct vm_area_struct *a,
			   const struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       a->vm_file == b->vm_file &&
	       (!a->anon_vma || !b->anon_vma || a->anon_vma == b->anon_vma) &&
	       a->vm_pgoff + ((a->vm_end - a->vm_start) >> PAGE_SHIFT) ==
		       b->vm_pgoff;
}

/*
 * @a takes over @b's range and @b goes.  Under @a's rmap locks (which are
 * @b's: same file, same anon_vma once @a has joined it), so rmap walkers
 * see either both VMAs or the merged one; @b leaves the rmap lists after,
 * and a walker that still meets it finds the PTEs @a now covers, the
 * same ones.
 */
static void vma_merge_pair(struct vm_area_struct *a, struct vm_area_struct *b)
{
	struct mm_struct *mm = a->vm_mm;

	if (!a->anon_vma && b->anon_vma)
		anon_vma_link(a, b->anon_vma);
	vma_rmap_lock(a);
	vma_tree_remove(mm, b);
	vma_tree_remove(mm, a);
	a->vm_end = b->vm_end;
	vma_tree_insert(mm, a);
	vma_rmap_unlock(a);
	vm_area_free(b);
}

/**
 * vma_merge_range() - merge the VMAs meeting [@start, @end], and those
 * touching it, where vmas_mergeable() allows, as Linux 6.12 does after
 * mmap, mprotect and mremap.  The caller holds the mmap_lock for writing.
 */
void vma_merge_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end)
{
	struct vm_area_struct *vma, *next;

	mmap_assert_write_locked(mm);
	vma = find_vma(mm, start > PAGE_SIZE ? start - 1 : 0);
	while (vma && vma->vm_start <= end) {
		next = vma_of(interval_tree_next(&vma->vm_rb));
		if (next && next->vm_start <= end && vmas_mergeable(vma, next)) {
			vma_merge_pair(vma, next);
			continue;
		}
		vma = next;
	}
}

/**
 * vma_merge_neighbours() - vma_merge_range() over @vma, which may be
 * freed (merged into its predecessor).
 */
void vma_merge_neighbours(struct vm_area_struct *vma)
{
	vma_merge_range(vma->vm_mm, vma->vm_start, vma->vm_end);
}

/* ---------------------------------------------------------------------
 * mmap
 */

bool range_is_free(struct mm_struct *mm, unsigned long addr,
			  unsigned long len)
{
	return !interval_tree_iter_first(&mm->mm_vmas, addr, addr + len - 1);
}

/*
 * First gap of @len bytes at or above mm->mmap_base (or at @hint).  Only
 * anonymous private memory (@m NULL) is placed for huge pages: a file's
 * mapping, shared anonymous memory included, is never mapped huge
 * (thp_vma_allowable()), as 6.12's __get_unmapped_area() leaves a file's
 * placement to the file (shmem aligns only with its own huge= option,
 * which the model does not have).
 */
long get_unmapped_area(struct mm_struct *mm, struct address_space *m,
		       unsigned long hint, unsigned long len)
{
	unsigned long addr = mm->mmap_base;
	unsigned long align = m ? PAGE_SIZE : thp_mmap_align(mm, hint, len);
	struct vm_area_struct *vma;

	/* As round_hint_to_min(): aligned down, raised to mmap_min_addr. */
	hint &= PAGE_MASK;
	if (hint && hint < MMAP_MIN_ADDR)
		hint = MMAP_MIN_ADDR;
	if (hint && hint <= TASK_SIZE - len && range_is_free(mm, hint, len))
		return hint;
	addr = (addr + align - 1) & ~(align - 1);
	for (vma = find_vma(mm, addr); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		if (addr + len <= vma->vm_start)
			return addr;
		if (vma->vm_end > addr)
			addr = (vma->vm_end + align - 1) & ~(align - 1);
	}
	return addr <= TASK_SIZE - len ? (long)addr : -ENOMEM;
}

static unsigned long calc_vm_flags(unsigned long prot, unsigned long flags)
{
	unsigned long vm_flags = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	if (prot & PROT_READ)
		vm_flags |= VM_READ;
	if (prot & PROT_WRITE)
		vm_flags |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm_flags |= VM_EXEC;
	if (flags & MAP_SHARED)
		vm_flags |= VM_SHARED | VM_MAYSHARE;
	return vm_flags;
}

#define MMAP_KNOWN_FLAGS                                                       \
	(MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |                \
	 MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_NORESERVE)

/* The checks of vm_mmap() and vm_mmap_file(); @file: a file is mapped. */
int mmap_check(unsigned long addr, unsigned long len, unsigned long prot,
	       unsigned long flags, bool file)
{
	unsigned long type = flags & (MAP_SHARED | MAP_PRIVATE);

	if (!len || (flags & ~MMAP_KNOWN_FLAGS) ||
	    !(flags & MAP_ANONYMOUS) == !file)
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (prot & ~(unsigned long)(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	/* Linux's order and answers (do_mmap(), __get_unmapped_area()). */
	if (len > TASK_SIZE)
		return -ENOMEM;
	if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
		return 0;
	if (addr > TASK_SIZE - PAGE_ALIGN(len))
		return -ENOMEM;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	return addr < MMAP_MIN_ADDR ? -EPERM : 0;
}

/* Populate (MAP_POPULATE): fault every page in, for writing if allowed. */
static void mm_populate(struct mm_struct *mm, unsigned long addr,
			unsigned long len)
{
	mmap_read_lock(mm);
	for (unsigned long a = addr; a < addr + len; a += PAGE_SIZE) {
		struct vm_area_struct *vma = vma_lookup(mm, a);
		unsigned int flags;

		if (!vma)
			break;
		flags = vma->vm_flags & VM_WRITE ? FAULT_FLAG_WRITE : 0;
		if (vma_access_ok(vma, flags) &&
		    (handle_mm_fault(vma, a, flags) & VM_FAULT_OOM))
			break;
	}
	mmap_read_unlock(mm);
}

/**
 * do_mmap() - map [@addr, @addr + @len) (checked and page aligned) of @m
 * from page offset @pgoff, or anonymous memory when @m is NULL.  The VMA
 * takes its own reference on @m.
 * Return: the address, or a negative errno.
 */
long do_mmap(struct mm_struct *mm, struct address_space *m, unsigned long addr,
	     unsigned long len, unsigned long prot, unsigned long flags,
	     unsigned long pgoff)
{
	struct vm_area_struct *vma;
	long ret;

	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	mmap_write_lock(mm);
	if (flags & MAP_FIXED_NOREPLACE) {
		ret = range_is_free(mm, addr, len) ? (long)addr : -EEXIST;
	} else if (flags & MAP_FIXED) {
		/* Replacing a mapping is an munmap first (UNMAP). */
		ret = do_munmap(mm, addr, addr + len) ?: (long)addr;
	} else {
		ret = get_unmapped_area(mm, m, addr, len);
	}
	if (ret >= 0) {
		vma->vm_start = ret;
		vma->vm_end = ret + len;
		vma->vm_flags = calc_vm_flags(prot, flags);
		vma->vm_pgoff = m ? pgoff : (unsigned long)ret >> PAGE_SHIFT;
		vma->vm_file = m;
		vma_link_rmap(vma, NULL);
		vma_tree_insert(mm, vma);
		vma_merge_neighbours(vma);
	}
	mmap_write_unlock(mm);
	if (ret < 0) {
		free(vma);
		return ret;
	}
	if (flags & MAP_POPULATE)
		mm_populate(mm, ret, len);
	return ret;
}

long vm_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	     unsigned long prot, unsigned long flags)
{
	struct file *file;
	long ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	ret = mmap_check(addr, len, prot, flags, false);
	if (ret)
		return ret;
	len = PAGE_ALIGN(len);
	if (!(flags & MAP_SHARED))
		return do_mmap(mm, NULL, addr, len, prot, flags, 0);
	/* Shared anonymous memory: a file without a name, as shmem_zero_setup(). */
	file = shmem_file_setup(mm->host, "", len);
	if (IS_ERR(file))
		return PTR_ERR(file);
	ret = do_mmap(mm, file->f_mapping, addr, len, prot, flags, 0);
	fput(file);
	return ret;
}

/* ---------------------------------------------------------------------
 * munmap
 */

/** zap_vma_list() - zap every VMA from @vma on that starts below @end. */
void zap_vma_list(struct mmu_gather *tlb, struct vm_area_struct *vma,
		  unsigned long end)
{
	for (; vma; vma = vma_next_in(vma, end))
		unmap_page_range(tlb, vma, vma->vm_start, vma->vm_end);
}

/*
 * unmap_vmas(): the UNMAP invalidation of [@start, @end) around the zap
 * of the VMAs from @vma on, which covers them exactly (Linux's
 * unmap_vmas()).
 */
static void unmap_vmas(struct mmu_gather *tlb, struct vm_area_struct *vma,
		       unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	if (mutant_is(MUTANT_FREE_BEFORE_START))
		return unmap_vmas_mutant_free_before_start(tlb, vma, start, end);
	if (mutant_is(MUTANT_END_BEFORE_ZAP))
		return unmap_vmas_mutant_end_before_zap(tlb, vma, start, end);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, tlb->mm, start,
				end);
	mmu_notifier_invalidate_range_start(&range);
	zap_vma_list(tlb, vma, end);
	mmu_notifier_invalidate_range_end(&range);
}

/**
 * do_munmap() - unmap [@start, @end), which is page aligned.  The caller
 * holds the mmap_lock for writing.
 *
 * One UNMAP invalidation spans the whole request; pages may be freed
 * inside it when the gather batch fills, and the rest after the final
 * flush.  VMAs leave the rmap before their page tables are freed, so no
 * rmap walker can be inside a table being freed.
 */
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma, *last, *next;
	struct mmu_gather tlb;

	mmap_assert_write_locked(mm);
	vma = find_vma(mm, start);
	if (!vma || vma->vm_start >= end)
		return 0;
	if (vma->vm_start < start) {
		struct vm_area_struct *tail = split_vma(vma, start);

		if (!tail)
			return -ENOMEM;
		vma = tail;
	}
	last = find_vma(mm, end - 1);
	if (last && last->vm_start < end && last->vm_end > end &&
	    !split_vma(last, end))
		return -ENOMEM;

	tlb_gather_mmu(&tlb, mm);
	unmap_vmas(&tlb, vma, start, end);
	for (; vma; vma = next) {
		next = vma_next_in(vma, end);
		vma_remove_free(vma);
	}
	free_pgtables(mm, start, end);
	tlb_finish_mmu(&tlb);
	return 0;
}

static int munmap_check(unsigned long start, unsigned long len)
{
	if ((start & ~PAGE_MASK) || !len || start >= TASK_SIZE ||
	    PAGE_ALIGN(len) > TASK_SIZE - start || PAGE_ALIGN(len) < len)
		return -EINVAL;
	return 0;
}

int vm_munmap(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	int ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	ret = munmap_check(start, len);
	if (ret)
		return ret;
	mmap_write_lock(mm);
	ret = do_munmap(mm, start, start + PAGE_ALIGN(len));
	mmap_write_unlock(mm);
	return ret;
}

/* ---------------------------------------------------------------------
 * exit
 */

/**
 * exit_mmap() - tear down an address space whose last user left.
 *
 * Hlist subscribers get ->release first and are unlinked, so they never
 * see the UNMAP that follows and must have dropped everything already;
 * interval subscribers get a RELEASE invalidation, then the UNMAP.  No
 * page is freed before every release returned.
 */
void exit_mmap(struct mm_struct *mm)
{
	struct mmu_notifier_range range;
	struct vm_area_struct *vma, *next;
	struct mmu_gather tlb;

	mmu_notifier_release(mm);
	mmap_write_lock(mm);
	mm_flag_set(mm, MMF_EXITING);
	tlb_gather_mmu(&tlb, mm);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm, 0, ~0UL);
	mmu_notifier_invalidate_range_start(&range);
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb)))
		unmap_page_range(&tlb, vma, vma->vm_start, vma->vm_end);
	mmu_notifier_invalidate_range_end(&range);
	mm_flag_set(mm, MMF_OOM_SKIP);
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma; vma = next) {
		next = vma_of(interval_tree_next(&vma->vm_rb));
		vma_remove_free(vma);
	}
	free_pgtables(mm, 0, 1UL << 48);
	tlb_finish_mmu(&tlb);
	mmap_write_unlock(mm);
}

/* ---------------------------------------------------------------------
 * mm_take_all_locks
 */

DEFINE_MUTEX(mm_all_locks_mutex);

/**
 * mm_take_all_locks() - with the mmap_lock held for writing, take every
 * rmap lock of @mm exclusive.
 *
 * Every path that opens an invalidate_range_start/end window holds, for
 * the whole window, the mmap_lock or one of these rmap locks.  Holding all
 * of them therefore means no window of this mm is open, which is what lets
 * notifier registration promise a subscriber it will never see an end
 * whose start it missed.  Objects shared by several VMAs (or mms) are
 * locked once, marked under mm_all_locks_mutex.  A pending signal aborts
 * with -EINTR, since on a large mm this can take a while.
 */
int mm_take_all_locks(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	mmap_assert_write_locked(mm);
	mutex_lock(&mm_all_locks_mutex);
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		if (signal_pending(current))
			goto fail;
		if (vma->vm_file && !vma->vm_file->all_locks) {
			down_write(&vma->vm_file->i_mmap_rwsem);
			vma->vm_file->all_locks = true;
		}
	}
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		if (signal_pending(current))
			goto fail;
		if (vma->anon_vma && !vma->anon_vma->all_locks) {
			down_write(&vma->anon_vma->rwsem);
			vma->anon_vma->all_locks = true;
		}
	}
	return 0;
fail:
	mm_drop_all_locks(mm);
	return -EINTR;
}

void mm_drop_all_locks(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	mmap_assert_write_locked(mm);
	for (vma = vma_of(interval_tree_first(&mm->mm_vmas)); vma;
	     vma = vma_of(interval_tree_next(&vma->vm_rb))) {
		if (vma->anon_vma && vma->anon_vma->all_locks) {
			vma->anon_vma->all_locks = false;
			up_write(&vma->anon_vma->rwsem);
		}
		if (vma->vm_file && vma->vm_file->all_locks) {
			vma->vm_file->all_locks = false;
			up_write(&vma->vm_file->i_mmap_rwsem);
		}
	}
	mutex_unlock(&mm_all_locks_mutex);
}
