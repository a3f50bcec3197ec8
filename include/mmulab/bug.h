/* SPDX-License-Identifier: MIT */
/*
 * Warnings and fatal assertions.
 *
 * WARN_ON()/WARN_ON_ONCE() behave as in the kernel: they evaluate to the
 * condition, and when it is true they count the event and log where it
 * happened.  The count is how tests and reports observe a warning (KVM's
 * change_pte assertion from seed 000, API misuse, ...).  BUG_ON() is for
 * states the model cannot continue from: it reports and aborts.
 */
#ifndef MMULAB_BUG_H
#define MMULAB_BUG_H

#include <mmulab/compiler.h>

/**
 * __warn_report() - count one warning and log it (rate-limited per site).
 * @file: source file of the WARN.
 * @line: its line.
 * @cond: the condition's text.
 * @once: per-site flag; when non-NULL the log line is printed once, the
 *	count still grows every time.
 */
void __warn_report(const char *file, int line, const char *cond, int *once);

/**
 * __warn_msg() - count one warning and log @msg as "WARNING: @msg"; with
 * a NULL @msg only count it.  The lock validator's WARNs use it.
 */
void __warn_msg(const char *msg);

/** __bug_report() - report a fatal assertion and abort(). */
__attribute__((noreturn)) void __bug_report(const char *file, int line,
					    const char *cond);

/** warn_count() - warnings raised since the process started. */
unsigned long warn_count(void);

/**
 * warn_count_loud() - warnings raised while they were printed: those no
 * caller provoked on purpose behind warn_set_quiet(true).  The test
 * programs fail when any was raised (tests/no_warnings.c), as a kernel
 * test run fails on a WARN in the log.
 *
 * Return: the number since the process started.
 */
unsigned long warn_count_loud(void);

/**
 * warn_set_quiet() - stop (or restart) printing warnings to stderr; they are
 * still counted.  Tests that provoke warnings on purpose use it.
 */
void warn_set_quiet(bool quiet);

#define WARN_ON(cond)                                                          \
	({                                                                     \
		bool __c = !!(cond);                                           \
		if (unlikely(__c))                                             \
			__warn_report(__FILE__, __LINE__, #cond, NULL);        \
		__c;                                                           \
	})

#define WARN_ON_ONCE(cond)                                                     \
	({                                                                     \
		static int __once;                                             \
		bool __c = !!(cond);                                           \
		if (unlikely(__c))                                             \
			__warn_report(__FILE__, __LINE__, #cond, &__once);     \
		__c;                                                           \
	})

#define BUG_ON(cond)                                                           \
	do {                                                                   \
		if (unlikely(cond))                                            \
			__bug_report(__FILE__, __LINE__, #cond);               \
	} while (0)

#define BUG() __bug_report(__FILE__, __LINE__, "BUG")

#endif /* MMULAB_BUG_H */
