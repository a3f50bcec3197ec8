/* SPDX-License-Identifier: MIT */
/*
 * The report of one scenario run: what the scenario did (steps), what the
 * host and its subscribers counted, and which checks failed.  Scenarios
 * fill it; report_print_text() and report_print_json() render it.
 * docs/report.md documents the JSON form.
 */
#ifndef MMULAB_TOOL_REPORT_H
#define MMULAB_TOOL_REPORT_H

#include <stdio.h>

#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#define REPORT_SCHEMA "mmulab-report/1"

#define REPORT_LINE 112
#define REPORT_MAX_STEPS 48
#define REPORT_MAX_FAILURES 16
#define REPORT_MAX_SUBS 4
#define REPORT_MAX_COUNTS 12

/**
 * struct report_count - one named counter.
 * @name: printable name (static storage).
 * @count: its value.
 */
struct report_count {
	const char *name;
	unsigned long count;
};

/**
 * struct report_sub - what one subscriber saw.
 * @name: the subscriber's name in the scenario.
 * @type: "mmu_notifier" or "interval".
 * @nr_callbacks: entries used in @callbacks.
 * @callbacks: calls per callback.
 * @by_event: invalidations it received, per enum mmu_notifier_event.
 */
struct report_sub {
	const char *name;
	const char *type;
	unsigned int nr_callbacks;
	struct report_count callbacks[REPORT_MAX_COUNTS];
	unsigned long by_event[MMU_NOTIFY_NR_EVENTS];
};

/**
 * struct report_mirror - statistics of the scenario's HMM-style mirror.
 * @pages: size of the mirrored interval.
 * @faults: device faults (mirror misses) handled.
 * @retries: faults whose page-table snapshot collided with an
 *	invalidation and was thrown away.
 * @invalidations: invalidate callbacks received.
 * @zapped: mirror entries dropped by them.
 * @reads: device loads served through the mirror's table.
 * @writes: device stores served through it.
 * @incoherent: mirror entries found disagreeing with the CPU page table.
 */
struct report_mirror {
	unsigned long pages;
	unsigned long faults;
	unsigned long retries;
	unsigned long invalidations;
	unsigned long zapped;
	unsigned long reads;
	unsigned long writes;
	unsigned long incoherent;
};

/**
 * struct report - one run.
 * @lock: serialises the updates of tasks running concurrently.
 * @scenario: name of the built-in scenario.
 * @content: "data" or "tag".
 * @change_pte: change_pte mode of the host ("none", ...).
 * @seeded: the run was deterministic; @seed and @det are valid.
 * @seed: its seed.
 * @det: what the deterministic scheduler reported.
 * @frames_total: frames of the host, the zero page included.
 * @frames_used_peak: most frames in use at any step boundary.
 * @frames_free_end: frames free once every address space was gone.
 * @vm_events: host_vm_event() at the end, per enum vm_event_item.
 * @invalidations: host_notify_events() at the end.
 * @nr_subs: entries used in @subs.
 * @subs: per-subscriber counts.
 * @has_mirror: @mirror is valid.
 * @mirror: the mirror's statistics.
 * @checks: checks made.
 * @data_errors: checks that failed.
 * @warnings: WARN_ON()s raised during the run.
 * @nr_steps: entries used in @steps.
 * @steps_dropped: steps that did not fit.
 * @steps: one line per step, in order.
 * @nr_failures: entries used in @failures.
 * @failures_dropped: failures that did not fit.
 * @failures: one line per failed check, in order.
 */
struct report {
	spinlock_t lock;
	const char *scenario;
	const char *content;
	const char *change_pte;
	bool seeded;
	u64 seed;
	struct det_result det;
	unsigned long frames_total;
	unsigned long frames_used_peak;
	unsigned long frames_free_end;
	unsigned long vm_events[NR_VM_EVENT_ITEMS];
	unsigned long invalidations[MMU_NOTIFY_NR_EVENTS];
	unsigned int nr_subs;
	struct report_sub subs[REPORT_MAX_SUBS];
	bool has_mirror;
	struct report_mirror mirror;
	unsigned long checks;
	unsigned long data_errors;
	unsigned long warnings;
	unsigned int nr_steps;
	unsigned long steps_dropped;
	char steps[REPORT_MAX_STEPS][REPORT_LINE];
	unsigned int nr_failures;
	unsigned long failures_dropped;
	char failures[REPORT_MAX_FAILURES][REPORT_LINE];
};

/** report_init() - empty report of scenario @name. */
void report_init(struct report *r, const char *name);

/** report_step() - record what the scenario is about to do. */
void report_step(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * report_check() - count one check; when @ok is false, count a data error
 * and record the message.
 * Return: @ok.
 */
bool report_check(struct report *r, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** report_sample_frames() - sample @host's frame use, for the peak. */
void report_sample_frames(struct report *r, struct host *host);

/** report_host_config() - record how @host was configured. */
void report_host_config(struct report *r, struct host *host);

/** report_host_counters() - copy @host's event counters into @r. */
void report_host_counters(struct report *r, struct host *host);

/** report_add_sub() - a slot for one more subscriber, or NULL if full. */
struct report_sub *report_add_sub(struct report *r, const char *name,
				  const char *type);

/** report_sub_count() - append one callback counter to @s. */
void report_sub_count(struct report_sub *s, const char *name,
		      unsigned long count);

/** report_failed() - true if a check failed or a warning was raised. */
bool report_failed(const struct report *r);

/** report_print_text() - the human-readable report. */
void report_print_text(const struct report *r, FILE *f);

/** report_print_summary() - one line: result and the main counts. */
void report_print_summary(const struct report *r, FILE *f);

/** report_print_json() - the report as one JSON document. */
int report_print_json(const struct report *r, FILE *f);

/** errno_name() - "EFAULT" for -EFAULT or EFAULT; "0" for 0. */
const char *errno_name(long err);

#endif /* MMULAB_TOOL_REPORT_H */
