/* SPDX-License-Identifier: MIT */
/*
 * The concurrency layer.
 *
 * Every lock, atomic, barrier, wait, thread and RCU/SRCU operation in
 * mmulab, and in any secondary MMU built on it, goes through this header.
 * That is what lets the deterministic scheduler (<mmulab/sched.h>) own
 * every interleaving: in a deterministic run exactly one task executes at a
 * time, and each operation below is a scheduling point where the scheduler
 * may switch to another task.  Outside a deterministic run the operations
 * map onto futexes, GCC's __atomic builtins and per-CPU SRCU counts,
 * and cost no more
 * than a test of one global flag.
 *
 * Memory model: the model's memory is x86-TSO-like.  READ_ONCE() is an
 * acquire load and WRITE_ONCE() a release store (free on x86-64, the
 * architecture whose page tables mmulab models); smp_mb() is a full fence.
 * Value-returning atomic read-modify-write operations are fully ordered,
 * the void ones are relaxed, as in the kernel.
 *
 * Lock semantics follow the kernel's: spinlock_t and rwlock_t must not be
 * held across anything that blocks on another task; struct mutex and
 * struct rw_semaphore may be.  Locks are writer-preferring where a writer
 * and readers compete, so a stream of readers cannot starve a writer.
 */
#ifndef MMULAB_SYNC_H
#define MMULAB_SYNC_H

#include <mmulab/compiler.h>

/* ---------------------------------------------------------------------
 * Scheduling points
 */

/**
 * enum sync_point_kind - what a task is about to do at a scheduling point.
 *
 * Recorded in the deterministic scheduler's event log, so two runs of one
 * seed can be compared step by step.
 */
enum sync_point_kind {
	SP_LOAD,	/* READ_ONCE / acquire load */
	SP_STORE,	/* WRITE_ONCE / release store */
	SP_ATOMIC,	/* atomic read-modify-write */
	SP_BARRIER,	/* smp_mb / smp_rmb / smp_wmb */
	SP_LOCK,	/* lock acquisition attempt */
	SP_UNLOCK,	/* lock release */
	SP_WAIT,	/* wait_event and friends */
	SP_WAKE,	/* wake_up_all */
	SP_RCU,		/* SRCU read side or grace period */
	SP_THREAD,	/* thread creation, exit, join */
	SP_YIELD,	/* cond_resched / msleep / explicit yield */
	SP_NR,
};

/*
 * Nonzero while a deterministic run is active.  Written only by
 * det_begin()/det_end(), when no other task of the run exists.
 */
extern int mmulab_det_active;

/**
 * det_sched_point() - hand control to the deterministic scheduler.
 * @kind: what the calling task is about to do.
 * @obj: the object involved (used only to identify blocking resources).
 *
 * Only called while mmulab_det_active is set; sync_point() wraps it.
 */
void det_sched_point(enum sync_point_kind kind, const void *obj);

/** sync_point() - a scheduling point; free outside deterministic runs. */
static inline void sync_point(enum sync_point_kind kind, const void *obj)
{
	if (unlikely(__atomic_load_n(&mmulab_det_active, __ATOMIC_RELAXED)))
		det_sched_point(kind, obj);
}

/* ---------------------------------------------------------------------
 * Plain shared accesses and barriers
 */

/** READ_ONCE() - one untorn load of a scalar or pointer, acquire-ordered. */
#define READ_ONCE(x)                                                           \
	({                                                                     \
		sync_point(SP_LOAD, &(x));                                     \
		__atomic_load_n(&(x), __ATOMIC_ACQUIRE);                       \
	})

/** WRITE_ONCE() - one untorn store of a scalar or pointer, release-ordered. */
#define WRITE_ONCE(x, val)                                                     \
	do {                                                                   \
		sync_point(SP_STORE, &(x));                                    \
		__atomic_store_n(&(x), (val), __ATOMIC_RELEASE);               \
	} while (0)

/** smp_load_acquire() - load that orders every later access after it. */
#define smp_load_acquire(p) READ_ONCE(*(p))
/** smp_store_release() - store that orders every earlier access before it. */
#define smp_store_release(p, v) WRITE_ONCE(*(p), v)

/** smp_mb() - full memory barrier. */
#define smp_mb()                                                               \
	do {                                                                   \
		sync_point(SP_BARRIER, NULL);                                  \
		__atomic_thread_fence(__ATOMIC_SEQ_CST);                       \
	} while (0)
/** smp_rmb() - orders earlier loads before later loads. */
#define smp_rmb()                                                              \
	do {                                                                   \
		sync_point(SP_BARRIER, NULL);                                  \
		__atomic_thread_fence(__ATOMIC_ACQUIRE);                       \
	} while (0)
/** smp_wmb() - orders earlier stores before later stores. */
#define smp_wmb()                                                              \
	do {                                                                   \
		sync_point(SP_BARRIER, NULL);                                  \
		__atomic_thread_fence(__ATOMIC_RELEASE);                       \
	} while (0)

/**
 * xchg() - atomically store @v at @p and return the old value.
 */
#define xchg(p, v)                                                             \
	({                                                                     \
		sync_point(SP_ATOMIC, (p));                                    \
		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST);               \
	})

/**
 * try_cmpxchg() - if *@p == *@oldp store @new and return true; otherwise
 * load the current value into *@oldp and return false.
 */
#define try_cmpxchg(p, oldp, new)                                              \
	({                                                                     \
		sync_point(SP_ATOMIC, (p));                                    \
		__atomic_compare_exchange_n((p), (oldp), (new), false,         \
					    __ATOMIC_SEQ_CST,                  \
					    __ATOMIC_SEQ_CST);                 \
	})

