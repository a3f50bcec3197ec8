// SPDX-License-Identifier: MIT
/*
 * KSM's stable side: page contents, stable nodes (one per KSM page),
 * their chains, and the stable table (mm/ksm.c has the rest of KSM).
 *
 * As in Linux 6.12, a KSM page is shared by at most max_page_sharing
 * mappings (256 by default): the rmap walks of a KSM page, which reclaim,
 * migration and compaction make, visit every mapping.  When every KSM
 * page with some contents is full, the next pages with those contents
 * pair up in the unstable table and make another KSM page, which joins
 * the full ones in a chain (Linux's stable_node chain and its dups,
 * counted in ksm_stats.stable_node_chains and stable_node_dups).  The
 * model keeps the dups of a chain as nodes of the hash table under the
 * same key, linked to their struct ksm_stable_chain; Linux hangs them
 * off one chain node in its red-black tree.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ksm_internal.h"

/* ---------------------------------------------------------------------
 * Page contents
 */

u64 ksm_calc_checksum(struct page *page)
{
	u64 buf[PAGE_SIZE / 8];

	if (!page_address(page)) {
		u64 tag = page_read_u64(page, 0);

		return XXH64(&tag, sizeof(tag), 0);
	}
	page_copy_to(page, 0, buf, PAGE_SIZE);
	return XXH64(buf, PAGE_SIZE, 0);
}

