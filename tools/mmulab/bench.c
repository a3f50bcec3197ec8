// SPDX-License-Identifier: MIT
/*
 * mmulab bench: what the KVM-style secondary MMU's hot paths cost, each
 * figure as a ratio to a baseline taken in the same run, interleaved with
 * it, over repetitions (median and spread).  Documented in docs/bench.md;
 * the JSON in docs/bench.schema.json.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bench.h"
#include "cli.h"
#include "mmulab.h"

#define BENCH_MAX_REPS 101

enum bench_fig {
	FIG_TLB_BATCHED,
	FIG_TLB_SINGLE,
	FIG_FAULT,
	FIG_ZAP_NO_SPTES,
	FIG_ZAP_NO_VM,
	FIG_PARALLEL,
	NR_FIGS,
};

static const struct bench_fig_desc {
	const char *name, *title, *unit, *base_name, *base_title;
} figs[NR_FIGS] = {
	[FIG_TLB_BATCHED] = {"tlb_hit_batched", "guest read, batched",
			     "ns/access", "plain_load", "plain load"},
	[FIG_TLB_SINGLE] = {"tlb_hit", "guest read, one call", "ns/access",
			    "plain_load", "plain load"},
	[FIG_FAULT] = {"secondary_fault", "secondary fault", "ns/fault", "gup",
		       "GUP alone"},
	[FIG_ZAP_NO_SPTES] = {"zap_guest_mapped", "DONTNEED, SPTEs", "ns/page",
			      "zap_no_sptes", "no SPTEs"},
	[FIG_ZAP_NO_VM] = {"zap_guest_mapped", "DONTNEED, SPTEs", "ns/page",
			   "zap_no_vm", "no VM"},
	[FIG_PARALLEL] = {"faults_2_vcpus", "faults, 2 vCPUs", "faults/us",
			  "faults_1_vcpu", "1 vCPU"},
};

struct bench_opts {
	unsigned long pages, rounds;
	unsigned int reps;
	bool json, quick;
};

/* Median and spread of @n values (sorted in place). */
struct bench_stat {
	double median, p25, p75, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(const double *v, unsigned int n, double q)
{
	double pos = q * (n - 1);
	unsigned int i = (unsigned int)pos;

	return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[i];
}

static struct bench_stat stat_of(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return (struct bench_stat){quantile(v, n, 0.5), quantile(v, n, 0.25),
				   quantile(v, n, 0.75), v[0], v[n - 1]};
}

struct bench_results {
	struct bench_sample s[NR_FIGS][BENCH_MAX_REPS];
	unsigned int reps;
	double load_start[3], load_end[3];
};

/* One repetition of every figure, each beside its baseline. */
static int bench_rep(struct bench_env *e, const struct bench_opts *o,
		     struct bench_results *res, unsigned int rep)
{
	bool fig_first = rep & 1;

	return bench_tlb(e, o->rounds, fig_first, &res->s[FIG_TLB_BATCHED][rep],
			 &res->s[FIG_TLB_SINGLE][rep]) ?:
	       bench_fault(e, !fig_first, &res->s[FIG_FAULT][rep]) ?:
	       bench_zap(e, rep, &res->s[FIG_ZAP_NO_SPTES][rep],
			 &res->s[FIG_ZAP_NO_VM][rep]) ?:
	       bench_parallel(e, rep, &res->s[FIG_PARALLEL][rep]);
}

static void load_now(double load[3])
{
	if (getloadavg(load, 3) != 3)
		load[0] = load[1] = load[2] = -1;
}

/* The statistics of figure @f: value, baseline, ratio, difference. */
static void fig_stats(const struct bench_results *res, int f,
		      struct bench_stat st[4])
{
	double v[4][BENCH_MAX_REPS];

	for (unsigned int r = 0; r < res->reps; r++) {
		const struct bench_sample *s = &res->s[f][r];

		v[0][r] = s->value;
		v[1][r] = s->base;
		v[2][r] = s->value / s->base;
		v[3][r] = s->value - s->base;
	}
	for (int i = 0; i < 4; i++)
		st[i] = stat_of(v[i], res->reps);
}

static struct json_object *jstat(const struct bench_stat *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "median", json_object_new_double(s->median));
	json_object_object_add(o, "p25", json_object_new_double(s->p25));
	json_object_object_add(o, "p75", json_object_new_double(s->p75));
	json_object_object_add(o, "min", json_object_new_double(s->min));
	json_object_object_add(o, "max", json_object_new_double(s->max));
	return o;
}

static struct json_object *jload(const double load[3])
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < 3; i++)
		json_object_array_add(a, json_object_new_double(load[i]));
	return a;
}

static struct json_object *jfig(const struct bench_results *res, int f)
{
	struct json_object *o = json_object_new_object();
	struct bench_stat st[4];

