/* SPDX-License-Identifier: MIT */
/*
 * The concurrency layer's exclusive locks behind one switch, for the
 * tests that check each of them excludes: test_sync.c with real threads,
 * test_det.c under the deterministic scheduler.  Include after
 * task_check.h.
 */
#ifndef MMULAB_TESTS_EXCL_LOCK_H
#define MMULAB_TESTS_EXCL_LOCK_H

#include <stdbool.h>
#include <mmulab/sync.h>

/* EX_PCPU_RWLOCK: a rwlock_t with per-CPU readers (percpu_rwlock_init()). */
enum excl_kind { EX_SPIN, EX_MUTEX, EX_RWSEM, EX_RWLOCK, EX_PCPU_RWLOCK, EX_NR };

/* One lock of each kind; @kind says which the test uses. */
struct excl_locks {
	enum excl_kind kind;
	spinlock_t spin;
	struct mutex mutex;
	struct rw_semaphore rwsem;
	rwlock_t rwlock;
};

static inline void excl_locks_init(struct excl_locks *l, enum excl_kind kind)
{
	l->kind = kind;
	spin_lock_init(&l->spin);
	mutex_init(&l->mutex);
	init_rwsem(&l->rwsem);
	if (kind == EX_PCPU_RWLOCK)
		percpu_rwlock_init(&l->rwlock);
	else
		rwlock_init(&l->rwlock);
}

/* Has the kind a shared (reader) side? */
static inline bool excl_kind_shared(enum excl_kind kind)
{
	return kind == EX_RWSEM || kind == EX_RWLOCK || kind == EX_PCPU_RWLOCK;
}

static inline void excl_lock(struct excl_locks *l)
{
	switch (l->kind) {
	case EX_SPIN:
		spin_lock(&l->spin);
		break;
	case EX_MUTEX:
		mutex_lock(&l->mutex);
		TASK_CHECK(mutex_is_owner(&l->mutex));
		break;
	case EX_RWSEM:
		down_write(&l->rwsem);
		TASK_CHECK(rwsem_is_write_owner(&l->rwsem));
		break;
	default:
		write_lock(&l->rwlock);
		break;
	}
}

static inline void excl_unlock(struct excl_locks *l)
{
	switch (l->kind) {
	case EX_SPIN:
		spin_unlock(&l->spin);
		break;
	case EX_MUTEX:
		mutex_unlock(&l->mutex);
		break;
	case EX_RWSEM:
		up_write(&l->rwsem);
		break;
	default:
		write_unlock(&l->rwlock);
		break;
	}
}

/* The shared side of a reader-writer kind. */
static inline void excl_read_lock(struct excl_locks *l)
{
	if (l->kind == EX_RWSEM)
		down_read(&l->rwsem);
	else
		read_lock(&l->rwlock);
}

static inline void excl_read_unlock(struct excl_locks *l)
{
	if (l->kind == EX_RWSEM)
		up_read(&l->rwsem);
	else
		read_unlock(&l->rwlock);
}

#endif /* MMULAB_TESTS_EXCL_LOCK_H */
