// SPDX-License-Identifier: MIT
/*
 * Bounded-exhaustive search: every schedule of a run with at most K
 * preemptions, depth first, as CHESS's context bounding does.
 *
 * A schedule is the sequence of the scheduler's decisions.  At each one
 * the running task may go on or another runnable task may be chosen.
 * Choosing another while the running task could go on is a preemption and
 * costs one; so does going on at a yield (cond_resched(), cpu_relax(),
 * msleep()) while others wait, which keeps busy-waits finite.  Choosing
 * after a block or an exit is free.  Past the decisions it is told to
 * make, a run takes the default: the running task goes on, or, where that
 * is not free, the next runnable task after it in id order.  So every
 * schedule is a prefix of forced decisions followed by defaults, and its
 * preemptions are those of its prefix.
 *
 * The search is stateless: each run re-executes the program from the
 * start, replaying a prefix.  It records every decision of the run (the
 * runnable set, the choice, the preemptions so far and which choices were
 * already explored there); det_search_next() then backtracks to the
 * deepest decision with an unexplored choice the bound allows, and the
 * next run forces the prefix up to it.  The program must be deterministic
 * given its schedule: a replayed prefix that meets a different runnable
 * set is reported, not explored.
 *
 * The bound is raised one preemption at a time (iterative context
 * bounding): first every schedule without a preemption, then those with
 * one, and so on, so a bug is met in a schedule with as few preemptions
 * as it needs.  Level k re-runs the schedules of the levels below it to
 * find its own (a schedule's decision records are not kept between
 * levels); every schedule with exactly k preemptions is new at level k
 * and is counted there, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/bug.h>
#include "search.h"

struct decision {
	u64 runnable;
	u64 tried;		/* choices explored at this point */
	int running;
	int chosen;
	bool cur_ok, yield;
	unsigned int pre_before;	/* preemptions before this decision */
};

struct deviation {
	unsigned long at;
	int id;
};

struct det_search {
	unsigned int bound;
	unsigned int level;		/* the bound of this pass */
	unsigned long runs;		/* runs begun */
	unsigned long schedules;	/* new ones: exactly @level preemptions */
	struct decision *dec;
	unsigned long nr_dec, cap_dec;
	unsigned long prefix;		/* decisions forced in the next run */
	unsigned long depth;		/* decisions made in this run */
	unsigned int pre;		/* preemptions in this run so far */
	/* Replay of one schedule: its non-default decisions. */
	bool replay;
	struct deviation *dev;
	unsigned long nr_dev, next_dev;
};

static u64 bit(int id)
{
	return 1ULL << id;
}

static int default_choice(u64 runnable, int running, bool cur_ok, bool yield)
{
	if (cur_ok && !yield)
		return running;
	for (int k = 1; k <= DET_SEARCH_MAX_TASKS; k++) {
		int id = (running + k) % DET_SEARCH_MAX_TASKS;

		if (runnable & bit(id))
			return id;
	}
	return -1;
}

static unsigned int cost(const struct decision *d, int c)
{
	if (!d->cur_ok)
		return 0;
	if (!d->yield)
		return c != d->running;
	return c == d->running && (d->runnable & ~bit(d->running));
}

struct det_search *det_search_create(unsigned int max_preemptions)
{
	struct det_search *s = calloc(1, sizeof(*s));

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->bound = max_preemptions;
	return s;
}

struct det_search *det_search_parse(const char *spec)
{
	struct det_search *s;
	const char *p = spec;

