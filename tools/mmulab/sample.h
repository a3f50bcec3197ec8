/* SPDX-License-Identifier: MIT */
/*
 * Time series of a run: the counters the library keeps for each host, VM,
 * mirror and device driver of a scenario, sampled while it runs.
 *
 * Sampling is observation.  In a seeded run the deterministic scheduler
 * calls the sampler at its scheduling points (det_set_observer()) and the
 * clock is the number of points passed; otherwise a sampler task wakes
 * every so often and the clock is wall time.  Either way the sampler reads
 * with the library's observer accessors, so it adds no scheduling point
 * and a sampled run is the run the same seed gives without it.
 *
 * Memory is bounded: SAMPLE_MAX samples; when they are all used, every
 * other one is dropped and the interval doubles.
 */
#ifndef MMULAB_TOOL_SAMPLE_H
#define MMULAB_TOOL_SAMPLE_H

#include <stdio.h>

#include <mmulab/gru.h>
#include <mmulab/hmm.h>
#include <mmulab/kvm.h>
#include <mmulab/mm.h>
#include <mmulab/xpmem.h>

struct json_object;

#define SAMPLE_MAX 256		/* samples kept */
#define SAMPLE_MAX_SUBJECTS 32	/* hosts, VMs, mirrors, drivers per run */
#define SAMPLE_MAX_COLS 256	/* series over all subjects */
#define SAMPLE_MAX_PANELS 48

/**
 * sample_begin() - start sampling a run.  Call outside a deterministic
 * run: @deterministic says whether one follows (then the scheduler's
 * points are the clock, and no task is started).
 * Return: 0, or the error of starting the sampler task.
 */
int sample_begin(bool deterministic);

/**
 * sample_end() - stop sampling (after det_end() in a seeded run); the
 * series stay for the writers below until the next sample_begin().
 */
void sample_end(void);

/** sample_point() - a sample now, between two statements of a script. */
void sample_point(void);

/**
 * sample_add_host() - sample @host as @name: frames used and free, swap
 * slots used, KSM's pages_shared and pages_sharing, and the invalidations
 * it started per event.  Does nothing when not sampling.
 */
void sample_add_host(struct host *host, const char *name);

/**
 * sample_add_vm() - sample VM @kvm as @name: SPTEs present (pages_4k),
 * the sum over its vCPUs of faults taken and fixed, retries by reason and
 * TLB flushes.  The vCPUs are *@nr_vcpus entries of @vcpus, which the
 * caller publishes with OBSERVE_SET() as it adds them.
 */
void sample_add_vm(struct kvm *kvm, const char *name,
		   struct kvm_vcpu *const *vcpus, const unsigned int *nr_vcpus);

/** sample_add_dmirror() - sample an HMM-style mirror's counters. */
void sample_add_dmirror(struct dmirror *dm, const char *name);

/** sample_add_gru() - sample a GRU context: valid TLB entries, faults. */
void sample_add_gru(struct gru_thread_state *gts, const char *name);

/** sample_add_xpmem() - sample an XPMEM segment: faults, invalidations. */
void sample_add_xpmem(struct xpmem_segment *seg, const char *name);

/**
 * sample_remove() - take a last sample of @obj (a host, VM, mirror or
 * driver added above) and stop reading it; call before freeing it.
 */
void sample_remove(const void *obj);

/** sample_count() - samples kept (for tests and the report). */
unsigned int sample_count(void);

/** sample_json() - the series as the report's "series" object. */
struct json_object *sample_json(void);

/**
 * sample_chrome_counters() - the series as Chrome "C" (counter) events,
 * one track per panel, each event preceded by ",\n"; timestamps on the
 * trace's clock (trace_now_ns()).
 */
void sample_chrome_counters(FILE *f);

/**
 * sample_plot() - draw the series with gnuplot into @path: an SVG file,
 * or, when @path is a directory, one SVG per panel in it.
 * Return: 0, -ENOENT when gnuplot is not installed (a message says so),
 * or another negative errno (also printed).
 */
int sample_plot(const char *path, const char *scenario);

#endif /* MMULAB_TOOL_SAMPLE_H */
