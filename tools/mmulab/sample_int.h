/* SPDX-License-Identifier: MIT */
/*
 * The sampler's state, shared by sample.c (reading, storing) and
 * sample_out.c (JSON, trace counters, gnuplot).
 */
#ifndef MMULAB_TOOL_SAMPLE_INT_H
#define MMULAB_TOOL_SAMPLE_INT_H

#include <limits.h>
#include <time.h>

#include "sample.h"

/* A value for a subject that was not alive when the sample was taken. */
#define SAMPLE_NONE ULONG_MAX

#define SAMPLE_HOST_MEM_COLS 5
#define SAMPLE_HOST_COLS (SAMPLE_HOST_MEM_COLS + MMU_NOTIFY_NR_EVENTS)
#define SAMPLE_NAME 32

enum sample_kind_id {
	SAMPLE_HOST,
	SAMPLE_VM,
	SAMPLE_DMIRROR,
	SAMPLE_GRU,
	SAMPLE_XPMEM,
	NR_SAMPLE_KINDS,
};

struct sample_subject;

/**
 * struct sample_kind - what is sampled of one kind of subject.
 * @kind: "host", "vm", ...
 * @cols: series names (the report's counter names).
 * @nr_cols: entries in @cols.
 * @nr_panels: panels a subject of this kind draws.
 * @panels: each one's title suffix and its series [@first, @first + @n).
 * @read: fill one value per series; must not be a scheduling point.
 */
struct sample_kind {
	const char *kind;
	const char *const *cols;
	unsigned int nr_cols;
	unsigned int nr_panels;
	struct {
		const char *what;
		unsigned int first, n;
	} panels[2];
	void (*read)(const struct sample_subject *s, unsigned long *v);
};

extern const struct sample_kind sample_kinds[NR_SAMPLE_KINDS];

/**
 * struct sample_subject - one thing sampled.
 * @kind: enum sample_kind_id.
 * @obj: the host, VM, mirror or driver context.
 * @vcpus: a VM's vCPUs; @nr_vcpus points to how many there are.
 * @nr_vcpus: see @vcpus.
 * @name: its name in the scenario.
 * @col: its first series in the samples.
 * @live: read at each sample (false once removed).
 */
struct sample_subject {
	enum sample_kind_id kind;
	void *obj;
	struct kvm_vcpu *const *vcpus;
	const unsigned int *nr_vcpus;
	char name[SAMPLE_NAME];
	unsigned int col;
	bool live;
};

/**
 * struct sampler - the state of one run's sampling.
 * @lock: the registry and the store, outside seeded runs.
 * @on: between sample_begin() and sample_end().
 * @det: a seeded run: the clock is scheduling points.
 * @t0: wall-clock start.
 * @task: the sampler task (not seeded).
 * @step: the last scheduling point seen (seeded).
 * @interval: points or microseconds between samples.
 * @next_at: point of the next sample (seeded).
 * @decimations: times the store was halved.
 * @subjects_dropped: subjects beyond what the store holds.
 * @nr_subjects: entries used in @subj.
 * @nr_cols: series used over all subjects.
 * @nr: samples stored.
 * @subj: the subjects.
 * @t: time of each sample: scheduling point, or microseconds.
 * @ts_ns: time of each sample on the trace's clock.
 * @v: values of each sample, SAMPLE_NONE where not alive.
 */
struct sampler {
	struct mutex lock;
	bool on;
	bool det;
	struct timespec t0;
	struct task_struct *task;
	unsigned long step;
	unsigned long interval;
	unsigned long next_at;
	unsigned long decimations;
	unsigned long subjects_dropped;
	unsigned int nr_subjects;
	unsigned int nr_cols;
	unsigned int nr;
	struct sample_subject subj[SAMPLE_MAX_SUBJECTS];
	unsigned long t[SAMPLE_MAX];
	u64 ts_ns[SAMPLE_MAX];
	unsigned long v[SAMPLE_MAX][SAMPLE_MAX_COLS];
};

extern struct sampler sm;

#endif /* MMULAB_TOOL_SAMPLE_INT_H */
