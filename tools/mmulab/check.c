// SPDX-License-Identifier: MIT
/*
 * mmulab check: run small race scenarios under the deterministic
 * scheduler, seed after seed, with the coherence checker attached, and
 * stop at the first violation with the arguments that replay it.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#include "check.h"
#include "cli.h"

#define NPAGES 4
#define RW (PROT_READ | PROT_WRITE)

/* ---------------------------------------------------------------------
 * The world a scenario runs in
 */

struct world {
	struct host *host;
	struct mm_struct *mm;
	unsigned long hva;
	struct kvm *kvm;
	struct kvm_vcpu *vcpu[2];
	struct dmirror *dmirror;
	u64 seed;
	int done;
	/*
	 * INV-5's shadow of offset 16 of each page, the word only the host
	 * writes (a reset stores 0).
	 */
	struct checker_shadow shadow[NPAGES];
};

/* The host is about to change page @p's word to @val (0: reset). */
static void shadow_begin(struct world *w, unsigned int p, u64 val)
{
	checker_shadow_begin(&w->shadow[p], val);
}

static void shadow_commit(struct world *w, unsigned int p)
{
	checker_shadow_commit(&w->shadow[p]);
}

static void host_store(struct world *w, unsigned int p, u64 val)
{
	shadow_begin(w, p, val);
	cpu_write_u64(w->mm, w->hva + p * PAGE_SIZE + 16, val);
	shadow_commit(w, p);
}

/* Before a read of page @p's word: the oldest version it may return. */
static unsigned int read_start(struct world *w, unsigned int p)
{
	return checker_shadow_read_start(&w->shadow[p]);
}

/* A read of page @p's word, started at version @from, returned @val. */
static void check_read(struct world *w, unsigned int p, unsigned int from,
		       u64 val)
{
	checker_shadow_check(w->host, &w->shadow[p], from, val, p,
			     w->hva + p * PAGE_SIZE, (u64)p * PAGE_SIZE);
}

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static bool stop_early(struct world *w)
{
	return checker_violations(w->host) != 0;
}

