/* SPDX-License-Identifier: MIT */
/*
 * Drawing with gnuplot (Debian: gnuplot-nox), an optional runtime
 * dependency of --plot: the script goes to gnuplot's standard input, the
 * picture to an SVG file.  MMULAB_GNUPLOT names another program.
 */
#ifndef MMULAB_TOOL_PLOT_H
#define MMULAB_TOOL_PLOT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/**
 * plot_available() - whether gnuplot can be run; if not, print why and
 * how to install it, naming @opt (the option that needs it).
 * Return: true if it can.
 */
bool plot_available(const char *opt);

/**
 * plot_writable() - whether @path is a directory or a file that can be
 * written (it is created); if not, print why, naming @opt.
 * Return: true if it is.
 */
bool plot_writable(const char *opt, const char *path);

/**
 * struct plot - one gnuplot run.
 * @f: its standard input: the script.
 * @pid: the process.
 */
struct plot {
	FILE *f;
	pid_t pid;
};

/**
 * plot_open() - start gnuplot writing an SVG of @rows panels stacked, of
 * overall title @title, into @out.
 * Return: 0, or a negative errno (printed).
 */
int plot_open(struct plot *p, const char *out, unsigned int rows,
	      const char *title);

/**
 * plot_close() - end the script and wait for gnuplot.
 * Return: 0, or -EIO when gnuplot failed (its messages are on stderr).
 */
int plot_close(struct plot *p);

/** plot_str() - write @s as a gnuplot string literal. */
void plot_str(FILE *f, const char *s);

#endif /* MMULAB_TOOL_PLOT_H */