	fig_stats(res, f, st);
	json_object_object_add(o, "name", json_object_new_string(figs[f].name));
	json_object_object_add(o, "unit", json_object_new_string(figs[f].unit));
	json_object_object_add(o, "baseline",
			       json_object_new_string(figs[f].base_name));
	json_object_object_add(o, "value", jstat(&st[0]));
	json_object_object_add(o, "baseline_value", jstat(&st[1]));
	json_object_object_add(o, "ratio", jstat(&st[2]));
	json_object_object_add(o, "difference", jstat(&st[3]));
	return o;
}

static void print_json(const struct bench_opts *o,
		       const struct bench_results *res)
{
	struct json_object *root = json_object_new_object();
	struct json_object *a = json_object_new_array();

	json_object_object_add(root, "schema",
			       json_object_new_string("mmulab-bench/1"));
	json_object_object_add(root, "version",
			       json_object_new_string(MMULAB_VERSION));
	json_object_object_add(root, "quick",
			       json_object_new_boolean(o->quick));
	json_object_object_add(root, "pages", json_object_new_uint64(o->pages));
	json_object_object_add(root, "repetitions",
			       json_object_new_uint64(res->reps));
	json_object_object_add(root, "loadavg_start", jload(res->load_start));
	json_object_object_add(root, "loadavg_end", jload(res->load_end));
	for (int f = 0; f < NR_FIGS; f++)
		json_object_array_add(a, jfig(res, f));
	json_object_object_add(root, "figures", a);
	printf("%s\n", json_object_to_json_string_ext(
			       root, JSON_C_TO_STRING_PRETTY |
					     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void print_text(const struct bench_opts *o,
		       const struct bench_results *res)
{
	printf("mmulab bench: %lu guest pages, %u repetitions, figure and "
	       "baseline interleaved;\nload average %.2f at the start, "
	       "%.2f at the end\n\n",
	       o->pages, res->reps, res->load_start[0], res->load_end[0]);
	printf("%-22s %9s  %-11s %9s  %-10s %8s  %s\n", "figure", "median",
	       "baseline", "median", "unit", "ratio", "ratio p25-p75");
	for (int f = 0; f < NR_FIGS; f++) {
		struct bench_stat st[4];

		fig_stats(res, f, st);
		printf("%-22s %9.1f  %-11s %9.1f  %-10s %7.2fx  %.2f-%.2f\n",
		       figs[f].title, st[0].median, figs[f].base_title,
		       st[1].median, figs[f].unit, st[2].median, st[2].p25,
		       st[2].p75);
	}
}

static int parse_count(const char *s, unsigned long lo, unsigned long hi,
		       unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 10);
	return *s < '0' || *s > '9' || *end || *out < lo || *out > hi ? -1 : 0;
}

static int bench_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"quick", no_argument, NULL, 'Q'},
		{"reps", required_argument, NULL, 'r'},
		{"pages", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	unsigned long reps = 0, pages = 0;
	int c;

	optind = 1;
	while ((c = cli_getopt("bench", argc, argv, "hq", opts)) != -1) {
		switch (c) {
		case 'h':
			printf("usage: mmulab bench [--quick] [--json] "
			       "[--reps N] [--pages N]\n");
			return EXIT_OK;
		case 'j':
			o->json = true;
			break;
		case 'Q':
			o->quick = true;
			break;
		case 'r':
			if (parse_count(optarg, 1, BENCH_MAX_REPS, &reps))
				return cli_error("bench",
						 "--reps needs 1 to "
						 "%d, not '%s'",
						 BENCH_MAX_REPS, optarg);
			break;
		case 'p':
			if (parse_count(optarg, 64, 1UL << 22, &pages))
				return cli_error("bench",
						 "--pages needs 64 to "
						 "%lu, not '%s'",
						 1UL << 22, optarg);
			break;
		case 'q': /* accepted, as ever; the output is short */
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_error("bench", "unexpected argument '%s'",
				 argv[optind]);
	o->reps = reps ? reps : o->quick ? 3 : 11;
	o->pages = pages ? pages : o->quick ? 1024 : 16384;
	o->rounds = o->quick ? 4 : 400;
	return -1;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = {0};
	struct bench_results *res;
	struct bench_env *e;
	int r = bench_args(argc, argv, &o);

	if (r >= 0)
		return r;
	res = calloc(1, sizeof(*res));
	e = bench_env_create(o.pages);
	if (!res || !e) {
		free(res);
		fprintf(stderr, "mmulab bench: cannot set up the host\n");
		return EXIT_FAILED;
	}
	load_now(res->load_start);
	r = 0;
	for (res->reps = 0; res->reps < o.reps && !r; res->reps++)
		r = bench_rep(e, &o, res, res->reps);
	load_now(res->load_end);
	bench_env_destroy(e);
	if (r) {
		fprintf(stderr,
			"mmulab bench: a measured operation failed "
			"(%d)\n",
			r);
		free(res);
		return EXIT_FAILED;
	}
	if (o.json)
		print_json(&o, res);
	else
		print_text(&o, res);
	free(res);
	return EXIT_OK;
}