/* One host operation on one page of the region. */
static void host_op(struct world *w, unsigned int r)
{
	unsigned int p = (r >> 4) % NPAGES;
	unsigned long a = w->hva + p * PAGE_SIZE;
	struct mm_struct *child;

	switch (r % 5) {
	case 0: /* replace the page: munmap + fresh memory */
		shadow_begin(w, p, 0);
		vm_mmap(w->mm, a, PAGE_SIZE, RW,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		shadow_commit(w, p);
		break;
	case 1:
		shadow_begin(w, p, 0);
		do_madvise(w->mm, a, PAGE_SIZE, MADV_DONTNEED);
		shadow_commit(w, p);
		break;
	case 2:
		do_mprotect(w->mm, a, PAGE_SIZE, PROT_READ);
		do_mprotect(w->mm, a, PAGE_SIZE, RW);
		break;
	case 3: /* fork, then the parent writes: copy-on-write */
		child = dup_mm(w->mm);
		host_store(w, p, checker_value(p, 0xfff0 + r % 16));
		if (!IS_ERR(child))
			mmput(child);
		break;
	case 4:
		host_store(w, p, checker_value(p, 0xff00 + r % 16));
		break;
	}
}

static int host_task(void *arg)
{
	struct world *w = arg;
	unsigned int s = (unsigned int)w->seed ^ 0x5eed;

	for (int i = 0; i < 6 && !stop_early(w); i++)
		host_op(w, rnd(&s));
	return 0;
}

/* A guest access; values carry their page so a stale read is visible. */
static void guest_op(struct world *w, struct kvm_vcpu *vcpu, unsigned int r,
		     int i)
{
	unsigned int p = (r >> 4) % NPAGES;
	gpa_t gpa = (gpa_t)p * PAGE_SIZE + kvm_vcpu_id(vcpu) * 8;
	unsigned int from;
	u64 val;

	if (r & 1) {
		kvm_vcpu_write_u64(vcpu, gpa,
				   checker_value(p, kvm_vcpu_id(vcpu) << 16 | i));
		return;
	}
	from = read_start(w, p);
	if (!kvm_vcpu_read_u64(vcpu, (gpa_t)p * PAGE_SIZE + 16, &val))
		check_read(w, p, from, val);
}

struct vcpu_arg {
	struct world *w;
	int idx;
};

static int vcpu_task(void *arg)
{
	struct vcpu_arg *va = arg;
	struct world *w = va->w;
	unsigned int s = (unsigned int)w->seed * 31 + va->idx;

	for (int i = 0; i < 12 && !stop_early(w); i++)
		guest_op(w, w->vcpu[va->idx], rnd(&s), i);
	return 0;
}

static int device_task(void *arg)
{
	struct vcpu_arg *va = arg;
	struct world *w = va->w;
	unsigned int s = (unsigned int)w->seed * 17 + va->idx;

	for (int i = 0; i < 12 && !stop_early(w); i++) {
		unsigned int r = rnd(&s), p = (r >> 4) % NPAGES, from;
		unsigned long a = w->hva + p * PAGE_SIZE;
		u64 val;

		if (r & 1)
			dmirror_write_u64(w->dmirror, a + va->idx * 8,
					  checker_value(p, i));
		else if (from = read_start(w, p),
			 !dmirror_read_u64(w->dmirror, a + 16, &val))
			check_read(w, p, from, val);
	}
	return 0;
}

static int world_create(struct world *w, enum change_pte_mode mode)
{
	struct host_config cfg = { .nr_frames = 256,
				   .content = HOST_CONTENT_DATA,
				   .change_pte = mode,
				   .swap_slots = 64 };

	w->host = host_create(&cfg);
	if (IS_ERR(w->host))
		return PTR_ERR(w->host);
	if (checker_attach(w->host))
		return -ENOMEM;
	w->mm = mm_alloc(w->host);
	if (IS_ERR(w->mm))
		return PTR_ERR(w->mm);
	w->hva = vm_mmap(w->mm, 0, NPAGES * PAGE_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	return (long)w->hva < 0 ? (int)(long)w->hva : 0;
}

static int vm_create(struct world *w)
{
	struct kvm_userspace_memory_region r = { 0 };
	int err;

	w->kvm = kvm_create_vm(w->mm, 0);
	if (IS_ERR(w->kvm)) {
		err = PTR_ERR(w->kvm);
		w->kvm = NULL;
		return err;
	}
	r.memory_size = NPAGES * PAGE_SIZE;
	r.userspace_addr = w->hva;
	err = kvm_set_user_memory_region(w->kvm, &r);
	for (int i = 0; !err && i < 2; i++) {
		w->vcpu[i] = kvm_vcpu_create(w->kvm);
		if (IS_ERR(w->vcpu[i]))
			err = PTR_ERR(w->vcpu[i]);
	}
	return err;
}

/* Tear down; a frame still allocated afterwards was leaked (pinned). */
static void world_destroy(struct world *w)
{
	unsigned long total = host_config_of(w->host)->nr_frames;

	if (w->kvm)
		kvm_destroy_vm(w->kvm);
	if (w->dmirror)
		dmirror_destroy(w->dmirror);
	if (!IS_ERR_OR_NULL(w->mm))
		mmput(w->mm);
	mmu_notifier_synchronize();
	if (host_nr_free_frames(w->host) != total - 1)
		checker_fail(w->host, INV_PINNED_OR_UNBALANCED, ~0UL, 0, ~0ULL,
			     NULL,
			     "%lu frames still allocated after everything was "
			     "torn down: a secondary MMU kept references",
			     total - 1 - host_nr_free_frames(w->host));
}

/* ---------------------------------------------------------------------
 * Scenarios
 */

static int run_tasks(int (*fns[])(void *), void **args, int n,
		     const struct det_config *dc)
{
	struct task_struct *t[4];
	struct det_result res;
	int err = det_begin(dc);

	if (err)
		return err;
	for (int i = 0; i < n; i++)
		t[i] = kthread_run(fns[i], args[i], "task");
	for (int i = 0; i < n; i++)
		if (!IS_ERR(t[i]))
			kthread_stop(t[i]);
	return det_end(&res);
}

static int scn_fault_race(struct world *w, const struct det_config *dc)
{
	struct vcpu_arg a0 = { w, 0 }, a1 = { w, 1 };
	int (*fns[])(void *) = { vcpu_task, vcpu_task, host_task };
	void *args[] = { &a0, &a1, w };
	int err = world_create(w, CHANGE_PTE_NONE) ?: vm_create(w);

	return err ?: run_tasks(fns, args, 3, dc);
}

static int scn_mirror_race(struct world *w, const struct det_config *dc)
{
	struct vcpu_arg a0 = { w, 0 }, a1 = { w, 1 };
	int (*fns[])(void *) = { device_task, device_task, host_task };
	void *args[] = { &a0, &a1, w };
	int err = world_create(w, CHANGE_PTE_NONE);

	if (err)
		return err;
	w->dmirror = dmirror_create(w->mm, w->hva, NPAGES);
	if (IS_ERR(w->dmirror)) {
		err = PTR_ERR(w->dmirror);
		w->dmirror = NULL;
		return err;
	}
	return run_tasks(fns, args, 3, dc);
}

static int creator_task(void *arg)
{
	struct vcpu_arg va = { arg, 0 };
	struct world *w = arg;

	if (vm_create(w))
		return 0;
	return vcpu_task(&va);
}

static int churn_task(void *arg)
{
	struct world *w = arg;
	unsigned int s = (unsigned int)w->seed ^ 0xc0de;

	for (int i = 0; i < 6 && !stop_early(w); i++)
		host_op(w, rnd(&s) & ~3u); /* replacements only */
	return 0;
}

/* The VM registers its notifier while the host is unmapping. */
static int scn_register_race(struct world *w, const struct det_config *dc)
{
	int (*fns[])(void *) = { creator_task, churn_task };
	void *args[] = { w, w };
	int err = world_create(w, CHANGE_PTE_NONE);

	if (err)
		return err;
	for (unsigned int p = 0; p < NPAGES; p++)
		host_store(w, p, checker_value(p, 1));
	return run_tasks(fns, args, 2, dc);
}

/* Read page 0 through the guest for as long as the COW task runs. */
static int reader_task(void *arg)
{
	struct world *w = arg;
	u64 val;

	for (int i = 0; i < 400 && !READ_ONCE(w->done) && !stop_early(w);
	     i++) {
		unsigned int p = i % NPAGES;

		unsigned int from = read_start(w, p);

		if (!kvm_vcpu_read_u64(w->vcpu[0], p * PAGE_SIZE + 16, &val))
			check_read(w, p, from, val);
	}
	return 0;
}

/* fork, then break COW page by page while the child still shares them. */
static int cow_task(void *arg)
{
	struct world *w = arg;

	for (int i = 0; i < 2 && !stop_early(w); i++) {
		struct mm_struct *child = dup_mm(w->mm);

		for (unsigned int p = 0; p < NPAGES; p++)
			host_store(w, p, checker_value(p, i));
		if (!IS_ERR(child))
			mmput(child);
	}
	WRITE_ONCE(w->done, 1);
	return 0;
}

/* Guest read faults racing COW breaks, with change_pte bookended. */
static int scn_change_pte_race(struct world *w, const struct det_config *dc)
{
	int (*fns[])(void *) = { reader_task, cow_task };
	void *args[] = { w, w };
	int err = world_create(w, CHANGE_PTE_BOOKENDED) ?: vm_create(w);

	if (err)
		return err;
	for (unsigned int p = 0; p < NPAGES; p++)
		host_store(w, p, checker_value(p, 9));
	return run_tasks(fns, args, 2, dc);
}

/* Memory pressure under the guest: reclaim to swap, KSM, compaction. */
static void pressure_op(struct world *w, unsigned int r)
{
	unsigned int p = (r >> 4) % NPAGES;

	switch (r % 4) {
	case 0:
		host_reclaim(w->host, NPAGES);
		break;
	case 1:
		host_compact(w->host, 0, ~0UL, NULL);
		break;
	case 2:
		do_madvise(w->mm, w->hva, NPAGES * PAGE_SIZE, MADV_MERGEABLE);
		ksm_scan(w->host, 4 * NPAGES);
		break;
	case 3:
		host_store(w, p, checker_value(p, 0xee00 + r % 16));
		break;
	}
}

static int pressure_task(void *arg)
{
	struct world *w = arg;
	unsigned int s = (unsigned int)w->seed ^ 0xfee1;

	for (int i = 0; i < 6 && !stop_early(w); i++)
		pressure_op(w, rnd(&s));
	return 0;
}

/* vCPUs fault and read while their pages are swapped, merged and moved. */
static int scn_pressure_race(struct world *w, const struct det_config *dc)
{
	struct vcpu_arg a0 = { w, 0 }, a1 = { w, 1 };
	int (*fns[])(void *) = { vcpu_task, vcpu_task, pressure_task };
	void *args[] = { &a0, &a1, w };
	int err = world_create(w, CHANGE_PTE_NONE) ?: vm_create(w);

	if (err)
		return err;
	for (unsigned int p = 0; p < NPAGES; p++)
		host_store(w, p, checker_value(p, 1));
	return run_tasks(fns, args, 3, dc);
}

static const struct check_scenario scenarios[] = {
	{ "fault-race", "two vCPUs fault while the host replaces, zaps, "
			"write-protects and COWs the same pages",
	  scn_fault_race },
	{ "mirror-race", "an HMM-style device mirror faults through its "
			 "interval notifier while the host changes the pages",
	  scn_mirror_race },
	{ "register-race", "a VM registers its notifier while the host is "
			   "unmapping its memory",
	  scn_register_race },
	{ "change-pte-race", "guest read faults race COW breaks with "
			     "change_pte inside start/end",
	  scn_change_pte_race },
	{ "pressure-race", "vCPUs fault and read while reclaim swaps their "
			   "pages out, KSM scans them and compaction moves "
			   "them",
	  scn_pressure_race },
};

const struct check_scenario *check_scenario_find(const char *name)
{
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(scenarios); i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

const struct check_scenario *check_scenario_at(unsigned int i)
{
	return i < MMULAB_ARRAY_SIZE(scenarios) ? &scenarios[i] : NULL;
}

/*
 * The race scenario that catches each mutant within its budget
 * (docs/checker.md); `mmulab check --mutant NAME` runs it by default.
 */
static const char *const mutant_scenario[NR_MUTANTS] = {
	[MUTANT_SKIP_SEQ_CHECK] = "fault-race",
	[MUTANT_SKIP_IN_PROGRESS_CHECK] = "fault-race",
	[MUTANT_RANGE_OFF_BY_ONE] = "fault-race",
	[MUTANT_SEQ_AFTER_COUNT] = "fault-race",
	[MUTANT_SKIP_TLB_FLUSH] = "fault-race",
	[MUTANT_FREE_BEFORE_START] = "fault-race",
	[MUTANT_CHANGE_PTE_UNBOOKENDED] = "change-pte-race",
	[MUTANT_REGISTER_NO_EXCLUSION] = "register-race",
	[MUTANT_INTERVAL_NO_SEQ_BUMP] = "mirror-race",
	[MUTANT_KEEP_GUP_REF] = "fault-race",
	[MUTANT_FLUSH_AT_END] = "fault-race",
	[MUTANT_PRIMARY_NO_NOTIFIER] = "fault-race",
	[MUTANT_END_BEFORE_ZAP] = "fault-race",
	[MUTANT_FLUSH_NO_WAIT] = "fault-race",
	[MUTANT_RELEASE_LEAVES_MAPPINGS] = "fault-race",
};

/* ---------------------------------------------------------------------
 * Driver
 */

static const char *strategy_name(enum det_strategy s)
{
	return s == DET_STRATEGY_PCT ? "pct" : "random";
}

static struct {
	const char *scenario;
	const char *mutant;
	u64 seed;
	enum det_strategy strategy;
} failing;

static void print_replay(FILE *out)
{
	fprintf(out, "replay: mmulab check %s --replay %llu --strategy %s",
		failing.scenario, (unsigned long long)failing.seed,
		strategy_name(failing.strategy));
	if (failing.mutant)
		fprintf(out, " --mutant %s", failing.mutant);
	fputc('\n', out);
}

static __attribute__((noreturn)) void on_det_failure(const char *why)
{
	printf("violation: the run %s (liveness)\n", why);
	print_replay(stdout);
	fflush(stdout);
	_exit(1);
}

/*
 * One seed.  Returns the number of violations (after printing the report
 * and the replay line), or a negative errno when the world could not be
 * built.
 */
int check_one(const struct check_scenario *scn, u64 seed,
	      enum det_strategy strategy, bool verbose)
{
	struct det_config dc = { .seed = seed, .strategy = strategy };
	struct world w = { .seed = seed };
	unsigned long found;
	int err;

	failing.seed = seed;
	failing.strategy = strategy;
	err = scn->run(&w, &dc);
	if (!err && !checker_violations(w.host))
		checker_sweep(w.host);
	world_destroy(&w);
	found = checker_violations(w.host);
	if (found && verbose) {
		checker_report(w.host, stdout);
		print_replay(stdout);
	}
	checker_detach(w.host);
	host_destroy(w.host);
	return err < 0 ? err : (int)found;
}

static void check_usage(FILE *out)
{
	fprintf(out,
		"usage: mmulab check [SCENARIO] [--seeds N] [--first-seed S]\n"
		"                    [--strategy random|pct|both] "
		"[--mutant NAME] [--replay SEED]\n"
		"\nScenarios:\n");
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(scenarios); i++)
		fprintf(out, "  %-16s %s\n", scenarios[i].name,
			scenarios[i].desc);
	fprintf(out, "\nMutants (each breaks one step of the protocol; "
		     "without SCENARIO,\n--mutant runs the scenario that "
		     "catches it):\n");
	for (int m = 1; m < NR_MUTANTS; m++)
		fprintf(out, "  %-24s %s\n", mutant_name(m),
			mutant_scenario[m] ? mutant_scenario[m] : "");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}


int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seeds", required_argument, NULL, 'n' },
		{ "first-seed", required_argument, NULL, 'f' },
		{ "strategy", required_argument, NULL, 's' },
		{ "mutant", required_argument, NULL, 'm' },
		{ "replay", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	u64 seeds = 1000, first = 1, replay = 0;
	const struct check_scenario *scn = &scenarios[0];
	bool do_replay = false;
	int both = 1, strategy = DET_STRATEGY_RANDOM, c;
	double t0;

	optind = 1;
	while ((c = cli_getopt("check", argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_u64("check", "--seeds", optarg, 1,
					  UINT64_MAX, &seeds))
				return 2;
			break;
		case 'f':
			if (cli_parse_u64("check", "--first-seed", optarg, 0,
					  UINT64_MAX, &first))
				return 2;
			break;
		case 's':
			both = !strcmp(optarg, "both");
			if (!strcmp(optarg, "pct"))
				strategy = DET_STRATEGY_PCT;
			else if (!both && strcmp(optarg, "random"))
				return cli_error("check", "--strategy is random, "
						 "pct or both, not '%s'",
						 optarg);
			break;
		case 'm':
			if (mutant_lookup(optarg) < 0) {
				fprintf(stderr, "mmulab check: unknown mutant "
						"'%s'\n", optarg);
				return 2;
			}
			failing.mutant = optarg;
			mutant_set(mutant_lookup(optarg));
			if (mutant_scenario[mutant_active()])
				scn = check_scenario_find(
					mutant_scenario[mutant_active()]);
			break;
		case 'r':
			if (cli_parse_u64("check", "--replay", optarg, 0,
					  UINT64_MAX, &replay))
				return 2;
			do_replay = true;
			break;
		case 'h':
			check_usage(stdout);
			return 0;
		default: /* cli_getopt() said what is wrong */
			return 2;
		}
	}
	if (optind + 1 < argc)
		return cli_error("check", "too many arguments: '%s' after "
				 "the scenario '%s'; one scenario at a time",
				 argv[optind + 1], argv[optind]);
	if (optind < argc) {
		scn = check_scenario_find(argv[optind]);
		if (!scn)
			return cli_error("check", "unknown scenario '%s'",
					 argv[optind]);
	}
	failing.scenario = scn->name;
	warn_set_quiet(true);
	det_set_failure_handler(on_det_failure);
	if (do_replay)
		return check_one(scn, replay, strategy, true) ? 1 : 0;

	t0 = now();
	for (u64 i = 0; i < seeds; i++) {
		u64 seed = first + i;
		enum det_strategy st = both ? (seed & 1 ? DET_STRATEGY_PCT
							 : DET_STRATEGY_RANDOM)
					    : strategy;
		int r = check_one(scn, seed, st, true);

		if (r < 0) {
			fprintf(stderr, "mmulab check: seed %llu: %s\n",
				(unsigned long long)seed, strerror(-r));
			return 2;
		}
		if (r) {
			printf("found after %llu seed%s (%.1f s)\n",
			       (unsigned long long)i + 1, i ? "s" : "",
			       now() - t0);
			return 1;
		}
	}
	printf("%s: %llu seeds, no violation; %.0f schedules/minute\n",
	       scn->name, (unsigned long long)seeds,
	       seeds / (now() - t0) * 60.0);
	return 0;
}
