// SPDX-License-Identifier: MIT
/*
 * memfd: files with a page cache (<mmulab/memfd.h>).  The page cache is
 * mm/shmem.c's; this file is the file object around it and the
 * operations that change its size or remove its pages: ftruncate(),
 * fallocate(PUNCH_HOLE) and MADV_REMOVE, with the invalidations Linux
 * 6.12 sends (unmap_mapping_pages(), mm/memory.c).
 *
 * Removing a range follows shmem_setattr() and shmem_fallocate():
 *
 *   truncate:    size set; unmap (even_cows); pages removed; unmap again
 *                (even_cows), for private copies a racing fault made
 *   punch hole:  unmap (file pages only); pages removed
 *
 * Each unmap is one blockable CLEAR invalidation per VMA mapping a part
 * of the range, over the addresses of that part.  Removing a page takes
 * its page lock and unmaps it again if a fault mapped it meanwhile (as
 * truncate_inode_folio()), so no PTE maps a page that left the cache.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The largest size the page cache indexes. */
#define MEMFD_MAX_BYTES ((long long)SHMEM_MAX_PAGES << PAGE_SHIFT)

/*
 * file_api_ok() - may a public entry point use @file?  False, after a
 * WARN naming it and its caller, for NULL and (checked mode) for a file
 * already released.
 */
#define file_api_ok(file) __file_api_ok(file, __func__, __builtin_return_address(0))

static bool __file_api_ok(const struct file *file, const char *func,
			  const void *caller)
{
	if (!file) {
		__api_warn(func, caller, "NULL file");
		return false;
	}
	if (debug_api_enabled &&
	    __atomic_load_n(&file->magic, __ATOMIC_RELAXED) != FILE_MAGIC) {
		__api_warn(func, caller,
			   "file %p is not a live file (released by its last fput()?)",
			   (const void *)file);
		return false;
	}
	return true;
}

/**
 * shmem_file_setup() - a file of @size bytes over a new page cache of
 * @host, named @name (copied, truncated to MFD_NAME_MAX_LEN).
 * Return: the file with one reference, or ERR_PTR(-ENOMEM).
 */
struct file *shmem_file_setup(struct host *host, const char *name,
			      unsigned long size)
{
	struct file *file = calloc(1, sizeof(*file));

	if (!file)
		return ERR_PTR(-ENOMEM);
	file->f_mapping = shmem_create(host, PAGE_ALIGN(size) >> PAGE_SHIFT);
	if (!file->f_mapping) {
		free(file);
		return ERR_PTR(-ENOMEM);
	}
	shmem_set_size(file->f_mapping, (long long)size);
	atomic_set(&file->f_count, 1);
	strncpy(file->f_name, name, MFD_NAME_MAX_LEN);
	file->magic = FILE_MAGIC;
	return file;
}

struct file *memfd_alloc_file(struct host *host, const char *name,
			  unsigned int flags)
{
	if (!host_api_ok(host))
		return ERR_PTR(-EINVAL);
	if (!name || strnlen(name, MFD_NAME_MAX_LEN + 1) > MFD_NAME_MAX_LEN ||
	    (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING)))
		return ERR_PTR(-EINVAL);
	return shmem_file_setup(host, name, 0);
}

struct file *get_file(struct file *file)
{
	if (!file_api_ok(file))
		return NULL;
	atomic_inc(&file->f_count);
	return file;
}

void fput(struct file *file)
{
	if (!file_api_ok(file))
		return;
	if (API_WARN_ON(atomic_read(&file->f_count) <= 0,
			"file %p has no references left", (void *)file))
		return;
	if (!atomic_dec_and_test(&file->f_count))
		return;
	shmem_put_mapping(file->f_mapping);
	__atomic_store_n(&file->magic, OBJ_POISON, __ATOMIC_RELAXED);
	api_free(file);
}

long long file_size(struct file *file)
{
	if (!file_api_ok(file))
		return -EBADF;
	return READ_ONCE(file->f_mapping->i_size);
}

const char *file_name(struct file *file)
{
	return file_api_ok(file) ? file->f_name : NULL;
}

unsigned long file_nr_cached(struct file *file)
{
	return file_api_ok(file) ? shmem_nr_cached(file->f_mapping) : 0;
}

