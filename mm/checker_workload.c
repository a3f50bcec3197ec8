// SPDX-License-Identifier: MIT
/*
 * The checker's helpers for workloads (see <mmulab/checker.h>): INV-5's
 * staleness shadow, and parking workers so that a sweep runs at a
 * quiescent point under real threads.  The shadow only observes: its
 * accesses are atomic but not scheduling points, so it does not change
 * the interleavings the deterministic scheduler explores (each shadow
 * update stays in program order around the store it describes).  Parking
 * waits for other tasks, so its loads, stores and waits go through the
 * concurrency layer like the workload's own.
 */
#include <mmulab/checker.h>

void checker_shadow_begin(struct checker_shadow *s, u64 val)
{
	unsigned int v = OBSERVE_ONCE(s->begun) + 1;

	OBSERVE_SET(s->hist[v % CHECKER_SHADOW_HIST], val);
	OBSERVE_SET(s->begun, v);
}

void checker_shadow_commit(struct checker_shadow *s)
{
	OBSERVE_SET(s->done, OBSERVE_ONCE(s->begun));
}

unsigned int checker_shadow_read_start(struct checker_shadow *s)
{
	return OBSERVE_ONCE(s->done);
}

bool checker_shadow_check(struct host *host, struct checker_shadow *s,
			  unsigned int from, u64 val, u32 loc,
			  unsigned long addr, u64 gpa)
{
	unsigned int to = OBSERVE_ONCE(s->begun);

	checker_check_value(host, loc, val, addr);
	if (to - from >= CHECKER_SHADOW_HIST)
		return true; /* too many stores during one read to tell */
	for (unsigned int v = from; v != to + 1; v++)
		if (OBSERVE_ONCE(s->hist[v % CHECKER_SHADOW_HIST]) == val)
			return true;
	checker_fail(host, INV_DATA, ~0UL, addr, gpa, NULL,
		     "read of location %u returned %#llx; the last value "
		     "written there before the read began is %#llx",
		     loc, (unsigned long long)val,
		     (unsigned long long)OBSERVE_ONCE(
			     s->hist[from % CHECKER_SHADOW_HIST]));
	return false;
}

void checker_park_init(struct checker_park *p, int nworkers)
{
	p->pause = 0;
	atomic_set(&p->parked, 0);
	atomic_set(&p->left, 0);
	p->nworkers = nworkers;
	init_waitqueue_head(&p->wq);
}

void checker_park_point(struct checker_park *p)
{
	/* READ_ONCE() acquires: the last sweep's reads came before this. */
	if (!READ_ONCE(p->pause))
		return;
	/*
	 * Fully ordered, and read with acquire by the sweeper: what this
	 * worker wrote happens before the sweep reads it.
	 */
	(void)atomic_inc_return(&p->parked);
	wake_up_all(&p->wq);
	wait_event(p->wq, !READ_ONCE(p->pause));
	(void)atomic_dec_return(&p->parked);
	wake_up_all(&p->wq); /* the next sweep waits for everyone to leave */
}

void checker_park_leave(struct checker_park *p)
{
	(void)atomic_inc_return(&p->left);
	wake_up_all(&p->wq);
}

static int park_count(atomic_t *v)
{
	return smp_load_acquire(&v->counter);
}

unsigned long checker_park_sweep(struct checker_park *p, struct host *host)
{
	unsigned long found;

	/*
	 * A worker woken by the last sweep counts as parked until it runs
	 * again: wait for every one to be out of the park first, or its old
	 * count would let this sweep start while it works.
	 */
	wait_event(p->wq, park_count(&p->parked) == 0);
	WRITE_ONCE(p->pause, 1);
	wait_event(p->wq, park_count(&p->parked) +
				  park_count(&p->left) ==
			  p->nworkers);
	found = checker_sweep(host);
	WRITE_ONCE(p->pause, 0); /* release: the sweep's reads come first */
	wake_up_all(&p->wq);
	return found;
}
