/* SPDX-License-Identifier: MIT */
/*
 * The host churn generator: random primary-MMU operations on random spans
 * of a range, picked by weight.  The scenario language's churn workload
 * and mmulab stress both drive it; each supplies its random source, its
 * values and how it reports and counts.
 */
#ifndef MMULAB_TOOLS_CHURN_H
#define MMULAB_TOOLS_CHURN_H

#include "mmulab.h"

/*
 * The operations.  The first eight are the scenario language's churn
 * weights, in the order of its TH_MUNMAP..TH_RECLAIM arguments.
 */
enum churn_op {
	CHURN_MUNMAP,	   /* munmap, then the caller's remap */
	CHURN_MPROTECT,	   /* read-only, then back to ->prot */
	CHURN_DONTNEED,	   /* MADV_DONTNEED */
	CHURN_FORK,	   /* fork; the child stores into its copy */
	CHURN_STORE,	   /* a host store */
	CHURN_MIGRATE,	   /* one page of the span to another frame */
	CHURN_KSM,	   /* a KSM scan (of ->ksm_zone marked mergeable) */
	CHURN_RECLAIM,	   /* host reclaim of ->reclaim_pages */
	CHURN_MAP_FIXED,   /* the caller's remap over what is mapped */
	CHURN_FORK_PARENT, /* fork; the parent stores while shared */
	CHURN_FREE,	   /* MADV_FREE */
	CHURN_UNMERGEABLE, /* MADV_UNMERGEABLE of ->ksm_zone */
	CHURN_COMPACT,	   /* compaction of the whole host */
	NR_CHURN
};

struct churn;

/**
 * struct churn_ops - what a user of the generator supplies.
 * @rand: the next pseudo-random number of @c's stream.
 * @note: @op is about to run on @c (name it, count it); may be NULL.
 * @check: @what at @addr returned @ret where @want was expected: report
 *	it; returns whether @ret == @want.  NULL: compare only.
 * @fault: a store was refused (-EFAULT); may be NULL.
 * @value: the word to store at @addr; @seq is churn_step()'s.
 * @remap: fresh memory over [@addr, +@len) (MAP_FIXED); returns @addr
 *	or a negative errno.
 */
struct churn_ops {
	u64 (*rand)(struct churn *c);
	void (*note)(struct churn *c, enum churn_op op);
	bool (*check)(struct churn *c, const char *what, u64 addr, long ret,
		      long want);
	void (*fault)(struct churn *c);
	u64 (*value)(struct churn *c, u64 addr, u64 seq);
	long (*remap)(struct churn *c, u64 addr, u64 len);
};

/**
 * struct churn - one churning task's setting.
 * @ops: its callbacks; @priv is theirs.
 * @host: the host (KSM, reclaim, migration, compaction).
 * @mm: the process churned.
 * @base: first address of the range; @npages its pages.
 * @span: pages per operation (1..@npages).
 * @weights: NR_CHURN relative weights, not all 0.
 * @prot: the protection an mprotect round trip restores.
 * @store_off: byte offset of stores in the span's first page.
 * @scan_pages: pages a KSM scan visits; @reclaim_pages a reclaim's.
 * @ksm_zone: start of a range to mark mergeable before each scan and to
 *	unmerge; @ksm_len its length (0: none).
 */
struct churn {
	const struct churn_ops *ops;
	void *priv;
	struct host *host;
	struct mm_struct *mm;
	u64 base;
	unsigned long npages, span;
	const unsigned int *weights;
	int prot;
	unsigned long store_off;
	unsigned long scan_pages, reclaim_pages;
	u64 ksm_zone, ksm_len;
};

/**
 * churn_op_name() - what an operation is called (for watchdogs, logs).
 * @op: the operation.
 *
 * Return: a static string.
 */
const char *churn_op_name(enum churn_op op);

/**
 * churn_step() - one operation: a random span, then a weighted pick.
 * @c: the setting.
 * @seq: the caller's sequence number, passed to @c->ops->value.
 *
 * Draws the span's first page, then the operation, from @c->ops->rand
 * (a migration draws its page too), in that order.
 */
void churn_step(struct churn *c, u64 seq);

#endif /* MMULAB_TOOLS_CHURN_H */
