/* SPDX-License-Identifier: MIT */
/* What a test tells tests/harness.c, which every test program links. */
#ifndef MMULAB_TESTS_HARNESS_H
#define MMULAB_TESTS_HARNESS_H

/*
 * Printed warnings the test provoked on purpose (it reads what they
 * say): the harness fails the program only on warnings beyond these.
 */
extern unsigned long warnings_expected;

#endif /* MMULAB_TESTS_HARNESS_H */
