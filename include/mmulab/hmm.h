/* SPDX-License-Identifier: MIT */
/*
 * HMM: hmm_range_fault(), which reads (and on request faults in) the CPU
 * page table of a range for a device, and the HMM-style device mirror
 * built on it (the kernel's lib/test_hmm.c "dmirror"): a device with its
 * own page table over a range of a process's address space, kept
 * coherent by an interval notifier and its sequence-count collision
 * protocol, and holding no page reference.
 *
 * A device access looks up the device table under the driver's lock; on
 * a miss the driver samples mmu_interval_read_begin(), calls
 * hmm_range_fault() for the range under mmap_read_lock() with no driver
 * lock held (starting over on -EBUSY), then under its lock checks
 * mmu_interval_read_retry() and only then installs the entries.  The
 * invalidate callback records the new sequence and drops the entries of
 * the range under the same lock.
 */
#ifndef MMULAB_HMM_H
#define MMULAB_HMM_H

#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>

/* ---------------------------------------------------------------------
 * hmm_range_fault(): the CPU page table of a range, as a device sees it
 */

/**
 * enum hmm_pfn_flags - the high bits of an hmm_pfns[] entry.
 * @HMM_PFN_VALID: output: the CPU maps the page; the low bits are its frame.
 * @HMM_PFN_WRITE: output: the CPU maps it writable.
 * @HMM_PFN_ERROR: output: the page cannot be mirrored (no VMA, a VMA the
 *	device may not read); never set together with @HMM_PFN_VALID.
 * @HMM_PFN_ORDER_SHIFT: the map order (log2 of the pages the CPU maps with
 *	one entry) sits in the 5 bits from here.
 * @HMM_PFN_REQ_FAULT: input: fault the page in if it is not valid.
 * @HMM_PFN_REQ_WRITE: input: fault it writable (with @HMM_PFN_REQ_FAULT).
 * @HMM_PFN_FLAGS: every flag bit; the rest is the frame number.
 *
 * Input and output share the bits, as in Linux: a request for a valid
 * page reads as "valid" once fulfilled.
 */
enum hmm_pfn_flags {
	HMM_PFN_VALID = 1UL << 63,
	HMM_PFN_WRITE = 1UL << 62,
	HMM_PFN_ERROR = 1UL << 61,
	HMM_PFN_ORDER_SHIFT = 56,

	HMM_PFN_REQ_FAULT = HMM_PFN_VALID,
	HMM_PFN_REQ_WRITE = HMM_PFN_WRITE,

	HMM_PFN_FLAGS = 0xFFUL << HMM_PFN_ORDER_SHIFT,
};

/**
 * hmm_pfn_to_pfn() - the frame number of a valid hmm_pfns[] entry.
 * @hmm_pfn: the entry.
 * Return: its frame number (meaningful only with HMM_PFN_VALID).
 */
static inline unsigned long hmm_pfn_to_pfn(unsigned long hmm_pfn)
{
	return hmm_pfn & ~(unsigned long)HMM_PFN_FLAGS;
}

/**
 * hmm_pfn_to_map_order() - log2 of the pages the CPU maps with the entry
 * that maps this one.
 * @hmm_pfn: a valid entry.
 * Return: the order: 9 (HPAGE_PMD_ORDER) for a page of a huge PMD, which
 * hmm_range_fault() reports whole rather than splitting it; 0 for a PTE.
 */
static inline unsigned int hmm_pfn_to_map_order(unsigned long hmm_pfn)
{
	return (hmm_pfn >> HMM_PFN_ORDER_SHIFT) & 0x1F;
}

/**
 * struct hmm_range - one hmm_range_fault() request.
 * @notifier: the interval notifier covering the range; its mm is the one
 *	walked.
 * @notifier_seq: mmu_interval_read_begin()'s value, sampled before the
 *	call; the call fails with -EBUSY once the interval's sequence moves.
 * @start: first address (page aligned).
 * @end: end of the range (page aligned, above @start).
 * @hmm_pfns: one entry per page: request flags in, frame and flags out.
 * @default_flags: request flags applied to every page.
 * @pfn_flags_mask: which request bits of each @hmm_pfns entry count
 *	(0: only @default_flags do).
 * @dev_private_owner: the caller's device-memory owner (its dev_pagemap's
 *	@owner), or NULL: a device-private page of this owner is reported
 *	in place; any other is faulted back to system memory when asked.
 */
