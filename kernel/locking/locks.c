// SPDX-License-Identifier: MIT
/*
 * Locks and wait queues of the concurrency layer.
 *
 * Each lock is one 32-bit word.  Outside a deterministic run a contended
 * acquirer sleeps on the word with futex(2); inside one it blocks in the
 * deterministic scheduler, which then runs another task.  The fast paths
 * (an uncontended compare-and-swap) are shared by both modes.
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mmulab/bug.h>
#include "../internal.h"

static void futex_wait(u32 *uaddr, u32 val)
{
	syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(u32 *uaddr, int nr)
{
	syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, nr, NULL, NULL, 0);
}

static bool word_cas(u32 *w, u32 *old, u32 new)
{
	return __atomic_compare_exchange_n(w, old, new, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static u32 owner_id(void)
{
	return (u32)task_pid(current) + 1;
}

/* ---------------------------------------------------------------------
 * Mutual exclusion: 0 free, 1 held, 2 held and somebody may sleep.
 */

static bool excl_trylock(u32 *w)
{
	u32 old = 0;

	return word_cas(w, &old, 1);
}

static void excl_lock(u32 *w)
{
	u32 c = 0;

	sync_point(SP_LOCK, w);
	if (word_cas(w, &c, 1))
		return;
	if (det_on()) {
		while (!excl_trylock(w))
			det_block_on(w);
		return;
	}
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		futex_wait(w, 2);
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	}
}

static void excl_unlock(u32 *w)
{
	sync_point(SP_UNLOCK, w);
	if (det_on()) {
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
		det_wake(w);
		return;
	}
	if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2)
		futex_wake(w, 1);
}

void spin_lock_init(spinlock_t *lock)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
}

void spin_lock(spinlock_t *lock)
{
	excl_lock(&lock->val);
}

bool spin_trylock(spinlock_t *lock)
{
	sync_point(SP_LOCK, lock);
	return excl_trylock(&lock->val);
}

void spin_unlock(spinlock_t *lock)
{
	WARN_ON_ONCE(!__atomic_load_n(&lock->val, __ATOMIC_RELAXED));
	excl_unlock(&lock->val);
}

bool spin_is_locked(spinlock_t *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED) != 0;
}

void mutex_init(struct mutex *lock)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
}

void mutex_lock(struct mutex *lock)
{
	excl_lock(&lock->val);
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
}

bool mutex_trylock(struct mutex *lock)
{
	sync_point(SP_LOCK, lock);
	if (!excl_trylock(&lock->val))
		return false;
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
	return true;
}

void mutex_unlock(struct mutex *lock)
{
	WARN_ON_ONCE(!mutex_is_owner(lock));
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	excl_unlock(&lock->val);
}

bool mutex_is_locked(struct mutex *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED) != 0;
}

bool mutex_is_owner(struct mutex *lock)
{
	return __atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == owner_id();
}

/* ---------------------------------------------------------------------
 * Reader-writer semaphore.
 *
 *   bits 0-28  readers holding it
 *   bit 29     a writer is waiting: new readers wait too (writer
 *              preference, so readers cannot starve a writer)
 *   bit 30     a writer holds it
 *   bit 31     somebody may be asleep on the word: the releaser wakes all
 */
#define RW_READERS 0x1fffffffU
#define RW_WANTS (1U << 29)
#define RW_WRITER (1U << 30)
#define RW_SLEEPERS (1U << 31)

static void rw_wake_all(struct rw_semaphore *sem)
{
	futex_wake(&sem->val, INT_MAX);
}

/* Sleep on @sem until its word changes from @v, marking the sleep first. */
static void rw_sleep(struct rw_semaphore *sem, u32 v, u32 extra)
{
	u32 nv = v | RW_SLEEPERS | extra;

	if (nv != v && !__atomic_compare_exchange_n(&sem->val, &v, nv, false,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
		return;
	futex_wait(&sem->val, nv);
}

void init_rwsem(struct rw_semaphore *sem)
{
	__atomic_store_n(&sem->val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sem->owner, 0, __ATOMIC_RELAXED);
}

static bool rw_try_read(struct rw_semaphore *sem, u32 *v)
{
	*v = __atomic_load_n(&sem->val, __ATOMIC_RELAXED);
	while (!(*v & (RW_WRITER | RW_WANTS))) {
		if (word_cas(&sem->val, v, *v + 1))
			return true;
	}
	return false;
}

bool down_read_trylock(struct rw_semaphore *sem)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	return rw_try_read(sem, &v);
}

void down_read(struct rw_semaphore *sem)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	while (!rw_try_read(sem, &v)) {
		if (det_on())
			det_block_on(sem);
		else
			rw_sleep(sem, v, 0);
	}
}

