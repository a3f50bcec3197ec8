/* SPDX-License-Identifier: MIT */
/*
 * memfd: anonymous files with a page cache (mm/memfd.c, mm/shmem.c).
 *
 * memfd_alloc_file() (Linux's memfd_create() behind the file descriptor;
 * the libc name is taken by the real system call) returns a struct file: a reference-counted handle on an
 * object of the host's memory with a size and a page cache indexed by
 * page offset.  Pages come into being, zeroed, on first access; reclaim
 * may write them to swap, leaving the swap entry in the cache.  A file
 * is mapped with vm_mmap_file():
 *
 *   - MAP_SHARED: every mapping, in any address space, maps the page
 *     cache's pages; a store is seen by every other mapping.
 *   - MAP_PRIVATE: reads map the page cache's pages read-only; the first
 *     write to a page copies it into an anonymous page of this mapping
 *     (copy-on-write from the page cache, Linux's do_cow_fault()), which
 *     later changes to the file no longer reach.
 *
 * A mapping holds the object alive: fput() of the last file reference
 * leaves a mapped object in place.  Shared anonymous memory (vm_mmap()
 * with MAP_SHARED | MAP_ANONYMOUS) is such a file without a name, made
 * for the mapping.
 *
 * Removing pages sends what Linux 6.12 sends (docs/architecture.md): for
 * each VMA mapping the range, a blockable MMU_NOTIFY_CLEAR invalidation
 * of the addresses that map it, the zap inside it, then the pages leave
 * the page cache and are freed once the last reference (a secondary
 * MMU's GUP reference, say) is gone.  An access beyond the end of the
 * file is a bus error: cpu_read() and friends return -EFAULT, a vCPU's
 * fault fails with -EFAULT.
 *
 * Every function checks its arguments: NULL, a file already released by
 * its last fput() (recognised in checked API mode, as for mms) or a bad
 * value return -EINVAL (-EBADF for a file that is not live) with a WARN
 * for a NULL or dead file.
 */
#ifndef MMULAB_MEMFD_H
#define MMULAB_MEMFD_H

#include <mmulab/mm.h>

struct file;

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef MADV_REMOVE
#define MADV_REMOVE 9
#endif

/** MFD_NAME_MAX_LEN - longest name memfd_alloc_file() accepts, as Linux. */
#define MFD_NAME_MAX_LEN 249

/**
 * memfd_alloc_file() - a new, empty (size 0) file of @host's memory.
 * @host: whose frames and swap device its pages use.
 * @name: a name for reports (at most MFD_NAME_MAX_LEN bytes); copied.
 * @flags: MFD_CLOEXEC and MFD_ALLOW_SEALING are accepted (and, as there
 *	are no file descriptors or seals here, change nothing).
 *
 * Return: the file with one reference, ERR_PTR(-EINVAL) for a NULL or
 * too long @name or an unknown flag, ERR_PTR(-ENOMEM).
 *
 * Misuse: a NULL or destroyed host (destroyed: checked mode): WARN,
 *	ERR_PTR(-EINVAL).
 */
struct file *memfd_alloc_file(struct host *host, const char *name,
			  unsigned int flags);

/**
 * get_file() - take another reference on @file.
 * Return: @file, or NULL for a file that is not live.
 *
 * Misuse: a NULL or released file (released: checked mode): WARN, NULL.
 */
struct file *get_file(struct file *file);

/**
 * fput() - drop a reference; the last one releases the file.  Its pages
 * stay while a mapping of it does.
 *
 * Misuse: a NULL or released file (released: checked mode): WARN,
 *	nothing dropped.
 */
void fput(struct file *file);

/**
 * file_size() - the size of @file in bytes (i_size).
 * Return: the size, or -EBADF for a file that is not live (a WARN).
 */
long long file_size(struct file *file);

/**
 * file_name() - the name @file was created with ("" for shared anonymous
 * memory), or NULL for a file that is not live.
 */
const char *file_name(struct file *file);

/**
 * file_nr_cached() - pages currently in @file's page cache (resident,
 * not swap entries), for tests and reports.  Costs what is populated.
 * Return: the count, or 0 for a file that is not live (a WARN).
 */
unsigned long file_nr_cached(struct file *file);

/**
 * do_ftruncate() - set the size of @file to @length bytes.  Growing adds
 * a hole (reads zero).  Shrinking unmaps, in every VMA mapping the part
 * past the new end (private copies included, as Linux's
 * truncate_pagecache(): unmap_mapping_range() with even_cows), a CLEAR
 * invalidation each, then frees those pages and swap slots, and unmaps
 * again for private copies a racing fault made meanwhile.  The partial
 * page at the new end is zeroed past it.
 *
 * Return: 0; -EINVAL for a negative @length; -EFBIG past the largest size
 * the page cache can index (2^48 bytes); -EBADF for a file that is not
 * live (a WARN).
 */
int do_ftruncate(struct file *file, long long length);

/**
 * vfs_fallocate() - FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: make
 * [@offset, @offset + @len) of @file a hole.  Each VMA mapping whole
 * pages of it gets a CLEAR invalidation of them and its page-cache PTEs
 * are zapped (private copies stay, as Linux: even_cows is false); the
 * pages then leave the cache and their frames are freed once
 * unreferenced.  Partial pages at the ends are zeroed in place (in tag
 * mode a partial page keeps its tag).  The size does not change.
 *
 * Return: 0; -EINVAL for a negative @offset or a @len <= 0;
 * -EOPNOTSUPP for any other @mode (the model has no preallocation);
 * -EFBIG when the range ends past 2^48 bytes; -EBADF for a file that is
 * not live (a WARN).
 */
int vfs_fallocate(struct file *file, int mode, long long offset,
		  long long len);

/**
 * vm_mmap_file() - map @len bytes of @file from byte @offset into @mm.
 * @mm: address space.
 * @file: the file; the mapping takes its own reference on the object.
 * @addr: as vm_mmap().
 * @len: length in bytes (rounded up to pages).
 * @prot: as vm_mmap().
 * @flags: exactly one of MAP_SHARED or MAP_PRIVATE, optionally
 *	MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_POPULATE; not MAP_ANONYMOUS.
 * @offset: page-aligned offset into the file.
 *
 * Mapping beyond the end of the file is allowed, as Linux: accesses there
 * fault with -EFAULT until the file grows.
 *
 * Return: the address, or as vm_mmap(); -EINVAL also for a misaligned
 * @offset, MAP_ANONYMOUS, or an offset plus length past 2^48 bytes;
 * -EBADF for a file that is not live (a WARN).
 */
long vm_mmap_file(struct mm_struct *mm, struct file *file, unsigned long addr,
		  unsigned long len, unsigned long prot, unsigned long flags,
		  unsigned long offset);

#endif /* MMULAB_MEMFD_H */
