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
 * map onto futexes, GCC's __atomic builtins and liburcu, and cost no more
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
	}

__MMULAB_ATOMIC_OPS(atomic, atomic_t, int)
__MMULAB_ATOMIC_OPS(atomic_long, atomic_long_t, long)

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

/* ---------------------------------------------------------------------
 * Locks.  Each is one futex word (the reader-writer ones add nothing
 * else), so they are small enough to live in per-frame metadata.
 */

/**
 * typedef spinlock_t - a short-hold mutual-exclusion lock.
 * @val: 0 free, 1 held, 2 held with waiters.
 */
typedef struct {
	u32 val;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED { 0 }

/** spin_lock_init() - initialise @lock as unlocked. */
void spin_lock_init(spinlock_t *lock);
/** spin_lock() - acquire @lock, waiting as long as it takes. */
void spin_lock(spinlock_t *lock);
/** spin_trylock() - acquire @lock if it is free; true on success. */
bool spin_trylock(spinlock_t *lock);
/** spin_unlock() - release @lock, which the caller holds. */
void spin_unlock(spinlock_t *lock);
/** spin_is_locked() - true while someone holds @lock. */
bool spin_is_locked(spinlock_t *lock);

/**
 * struct mutex - a sleeping lock that records its owner.
 * @val: futex word, as for spinlock_t.
 * @owner: task id of the holder plus one, 0 when free (for assertions).
 */
struct mutex {
	u32 val;
	u32 owner;
};

#define __MUTEX_INITIALIZER { 0, 0 }

/** mutex_init() - initialise @lock as unlocked. */
void mutex_init(struct mutex *lock);
/** mutex_lock() - acquire @lock. */
void mutex_lock(struct mutex *lock);
/** mutex_trylock() - acquire @lock if free; true on success. */
bool mutex_trylock(struct mutex *lock);
/** mutex_unlock() - release @lock; the caller must be its owner. */
void mutex_unlock(struct mutex *lock);
/** mutex_is_locked() - true while someone holds @lock. */
bool mutex_is_locked(struct mutex *lock);
/** mutex_is_owner() - true when the calling task holds @lock. */
bool mutex_is_owner(struct mutex *lock);

/**
 * struct rw_semaphore - a sleeping, writer-preferring reader-writer lock.
 * @val: bits 0-29 count readers, bit 30 marks a writer holding it, bit 31
 *       marks writers waiting (new readers then wait too).
 * @owner: task id of the writer plus one, 0 when no writer holds it.
 */
struct rw_semaphore {
	u32 val;
	u32 owner;
};

#define __RWSEM_INITIALIZER { 0, 0 }

/** init_rwsem() - initialise @sem as unlocked. */
void init_rwsem(struct rw_semaphore *sem);
/** down_read() - acquire @sem shared. */
void down_read(struct rw_semaphore *sem);
/** down_read_trylock() - acquire @sem shared if possible; true on success. */
bool down_read_trylock(struct rw_semaphore *sem);
/** up_read() - release a shared hold of @sem. */
void up_read(struct rw_semaphore *sem);
/** down_write() - acquire @sem exclusive. */
void down_write(struct rw_semaphore *sem);
/** down_write_trylock() - acquire @sem exclusive if free; true on success. */
bool down_write_trylock(struct rw_semaphore *sem);
/** up_write() - release an exclusive hold of @sem. */
void up_write(struct rw_semaphore *sem);
/** downgrade_write() - turn the caller's exclusive hold into a shared one. */
void downgrade_write(struct rw_semaphore *sem);
/** rwsem_is_locked() - true while @sem is held shared or exclusive. */
bool rwsem_is_locked(struct rw_semaphore *sem);
/** rwsem_is_write_owner() - true when the calling task holds @sem exclusive. */
bool rwsem_is_write_owner(struct rw_semaphore *sem);

/**
 * typedef rwlock_t - a non-sleeping reader-writer lock (KVM's mmu_lock).
 *
 * Same word and same fairness as struct rw_semaphore; the difference is
 * the contract: a holder must not block on another task.
 */
typedef struct rw_semaphore rwlock_t;

#define rwlock_init(l) init_rwsem(l)
#define read_lock(l) down_read(l)
#define read_trylock(l) down_read_trylock(l)
#define read_unlock(l) up_read(l)
#define write_lock(l) down_write(l)
#define write_trylock(l) down_write_trylock(l)
#define write_unlock(l) up_write(l)

/* ---------------------------------------------------------------------
 * Wait queues
 */

/**
 * typedef wait_queue_head_t - where tasks sleep until a condition holds.
 * @seq: bumped by every wake-up; sleepers wait for it to change.
 */
typedef struct {
	u32 seq;
} wait_queue_head_t;

/** init_waitqueue_head() - initialise @wq. */
void init_waitqueue_head(wait_queue_head_t *wq);
/** wake_up_all() - wake every task sleeping on @wq. */
void wake_up_all(wait_queue_head_t *wq);

/* Internal halves of wait_event(); use the macro. */
u32 __wait_prepare(wait_queue_head_t *wq);
void __wait_sleep(wait_queue_head_t *wq, u32 seen);

/**
 * wait_event() - sleep until @cond is true.
 *
 * @cond is re-evaluated after every wake_up_all() on @wq; the waker must
 * make @cond true before it calls wake_up_all().
 */
#define wait_event(wq, cond)                                                   \
	do {                                                                   \
		for (;;) {                                                     \
			u32 __seen = __wait_prepare(&(wq));                    \
			if (cond)                                              \
				break;                                         \
			__wait_sleep(&(wq), __seen);                           \
		}                                                              \
	} while (0)

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
 * Sets the flag kthread_should_stop() reads, then waits; a task that has
 * already returned is simply reaped.
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
 * signal_pending() - true if a signal is pending for @t.  mmulab has no
 * real signals; tests inject them with set_signal_pending() to drive the
 * -EINTR paths (mm_take_all_locks(), for one).
 */
bool signal_pending(struct task_struct *t);
/** set_signal_pending() - mark or clear a pending signal on @t. */
void set_signal_pending(struct task_struct *t, bool pending);

/** cond_resched() - a voluntary scheduling point. */
void cond_resched(void);
/**
 * cpu_relax() - one iteration of a busy wait: a scheduling point in a
 * deterministic run, a yield of the processor otherwise, so the task
 * waited for can run even when threads outnumber processors.
 */
void cpu_relax(void);
/** msleep() - sleep @ms milliseconds (a single yield in a deterministic run). */
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

/**
 * struct srcu_struct - a sleepable-RCU domain.
 *
 * Readers may sleep.  Outside deterministic runs every domain maps onto
 * liburcu's bullet-proof flavour (one global domain, so a grace period of
 * one domain may also wait for readers of another: stronger, never weaker).
 * Inside a deterministic run each domain keeps its own two-phase reader
 * counters and its grace periods are scheduled like any other wait.
 */
struct srcu_struct {
	long det_readers[2];
	int det_idx;
	struct mutex gp_mutex;
	struct callback_head *det_cbs;
	wait_queue_head_t det_wq;
};

/** init_srcu_struct() - initialise @ssp; returns 0. */
int init_srcu_struct(struct srcu_struct *ssp);
/** cleanup_srcu_struct() - wait for @ssp's callbacks and tear it down. */
void cleanup_srcu_struct(struct srcu_struct *ssp);
/** srcu_read_lock() - enter a read-side section; returns its index. */
int srcu_read_lock(struct srcu_struct *ssp);
/** srcu_read_unlock() - leave the section that returned @idx. */
void srcu_read_unlock(struct srcu_struct *ssp, int idx);
/**
 * synchronize_srcu() - wait until every read-side section of @ssp that
 * began before the call has ended.  Must not be called from inside one.
 */
void synchronize_srcu(struct srcu_struct *ssp);
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
