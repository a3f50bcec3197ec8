// SPDX-License-Identifier: MIT
/*
 * mmulab check: explore race scenarios seed after seed under the
 * deterministic scheduler, with the coherence checker attached, and stop
 * at the first violation with the command that replays it.
 *
 * A scenario is a scenario file (docs/scenario.md), usually with a race
 * block; the built-in ones are files too (tools/mmulab/races/, shown by
 * `mmulab show`).  With --exec, a program of the user's own, built on
 * det_explore(), runs each seed instead (MMULAB_SEED in its environment).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mmulab/checker.h>
#include <mmulab/mutant.h>

#include "check.h"
#include "cli.h"
#include "interrupt.h"
#include "mmulab.h"
#include "plot.h"
#include "script.h"

/**
 * struct check_scenario - a built-in race scenario.
 * @name: as given on the command line.
 * @desc: one line for usage.
 * @text: the scenario file (tools/mmulab/races/NAME.mmu).
 */
struct check_scenario {
	const char *name;
	const char *desc;
	const char *text;
};

static const struct check_scenario races[] = {
	{ "fault-race", "two vCPUs fault while the host replaces, zaps, "
			"write-protects and COWs the same pages",
	  race_fault_race },
	{ "mirror-race", "an HMM-style device mirror faults through its "
			 "interval notifier while the host changes the pages",
	  race_mirror_race },
	{ "register-race", "a VM registers its notifier while the host is "
			   "unmapping its memory",
	  race_register_race },
	{ "change-pte-race", "guest read faults race COW breaks with "
			     "change_pte inside start/end",
	  race_change_pte_race },
	{ "pressure-race", "vCPUs fault and read while reclaim swaps their "
			   "pages out, KSM scans them and compaction moves "
			   "them",
	  race_pressure_race },
	{ "mirror-overlap", "two host tasks invalidate overlapping ranges "
			    "under a device mirror's accesses",
	  race_mirror_overlap },
	{ "exit-vm-alive", "the VMM process exits while its VM's vCPUs "
			   "still run",
	  race_exit_vm_alive },
	{ "ksm-identical", "KSM merges pages of identical contents under "
			   "running vCPUs that write them",
	  race_ksm_identical },
	{ "wrprotect-race", "the host write-protects and restores pages "
			    "while guest and device stores are in flight",
	  race_wrprotect_race },
	{ "gru-race", "a GRU-style TLB faults through GUP while the host "
		      "changes the pages",
	  race_gru_race },
	{ "punch-race", "two vCPUs fault guest RAM on a memfd while the host "
			"punches holes in the file behind them",
	  race_punch_race },
	{ "xpmem-race", "an XPMEM-style importer faults remotely while the "
			"exporter's pages change; every invalidation waits "
			"for its acknowledgement",
	  race_xpmem_race },
	{ "thp-split-race", "two vCPUs fault a 2 MiB guest page mapped huge "
			    "while the host splits, zaps and write-protects "
			    "it",
	  race_thp_split_race },
	{ "hmm-race", "an HMM-style device mirror faults whole ranges in "
		      "with hmm_range_fault() while the host changes the "
		      "pages",
	  race_hmm_race },
	{ "migrate-race", "two device mirrors: one migrates the pages into "
			  "its memory and back while the other maps them",
	  race_migrate_race },
};

/*
 * The scenarios each mutant concerns: `--mutant NAME` without a scenario
 * runs these.  One line per mutant; a mutant not listed runs them all.
 */
