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
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mmulab/bug.h>
#include "../internal.h"

/*
 * Sleep on @uaddr while it holds @val.  What the task sleeps on is noted
 * in it for task_waiting_on() (a watchdog's report); plain atomics, not
 * scheduling points: observation only.
 */
static void futex_wait_until(u32 *uaddr, u32 val, const char *kind,
			     const struct timespec *timeout)
{
	struct task_struct *t = current;

	__atomic_store_n(&t->waiting_kind, kind, __ATOMIC_RELAXED);
	__atomic_store_n(&t->waiting_on, (const void *)uaddr,
			 __ATOMIC_RELEASE);
	syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
	__atomic_store_n(&t->waiting_on, NULL, __ATOMIC_RELAXED);
}

static void futex_wait(u32 *uaddr, u32 val, const char *kind)
{
	futex_wait_until(uaddr, val, kind, NULL);
}

const void *task_waiting_on(const struct task_struct *t, const char **kind)
{
	const void *obj = __atomic_load_n(&t->waiting_on, __ATOMIC_ACQUIRE);

	if (kind)
		*kind = obj ? __atomic_load_n(&t->waiting_kind,
					      __ATOMIC_RELAXED)
			    : NULL;
	return obj;
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

/* Name what the calling task is about to block on, for reports. */
static void blocking_on(u32 class)
{
	current->blocked_name = lockdep_class_name(class);
}

static void excl_lock(u32 *w, u32 class)
{
	u32 c = 0;

	sync_point(SP_LOCK, w);
	if (word_cas(w, &c, 1))
		return;
	if (det_on()) {
		blocking_on(class);
		while (!excl_trylock(w))
			det_block_on(w);
		return;
	}
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		futex_wait(w, 2, "lock");
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

void __spin_lock_init(spinlock_t *lock, const char *name,
		      struct lock_class_key *key)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	lockdep_init_class(&lock->class, name, key);
}

void _spin_lock(spinlock_t *lock, const char *site)
{
	lockdep_acquire(lock, &lock->class, LT_SPIN, false, site);
	excl_lock(&lock->val, lock->class);
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
}

bool _spin_trylock(spinlock_t *lock, const char *site)
{
	sync_point(SP_LOCK, lock);
	if (!excl_trylock(&lock->val))
		return false;
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
	lockdep_acquired_try(lock, &lock->class, LT_SPIN, false, site);
	return true;
}

void spin_unlock(spinlock_t *lock)
{
	WARN_ON_ONCE(!__atomic_load_n(&lock->val, __ATOMIC_RELAXED));
	lockdep_release(lock);
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	excl_unlock(&lock->val);
}

bool spin_is_locked(spinlock_t *lock)
{
	return __atomic_load_n(&lock->val, __ATOMIC_RELAXED) != 0;
}

void __mutex_init(struct mutex *lock, const char *name,
		  struct lock_class_key *key)
{
	__atomic_store_n(&lock->val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	lockdep_init_class(&lock->class, name, key);
}

void _mutex_lock(struct mutex *lock, const char *site)
{
	__might_sleep(site);
	lockdep_acquire(lock, &lock->class, LT_MUTEX, false, site);
	excl_lock(&lock->val, lock->class);
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
}

bool _mutex_trylock(struct mutex *lock, const char *site)
{
	sync_point(SP_LOCK, lock);
	if (!excl_trylock(&lock->val))
		return false;
	__atomic_store_n(&lock->owner, owner_id(), __ATOMIC_RELAXED);
	lockdep_acquired_try(lock, &lock->class, LT_MUTEX, false, site);
	return true;
}

void mutex_unlock(struct mutex *lock)
{
	WARN_ON_ONCE(!mutex_is_owner(lock));
	lockdep_release(lock);
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
	futex_wait(&sem->val, nv, "rw_semaphore");
}

static void rw_init(struct rw_semaphore *sem, const char *name,
		    struct lock_class_key *key)
{
	__atomic_store_n(&sem->val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sem->owner, 0, __ATOMIC_RELAXED);
	lockdep_init_class(&sem->class, name, key);
}

void __init_rwsem(struct rw_semaphore *sem, const char *name,
		  struct lock_class_key *key)
{
	rw_init(sem, name, key);
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

static bool rw_read_trylock(struct rw_semaphore *sem, enum lock_type type,
			    const char *site)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	if (!rw_try_read(sem, &v))
		return false;
	lockdep_acquired_try(sem, &sem->class, type, true, site);
	return true;
}

static void rw_read_lock(struct rw_semaphore *sem, enum lock_type type,
			 const char *site)
{
	u32 v;

	lockdep_acquire(sem, &sem->class, type, true, site);
	sync_point(SP_LOCK, sem);
	while (!rw_try_read(sem, &v)) {
		if (det_on()) {
			blocking_on(sem->class);
			det_block_on(sem);
		} else {
			rw_sleep(sem, v, 0);
		}
	}
}

bool _down_read_trylock(struct rw_semaphore *sem, const char *site)
{
	return rw_read_trylock(sem, LT_RWSEM, site);
}

void _down_read(struct rw_semaphore *sem, const char *site)
{
	__might_sleep(site);
	rw_read_lock(sem, LT_RWSEM, site);
}

void up_read(struct rw_semaphore *sem)
{
	u32 v;

	lockdep_release(sem);
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
	/*
	 * Sequentially consistent: a per-CPU-reader rwlock_t's writer then
	 * reads the reader slots (see pcpu_try_read()).
	 */
	while (!(*v & (RW_READERS | RW_WRITER))) {
		if (__atomic_compare_exchange_n(&sem->val, v,
						(*v & ~RW_WANTS) | RW_WRITER,
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED)) {
			__atomic_store_n(&sem->owner, owner_id(),
					 __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

static bool rw_write_trylock(struct rw_semaphore *sem, enum lock_type type,
			     const char *site)
{
	u32 v;

	sync_point(SP_LOCK, sem);
	if (!rw_try_write(sem, &v))
		return false;
	lockdep_acquired_try(sem, &sem->class, type, false, site);
	return true;
}

static void rw_write_lock(struct rw_semaphore *sem, enum lock_type type,
			  const char *site)
{
	u32 v;

	lockdep_acquire(sem, &sem->class, type, false, site);
	sync_point(SP_LOCK, sem);
	while (!rw_try_write(sem, &v)) {
		if (det_on()) {
			__atomic_fetch_or(&sem->val, RW_WANTS,
					  __ATOMIC_RELAXED);
			blocking_on(sem->class);
			det_block_on(sem);
		} else {
			rw_sleep(sem, v, RW_WANTS);
		}
	}
}

bool _down_write_trylock(struct rw_semaphore *sem, const char *site)
{
	return rw_write_trylock(sem, LT_RWSEM, site);
}

void _down_write(struct rw_semaphore *sem, const char *site)
{
	__might_sleep(site);
	rw_write_lock(sem, LT_RWSEM, site);
}

/* Release the word held for write and wake whoever sleeps on it. */
static void rw_write_release(struct rw_semaphore *sem)
{
	u32 v;

	__atomic_store_n(&sem->owner, 0, __ATOMIC_RELAXED);
	v = __atomic_exchange_n(&sem->val, 0, __ATOMIC_RELEASE);
	if (det_on())
		det_wake(sem);
	else if (v & RW_SLEEPERS)
		rw_wake_all(sem);
}

void up_write(struct rw_semaphore *sem)
{
	WARN_ON_ONCE(!rwsem_is_write_owner(sem));
	lockdep_release(sem);
	sync_point(SP_UNLOCK, sem);
	rw_write_release(sem);
}

void downgrade_write(struct rw_semaphore *sem)
{
	u32 v;

	WARN_ON_ONCE(!rwsem_is_write_owner(sem));
	lockdep_downgrade(sem);
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
 * rwlock_t: the reader-writer word above, or, for a lock set up by
 * percpu_rwlock_init() and outside deterministic runs, per-CPU readers.
 *
 * A per-CPU reader increments its stat_cpu() slot and then reads the
 * word; a writer takes the word (RW_WRITER, or RW_WANTS while it waits
 * for another writer) and then reads every slot in use.  Both sides are
 * sequentially consistent read-modify-writes and loads (not bare fences,
 * which ThreadSanitizer does not model), so at least one sees the other:
 * the reader sees the writer and counts itself out again, or the writer
 * sees the reader and waits for its slot to drain (spinning briefly, then
 * asleep until a reader leaving wakes it).  Readers thus write
 * only their own slot's cache line; a writer's cost grows with the slots
 * readers of this lock have used, not with STAT_NR_CPUS.
 */

/* Busy checks of a slot before a writer starts yielding its CPU. */
#define RWLOCK_SPINS 64

void __rwlock_init(rwlock_t *lock, const char *name,
		   struct lock_class_key *key, bool percpu)
{
	rw_init(&lock->sem, name, key);
	memset(lock->slot, 0, sizeof(lock->slot));
	__atomic_store_n(&lock->nr_slots, 0, __ATOMIC_RELAXED);
	lock->percpu = percpu;
}

static bool rwlock_pcpu(const rwlock_t *lock)
{
	return lock->percpu && !det_on();
}

/* Make slot @c one a writer scans, before its first count. */
static void pcpu_use_slot(rwlock_t *lock, unsigned int c)
{
	u32 n = __atomic_load_n(&lock->nr_slots, __ATOMIC_SEQ_CST);

	while (n <= c &&
	       !__atomic_compare_exchange_n(&lock->nr_slots, &n, c + 1, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static bool pcpu_slot_busy(rwlock_t *lock, unsigned int c)
{
	return __atomic_load_n(&lock->slot[c].readers, __ATOMIC_SEQ_CST);
}

/*
 * Sleep until a reader of slot @c may have left: with the word held for
 * write, RW_WANTS asks the readers leaving to wake us (pcpu_leave()).
 * Set before the slot is checked again, so either we see the reader gone
 * or it sees RW_WANTS and changes the word, which ends or prevents the
 * sleep.
 */
static void pcpu_sleep_readers(rwlock_t *lock, u32 c)
{
	/*
	 * At most a millisecond: one TSan run of test_pcpu_rwlock_excl hung
	 * here or nearby, never reproduced since and with no wake-up found
	 * missing; a bounded sleep turns any such miss into a re-check.
	 */
	static const struct timespec ms = {.tv_nsec = 1000 * 1000};
	u32 v = __atomic_or_fetch(&lock->sem.val, RW_WANTS, __ATOMIC_SEQ_CST);

	if (pcpu_slot_busy(lock, c))
		futex_wait_until(&lock->sem.val, v, "rwlock_t readers", &ms);
}

/* The word is held for write: wait until no reader is inside. */
static void pcpu_wait_readers(rwlock_t *lock)
{
	u32 n = __atomic_load_n(&lock->nr_slots, __ATOMIC_SEQ_CST);

	for (u32 c = 0; c < n; c++) {
		for (unsigned int i = 0; pcpu_slot_busy(lock, c); i++) {
			/* A reader's hold is short, unless it was preempted. */
			if (i >= RWLOCK_SPINS)
				pcpu_sleep_readers(lock, c);
		}
	}
}

/*
 * Count a reader out of its slot @readers (leaving, or backing out from a
 * writer); wake a writer that sleeps until the readers are gone.
 */
static void pcpu_leave(rwlock_t *lock, u32 *readers)
{
	u32 old = __atomic_fetch_sub(readers, 1, __ATOMIC_SEQ_CST);
	u32 v = __atomic_load_n(&lock->sem.val, __ATOMIC_SEQ_CST);

	WARN_ON_ONCE(old == 0);
	while ((v & (RW_WRITER | RW_WANTS)) == (RW_WRITER | RW_WANTS)) {
		if (__atomic_compare_exchange_n(&lock->sem.val, &v,
						v & ~RW_WANTS, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			futex_wake(&lock->sem.val, INT_MAX);
			break;
		}
	}
}

/*
 * Count the calling thread in as a reader of @lock: true if no writer
 * holds or wants the word; otherwise it is counted out again and @v is
 * the word it saw.  The slot is shared when more threads than slots read,
 * hence the read-modify-writes; each thread adds and removes its own.
 */
static bool pcpu_try_read(rwlock_t *lock, u32 *v)
{
	unsigned int c = stat_cpu();
	u32 *readers = &lock->slot[c].readers;

	if (unlikely(c >= __atomic_load_n(&lock->nr_slots, __ATOMIC_SEQ_CST)))
		pcpu_use_slot(lock, c);
	__atomic_fetch_add(readers, 1, __ATOMIC_SEQ_CST);
	*v = __atomic_load_n(&lock->sem.val, __ATOMIC_SEQ_CST);
	if (likely(!(*v & (RW_WRITER | RW_WANTS))))
		return true;
	pcpu_leave(lock, readers);
	return false;
}

/* Is no reader inside?  For a trylock, with the word held for write. */
static bool pcpu_no_readers(rwlock_t *lock)
{
	u32 n = __atomic_load_n(&lock->nr_slots, __ATOMIC_SEQ_CST);

	for (u32 c = 0; c < n; c++) {
		if (pcpu_slot_busy(lock, c))
			return false;
	}
	return true;
}

/* The validator's and the scheduler's view of a lock: as the word's. */
static void pcpu_acquire(rwlock_t *lock, bool read, const char *site)
{
	lockdep_acquire(&lock->sem, &lock->sem.class, LT_RWLOCK, read, site);
	sync_point(SP_LOCK, &lock->sem);
}

void _read_lock(rwlock_t *lock, const char *site)
{
	u32 v;

	if (!rwlock_pcpu(lock)) {
		rw_read_lock(&lock->sem, LT_RWLOCK, site);
		return;
	}
	pcpu_acquire(lock, true, site);
	while (!pcpu_try_read(lock, &v))
		rw_sleep(&lock->sem, v, 0);
}

bool _read_trylock(rwlock_t *lock, const char *site)
{
	u32 v;

	if (!rwlock_pcpu(lock))
		return rw_read_trylock(&lock->sem, LT_RWLOCK, site);
	sync_point(SP_LOCK, &lock->sem);
	if (!pcpu_try_read(lock, &v))
		return false;
	lockdep_acquired_try(&lock->sem, &lock->sem.class, LT_RWLOCK, true,
			     site);
	return true;
}

void read_unlock(rwlock_t *lock)
{
	if (!rwlock_pcpu(lock)) {
		up_read(&lock->sem);
		return;
	}
	lockdep_release(&lock->sem);
	sync_point(SP_UNLOCK, &lock->sem);
	pcpu_leave(lock, &lock->slot[stat_cpu()].readers);
}

void _write_lock(rwlock_t *lock, const char *site)
{
	u32 v;

	if (!rwlock_pcpu(lock)) {
		rw_write_lock(&lock->sem, LT_RWLOCK, site);
		return;
	}
	pcpu_acquire(lock, false, site);
	while (!rw_try_write(&lock->sem, &v))
		rw_sleep(&lock->sem, v, RW_WANTS);
	pcpu_wait_readers(lock);
}

bool _write_trylock(rwlock_t *lock, const char *site)
{
	u32 v;

	if (!rwlock_pcpu(lock))
		return rw_write_trylock(&lock->sem, LT_RWLOCK, site);
	sync_point(SP_LOCK, &lock->sem);
	if (!rw_try_write(&lock->sem, &v))
		return false;
	if (!pcpu_no_readers(lock)) {
		rw_write_release(&lock->sem);
		return false;
	}
	lockdep_acquired_try(&lock->sem, &lock->sem.class, LT_RWLOCK, false,
			     site);
	return true;
}

void write_unlock(rwlock_t *lock)
{
	up_write(&lock->sem);
}

/* ---------------------------------------------------------------------
 * Wait queues.  A waiter samples @seq, checks its condition, and sleeps
 * only while @seq still has the sampled value; a waker makes the condition
 * true and then bumps @seq, so no wake-up can fall between the check and
 * the sleep.
 */

void __init_waitqueue_head(wait_queue_head_t *wq, const char *name)
{
	__atomic_store_n(&wq->seq, 0, __ATOMIC_RELAXED);
	wq->name = name;
}

u32 __wait_prepare(wait_queue_head_t *wq)
{
	struct task_struct *t = current;
	u32 seen;

	sync_point(SP_WAIT, wq);
	/* Published before the condition is tested: see wake_up_process(). */
	if (t->wait_wq != wq) {
		pthread_mutex_lock(&t->wait_lock);
		t->wait_wq = wq;
		pthread_mutex_unlock(&t->wait_lock);
	}
	seen = __atomic_load_n(&wq->seq, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return seen;
}

void __wait_sleep(wait_queue_head_t *wq, u32 seen)
{
	if (det_on()) {
		if (__atomic_load_n(&wq->seq, __ATOMIC_SEQ_CST) == seen) {
			current->blocked_name = wq->name;
			det_block_on(wq);
		}
		return;
	}
	futex_wait(&wq->seq, seen, "wait queue");
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

bool __wait_sleep_timeout(wait_queue_head_t *wq, u32 seen, long *ms)
{
	struct timespec t0, rel = { *ms / 1000, (*ms % 1000) * 1000000L };

	if (det_on()) {
		if (__atomic_load_n(&wq->seq, __ATOMIC_SEQ_CST) != seen)
			return false;
		current->blocked_name = wq->name;
		if (!det_block_on_timeout(wq))
			return false;
		*ms = 0;
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	syscall(SYS_futex, &wq->seq, FUTEX_WAIT_PRIVATE, seen, &rel, NULL, 0);
	*ms -= ms_since(&t0);
	return *ms <= 0;
}

void __wait_finish(void)
{
	struct task_struct *t = current;

	pthread_mutex_lock(&t->wait_lock);
	t->wait_wq = NULL;
	pthread_mutex_unlock(&t->wait_lock);
}

/* The bump and wake of wake_up_all(), without its scheduling point. */
static void wake_all(wait_queue_head_t *wq)
{
	__atomic_fetch_add(&wq->seq, 1, __ATOMIC_SEQ_CST);
	if (det_on())
		det_wake(wq);
	else
		futex_wake(&wq->seq, INT_MAX);
}

void wake_up_all(wait_queue_head_t *wq)
{
	sync_point(SP_WAKE, wq);
	wake_all(wq);
}

/*
 * Make @t re-evaluate the condition of the wait_event*() it sleeps in.
 * The kernel wakes the task itself; here the task sleeps on its queue's
 * word, so every sleeper of that queue wakes and re-checks (a spurious
 * wake-up for the others).  @t's wait_lock keeps the queue alive: @t
 * cannot leave its wait_event*() while we hold it.  The waker stored what
 * the condition reads before calling this; @t published its queue before
 * testing the condition, so either @t sees the store or we see the queue.
 */
void wake_up_process(struct task_struct *t)
{
	/* No scheduling point: callers (kthread_stop()) have their own. */
	pthread_mutex_lock(&t->wait_lock);
	if (t->wait_wq)
		wake_all(t->wait_wq);
	pthread_mutex_unlock(&t->wait_lock);
}
