// SPDX-License-Identifier: MIT
/*
 * mmulab check --plot: is the search still finding something?  For each
 * strategy, the violations found and the distinct schedules (distinct log
 * hashes) against the seeds (or, bounded, the schedules) run so far, in
 * the order they finished.  Workers report each seed's log hash with its
 * verdict, so the parent counts across --jobs.
 *
 * Memory is bounded as the run sampler's is: CHECK_PLOT_POINTS points per
 * strategy, halved when full; the set of hashes grows with the distinct
 * schedules, up to CHECK_PLOT_MAX_HASHES (then new ones are not told
 * apart, which the plot's title says).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plot.h"

#define CHECK_PLOT_POINTS 256
#define CHECK_PLOT_STRATEGIES (DET_STRATEGY_BOUNDED + 1)
#define CHECK_PLOT_MAX_HASHES (1UL << 22)

/**
 * struct curve - one strategy's search so far.
 * @runs: seeds (schedules) finished; @violations: of them, failed.
 * @distinct: distinct log hashes among them.
 * @every: a point is kept each @every runs.
 * @nr: points kept; @x, @viol, @dist: the points.
 */
struct curve {
	u64 runs, violations, distinct;
	u64 every;
	unsigned int nr;
	u64 x[CHECK_PLOT_POINTS];
	u64 viol[CHECK_PLOT_POINTS];
	u64 dist[CHECK_PLOT_POINTS];
};

static struct {
	struct curve c[CHECK_PLOT_STRATEGIES];
	u64 *hashes;		/* open addressing; 0 is empty */
	unsigned long cap, used;
	bool saturated;
} cp;

/* Add @h; true if it is new. */
static bool hash_insert(u64 h)
{
	unsigned long i;

	h = h ?: 1;
	if (cp.used * 2 >= cp.cap) {
		unsigned long cap = cp.cap ? cp.cap * 2 : 1024;
		u64 *n, *old = cp.hashes;

		if (cap > CHECK_PLOT_MAX_HASHES ||
		    !(n = calloc(cap, sizeof(*n)))) {
			cp.saturated = true;
			return false;
		}
		cp.hashes = n;
		cp.used = 0;
		for (unsigned long k = 0; k < cp.cap; k++)
			if (old[k])
				for (i = old[k] % cap; ; i = (i + 1) % cap)
					if (!n[i]) {
						n[i] = old[k];
						cp.used++;
						break;
					}
		cp.cap = cap;
		free(old);
	}
	for (i = h % cp.cap; cp.hashes[i]; i = (i + 1) % cp.cap)
		if (cp.hashes[i] == h)
			return false;
	cp.hashes[i] = h;
	cp.used++;
	return true;
}

static void keep_point(struct curve *c)
{
	if (c->nr == CHECK_PLOT_POINTS) {
		for (unsigned int i = 0; i < CHECK_PLOT_POINTS / 2; i++) {
			c->x[i] = c->x[2 * i + 1];
			c->viol[i] = c->viol[2 * i + 1];
			c->dist[i] = c->dist[2 * i + 1];
		}
		c->nr = CHECK_PLOT_POINTS / 2;
		c->every *= 2;
	}
	c->x[c->nr] = c->runs;
	c->viol[c->nr] = c->violations;
	c->dist[c->nr] = c->distinct;
	c->nr++;
}

void check_plot_add(enum det_strategy s, u64 log_hash, bool violation)
{
	struct curve *c;

	if ((unsigned int)s >= CHECK_PLOT_STRATEGIES)
		return;
	c = &cp.c[s];
	if (!c->every)
		c->every = 1;
	c->runs++;
	c->violations += violation;
	/* An --exec program's runs have no hash: not told apart. */
	if (log_hash && hash_insert(log_hash))
		c->distinct++;
	if (c->runs % c->every == 0)
		keep_point(c);
}

/* The last run, when the points stopped short of it. */
static void close_curve(struct curve *c)
{
	if (c->runs && (!c->nr || c->x[c->nr - 1] != c->runs))
		keep_point(c);
}

static void plot_curve(FILE *f, enum det_strategy s, const struct curve *c)
{
	fputs("$d << EOD\n0 0 0\n", f);
	for (unsigned int i = 0; i < c->nr; i++)
		fprintf(f, "%llu %llu %llu\n", (unsigned long long)c->x[i],
			(unsigned long long)c->viol[i],
			(unsigned long long)c->dist[i]);
	fprintf(f, "EOD\nset title \"strategy %s: %llu runs, %llu "
		   "violations, %llu distinct schedules%s\"\n",
		check_strategy_name(s), (unsigned long long)c->runs,
		(unsigned long long)c->violations,
		(unsigned long long)c->distinct,
		cp.saturated ? " (hash set full: a lower bound)" : "");
	fprintf(f, "set xlabel \"%s run\"\nset ylabel \"count\"\n"
		   "set xrange [0:%llu]\nset yrange [0:*]\n"
		   "plot $d using 1:2 with steps lw 2 title \"violations\", "
		   "$d using 1:3 with steps lw 2 title "
		   "\"distinct_schedules\"\n",
		s == DET_STRATEGY_BOUNDED ? "schedules" : "seeds",
		(unsigned long long)(c->runs ? c->runs : 1));
}

int check_plot_write(const char *path, const char *what)
{
	unsigned int rows = 0;
	struct plot p;
	char title[256];
	int ret;

	for (int s = 0; s < CHECK_PLOT_STRATEGIES; s++) {
		close_curve(&cp.c[s]);
		rows += cp.c[s].runs > 0;
	}
	if (!rows) {
		fprintf(stderr, "mmulab check: --plot: no seed ran\n");
		return -ENODATA;
	}
	snprintf(title, sizeof(title), "mmulab check %s", what);
	ret = plot_open(&p, path, rows, title);
	if (ret)
		return ret;
	for (int s = 0; s < CHECK_PLOT_STRATEGIES; s++)
		if (cp.c[s].runs)
			plot_curve(p.f, s, &cp.c[s]);
	free(cp.hashes);
	memset(&cp, 0, sizeof(cp));
	return plot_close(&p);
}
