/* SPDX-License-Identifier: MIT */
/*
 * The mmulab command: subcommands, options and the built-in scenarios.
 */
#ifndef MMULAB_TOOL_H
#define MMULAB_TOOL_H

#include "report.h"
#include "trace.h"

#ifndef MMULAB_VERSION
#define MMULAB_VERSION "unknown"
#endif

/* Exit statuses of the command. */
enum {
	EXIT_OK = 0,		/* the run passed every check */
	EXIT_FAILED = 1,	/* a check failed, or the run was not made */
	EXIT_USAGE = 2,		/* bad command line or scenario file */
};

/**
 * struct run_opts - options shared by the subcommands.
 * @json: print the report as JSON (docs/report.md).
 * @quiet: print one summary line instead of the full report.
 * @seeded: run under the deterministic scheduler with @seed.
 * @seed: the seed.
 * @trace: the traces to write.
 * @plot: where --plot draws the sampled series (an SVG file, or a
 *	directory for one per panel), or NULL.
 */
struct run_opts {
	bool json;
	bool quiet;
	bool seeded;
	u64 seed;
	struct trace_opts trace;
	const char *plot;
};

/**
 * struct scenario - a built-in scenario.
 * @name: what `mmulab run NAME` calls it.
 * @summary: one line for `mmulab list`.
 * @text: the scenario, in the scenario language (scenarios/NAME.mmu).
 */
struct scenario {
	const char *name;
	const char *summary;
	const char *text;
};

extern const struct scenario scenarios[];
extern const unsigned int nr_scenarios;

/** scenario_find() - the built-in called @name, or NULL. */
const struct scenario *scenario_find(const char *name);

/**
 * scenario_run() - run @fn(@r, @arg) as the scenario @name, as @opts ask:
 * under the deterministic scheduler when seeded, with the tracer on when
 * a trace was asked for.
 * Return: 0, or a negative errno when the run could not be made (the
 * deterministic scheduler refused it); a failed check is not an error.
 */
int scenario_run(const char *name, void (*fn)(struct report *r, void *arg),
		 void *arg, const struct run_opts *opts, struct report *r);

/* The built-in scenarios (scenarios/NAME.mmu). */
extern const char scn_default[];
extern const char scn_fault_race[];
extern const char scn_gru_tlb[];
extern const char scn_xpmem_attach[];
extern const char scn_memfd_guest[];
extern const char scn_thp_guest[];
extern const char scn_swap_guest[];
extern const char scn_ksm_change_pte[];
extern const char scn_device_memory[];

/* The race scenarios of mmulab check (races/NAME.mmu). */
extern const char race_fault_race[], race_mirror_race[], race_register_race[],
	race_change_pte_race[], race_pressure_race[], race_mirror_overlap[],
	race_exit_vm_alive[], race_ksm_identical[], race_wrprotect_race[],
	race_gru_race[], race_xpmem_race[], race_thp_split_race[], race_hmm_race[],
	race_punch_race[], race_migrate_race[];

/**
 * check_race_text() - the text of mmulab check's built-in race @name,
 * or NULL.
 */
const char *check_race_text(const char *name);

/**
 * check_race_at() - the name of built-in race @i (from 0), with its
 * summary in *@desc; NULL past the last.
 */
const char *check_race_at(unsigned int i, const char **desc);

/**
 * read_scenario() - read the scenario file @path ("-": standard input),
 * at most SCRIPT_MAX_BYTES.  Errors are printed.
 * Return: the text (malloc()ed) with its length in *@len, or NULL.
 */
char *read_scenario(const char *path, size_t *len);

#endif /* MMULAB_TOOL_H */