bool ksm_pages_identical(struct page *a, struct page *b)
{
	if (!page_address(a))
		return page_read_u64(a, 0) == page_read_u64(b, 0);
	for (unsigned long off = 0; off < PAGE_SIZE; off += 8) {
		if (page_read_u64(a, off) != page_read_u64(b, off))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Stable nodes and KSM pages
 */

struct ksm_stable_node *page_stable_node(struct page *page)
{
	unsigned long mapping = (unsigned long)page_mapping_raw(page);

	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_KSM)
		return NULL;
	return (struct ksm_stable_node *)(mapping & ~PAGE_MAPPING_FLAGS);
}

/*
 * The node's KSM page, with a reference for the caller; NULL if the node
 * is stale.  The reference is taken by frame number, so the frame may
 * belong to someone else by now: its flags are read with acquire (pairing
 * with the publication of a frame's first reference, as migration does)
 * before ->mapping is trusted to say whose it is.
 */
struct page *get_ksm_page(struct ksm *ksm, struct ksm_stable_node *node)
{
	struct page *kpage;
	unsigned long flags;

	down_read(&ksm->rmap_sem);
	kpage = node->kpage;
	if (kpage && !get_page_unless_zero(kpage))
		kpage = NULL;
	up_read(&ksm->rmap_sem);
	if (!kpage)
		return NULL;
	flags = smp_load_acquire(&kpage->flags.counter);
	if ((flags & (1UL << PG_pgtable)) || page_stable_node(kpage) != node) {
		put_page(kpage);
		return NULL;
	}
	return kpage;
}

/*
 * The node's KSM page, referenced and locked (ksm_get_folio(node,
 * KSM_GET_FOLIO_LOCK)); NULL if the node is stale.  A migration holds it
 * locked across its two walks of the node's items: an item taken off
 * between them would leave its migration entry behind.  The page may
 * have moved while we waited: then we look the new one up.
 */
struct page *get_ksm_page_locked(struct ksm *ksm,
					struct ksm_stable_node *node)
{
	struct page *kpage;

	while ((kpage = get_ksm_page(ksm, node))) {
		lock_page(kpage);
		if (page_stable_node(kpage) == node)
			return kpage;
		unlock_page(kpage);
		put_page(kpage);
	}
	return NULL;
}

/* Add @item, merged into @node's page, to its list; rmap_sem held. */
static void __stable_tree_append(struct ksm *ksm, struct ksm_rmap_item *item,
				 struct ksm_stable_node *node,
				 struct anon_vma *av)
{
	get_anon_vma(av);
	item->anon_vma = av;
	item->head = node;
	item->state = ITEM_STABLE;
	list_add_tail(&item->node_link, &node->items);
	if (node->nr_items++)
		ksm->pages_sharing++;
	else
		ksm->pages_shared++;
}

void stable_tree_append(struct ksm *ksm, struct ksm_rmap_item *item,
			       struct ksm_stable_node *node,
			       struct anon_vma *av)
{
	down_write(&ksm->rmap_sem);
	__stable_tree_append(ksm, item, node, av);
	up_write(&ksm->rmap_sem);
}

/*
 * @page, write-protected and locked, becomes @node's KSM page, and @item
 * its first mapping, in one step for rmap walkers: from now on the page's
 * mappings are found through the node, and this one is on its list.
 */
void stable_node_set_page(struct ksm *ksm, struct ksm_stable_node *node,
				 struct page *page, struct ksm_rmap_item *item,
				 struct anon_vma *av)
{
	down_write(&ksm->rmap_sem);
	node->kpage = page;
	WRITE_ONCE(page->mapping,
		   (void *)((unsigned long)node | PAGE_MAPPING_KSM));
	SetPageFlag(page, PG_ksm);
	/* Its only copy of the data now; keep it from looking clean. */
	SetPageFlag(page, PG_dirty);
	__stable_tree_append(ksm, item, node, av);
	up_write(&ksm->rmap_sem);
}

struct ksm_stable_node *stable_node_alloc(struct ksm *ksm)
{
	struct ksm_stable_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	INIT_LIST_HEAD(&node->hash_node);
	INIT_LIST_HEAD(&node->items);
	INIT_LIST_HEAD(&node->chain_link);
	ksm->stable_nodes++;
	return node;
}

/*
 * Take @node off its chain.  A chain left with one dup is no chain: that
 * dup becomes a plain stable node again (Linux does this lazily, in
 * chain_prune() when a search next walks the chain; the counters end the
 * same).
 */
static void stable_chain_del(struct ksm *ksm, struct ksm_stable_node *node)
{
	struct ksm_stable_chain *chain = node->chain;
	struct ksm_stable_node *last;

	list_del_init(&node->chain_link);
	node->chain = NULL;
	ksm->stable_node_dups--;
	if (--chain->nr_dups > 1)
		return;
	last = list_first_entry(&chain->dups, struct ksm_stable_node,
				chain_link);
	list_del_init(&last->chain_link);
	last->chain = NULL;
	ksm->stable_node_dups--;
	ksm->stable_node_chains--;
	free(chain);
}

void stable_node_free(struct ksm *ksm, struct ksm_stable_node *node)
{
	if (node->chain)
		stable_chain_del(ksm, node);
	ksm->stable_nodes--;
	free(node);
}

/*
 * Free @node if it is stale: its page is gone.  Its items (mappings that
 * went away with the page) go back to volatile.  Staleness cannot be
 * undone: nobody holds the freed page to hand it back, and a migration
 * holds a reference on the page it moves, so a node being moved is alive.
 */
void stable_node_prune(struct ksm *ksm, struct ksm_stable_node *node)
{
	struct page *kpage = get_ksm_page(ksm, node);
	struct ksm_rmap_item *item, *n;

	if (kpage) {
		put_page(kpage);
		return;
	}
	down_write(&ksm->rmap_sem);
	list_for_each_entry_safe(item, n, &node->items, node_link) {
		list_del_init(&item->node_link);
		if (--node->nr_items)
			ksm->pages_sharing--;
		else
			ksm->pages_shared--;
		put_anon_vma(item->anon_vma);
		item->anon_vma = NULL;
		item->head = NULL;
		item->state = ITEM_VOLATILE;
	}
	node->kpage = NULL;
	up_write(&ksm->rmap_sem);
	htable_del(&ksm->stable, &node->hash_node);
	stable_node_free(ksm, node);
}

/* At the start of a pass: drop the nodes whose pages are gone. */
void stable_tree_prune(struct ksm *ksm)
{
	struct ksm_htable *t = &ksm->stable;

	for (unsigned long i = 0; i < 1UL << t->bits; i++) {
		struct ksm_stable_node *node, *n;

		list_for_each_entry_safe(node, n, &t->buckets[i], hash_node)
			stable_node_prune(ksm, node);
	}
}


static void stable_add(struct ksm *ksm, struct ksm_stable_node *node)
{
	htable_add(&ksm->stable, &node->hash_node, node->checksum,
		   offsetof(struct ksm_stable_node, hash_node),
		   offsetof(struct ksm_stable_node, checksum));
}

/*
 * @node, a new KSM page @kpage, becomes a dup of the chain of KSM pages
 * with the same contents, making one of the node it found if that one is
 * alone (stable_tree_insert()'s chain_append in Linux 6.12).  A node is
 * made for contents that already have one only when every such node was
 * full.  Return: false if no memory for a new chain (@node stays alone).
 */
static bool stable_chain_add(struct ksm *ksm, struct ksm_stable_node *node,
			     struct page *kpage)
{
	struct ksm_stable_node *dup;
	struct ksm_stable_chain *chain;

	list_for_each_entry(dup, htable_bucket(&ksm->stable, node->checksum),
			    hash_node) {
		struct page *page;
		bool same;

		if (dup == node || dup->checksum != node->checksum)
			continue;
		page = get_ksm_page(ksm, dup);
		same = page && ksm_pages_identical(kpage, page);
		if (page)
			put_page(page);
		if (same)
			break;
	}
	if (&dup->hash_node == htable_bucket(&ksm->stable, node->checksum))
		return true;
	chain = dup->chain;
	if (!chain) {
		chain = calloc(1, sizeof(*chain));
		if (!chain)
			return false;
		INIT_LIST_HEAD(&chain->dups);
		list_add_tail(&dup->chain_link, &chain->dups);
		dup->chain = chain;
		chain->nr_dups = 1;
		ksm->stable_node_chains++;
		ksm->stable_node_dups++;
	}
	list_add_tail(&node->chain_link, &chain->dups);
	node->chain = chain;
	chain->nr_dups++;
	ksm->stable_node_dups++;
	return true;
}

/*
 * File @node, whose KSM page @kpage was just made, under its contents,
 * and in the chain of the full KSM pages with the same contents, if any.
 */
void stable_tree_insert(struct ksm *ksm, struct ksm_stable_node *node,
			struct page *kpage)
{
	node->checksum = ksm_calc_checksum(kpage);
	stable_chain_add(ksm, node, kpage);
	stable_add(ksm, node);
}

/*
 * A KSM page with the contents of @page (@page itself if it is one), with
 * a reference, and its node; NULL if there is none with room for another
 * mapping (is_page_sharing_candidate()).  Then the page waits in the
 * unstable table for a twin, and the two make a new KSM page that joins
 * the full one's chain.  A KSM page forked into another mm is its own
 * node, full or not: Linux lets a fork go over the limit too.  Linux picks
 * the fullest dup with room, the model the first it finds.
 */
struct page *stable_tree_search(struct ksm *ksm, struct page *page,
				u64 checksum, struct ksm_stable_node **nodep)
{
	struct ksm_stable_node *node, *n;

	if (PageKsm(page)) {
		down_read(&ksm->rmap_sem);
		node = page_stable_node(page);
		up_read(&ksm->rmap_sem);
		if (!node)
			return NULL;
		get_page(page);
		*nodep = node;
		return page;
	}
	list_for_each_entry_safe(node, n, htable_bucket(&ksm->stable, checksum),
				 hash_node) {
		struct page *kpage;

		/* With no mapping left, its page is about to go. */
		if (node->checksum != checksum || !node->nr_items ||
		    node->nr_items >= ksm->max_page_sharing)
			continue;
		kpage = get_ksm_page(ksm, node);
		if (!kpage) {
			stable_node_prune(ksm, node);
			continue;
		}
		if (ksm_pages_identical(page, kpage)) {
			*nodep = node;
			return kpage;
		}
		put_page(kpage);
	}
	return NULL;
}
