// SPDX-License-Identifier: MIT
/*
 * The lock validator: lock classes, each task's held locks, the lock-order
 * graph, sleeping-context checks and lockdep_assert_held*().
 *
 * Classes and graph are global and change rarely (a class on first use of
 * an init site, an edge the first time two classes nest), so they live
 * under a raw pthread mutex, never a scheduling point: validation does not
 * change the interleaving.  The fast path of an acquisition reads one bit
 * of the adjacency matrix per lock held.  A task's held list is touched by
 * that task only.
 *
 * Read holds of an SRCU domain or of a pseudo lock are recursive, as in
 * the kernel: they nest in any order with each other, so no order edge
 * leads into them; edges out of them are recorded, and a grace period is
 * an exclusive acquire, so "a reader waits for X" against "X's holder
 * waits for a grace period" is a cycle.  Several locks of one class held
 * at once (page-table locks of two tables, anon_vma locks in
 * mm_take_all_locks()) record no edge: the validator cannot order
 * instances within a class.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/bug.h>
#include "../internal.h"

#define MAX_CLASSES 1024
#define ADJ_WORDS ((MAX_CLASSES + 1 + 63) / 64)
#define MAX_EDGES 8192
#define REPORT_LEN 512
#define SITES_SEEN 512

struct lock_class {
	const void *key;	/* the static key, or the instance */
	const char *name;
};

/* Why a class-to-class edge exists: the first time it was seen. */
struct lock_edge {
	u32 from, to;
	const char *from_site, *to_site;
	int pid;
	char comm[16];
};

static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;

/* Protected by graph_lock (adj is also read locklessly, bit by bit). */
static struct lock_class classes[MAX_CLASSES + 1];
static u32 nr_classes;
static u64 adj[MAX_CLASSES + 1][ADJ_WORDS];
static struct lock_edge edges[MAX_EDGES];
static unsigned int nr_edges;
static lockdep_hook_fn hook;
static void *hook_ctx;
static const char *sites_seen[SITES_SEEN];
static bool class_overflow, edge_overflow;

static unsigned long counts[LOCKDEP_NR_KINDS];

static const char *const kind_names[LOCKDEP_NR_KINDS] = {
	[LOCKDEP_SLEEP_IN_ATOMIC] = "sleep-in-atomic",
	[LOCKDEP_SLEEP_IN_NONBLOCK] = "sleep-in-nonblock",
	[LOCKDEP_ORDER_INVERSION] = "lock-order-inversion",
	[LOCKDEP_SELF_DEADLOCK] = "self-deadlock",
	[LOCKDEP_NOT_HELD] = "lock-not-held",
};

const char *lockdep_kind_name(enum lockdep_kind kind)
{
	return (unsigned int)kind < LOCKDEP_NR_KINDS ? kind_names[kind] : NULL;
}

unsigned long lockdep_count(enum lockdep_kind kind)
{
	if ((unsigned int)kind >= LOCKDEP_NR_KINDS)
		return 0;
	return __atomic_load_n(&counts[kind], __ATOMIC_RELAXED);
}

static __attribute__((noreturn)) void lockdep_oom(void)
{
	fprintf(stderr, "mmulab: lockdep: out of memory\n");
	abort();
}

/* "../mm/mmap.c:12" -> "mm/mmap.c:12": sites as the tree names them. */
static const char *site_str(const char *site)
{
	if (!site)
		return "?";
	while (!strncmp(site, "../", 3))
		site += 3;
	return site;
}

/* ---------------------------------------------------------------------
 * Classes
 */

/* A class for @key, registered under @name on first use (graph_lock). */
static u32 class_for_key_locked(const void *key, const char *name)
{
	for (u32 i = 1; i <= nr_classes; i++)
		if (classes[i].key == key)
			return i;
	if (nr_classes == MAX_CLASSES) {
		if (!class_overflow)
			fprintf(stderr, "mmulab: lockdep: more than %d lock "
					"classes; new ones are not ordered\n",
				MAX_CLASSES);
		class_overflow = true;
		return 0;
	}
	nr_classes++;
	classes[nr_classes].key = key;
	__atomic_store_n(&classes[nr_classes].name, name, __ATOMIC_RELEASE);
	return nr_classes;
}

