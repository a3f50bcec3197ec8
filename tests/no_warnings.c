// SPDX-License-Identifier: MIT
/*
 * Linked into every test program: a WARN that no test provoked on purpose
 * (behind warn_set_quiet(true)) fails the program, whatever its tests
 * asserted, as a WARN in the log fails a kernel test run.  A WARN is a
 * rule of the kernel's that the model broke: a lock released twice, a
 * counter left unbalanced, an API misused.
 */
#include <stdio.h>
#include <unistd.h>

#include <mmulab/bug.h>

static pid_t test_pid;

/* Printed warnings a test provoked on purpose (it reads what they say). */
unsigned long warnings_expected;

__attribute__((constructor)) static void note_pid(void)
{
	test_pid = getpid();
}

__attribute__((destructor)) static void no_unexpected_warnings(void)
{
	unsigned long n = warn_count_loud() - warnings_expected;

	/* A forked child (det_fork()) answers to its parent, not here. */
	if (!n || getpid() != test_pid)
		return;
	fprintf(stderr, "FAIL: %lu warning%s raised outside warn_set_quiet(); "
		"see the WARNING lines above\n", n, n == 1 ? "" : "s");
	fflush(stderr);
	_exit(1);
}
