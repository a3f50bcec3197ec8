// SPDX-License-Identifier: MIT
/*
 * mmulab: command-line front end of the model.
 *
 *	mmulab [OPTIONS] COMMAND [ARGS]
 *
 * Options may come before or after the command.  Exit status: 0 success,
 * 1 a check failed (or the run could not be made), 2 bad usage or a bad
 * scenario file.
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
#include "cli.h"
#include "stress.h"
#include "xpeer.h"
#include "mmulab.h"
#include "plot.h"
#include "sample.h"
#include "progress.h"
#include "script.h"

/**
 * struct command - a subcommand.
 * @name: what the user types.
 * @args: argument synopsis for the help.
 * @summary: one line for the help.
 * @min_args: fewest positional arguments it takes.
 * @max_args: most positional arguments it takes.
 * @seedable: accepts --seed, --trace and --ftrace.
 * @fn: the body; returns the exit status.
 */
struct command {
	const char *name;
	const char *args;
	const char *summary;
	int min_args;
	int max_args;
	bool seedable;
	int (*fn)(int argc, char **argv, const struct run_opts *opts);
};

static const char *prog = "mmulab";
static const char *argv_opt; /* the option getopt_long() just read */

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
 * mmulab run [FILE|NAME]
 */

static void det_failed(const char *why)
{
	fflush(stdout);
	fprintf(stderr, "%s: deterministic run failed: %s\n", prog, why);
	_exit(EXIT_FAILED);
}

/* Read all of @f; more than SCRIPT_MAX_BYTES is an error. */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL, *nb;

	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > SCRIPT_MAX_BYTES + 1)
				cap = SCRIPT_MAX_BYTES + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		n += fread(buf + n, 1, cap - n, f);
	} while (n == cap && cap <= SCRIPT_MAX_BYTES && !ferror(f));
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

