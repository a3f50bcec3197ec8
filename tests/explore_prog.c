// SPDX-License-Identifier: MIT
/*
 * A third party's scenario program for `mmulab check --exec`
 * (test_check.sh): two tasks increment a counter by read, yield, write,
 * which loses an update on some interleavings; with EXPLORE_LOCKED=1
 * they hold a lock and never do.  det_explore() runs the seed that
 * MMULAB_SEED names.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/sched.h>
#include <mmulab/sync.h>

static spinlock_t lock;
static int value;
static bool locked;

static int incr_task(void *arg)
{
	int v;

	(void)arg;
	if (locked)
		spin_lock(&lock);
	v = READ_ONCE(value);
	cond_resched();
	WRITE_ONCE(value, v + 1);
	if (locked)
		spin_unlock(&lock);
	return 0;
}

static int scenario(void *arg)
{
	struct task_struct *t[2];

	(void)arg;
	spin_lock_init(&lock);
	for (int i = 0; i < 2; i++)
		t[i] = kthread_run(incr_task, NULL, "incr");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	if (value != 2)
		printf("violation: lost update, the counter is %d\n", value);
	return value != 2;
}

int main(int argc, char **argv)
{
	struct det_explore_opts opts = {
		.seeds = 100, .alternate = true, .name = argv[0]};
	int ret;

	(void)argc;
	locked = getenv("EXPLORE_LOCKED") != NULL;
	ret = det_explore(scenario, NULL, &opts, NULL);
	return ret < 0 ? 2 : ret;
}
