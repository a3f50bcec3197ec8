// SPDX-License-Identifier: MIT
/*
 * Coverage-guided fuzz target for the scenario language (libFuzzer,
 * clang -fsanitize=fuzzer; `make fuzz`, docs/scenario.md).
 *
 * Each input is a scenario file.  It must either parse, or be refused
 * with -EINVAL and exactly one "f.mmu:LINE:COL: error: " line; a parsed
 * script small enough to run (tests/scenario_fuzz.h: no workload, few
 * repeats, a small host) is then run and must give every frame back.
 * Anything else, and any crash, leak, hang or sanitizer report, is a
 * finding: libFuzzer saves the input, which then belongs in
 * tests/fuzz/corpus/ as a regression once fixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scenario_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	warn_set_quiet(true);
	return 0;
}

static void finding(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_scenario: %s%s%s\n", what, *msg ? ": " : "",
		msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct report r;
	struct script *s = NULL;
	char msg[1024] = "";
	FILE *err = fmemopen(msg, sizeof(msg) - 1, "w");
	FILE *saved = stderr;
	int ret;

	if (!err)
		return 0;
	stderr = err;
	ret = script_parse("f.mmu", (const char *)data, size, &s, false);
	stderr = saved;
	fclose(err);
	if (ret) {
		if (ret != -EINVAL && ret != -ENOMEM)
			finding("refused with an unexpected error", msg);
		if (ret == -EINVAL && !fuzz_refusal_ok(msg))
			finding("refusal without one file:line:col message",
				msg);
		return 0;
	}
	if (msg[0])
		finding("parsed, yet printed", msg);
	if (fuzz_runnable(s)) {
		report_init(&r, "f.mmu");
		script_run(s, &r);
		/* Every frame but each host's zero page came back. */
		if (r.frames_free_end != r.frames_total - r.hosts)
			finding("frames leaked by the run", "");
	}
	script_free(s);
	return 0;
}
