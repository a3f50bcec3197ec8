/* SPDX-License-Identifier: MIT */
/*
 * Event traces of a run: what the notifier core was asked to deliver in
 * each process, and each step of every secondary page fault of each VM,
 * in the order the tasks did them.
 *
 * Built on the public tracepoints only (<mmulab/trace/events/>): probes
 * on the notifier core's and KVM's events, registered when a trace is
 * asked for.  They take no lock and pass no scheduling point, so a traced
 * seeded run is the same run as the untraced one with the same seed.
 */
#ifndef MMULAB_TOOL_TRACE_H
#define MMULAB_TOOL_TRACE_H

#include <stdio.h>

#include <mmulab/mm.h>

#include "guest.h"

/* Processes the recorder can report in one run. */
#define TRACE_MAX_MMS 64

/**
 * struct trace_opts - what to write at the end of the run.
 * @chrome: stream for the Chrome trace-event JSON, or NULL.
 * @ftrace: stream for kernel-style trace lines, or NULL.
 */
struct trace_opts {
	FILE *chrome;
	FILE *ftrace;
};

/**
 * trace_begin() - start recording for one run.  @opts may ask for
 * nothing, in which case nothing is stored.  @deterministic selects
 * logical timestamps (one microsecond per event) instead of the clock.
 */
void trace_begin(const struct trace_opts *opts, bool deterministic);

/**
 * trace_attach_mm() - report @mm's events, named @name in the trace, until
 * it exits.  The caller holds a user reference on @mm.
 * Return: 0, or -ENOSPC past TRACE_MAX_MMS processes.
 */
int trace_attach_mm(struct mm_struct *mm, const char *name);

/**
 * trace_attach_vm() - record @g's secondary faults and mark its process,
 * so that the notifier events of that process are also printed as KVM's
 * trace events.
 */
void trace_attach_vm(struct guest *g);

/** trace_detach_vm() - stop recording @g; call before destroying it. */
void trace_detach_vm(struct guest *g);

/**
 * trace_detach_all() - stop reporting the processes attached so far (a
 * later host's processes are attached anew).  Call once they have exited
 * (or at least before host_destroy()).
 */
void trace_detach_all(void);

/**
 * trace_now_ns() - the trace's clock: nanoseconds since trace_begin(), or
 * in a seeded run the time of the last event recorded (it does not
 * advance the logical clock).
 */
u64 trace_now_ns(void);

/** trace_mark() - an instant event on the calling task (a step). */
void trace_mark(const char *text);

/**
 * trace_end() - write what was asked for and free the events.
 * Return: 0, or -EIO when a stream could not be written.
 */
int trace_end(const char *scenario);

#endif /* MMULAB_TOOL_TRACE_H */