char *read_scenario(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *text;

	if (!f) {
		if (errno == ENOENT && !strchr(path, '/') &&
		    !strchr(path, '.'))
			usage_error("unknown scenario '%s': not a built-in "
				    "('%s list' shows them) nor a file",
				    path, prog);
		else
			usage_error("cannot open '%s': %s", path,
				    strerror(errno));
		return NULL;
	}
	text = read_all(f, len);
	if (!text)
		usage_error("cannot read '%s': %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	return text;
}

static void run_script(struct report *r, void *arg)
{
	struct script *s = arg;

	r->from_file = s->from_file;
	script_run(s, r);
}

/* Parse the script of built-in @sc, or of the file @name. */
static int load_script(const struct scenario *sc, const char *name,
		       const struct run_opts *opts, struct script **out)
{
	char *text;
	size_t len;
	int ret;

	if (sc)
		return script_parse(sc->name, sc->text, strlen(sc->text), out,
				    opts->seeded) ? EXIT_USAGE : 0;
	text = read_scenario(name, &len);
	if (!text)
		return EXIT_USAGE;
	ret = script_parse(name, text, len, out, opts->seeded);
	free(text);
	if (!ret)
		(*out)->from_file = true;
	if (ret == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", prog);
	return ret ? EXIT_USAGE : 0;
}

static void print_report(const struct report *r, const struct run_opts *opts)
{
	/* A failed write is reported by cli_finish(), once. */
	if (opts->json) {
		report_print_json(r, stdout);
	} else if (opts->quiet) {
		report_print_summary(r, stdout);
	} else {
		report_print_text(r, stdout);
	}
}

static int cmd_run(int argc, char **argv, const struct run_opts *opts)
{
	static struct report report;
	const char *name = argc ? argv[0] : "default";
	const struct scenario *sc = scenario_find(name);
	struct script *script = NULL;
	int ret;

	ret = load_script(sc, name, opts, &script);
	if (ret)
		return ret;
	det_set_failure_handler(det_failed);
	progress_enable(isatty(STDERR_FILENO));
	ret = scenario_run(sc ? sc->name : name, run_script, script, opts,
			   &report);
	script_free(script);
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
	if (trace_end(report.scenario)) {
		fprintf(stderr, "%s: writing the trace failed\n", prog);
		return EXIT_FAILED;
	}
	if (opts->plot && sample_plot(opts->plot, report.scenario))
		return EXIT_FAILED;
	print_report(&report, opts);
	return report_failed(&report) ? EXIT_FAILED : EXIT_OK;
}

/* ---------------------------------------------------------------------
 * mmulab show NAME
 */

static int cmd_show(int argc, char **argv, const struct run_opts *opts)
{
	const char *race = strncmp(argv[0], "races/", 6) ?
				   check_race_text(argv[0]) :
				   check_race_text(argv[0] + 6);
	const struct scenario *sc = scenario_find(argv[0]);

	(void)argc;
	(void)opts;
	/* mmulab check's races: NAME, or races/NAME where run has NAME too. */
	if (race && (!sc || !strncmp(argv[0], "races/", 6))) {
		fputs(race, stdout);
		return EXIT_OK;
	}
	if (!sc) {
		usage_error("unknown scenario '%s'; '%s list' shows them",
			    argv[0], prog);
		return EXIT_USAGE;
	}
	fputs(sc->text, stdout);
	return EXIT_OK;
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
	{ "run", "[FILE|NAME]", "run a scenario file or a built-in "
				"(default: default) and report", 0, 1, true,
	  cmd_run },
	{ "list", "", "list the built-in scenarios", 0, 0, false, cmd_list },
	{ "show", "NAME", "print a built-in scenario's script (races/NAME: "
			  "mmulab check's race NAME)", 1, 1, false,
	  cmd_show },
};

/**
 * struct own_command - a subcommand that parses its own options: main()
 * hands it the command line from its name on.
 * @name: what the user types.
 * @args: synopsis for the help.
 * @summary: one line for the help.
 * @fn: the body; returns the exit status.
 */
struct own_command {
	const char *name;
	const char *args;
	const char *summary;
	int (*fn)(int argc, char **argv);
};

static const struct own_command own_commands[] = {
	{ "check", "[SCENARIO]", "search race scenarios for protocol "
				 "violations (mmulab check --help)", cmd_check },
	{ "stress", "", "real threads against the checker's quiescent "
			"sweeps (mmulab stress --help)", cmd_stress },
	{ "bench", "", "what the secondary MMU's hot paths cost",
	  cmd_bench },
	{ "xpmem-peer", "--fd N", "be an XPMEM importer process",
	  cmd_xpmem_peer },
};

enum { OPT_TRACE = 0x100, OPT_FTRACE, OPT_PLOT };

static const struct option long_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "seed", required_argument, NULL, 's' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "ftrace", optional_argument, NULL, OPT_FTRACE },
	{ "plot", required_argument, NULL, OPT_PLOT },
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
		printf("  %-5s %-12s %s\n", commands[i].name, commands[i].args,
		       commands[i].summary);
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(own_commands); i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s", own_commands[i].name,
			 *own_commands[i].args ? " " : "", own_commands[i].args);
		printf("  %-19s%s\n", syn, own_commands[i].summary);
	}
	printf("\nOptions:\n"
	       "      --json         print the report (or the list) as JSON\n"
	       "      --seed N       run under the deterministic scheduler "
	       "with seed N;\n"
	       "                     the report then carries the run's log "
	       "hash\n"
	       "      --trace FILE   write a Chrome trace-event JSON file "
	       "(Perfetto)\n"
	       "      --ftrace[=FILE] print kernel-style trace lines (before "
	       "the report,\n"
	       "                     or into FILE)\n"
	       "      --plot FILE    draw the run's sampled counters into an "
	       "SVG (gnuplot);\n"
	       "                     a directory gets one SVG per panel\n"
	       "  -q, --quiet        print a one-line summary instead of the "
	       "report\n"
	       "  -h, --help         show this help and exit\n"
	       "  -V, --version      print the version and exit\n\n"
	       "A scenario file is a script in the language of "
	       "docs/scenario.md;\n"
	       "'-' reads one from standard input.  See mmulab(1).\n\n"
	       "Exit status: 0 every check passed, 1 a check failed or the "
	       "run could\nnot be made, 2 bad usage or a bad scenario file.\n");
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

/* Open where a trace goes; "-" is standard output. */
static FILE *open_output(const char *path)
{
	FILE *f;

	if (!strcmp(path, "-"))
		return stdout;
	f = fopen(path, "w");
	if (!f)
		usage_error("cannot write '%s': %s", path, strerror(errno));
	return f;
}

static int parse_option(int c, struct run_opts *opts)
{
	switch (c) {
	case 'j':
		opts->json = true;
		return -1;
	case 's':
		if (!parse_seed(optarg, &opts->seed)) {
			usage_error("--seed needs a non-negative integer, "
				    "not '%s'", optarg);
			return EXIT_USAGE;
		}
		opts->seeded = true;
		return -1;
	case 'q':
		opts->quiet = true;
		return -1;
	case OPT_TRACE:
		if (opts->trace.chrome && opts->trace.chrome != stdout)
			fclose(opts->trace.chrome);
		opts->trace.chrome = open_output(optarg);
		return opts->trace.chrome ? -1 : EXIT_USAGE;
	case OPT_FTRACE:
		if (opts->trace.ftrace && opts->trace.ftrace != stdout)
			fclose(opts->trace.ftrace);
		opts->trace.ftrace = optarg ? open_output(optarg) : stdout;
		return opts->trace.ftrace ? -1 : EXIT_USAGE;
	case OPT_PLOT:
		if (!*optarg) {
			usage_error("--plot needs a file or a directory");
			return EXIT_USAGE;
		}
		if (!plot_available("--plot") ||
		    !plot_writable("--plot", optarg))
			return EXIT_USAGE;
		opts->plot = optarg;
		return -1;
	case 'h':
		print_help();
		return EXIT_OK;
	case 'V':
		printf("%s %s\n", prog, MMULAB_VERSION);
		return EXIT_OK;
	case ':':
		usage_error("option '%s' needs an argument", argv_opt);
		return EXIT_USAGE;
	default:
		if (optopt)
			usage_error("unknown option '-%c'", optopt);
		else
			usage_error("unknown option '%s'", argv_opt);
		return EXIT_USAGE;
	}
}