struct hmm_range {
	struct mmu_interval_notifier *notifier;
	unsigned long notifier_seq;
	unsigned long start;
	unsigned long end;
	unsigned long *hmm_pfns;
	unsigned long default_flags;
	unsigned long pfn_flags_mask;
	void *dev_private_owner;
};

/**
 * hmm_range_fault() - report the CPU's mapping of each page of a range,
 * faulting in first the pages whose request asks for it.
 * @range: the request; @range->hmm_pfns[] is rewritten with the result.
 *
 * A page is requested to be faulted when (hmm_pfns[i] & pfn_flags_mask) |
 * default_flags has HMM_PFN_REQ_FAULT; with no such request the call is a
 * snapshot that changes nothing.  Pages that are not mapped and not
 * requested come back 0.  Faults go through the CPU's fault handler, as a
 * CPU access would, and the walk starts over after each; the interval's
 * sequence is checked before every pass.
 *
 * Context: the caller holds mmap_read_lock() of the notifier's mm and
 * has sampled @range->notifier_seq with mmu_interval_read_begin().  The
 * result may be used only after mmu_interval_read_retry() under the
 * driver's lock says no invalidation ran meanwhile.
 * Return: 0; -EBUSY: the range was invalidated, sample the sequence again
 * and retry; -EPERM: a write was requested to a VMA that does not allow
 * writes; -EFAULT: a fault was requested where there is no VMA, in a VMA
 * the device may not read, or the fault failed; -EINVAL: a malformed
 * range.  On an error, entries from the failing page on keep their input.
 */
int hmm_range_fault(struct hmm_range *range);

/* ---------------------------------------------------------------------
 * The device mirror
 */

struct dmirror;

/**
 * struct dmirror_stat - counters of a mirror.
 * @accesses: device reads and writes (dmirror_read_u64() and friends,
 *	and each page of a command).
 * @reads: device loads served through the table.
 * @writes: device stores served through it.
 * @faults: device faults: hmm_range_fault() passes over a missed range.
 * @retries: range faults that collided with an invalidation (-EBUSY, or
 *	mmu_interval_read_retry() under the lock) and started over.
 * @invalidations: invalidate callbacks.
 * @zapped: device entries dropped by them.
 * @incoherent: entries dmirror_check() found disagreeing with the CPU.
 * @by_event: invalidate callbacks per enum mmu_notifier_event.
 */
struct dmirror_stat {
	unsigned long accesses;
	unsigned long reads;
	unsigned long writes;
	unsigned long faults;
	unsigned long retries;
	unsigned long invalidations;
	unsigned long zapped;
	unsigned long incoherent;
	unsigned long by_event[MMU_NOTIFY_NR_EVENTS];
};

/**
 * dmirror_create() - a device mirroring a range of an mm.
 * @mm: the process; the caller holds a user reference and no mmap_lock.
 * @start: first address (page aligned).
 * @npages: pages mirrored from @start.
 *
 * Registers the mirror's interval notifier over the range.
 * Return: the mirror or ERR_PTR(-EINVAL/-ENOMEM/-EINTR/-EOVERFLOW).
 */
struct dmirror *dmirror_create(struct mm_struct *mm, unsigned long start,
			       unsigned long npages);

/**
 * dmirror_destroy() - drop every device entry, remove the notifier, free.
 * @dmirror: the mirror, or NULL; the mm may have exited.
 */
void dmirror_destroy(struct dmirror *dmirror);

/**
 * dmirror_read_u64() - device load of 8 bytes through the device table,
 * faulting the page in with hmm_range_fault() on a miss.
 * @dmirror: the mirror.
 * @addr: 8-aligned, inside the mirrored range.
 * @val: out: the value; in tag mode the page's tag.
 * Return: 0, -EFAULT (nothing the device may read there), -EPERM, -EINVAL,
 * -ENOMEM, -EBUSY (invalidations kept colliding), -EIO (the checker
 * stopped the run).
 */
int dmirror_read_u64(struct dmirror *dmirror, unsigned long addr, u64 *val);

/**
 * dmirror_write_u64() - device store of 8 bytes, faulting the page in
 * writable on a miss.
 * @dmirror: the mirror.
 * @addr: 8-aligned, inside the mirrored range.
 * @val: the value.
 * Return: as dmirror_read_u64(); -EPERM for a read-only VMA.
 */
int dmirror_write_u64(struct dmirror *dmirror, unsigned long addr, u64 val);