	if (!spec)
		return ERR_PTR(-EINVAL);
	s = det_search_create(0);
	if (IS_ERR(s))
		return s;
	s->replay = true;
	while (*p) {
		unsigned long at;
		int id, n;
		struct deviation *dev;

		if (*p < '0' || *p > '9' ||
		    sscanf(p, "%lu:%d%n", &at, &id, &n) != 2 || id < 0 ||
		    id >= DET_SEARCH_MAX_TASKS ||
		    (s->nr_dev && at <= s->dev[s->nr_dev - 1].at))
			goto bad;
		dev = realloc(s->dev, (s->nr_dev + 1) * sizeof(*dev));
		if (!dev) {
			det_search_destroy(s);
			return ERR_PTR(-ENOMEM);
		}
		s->dev = dev;
		s->dev[s->nr_dev++] = (struct deviation){ at, id };
		p += n;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return s;
bad:
	det_search_destroy(s);
	return ERR_PTR(-EINVAL);
}

void det_search_destroy(struct det_search *s)
{
	if (IS_ERR_OR_NULL(s))
		return;
	free(s->dec);
	free(s->dev);
	free(s);
}

unsigned long det_search_schedules(const struct det_search *s)
{
	return s->schedules;
}

unsigned long det_search_runs(const struct det_search *s)
{
	return s->runs;
}

unsigned int det_search_bound(const struct det_search *s)
{
	return s->bound;
}

int det_search_format(const struct det_search *s, char *buf, size_t size)
{
	size_t len = 0;
	int n;

	if (size)
		buf[0] = '\0';
	for (unsigned long i = 0; i < s->nr_dec; i++) {
		const struct decision *d = &s->dec[i];

		if (d->chosen == default_choice(d->runnable, d->running,
						d->cur_ok, d->yield))
			continue;
		n = snprintf(buf + len, len < size ? size - len : 0, "%s%lu:%d",
			     len ? "," : "", i, d->chosen);
		if (n < 0)
			return -EINVAL;
		len += (size_t)n;
	}
	return len < size ? (int)len : -ENOSPC;
}

static bool backtrack(struct det_search *s);

bool det_search_next(struct det_search *s)
{
	if (s->replay)
		return false;
	if (s->pre == s->level)
		s->schedules++;
	if (backtrack(s))
		return true;
	if (s->level == s->bound)
		return false;
	/* The next level starts again from the default schedule. */
	s->level++;
	s->prefix = 0;
	s->nr_dec = 0;
	return true;
}

/* Move to the next schedule of this level's depth-first search. */
static bool backtrack(struct det_search *s)
{
	while (s->nr_dec) {
		struct decision *d = &s->dec[s->nr_dec - 1];
		u64 left = d->runnable & ~d->tried;

		for (int c = 0; left; c++) {
			if (!(left & bit(c)))
				continue;
			left &= ~bit(c);
			d->tried |= bit(c);
			if (d->pre_before + cost(d, c) > s->level)
				continue;
			d->chosen = c;
			s->prefix = s->nr_dec;
			return true;
		}
		s->nr_dec--;
	}
	return false;
}

void search_run_begin(struct det_search *s)
{
	s->runs++;
	s->depth = 0;
	s->pre = 0;
	s->next_dev = 0;
	if (s->replay)
		s->nr_dec = 0;
}

static struct decision *push(struct det_search *s)
{
	if (s->nr_dec == s->cap_dec) {
		unsigned long cap = s->cap_dec ? 2 * s->cap_dec : 1024;
		struct decision *dec = realloc(s->dec, cap * sizeof(*dec));

		if (!dec) {
			fprintf(stderr, "mmulab: det: out of memory\n");
			abort();
		}
		s->dec = dec;
		s->cap_dec = cap;
	}
	return &s->dec[s->nr_dec++];
}

int search_choose(struct det_search *s, u64 runnable, int running,
		  bool cur_ok, bool yield)
{
	unsigned long at = s->depth++;
	struct decision *d;
	int c;

	if (at < s->prefix && !s->replay) {
		d = &s->dec[at];
		if (d->runnable != runnable || d->running != running ||
		    d->cur_ok != cur_ok || d->yield != yield)
			return -1;
		s->pre += cost(d, d->chosen);
		return d->chosen;
	}
	d = push(s);
	*d = (struct decision){ .runnable = runnable, .running = running,
				.cur_ok = cur_ok, .yield = yield,
				.pre_before = s->pre };
	c = default_choice(runnable, running, cur_ok, yield);
	if (s->replay && s->next_dev < s->nr_dev &&
	    s->dev[s->next_dev].at == at) {
		c = s->dev[s->next_dev++].id;
		if (!(runnable & bit(c)))
			return -1;
	}
	d->chosen = c;
	d->tried = bit(c);
	s->pre += cost(d, c);
	return c;
}
