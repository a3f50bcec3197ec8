/* SPDX-License-Identifier: MIT */
/*
 * An XPMEM-style cross-address-space attach: an exporter makes a range of
 * its address space available as a segment; importers (other address
 * spaces of the same host) attach it and reach the exporter's pages
 * through a mapping table of their own, filled by remote faults that go
 * back through GUP on the exporter's mm.
 *
 * Coherence is the exporter's notifier's job: it sends each importer a
 * blocking invalidation message and waits for every acknowledgement.  An
 * importer's service task drops the mappings of the range, then
 * acknowledges.  With XPMEM_INVAL_START the message goes out in
 * invalidate_range_start (correct); with XPMEM_INVAL_END_ONLY it goes out
 * only in invalidate_range_end, as upstream XPMEM ships: between start
 * and end importers still map pages the primary MMU may already have
 * freed.  The exporter's release detaches every importer.
 *
 * Deliberate difference from XPMEM: an importer's mappings live in the
 * attachment's table, not in its own page tables (the model has no
 * PFN-mapped VMAs), and the handle is the segment itself.
 */
#ifndef MMULAB_XPMEM_H
#define MMULAB_XPMEM_H

#include <mmulab/mm.h>

struct xpmem_segment;
struct xpmem_attachment;

#define XPMEM_MAX_ATTACH 8
#define XPMEM_MAX_PAGES 4096

/** enum xpmem_variant - where the exporter sends its invalidations. */
enum xpmem_variant {
	XPMEM_INVAL_START,
	XPMEM_INVAL_END_ONLY,
};

/**
 * struct xpmem_stat - counters of a segment, all importers together.
 * @attaches: xpmem_attach() calls that succeeded.
 * @accesses: importer loads and stores.
 * @faults: remote faults (through the exporter's GUP).
 * @fills_dropped: faults whose walk raced an invalidation.
 * @invalidations: invalidations the exporter's notifier sent out.
 * @messages: invalidation messages sent (one per importer each).
 * @acks: acknowledgements received.
 * @dropped: importer mappings dropped (by messages, release, detach).
 * @released: 1 once the exporter's release detached everyone.
 */
struct xpmem_stat {
	unsigned long attaches;
	unsigned long accesses;
	unsigned long faults;
	unsigned long fills_dropped;
	unsigned long invalidations;
	unsigned long messages;
	unsigned long acks;
	unsigned long dropped;
	unsigned long released;
};

/**
 * xpmem_make() - export [@vaddr, @vaddr + @size) of @mm.
 * @mm: the exporter; the caller holds a user reference and no mmap_lock.
 * @vaddr: page-aligned start.
 * @size: page-aligned length, at most XPMEM_MAX_PAGES pages.
 * @variant: where invalidations are sent.
 * Return: the segment (its handle), or ERR_PTR(-EINVAL/-ENOMEM) or
 * mmu_notifier_register()'s error.
 */
struct xpmem_segment *xpmem_make(struct mm_struct *mm, unsigned long vaddr,
				 unsigned long size,
				 enum xpmem_variant variant);

/**
 * xpmem_remove() - detach every importer, unregister the notifier and
 * free the segment.  Its attachments must not be used afterwards.
 * @seg: the segment, or NULL.
 */
void xpmem_remove(struct xpmem_segment *seg);

/**
 * xpmem_attach() - attach @seg for @importer: starts the importer's
 * service task, which answers the exporter's invalidation messages.
 * @seg: the segment.
 * @importer: the importing address space (recorded, not referenced).
 * Return: the attachment, or ERR_PTR(-EINVAL) for a bad argument,
 * ERR_PTR(-ENOSPC) past XPMEM_MAX_ATTACH, ERR_PTR(-ENOENT) once the
 * exporter is gone, ERR_PTR(-ENOMEM).
 */
struct xpmem_attachment *xpmem_attach(struct xpmem_segment *seg,
				      struct mm_struct *importer);

/**
 * xpmem_detach() - drop the attachment's mappings and stop its service
 * task.
 * @att: the attachment, or NULL.
 */
void xpmem_detach(struct xpmem_attachment *att);

/**
 * xpmem_read_u64() - importer load of 8 bytes at @offset into the
 * segment, through its mappings, faulting remotely on a miss.
 * @att: the attachment.
 * @offset: 8-aligned, inside the segment.
 * @val: where the value goes.
 * Return: 0; -EINVAL; -ENOENT once detached; -EFAULT when the exporter
 * maps nothing there (or read-only, for a store); -ENOMEM; -EIO once the
 * checker found a violation.
 */
int xpmem_read_u64(struct xpmem_attachment *att, unsigned long offset,
		   u64 *val);

/**
 * xpmem_write_u64() - importer store; as xpmem_read_u64().
 * @att: the attachment.
 * @offset: 8-aligned, inside the segment.
 * @val: the value.
 * Return: as xpmem_read_u64().
 */
int xpmem_write_u64(struct xpmem_attachment *att, unsigned long offset,
		    u64 val);

/**
 * xpmem_get_stat() - snapshot of the segment's counters.
 * @seg: the segment.
 * @out: filled in.
 */
void xpmem_get_stat(struct xpmem_segment *seg, struct xpmem_stat *out);

/**
 * xpmem_observe_stat() - xpmem_get_stat() without the segment's and the
 * attachments' locks, for an observer that must not take one (a
 * det_set_observer() sampler).  Only where no task runs beside the caller
 * (a deterministic run); elsewhere use xpmem_get_stat().
 * @seg: the segment.
 * @out: filled in.
 */
void xpmem_observe_stat(struct xpmem_segment *seg, struct xpmem_stat *out);

#endif /* MMULAB_XPMEM_H */