/**
 * struct dmirror_cmd - a device command over a range, as lib/test_hmm's
 * HMM_DMIRROR_READ/WRITE/SNAPSHOT ioctls.
 * @addr: first address (page aligned, inside the mirror).
 * @npages: pages from @addr.
 * @ptr: the device's buffer: for read and write one u64 per page, the
 *	page's first word (its tag in tag mode); for a snapshot one u8 per
 *	page, enum dmirror_prot.
 * @cpages: out: pages the command completed.
 * @faults: out: range faults it took.
 */
struct dmirror_cmd {
	unsigned long addr;
	unsigned long npages;
	void *ptr;
	unsigned long cpages;
	unsigned long faults;
};

/**
 * enum dmirror_prot - a snapshot's verdict on a page (test_hmm.h's
 * HMM_DMIRROR_PROT_*).
 * @DMIRROR_PROT_NONE: nothing mapped.
 * @DMIRROR_PROT_READ: mapped read-only.
 * @DMIRROR_PROT_WRITE: mapped writable.
 * @DMIRROR_PROT_PMD: (with READ or WRITE) the CPU maps the page with a
 *	huge PMD: hmm_range_fault() reported map order 9.
 * @DMIRROR_PROT_PUD: map order 18 (a PUD); the model never maps one.
 * @DMIRROR_PROT_ZERO: the shared zero page (with @DMIRROR_PROT_READ).
 * @DMIRROR_PROT_DEV_PRIVATE_LOCAL: (with READ or WRITE) a page in this
 *	mirror's own device memory.
 * @DMIRROR_PROT_DEV_PRIVATE_REMOTE: a page in another device's memory.
 * @DMIRROR_PROT_ERROR: not mirrorable (no VMA, no read permission).
 */
enum dmirror_prot {
	DMIRROR_PROT_NONE = 0x00,
	DMIRROR_PROT_READ = 0x01,
	DMIRROR_PROT_WRITE = 0x02,
	DMIRROR_PROT_PMD = 0x04,
	DMIRROR_PROT_PUD = 0x08,
	DMIRROR_PROT_ZERO = 0x10,
	DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20,
	DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30,
	DMIRROR_PROT_ERROR = 0xFF,
};

/**
 * dmirror_cmd_read() - the device reads a range: pages in its table are
 * read from it, the first miss faults the rest of the range in (one
 * hmm_range_fault() call per 64 pages) and the read goes on.
 * @dmirror: the mirror.
 * @cmd: the command; @cmd->ptr receives @cmd->npages words.
 * Return: 0, or the range fault's error (-EFAULT, -EPERM, ...), -EINVAL.
 */
int dmirror_cmd_read(struct dmirror *dmirror, struct dmirror_cmd *cmd);

/**
 * dmirror_cmd_write() - the device writes a range, faulting it in
 * writable where its table has no writable entry.
 * @dmirror: the mirror.
 * @cmd: the command; @cmd->ptr holds @cmd->npages words.
 * Return: as dmirror_cmd_read(); -EPERM for a read-only VMA.
 */
int dmirror_cmd_write(struct dmirror *dmirror, struct dmirror_cmd *cmd);

/**
 * dmirror_cmd_fault() - fault a range into the device table, reading and
 * writing nothing: one hmm_range_fault() call per 64 pages, as a device
 * prefetch.
 * @dmirror: the mirror.
 * @cmd: the command (@cmd->ptr unused); @cmd->cpages counts the pages
 *	installed.
 * @write: fault writable.
 * Return: 0, -EFAULT, -EPERM (@write to a read-only VMA), -EINVAL, -EBUSY.
 */
int dmirror_cmd_fault(struct dmirror *dmirror, struct dmirror_cmd *cmd,
		      bool write);

/**
 * dmirror_cmd_snapshot() - what the CPU maps in a range, without
 * faulting anything (hmm_range_fault() with no request flags).
 * @dmirror: the mirror.
 * @cmd: the command; @cmd->ptr receives @cmd->npages enum dmirror_prot.
 * Return: 0, -EINVAL, -EBUSY (invalidations kept colliding).
 */
int dmirror_cmd_snapshot(struct dmirror *dmirror, struct dmirror_cmd *cmd);

/**
 * dmirror_valid_entries() - device entries currently valid.
 * @dmirror: the mirror.
 * Return: their number.
 */
unsigned long dmirror_valid_entries(struct dmirror *dmirror);