/**
 * cmpxchg() - if *@p == @old store @new; return the value found at @p.
 */
#define cmpxchg(p, old, new)                                                   \
	({                                                                     \
		__typeof__(*(p)) __old = (old);                                \
		(void)try_cmpxchg((p), &__old, (new));                         \
		__old;                                                         \
	})

/* ---------------------------------------------------------------------
 * Atomic counters: atomic_t (int) and atomic_long_t (long)
 */

/** typedef atomic_t - an int accessed only through atomic_*(). */
typedef struct {
	int counter;
} atomic_t;

/** typedef atomic_long_t - a long accessed only through atomic_long_*(). */
typedef struct {
	long counter;
} atomic_long_t;

/**
 * typedef atomic64_t - a 64-bit word accessed only through atomic64_*();
 * as in the kernel, a u64 may be cast to it (KVM's SPTEs).
 */
typedef struct {
	s64 counter;
} atomic64_t;

#define ATOMIC_INIT(i) { (i) }

#define __MMULAB_ATOMIC_OPS(pfx, T, V)                                         \
	static inline V pfx##_read(const T *v)                                 \
	{                                                                      \
		sync_point(SP_LOAD, v);                                        \
		return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);         \
	}                                                                      \
	static inline void pfx##_set(T *v, V i)                                \
	{                                                                      \
		sync_point(SP_STORE, v);                                       \
		__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);            \
	}                                                                      \
	static inline void pfx##_add(V i, T *v)                                \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);          \
	}                                                                      \
	static inline void pfx##_sub(V i, T *v)                                \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		__atomic_fetch_sub(&v->counter, i, __ATOMIC_RELAXED);          \
	}                                                                      \
	static inline void pfx##_inc(T *v)                                     \
	{                                                                      \
		pfx##_add(1, v);                                               \
	}                                                                      \
	static inline void pfx##_dec(T *v)                                     \
	{                                                                      \
		pfx##_sub(1, v);                                               \
	}                                                                      \
	static inline V pfx##_add_return(V i, T *v)                            \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST);   \
	}                                                                      \
	static inline V pfx##_sub_return(V i, T *v)                            \
	{                                                                      \
		return pfx##_add_return(-i, v);                                \
	}                                                                      \
	static inline V pfx##_inc_return(T *v)                                 \
	{                                                                      \
		return pfx##_add_return(1, v);                                 \
	}                                                                      \
	static inline V pfx##_dec_return(T *v)                                 \
	{                                                                      \
		return pfx##_add_return(-1, v);                                \
	}                                                                      \
	static inline bool pfx##_dec_and_test(T *v)                            \
	{                                                                      \
		return pfx##_add_return(-1, v) == 0;                           \
	}                                                                      \
	static inline V pfx##_xchg(T *v, V i)                                  \
	{                                                                      \
		return xchg(&v->counter, i);                                   \
	}                                                                      \
	static inline bool pfx##_try_cmpxchg(T *v, V *old, V new)              \
	{                                                                      \
		return try_cmpxchg(&v->counter, old, new);                     \
	}                                                                      \
	static inline V pfx##_cmpxchg(T *v, V old, V new)                      \
	{                                                                      \
		(void)try_cmpxchg(&v->counter, &old, new);                     \
		return old;                                                    \
	}                                                                      \
	/* Add @a unless the value is @u; true if the add happened. */         \
	static inline bool pfx##_add_unless(T *v, V a, V u)                    \
	{                                                                      \
		V c = pfx##_read(v);                                           \
		do {                                                           \
			if (c == u)                                            \
				return false;                                  \
		} while (!try_cmpxchg(&v->counter, &c, c + a));                \
		return true;                                                   \
	}                                                                      \
	static inline bool pfx##_inc_not_zero(T *v)                            \
	{                                                                      \
		return pfx##_add_unless(v, 1, 0);                              \
	}                                                                      \
	static inline V pfx##_fetch_or(V i, T *v)                              \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		return __atomic_fetch_or(&v->counter, i, __ATOMIC_SEQ_CST);    \
	}                                                                      \
	static inline V pfx##_fetch_and(V i, T *v)                             \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		return __atomic_fetch_and(&v->counter, i, __ATOMIC_SEQ_CST);   \
	}                                                                      \
	static inline V pfx##_fetch_andnot(V i, T *v)                          \
	{                                                                      \
		return pfx##_fetch_and(~i, v);                                 \
	}                                                                      \
	static inline void pfx##_or(V i, T *v)                                 \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		__atomic_fetch_or(&v->counter, i, __ATOMIC_RELAXED);           \
	}                                                                      \
	static inline void pfx##_and(V i, T *v)                                \
	{                                                                      \
		sync_point(SP_ATOMIC, v);                                      \
		__atomic_fetch_and(&v->counter, i, __ATOMIC_RELAXED);          \
	}                                                                      \
	static inline void pfx##_andnot(V i, T *v)                             \
	{                                                                      \
		pfx##_and(~i, v);                                              \
	}

__MMULAB_ATOMIC_OPS(atomic, atomic_t, int)
__MMULAB_ATOMIC_OPS(atomic_long, atomic_long_t, long)
__MMULAB_ATOMIC_OPS(atomic64, atomic64_t, s64)

/* ---------------------------------------------------------------------
 * Bit operations on arrays of unsigned long, as in <linux/bitops.h>.  The
 * plain ones are atomic (a scheduling point each); the __ ones are not and
 * are for memory no other task can see yet.  The test_and_ ones are fully
 * ordered, the void ones relaxed, as in the kernel.
 */

#define BITS_PER_LONG (8 * (int)sizeof(long))
#define BIT_MASK(nr) (1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr) ((nr) / BITS_PER_LONG)

