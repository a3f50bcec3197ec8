/* SPDX-License-Identifier: MIT */
/*
 * Interval tree: a balanced binary search tree of closed intervals
 * [start, last], ordered by start, each node augmented with the largest
 * @last in its subtree, so that every node overlapping a query interval is
 * found in O(log n + k).  Used for interval notifiers, VMAs and (in KVM)
 * the HVA -> memslot lookup.
 *
 * The tree does no locking; its users serialise changes.
 */
#ifndef MMULAB_INTERVAL_TREE_H
#define MMULAB_INTERVAL_TREE_H

#include <mmulab/compiler.h>

/**
 * struct interval_tree_node - one interval; embed it in your object.
 * @start: first value covered.
 * @last: last value covered (inclusive; @last >= @start).
 * @__subtree_last: largest @last in the subtree rooted here (private).
 * @__left, @__right, @__parent, @__height: tree links (private).
 */
struct interval_tree_node {
	unsigned long start;
	unsigned long last;
	unsigned long __subtree_last;
	struct interval_tree_node *__left, *__right, *__parent;
	int __height;
};

/**
 * struct interval_tree_root - a tree; zero-initialise or use
 * INTERVAL_TREE_ROOT.
 * @node: root node (private).
 * @count: number of nodes in the tree.
 */
struct interval_tree_root {
	struct interval_tree_node *node;
	unsigned long count;
};

#define INTERVAL_TREE_ROOT { NULL, 0 }

/**
 * interval_tree_insert() - add @node (with @start and @last set) to @root.
 * Nodes with equal @start are kept in insertion order.
 */
void interval_tree_insert(struct interval_tree_node *node,
			  struct interval_tree_root *root);

/** interval_tree_remove() - remove @node, which is in @root. */
void interval_tree_remove(struct interval_tree_node *node,
			  struct interval_tree_root *root);

/**
 * interval_tree_iter_first() - the node with the lowest @start among those
 * overlapping [@start, @last], or NULL.
 */
struct interval_tree_node *
interval_tree_iter_first(struct interval_tree_root *root, unsigned long start,
			 unsigned long last);

/**
 * interval_tree_iter_next() - the next node after @node, in start order,
 * overlapping [@start, @last], or NULL.
 */
struct interval_tree_node *
interval_tree_iter_next(struct interval_tree_node *node, unsigned long start,
			unsigned long last);

/** interval_tree_first() - the node with the lowest start, or NULL. */
struct interval_tree_node *
interval_tree_first(struct interval_tree_root *root);

/** interval_tree_next() - in-order successor of @node, or NULL. */
struct interval_tree_node *interval_tree_next(struct interval_tree_node *node);

/** interval_tree_prev() - in-order predecessor of @node, or NULL. */
struct interval_tree_node *interval_tree_prev(struct interval_tree_node *node);

/** interval_tree_empty() - true when @root has no nodes. */
static inline bool interval_tree_empty(const struct interval_tree_root *root)
{
	return !root->node;
}

#endif /* MMULAB_INTERVAL_TREE_H */
