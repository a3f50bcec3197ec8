/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly linked lists (struct list_head) and hash-bucket lists
 * (struct hlist_head), with the kernel's names.  The *_rcu variants publish
 * and read link pointers through the concurrency layer so that SRCU readers
 * may walk a list while it is being changed under a lock.
 */
#ifndef MMULAB_LIST_H
#define MMULAB_LIST_H

#include <mmulab/sync.h>

/** struct list_head - node of, or head of, a circular doubly linked list. */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }

/** INIT_LIST_HEAD() - make @l an empty list. */
static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/** list_add() - insert @n after @head. */
static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

/** list_add_tail() - insert @n before @head (at the end of the list). */
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

/** list_del_init() - unlink @e and make it an empty list. */
static inline void list_del_init(struct list_head *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	INIT_LIST_HEAD(e);
}

/** list_empty() - true when @head has no entries. */
static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member)                                   \
	list_entry((head)->next, type, member)

#define list_for_each_entry(pos, head, member)                                 \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);         \
	     &pos->member != (head);                                           \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_safe(pos, n, head, member)                         \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),         \
	    n = list_entry(pos->member.next, __typeof__(*pos), member);        \
	     &pos->member != (head);                                           \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/** struct hlist_head - head of a singly headed, doubly linked list. */
struct hlist_head {
	struct hlist_node *first;
};

/** struct hlist_node - node of an hlist; @pprev is NULL when unhashed. */
struct hlist_node {
	struct hlist_node *next, **pprev;
};

#define HLIST_HEAD_INIT { NULL }

static inline void INIT_HLIST_HEAD(struct hlist_head *h)
{
	h->first = NULL;
}

static inline void INIT_HLIST_NODE(struct hlist_node *n)
{
	n->next = NULL;
	n->pprev = NULL;
}

/** hlist_unhashed() - true when @n is on no list. */
static inline bool hlist_unhashed(const struct hlist_node *n)
{
	return !n->pprev;
}

/** hlist_empty() - true when @h has no entries (RCU-safe load). */
static inline bool hlist_empty(const struct hlist_head *h)
{
	return !READ_ONCE(((struct hlist_head *)h)->first);
}

/**
 * hlist_add_head_rcu() - insert @n at the head of @h, publishing it to
 * concurrent SRCU readers.  The caller serialises writers.
 */
static inline void hlist_add_head_rcu(struct hlist_node *n,
				      struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	n->pprev = &h->first;
	rcu_assign_pointer(h->first, n);
	if (first)
		first->pprev = &n->next;
}

/**
 * hlist_del_init_rcu() - unlink @n, leaving its own next pointer intact
 * for readers that are standing on it, and mark it unhashed.
 */
static inline void hlist_del_init_rcu(struct hlist_node *n)
{
	if (hlist_unhashed(n))
		return;
	struct hlist_node *next = n->next;

	WRITE_ONCE(*n->pprev, next);
	if (next)
		next->pprev = n->pprev;
	n->pprev = NULL;
}

#define hlist_entry_safe(ptr, type, member)                                    \
	({                                                                     \
		__typeof__(ptr) ____ptr = (ptr);                               \
		____ptr ? container_of(____ptr, type, member) : NULL;          \
	})

/**
 * hlist_for_each_entry_srcu() - walk an hlist inside an SRCU read section.
 */
#define hlist_for_each_entry_srcu(pos, head, member)                           \
	for (pos = hlist_entry_safe(rcu_dereference((head)->first),            \
				    __typeof__(*(pos)), member);               \
	     pos;                                                              \
	     pos = hlist_entry_safe(rcu_dereference((pos)->member.next),       \
				    __typeof__(*(pos)), member))

/** hlist_for_each_entry() - walk an hlist under the lock that guards it. */
#define hlist_for_each_entry(pos, head, member)                                \
	for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member); \
	     pos;                                                              \
	     pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)),    \
				    member))

#endif /* MMULAB_LIST_H */