/** set_bit() - atomically set bit @nr of @addr. */
static inline void set_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	__atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_RELAXED);
}

/** clear_bit() - atomically clear bit @nr of @addr. */
static inline void clear_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	__atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr),
			   __ATOMIC_RELAXED);
}

/** change_bit() - atomically flip bit @nr of @addr. */
static inline void change_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	__atomic_fetch_xor(addr + BIT_WORD(nr), BIT_MASK(nr),
			   __ATOMIC_RELAXED);
}

/** test_bit() - bit @nr of @addr (one load). */
static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
	sync_point(SP_LOAD, addr + BIT_WORD(nr));
	return __atomic_load_n(addr + BIT_WORD(nr), __ATOMIC_RELAXED) &
	       BIT_MASK(nr);
}

/** test_and_set_bit() - set bit @nr of @addr; return its old value. */
static inline bool test_and_set_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	return __atomic_fetch_or(addr + BIT_WORD(nr), BIT_MASK(nr),
				 __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

/** test_and_clear_bit() - clear bit @nr of @addr; return its old value. */
static inline bool test_and_clear_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	return __atomic_fetch_and(addr + BIT_WORD(nr), ~BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

/** test_and_change_bit() - flip bit @nr of @addr; return its old value. */
static inline bool test_and_change_bit(unsigned long nr, unsigned long *addr)
{
	sync_point(SP_ATOMIC, addr + BIT_WORD(nr));
	return __atomic_fetch_xor(addr + BIT_WORD(nr), BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

/** __set_bit() - set bit @nr of @addr, not atomically. */
static inline void __set_bit(unsigned long nr, unsigned long *addr)
{
	addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

/** __clear_bit() - clear bit @nr of @addr, not atomically. */
static inline void __clear_bit(unsigned long nr, unsigned long *addr)
{
	addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

/**
 * __READ_ONCE() - an untorn, unordered load of @x that is not a
 * scheduling point: for data the model moves in bulk (page contents, swap
 * slots, statistics), where a point per word would only slow runs down.
 */
#define __READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
/** __WRITE_ONCE() - the store counterpart of __READ_ONCE(). */
#define __WRITE_ONCE(x, val) __atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

/**
 * data_race() - a deliberately unsynchronised load of @x, for statistics,
 * reports and heuristics whose result may be stale: untorn, unordered and
 * not a scheduling point (observation must not change the interleaving).
 */
#define data_race(x) __READ_ONCE(x)

/* ---------------------------------------------------------------------
 * Lock validation (lockdep).
 *
 * Every lock records the task that holds it exclusively (@owner) and its
 * class, and every task keeps the list of locks it holds.  As in the
 * kernel's lockdep, a class is keyed by the place that initialises the
 * lock (a static key per spin_lock_init()/mutex_init()/... call site), not
 * by the instance, so every mm's mmap_lock is one class.  On each blocking
 * acquisition the layer checks and records:
 *
 *  - self-deadlock: the task already holds this very lock (recursive
 *    acquire, a write while it holds the lock for read, or the reverse),
 *    or calls synchronize_srcu() inside a read section of the same domain:
 *    reported with both sites, then the run is abandoned (a documented
 *    BUG) instead of hanging;
 *  - lock order: an edge from the class of every lock held to the class
 *    acquired.  The first time an edge closes a cycle (A then B somewhere,
 *    B then A elsewhere) it is an order inversion, reported even if the
 *    two orders never overlapped in time;
 *  - sleeping (might_sleep() in every sleeping primitive) while holding a
 *    spinlock_t or rwlock_t, or inside non_block_start()/non_block_end().
 *
 * lockdep_assert_held*() check the calling task's list.  A violation is
 * passed to the hook installed with lockdep_set_hook() (the coherence
 * checker installs one and turns violations into named invariants) and
 * raised as a WARN.
 */

#define __lockdep_str(x) #x
#define __lockdep_xstr(x) __lockdep_str(x)
/** LOCK_SITE - "file:line" of the code that expands it. */
#define LOCK_SITE __FILE__ ":" __lockdep_xstr(__LINE__)

/**
 * struct lock_class_key - one per lock class; static, so its address and
 * the id it receives on first use identify the class.
 * @id: class id, 0 until registered.
 */
struct lock_class_key {
	u32 id;
};

/**
 * struct lockdep_map - a lock that is only a name for lockdep: a pseudo
 * lock whose acquisition order is checked like a real one's (the kernel's
 * __mmu_notifier_invalidate_range_start_map, an SRCU domain).
 * @class: class id, 0 until first use.
 * @name: class name used when @class is assigned lazily.
 */
struct lockdep_map {
	u32 class;
	const char *name;
};

#define STATIC_LOCKDEP_MAP_INIT(n) { 0, (n) }

/**
 * enum lockdep_kind - the rules the lock validator enforces.
 * @LOCKDEP_SLEEP_IN_ATOMIC: a task slept holding a spinlock_t or rwlock_t.
 * @LOCKDEP_SLEEP_IN_NONBLOCK: a task slept inside non_block_start()/end().
 * @LOCKDEP_ORDER_INVERSION: two lock classes were taken in both orders.
 * @LOCKDEP_SELF_DEADLOCK: a task waited for a lock it holds itself.
 * @LOCKDEP_NOT_HELD: a lockdep_assert_held*() failed.
 */
enum lockdep_kind {
	LOCKDEP_SLEEP_IN_ATOMIC,
	LOCKDEP_SLEEP_IN_NONBLOCK,
	LOCKDEP_ORDER_INVERSION,
	LOCKDEP_SELF_DEADLOCK,
	LOCKDEP_NOT_HELD,
	LOCKDEP_NR_KINDS,
};

/** lockdep_kind_name() - "sleep-in-atomic", ...; NULL if unknown. */
const char *lockdep_kind_name(enum lockdep_kind kind);

/**
 * typedef lockdep_hook_fn - receives every violation.
 * @ctx: the pointer given to lockdep_set_hook().
 * @kind: which rule was broken.
 * @report: one line naming the task(s), the locks and the sites.
 *
 * Called in the violating task, holding none of the validator's state; it
 * may take locks.  For LOCKDEP_SELF_DEADLOCK the run is abandoned after
 * the hook returns.
 */
typedef void (*lockdep_hook_fn)(void *ctx, enum lockdep_kind kind,
				const char *report);

/**
 * lockdep_set_hook() - install @fn (NULL: none) as the violation hook.
 * @fn: the hook.
 * @ctx: passed to it.
 *
 * Also empties the lock-order graph, so that a run started afterwards
 * reports an inversion only if it takes both orders itself (a seed then
 * replays alone).
 */
void lockdep_set_hook(lockdep_hook_fn fn, void *ctx);

/** lockdep_reset_graph() - forget every recorded lock order. */
void lockdep_reset_graph(void);

/** lockdep_count() - violations of @kind since the process started. */
unsigned long lockdep_count(enum lockdep_kind kind);

/* Back ends of the macros below. */
void __lockdep_assert(const void *lock, int mode, const char *what,
		      const char *site);
bool __lockdep_is_held(const void *lock, int mode);
void __might_sleep(const char *site);
void __non_block_start(const char *site);
void __non_block_end(void);
void __lock_map_acquire(struct lockdep_map *map, bool read, const char *site);
void __lock_map_release(struct lockdep_map *map);

#define LOCKDEP_HELD_ANY 0
#define LOCKDEP_HELD_WRITE 1
#define LOCKDEP_HELD_READ 2

/**
 * lockdep_assert_held() - the calling task holds @l (any lock type, any
 * mode); a LOCKDEP_NOT_HELD violation otherwise.
 */
#define lockdep_assert_held(l)                                                 \
	__lockdep_assert((l), LOCKDEP_HELD_ANY, #l, LOCK_SITE)
/** lockdep_assert_held_write() - the calling task holds @l exclusive. */
#define lockdep_assert_held_write(l)                                           \
	__lockdep_assert((l), LOCKDEP_HELD_WRITE, #l, LOCK_SITE)
/** lockdep_assert_held_read() - the calling task holds @l shared. */
#define lockdep_assert_held_read(l)                                            \
	__lockdep_assert((l), LOCKDEP_HELD_READ, #l, LOCK_SITE)
/** lockdep_is_held() - true when the calling task holds @l. */
#define lockdep_is_held(l) __lockdep_is_held((l), LOCKDEP_HELD_ANY)

/**
 * might_sleep() - the caller may sleep here: a violation when it holds a
 * spinlock_t or rwlock_t or is inside non_block_start()/non_block_end().
 * Every sleeping primitive of this header calls it.
 */
#define might_sleep() __might_sleep(LOCK_SITE)

/**
 * non_block_start() - begin a section that must not sleep although it
 * holds no spinlock (the kernel's non-blockable notifier callbacks).
 * Sections nest; non_block_end() ends the innermost one.
 */
#define non_block_start() __non_block_start(LOCK_SITE)
/** non_block_end() - end the section begun by non_block_start(). */
#define non_block_end() __non_block_end()

/** lock_map_acquire() - acquire pseudo lock @m exclusive (order checks). */
#define lock_map_acquire(m) __lock_map_acquire((m), false, LOCK_SITE)
/** lock_map_acquire_read() - acquire pseudo lock @m shared. */
#define lock_map_acquire_read(m) __lock_map_acquire((m), true, LOCK_SITE)
/** lock_map_release() - release pseudo lock @m. */
#define lock_map_release(m) __lock_map_release(m)

/* ---------------------------------------------------------------------
 * Observation
 *
 * The checker, statistics, traces and test hooks read and count what the
 * protocol does.  They must not change which interleavings the
 * deterministic scheduler explores, nor cost it steps, so these accesses
 * are atomic (real threads stay race-free, ThreadSanitizer stays quiet)
 * but are never scheduling points.  Nothing the protocol decides may
 * depend on a value read this way; a protocol read is READ_ONCE().
 */

/** OBSERVE_ONCE() - READ_ONCE() for observers: not a scheduling point. */
#define OBSERVE_ONCE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
/** OBSERVE_SET() - WRITE_ONCE() of observer-owned state: not a point. */
#define OBSERVE_SET(x, val) __atomic_store_n(&(x), (val), __ATOMIC_RELEASE)

/** atomic_long_observe() - atomic_long_read() for observers. */
static inline long atomic_long_observe(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

/**
 * stat_long_add() - add @i to the statistics counter @v: atomic, not a
 * scheduling point.  Read it back with atomic_long_observe().
 */
static inline void stat_long_add(long i, atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

/*
 * Per-CPU statistics (Linux's this_cpu_add() on vm_event_states and
 * friends): a counter has STAT_NR_CPUS slots, one cache line apart, each
 * thread adds to the slot stat_cpu() gives it, and a reader sums them.
 * Tasks counting at once on different threads thus write different cache
 * lines instead of one host-wide atomic.  A slot may be shared by two
 * threads (more threads than slots), so the adds stay atomic; none is a
 * scheduling point.
 */
#define STAT_NR_CPUS 16

extern __thread unsigned int __stat_cpu_plus1
	__attribute__((tls_model("initial-exec")));
unsigned int __stat_cpu_assign(void);

/**
 * stat_cpu() - the calling thread's slot in per-CPU statistics, in [0,
 * STAT_NR_CPUS): threads take the slots in turn at their first count.
 * Not a scheduling point.
 * Return: the slot.
 */
static inline unsigned int stat_cpu(void)
{
	unsigned int c = __stat_cpu_plus1;

	return likely(c) ? c - 1 : __stat_cpu_assign();
}

/* ---------------------------------------------------------------------
 * Locks.  Each is a futex word plus its owner and class for the
 * validator.
 */

/**
 * typedef spinlock_t - a short-hold mutual-exclusion lock.
 * @val: 0 free, 1 held, 2 held with waiters.
 * @owner: task id of the holder plus one, 0 when free.
 * @class: lock class id (0 until first use for statically set up locks).
 */
typedef struct {
	u32 val;
	u32 owner;
	u32 class;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED { 0, 0, 0 }

/* Back ends of the spinlock macros below (@site: the caller's LOCK_SITE). */
void __spin_lock_init(spinlock_t *lock, const char *name,
		      struct lock_class_key *key);
void _spin_lock(spinlock_t *lock, const char *site);
bool _spin_trylock(spinlock_t *lock, const char *site);

/**
 * spin_lock_init() - initialise @l as unlocked; the call site is its
 * class.
 */
#define spin_lock_init(l)                                                      \
	do {                                                                   \
		static struct lock_class_key __key;                            \
		__spin_lock_init((l), #l, &__key);                             \
	} while (0)
/** spin_lock() - acquire @l, waiting as long as it takes. */
#define spin_lock(l) _spin_lock((l), LOCK_SITE)
/** spin_trylock() - acquire @l if it is free; true on success. */
#define spin_trylock(l) _spin_trylock((l), LOCK_SITE)
/** spin_unlock() - release @lock, which the caller holds. */
void spin_unlock(spinlock_t *lock);
/** spin_is_locked() - true while someone holds @lock. */
bool spin_is_locked(spinlock_t *lock);

/**
 * struct mutex - a sleeping lock that records its owner.
 * @val: futex word, as for spinlock_t.
 * @owner: task id of the holder plus one, 0 when free (for assertions).
 * @class: lock class id.
 */
struct mutex {
	u32 val;
	u32 owner;
	u32 class;
};

#define __MUTEX_INITIALIZER { 0, 0, 0 }

/* Back ends of the mutex macros below. */
void __mutex_init(struct mutex *lock, const char *name,
		  struct lock_class_key *key);
void _mutex_lock(struct mutex *lock, const char *site);
bool _mutex_trylock(struct mutex *lock, const char *site);

/**
 * DEFINE_MUTEX() - define a file-local (static), unlocked mutex @n whose
 * class is named after it: DEFINE_MUTEX(name);
 */
#define DEFINE_MUTEX(n)                                                        \
	static struct mutex n = __MUTEX_INITIALIZER;                           \
	static void __attribute__((constructor)) __mutex_ctor_##n(void)        \
	{                                                                      \
		mutex_init(&n);                                                \
	}                                                                      \
	static struct mutex n

/** mutex_init() - initialise @l as unlocked; the call site is its class. */
#define mutex_init(l)                                                          \
	do {                                                                   \
		static struct lock_class_key __key;                            \
		__mutex_init((l), #l, &__key);                                 \
	} while (0)
/** mutex_lock() - acquire @l; may sleep. */
#define mutex_lock(l) _mutex_lock((l), LOCK_SITE)
/** mutex_trylock() - acquire @l if free; true on success. */
#define mutex_trylock(l) _mutex_trylock((l), LOCK_SITE)
/** mutex_unlock() - release @lock; the caller must be its owner. */
void mutex_unlock(struct mutex *lock);
/** mutex_is_locked() - true while someone holds @lock. */
bool mutex_is_locked(struct mutex *lock);
/** mutex_is_owner() - true when the calling task holds @lock. */
bool mutex_is_owner(struct mutex *lock);

/**
 * struct rw_semaphore - a sleeping, writer-preferring reader-writer lock.
 * @val: bits 0-28 count readers, bit 29 marks a writer waiting (new
 *       readers then wait too), bit 30 a writer holding it, bit 31 that
 *       someone may sleep on the word (the releaser wakes them); the
 *       layout kernel/locking/locks.c defines (RW_READERS ... RW_SLEEPERS).
 * @owner: task id of the writer plus one, 0 when no writer holds it.
 * @class: lock class id.
 */
struct rw_semaphore {
	u32 val;
	u32 owner;
	u32 class;
};

#define __RWSEM_INITIALIZER { 0, 0, 0 }

/* Back ends of the rw_semaphore macros below. */
void __init_rwsem(struct rw_semaphore *sem, const char *name,
		  struct lock_class_key *key);
void _down_read(struct rw_semaphore *sem, const char *site);
bool _down_read_trylock(struct rw_semaphore *sem, const char *site);
void _down_write(struct rw_semaphore *sem, const char *site);
bool _down_write_trylock(struct rw_semaphore *sem, const char *site);

/** init_rwsem() - initialise @s as unlocked; the call site is its class. */
#define init_rwsem(s)                                                          \
	do {                                                                   \
		static struct lock_class_key __key;                            \
		__init_rwsem((s), #s, &__key);                                 \
	} while (0)
/** down_read() - acquire @s shared; may sleep. */
#define down_read(s) _down_read((s), LOCK_SITE)
/** down_read_trylock() - acquire @s shared if possible; true on success. */
#define down_read_trylock(s) _down_read_trylock((s), LOCK_SITE)
/** up_read() - release a shared hold of @sem. */
void up_read(struct rw_semaphore *sem);
/** down_write() - acquire @s exclusive; may sleep. */
#define down_write(s) _down_write((s), LOCK_SITE)
/** down_write_trylock() - acquire @s exclusive if free; true on success. */
#define down_write_trylock(s) _down_write_trylock((s), LOCK_SITE)
/** up_write() - release an exclusive hold of @sem. */
void up_write(struct rw_semaphore *sem);
/** downgrade_write() - turn the caller's exclusive hold into a shared one. */
void downgrade_write(struct rw_semaphore *sem);
/** rwsem_is_locked() - true while @sem is held shared or exclusive. */
bool rwsem_is_locked(struct rw_semaphore *sem);
/** rwsem_is_write_owner() - true when the calling task holds @sem exclusive. */
bool rwsem_is_write_owner(struct rw_semaphore *sem);

/*
 * One CPU slot's readers of a per-CPU-reader rwlock_t.  The slots are
 * RWLOCK_SLOT_STRIDE bytes apart, and the first is that far from the lock
 * word, so that no two slots and no slot and the word share a cache line
 * whatever the alignment of the lock.
 */
#define RWLOCK_SLOT_STRIDE 128
struct rwlock_slot {
	u32 readers;
	char pad[RWLOCK_SLOT_STRIDE - sizeof(u32)];
};

/**
 * typedef rwlock_t - a non-sleeping reader-writer lock (KVM's mmu_lock).
 * @sem: the lock word, as struct rw_semaphore's: same fairness; the
 *       difference is the contract: a holder must not sleep, which the
 *       validator checks.
 * @percpu: readers count in @slot outside deterministic runs
 *       (percpu_rwlock_init()).
 * @nr_slots: per-CPU readers: how many slots readers have used so far,
 *       the slots a writer scans.
 * @slot: per-CPU readers: readers inside, per stat_cpu() slot.
 *
 * A per-CPU-reader lock ("big reader", as Linux's percpu_rw_semaphore) is
 * for a lock readers take far more often than writers: outside
 * deterministic runs a reader increments its own CPU slot's count and
 * then checks that no writer holds or wants the word, so readers on
 * different CPUs write no common cache line; a writer takes the word and
 * then waits for every slot to drain, so it costs a scan of the slots in
 * use.  In a deterministic run every rwlock_t uses the word alone.
 */
typedef struct {
	struct rw_semaphore sem;
	u32 percpu;
	u32 nr_slots;
	char pad[RWLOCK_SLOT_STRIDE - sizeof(struct rw_semaphore) -
		 2 * sizeof(u32)];
	struct rwlock_slot slot[STAT_NR_CPUS];
} rwlock_t;

/* Back ends of the rwlock_t macros below. */
void __rwlock_init(rwlock_t *lock, const char *name,
		   struct lock_class_key *key, bool percpu);
void _read_lock(rwlock_t *lock, const char *site);
bool _read_trylock(rwlock_t *lock, const char *site);
void _write_lock(rwlock_t *lock, const char *site);
bool _write_trylock(rwlock_t *lock, const char *site);
/** read_unlock() - release a shared hold of @lock. */
void read_unlock(rwlock_t *lock);
/** write_unlock() - release an exclusive hold of @lock. */
void write_unlock(rwlock_t *lock);

/** rwlock_init() - initialise @l as unlocked; the call site is its class. */
#define rwlock_init(l)                                                         \
	do {                                                                   \
		static struct lock_class_key __key;                            \
		__rwlock_init((l), #l, &__key, false);                         \
	} while (0)
/**
 * percpu_rwlock_init() - initialise @l as unlocked with per-CPU readers
 * outside deterministic runs (see rwlock_t); the call site is its class.
 */
#define percpu_rwlock_init(l)                                                  \
	do {                                                                   \
		static struct lock_class_key __key;                            \
		__rwlock_init((l), #l, &__key, true);                          \
	} while (0)
/** read_lock() - acquire @l shared, spinning. */
#define read_lock(l) _read_lock((l), LOCK_SITE)
/** read_trylock() - acquire @l shared if possible; true on success. */
#define read_trylock(l) _read_trylock((l), LOCK_SITE)
/** write_lock() - acquire @l exclusive, spinning. */
#define write_lock(l) _write_lock((l), LOCK_SITE)
/** write_trylock() - acquire @l exclusive if free; true on success. */
#define write_trylock(l) _write_trylock((l), LOCK_SITE)

/* ---------------------------------------------------------------------
 * Wait queues
 */

/**
 * typedef wait_queue_head_t - where tasks sleep until a condition holds.
 * @seq: bumped by every wake-up; sleepers wait for it to change.
 * @name: shown in reports of tasks blocked on it.
 */
typedef struct {
	u32 seq;
	const char *name;
} wait_queue_head_t;

/* Back end of init_waitqueue_head(). */
void __init_waitqueue_head(wait_queue_head_t *wq, const char *name);
/** init_waitqueue_head() - initialise @wq, named after the expression. */
#define init_waitqueue_head(wq) __init_waitqueue_head((wq), #wq)
/** wake_up_all() - wake every task sleeping on @wq. */
void wake_up_all(wait_queue_head_t *wq);

/* Internal halves of the wait_event() family; use the macros. */
u32 __wait_prepare(wait_queue_head_t *wq);
void __wait_sleep(wait_queue_head_t *wq, u32 seen);
bool __wait_sleep_timeout(wait_queue_head_t *wq, u32 seen, long *ms);
void __wait_finish(void);

/** ERESTARTSYS - a sleep interrupted by a signal (kernel-internal errno). */
#define ERESTARTSYS 512

/**
 * wait_event() - sleep until @cond is true.
 *
 * @cond is re-evaluated after every wake_up_all() on @wq, and after
 * kthread_stop() or a signal wakes the task; the waker must make @cond
 * true before it calls wake_up_all().  May sleep.
 */
#define wait_event(wq, cond)                                                   \
	do {                                                                   \
		might_sleep();                                                 \
		for (;;) {                                                     \
			u32 __seen = __wait_prepare(&(wq));                    \
			if (cond)                                              \
				break;                                         \
			__wait_sleep(&(wq), __seen);                           \
		}                                                              \
		__wait_finish();                                               \
	} while (0)

/**
 * wait_event_interruptible() - sleep until @cond is true or a signal is
 * pending for the task (set_signal_pending()).
 *
 * Return: 0 when @cond became true, -ERESTARTSYS when a signal came first.
 */
#define wait_event_interruptible(wq, cond)                                     \
	({                                                                     \
		int __ret = 0;                                                 \
		might_sleep();                                                 \
		for (;;) {                                                     \
			u32 __seen = __wait_prepare(&(wq));                    \
			if (cond)                                              \
				break;                                         \
			if (signal_pending(current)) {                         \
				__ret = -ERESTARTSYS;                          \
				break;                                         \
			}                                                      \
			__wait_sleep(&(wq), __seen);                           \
		}                                                              \
		__wait_finish();                                               \
		__ret;                                                         \
	})

/**
 * wait_event_timeout() - sleep until @cond is true or @timeout
 * milliseconds have passed (the model's jiffy is a millisecond).
 *
 * In a deterministic run time does not pass: a timed sleeper times out
 * only when no task of the run could run otherwise, so a timeout never
 * hides a wake-up that was still possible.
 *
 * Return: 0 if @cond was still false when the time ran out, otherwise
 * the milliseconds left, at least 1.
 */
#define wait_event_timeout(wq, cond, timeout)                                  \
	({                                                                     \
		long __left = (timeout);                                       \
		might_sleep();                                                 \
		for (;;) {                                                     \
			u32 __seen = __wait_prepare(&(wq));                    \
			if (cond) {                                            \
				__left = __left > 0 ? __left : 1;              \
				break;                                         \
			}                                                      \
			if (__left <= 0 ||                                     \
			    __wait_sleep_timeout(&(wq), __seen, &__left)) {    \
				__left = (cond) ? 1 : 0;                       \
				break;                                         \
			}                                                      \
		}                                                              \
		__wait_finish();                                               \
		__left;                                                        \
	})

/* ---------------------------------------------------------------------
 * Tasks
 */

struct task_struct;

/**
 * kthread_run() - start a task running @fn(@data).
 * @fn: the task's body; its return value is what kthread_stop() returns.
 * @data: argument for @fn.
 * @name: name shown in logs and traces (truncated to 15 characters).
 *
 * In a deterministic run the new task is scheduled like every other.
 *
 * Return: the task, or ERR_PTR(-ENOMEM/-EAGAIN).
 */
struct task_struct *kthread_run(int (*fn)(void *data), void *data,
				const char *name);

/**
 * kthread_stop() - ask @t to stop, wait for it to exit, free it.
 *
 * Sets the flag kthread_should_stop() reads, wakes @t if it sleeps in a
 * wait_event*() (which re-evaluates its condition, as in the kernel), then
 * waits; a task that has already returned is simply reaped.  May sleep.
 *
 * Return: the value @t's function returned.
 */
int kthread_stop(struct task_struct *t);

/** kthread_should_stop() - true once kthread_stop() was called on current. */
bool kthread_should_stop(void);

/**
 * get_current() - the calling task.  Threads that mmulab did not start
 * get a task structure on first use.
 */
struct task_struct *get_current(void);
#define current get_current()

/** task_pid() - small integer id of @t, unique while it lives. */
int task_pid(const struct task_struct *t);
/** task_comm() - name of @t. */
const char *task_comm(const struct task_struct *t);
/**
 * set_task_comm() - rename @t to @name (truncated to 15 characters), the
 * name every report uses.  Call it on current, or on a task before it
 * runs.
 */
void set_task_comm(struct task_struct *t, const char *name);

/**
 * signal_pending() - true if a signal is pending for @t.  mmulab has no
 * real signals; tests inject them with set_signal_pending() to drive the
 * -EINTR paths (mm_take_all_locks(), for one).
 */
bool signal_pending(struct task_struct *t);
/**
 * set_signal_pending() - mark or clear a pending signal on @t.  Marking
 * wakes @t if it sleeps in a wait_event*() (the kernel's
 * signal_wake_up()), so wait_event_interruptible() returns -ERESTARTSYS.
 */
void set_signal_pending(struct task_struct *t, bool pending);

/**
 * task_waiting_on() - what @t sleeps on at this moment, for diagnostics
 * (a watchdog naming what each task of a stalled run waits for).
 * @t: a live task.
 * @kind: if not NULL, set to "lock" (spinlock_t, struct mutex),
 *	"rw_semaphore" (also rwlock_t) or "wait queue" (wait_event(), the
 *	page lock), or NULL when @t is not sleeping.
 *
 * A snapshot taken without a scheduling point; outside deterministic runs
 * only (there a blocked task is the scheduler's to report).
 *
 * Return: the lock word or wait queue @t sleeps on, or NULL when it runs.
 */
const void *task_waiting_on(const struct task_struct *t, const char **kind);

/** cond_resched() - a voluntary scheduling point; may sleep. */
void cond_resched(void);
/**
 * cpu_relax() - one iteration of a busy wait: a scheduling point in a
 * deterministic run, a yield of the processor otherwise, so the task
 * waited for can run even when threads outnumber processors.
 */
void cpu_relax(void);
/**
 * msleep() - sleep @ms milliseconds (a single yield in a deterministic
 * run).  May sleep.
 */
void msleep(unsigned int ms);

/* Task flags (the kernel's PF_*). */
#define PF_MEMALLOC 0x00000800U	/* reclaiming: allocations must not reclaim */

/**
 * memalloc_noreclaim_save() - mark the calling task as reclaiming, so that
 * allocations it makes do not enter reclaim again (PF_MEMALLOC).
 *
 * Return: the previous state, for memalloc_noreclaim_restore().
 */
unsigned int memalloc_noreclaim_save(void);
/**
 * memalloc_noreclaim_restore() - undo memalloc_noreclaim_save().
 * @flags: what the matching save returned.
 */
void memalloc_noreclaim_restore(unsigned int flags);
/** current_in_reclaim() - true while the calling task has PF_MEMALLOC set. */
bool current_in_reclaim(void);

/* ---------------------------------------------------------------------
 * SRCU
 */

/**
 * struct callback_head - deferred-callback node (the kernel's rcu_head).
 * @func: the callback.
 * @__impl: storage used by the RCU implementation while the node is queued.
 */
struct callback_head {
	void (*func)(struct callback_head *head);
	void *__impl[3];
};

/*
 * One CPU slot's SRCU reader counters (Linux's struct srcu_data): how
 * many read sections entered and left with each index.  The slots are
 * SRCU_DATA_STRIDE bytes apart, so that two slots never share a cache
 * line whatever the alignment of the domain.
 */
#define SRCU_DATA_STRIDE 128
struct srcu_data {
	unsigned long lock_count[2];
	unsigned long unlock_count[2];
	char pad[SRCU_DATA_STRIDE - 4 * sizeof(unsigned long)];
};

/**
 * struct srcu_struct - a sleepable-RCU domain.
 * @det_readers: deterministic runs: readers per index.
 * @det_idx: deterministic runs: the index new readers take.
 * @gp_mutex: deterministic runs: serialises grace periods.
 * @det_cbs: deterministic runs: callbacks waiting for a grace period.
 * @det_wq: deterministic runs: where grace periods wait.
 * @dep_map: the domain's lock class for the validator.
 * @srcu_idx: real threads: the index new readers take (bit 0).
 * @sda_gap: keeps @sda out of the cache lines of the fields every reader
 *	reads (@srcu_idx, @dep_map): a slot's counts there would make every
 *	reader's read of them miss whenever that slot's reader writes.
 * @sda: real threads: the reader counters, per CPU slot (stat_cpu()).
 *
 * Readers may sleep.  With real threads a reader increments only its own
 * CPU slot's counters, as Linux's srcu_read_lock() does this_cpu_inc(),
 * so readers on different CPUs write no common cache line; a grace
 * period sums the slots.  Inside a deterministic run each domain keeps
 * two-phase reader counters of its own and its grace periods are
 * scheduled like any other wait.
 */
struct srcu_struct {
	long det_readers[2];
	int det_idx;
	struct mutex gp_mutex;
	struct callback_head *det_cbs;
	wait_queue_head_t det_wq;
	struct lockdep_map dep_map;
	unsigned long srcu_idx;
	char sda_gap[SRCU_DATA_STRIDE];
	struct srcu_data sda[STAT_NR_CPUS];
};

/* Back end of init_srcu_struct(). */
int __init_srcu_struct(struct srcu_struct *ssp, const char *name,
		       struct lock_class_key *key);
/**
 * init_srcu_struct() - initialise @s; returns 0.  The call site is the
 * domain's lock class: a read section is a shared hold of it, so
 * synchronize_srcu() inside one of the same domain is a self-deadlock and
 * lock order through a grace period is checked.
 */
#define init_srcu_struct(s)                                                    \
	({                                                                     \
		static struct lock_class_key __key;                            \
		__init_srcu_struct((s), #s, &__key);                           \
	})
/** cleanup_srcu_struct() - wait for @ssp's callbacks and tear it down. */
void cleanup_srcu_struct(struct srcu_struct *ssp);
/* Back ends of srcu_read_lock() and synchronize_srcu(). */
int _srcu_read_lock(struct srcu_struct *ssp, const char *site);
void _synchronize_srcu(struct srcu_struct *ssp, const char *site);
/** srcu_read_lock() - enter a read-side section of @s; returns its index. */
#define srcu_read_lock(s) _srcu_read_lock((s), LOCK_SITE)
/** srcu_read_unlock() - leave the section that returned @idx. */
void srcu_read_unlock(struct srcu_struct *ssp, int idx);
/**
 * synchronize_srcu() - wait until every read-side section of @s that
 * began before the call has ended.  May sleep; called from inside a read
 * section of @s it is reported as a self-deadlock.
 */
#define synchronize_srcu(s) _synchronize_srcu((s), LOCK_SITE)
/** call_srcu() - run @func(@head) after a grace period of @ssp. */
void call_srcu(struct srcu_struct *ssp, struct callback_head *head,
	       void (*func)(struct callback_head *head));
/** srcu_barrier() - wait until every callback queued by call_srcu() ran. */
void srcu_barrier(struct srcu_struct *ssp);

/** rcu_dereference() - load an RCU-protected pointer. */
#define rcu_dereference(p) READ_ONCE(p)
/** rcu_assign_pointer() - publish @v at RCU-protected pointer @p. */
#define rcu_assign_pointer(p, v) WRITE_ONCE(p, v)

#endif /* MMULAB_SYNC_H */