static const struct {
	enum mutant mutant;
	const char *scenarios;
} mutant_scenarios[] = {
	{ MUTANT_SKIP_SEQ_CHECK, "fault-race" },
	{ MUTANT_SKIP_IN_PROGRESS_CHECK, "fault-race" },
	{ MUTANT_RANGE_OFF_BY_ONE, "fault-race" },
	{ MUTANT_SEQ_AFTER_COUNT, "fault-race" },
	{ MUTANT_SKIP_TLB_FLUSH, "fault-race" },
	{ MUTANT_FREE_BEFORE_START, "fault-race" },
	{ MUTANT_KEEP_GUP_REF, "fault-race" },
	{ MUTANT_CHANGE_PTE_UNBOOKENDED, "change-pte-race" },
	{ MUTANT_REGISTER_NO_EXCLUSION, "register-race" },
	{ MUTANT_INTERVAL_NO_SEQ_BUMP, "mirror-race" },
	{ MUTANT_FLUSH_AT_END, "fault-race" },
	{ MUTANT_PRIMARY_NO_NOTIFIER, "fault-race" },
	{ MUTANT_END_BEFORE_ZAP, "fault-race" },
	{ MUTANT_FLUSH_NO_WAIT, "fault-race" },
	{ MUTANT_RELEASE_LEAVES_MAPPINGS, "fault-race" },
	{ MUTANT_SLEEP_IN_NONBLOCK, "pressure-race" },
	{ MUTANT_LOCK_INVERSION, "pressure-race" },
	{ MUTANT_GRU_FILL_NO_RECHECK, "gru-race" },
	{ MUTANT_PUNCH_FREE_BEFORE_START, "punch-race" },
	{ MUTANT_XPMEM_END_ONLY, "xpmem-race" },
	{ MUTANT_XPMEM_ACK_BEFORE_DROP, "xpmem-race" },
	{ MUTANT_THP_SPLIT_NO_NOTIFY, "thp-split-race" },
	{ MUTANT_HMM_NO_RETRY_CHECK, "hmm-race" },
	{ MUTANT_MIGRATE_NO_OWNER_CHECK, "migrate-race" },
	{ MUTANT_RELEASE_NO_DEAD_MARK, "exit-vm-alive" },
	{ MUTANT_ZAP_NO_TLB_FLUSH, "fault-race" },
};

const char *check_race_text(const char *name)
{
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(races); i++)
		if (!strcmp(races[i].name, name))
			return races[i].text;
	return NULL;
}

const char *check_race_at(unsigned int i, const char **desc)
{
	if (i >= MMULAB_ARRAY_SIZE(races))
		return NULL;
	*desc = races[i].desc;
	return races[i].name;
}

/* ---------------------------------------------------------------------
 * One seed of a scenario file
 */

u64 check_last_log_hash;

/* --strategy bounded: the search whose next schedule the run follows. */
static struct det_search *bounded_search;

static int script_seed(const struct check_target *t, u64 seed,
		       enum det_strategy strategy, bool verbose,
		       unsigned long *steps)
{
	struct det_config dc = { .seed = seed, .strategy = strategy,
				 .search = bounded_search };
	struct script_check chk = { .seed = seed, .report = verbose };
	struct report *r = calloc(1, sizeof(*r));
	struct det_result res;
	int err;

	if (!r)
		return -ENOMEM;
	report_init(r, t->name);
	err = det_begin(&dc);
	if (err) {
		free(r);
		return err;
	}
	script_run_checked(t->ctx, r, &chk);
	err = det_end(&res);
	*steps += res.steps;
	check_last_log_hash = err ? 0 : res.log_hash;
	if (!err && !chk.violations && r->nr_failures) {
		chk.violations = 1;
		if (verbose)
			printf("violation: failed check: %s\n", r->failures[0]);
	}
	free(r);
	return err ?: !!chk.violations;
}

/* ---------------------------------------------------------------------
 * One seed of a program (--exec)
 */