void up_read(struct rw_semaphore *sem)
{
	u32 v;

	sync_point(SP_UNLOCK, sem);
	v = __atomic_sub_fetch(&sem->val, 1, __ATOMIC_RELEASE);
	WARN_ON_ONCE((v & RW_READERS) == RW_READERS);
	if (det_on()) {
		if (!(v & RW_READERS))
			det_wake(sem);
		return;
	}
	while (!(v & RW_READERS) && (v & RW_SLEEPERS)) {
		if (__atomic_compare_exchange_n(&sem->val, &v,
						v & ~RW_SLEEPERS, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			rw_wake_all(sem);
			break;
		}
	}
}

static bool rw_try_write(struct rw_semaphore *sem, u32 *v)
{
	*v = __atomic_load_n(&sem->val, __ATOMIC_RELAXED);
	while (!(*v & (RW_READERS | RW_WRITER))) {
		if (word_cas(&sem->val, v, (*v & ~RW_WANTS) | RW_WRITER)) {
			__atomic_store_n(&sem->owner, owner_id(),
					 __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

bool down_write_trylock(struct rw_semaphore *sem)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	return rw_try_write(sem, &v);
}

void down_write(struct rw_semaphore *sem)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	while (!rw_try_write(sem, &v)) {
		if (det_on()) {
			__atomic_fetch_or(&sem->val, RW_WANTS,
					  __ATOMIC_RELAXED);
			det_block_on(sem);
		} else {
			rw_sleep(sem, v, RW_WANTS);
		}
	}
}

void up_write(struct rw_semaphore *sem)
{
	u32 v;

	WARN_ON_ONCE(!rwsem_is_write_owner(sem));
	sync_point(SP_UNLOCK, sem);
	__atomic_store_n(&sem->owner, 0, __ATOMIC_RELAXED);
	v = __atomic_exchange_n(&sem->val, 0, __ATOMIC_RELEASE);
	if (det_on())
		det_wake(sem);
	else if (v & RW_SLEEPERS)
		rw_wake_all(sem);
}

void downgrade_write(struct rw_semaphore *sem)
{
	u32 v;

	WARN_ON_ONCE(!rwsem_is_write_owner(sem));
	sync_point(SP_UNLOCK, sem);
	__atomic_store_n(&sem->owner, 0, __ATOMIC_RELAXED);
	v = __atomic_exchange_n(&sem->val, 1, __ATOMIC_RELEASE);
	if (det_on())
		det_wake(sem);
	else if (v & RW_SLEEPERS)
		rw_wake_all(sem);
}

bool rwsem_is_locked(struct rw_semaphore *sem)
{
	return __atomic_load_n(&sem->val, __ATOMIC_RELAXED) &
	       (RW_READERS | RW_WRITER);
}

bool rwsem_is_write_owner(struct rw_semaphore *sem)
{
	return __atomic_load_n(&sem->owner, __ATOMIC_RELAXED) == owner_id();
}

/* ---------------------------------------------------------------------
 * Wait queues.  A waiter samples @seq, checks its condition, and sleeps
 * only while @seq still has the sampled value; a waker makes the condition
 * true and then bumps @seq, so no wake-up can fall between the check and
 * the sleep.
 */

void init_waitqueue_head(wait_queue_head_t *wq)
{
	__atomic_store_n(&wq->seq, 0, __ATOMIC_RELAXED);
}

u32 __wait_prepare(wait_queue_head_t *wq)
{
	u32 seen;

	sync_point(SP_WAIT, wq);
	seen = __atomic_load_n(&wq->seq, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return seen;
}

void __wait_sleep(wait_queue_head_t *wq, u32 seen)
{
	if (det_on()) {
		if (__atomic_load_n(&wq->seq, __ATOMIC_SEQ_CST) == seen)
			det_block_on(wq);
		return;
	}
	futex_wait(&wq->seq, seen);
}

void wake_up_all(wait_queue_head_t *wq)
{
	sync_point(SP_WAKE, wq);
	__atomic_fetch_add(&wq->seq, 1, __ATOMIC_SEQ_CST);
	if (det_on())
		det_wake(wq);
	else
		futex_wake(&wq->seq, INT_MAX);
}