/**
 * dmirror_check() - compare every valid device entry with the CPU page
 * table: same frame, no more permission.  Call it without the mmap_lock;
 * a comparison an invalidation overtook is made again.
 * @dmirror: the mirror.
 * Return: incoherent entries found (also added to the statistics).
 */
unsigned long dmirror_check(struct dmirror *dmirror);

/**
 * dmirror_get_stat() - snapshot of the counters.
 * @dmirror: the mirror.
 * @out: filled in.
 */
void dmirror_get_stat(struct dmirror *dmirror, struct dmirror_stat *out);

/**
 * dmirror_observe_stat() - dmirror_get_stat() for observers (samplers):
 * no scheduling point, safe beside running tasks.
 * @dmirror: the mirror.
 * @out: filled in.
 */
void dmirror_observe_stat(struct dmirror *dmirror, struct dmirror_stat *out);

/* ---------------------------------------------------------------------
 * Device memory (drivers/hmm/dmirror_devmem.c): the mirror's device with
 * frames of its own, as lib/test_hmm.c's device-private memory.
 */

struct dmirror_device;

/**
 * dmirror_device_create() - a device with @nr_pages frames of
 * device-private memory (memremap_pages()).
 * Return: the device, or ERR_PTR(-EINVAL/-ENOMEM).
 */
struct dmirror_device *dmirror_device_create(struct host *host,
					     unsigned long nr_pages);

/**
 * dmirror_device_destroy() - evict every page still in device memory
 * (dmirror_device_evict()), give the frames back and free the device.
 * Return: 0, or -EBUSY (nothing freed) when a page could not be evicted.
 */
int dmirror_device_destroy(struct dmirror_device *mdev);

/**
 * dmirror_device_evict() - migrate every page in @mdev's memory back to
 * system frames, whoever maps it (HMM_DMIRROR_RELEASE:
 * migrate_device_range()).
 * Return: pages evicted, or -ENOMEM.
 */
long dmirror_device_evict(struct dmirror_device *mdev);

/** dmirror_device_free_pages() - @mdev's frames not in use. */
unsigned long dmirror_device_free_pages(struct dmirror_device *mdev);

/**
 * dmirror_set_device() - let @dmirror migrate into @mdev's memory (one
 * device per mirror, set before any migration; the device outlives the
 * mirror).  Its notifier then skips MMU_NOTIFY_MIGRATE invalidations
 * whose owner is @mdev.
 */
void dmirror_set_device(struct dmirror *dmirror, struct dmirror_device *mdev);

/**
 * dmirror_migrate_to_device() - migrate [@addr, @addr + @npages pages) of
 * the mirrored range into device memory and map it in the device's table
 * (HMM_DMIRROR_MIGRATE_TO_DEV).  Holes and zero pages of anonymous memory
 * get a fresh zeroed device page; shared memory cannot move.
 * @cpages: device pages the device maps in the range afterwards.
 * Return: 0; -ENOENT when some page of the range did not end up in device
 * memory (a shared mapping, device memory full, a busy page, a page in
 * another device's memory); -EINVAL for a bad argument, a hole in the
 * VMAs or a VMA without read permission (as test_hmm); -EFAULT for an
 * exited mm.
 */
int dmirror_migrate_to_device(struct dmirror *dmirror, unsigned long addr,
			      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_migrate_to_system() - migrate the range's pages in @dmirror's
 * device memory back to system frames (HMM_DMIRROR_MIGRATE_TO_SYS).
 * @cpages: pages migrated.
 * Return: 0, -EINVAL, -EFAULT, -ENOMEM.
 */
int dmirror_migrate_to_system(struct dmirror *dmirror, unsigned long addr,
			      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_exclusive() - take exclusive (atomic) device access to the
 * range (make_device_exclusive_range(); HMM_DMIRROR_EXCLUSIVE) and map
 * it in the device's table.
 * @cpages: pages the device holds exclusively.
 * Return: 0, -EBUSY when some page could not be made exclusive, -EINVAL,
 * -EFAULT, -ENOMEM.
 */
int dmirror_exclusive(struct dmirror *dmirror, unsigned long addr,
		      unsigned long npages, unsigned long *cpages);

/**
 * dmirror_check_exclusive() - HMM_DMIRROR_CHECK_EXCLUSIVE.
 * Return: 0 when the device holds no page of the range exclusively any
 * more, -EPERM when it still does, -EINVAL.
 */
int dmirror_check_exclusive(struct dmirror *dmirror, unsigned long addr,
			    unsigned long npages);

#endif /* MMULAB_HMM_H */
