// SPDX-License-Identifier: MIT
/*
 * WARN and BUG reporting.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/bug.h>
#include "../mm/debug.h"

static unsigned long nr_warnings, nr_loud;
static int quiet;

/* Count one warning; true when it is to be printed (not quiet). */
static bool warn_counted(void)
{
	__atomic_fetch_add(&nr_warnings, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&quiet, __ATOMIC_RELAXED))
		return false;
	__atomic_fetch_add(&nr_loud, 1, __ATOMIC_RELAXED);
	return true;
}

void __warn_report(const char *file, int line, const char *cond, int *once)
{
	if (!warn_counted())
		return;
	if (once && __atomic_exchange_n(once, 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "WARNING: %s:%d: %s\n", file, line, cond);
}

void __warn_msg(const char *msg)
{
	if (warn_counted() && msg)
		fprintf(stderr, "WARNING: %s\n", msg);
}

/*
 * "sym+0xoff" of a code address, or "file+0xoff" when the symbol is not
 * exported (a static function): `addr2line -e file 0xoff` names the line.
 */
static void format_caller(const void *ip, char *buf, size_t size)
{
	Dl_info info;

	if (!dladdr(ip, &info) || !info.dli_fname) {
		snprintf(buf, size, "%p", ip);
	} else if (info.dli_sname) {
		snprintf(buf, size, "%s+%#lx", info.dli_sname,
			 (unsigned long)((const char *)ip -
					 (const char *)info.dli_saddr));
	} else {
		const char *base = strrchr(info.dli_fname, '/');

		snprintf(buf, size, "%s+%#lx", base ? base + 1 : info.dli_fname,
			 (unsigned long)((const char *)ip -
					 (const char *)info.dli_fbase));
	}
}

void __api_warn(const char *func, const void *caller, const char *fmt, ...)
{
	char who[256], what[256];
	va_list ap;

	if (!warn_counted())
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!caller) {
		fprintf(stderr, "WARNING: %s(): %s\n", func, what);
		return;
	}
	/* The return address points after the call; name the call. */
	format_caller((const char *)caller - 1, who, sizeof(who));
	fprintf(stderr, "WARNING: %s() misused by %s: %s\n", func, who, what);
}

void __bug_report(const char *file, int line, const char *cond)
{
	fprintf(stderr, "BUG: %s:%d: %s\n", file, line, cond);
	fflush(stderr);
	abort();
}

unsigned long warn_count(void)
{
	return __atomic_load_n(&nr_warnings, __ATOMIC_RELAXED);
}

unsigned long warn_count_loud(void)
{
	return __atomic_load_n(&nr_loud, __ATOMIC_RELAXED);
}

void warn_set_quiet(bool q)
{
	__atomic_store_n(&quiet, q, __ATOMIC_RELAXED);
}
