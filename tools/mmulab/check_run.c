// SPDX-License-Identifier: MIT
/*
 * mmulab check on many cores and many machines.
 *
 * The seeds of a search are split in shards (--shard I/N: seed k of the
 * range belongs to shard k % N), and a shard's seeds over worker processes
 * (--jobs J: worker j runs the shard's seeds j, j + J, ...).  Every worker
 * reports each seed when it starts it and when it is done, so a worker
 * that dies in a seed (a crash, a deadlock the scheduler reports) marks
 * that seed failed.  The first violation in seed order is the answer, as
 * in one process that runs the seeds in order and stops there; workers
 * skip seeds after the first violation known so far.
 *
 * Shards print their results as JSON (--json, docs/check.schema.json),
 * and --merge combines them: the same verdict, first violation and seed
 * count as one run over all the seeds.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "interrupt.h"
#include "mmulab.h"

static const struct {
	const char *name;
	enum det_strategy strategy;
} strategies[] = {
	{"random", DET_STRATEGY_RANDOM},
	{"pct", DET_STRATEGY_PCT},
	{"round-robin", DET_STRATEGY_ROUND_ROBIN},
	{"bounded", DET_STRATEGY_BOUNDED},
};

const char *check_strategy_name(enum det_strategy s)
{
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(strategies); i++)
		if (strategies[i].strategy == s)
			return strategies[i].name;
	return "?";
}

int check_strategy_of(const char *name)
{
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(strategies); i++)
		if (!strcmp(strategies[i].name, name))
			return strategies[i].strategy;
	return -1;
}

static void replay_args(char *buf, size_t len, const struct check_target *t,
			u64 seed, enum det_strategy strategy,
			const char *mutant)
{
	snprintf(buf, len, "mmulab check %s%s --replay %llu --strategy %s%s%s",
		 t->exec ? "--exec " : "", t->name, (unsigned long long)seed,
		 check_strategy_name(strategy), mutant ? " --mutant " : "",
		 mutant ? mutant : "");
}

void check_print_replay(FILE *out, const struct check_target *t, u64 seed,
			enum det_strategy strategy, const char *mutant)
{
	char line[512];

	replay_args(line, sizeof(line), t, seed, strategy, mutant);
	fprintf(out, "replay: %s\n", line);
}

/* ---------------------------------------------------------------------
 * Workers
 */

/* What a worker says about one seed (pipe writes of this size are atomic). */
struct seed_msg {
	u64 index;
	u64 steps;
	int worker;
	int verdict; /* SEED_STARTED, 0 clean, 1 violation, -errno */
	u64 log_hash; /* of a finished seed, for --plot */
};

#define SEED_STARTED 2

static int worker_fd = -1;
static struct seed_msg worker_cur;

static void worker_send(const struct seed_msg *m)
{
	ssize_t n = write(worker_fd, m, sizeof(*m));

	(void)n; /* the parent treats a missing message as a failed seed */
}

/* A deadlock or livelock in a worker: that seed failed. */
static __attribute__((noreturn)) void worker_failure(const char *why)
{
	(void)why;
	worker_cur.verdict = 1;
	worker_send(&worker_cur);
	_exit(0);
}

static u64 seed_at(const struct check_params *p, u64 index)
{
	return p->first + index * p->nr_shards + p->shard;
}

static enum det_strategy strategy_for(const struct check_params *p, u64 seed)
{
	if (!p->both)
		return p->strategy;
	return seed & 1 ? DET_STRATEGY_PCT : DET_STRATEGY_RANDOM;
}

static u64 shard_seeds(const struct check_params *p)
{
	return p->seeds / p->nr_shards + (p->shard < p->seeds % p->nr_shards);
}

