/* SPDX-License-Identifier: MIT */
/*
 * KSM's two "trees": chained hash tables keyed by a 64-bit hash of a
 * page's contents (mm/ksm.c), where the kernel uses red-black trees keyed
 * by the contents.  An entry embeds its list_head link and its u64 key;
 * the table finds the key from the link by their offsets.
 */
#ifndef MMULAB_MM_KSM_HTABLE_H
#define MMULAB_MM_KSM_HTABLE_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <mmulab/compiler.h>
#include <mmulab/list.h>

/* A chained hash table that doubles when its load passes two. */
struct ksm_htable {
	struct list_head *buckets;
	unsigned int bits;
	unsigned long nr;
};

static inline int htable_init(struct ksm_htable *t, unsigned int bits)
{
	t->buckets = malloc(sizeof(*t->buckets) << bits);
	if (!t->buckets)
		return -ENOMEM;
	t->bits = bits;
	t->nr = 0;
	for (unsigned long i = 0; i < 1UL << bits; i++)
		INIT_LIST_HEAD(&t->buckets[i]);
	return 0;
}

static inline struct list_head *htable_bucket(struct ksm_htable *t, u64 key)
{
	return &t->buckets[key & ((1UL << t->bits) - 1)];
}

/* Rehash into twice the buckets; on ENOMEM keep the longer chains. */
static inline void htable_grow(struct ksm_htable *t, size_t link_offset,
			size_t key_offset)
{
	struct ksm_htable big;

	if (htable_init(&big, t->bits + 1))
		return;
	for (unsigned long i = 0; i < 1UL << t->bits; i++) {
		struct list_head *pos, *n;

		for (pos = t->buckets[i].next; pos != &t->buckets[i]; pos = n) {
			u64 key = *(u64 *)((char *)pos - link_offset +
					   key_offset);

			n = pos->next;
			list_add_tail(pos, htable_bucket(&big, key));
		}
	}
	big.nr = t->nr;
	free(t->buckets);
	*t = big;
}

static inline void htable_add(struct ksm_htable *t, struct list_head *link, u64 key,
		       size_t link_offset, size_t key_offset)
{
	if (t->nr >= 2UL << t->bits)
		htable_grow(t, link_offset, key_offset);
	list_add_tail(link, htable_bucket(t, key));
	t->nr++;
}

static inline void htable_del(struct ksm_htable *t, struct list_head *link)
{
	list_del_init(link);
	t->nr--;
}

#endif /* MMULAB_MM_KSM_HTABLE_H */
