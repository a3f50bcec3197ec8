/* SPDX-License-Identifier: MIT */
/*
 * KSM's state, shared by mm/ksm.c (the scanner, merging, unmerging,
 * registration) and mm/ksm_stable.c (page contents, stable nodes, their
 * chains and the stable table).  The locking is described in mm/ksm.c.
 */
#ifndef MMULAB_MM_KSM_INTERNAL_H
#define MMULAB_MM_KSM_INTERNAL_H

#include "ksm_htable.h"
#include "swap.h"
#include "swapops.h"

#define KSM_DEFAULT_MAX_PAGE_SHARING 256

/**
 * struct ksm_stable_chain - KSM pages with the same contents, each shared
 * up to max_page_sharing times (Linux's stable_node chain; its nodes are
 * the chain's "dups").
 * @dups: the nodes, by their @chain_link.
 * @nr_dups: length of @dups; a chain has at least two.
 */
struct ksm_stable_chain {
	struct list_head dups;
	unsigned long nr_dups;
};

/**
 * struct ksm_stable_node - one KSM page.
 * @hash_node: link in ksm->stable.
 * @items: rmap_items of the mappings that were merged into it.
 * @kpage: the KSM page.  No reference: once its last mapping goes the
 *	frame is freed, maybe reused, and the node is stale.
 * @checksum: hash of its contents, its key in ksm->stable.
 * @nr_items: length of @items.
 * @chain: the chain it is a dup of, or NULL.
 * @chain_link: in @chain->dups.
 */
struct ksm_stable_node {
	struct list_head hash_node;
	struct list_head items;
	struct page *kpage;
	u64 checksum;
	unsigned long nr_items;
	struct ksm_stable_chain *chain;
	struct list_head chain_link;
};

enum rmap_item_state {
	ITEM_VOLATILE,	/* in no table */
	ITEM_UNSTABLE,	/* in ksm->unstable, filed in pass @seqnr */
	ITEM_STABLE,	/* on @head's list */
};

/**
 * struct ksm_rmap_item - a page KSM has seen at @address of @mm.
 * @link: in its slot's list, which is sorted by address.
 * @mm: the address space (kept alive by the slot's mmgrab()).
 * @address: page-aligned address.
 * @oldchecksum: contents hash at the last scan.
 * @state: see enum rmap_item_state.
 * @node_link: in a bucket of ksm->unstable, or in @head->items.
 * @seqnr: the pass that filed it in ksm->unstable.
 * @head: its stable node.
 * @anon_vma: where rmap_walk_ksm() looks for its VMAs (a reference).
 */
struct ksm_rmap_item {
	struct list_head link;
	struct mm_struct *mm;
	unsigned long address;
	u64 oldchecksum;
	enum rmap_item_state state;
	struct list_head node_link;
	unsigned long seqnr;
	struct ksm_stable_node *head;
	struct anon_vma *anon_vma;
};

/**
 * struct ksm_mm_slot - an mm registered with KSM (MMF_VM_MERGEABLE).
 * @link: in ksm->mm_list.
 * @mm: the mm, kept by mmgrab().
 * @rmap_list: its rmap_items by address.
 */
struct ksm_mm_slot {
	struct list_head link;
	struct mm_struct *mm;
	struct list_head rmap_list;
};

/**
 * struct ksm - KSM's state for one host.
 * @host: the host.
 * @run_lock: serialises ksm_set_run().
 * @run: current mode.
 * @ksmd: the scanner thread while @run is KSM_RUN_MERGE.
 * @pages_to_scan, @sleep_ms: ksmd's batch size and pause.
 * @max_page_sharing: mappings one KSM page may have before another with
 *	the same contents is made (sysfs max_page_sharing).
 * @lock: the scanner's mutex; see the locking comment above.
 * @mm_list_lock: protects @mm_list.
 * @mm_list: registered mms, in scan order.
 * @rmap_sem: stable nodes' lists and KSM pages' mappings.
 * @stable, @unstable: the two tables.
 * @scan_slot: the slot being scanned, NULL between passes.
 * @scan_address: next address to look at in it.
 * @scan_pos: the item before that address in its list.
 * @seqnr: passes started; names the current unstable table.
 * @pages_shared ... @stable_nodes: counters (struct ksm_stats).
 */
struct ksm {
	struct host *host;
	struct mutex run_lock;
	enum ksm_run_mode run;
	struct task_struct *ksmd;
	unsigned int pages_to_scan;
	unsigned int sleep_ms;
	unsigned long max_page_sharing;

	struct mutex lock;
	spinlock_t mm_list_lock;
	struct list_head mm_list;
	struct rw_semaphore rmap_sem;
	struct ksm_htable stable;
	struct ksm_htable unstable;

	struct ksm_mm_slot *scan_slot;
	unsigned long scan_address;
	struct list_head *scan_pos;
	unsigned long seqnr;

	unsigned long pages_shared;
	unsigned long pages_sharing;
	unsigned long pages_unshared;
	unsigned long rmap_items;
	unsigned long full_scans;
	unsigned long pages_scanned;
	unsigned long stable_nodes;
	unsigned long stable_node_chains;
	unsigned long stable_node_dups;
};

static inline struct ksm *mm_ksm(struct mm_struct *mm)
{
	return mm->host->ksm;
}

static inline bool ksm_test_exit(struct mm_struct *mm)
{
	return atomic_read(&mm->mm_users) == 0;
}

static inline bool mm_mergeable(struct mm_struct *mm)
{
	return atomic_long_read(&mm->flags) & (1L << MMF_VM_MERGEABLE);
}


/* mm/ksm_stable.c */
u64 ksm_calc_checksum(struct page *page);
bool ksm_pages_identical(struct page *a, struct page *b);
struct ksm_stable_node *page_stable_node(struct page *page);
struct page *get_ksm_page(struct ksm *ksm, struct ksm_stable_node *node);
struct page *get_ksm_page_locked(struct ksm *ksm,
				 struct ksm_stable_node *node);
void stable_tree_append(struct ksm *ksm, struct ksm_rmap_item *item,
			struct ksm_stable_node *node, struct anon_vma *av);
void stable_node_set_page(struct ksm *ksm, struct ksm_stable_node *node,
			  struct page *page, struct ksm_rmap_item *item,
			  struct anon_vma *av);
struct ksm_stable_node *stable_node_alloc(struct ksm *ksm);
void stable_node_free(struct ksm *ksm, struct ksm_stable_node *node);
void stable_node_prune(struct ksm *ksm, struct ksm_stable_node *node);
void stable_tree_prune(struct ksm *ksm);
void stable_tree_insert(struct ksm *ksm, struct ksm_stable_node *node,
			struct page *kpage);
struct page *stable_tree_search(struct ksm *ksm, struct page *page,
				u64 checksum, struct ksm_stable_node **nodep);

#endif /* MMULAB_MM_KSM_INTERNAL_H */