static int exec_seed(const struct check_target *t, u64 seed,
		     enum det_strategy strategy, bool verbose,
		     unsigned long *steps)
{
	char buf[24];
	int status;
	pid_t pid;

	(void)steps;
	check_last_log_hash = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)seed);
		setenv("MMULAB_SEED", buf, 1);
		setenv("MMULAB_STRATEGY", check_strategy_name(strategy), 1);
		if (!verbose && null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execl(t->name, t->name, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOEXEC;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return -EINVAL;
	if (WIFSIGNALED(status) && verbose)
		printf("violation: %s died of signal %d\n", t->name,
		       WTERMSIG(status));
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* ---------------------------------------------------------------------
 * The command line
 */

static struct {
	const struct check_target *target;
	const char *mutant;
	u64 seed;
	enum det_strategy strategy;
} replaying;

/* The replay line, with the schedule when a bounded search found it. */
static void print_replay(const struct check_target *t, u64 seed,
			 enum det_strategy strategy, const char *mutant)
{
	char spec[8192];

	if (strategy != DET_STRATEGY_BOUNDED || !bounded_search ||
	    det_search_format(bounded_search, spec, sizeof(spec)) <= 0) {
		check_print_replay(stdout, t, seed, strategy, mutant);
		return;
	}
	printf("replay: mmulab check %s --replay %llu --strategy bounded "
	       "--schedule %s%s%s\n",
	       t->name, (unsigned long long)seed, spec,
	       mutant ? " --mutant " : "", mutant ? mutant : "");
}

static __attribute__((noreturn)) void on_det_failure(const char *why)
{
	printf("violation: the run %s (liveness)\n", why);
	print_replay(replaying.target, replaying.seed, replaying.strategy,
		     replaying.mutant);
	fflush(stdout);
	_exit(1);
}

static void check_usage(FILE *out)
{
	const char *desc;

	fprintf(out,
		"usage: mmulab check [SCENARIO|FILE...] [--seeds N] "
		"[--first-seed S]\n"
		"                    [--strategy random|pct|both|bounded] "
		"[--bound K]\n"
		"                    [--mutant NAME] [--replay SEED "
		"[--schedule S]]\n"
		"                    [--jobs N] [--shard I/N] [--json] "
		"[--plot FILE.svg]\n"
		"       mmulab check --exec PROG [options]\n"
		"       mmulab check --merge [--json] FILE...\n"
		"\nBuilt-in scenarios (mmulab show races/NAME prints one):\n");
	for (unsigned int i = 0; check_race_at(i, &desc); i++)
		fprintf(out, "  %-16s %s\n", races[i].name, desc);
	fprintf(out, "\nMutants (each breaks one step of the protocol; "
		     "without SCENARIO,\n--mutant runs the races it "
		     "concerns):\n");
	for (int m = 1; m < NR_MUTANTS; m++) {
		fprintf(out, "  %-24s", mutant_name(m));
		for (size_t i = 0; i < MMULAB_ARRAY_SIZE(mutant_scenarios); i++)
			if (mutant_scenarios[i].mutant == (enum mutant)m)
				fprintf(out, " %s", mutant_scenarios[i].scenarios);
		fputc('\n', out);
	}
}

static int parse_shard(const char *s, struct check_params *p)
{
	unsigned int i, n;
	char c;

	if (sscanf(s, "%u/%u%c", &i, &n, &c) != 2 || !n || !i || i > n ||
	    n > 64)
		return -EINVAL;
	p->shard = i - 1;
	p->nr_shards = n;
	return 0;
}

/**
 * struct check_cmd - a parsed `mmulab check` command line.
 * @p: the search.
 * @replay: run this one seed verbosely (--replay).
 * @exec: the program of --exec.
 * @json: print the result as JSON.
 * @merge: combine shard results (the arguments are files).
 * @bound: --strategy bounded's preemption bound.
 * @schedule: with --replay, the schedule of a bounded search to run.
 * @seeds_given: --seeds was given (a bounded search then covers that many
 *	programs, one per seed; one otherwise).
 */
struct check_cmd {
	struct check_params p;
	bool do_replay;
	u64 replay;
	const char *exec;
	bool json;
	bool merge;
	unsigned int bound;
	const char *schedule;
	bool seeds_given;
};

/* "--seeds": an integer option of check, from @min to @max, or an error. */
static int opt_u64(const char *opt, u64 min, u64 max, u64 *out)
{
	return cli_parse_u64("check", opt, optarg, min, max, out) ? -ENOENT : 0;
}

/* One option; -ENOENT when its error was already said. */
static int parse_opt(struct check_cmd *c, int opt)
{
	u64 v;
	int s;

	switch (opt) {
	case 'n':
		c->seeds_given = true;
		return opt_u64("--seeds", 1, UINT64_MAX, &c->p.seeds);
	case 'b':
		if (opt_u64("--bound", 0, 64, &v))
			return -ENOENT;
		c->bound = v;
		return 0;
	case 'T':
		c->schedule = optarg;
		return 0;
	case 'f':
		return opt_u64("--first-seed", 0, UINT64_MAX, &c->p.first);
	case 's':
		c->p.both = !strcmp(optarg, "both");
		s = check_strategy_of(optarg);
		if (!c->p.both && s < 0) {
			cli_error("check", "--strategy is random, pct, both or "
				  "bounded, not '%s'", optarg);
			return -ENOENT;
		}
		c->p.strategy = s < 0 ? DET_STRATEGY_RANDOM : s;
		return 0;
	case 'm':
		if (mutant_lookup(optarg) < 0) {
			cli_error("check", "unknown mutant '%s' (mmulab check "
				  "--help lists them)", optarg);
			return -ENOENT;
		}
		c->p.mutant = optarg;
		mutant_set(mutant_lookup(optarg));
		return 0;
	case 'r':
		c->do_replay = true;
		return opt_u64("--replay", 0, UINT64_MAX, &c->replay);
	case 'j':
		if (opt_u64("--jobs", 1, 1024, &v))
			return -ENOENT;
		c->p.jobs = v;
		return 0;
	case 'S':
		if (parse_shard(optarg, &c->p)) {
			cli_error("check", "--shard is I/N with 1 <= I <= N <= "
				  "64, not '%s'", optarg);
			return -ENOENT;
		}
		return 0;
	case 'J':
		c->json = true;
		return 0;
	case 'M':
		c->merge = true;
		return 0;
	case 'x':
		c->exec = optarg;
		return 0;
	case 'P':
		if (!plot_available("--plot") ||
		    !plot_writable("--plot", optarg))
			return -ENOENT;
		c->p.plot = optarg;
		return 0;
	default: /* cli_getopt() said what is wrong */
		return -ENOENT;
	}
}

static int parse_cmdline(struct check_cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seeds", required_argument, NULL, 'n' },
		{ "first-seed", required_argument, NULL, 'f' },
		{ "strategy", required_argument, NULL, 's' },
		{ "mutant", required_argument, NULL, 'm' },
		{ "replay", required_argument, NULL, 'r' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "shard", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "merge", no_argument, NULL, 'M' },
		{ "exec", required_argument, NULL, 'x' },
		{ "bound", required_argument, NULL, 'b' },
		{ "schedule", required_argument, NULL, 'T' },
		{ "plot", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int opt, err;

	*c = (struct check_cmd){ .p = { .first = 1, .seeds = 1000,
					.both = true, .nr_shards = 1,
					.jobs = cores > 0 ? cores : 1 },
				 .bound = 1 };
	optind = 1;
	while ((opt = cli_getopt("check", argc, argv, "h", opts)) != -1) {
		if (opt == 'h') {
			check_usage(stdout);
			return 1;
		}
		err = parse_opt(c, opt);
		if (err == -ENOENT)
			return EXIT_USAGE;
		if (err) {
			check_usage(stderr);
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Targets
 */

#define MAX_TARGETS 32

/* A built-in's name or a file: parse it into @t. */
static int load_target(struct check_target *t, const char *arg)
{
	const char *text = check_race_text(arg);
	char *buf = NULL;
	size_t len;
	int err;

	if (!text) {
		buf = read_scenario(arg, &len);
		if (!buf)
			return -ENOENT;
	} else {
		len = strlen(text);
	}
	err = script_parse(arg, buf ? buf : text, len,
			   (struct script **)&t->ctx, true);
	free(buf);
	if (err)
		return err;
	t->name = arg;
	t->run = script_seed;
	return 0;
}

/* The built-ins a run without a scenario explores. */
static unsigned int default_targets(const struct check_params *p,
				    const char **names)
{
	enum mutant m = p->mutant ? mutant_lookup(p->mutant) : MUTANT_NONE;
	const char *desc;
	unsigned int n = 0;

	for (size_t i = 0; m && i < MMULAB_ARRAY_SIZE(mutant_scenarios); i++)
		if (mutant_scenarios[i].mutant == m)
			names[n++] = mutant_scenarios[i].scenarios;
	if (n)
		return n;
	while (check_race_at(n, &desc) && n < MAX_TARGETS) {
		names[n] = check_race_at(n, &desc);
		n++;
	}
	return n;
}

static void free_targets(struct check_target *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (!t[i].exec)
			script_free(t[i].ctx);
}

/* ---------------------------------------------------------------------
 * The search
 */

static int replay_one(const struct check_target *t, const struct check_cmd *c,
		      u64 seed, enum det_strategy st)
{
	unsigned long steps = 0;
	int v;

	replaying.target = t;
	replaying.mutant = c->p.mutant;
	replaying.seed = seed;
	replaying.strategy = st;
	det_set_failure_handler(on_det_failure);
	v = t->run(t, seed, st, true, &steps);
	if (v > 0)
		check_print_replay(stdout, t, seed, st, c->p.mutant);
	if (v < 0)
		fprintf(stderr, "mmulab check: seed %llu: %s\n",
			(unsigned long long)seed, strerror(-v));
	return v < 0 ? EXIT_USAGE : v ? EXIT_FAILED : EXIT_OK;
}

static void print_result(const struct check_cmd *c,
			 const struct check_target *t,
			 const struct check_result *r)
{
	const struct check_params *p = &c->p;

	if (r->found) {
		/* The report comes from replaying the seed, here. */
		replay_one(t, c, r->seed, r->strategy);
		printf("found after %llu seed%s (%.1f s)\n",
		       (unsigned long long)r->index + 1, r->index ? "s" : "",
		       r->seconds);
		return;
	}
	if (r->interrupted) {
		printf("%s: interrupted by SIGINT after %llu of %llu seeds, "
		       "no violation so far\n",
		       t->name, (unsigned long long)r->seeds_run,
		       (unsigned long long)p->seeds);
		return;
	}
	printf("%s: %llu seeds", t->name, (unsigned long long)r->seeds_run);
	if (p->nr_shards > 1)
		printf(" (shard %u/%u)", p->shard + 1, p->nr_shards);
	printf(", no violation; %.0f schedules/minute, %.0f scheduling "
	       "points/s on %u job%s\n",
	       r->seconds > 0 ? r->seeds_run / r->seconds * 60 : 0,
	       r->seconds > 0 ? r->steps / r->seconds : 0, p->jobs,
	       p->jobs > 1 ? "s" : "");
}

static int search(struct check_cmd *c, struct check_target *t,
		  unsigned int n)
{
	struct check_result res[MAX_TARGETS];
	unsigned int done = 0;
	int status = EXIT_OK;

	for (unsigned int i = 0; i < n && status == EXIT_OK; i++, done++) {
		int err = check_explore(&t[i], &c->p, &res[i]);

		if (err) {
			fprintf(stderr, "mmulab check: %s: %s\n", t[i].name,
				t[i].exec && err == -ENOEXEC ?
					"cannot run it" :
					strerror(-err));
			return EXIT_USAGE;
		}
		if (res[i].found || res[i].interrupted)
			status = EXIT_FAILED;
		if (!c->json)
			print_result(c, &t[i], &res[i]);
	}
	if (c->json)
		check_json(stdout, &c->p, res, done, t, false);
	return status;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The bounded search @s of @seed failed: run its failing schedule again,
 * with its report and the replay line.
 */
static void bounded_report(const struct check_cmd *c,
			   const struct check_target *t, struct det_search *s,
			   u64 seed, unsigned long *steps)
{
	struct det_search *again = det_search_parse("");
	char spec[8192];

	if (det_search_format(s, spec, sizeof(spec)) > 0 && !IS_ERR(again)) {
		det_search_destroy(again);
		again = det_search_parse(spec);
	}
	if (IS_ERR(again))
		return;
	bounded_search = again;
	script_seed(t, seed, DET_STRATEGY_BOUNDED, true, steps);
	print_replay(t, seed, DET_STRATEGY_BOUNDED, c->p.mutant);
	det_search_destroy(again);
}

/*
 * --strategy bounded: for each program (a seed picks the operations of
 * tasks with `pick`), run every schedule with at most c->bound
 * preemptions, in this process; with --replay, just c->schedule.
 */
static int check_bounded(const struct check_cmd *c,
			 const struct check_target *t)
{
	u64 first = c->do_replay ? c->replay : c->p.first;
	u64 nr = c->do_replay || !c->seeds_given ? 1 : c->p.seeds;
	unsigned long total = 0, runs = 0, steps = 0;
	struct det_stats st0, st1;
	double t0 = now(), dt;

	det_set_failure_handler(on_det_failure);
	det_get_stats(&st0);
	for (u64 i = 0; i < nr; i++) {
		struct det_search *s = c->do_replay ?
			det_search_parse(c->schedule ?: "") :
			det_search_create(c->bound);
		int r;

		if (IS_ERR(s)) {
			fprintf(stderr, "mmulab check: bad --schedule '%s'\n",
				c->schedule);
			return EXIT_USAGE;
		}
		bounded_search = s;
		replaying = (typeof(replaying)){ t, c->p.mutant, first + i,
						 DET_STRATEGY_BOUNDED };
		do {
			r = script_seed(t, first + i, DET_STRATEGY_BOUNDED,
					false, &steps);
			if (r >= 0 && c->p.plot)
				check_plot_add(DET_STRATEGY_BOUNDED,
					       check_last_log_hash, r > 0);
		} while (r == 0 && !interrupted() && det_search_next(s));
		total += det_search_schedules(s);
		runs += det_search_runs(s);
		if (r > 0)
			bounded_report(c, t, s, first + i, &steps);
		det_search_destroy(s);
		bounded_search = NULL;
		if (r < 0) {
			fprintf(stderr, "mmulab check: seed %llu: %s\n",
				(unsigned long long)(first + i), strerror(-r));
			return EXIT_USAGE;
		}
		if (r) {
			printf("found after %lu run%s (%.1f s)\n", runs,
			       runs > 1 ? "s" : "", now() - t0);
			return EXIT_FAILED;
		}
		if (interrupted()) {
			printf("%s: interrupted by SIGINT during the bounded "
			       "search of seed %llu\n", t->name,
			       (unsigned long long)(first + i));
			return EXIT_FAILED;
		}
	}
	if (c->do_replay)
		return EXIT_OK;
	dt = now() - t0;
	det_get_stats(&st1);
	printf("%s: bounded search complete, no violation in any schedule with "
	       "at most %u preemption%s (seed%s %llu-%llu): %lu schedules "
	       "(%lu distinct log hashes) in %lu runs; %.0f runs/minute, "
	       "%.0f scheduling points/s\n",
	       t->name, c->bound, c->bound == 1 ? "" : "s", nr > 1 ? "s" : "",
	       (unsigned long long)first, (unsigned long long)(first + nr - 1),
	       total, st1.distinct - st0.distinct, runs,
	       dt > 0 ? runs / dt * 60.0 : 0, dt > 0 ? steps / dt : 0);
	return EXIT_OK;
}

/* --plot: draw the search; a failed drawing fails a passing search. */
static int plot_search(const struct check_cmd *c,
		       const struct check_target *t, unsigned int n, int ret)
{
	char what[256];
	size_t len = 0;

	what[0] = 0;
	for (unsigned int i = 0; i < n && len < sizeof(what); i++)
		len += snprintf(what + len, sizeof(what) - len, "%s%s",
				i ? " " : "", t[i].name);
	if (c->p.mutant && len < sizeof(what))
		snprintf(what + len, sizeof(what) - len, " --mutant %s",
			 c->p.mutant);
	if (check_plot_write(c->p.plot, what) && ret == EXIT_OK)
		return EXIT_FAILED;
	return ret;
}

int cmd_check(int argc, char **argv)
{
	struct check_target t[MAX_TARGETS] = { { 0 } };
	const char *names[MAX_TARGETS] = { NULL };
	struct check_cmd c;
	unsigned int n = 0;
	int ret = parse_cmdline(&c, argc, argv);

	if (ret)
		return ret == 1 ? EXIT_OK : ret;
	if (c.p.plot && (c.merge || c.do_replay)) {
		cli_error("check", "--plot draws a search: not with --merge or "
			  "--replay");
		return EXIT_USAGE;
	}
	if (c.merge)
		return optind < argc ? check_merge(argc - optind, argv + optind,
						   c.json) :
				       (check_usage(stderr), EXIT_USAGE);
	if (c.exec && optind < argc) {
		check_usage(stderr);
		return EXIT_USAGE;
	}
	if (c.exec) {
		t[n++] = (struct check_target){ .name = c.exec, .exec = true,
						.run = exec_seed };
	} else {
		for (int i = optind; i < argc && n < MAX_TARGETS; i++)
			names[n++] = argv[i];
		if (!n)
			n = default_targets(&c.p, names);
	}
	for (unsigned int i = 0; !c.exec && i < n; i++) {
		if (load_target(&t[i], names[i])) {
			free_targets(t, i);
			return EXIT_USAGE;
		}
	}
	warn_set_quiet(true);
	if (!c.p.both && c.p.strategy == DET_STRATEGY_BOUNDED)
		ret = n == 1 && !c.exec ? check_bounded(&c, &t[0]) :
			(fprintf(stderr, "mmulab check: --strategy bounded "
					 "needs one scenario\n"),
			 EXIT_USAGE);
	else if (c.do_replay)
		ret = n == 1 ? replay_one(&t[0], &c, c.replay,
					  c.p.both ? DET_STRATEGY_RANDOM :
						     c.p.strategy) :
			       (fprintf(stderr, "mmulab check: --replay needs "
						"one scenario\n"),
				EXIT_USAGE);
	else
		ret = search(&c, t, n);
	if (c.p.plot && ret != EXIT_USAGE)
		ret = plot_search(&c, t, n, ret);
	free_targets(t, n);
	return ret;
}