void lockdep_init_class(u32 *classp, const char *name,
			struct lock_class_key *key)
{
	u32 id = __atomic_load_n(&key->id, __ATOMIC_ACQUIRE);

	if (unlikely(!id)) {
		pthread_mutex_lock(&graph_lock);
		id = key->id ? key->id : class_for_key_locked(key, name);
		__atomic_store_n(&key->id, id, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&graph_lock);
	}
	__atomic_store_n(classp, id, __ATOMIC_RELAXED);
}

/*
 * The class of a lock that was set up statically (or not at all): keyed
 * by the instance, as the kernel does for static locks.
 */
static u32 class_of(const void *lock, u32 *classp, const char *name)
{
	u32 id = __atomic_load_n(classp, __ATOMIC_RELAXED);
	char *own;

	if (likely(id))
		return id;
	pthread_mutex_lock(&graph_lock);
	id = class_for_key_locked(lock, NULL);
	if (id && !classes[id].name && name) {
		__atomic_store_n(&classes[id].name, name, __ATOMIC_RELEASE);
	} else if (id && !classes[id].name) {
		own = malloc(32);
		if (!own)
			lockdep_oom();
		snprintf(own, 32, "lock@%p", lock);
		__atomic_store_n(&classes[id].name, own, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&graph_lock);
	__atomic_store_n(classp, id, __ATOMIC_RELAXED);
	return id;
}

/* Lockless: a class's name is published before its id is. */
const char *lockdep_class_name(u32 class)
{
	const char *name = NULL;

	if (class && class <= MAX_CLASSES)
		name = __atomic_load_n(&classes[class].name, __ATOMIC_ACQUIRE);
	return name ? name : "(unclassed lock)";
}

/* ---------------------------------------------------------------------
 * Reporting
 */

/* First report of @site (graph_lock)?  Printing is once per site. */
static bool first_at_site_locked(const char *site)
{
	unsigned long h = ((unsigned long)site >> 3) % SITES_SEEN;

	for (unsigned int i = 0; i < SITES_SEEN; i++) {
		unsigned long j = (h + i) % SITES_SEEN;

		if (sites_seen[j] == site)
			return false;
		if (!sites_seen[j]) {
			sites_seen[j] = site;
			return true;
		}
	}
	return false;
}

/*
 * Pass a violation to the hook and raise it as a WARN (printed once per
 * @site).  The task's own lock operations inside the hook are not
 * validated.
 */
static void report(enum lockdep_kind kind, const char *site, const char *msg)
{
	struct task_struct *t = current;
	lockdep_hook_fn fn;
	void *ctx;
	bool print;

	__atomic_fetch_add(&counts[kind], 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&graph_lock);
	fn = hook;
	ctx = hook_ctx;
	print = first_at_site_locked(site);
	pthread_mutex_unlock(&graph_lock);
	if (print)
		__warn_msg(msg);
	else
		__warn_msg(NULL);
	t->lockdep_recursion++;
	if (fn)
		fn(ctx, kind, msg);
	t->lockdep_recursion--;
}

static __attribute__((noreturn)) void report_fatal(enum lockdep_kind kind,
						   const char *site,
						   const char *msg)
{
	report(kind, site, msg);
	if (det_on())
		det_abandon(msg);
	fprintf(stderr, "BUG: lockdep: %s\n", msg);
	fflush(stderr);
	abort();
}

static const char *class_name_locked(u32 class)
{
	return lockdep_class_name(class);
}

void lockdep_set_hook(lockdep_hook_fn fn, void *ctx)
{
	pthread_mutex_lock(&graph_lock);
	hook = fn;
	hook_ctx = ctx;
	pthread_mutex_unlock(&graph_lock);
	lockdep_reset_graph();
}

void lockdep_reset_graph(void)
{
	pthread_mutex_lock(&graph_lock);
	for (u32 i = 0; i <= MAX_CLASSES; i++)
		for (u32 w = 0; w < ADJ_WORDS; w++)
			__atomic_store_n(&adj[i][w], 0, __ATOMIC_RELAXED);
	nr_edges = 0;
	pthread_mutex_unlock(&graph_lock);
}

/* ---------------------------------------------------------------------
 * Held locks
 */

static void held_push(struct task_struct *t, const void *lock,
		      const char *site, u32 class, enum lock_type type,
		      bool read)
{
	struct held_lock *h;

	if (t->nr_held == t->cap_held) {
		unsigned int cap = t->cap_held ? 2 * t->cap_held : 16;

		/* Whole cache lines, for the reason task_alloc() gives. */
		h = aligned_alloc(128, (cap * sizeof(*h) + 127) & ~127UL);
		if (!h)
			lockdep_oom();
		if (t->nr_held)
			memcpy(h, t->held, t->nr_held * sizeof(*h));
		free(t->held);
		t->held = h;
		t->cap_held = cap;
	}
	h = &t->held[t->nr_held++];
	h->lock = lock;
	h->site = site;
	h->class = class;
	h->type = (u8)type;
	h->read = read;
	if (type == LT_SPIN || type == LT_RWLOCK)
		t->atomic_depth++;
}

static struct held_lock *held_find(struct task_struct *t, const void *lock)
{
	for (unsigned int i = t->nr_held; i-- > 0;)
		if (t->held[i].lock == lock)
			return &t->held[i];
	return NULL;
}

void lockdep_release(const void *lock)
{
	struct task_struct *t = current;
	struct held_lock *h = held_find(t, lock);
	unsigned int i;

	/* Not found: released by another task than its acquirer. */
	if (!h)
		return;
	if (h->type == LT_SPIN || h->type == LT_RWLOCK)
		t->atomic_depth--;
	i = (unsigned int)(h - t->held);
	memmove(h, h + 1, (t->nr_held - i - 1) * sizeof(*h));
	t->nr_held--;
}

void lockdep_downgrade(const void *lock)
{
	struct held_lock *h = held_find(current, lock);

	if (h)
		h->read = true;
}

void lockdep_task_free(struct task_struct *t)
{
	free(t->held);
	t->held = NULL;
	t->nr_held = t->cap_held = 0;
}

/* ---------------------------------------------------------------------
 * Self-deadlock
 */

static const char *const type_names[] = {
	[LT_SPIN] = "spinlock", [LT_RWLOCK] = "rwlock",
	[LT_MUTEX] = "mutex",	[LT_RWSEM] = "rwsem",
	[LT_SRCU] = "srcu",	[LT_MAP] = "lock",
};

static bool recursive_read(enum lock_type type, bool read)
{
	return read && (type == LT_SRCU || type == LT_MAP);
}

static void check_self(struct task_struct *t, const void *lock, u32 class,
		       enum lock_type type, bool read, const char *site)
{
	struct held_lock *h = held_find(t, lock);
	char msg[REPORT_LEN];
	const char *how;

	if (!h || (recursive_read(type, read) && h->read))
		return;
	if (h->read && !read)
		how = "for write; it holds it for read";
	else if (!h->read && read)
		how = "for read; it holds it for write";
	else if (read)
		how = "for read again (a waiting writer blocks it)";
	else
		how = "again";
	snprintf(msg, sizeof(msg),
		 "self-deadlock: task %d \"%s\" acquires %s \"%s\" at %s %s, "
		 "taken at %s",
		 t->pid, t->comm, type_names[type], lockdep_class_name(class),
		 site_str(site), how, site_str(h->site));
	report_fatal(LOCKDEP_SELF_DEADLOCK, site, msg);
}

/* ---------------------------------------------------------------------
 * Lock order
 */

static bool adj_test(u32 from, u32 to)
{
	return __atomic_load_n(&adj[from][to / 64], __ATOMIC_RELAXED) &
	       (1ULL << (to % 64));
}

static const struct lock_edge *edge_find_locked(u32 from, u32 to)
{
	for (unsigned int i = 0; i < nr_edges; i++)
		if (edges[i].from == from && edges[i].to == to)
			return &edges[i];
	return NULL;
}

/*
 * Breadth-first search for a path @from -> ... -> @to (graph_lock); on
 * success @parent[] leads back from @to to @from.
 */
static bool path_exists_locked(u32 from, u32 to, u32 *parent)
{
	static u32 queue[MAX_CLASSES + 1];
	u64 seen[ADJ_WORDS] = { 0 };
	unsigned int head = 0, tail = 0;

	queue[tail++] = from;
	seen[from / 64] |= 1ULL << (from % 64);
	while (head < tail) {
		u32 c = queue[head++];

		for (u32 w = 0; w < ADJ_WORDS; w++) {
			u64 bits = adj[c][w] & ~seen[w];

			while (bits) {
				u32 n = w * 64 + (u32)__builtin_ctzll(bits);

				bits &= bits - 1;
				seen[w] |= 1ULL << (n % 64);
				parent[n] = c;
				if (n == to)
					return true;
				queue[tail++] = n;
			}
		}
	}
	return false;
}

static void describe_inversion_locked(char *msg, size_t n,
				      struct task_struct *t,
				      const struct held_lock *h, u32 class,
				      const char *site, const u32 *parent)
{
	/* The path is class -> ... -> h->class; its first edge starts it. */
	u32 hops = 0, first_to = h->class;
	const struct lock_edge *e;

	for (u32 c = h->class; c != class; c = parent[c]) {
		first_to = c;
		hops++;
	}
	e = edge_find_locked(class, first_to);
	snprintf(msg, n,
		 "lock order inversion: task %d \"%s\" takes \"%s\" at %s "
		 "holding \"%s\" (from %s); task %d \"%s\" took \"%s\" at %s "
		 "holding \"%s\" (from %s)%s",
		 t->pid, t->comm, class_name_locked(class), site_str(site),
		 class_name_locked(h->class), site_str(h->site),
		 e ? e->pid : -1, e ? e->comm : "?",
		 class_name_locked(first_to), e ? site_str(e->to_site) : "?",
		 class_name_locked(class), e ? site_str(e->from_site) : "?",
		 hops > 1 ? " and the rest of the cycle later" : "");
}

/* Record the edge h->class -> @class; report if it closes a cycle. */
static void add_edge(struct task_struct *t, const struct held_lock *h,
		     u32 class, const char *site)
{
	static u32 parent[MAX_CLASSES + 1];
	char msg[REPORT_LEN];
	bool cycle = false;

	pthread_mutex_lock(&graph_lock);
	if (adj_test(h->class, class)) {
		pthread_mutex_unlock(&graph_lock);
		return;
	}
	if (path_exists_locked(class, h->class, parent)) {
		cycle = true;
		describe_inversion_locked(msg, sizeof(msg), t, h, class, site,
					  parent);
	}
	__atomic_fetch_or(&adj[h->class][class / 64], 1ULL << (class % 64),
			  __ATOMIC_RELAXED);
	if (nr_edges < MAX_EDGES) {
		struct lock_edge *e = &edges[nr_edges++];

		e->from = h->class;
		e->to = class;
		e->from_site = h->site;
		e->to_site = site;
		e->pid = t->pid;
		memcpy(e->comm, t->comm, sizeof(e->comm));
	} else if (!edge_overflow) {
		edge_overflow = true;
		fprintf(stderr, "mmulab: lockdep: more than %d lock orders; "
				"reports may lack the other order's sites\n",
			MAX_EDGES);
	}
	pthread_mutex_unlock(&graph_lock);
	if (cycle)
		report(LOCKDEP_ORDER_INVERSION, site, msg);
}

static void check_order(struct task_struct *t, u32 class, enum lock_type type,
			bool read, const char *site)
{
	if (!class || recursive_read(type, read))
		return;
	for (unsigned int i = 0; i < t->nr_held; i++) {
		const struct held_lock *h = &t->held[i];

		if (!h->class || h->class == class)
			continue;
		if (likely(adj_test(h->class, class)))
			continue;
		add_edge(t, h, class, site);
	}
}

/* ---------------------------------------------------------------------
 * Entry points of the lock primitives
 */

void lockdep_acquire(const void *lock, u32 *classp, enum lock_type type,
		     bool read, const char *site)
{
	struct task_struct *t = current;
	u32 class = class_of(lock, classp, NULL);

	if (!t->lockdep_recursion) {
		check_self(t, lock, class, type, read, site);
		check_order(t, class, type, read, site);
	}
	held_push(t, lock, site, class, type, read);
}

void lockdep_acquired_try(const void *lock, u32 *classp, enum lock_type type,
			  bool read, const char *site)
{
	held_push(current, lock, site, class_of(lock, classp, NULL), type,
		  read);
}

void lockdep_sync(const void *lock, u32 *classp, const char *site)
{
	struct task_struct *t = current;
	u32 class = class_of(lock, classp, NULL);
	struct held_lock *h;
	char msg[REPORT_LEN];

	if (t->lockdep_recursion)
		return;
	h = held_find(t, lock);
	if (h) {
		snprintf(msg, sizeof(msg),
			 "self-deadlock: task %d \"%s\" waits at %s for a "
			 "grace period of \"%s\" inside its own read section "
			 "(entered at %s)",
			 t->pid, t->comm, site_str(site),
			 lockdep_class_name(class), site_str(h->site));
		report_fatal(LOCKDEP_SELF_DEADLOCK, site, msg);
	}
	check_order(t, class, LT_SRCU, false, site);
}

void __lock_map_acquire(struct lockdep_map *map, bool read, const char *site)
{
	struct task_struct *t = current;
	u32 class = class_of(map, &map->class, map->name);

	if (!t->lockdep_recursion)
		check_order(t, class, LT_MAP, read, site);
	held_push(t, map, site, class, LT_MAP, read);
}

void __lock_map_release(struct lockdep_map *map)
{
	lockdep_release(map);
}

/* ---------------------------------------------------------------------
 * Assertions and sleeping contexts
 */

bool __lockdep_is_held(const void *lock, int mode)
{
	struct held_lock *h = held_find(current, lock);

	if (!h)
		return false;
	return mode == LOCKDEP_HELD_ANY ||
	       (mode == LOCKDEP_HELD_WRITE) == !h->read;
}

void __lockdep_assert(const void *lock, int mode, const char *what,
		      const char *site)
{
	static const char *const fn[] = {
		[LOCKDEP_HELD_ANY] = "lockdep_assert_held",
		[LOCKDEP_HELD_WRITE] = "lockdep_assert_held_write",
		[LOCKDEP_HELD_READ] = "lockdep_assert_held_read",
	};
	struct task_struct *t = current;
	struct held_lock *h;
	char msg[REPORT_LEN];

	if (likely(__lockdep_is_held(lock, mode)) || t->lockdep_recursion)
		return;
	h = held_find(t, lock);
	snprintf(msg, sizeof(msg), "%s(%s) at %s: task %d \"%s\" %s",
		 fn[mode], what, site_str(site), t->pid, t->comm,
		 !h ? "does not hold it"
		 : h->read ? "holds it only for read"
			   : "holds it for write");
	report(LOCKDEP_NOT_HELD, site, msg);
}

static void report_sleep(struct task_struct *t, const char *site)
{
	char msg[REPORT_LEN];

	if (t->atomic_depth) {
		const struct held_lock *h = NULL;

		for (unsigned int i = t->nr_held; i-- > 0 && !h;)
			if (t->held[i].type == LT_SPIN ||
			    t->held[i].type == LT_RWLOCK)
				h = &t->held[i];
		snprintf(msg, sizeof(msg),
			 "sleeping function called from invalid context at "
			 "%s: task %d \"%s\" holds %s \"%s\" (taken at %s)",
			 site_str(site), t->pid, t->comm,
			 h ? type_names[h->type] : "a spinlock",
			 h ? lockdep_class_name(h->class) : "?",
			 h ? site_str(h->site) : "?");
		report(LOCKDEP_SLEEP_IN_ATOMIC, site, msg);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "sleeping function called at %s inside a non-blocking "
		 "section: task %d \"%s\", section begun at %s",
		 site_str(site), t->pid, t->comm,
		 site_str(t->non_block_site));
	report(LOCKDEP_SLEEP_IN_NONBLOCK, site, msg);
}

void __might_sleep(const char *site)
{
	struct task_struct *t = current;

	if (unlikely(t->atomic_depth || t->non_block_depth) &&
	    !t->lockdep_recursion)
		report_sleep(t, site);
}

void __non_block_start(const char *site)
{
	struct task_struct *t = current;

	if (!t->non_block_depth++)
		t->non_block_site = site;
}

void __non_block_end(void)
{
	struct task_struct *t = current;

	if (WARN_ON_ONCE(!t->non_block_depth))
		return;
	t->non_block_depth--;
}