/* Zero [@from, @to) of the page that holds byte @from, if partial. */
static void zero_partial_range(struct address_space *m, long long from,
			       long long to)
{
	unsigned long index = (unsigned long)(from >> PAGE_SHIFT);
	long long page_end = ((long long)index + 1) << PAGE_SHIFT;

	if (to > page_end)
		to = page_end;
	shmem_zero_partial(m, index, (unsigned int)(from & ~PAGE_MASK),
			   (unsigned int)(to - ((long long)index << PAGE_SHIFT)));
}

int do_ftruncate(struct file *file, long long length)
{
	struct address_space *m;
	unsigned long holebegin, old_pages;
	long long oldsize;

	if (!file_api_ok(file))
		return -EBADF;
	if (length < 0)
		return -EINVAL;
	if (length > MEMFD_MAX_BYTES)
		return -EFBIG;
	m = file->f_mapping;
	mutex_lock(&m->invalidate_lock);
	oldsize = m->i_size;
	old_pages = m->nr_pages;
	shmem_set_size(m, length);
	if (length >= oldsize) {
		mutex_unlock(&m->invalidate_lock);
		return 0;
	}
	holebegin = (unsigned long)(PAGE_ALIGN((unsigned long)length) >>
				    PAGE_SHIFT);
	if (old_pages > holebegin)
		unmap_mapping_pages(m, holebegin, 0, true);
	if (length & ~PAGE_MASK)
		zero_partial_range(m, length, oldsize);
	shmem_truncate_range(m, holebegin, SHMEM_MAX_PAGES);
	/* Again, for private copies a racing fault made (shmem_setattr()). */
	if (old_pages > holebegin)
		unmap_mapping_pages(m, holebegin, 0, true);
	mutex_unlock(&m->invalidate_lock);
	return 0;
}

/**
 * shmem_punch_hole() - make [@offset, @offset + @len) of @m a hole:
 * unmap whole pages from every mapping (file pages only), zero partial
 * pages at the ends, remove the whole pages.  Checked by the caller.
 * Return: 0.
 */
int shmem_punch_hole(struct address_space *m, long long offset,
		     long long len)
{
	long long end = offset + len;
	unsigned long first = (unsigned long)(PAGE_ALIGN((unsigned long)offset) >>
					      PAGE_SHIFT);
	unsigned long last = (unsigned long)(end >> PAGE_SHIFT);

	bool head = offset & ~PAGE_MASK;

	mutex_lock(&m->invalidate_lock);
	if (last > first)
		unmap_mapping_pages(m, first, last - first, false);
	if (head)
		zero_partial_range(m, offset, end);
	/* A tail page of its own (not the head page, zeroed just now). */
	if ((end & ~PAGE_MASK) &&
	    !(head && (end >> PAGE_SHIFT) == (offset >> PAGE_SHIFT)))
		zero_partial_range(m, end & PAGE_MASK, end);
	if (last > first)
		shmem_truncate_range(m, first, last);
	mutex_unlock(&m->invalidate_lock);
	return 0;
}

int vfs_fallocate(struct file *file, int mode, long long offset,
		  long long len)
{
	if (!file_api_ok(file))
		return -EBADF;
	/* As Linux's vfs_fallocate(), in its order. */
	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (offset > MEMFD_MAX_BYTES || len > MEMFD_MAX_BYTES - offset)
		return -EFBIG;
	return shmem_punch_hole(file->f_mapping, offset, len);
}

long vm_mmap_file(struct mm_struct *mm, struct file *file, unsigned long addr,
		  unsigned long len, unsigned long prot, unsigned long flags,
		  unsigned long offset)
{
	long ret;

	if (!mm_api_ok(mm, MM_USERS))
		return -EINVAL;
	if (!file_api_ok(file))
		return -EBADF;
	ret = mmap_check(addr, len, prot, flags, true);
	if (ret)
		return ret;
	len = PAGE_ALIGN(len);
	if ((offset & ~PAGE_MASK) ||
	    offset > (unsigned long)MEMFD_MAX_BYTES ||
	    len > (unsigned long)MEMFD_MAX_BYTES - offset)
		return -EINVAL;
	return do_mmap(mm, file->f_mapping, addr, len, prot, flags,
		       offset >> PAGE_SHIFT);
}
