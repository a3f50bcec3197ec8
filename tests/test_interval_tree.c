// SPDX-License-Identifier: MIT
/*
 * Interval tree against a brute-force model.
 *
 * Random inserts and removals are mirrored in a plain array; after each
 * operation the tree's structure (AVL balance, heights, parent links,
 * order, subtree_last) is checked, and random queries through
 * iter_first()/iter_next() must return exactly the model's overlapping
 * nodes, in (start, insertion) order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <mmulab/interval_tree.h>

#define MAX_NODES 512

struct item {
	struct interval_tree_node it;
	unsigned long seq;	/* insertion order, breaks ties on start */
	bool in_tree;
};

struct model {
	struct interval_tree_root root;
	struct item items[MAX_NODES];
	unsigned long next_seq;
	unsigned int nr;
	u64 rng;
};

static u64 rnd(struct model *m)
{
	/* splitmix64: good enough, and reproducible from the seed. */
	u64 z = (m->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned long rnd_below(struct model *m, unsigned long n)
{
	return (unsigned long)(rnd(m) % n);
}

static struct item *to_item(struct interval_tree_node *n)
{
	return container_of(n, struct item, it);
}

/* (start, seq) order: the order the tree must keep its nodes in. */
static int item_cmp(const void *a, const void *b)
{
	const struct item *x = *(struct item *const *)a;
	const struct item *y = *(struct item *const *)b;

	if (x->it.start != y->it.start)
		return x->it.start < y->it.start ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The model's nodes overlapping [start, last], sorted; returns how many. */
static unsigned int model_query(struct model *m, unsigned long start,
				unsigned long last, struct item **out)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MAX_NODES; i++) {
		struct item *x = &m->items[i];

		if (x->in_tree && x->it.start <= last && x->it.last >= start)
			out[n++] = x;
	}
	qsort(out, n, sizeof(*out), item_cmp);
	return n;
}

/*
 * Check the subtree at @n and return its height.  @count accumulates the
 * number of nodes seen.
 */
static int check_subtree(struct interval_tree_node *n,
			 struct interval_tree_node *parent,
			 unsigned long *count)
{
	int hl, hr;
	unsigned long sl = n->last;

	assert_ptr_equal(n->__parent, parent);
	assert_true(n->start <= n->last);
	hl = n->__left ? check_subtree(n->__left, n, count) : 0;
	hr = n->__right ? check_subtree(n->__right, n, count) : 0;
	assert_in_range(hl - hr + 1, 0, 2);
	assert_int_equal(n->__height, 1 + (hl > hr ? hl : hr));
	if (n->__left) {
		assert_true(n->__left->start <= n->start);
		if (n->__left->__subtree_last > sl)
			sl = n->__left->__subtree_last;
	}
	if (n->__right) {
		assert_true(n->__right->start >= n->start);
		if (n->__right->__subtree_last > sl)
			sl = n->__right->__subtree_last;
	}
	assert_int_equal(n->__subtree_last, sl);
	(*count)++;
	return n->__height;
}

/* Fewest nodes of an AVL tree of height @h: N(h) = N(h-1) + N(h-2) + 1. */
static unsigned long min_nodes(int h)
{
	unsigned long a = 0, b = 1;	/* N(0), N(1) */

	if (h == 0)
		return 0;
	for (int i = 1; i < h; i++) {
		unsigned long c = a + b + 1;

		a = b;
		b = c;
	}
	return b;
}

static void check_tree(struct model *m)
{
	static struct item *sorted[MAX_NODES];
	struct interval_tree_node *n;
	unsigned long count = 0;
	unsigned int i, nr;
	int h = 0;

	if (m->root.node)
		h = check_subtree(m->root.node, NULL, &count);
	assert_int_equal(count, m->nr);
	assert_int_equal(m->root.count, m->nr);
	assert_int_equal(interval_tree_empty(&m->root), m->nr == 0);
	/* AVL: a tree of height h holds at least min_nodes(h) nodes. */
	assert_true(m->nr >= min_nodes(h));

	/* In-order traversal is (start, insertion) order. */
	nr = model_query(m, 0, ~0UL, sorted);
	assert_int_equal(nr, m->nr);
	for (i = 0, n = interval_tree_first(&m->root); n;
	     n = interval_tree_next(n), i++) {
		assert_true(i < nr);
		assert_ptr_equal(to_item(n), sorted[i]);
	}
	assert_int_equal(i, nr);
}

static void check_query(struct model *m, unsigned long start,
			unsigned long last)
{
	static struct item *want[MAX_NODES];
	unsigned int nr = model_query(m, start, last, want), i = 0;
	struct interval_tree_node *n;

	for (n = interval_tree_iter_first(&m->root, start, last); n;
	     n = interval_tree_iter_next(n, start, last), i++) {
		assert_true(i < nr);
		assert_ptr_equal(to_item(n), want[i]);
	}
	assert_int_equal(i, nr);
}

static void random_query(struct model *m, unsigned long span)
{
	unsigned long start = rnd_below(m, span + span / 4);
	unsigned long len = rnd_below(m, 4) ? rnd_below(m, span / 16 + 1)
					    : rnd_below(m, span);

	check_query(m, start, start + len < start ? ~0UL : start + len);
}

static void insert_one(struct model *m, unsigned long span, unsigned long len)
{
	struct item *x;

	do {
		x = &m->items[rnd_below(m, MAX_NODES)];
	} while (x->in_tree);
	x->it.start = rnd_below(m, span);
	x->it.last = x->it.start + rnd_below(m, len + 1);
	x->seq = m->next_seq++;
	x->in_tree = true;
	interval_tree_insert(&x->it, &m->root);
	m->nr++;
}

static void remove_one(struct model *m)
{
	struct item *x;

	do {
		x = &m->items[rnd_below(m, MAX_NODES)];
	} while (!x->in_tree);
	x->in_tree = false;
	interval_tree_remove(&x->it, &m->root);
	m->nr--;
}

/*
 * Grow to about @target nodes, then churn, then drain.  @span is the
 * range of starts and @len the longest interval: a small span makes many
 * equal starts, a long @len many overlaps.
 */
static void run_model(u64 seed, unsigned int target, unsigned long span,
		      unsigned long len)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->rng = seed;
	for (unsigned int op = 0; op < 6 * target; op++) {
		bool grow = op < 2 * target ? rnd_below(m, 4) != 0
			    : op < 4 * target ? rnd_below(m, 2) != 0
					      : false;

		if (m->nr && (!grow || m->nr == MAX_NODES))
			remove_one(m);
		else
			insert_one(m, span, len);
		check_tree(m);
		for (int q = 0; q < 4; q++)
			random_query(m, span);
	}
	while (m->nr) {
		remove_one(m);
		check_tree(m);
	}
	assert_null(interval_tree_first(&m->root));
	assert_null(interval_tree_iter_first(&m->root, 0, ~0UL));
	free(m);
}

