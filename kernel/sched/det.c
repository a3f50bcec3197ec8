// SPDX-License-Identifier: MIT
/* Deterministic scheduler: placeholder until the scheduler lands. */
#include <mmulab/bug.h>
#include "../internal.h"

int mmulab_det_active;

void det_sched_point(enum sync_point_kind kind, const void *obj)
{
	(void)kind;
	(void)obj;
}

void det_block_on(const void *obj)
{
	(void)obj;
	BUG();
}

void det_wake(const void *obj)
{
	(void)obj;
}

void det_task_created(struct task_struct *t)
{
	(void)t;
}

void det_task_enter(struct task_struct *t)
{
	(void)t;
}

void det_task_exit(struct task_struct *t)
{
	__atomic_store_n(&t->exited, true, __ATOMIC_RELEASE);
}

int det_begin(const struct det_config *cfg)
{
	(void)cfg;
	return -ENOSYS;
}
