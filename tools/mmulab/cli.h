/* SPDX-License-Identifier: MIT */
/*
 * What every mmulab subcommand shares on its command line: option errors
 * that name what is wrong, numeric option values checked in full, and the
 * final check that standard output was really written.
 */
#ifndef MMULAB_TOOLS_CLI_H
#define MMULAB_TOOLS_CLI_H

#include <stdbool.h>

#include <mmulab/compiler.h>

/**
 * cli_error() - print "mmulab CMD: MESSAGE" and the --help hint on stderr.
 * @cmd: the subcommand, or NULL for the top level.
 * @fmt: the message, printf-style.
 * Return: EXIT_USAGE, for the caller to return.
 */
__attribute__((format(printf, 2, 3))) int cli_error(const char *cmd,
						    const char *fmt, ...);

/**
 * cli_getopt() - getopt_long() that reports its errors itself: an unknown
 * option by its full text, an option without its argument by name,
 * never getopt's own message.  @optstring must not set ':' itself.
 * @cmd: the subcommand, for the messages.
 * Return: the option, -1 at the end, or '?' after printing the error.
 */
struct option;
int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring,
	       const struct option *longopts);

/**
 * cli_parse_u64() - @text as a whole decimal or 0x integer in [@min, @max];
 * otherwise print why (with the option's name) and fail.
 * Return: 0, or EXIT_USAGE after the message.
 */
int cli_parse_u64(const char *cmd, const char *opt, const char *text, u64 min,
		  u64 max, u64 *out);

/**
 * cli_parse_seconds() - @text as a finite number of seconds in
 * (0, @max]; NaN, infinities, negatives and trailing text are refused.
 * Return: 0, or EXIT_USAGE after the message.
 */
int cli_parse_seconds(const char *cmd, const char *opt, const char *text,
		      double max, double *out);

/**
 * cli_finish() - flush and close standard output; if any write to it
 * failed (a full disk, a closed pipe), say so.
 * @status: the exit status so far.
 * Return: @status, or EXIT_FAILED in place of EXIT_OK when output failed.
 */
int cli_finish(int status);

#endif /* MMULAB_TOOLS_CLI_H */