static void test_random_sparse(void **state)
{
	(void)state;
	for (u64 seed = 1; seed <= 4; seed++)
		run_model(seed, 300, 1UL << 20, 1UL << 10);
}

static void test_random_dense(void **state)
{
	(void)state;
	/* Many equal starts and nested intervals. */
	for (u64 seed = 11; seed <= 14; seed++)
		run_model(seed, 300, 64, 32);
}

static void test_random_long(void **state)
{
	(void)state;
	/* Intervals spanning most of the range, and the top of it. */
	for (u64 seed = 21; seed <= 23; seed++)
		run_model(seed, 200, 1UL << 16, 1UL << 16);
	for (u64 seed = 31; seed <= 32; seed++)
		run_model(seed, 100, ~0UL / 2, ~0UL / 2);
}

/* Equal starts come back in insertion order, after any removal pattern. */
static void test_equal_start_order(void **state)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT;
	struct item items[64] = { 0 };
	struct interval_tree_node *n;
	unsigned long expect;

	(void)state;
	for (unsigned int i = 0; i < 64; i++) {
		items[i].it.start = 100;
		items[i].it.last = 100 + (63 - i);
		items[i].seq = i;
		interval_tree_insert(&items[i].it, &root);
	}
	for (unsigned int i = 0; i < 64; i += 3)
		interval_tree_remove(&items[i].it, &root);
	expect = 1;
	for (n = interval_tree_iter_first(&root, 0, 100); n;
	     n = interval_tree_iter_next(n, 0, 100)) {
		if (expect % 3 == 0)
			expect++;
		assert_int_equal(to_item(n)->seq, expect);
		expect++;
	}
	assert_int_equal(expect, 63);
	/* A query that starts past the shorter intervals skips them. */
	n = interval_tree_iter_first(&root, 150, 160);
	assert_non_null(n);
	assert_true(n->last >= 150);
	assert_int_equal(to_item(n)->seq, 1);
	for (; n; n = interval_tree_iter_next(n, 150, 160))
		assert_true(n->last >= 150);
}

/* Point queries at interval boundaries (closed intervals). */
static void test_boundaries(void **state)
{
	struct interval_tree_root root = INTERVAL_TREE_ROOT;
	struct interval_tree_node a = { .start = 10, .last = 19 };
	struct interval_tree_node b = { .start = 20, .last = 20 };
	struct interval_tree_node c = { .start = 21, .last = 30 };

	(void)state;
	interval_tree_insert(&b, &root);
	interval_tree_insert(&c, &root);
	interval_tree_insert(&a, &root);
	assert_ptr_equal(interval_tree_iter_first(&root, 19, 19), &a);
	assert_null(interval_tree_iter_next(&a, 19, 19));
	assert_ptr_equal(interval_tree_iter_first(&root, 20, 20), &b);
	assert_null(interval_tree_iter_next(&b, 20, 20));
	assert_ptr_equal(interval_tree_iter_first(&root, 19, 21), &a);
	assert_ptr_equal(interval_tree_iter_next(&a, 19, 21), &b);
	assert_ptr_equal(interval_tree_iter_next(&b, 19, 21), &c);
	assert_null(interval_tree_iter_next(&c, 19, 21));
	assert_null(interval_tree_iter_first(&root, 0, 9));
	assert_null(interval_tree_iter_first(&root, 31, ~0UL));
	interval_tree_remove(&b, &root);
	assert_null(interval_tree_iter_first(&root, 20, 20));
	assert_int_equal(root.count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sparse),
		cmocka_unit_test(test_random_dense),
		cmocka_unit_test(test_random_long),
		cmocka_unit_test(test_equal_start_order),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
