// SPDX-License-Identifier: MIT
/*
 * The command line's shared answers (cli.h).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mmulab.h"

int cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, cmd ? "mmulab %s: " : "mmulab: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'mmulab %s%s--help'.\n", cmd ? cmd : "",
		cmd ? " " : "");
	return EXIT_USAGE;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *longopts)
{
	char spec[64];
	int c;

	/* A leading ':' tells a missing argument from an unknown option. */
	snprintf(spec, sizeof(spec), ":%s", optstring);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, NULL);
	if (c == ':') {
		cli_error(cmd, "option '%s' needs an argument",
			  argv[optind - 1]);
		return '?';
	}
	if (c == '?') {
		if (optopt && optopt != '?')
			cli_error(cmd, "unknown option '-%c'", optopt);
		else
			cli_error(cmd, "unknown option '%s'", argv[optind - 1]);
		return '?';
	}
	return c;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *text, u64 min,
		  u64 max, u64 *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 0);
	if (*text < '0' || *text > '9' || *end || errno || *out < min ||
	    *out > max)
		return cli_error(cmd, "%s needs an integer from %llu to %llu, "
				 "not '%s'", opt, (unsigned long long)min,
				 (unsigned long long)max, text);
	return 0;
}

int cli_parse_seconds(const char *cmd, const char *opt, const char *text,
		      double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(*out) || *out <= 0 ||
	    *out > max)
		return cli_error(cmd, "%s needs a number of seconds above 0 "
				 "and at most %g, not '%s'", opt, max, text);
	return 0;
}

int cli_finish(int status)
{
	int err = fflush(stdout) ? errno : 0;
	bool failed = err || ferror(stdout); /* ferror(): an earlier write */

	if (fclose(stdout) && !failed) {
		err = errno;
		failed = true;
	}
	if (!failed)
		return status;
	if (err)
		fprintf(stderr, "mmulab: writing standard output failed: %s\n",
			strerror(err));
	else
		fprintf(stderr, "mmulab: writing standard output failed\n");
	return status == EXIT_OK ? EXIT_FAILED : status;
}
