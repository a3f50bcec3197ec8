// SPDX-License-Identifier: MIT
/*
 * mmulab: command-line front end of the model.
 *
 *	mmulab [OPTIONS] COMMAND [ARGS]
 *
 * Options may come before or after the command.  Exit status: 0 success,
 * 1 a check failed (or the run could not be made), 2 bad usage.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "check.h"
#include "stress.h"
#include "mmulab.h"

/**
 * struct command - a subcommand.
 * @name: what the user types.
 * @args: argument synopsis for the help.
 * @summary: one line for the help.
 * @max_args: most positional arguments it takes.
 * @seedable: accepts --seed.
 * @fn: the body; returns the exit status.
 */
struct command {
	const char *name;
	const char *args;
	const char *summary;
	int max_args;
	bool seedable;
	int (*fn)(int argc, char **argv, const struct run_opts *opts);
};

static const char *prog = "mmulab";

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
}

/* ---------------------------------------------------------------------
 * mmulab run [NAME]
 */

static void det_failed(const char *why)
{
	fflush(stdout);
	fprintf(stderr, "%s: deterministic run failed: %s\n", prog, why);
	_exit(EXIT_FAILED);
}

static int cmd_run(int argc, char **argv, const struct run_opts *opts)
{
	static struct report report;
	const char *name = argc ? argv[0] : "default";
	const struct scenario *sc = scenario_find(name);
	int ret;

	if (!sc) {
		usage_error("unknown scenario '%s'; '%s list' shows them",
			    name, prog);
		return EXIT_USAGE;
	}
	det_set_failure_handler(det_failed);
	ret = scenario_run(sc, opts, &report);
	if (ret == -ENOSYS) {
		fprintf(stderr, "%s: --seed: this build has no deterministic "
				"scheduler (det_begin: ENOSYS)\n", prog);
		return EXIT_FAILED;
	}
	if (ret) {
		fprintf(stderr, "%s: deterministic run of '%s' failed: %s\n",
			prog, name, errno_name(ret));
		return EXIT_FAILED;
	}
	if (opts->json) {
		if (report_print_json(&report, stdout))
			return EXIT_FAILED;
	} else if (opts->quiet) {
		report_print_summary(&report, stdout);
	} else {
		report_print_text(&report, stdout);
	}
	return report_failed(&report) ? EXIT_FAILED : EXIT_OK;
}

/* ---------------------------------------------------------------------
 * mmulab list
 */

static void list_json(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < nr_scenarios; i++) {
		struct json_object *s = json_object_new_object();

		json_object_object_add(
			s, "name", json_object_new_string(scenarios[i].name));
		json_object_object_add(
			s, "summary",
			json_object_new_string(scenarios[i].summary));
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "schema",
			       json_object_new_string("mmulab-scenarios/1"));
	json_object_object_add(o, "version",
			       json_object_new_string(MMULAB_VERSION));
	json_object_object_add(o, "scenarios", a);
	printf("%s\n", json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PRETTY |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int cmd_list(int argc, char **argv, const struct run_opts *opts)
{
	(void)argc;
	(void)argv;
	if (opts->json) {
		list_json();
		return EXIT_OK;
	}
	for (unsigned int i = 0; i < nr_scenarios; i++) {
		if (opts->quiet)
			printf("%s\n", scenarios[i].name);
		else
			printf("%-12s %s\n", scenarios[i].name,
			       scenarios[i].summary);
	}
	return EXIT_OK;
}

/* ---------------------------------------------------------------------
 * Command line
 */

static const struct command commands[] = {
	{ "run", "[NAME]", "run a built-in scenario (default: default) and "
			   "report what it did", 1, true, cmd_run },
	{ "list", "", "list the built-in scenarios", 0, false, cmd_list },
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "seed", required_argument, NULL, 's' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void print_help(void)
{
	printf("usage: %s [OPTIONS] COMMAND [ARGS]\n\n"
	       "A userspace model of the Linux MMU-notifier system.\n\n"
	       "Commands:\n", prog);
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(commands); i++)
		printf("  %-5s %-8s %s\n", commands[i].name, commands[i].args,
		       commands[i].summary);
	printf("\nOptions:\n"
	       "      --json     print the report (or the list) as JSON\n"
	       "      --seed N   run under the deterministic scheduler with "
	       "seed N;\n"
	       "                 the report then carries the run's log hash\n"
	       "  -q, --quiet    print a one-line summary instead of the "
	       "report\n"
	       "  -h, --help     show this help and exit\n"
	       "  -V, --version  print the version and exit\n\n"
	       "Exit status: 0 every check passed, 1 a check failed or the "
	       "run could\nnot be made, 2 bad usage.\n");
}

static bool parse_seed(const char *s, u64 *seed)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*seed = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* Return -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, struct run_opts *opts)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqV", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			opts->json = true;
			break;
		case 's':
			if (!parse_seed(optarg, &opts->seed)) {
				usage_error("--seed needs a non-negative "
					    "integer, not '%s'", optarg);
				return EXIT_USAGE;
			}
			opts->seeded = true;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case 'h':
			print_help();
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", prog, MMULAB_VERSION);
			return EXIT_OK;
		case ':':
			usage_error("option '%s' needs an argument",
				    argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			else
				usage_error("unknown option '%s'",
					    argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	return -1;
}

static const struct command *find_command(const char *name)
{
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct run_opts opts = { 0 };
	const struct command *cmd;
	int ret;

	/* check, stress and bench have options of their own. */
	if (argc > 1 && !strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "stress"))
		return cmd_stress(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	ret = parse_options(argc, argv, &opts);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		usage_error("no command given");
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		usage_error("unknown command '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	argc -= optind + 1;
	argv += optind + 1;
	if (argc > cmd->max_args) {
		usage_error("%s: unexpected argument '%s'", cmd->name,
			    argv[cmd->max_args]);
		return EXIT_USAGE;
	}
	if (opts.seeded && !cmd->seedable) {
		usage_error("%s: --seed applies to run only", cmd->name);
		return EXIT_USAGE;
	}
	return cmd->fn(argc, argv, &opts);
}
