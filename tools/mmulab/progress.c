// SPDX-License-Identifier: MIT
/*
 * The progress bar.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "progress.h"

#define BAR_WIDTH 40

static struct {
	bool on;
	bool drawn;
	char label[32];
	struct timespec begin;
	struct timespec last;
} pb;

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

void progress_enable(bool on)
{
	pb.on = on;
}

void progress_begin(const char *label)
{
	snprintf(pb.label, sizeof(pb.label), "%s", label);
	clock_gettime(CLOCK_MONOTONIC, &pb.begin);
	pb.last = pb.begin;
	pb.drawn = false;
}

void progress_update(u64 done, u64 total)
{
	char bar[BAR_WIDTH + 1];
	unsigned int fill, pct;

	if (!pb.on || ms_since(&pb.begin) < PROGRESS_DELAY_MS ||
	    (pb.drawn && ms_since(&pb.last) < PROGRESS_EVERY_MS))
		return;
	if (total && done > total)
		done = total;
	pct = total ? done * 100 / total : 0;
	fill = total ? done * BAR_WIDTH / total : 0;
	memset(bar, '#', fill);
	memset(bar + fill, '.', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = 0;
	fprintf(stderr, "\r%-12s [%s] %3u%% %llu/%llu", pb.label, bar, pct,
		(unsigned long long)done, (unsigned long long)total);
	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &pb.last);
	pb.drawn = true;
}

void progress_end(void)
{
	if (pb.drawn)
		fprintf(stderr, "\r\033[K");
	pb.drawn = false;
}
