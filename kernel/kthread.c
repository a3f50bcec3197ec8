// SPDX-License-Identifier: MIT
/*
 * Tasks: kthread_run()/kthread_stop() over pthreads (over fibers of the
 * run's thread in a deterministic run), `current`, injected signals,
 * task flags and voluntary scheduling points.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include <mmulab/bug.h>
#include "internal.h"

static int next_pid = 1;
static int nr_live;
/*
 * The one thread-local variable of the concurrency layer.  Everything a
 * task keeps for itself lives in its task_struct, because in a
 * deterministic run one thread runs every task of the run, as fibers, and
 * the scheduler points this at the fiber it switches to.
 */
static __thread struct task_struct *current_task;

/* Per-CPU statistics (<mmulab/sync.h>): this thread's slot, plus one. */
__thread unsigned int __stat_cpu_plus1;
static unsigned int stat_cpu_next;

unsigned int __stat_cpu_assign(void)
{
	unsigned int c = __atomic_fetch_add(&stat_cpu_next, 1,
					    __ATOMIC_RELAXED) %
			 STAT_NR_CPUS;

	__stat_cpu_plus1 = c + 1;
	return c;
}
static pthread_key_t foreign_key;
static pthread_once_t foreign_once = PTHREAD_ONCE_INIT;

static void task_free(struct task_struct *t)
{
	lockdep_task_free(t);
	pthread_mutex_destroy(&t->wait_lock);
	free(t);
}

static void free_foreign(void *p)
{
	struct task_struct *t = p;

	task_free(t);
}

static void make_foreign_key(void)
{
	pthread_key_create(&foreign_key, free_foreign);
}

static struct task_struct *task_alloc(const char *name)
{
	/*
	 * Whole cache lines, as Linux's task_struct cache is aligned: a task
	 * writes its own fields (the held locks' count, atomic depth) on
	 * every lock operation, and two tasks running at once must share no
	 * line.
	 */
	size_t size = (sizeof(struct task_struct) + 127) & ~127UL;
	struct task_struct *t = aligned_alloc(128, size);

	if (!t)
		return NULL;
	memset(t, 0, size);
	t->pid = __atomic_fetch_add(&next_pid, 1, __ATOMIC_RELAXED);
	snprintf(t->comm, sizeof(t->comm), "%s", name);
	t->det_id = -1;
	pthread_mutex_init(&t->wait_lock, NULL);
	return t;
}

struct task_struct *get_current(void)
{
	struct task_struct *t = current_task;

	if (likely(t))
		return t;
	/* A thread mmulab did not start (main, a library's, a test's). */
	t = task_alloc("thread");
	if (!t) {
		fprintf(stderr, "mmulab: out of memory for a task\n");
		abort();
	}
	pthread_once(&foreign_once, make_foreign_key);
	pthread_setspecific(foreign_key, t);
	current_task = t;
	return t;
}

void set_current(struct task_struct *t)
{
	current_task = t;
}

int task_pid(const struct task_struct *t)
{
	return t->pid;
}

const char *task_comm(const struct task_struct *t)
{
	return t->comm;
}

int kthread_nr_live(void)
{
	return __atomic_load_n(&nr_live, __ATOMIC_ACQUIRE);
}

void kthread_body(struct task_struct *t)
{
	t->result = t->fn(t->data);
}

static void *kthread_trampoline(void *arg)
{
	struct task_struct *t = arg;

	current_task = t;
	kthread_body(t);
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
	return NULL;
}

struct task_struct *kthread_run(int (*fn)(void *data), void *data,
				const char *name)
{
	struct task_struct *t;
	int err;

	if (WARN_ON(!fn))
		return ERR_PTR(-EINVAL);
	t = task_alloc(name ? name : "kthread");
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->fn = fn;
	t->data = data;
	sync_point(SP_THREAD, t);
	__atomic_fetch_add(&nr_live, 1, __ATOMIC_ACQ_REL);
	if (det_on())
		err = det_task_created(t);
	else
		err = -pthread_create(&t->thread, NULL, kthread_trampoline, t);
	if (err) {
		__atomic_fetch_sub(&nr_live, 1, __ATOMIC_ACQ_REL);
		task_free(t);
		return ERR_PTR(err == -ENOMEM ? -ENOMEM : -EAGAIN);
	}
	return t;
}

int kthread_stop(struct task_struct *t)
{
	int ret;

	if (WARN_ON(IS_ERR_OR_NULL(t) || t == current))
		return -EINVAL;
	might_sleep();
	sync_point(SP_THREAD, t);
	__atomic_store_n(&t->should_stop, true, __ATOMIC_SEQ_CST);
	wake_up_process(t);
	if (det_on() && t->det_id >= 0) {
		t->blocked_name = NULL;
		while (!__atomic_load_n(&t->exited, __ATOMIC_ACQUIRE))
			det_block_on(t);
		det_task_reap(t);
	} else {
		pthread_join(t->thread, NULL);
	}
	ret = t->result;
	task_free(t);
	__atomic_fetch_sub(&nr_live, 1, __ATOMIC_ACQ_REL);
	return ret;
}

bool kthread_should_stop(void)
{
	struct task_struct *t = current;

	sync_point(SP_LOAD, &t->should_stop);
	return __atomic_load_n(&t->should_stop, __ATOMIC_ACQUIRE);
}

bool signal_pending(struct task_struct *t)
{
	sync_point(SP_LOAD, &t->sigpending);
	return __atomic_load_n(&t->sigpending, __ATOMIC_ACQUIRE);
}

void set_signal_pending(struct task_struct *t, bool pending)
{
	__atomic_store_n(&t->sigpending, pending, __ATOMIC_SEQ_CST);
	if (pending)
		wake_up_process(t);
}

void set_task_comm(struct task_struct *t, const char *name)
{
	snprintf(t->comm, sizeof(t->comm), "%s", name);
}

void cond_resched(void)
{
	might_sleep();
	sync_point(SP_YIELD, NULL);
}

void cpu_relax(void)
{
	if (det_on()) {
		sync_point(SP_YIELD, NULL);
		return;
	}
	sched_yield();
}

void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	might_sleep();
	if (det_on()) {
		sync_point(SP_YIELD, NULL);
		return;
	}
	nanosleep(&ts, NULL);
}

unsigned int memalloc_noreclaim_save(void)
{
	struct task_struct *t = current;
	unsigned int old = t->flags & PF_MEMALLOC;

	t->flags |= PF_MEMALLOC;
	return old;
}

void memalloc_noreclaim_restore(unsigned int flags)
{
	struct task_struct *t = current;

	t->flags = (t->flags & ~PF_MEMALLOC) | flags;
}

bool current_in_reclaim(void)
{
	return current->flags & PF_MEMALLOC;
}
