// SPDX-License-Identifier: MIT
/*
 * Running gnuplot.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"

extern char **environ;

#define PLOT_PANEL_HEIGHT 300
#define PLOT_WIDTH 1000

/* The program to run: $MMULAB_GNUPLOT, or gnuplot from $PATH. */
static const char *gnuplot_path(char *buf, size_t len)
{
	const char *env = getenv("MMULAB_GNUPLOT");
	const char *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) ? NULL : env;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, len, "%.*s/gnuplot", (int)n, n ? path : ".");
		if (!access(buf, X_OK))
			return buf;
		path += n + (path[n] == ':');
	}
	return NULL;
}

bool plot_writable(const char *opt, const char *path)
{
	struct stat st;
	FILE *f;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return true;
	f = fopen(path, "w");
	if (f) {
		fclose(f);
		return true;
	}
	fprintf(stderr, "mmulab: %s: cannot write '%s': %s\n", opt, path,
		strerror(errno));
	return false;
}

bool plot_available(const char *opt)
{
	char buf[4096];

	if (gnuplot_path(buf, sizeof(buf)))
		return true;
	fprintf(stderr, "mmulab: %s draws with gnuplot, which is not "
			"installed: apt-get install gnuplot-nox (or `make "
			"run`, which installs it)\n", opt);
	return false;
}

void plot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

int plot_open(struct plot *p, const char *out, unsigned int rows,
	      const char *title)
{
	posix_spawn_file_actions_t fa;
	char buf[4096];
	const char *prog = gnuplot_path(buf, sizeof(buf));
	char *argv[] = { (char *)"gnuplot", NULL };
	int fd[2], err;

	if (!prog) {
		plot_available("--plot");
		return -ENOENT;
	}
	if (pipe(fd))
		return -errno;
	/* A gnuplot that dies early is reported by plot_close(). */
	signal(SIGPIPE, SIG_IGN);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[0], STDIN_FILENO);
	posix_spawn_file_actions_addclose(&fa, fd[1]);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	/* Where it puts a picture it could not write: not our output. */
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	err = posix_spawn(&p->pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[0]);
	if (err || !(p->f = fdopen(fd[1], "w"))) {
		fprintf(stderr, "mmulab: cannot run %s: %s\n", prog,
			strerror(err ? err : errno));
		close(fd[1]);
		if (!err)
			waitpid(p->pid, NULL, 0);
		return -(err ? err : errno);
	}
	fprintf(p->f, "set terminal svg size %u,%u dynamic noenhanced "
		      "font \"sans,11\" background \"white\"\nset output ",
		PLOT_WIDTH, PLOT_PANEL_HEIGHT * (rows ? rows : 1) + 40);
	plot_str(p->f, out);
	fputs("\nset grid\nset key outside right top\n", p->f);
	fprintf(p->f, "set multiplot layout %u,1 title ", rows ? rows : 1);
	plot_str(p->f, title);
	fputc('\n', p->f);
	return 0;
}

int plot_close(struct plot *p)
{
	int status = 0, werr;

	fputs("unset multiplot\nset output\n", p->f);
	werr = ferror(p->f) | fclose(p->f);
	if (waitpid(p->pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || werr) {
		fprintf(stderr, "mmulab: gnuplot failed to draw the plot\n");
		return -EIO;
	}
	return 0;
}