static __attribute__((noreturn)) void worker(const struct check_target *t,
					     const struct check_params *p,
					     int j, atomic64_t *first_bad)
{
	u64 n = shard_seeds(p);

	det_set_failure_handler(worker_failure);
	for (u64 i = j; i < n; i += p->jobs) {
		u64 seed = seed_at(p, i), bad;
		unsigned long steps = 0;
		int v;

		/* --plot: the curve goes on past the first violation. */
		if ((!p->plot && i > (u64)atomic64_read(first_bad)) ||
		    interrupted())
			break;
		worker_cur = (struct seed_msg){i, 0, j, SEED_STARTED};
		worker_send(&worker_cur);
		v = t->run(t, seed, strategy_for(p, seed), false, &steps);
		worker_cur.steps = steps;
		worker_cur.log_hash = check_last_log_hash;
		worker_cur.verdict = v;
		worker_send(&worker_cur);
		if (!v)
			continue;
		bad = atomic64_read(first_bad);
		while (i < bad &&
		       !atomic64_try_cmpxchg(first_bad, (s64 *)&bad, i))
			;
		if (v < 0)
			break;
	}
	fflush(NULL);
	_exit(0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A seed failed (or could not run): keep the first in seed order. */
static void note_bad(struct check_result *res, const struct check_params *p,
		     u64 index, int verdict)
{
	if (verdict < 0) {
		res->error = verdict;
		return;
	}
	if (res->found && res->index <= index)
		return;
	res->found = true;
	res->index = index;
	res->seed = seed_at(p, index);
	res->strategy = strategy_for(p, res->seed);
}

/*
 * Wait for the workers' next message.  A ^C reaches this process alone
 * when it is sent to our pid rather than to the terminal's process group:
 * pass it on to the workers once, so each stops after its seed.
 */
static ssize_t next_msg(int fd, struct seed_msg *m, const pid_t *pids,
			unsigned int jobs, bool *passed_on)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	/*
	 * Checked at every message too, not only when the pipe is idle:
	 * workers with fast seeds keep it busy for as long as they run.
	 */
	do {
		if (!interrupted() || *passed_on)
			continue;
		for (unsigned int j = 0; j < jobs; j++)
			if (pids[j] > 0)
				kill(pids[j], SIGINT);
		*passed_on = true;
	} while (poll(&pfd, 1, 100) == 0 ||
		 !(pfd.revents & (POLLIN | POLLHUP)));
	return read(fd, m, sizeof(*m));
}

/* Read the workers' messages until every worker has exited. */
static void collect(int fd, const struct check_params *p,
		    struct check_result *res, u64 *started, const pid_t *pids)
{
	bool passed_on = false;
	struct seed_msg m;

	while (next_msg(fd, &m, pids, p->jobs, &passed_on) == sizeof(m)) {
		if (m.verdict == SEED_STARTED) {
			started[m.worker] = m.index + 1;
			continue;
		}
		started[m.worker] = 0;
		res->steps += m.steps;
		if (m.verdict >= 0)
			res->seeds_run++;
		if (m.verdict >= 0 && p->plot)
			check_plot_add(strategy_for(p, seed_at(p, m.index)),
				       m.log_hash, m.verdict > 0);
		if (m.verdict)
			note_bad(res, p, m.index, m.verdict);
	}
}

int check_explore(const struct check_target *t, const struct check_params *p,
		  struct check_result *res)
{
	atomic64_t *first_bad; /* shared with the workers */
	u64 *started = calloc(p->jobs, sizeof(*started));
	pid_t *pids = calloc(p->jobs, sizeof(*pids));
	double t0 = now();
	int fds[2], status;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->scenario = t->name;
	first_bad = mmap(NULL, sizeof(*first_bad), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!started || !pids || first_bad == MAP_FAILED || pipe(fds)) {
		free(started);
		free(pids);
		return -ENOMEM;
	}
	atomic64_set(first_bad, -1);
	/* The workers inherit the handler: a ^C stops each between seeds. */
	interrupt_install();
	fflush(NULL);
	for (unsigned int j = 0; j < p->jobs; j++) {
		pid = det_fork();
		pids[j] = pid;
		if (pid == 0) {
			close(fds[0]);
			worker_fd = fds[1];
			worker(t, p, j, first_bad);
		}
		if (pid < 0)
			res->error = -errno;
	}
	close(fds[1]);
	collect(fds[0], p, res, started, pids);
	close(fds[0]);
	while (wait(&status) > 0)
		;
	/* A worker that died inside a seed failed it. */
	for (unsigned int j = 0; j < p->jobs; j++)
		if (started[j])
			note_bad(res, p, started[j] - 1, 1);
	res->interrupted = interrupted();
	res->seconds = now() - t0;
	munmap(first_bad, sizeof(*first_bad));
	free(started);
	free(pids);
	return res->error;
}

/* ---------------------------------------------------------------------
 * JSON
 */

static struct json_object *json_u64(u64 v)
{
	return json_object_new_int64((int64_t)v);
}

static struct json_object *result_json(const struct check_params *p,
				       const struct check_result *r,
				       const struct check_target *t)
{
	struct json_object *o = json_object_new_object();
	struct json_object *cov = json_object_new_object();
	struct json_object *viol = json_object_new_array();

	json_object_object_add(o, "scenario",
			       json_object_new_string(r->scenario));
	json_object_object_add(o, "exec", json_object_new_boolean(t->exec));
	json_object_object_add(o, "seeds_run", json_u64(r->seeds_run));
	json_object_object_add(o, "seconds",
			       json_object_new_double(r->seconds));
	json_object_object_add(
		o, "rate",
		json_object_new_double(
			r->seconds > 0 ? r->seeds_run / r->seconds * 60 : 0));
	json_object_object_add(cov, "unit",
			       json_object_new_string("schedules"));
	json_object_object_add(cov, "schedules", json_u64(r->seeds_run));
	json_object_object_add(cov, "scheduling_points", json_u64(r->steps));
	json_object_object_add(o, "coverage", cov);
	if (r->found) {
		struct json_object *v = json_object_new_object();
		char line[512];

		replay_args(line, sizeof(line), t, r->seed, r->strategy,
			    p->mutant);
		json_object_object_add(v, "seed", json_u64(r->seed));
		json_object_object_add(
			v, "strategy",
			json_object_new_string(
				check_strategy_name(r->strategy)));
		json_object_object_add(v, "replay",
				       json_object_new_string(line));
		json_object_array_add(viol, v);
	}
	json_object_object_add(o, "violations", viol);
	return o;
}

void check_json(FILE *out, const struct check_params *p,
		const struct check_result *res, unsigned int n,
		const struct check_target *targets, bool merged)
{
	struct json_object *o = json_object_new_object();
	struct json_object *runs = json_object_new_array();
	struct json_object *shard = json_object_new_object();
	bool found = false;

	json_object_object_add(o, "schema",
			       json_object_new_string("mmulab-check/1"));
	json_object_object_add(o, "version",
			       json_object_new_string(MMULAB_VERSION));
	json_object_object_add(
		o, "strategy",
		json_object_new_string(
			p->both ? "both" : check_strategy_name(p->strategy)));
	json_object_object_add(o, "mutant",
			       p->mutant ? json_object_new_string(p->mutant)
					 : NULL);
	json_object_object_add(o, "first_seed", json_u64(p->first));
	json_object_object_add(o, "seeds", json_u64(p->seeds));
	json_object_object_add(shard, "index", json_u64(p->shard + 1));
	json_object_object_add(shard, "count", json_u64(p->nr_shards));
	json_object_object_add(o, "shard", merged ? NULL : shard);
	if (merged)
		json_object_put(shard);
	json_object_object_add(o, "jobs", json_u64(p->jobs));
	for (unsigned int i = 0; i < n; i++) {
		json_object_array_add(runs,
				      result_json(p, &res[i], &targets[i]));
		found |= res[i].found;
	}
	json_object_object_add(o, "runs", runs);
	json_object_object_add(
		o, "result",
		json_object_new_string(found ? "violation" : "clean"));
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PRETTY |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ---------------------------------------------------------------------
 * --merge
 */

static u64 get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v)
		       ? (u64)json_object_get_int64(v)
		       : 0;
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
			       json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

#define MERGE_MAX_RUNS 64

struct merge {
	struct json_object *first;
	struct check_params p;
	unsigned int nr_runs;
	struct check_result res[MERGE_MAX_RUNS];
	struct check_target targets[MERGE_MAX_RUNS];
	char replay[MERGE_MAX_RUNS][512];
	unsigned long long shards_seen;
};

static int merge_err(const char *file, const char *what)
{
	fprintf(stderr, "mmulab check: --merge: %s: %s\n", file, what);
	return EXIT_USAGE;
}

/* The search's parameters, from the first shard; the others must agree. */
static int merge_params(struct merge *m, struct json_object *o,
			const char *file)
{
	struct json_object *shard, *runs;
	u64 idx, count;

	if (!same_str(get_str(o, "schema"), "mmulab-check/1") ||
	    !json_object_object_get_ex(o, "shard", &shard) || !shard ||
	    !json_object_object_get_ex(o, "runs", &runs) ||
	    !json_object_is_type(runs, json_type_array))
		return merge_err(file, "not the JSON of one shard of "
				       "'mmulab check --json'");
	idx = get_u64(shard, "index");
	count = get_u64(shard, "count");
	if (!m->first) {
		m->first = o;
		m->p.first = get_u64(o, "first_seed");
		m->p.seeds = get_u64(o, "seeds");
		m->p.nr_shards = count;
		m->p.jobs = 0;
		m->p.mutant = get_str(o, "mutant");
		m->p.both = same_str(get_str(o, "strategy"), "both");
		if (!m->p.both)
			m->p.strategy = check_strategy_of(get_str(o, "strategy")
								  ?: "?");
		m->nr_runs = json_object_array_length(runs);
		if (count < 1 || count > 64 || m->nr_runs > MERGE_MAX_RUNS)
			return merge_err(file, "too many shards or runs");
	} else if (get_u64(o, "first_seed") != m->p.first ||
		   get_u64(o, "seeds") != m->p.seeds ||
		   count != m->p.nr_shards ||
		   !same_str(get_str(o, "mutant"), m->p.mutant) ||
		   !same_str(get_str(o, "strategy"),
			     get_str(m->first, "strategy")) ||
		   json_object_array_length(runs) != m->nr_runs) {
		return merge_err(file, "a shard of another search (seeds, "
				       "strategy, mutant or scenarios differ)");
	}
	if (idx < 1 || idx > count || (m->shards_seen & (1ULL << (idx - 1))))
		return merge_err(file, "shard index missing, out of range or "
				       "given twice");
	m->shards_seen |= 1ULL << (idx - 1);
	m->p.jobs += get_u64(o, "jobs");
	return 0;
}

static void merge_run(struct merge *m, unsigned int i, struct json_object *run)
{
	struct check_result *r = &m->res[i];
	struct json_object *viol, *cov, *v;
	u64 seed;

	r->scenario = get_str(run, "scenario") ?: "?";
	m->targets[i].name = r->scenario;
	m->targets[i].exec = json_object_object_get_ex(run, "exec", &v) &&
			     json_object_get_boolean(v);
	r->seeds_run += get_u64(run, "seeds_run");
	if (json_object_object_get_ex(run, "seconds", &v))
		r->seconds += json_object_get_double(v);
	if (json_object_object_get_ex(run, "coverage", &cov))
		r->steps += get_u64(cov, "scheduling_points");
	if (!json_object_object_get_ex(run, "violations", &viol) ||
	    !json_object_array_length(viol))
		return;
	v = json_object_array_get_idx(viol, 0);
	seed = get_u64(v, "seed");
	if (r->found && r->seed <= seed)
		return;
	r->found = true;
	r->seed = seed;
	r->strategy = check_strategy_of(get_str(v, "strategy") ?: "?");
	snprintf(m->replay[i], sizeof(m->replay[i]), "%s",
		 get_str(v, "replay") ?: "");
}

static void merge_print(const struct merge *m)
{
	for (unsigned int i = 0; i < m->nr_runs; i++) {
		const struct check_result *r = &m->res[i];

		if (r->found) {
			printf("violation: %s at seed %llu (%s)\n", r->scenario,
			       (unsigned long long)r->seed,
			       check_strategy_name(r->strategy));
			printf("replay: %s\n", m->replay[i]);
			return;
		}
		printf("%s: %llu seeds, no violation; %.0f schedules/minute "
		       "per worker\n",
		       r->scenario, (unsigned long long)r->seeds_run,
		       r->seconds > 0 ? r->seeds_run / r->seconds * 60 : 0);
	}
}

int check_merge(int nr_files, char **files, bool json)
{
	struct merge *m = calloc(1, sizeof(*m));
	struct json_object *objs[64] = {NULL};
	bool found = false;
	int ret = 0;

	if (!m || nr_files > 64)
		return merge_err("", nr_files > 64 ? "more than 64 files"
						   : "out of memory");
	for (int f = 0; f < nr_files && !ret; f++) {
		struct json_object *runs;

		objs[f] = json_object_from_file(files[f]);
		if (!objs[f]) {
			ret = merge_err(files[f], "cannot read it as JSON");
			break;
		}
		ret = merge_params(m, objs[f], files[f]);
		if (ret || !json_object_object_get_ex(objs[f], "runs", &runs))
			break;
		for (unsigned int i = 0; i < m->nr_runs; i++)
			merge_run(m, i, json_object_array_get_idx(runs, i));
	}
	if (!ret && m->shards_seen != (m->p.nr_shards == 64
					       ? ~0ULL
					       : (1ULL << m->p.nr_shards) - 1))
		ret = merge_err(files[0], "shards are missing");
	if (!ret) {
		m->p.shard = 0;
		for (unsigned int i = 0; i < m->nr_runs; i++)
			found |= m->res[i].found;
		if (json)
			check_json(stdout, &m->p, m->res, m->nr_runs,
				   m->targets, true);
		else
			merge_print(m);
		ret = found ? EXIT_FAILED : EXIT_OK;
	}
	for (int f = 0; f < nr_files; f++)
		if (objs[f])
			json_object_put(objs[f]);
	free(m);
	return ret;
}
