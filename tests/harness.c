// SPDX-License-Identifier: MIT
/*
 * Linked into every test program, so that each test runs with the
 * checker's teeth whatever it asserts itself:
 *
 * - Every host a test creates gets a checker (host_create() is wrapped at
 *   link time), and a violation found by the time the host is destroyed
 *   fails the program, with the checker's report.  A test that attaches a
 *   checker of its own (to provoke violations and look at them) replaces
 *   the harness's; one that breaks the protocol on purpose without
 *   looking detaches it first (checker_detach()).
 * - A WARN that no test provoked on purpose (behind warn_set_quiet(true))
 *   fails the program, as a WARN in the log fails a kernel test run: it
 *   is a rule of the kernel's that the model broke.
 *
 * MMULAB_TEST_NO_CHECKER=1 in the environment leaves the hosts without
 * a checker (to time a test, or to tell a checker's report from the
 * test's own failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mmulab/bug.h>
#include <mmulab/checker.h>
#include <mmulab/mm.h>
#include "harness.h"

struct host *__real_host_create(const struct host_config *cfg);
int __real_host_destroy(struct host *host);
int __real_checker_attach(struct host *host);
void __real_checker_detach(struct host *host);

static pid_t test_pid;
static unsigned long violations;

unsigned long warnings_expected;

/* The hosts whose checker is the harness's. */
#define HARNESS_HOSTS 256
static struct host *ours[HARNESS_HOSTS];

/* Replace @from with @to in the first slot that holds @from. */
static bool slot_swap(struct host *from, struct host *to)
{
	for (unsigned int i = 0; i < HARNESS_HOSTS; i++) {
		struct host *h = from;

		if (__atomic_compare_exchange_n(&ours[i], &h, to, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return true;
	}
	return false;
}

static bool forget(struct host *host)
{
	return slot_swap(host, NULL);
}

static void remember(struct host *host)
{
	/* More live hosts than slots: this one goes unwatched. */
	if (!slot_swap(NULL, host))
		__real_checker_detach(host);
}

/* The harness's checker of @host goes: first, what it found. */
static void harness_done(struct host *host)
{
	if (checker_violations(host)) {
		violations++;
		fprintf(stderr, "FAIL: the harness's checker found %lu "
				"violation(s):\n",
			checker_violations(host));
		checker_report(host, stderr);
	}
	__real_checker_detach(host);
}

struct host *__wrap_host_create(const struct host_config *cfg)
{
	struct host *host = __real_host_create(cfg);

	if (!IS_ERR_OR_NULL(host) && !getenv("MMULAB_TEST_NO_CHECKER") &&
	    !__real_checker_attach(host))
		remember(host);
	return host;
}

int __wrap_checker_attach(struct host *host)
{
	if (forget(host))
		harness_done(host);
	return __real_checker_attach(host);
}

void __wrap_checker_detach(struct host *host)
{
	forget(host);
	__real_checker_detach(host);
}

int __wrap_host_destroy(struct host *host)
{
	if (forget(host))
		harness_done(host);
	return __real_host_destroy(host);
}

__attribute__((constructor)) static void note_pid(void)
{
	test_pid = getpid();
}

__attribute__((destructor)) static void harness_verdict(void)
{
	unsigned long n = warn_count_loud() - warnings_expected;

	/* A forked child (det_fork()) answers to its parent, not here. */
	if (getpid() != test_pid)
		return;
	if (n)
		fprintf(stderr, "FAIL: %lu warning%s raised outside "
				"warn_set_quiet(); see the WARNING lines above\n",
			n, n == 1 ? "" : "s");
	if (n || violations) {
		fflush(stderr);
		_exit(1);
	}
}
