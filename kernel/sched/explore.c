// SPDX-License-Identifier: MIT
/*
 * det_explore(): a third party's own scenario, seed after seed, under the
 * deterministic scheduler, with the search `mmulab check` makes of the
 * built-in races (and, through `mmulab check --exec`, its workers and
 * shards).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mmulab/sched.h>

static const char *const strategy_names[] = {
	[DET_STRATEGY_RANDOM] = "random",
	[DET_STRATEGY_PCT] = "pct",
	[DET_STRATEGY_ROUND_ROBIN] = "round-robin",
};

static const char *strategy_name(enum det_strategy s)
{
	return (unsigned int)s < sizeof(strategy_names) / sizeof(char *) &&
			       strategy_names[s]
		       ? strategy_names[s]
		       : "?";
}

static int strategy_of(const char *name, enum det_strategy *out)
{
	for (unsigned int i = 0; i < sizeof(strategy_names) / sizeof(char *);
	     i++) {
		if (strategy_names[i] && !strcmp(strategy_names[i], name)) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int env_u64(const char *var, u64 *out)
{
	const char *s = getenv(var);
	char *end;

	if (!s)
		return 0;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (errno || !*s || *end || *s == '-') {
		fprintf(stderr, "det_explore: %s='%s' is not a number\n", var,
			s);
		return -EINVAL;
	}
	return 1;
}

static __attribute__((noreturn)) void seed_failure(const char *why)
{
	printf("violation: the run %s (liveness)\n", why);
	fflush(stdout);
	_exit(1);
}

/* One seed in this process: 0 passed, 1 failed, -errno. */
static int run_seed(int (*fn)(void *arg), void *arg, u64 seed,
		    enum det_strategy strategy)
{
	struct det_config cfg = {.seed = seed, .strategy = strategy};
	struct det_result dr;
	int ret = det_begin(&cfg);

	if (ret)
		return ret;
	det_set_failure_handler(seed_failure);
	ret = fn(arg);
	if (det_end(&dr))
		ret = 1;
	fflush(stdout);
	return ret ? 1 : 0;
}

/* One seed in a child, its output discarded if @quiet: 0 passed, 1 failed. */
static int fork_seed(int (*fn)(void *arg), void *arg, u64 seed,
		     enum det_strategy strategy, bool quiet)
{
	int status, null;
	pid_t pid;

	fflush(NULL);
	pid = det_fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		null = quiet ? open("/dev/null", O_WRONLY) : -1;
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		_exit(run_seed(fn, arg, seed, strategy) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static void print_replay(const char *name, u64 seed, enum det_strategy strategy)
{
	printf("replay: MMULAB_SEED=%llu MMULAB_STRATEGY=%s %s\n",
	       (unsigned long long)seed, strategy_name(strategy), name);
	fflush(stdout);
}

static int single_seed(int (*fn)(void *arg), void *arg, u64 seed,
		       const char *name, struct det_explore_result *res)
{
	enum det_strategy strategy = DET_STRATEGY_RANDOM;
	const char *s = getenv("MMULAB_STRATEGY");
	int ret;

	if (s && strategy_of(s, &strategy)) {
		fprintf(stderr,
			"det_explore: MMULAB_STRATEGY='%s': expected "
			"random, pct or round-robin\n",
			s);
		return -EINVAL;
	}
	ret = run_seed(fn, arg, seed, strategy);
	if (ret < 0)
		return ret;
	res->seeds_run = 1;
	res->found = ret;
	res->seed = seed;
	res->strategy = strategy;
	if (ret)
		print_replay(name, seed, strategy);
	return ret;
}

int det_explore(int (*fn)(void *arg), void *arg,
		const struct det_explore_opts *opts,
		struct det_explore_result *res)
{
	struct det_explore_opts o = opts ? *opts : (struct det_explore_opts){0};
	struct det_explore_result dummy;
	u64 seed;
	int ret;

	if (!fn)
		return -EINVAL;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (!o.name)
		o.name = program_invocation_name;
	ret = env_u64("MMULAB_SEED", &seed);
	if (ret)
		return ret < 0 ? ret : single_seed(fn, arg, seed, o.name, res);
	if (env_u64("MMULAB_FIRST_SEED", &o.first_seed) < 0 ||
	    env_u64("MMULAB_SEEDS", &o.seeds) < 0)
		return -EINVAL;
	if (!o.first_seed)
		o.first_seed = 1;
	if (!o.seeds)
		o.seeds = 100;
	for (u64 i = 0; i < o.seeds; i++) {
		enum det_strategy st = o.strategy;

		seed = o.first_seed + i;
		if (o.alternate)
			st = seed & 1 ? DET_STRATEGY_PCT : DET_STRATEGY_RANDOM;
		ret = fork_seed(fn, arg, seed, st, true);
		if (ret < 0)
			return ret;
		if (!ret) {
			res->seeds_run++;
			continue;
		}
		res->found = true;
		res->seed = seed;
		res->strategy = st;
		/* Once more, with its output: the report, then the replay. */
		printf("det_explore: seed %llu (%s) failed after %llu seeds; "
		       "running it again:\n",
		       (unsigned long long)seed, strategy_name(st),
		       (unsigned long long)i + 1);
		fflush(stdout);
		fork_seed(fn, arg, seed, st, false);
		print_replay(o.name, seed, st);
		return 1;
	}
	return 0;
}
