// SPDX-License-Identifier: MIT
/*
 * Interval tree as an AVL tree ordered by start, each node carrying the
 * largest `last` of its subtree.  Every update walks from the changed
 * position to the root, rebalancing and refreshing the augmentation, so
 * insert and remove are O(log n); a query for all k overlapping nodes is
 * O(log n + k log n) at worst.
 */
#include <mmulab/interval_tree.h>

typedef struct interval_tree_node node_t;

static int height(const node_t *n)
{
	return n ? n->__height : 0;
}

static void refresh(node_t *n)
{
	int hl = height(n->__left), hr = height(n->__right);
	unsigned long m = n->last;

	n->__height = 1 + (hl > hr ? hl : hr);
	if (n->__left && n->__left->__subtree_last > m)
		m = n->__left->__subtree_last;
	if (n->__right && n->__right->__subtree_last > m)
		m = n->__right->__subtree_last;
	n->__subtree_last = m;
}

/* Put @new where @old hangs below @parent (or at the root). */
static void relink(struct interval_tree_root *root, node_t *parent,
		   node_t *old, node_t *new)
{
	if (!parent)
		root->node = new;
	else if (parent->__left == old)
		parent->__left = new;
	else
		parent->__right = new;
	if (new)
		new->__parent = parent;
}

static node_t *rotate_left(struct interval_tree_root *root, node_t *x)
{
	node_t *y = x->__right;

	x->__right = y->__left;
	if (y->__left)
		y->__left->__parent = x;
	relink(root, x->__parent, x, y);
	y->__left = x;
	x->__parent = y;
	refresh(x);
	refresh(y);
	return y;
}

static node_t *rotate_right(struct interval_tree_root *root, node_t *x)
{
	node_t *y = x->__left;

	x->__left = y->__right;
	if (y->__right)
		y->__right->__parent = x;
	relink(root, x->__parent, x, y);
	y->__right = x;
	x->__parent = y;
	refresh(x);
	refresh(y);
	return y;
}

static node_t *rebalance(struct interval_tree_root *root, node_t *n)
{
	int balance;

	refresh(n);
	balance = height(n->__left) - height(n->__right);
	if (balance > 1) {
		if (height(n->__left->__left) < height(n->__left->__right))
			rotate_left(root, n->__left);
		return rotate_right(root, n);
	}
	if (balance < -1) {
		if (height(n->__right->__right) < height(n->__right->__left))
			rotate_right(root, n->__right);
		return rotate_left(root, n);
	}
	return n;
}

static void fix_upwards(struct interval_tree_root *root, node_t *n)
{
	while (n)
		n = rebalance(root, n)->__parent;
}

void interval_tree_insert(node_t *node, struct interval_tree_root *root)
{
	node_t *parent = NULL, **link = &root->node;

	while (*link) {
		parent = *link;
		link = node->start < parent->start ? &parent->__left
						   : &parent->__right;
	}
	node->__left = node->__right = NULL;
	node->__parent = parent;
	node->__height = 1;
	node->__subtree_last = node->last;
	*link = node;
	root->count++;
	fix_upwards(root, parent);
}

static node_t *leftmost(node_t *n)
{
	while (n->__left)
		n = n->__left;
	return n;
}

void interval_tree_remove(node_t *node, struct interval_tree_root *root)
{
	node_t *fix_from;

	if (node->__left && node->__right) {
		/* Replace @node by its in-order successor, which has no left. */
		node_t *succ = leftmost(node->__right);

		if (succ->__parent == node) {
			fix_from = succ;
		} else {
			fix_from = succ->__parent;
			relink(root, succ->__parent, succ, succ->__right);
			succ->__right = node->__right;
			node->__right->__parent = succ;
		}
		succ->__left = node->__left;
		node->__left->__parent = succ;
		relink(root, node->__parent, node, succ);
	} else {
		node_t *child = node->__left ? node->__left : node->__right;

		fix_from = node->__parent;
		relink(root, node->__parent, node, child);
	}
	node->__left = node->__right = node->__parent = NULL;
	root->count--;
	fix_upwards(root, fix_from);
}

/*
 * Leftmost node of the subtree at @n overlapping [start, last], given that
 * some node of the subtree ends at or after @start.
 */
static node_t *search_subtree(node_t *n, unsigned long start,
			      unsigned long last)
{
	for (;;) {
		if (n->__left && n->__left->__subtree_last >= start) {
			/*
			 * The first node ending at or after @start is on the
			 * left; if it does not overlap, nothing does.
			 */
			n = n->__left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		if (!n->__right || n->__right->__subtree_last < start)
			return NULL;
		n = n->__right;
	}
}

node_t *interval_tree_iter_first(struct interval_tree_root *root,
				 unsigned long start, unsigned long last)
{
	if (!root->node || root->node->__subtree_last < start)
		return NULL;
	return search_subtree(root->node, start, last);
}

node_t *interval_tree_iter_next(node_t *node, unsigned long start,
				unsigned long last)
{
	for (;;) {
		node_t *r = node->__right, *child;

		if (r && r->__subtree_last >= start)
			return search_subtree(r, start, last);
		/* Climb until we arrive from a left child. */
		do {
			child = node;
			node = node->__parent;
			if (!node)
				return NULL;
		} while (node->__right == child);
		if (node->start > last)
			return NULL;
		if (node->last >= start)
			return node;
	}
}

node_t *interval_tree_first(struct interval_tree_root *root)
{
	return root->node ? leftmost(root->node) : NULL;
}

node_t *interval_tree_next(node_t *node)
{
	node_t *child;

	if (node->__right)
		return leftmost(node->__right);
	do {
		child = node;
		node = node->__parent;
	} while (node && node->__right == child);
	return node;
}

node_t *interval_tree_prev(node_t *node)
{
	node_t *child;

	if (node->__left) {
		node = node->__left;
		while (node->__right)
			node = node->__right;
		return node;
	}
	do {
		child = node;
		node = node->__parent;
	} while (node && node->__left == child);
	return node;
}
