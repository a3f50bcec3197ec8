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
 * @peers_lost: importer processes detached because they died or did not
 *	acknowledge within their timeout (xpmem_attach_remote()).
 * @quarantined: frames held for such a peer, which might still map them.
 * @unquarantined: of those, frames let go once the peer was known gone.
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
	unsigned long peers_lost;
	unsigned long quarantined;
	unsigned long unquarantined;
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

/*
 * The importer as a second OS process.  The host must have been created
 * with shared_frames (its frame contents in a memfd).  The exporter's
 * process keeps every page table and the notifier; the importer process
 * maps the memfd and reaches a frame only through a PFN the exporter
 * granted it.  Messages are struct xpmem_msg, one per datagram-sized
 * write on a SOCK_SEQPACKET Unix socket (docs/xpmem.md):
 *
 *  exporter -> importer: ATTACH (the memfd rides along as SCM_RIGHTS),
 *    ANSWER (to a FAULT), INVALIDATE (drop [a0, a1) of page indexes and
 *    ACK it), DETACH (drop everything, unmap, answer DETACH, exit).
 *  importer -> exporter: FAULT (page a0, write or not), ACK (seq of the
 *    INVALIDATE), DETACH (its mappings are gone, a0 = its accesses).
 */

/** enum xpmem_msg_type - the message types of the peer protocol. */
enum xpmem_msg_type {
	XPMEM_MSG_ATTACH = 1,
	XPMEM_MSG_FAULT,
	XPMEM_MSG_ANSWER,
	XPMEM_MSG_INVALIDATE,
	XPMEM_MSG_ACK,
	XPMEM_MSG_DETACH,
};

/**
 * struct xpmem_msg - one message of the peer protocol.
 * @type: enum xpmem_msg_type.
 * @write: FAULT: a store; ANSWER: the PFN may be written.
 * @seq: INVALIDATE/ACK: the invalidation's number; ATTACH: the segment's
 *	start address in the exporter.
 * @a0: ATTACH: segment pages; FAULT: page index; ANSWER: PFN;
 *	INVALIDATE: first page index; DETACH from the importer: accesses.
 * @a1: ATTACH: frames of the memfd; ANSWER: 0 or -errno; INVALIDATE:
 *	page index past the last.
 */
struct xpmem_msg {
	u32 type;
	u32 write;
	u64 seq;
	u64 a0;
	u64 a1;
};

/* How long the exporter waits for a peer's answer before it detaches it. */
#define XPMEM_PEER_TIMEOUT_MS 2000

/**
 * xpmem_attach_remote() - attach @seg for an importer process at the
 * other end of @sock: sends it ATTACH with the host's frame memfd and
 * starts the attachment's receiving and faulting tasks.  An invalidation
 * waits for the peer's ACK at most @timeout_ms; a peer that does not
 * answer in time, or whose socket closes, is detached: its granted
 * mappings are counted as dropped, their frames held (quarantined) until
 * the peer is known gone (its pidfd reports its exit, or without @pid
 * its socket closed), and the event is counted and logged.  Free-running
 * runs only: a peer process is outside the deterministic scheduler.
 * @seg: the segment.
 * @sock: a connected SOCK_SEQPACKET socket; the attachment owns it from
 *	now on, also on error.
 * @pid: the importer's process id (for its pidfd), or 0 if unknown.  At
 *	detach, a peer that has not gone within the timeout is killed.
 * @timeout_ms: the timeout; 0 for XPMEM_PEER_TIMEOUT_MS.
 * Return: the attachment (xpmem_detach() ends it), or ERR_PTR(-EINVAL),
 * ERR_PTR(-EOPNOTSUPP) in a deterministic run or without shared frames,
 * ERR_PTR(-ENOSPC), ERR_PTR(-ENOENT), ERR_PTR(-ENOMEM), ERR_PTR(-EPIPE)
 * when the peer cannot be reached.
 */
struct xpmem_attachment *xpmem_attach_remote(struct xpmem_segment *seg,
					     int sock, int pid,
					     unsigned int timeout_ms);

/**
 * struct xpmem_peer_opts - what an importer process does.
 * @accesses: loads and stores it makes, then it serves invalidations
 *	until the exporter detaches it.
 * @seed: its pseudo-random stream (pages, offsets, loads or stores).
 * @write_pct: percentage of stores.
 * @ack_delay_ms: sleep this long before answering an INVALIDATE (to let
 *	a test catch it in the middle of one).
 */
struct xpmem_peer_opts {
	unsigned long accesses;
	unsigned int seed;
	unsigned int write_pct;
	unsigned int ack_delay_ms;
};

/**
 * struct xpmem_peer_result - what an importer process did.
 * @loads: loads through granted frames.
 * @stores: stores through granted frames.
 * @faults: FAULT requests answered with a PFN.
 * @refused: FAULT requests answered with an error.
 * @invalidations: INVALIDATE messages acknowledged.
 * @dropped: mappings dropped (by invalidations and the detach).
 * @bad_loads: loads that returned neither 0 nor a value naming the page
 *	loaded (another page's data: a stale PFN).
 */
struct xpmem_peer_result {
	unsigned long loads, stores, faults, refused, invalidations, dropped;
	unsigned long bad_loads;
};

/*
 * What the peer stores, in the workloads' format (tools/mmulab): a
 * magic, the exporter's virtual page number, a writer id, a count.  A
 * load must return 0 or a value with the magic and the page's number.
 */
#define XPMEM_VALUE_MAGIC 0xa5ULL
#define XPMEM_VALUE(vpn, id, n)                                               \
	(XPMEM_VALUE_MAGIC << 56 | ((u64)(vpn) & 0xffffffffffULL) << 16 |   \
	 ((u64)(id) & 0xff) << 8 | ((u64)(n) & 0xff))

/**
 * xpmem_peer_run() - be the importer process at the end of @sock: wait
 * for ATTACH, map the frames, make @o->accesses accesses (faulting each
 * missing page over the socket, answering every INVALIDATE after dropping
 * the range), then serve until DETACH or the socket closes.  Runs in its
 * own process, outside the model: it takes no model lock.
 * @sock: the socket; closed on return.
 * @o: what to do.
 * @res: filled in (may be NULL).
 * Return: 0 after a DETACH, -EPIPE if the exporter went away first,
 * -EPROTO on a malformed message, -errno of a failed mmap, -EILSEQ
 * after a clean DETACH if a load returned another page's value.
 */
int xpmem_peer_run(int sock, const struct xpmem_peer_opts *o,
		   struct xpmem_peer_result *res);

#endif /* MMULAB_XPMEM_H */
