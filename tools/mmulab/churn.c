// SPDX-License-Identifier: MIT
/*
 * The host churn generator (churn.h): each operation is the primary-MMU
 * call sequence below, on the span [a, a + len) of the caller's range.
 * The errors an operation may meet (a hole another task left, a page
 * gone by the time it is migrated) are its own; every other result goes
 * to the caller's check.
 */
#include <mmulab/mm.h>

#include "churn.h"

/* Where one operation works: [@a, @a + @len), for churn_step()'s @seq. */
struct churn_span {
	u64 a, len, seq;
};

static bool check(struct churn *c, const char *what, u64 addr, long ret,
		  long want)
{
	if (!c->ops->check)
		return ret == want;
	return c->ops->check(c, what, addr, ret, want);
}

static void churn_map_fixed(struct churn *c, const struct churn_span *s)
{
	check(c, "mmap", s->a, c->ops->remap(c, s->a, s->len), (long)s->a);
}

static void churn_munmap(struct churn *c, const struct churn_span *s)
{
	if (check(c, "munmap", s->a, vm_munmap(c->mm, s->a, s->len), 0))
		churn_map_fixed(c, s);
}

static void churn_mprotect(struct churn *c, const struct churn_span *s)
{
	if (check(c, "mprotect", s->a,
		  do_mprotect(c->mm, s->a, s->len, PROT_READ), 0))
		check(c, "mprotect", s->a,
		      do_mprotect(c->mm, s->a, s->len, c->prot), 0);
}

static void churn_dontneed(struct churn *c, const struct churn_span *s)
{
	check(c, "madvise", s->a,
	      do_madvise(c->mm, s->a, s->len, MADV_DONTNEED), 0);
}

static void churn_free(struct churn *c, const struct churn_span *s)
{
	check(c, "madvise", s->a, do_madvise(c->mm, s->a, s->len, MADV_FREE),
	      0);
}

/*
 * A fork, and a store while the child shares the pages: by the child
 * (COW broken in the child only) or by the parent (broken in the parent,
 * under the secondary MMUs that map its pages).
 */
static void churn_fork_store(struct churn *c, const struct churn_span *s,
			     bool parent)
{
	struct mm_struct *child = dup_mm(c->mm);
	u64 at = s->a + c->store_off;
	int ret;

	if (!check(c, "fork", s->a, IS_ERR(child) ? PTR_ERR(child) : 0, 0))
		return;
	ret = cpu_write_u64(parent ? c->mm : child, at,
			    c->ops->value(c, at, s->seq));
	if (ret != -EFAULT)
		check(c, parent ? "store" : "child store", at, ret, 0);
	mmput(child);
}

static void churn_fork(struct churn *c, const struct churn_span *s)
{
	churn_fork_store(c, s, false);
}

static void churn_fork_parent(struct churn *c, const struct churn_span *s)
{
	churn_fork_store(c, s, true);
}

static void churn_store(struct churn *c, const struct churn_span *s)
{
	u64 at = s->a + c->store_off;
	int ret = cpu_write_u64(c->mm, at, c->ops->value(c, at, s->seq));

	if (ret != -EFAULT)
		check(c, "store", at, ret, 0);
	else if (c->ops->fault)
		c->ops->fault(c);
}

/*
 * Move one page of the span to another frame.  It may be gone by then,
 * or held (a fault's GUP reference), or the host may be full: only those.
 */
static void churn_migrate(struct churn *c, const struct churn_span *s)
{
	u64 a = s->a + c->ops->rand(c) % c->span * PAGE_SIZE;
	pte_t pte;
	int ret;

	if (follow_pte(c->mm, a, &pte) || !pte_present(pte) ||
	    is_zero_pfn(pte_pfn(pte)))
		return;
	ret = migrate_pfn(c->host, pte_pfn(pte), NULL);
	if (ret != -EBUSY && ret != -EINVAL && ret != -ENOMEM)
		check(c, "migrate", a, ret, 0);
}

static void churn_ksm(struct churn *c, const struct churn_span *s)
{
	if (c->ksm_len)
		do_madvise(c->mm, c->ksm_zone, c->ksm_len, MADV_MERGEABLE);
	check(c, "ksm_scan", s->a,
	      ksm_scan(c->host, c->scan_pages) < 0 ? -EINVAL : 0, 0);
}

static void churn_unmergeable(struct churn *c, const struct churn_span *s)
{
	(void)s;
	if (c->ksm_len)
		do_madvise(c->mm, c->ksm_zone, c->ksm_len, MADV_UNMERGEABLE);
}

/* Swap out (or drop) what is cold: its users refault it. */
static void churn_reclaim(struct churn *c, const struct churn_span *s)
{
	check(c, "reclaim", s->a,
	      host_reclaim(c->host, c->reclaim_pages) < 0 ? -EINVAL : 0, 0);
}

/* Move pages around under everyone. */
static void churn_compact(struct churn *c, const struct churn_span *s)
{
	(void)s;
	host_compact(c->host, 0, ~0UL, NULL);
}

static const struct {
	const char *name;
	void (*fn)(struct churn *c, const struct churn_span *s);
} churn_table[NR_CHURN] = {
	[CHURN_MUNMAP] = { "munmap", churn_munmap },
	[CHURN_MPROTECT] = { "mprotect", churn_mprotect },
	[CHURN_DONTNEED] = { "MADV_DONTNEED", churn_dontneed },
	[CHURN_FORK] = { "fork, child writes", churn_fork },
	[CHURN_STORE] = { "host write", churn_store },
	[CHURN_MIGRATE] = { "migrate", churn_migrate },
	[CHURN_KSM] = { "KSM scan", churn_ksm },
	[CHURN_RECLAIM] = { "reclaim", churn_reclaim },
	[CHURN_MAP_FIXED] = { "mmap MAP_FIXED", churn_map_fixed },
	[CHURN_FORK_PARENT] = { "fork, parent writes", churn_fork_parent },
	[CHURN_FREE] = { "MADV_FREE", churn_free },
	[CHURN_UNMERGEABLE] = { "MADV_UNMERGEABLE", churn_unmergeable },
	[CHURN_COMPACT] = { "compaction", churn_compact },
};

const char *churn_op_name(enum churn_op op)
{
	return op < NR_CHURN ? churn_table[op].name : "?";
}

/* The weighted pick: @r over the sum of the weights. */
static enum churn_op churn_pick(const unsigned int *weights, u64 r)
{
	unsigned int sum = 0, k;

	for (k = 0; k < NR_CHURN; k++)
		sum += weights[k];
	r %= sum;
	for (k = 0; r >= weights[k]; k++)
		r -= weights[k];
	return k;
}

void churn_step(struct churn *c, u64 seq)
{
	unsigned long first = c->ops->rand(c) % (c->npages - c->span + 1);
	struct churn_span s = { .a = c->base + first * PAGE_SIZE,
				.len = c->span * PAGE_SIZE, .seq = seq };
	enum churn_op op = churn_pick(c->weights, c->ops->rand(c));

	if (c->ops->note)
		c->ops->note(c, op);
	churn_table[op].fn(c, &s);
}
