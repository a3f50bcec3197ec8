/* SPDX-License-Identifier: MIT */
/*
 * The XPMEM-style driver's internal structures.
 *
 * Lock order: the exporter's mmap_lock > seg->lock > att->lock.  An
 * invalidation holds seg->lock while it waits for every importer's
 * acknowledgement; an importer's service task takes only att->lock, so it
 * can always answer.  A remote fault walks with no driver lock held, then
 * takes seg->lock and att->lock to install.
 */
#ifndef MMULAB_XPMEM_INTERNAL_H
#define MMULAB_XPMEM_INTERNAL_H

#include <mmulab/checker.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sync.h>
#include <mmulab/xpmem.h>

/* One importer mapping; @valid and @pfn stored with checker_poke(). */
struct xpmem_pte {
	unsigned long pfn;
	bool valid;
	bool writable;
};

/*
 * An attachment slot of a segment.  @table outlives the attachment (it is
 * freed with the segment), so the checker's lock-free query can always
 * read it; @att is NULL while the slot is free.
 */
struct xpmem_slot {
	struct xpmem_attachment *att;
	struct xpmem_pte *table;
};

struct xpmem_segment {
	struct mmu_notifier notifier;
	struct mm_struct *mm;
	struct host *host;
	unsigned long vaddr, npages;
	enum xpmem_variant variant;
	struct mutex lock; /* slots, seq, released, stats */
	atomic_t range_active;
	unsigned long seq;
	wait_queue_head_t wq; /* faults waiting for range_active == 0 */
	bool released;
	struct xpmem_slot slots[XPMEM_MAX_ATTACH];
	struct checker_secondary checker;
	struct xpmem_stat stat;
};

/*
 * The exporter's end of an importer process (xpmem_remote.c).  @rx reads
 * the socket (ACK, FAULT, DETACH, the close); @fx answers FAULTs, so a
 * fault that sleeps never keeps an ACK unread.  @quarantine holds the
 * PFNs (each with a page reference) a lost peer might still map, under
 * the attachment's lock.
 */
struct xpmem_remote {
	int sock, pidfd, pid;
	unsigned int timeout_ms;
	struct mutex tx_lock; /* one message at a time on @sock */
	atomic_t eof;	      /* the socket closed or failed */
	atomic_t gone;	      /* the peer process is known gone */
	atomic_t peer_detached; /* it answered DETACH: nothing mapped */
	atomic_t fault_pending; /* @fault_* hold a request for @fx */
	unsigned long fault_idx;
	bool fault_write;
	bool lost; /* detached by a timeout or its death (att->lock) */
	unsigned long *quarantine;
	unsigned long nr_quarantine;
	struct task_struct *rx, *fx;
};

/*
 * The importer's side.  The exporter posts a message (@inv_start,
 * @inv_end under @lock, then @req incremented); the service task drops
 * the range's mappings, then sets @done to @req.
 */
struct xpmem_attachment {
	struct xpmem_segment *seg;
	struct mm_struct *importer;
	unsigned int slot;
	struct mutex lock; /* the table, the message, @detached */
	struct xpmem_pte *table;
	unsigned long inv_start, inv_end;
	atomic_long_t req, done;
	atomic_t stop;
	wait_queue_head_t wq;
	bool detached;
	unsigned long dropped; /* mappings dropped */
	unsigned long accesses; /* loads and stores */
	struct task_struct *task;
	struct xpmem_remote *remote; /* NULL for an in-process importer */
};

/* xpmem_notify.c */
int xpmem_register_notifier(struct xpmem_segment *seg);
void xpmem_drop_range(struct xpmem_attachment *att, unsigned long start,
		      unsigned long end);
int xpmem_service(void *arg);
void xpmem_ack(struct xpmem_attachment *att, long req);
void xpmem_invalidate_all(struct xpmem_segment *seg);

/* xpmem.c */
int xpmem_fault(struct xpmem_attachment *att, unsigned long i, bool write);
struct xpmem_attachment *xpmem_attach_slot(struct xpmem_segment *seg,
					   struct mm_struct *importer,
					   struct xpmem_remote *remote);

/* xpmem_remote.c */
int xpmem_remote_start(struct xpmem_attachment *att);
int xpmem_remote_send(struct xpmem_attachment *att,
		      const struct xpmem_msg *m);
void xpmem_remote_answer(struct xpmem_attachment *att, unsigned long pfn,
			 bool write, long err);
bool xpmem_remote_wait_ack(struct xpmem_attachment *att, long want);
void xpmem_remote_lose(struct xpmem_attachment *att, const char *why);
void xpmem_remote_detach(struct xpmem_attachment *att);

/* mutants.c: XPMEM's protocol mutants (<mmulab/mutant.h>) */
void xpmem_answer_mutant_ack_before_drop(struct xpmem_attachment *att,
					 long req);

#endif /* MMULAB_XPMEM_INTERNAL_H */