/* Return -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, struct run_opts *opts)
{
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hqV", long_options, NULL)) !=
	       -1) {
		argv_opt = argv[optind - 1];
		ret = parse_option(c, opts);
		if (ret >= 0)
			return ret;
	}
	if (opts->json && opts->trace.ftrace == stdout) {
		usage_error("--ftrace prints to standard output, where --json "
			    "goes; give --ftrace=FILE");
		return EXIT_USAGE;
	}
	if (opts->trace.chrome && opts->trace.chrome == stdout &&
	    (opts->json || opts->trace.ftrace == stdout)) {
		usage_error("--trace - shares standard output with the "
			    "report; give a file");
		return EXIT_USAGE;
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

static const struct own_command *find_own_command(const char *name)
{
	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(own_commands); i++)
		if (!strcmp(own_commands[i].name, name))
			return &own_commands[i];
	return NULL;
}

static int check_command(const struct command *cmd, int argc, char **argv,
			 const struct run_opts *opts)
{
	if (argc > cmd->max_args) {
		usage_error("%s: unexpected argument '%s'", cmd->name,
			    argv[cmd->max_args]);
		return EXIT_USAGE;
	}
	if (argc < cmd->min_args) {
		usage_error("%s: missing %s", cmd->name, cmd->args);
		return EXIT_USAGE;
	}
	if (!cmd->seedable && (opts->seeded || opts->trace.chrome ||
				   opts->trace.ftrace)) {
		usage_error("%s: --seed, --trace and --ftrace apply to run "
			    "only", cmd->name);
		return EXIT_USAGE;
	}
	if (!cmd->seedable && opts->plot) {
		usage_error("%s: --plot applies to run and check only",
			    cmd->name);
		return EXIT_USAGE;
	}
	return -1;
}

/* Close the trace files; a failed write makes a passing run fail. */
static int close_outputs(struct run_opts *opts, int ret)
{
	FILE *f[2] = { opts->trace.chrome, opts->trace.ftrace };

	for (int i = 0; i < 2; i++) {
		if (!f[i] || f[i] == stdout)
			continue;
		if ((ferror(f[i]) | fclose(f[i])) && ret == EXIT_OK) {
			fprintf(stderr, "%s: writing the trace failed\n", prog);
			ret = EXIT_FAILED;
		}
	}
	return ret;
}

/*
 * Global options may come before a subcommand that parses its own
 * (`mmulab --json check`): it gets "NAME OPTIONS... ARGS...", so that it
 * takes them, or names the one it does not take.  Return it, or NULL;
 * *@seeded tells that a run-only option came first.
 */
static const struct own_command *
own_command_after_options(int argc, char **argv, bool *seeded)
{
	const struct own_command *own;
	int i = 1;
	char *name;

	*seeded = false;
	while (i < argc && argv[i][0] == '-' && argv[i][1] &&
	       strcmp(argv[i], "--")) {
		if (!strncmp(argv[i], "--seed", 6) ||
		    !strncmp(argv[i], "--trace", 7) ||
		    !strncmp(argv[i], "--ftrace", 8))
			*seeded = true;
		/* The global options whose value is the next word. */
		if (!strcmp(argv[i], "--seed") || !strcmp(argv[i], "--trace") ||
		    !strcmp(argv[i], "--plot"))
			i++;
		i++;
	}
	own = i < argc ? find_own_command(argv[i]) : NULL;
	if (!own)
		return NULL;
	name = argv[i];
	memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
	argv[1] = name;
	return own;
}

int main(int argc, char **argv)
{
	const struct own_command *own;
	struct run_opts opts = { 0 };
	const struct command *cmd;
	bool seeded;
	int ret;

	own = own_command_after_options(argc, argv, &seeded);
	if (own && seeded) {
		/* Not handed on: check's --seeds would take "--seed". */
		usage_error("%s: --seed, --trace and --ftrace apply to run "
			    "only", own->name);
		return EXIT_USAGE;
	}
	if (own)
		return cli_finish(own->fn(argc - 1, argv + 1));
	ret = parse_options(argc, argv, &opts);
	if (ret >= 0)
		goto out;
	ret = EXIT_USAGE;
	if (optind >= argc) {
		usage_error("no command given");
		goto out;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		usage_error("unknown command '%s'", argv[optind]);
		goto out;
	}
	argc -= optind + 1;
	argv += optind + 1;
	ret = check_command(cmd, argc, argv, &opts);
	if (ret < 0)
		ret = cmd->fn(argc, argv, &opts);
out:
	return cli_finish(close_outputs(&opts, ret));
}
