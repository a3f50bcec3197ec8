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

#include <mmulab/gru.h>
#include <mmulab/kvm.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include <mmulab/xpmem.h>

#define REPORT_SCHEMA "mmulab-report/1"

#define REPORT_LINE 160
#define REPORT_MAX_STEPS 48
#define REPORT_MAX_FAILURES 16
#define REPORT_MAX_SUBS 4
#define REPORT_MAX_COUNTS 12
#define REPORT_NAME 32
#define REPORT_MAX_VMS 8
#define REPORT_MAX_GRUS 8
#define REPORT_MAX_XPMEMS 8
#define REPORT_MAX_VCPUS 512
#define REPORT_MAX_WORKLOADS 16
#define REPORT_MAX_THREADS 512
#define REPORT_VM_STATS 14	/* fields of struct kvm_vm_stat */
#define REPORT_VCPU_STATS 11	/* fields of struct kvm_vcpu_stat */
#define REPORT_KSM_STATS 9	/* fields of struct ksm_stats */
#define REPORT_MAX_RECORDS 32

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
 * @name: the subscriber's name in the scenario (a copy: the report
 *	outlives the scenario).
 * @type: "mmu_notifier" or "interval" (static storage).
 * @nr_callbacks: entries used in @callbacks.
 * @callbacks: calls per callback.
 * @by_event: invalidations it received, per enum mmu_notifier_event.
 */
struct report_sub {
	char name[REPORT_NAME];
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
 * struct report_gru - one GRU context: its TLB and its counters.
 * @name: its name in the scenario.
 * @sets: TLB sets.
 * @ways: entries per set.
 * @valid_end: valid TLB entries when it was freed.
 * @stat: gru_get_stat() before it was freed.
 */
struct report_gru {
	char name[REPORT_NAME];
	unsigned int sets, ways;
	unsigned int valid_end;
	struct gru_stat stat;
};

/**
 * struct report_xpmem - one XPMEM segment: its counters.
 * @name: its name in the scenario.
 * @pages: pages exported.
 * @end_only: invalidations went out only in invalidate_range_end.
 * @stat: xpmem_get_stat() before it was removed.
 */
struct report_xpmem {
	char name[REPORT_NAME];
	unsigned long pages;
	bool end_only;
	struct xpmem_stat stat;
};

/**
 * struct report_vm - one VM: its counters and its vCPUs'.
 * @name: its name in the scenario.
 * @change_pte: change_pte mode of its host ("none", ...).
 * @pinned: created with KVM_VM_PINNED.
 * @memslots: memslots it had at the end.
 * @memslot_pages: pages they covered.
 * @stat: kvm_get_vm_stat() before the VM was destroyed.
 * @verify_points: quiescent SPTE-against-PTE checks made.
 * @stale_sptes: present SPTEs those checks found stale.
 * @nr_vcpus: entries used in @vcpus.
 * @vcpus: kvm_get_vcpu_stat() of each vCPU, by id.
 * @timed: the scenario timed a phase of this VM's; @elapsed_us is valid.
 * @elapsed_us: that phase's wall-clock time (never in a seeded run).
 */
struct report_vm {
	char name[REPORT_NAME];
	const char *change_pte;
	bool pinned;
	unsigned int memslots;
	unsigned long memslot_pages;
	struct kvm_vm_stat stat;
	unsigned long verify_points;
	unsigned long stale_sptes;
	unsigned int nr_vcpus;
	struct kvm_vcpu_stat vcpus[REPORT_MAX_VCPUS];
	bool timed;
	unsigned long elapsed_us;
};

/**
 * enum report_thread_count - what a workload thread counts.
 * @RT_OPS: operations done.
 * @RT_READS: loads (guest or CPU).
 * @RT_WRITES: stores.
 * @RT_FAULTS: accesses the host refused (-EFAULT: a hole, a protection).
 * @RT_MMIO: guest accesses that exited to the VMM (no usable memslot).
 * @RT_MUNMAP: churn: ranges unmapped (and mapped again).
 * @RT_MPROTECT: churn: ranges made read-only (and writable again).
 * @RT_MADVISE: churn: MADV_DONTNEED calls.
 * @RT_FORK: churn: forks (the child writes one page and exits).
 * @RT_HOST_WRITE: churn: host stores into the region.
 * @RT_MIGRATE: churn: pages migrate_pfn() was asked to move.
 * @RT_KSM: churn: KSM scan batches (ksm_scan()).
 * @RT_RECLAIM: churn: host_reclaim() calls (of span pages each).
 */
enum report_thread_count {
	RT_OPS,
	RT_READS,
	RT_WRITES,
	RT_FAULTS,
	RT_MMIO,
	RT_MUNMAP,
	RT_MPROTECT,
	RT_MADVISE,
	RT_FORK,
	RT_HOST_WRITE,
	RT_MIGRATE,
	RT_KSM,
	RT_RECLAIM,
	NR_RT_COUNTS,
};

/**
 * struct report_thread - one thread of a workload.
 * @kind: "guest", "cpu" or "churn".
 * @name: what it drives (a vCPU, a process and region).
 * @count: per enum report_thread_count.
 */
struct report_thread {
	const char *kind;
	char name[REPORT_NAME * 2];
	unsigned long count[NR_RT_COUNTS];
};

/**
 * struct report_workload - one concurrent workload.
 * @line: line of its `workload` statement.
 * @elapsed_us: wall-clock run time; 0 in a seeded run (no wall clock).
 * @nr_threads: entries used in @threads.
 * @threads: its threads.
 */
struct report_workload {
	unsigned int line;
	unsigned long elapsed_us;
	unsigned int nr_threads;
	struct report_thread threads[REPORT_MAX_THREADS];
};

/**
 * struct report_settings - how the (last) host of the run was configured.
 * @swap_slots: its swap device's size.
 * @wmark_low: kswapd's low watermark, in effect (host_meminfo()).
 * @wmark_high: its high watermark.
 * @kswapd: it ran kswapd.
 * @oom_kill: it ran the OOM killer.
 * @ksm_run: ksmd started with it.
 * @ksm_pages_to_scan: ksmd's batch (0: the default).
 * @ksm_sleep_millisecs: ksmd's sleep (0: the default).
 * @ksm_max_page_sharing: mappings per KSM page (0: the default).
 */
struct report_settings {
	unsigned long swap_slots;
	unsigned long wmark_low, wmark_high;
	bool kswapd, oom_kill, ksm_run;
	unsigned int ksm_pages_to_scan, ksm_sleep_millisecs;
	unsigned int ksm_max_page_sharing;
};

/**
 * struct report - one run.
 * @lock: serialises the updates of tasks running concurrently.
 * @scenario: name of the built-in scenario, or the file's path.
 * @from_file: the scenario came from a file, not from the built-ins.
 * @content: "data" or "tag".
 * @change_pte: change_pte mode of the host ("none", ...).
 * @seeded: the run was deterministic; @seed and @det are valid.
 * @seed: its seed.
 * @det: what the deterministic scheduler reported.
 * @frames_total: frames of the host, the zero page included (summed
 *	over the run's hosts).
 * @hosts: how many hosts the run made (each keeps one frame, its zero
 *	page).
 * @frames_used_peak: most frames in use at any step boundary.
 * @frames_free_end: frames free once every address space was gone.
 * @settings: the host's other settings.
 * @vm_events: host_vm_event() at the end, per enum vm_event_item.
 * @invalidations: host_notify_events() at the end.
 * @nr_subs: entries used in @subs.
 * @subs: per-subscriber counts.
 * @has_mirror: @mirror is valid.
 * @mirror: the mirror's statistics.
 * @nr_grus: entries used in @grus.
 * @grus: per-GRU-context sections.
 * @nr_xpmems: entries used in @xpmems.
 * @xpmems: per-XPMEM-segment sections.
 * @nr_vms: entries used in @vms.
 * @vms: per-VM sections.
 * @nr_workloads: entries used in @workloads.
 * @workloads_dropped: workloads that did not fit.
 * @workloads: per-workload sections.
 * @elapsed_us: wall-clock run time; 0 in a seeded run.
 * @ksm: ksm_get_stats() of the host at the end.
 * @nr_records: entries used in @records.
 * @records: the scenario's headline numbers, by name, in the order
 *	they were recorded (`record` statements, report_record()).
 * @checks: checks made.
 * @data_errors: checks that failed.
 * @warnings: WARN_ON()s raised during the run.
 * @interrupted: a SIGINT stopped the run: the report is partial (and the
 *	run failed).
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
	bool from_file;
	const char *content;
	const char *change_pte;
	bool seeded;
	u64 seed;
	struct det_result det;
	unsigned long frames_total;
	unsigned int hosts;
	unsigned long frames_used_peak;
	unsigned long frames_free_end;
	struct report_settings settings;
	unsigned long vm_events[NR_VM_EVENT_ITEMS];
	unsigned long invalidations[MMU_NOTIFY_NR_EVENTS];
	unsigned int nr_subs;
	struct report_sub subs[REPORT_MAX_SUBS];
	bool has_mirror;
	struct report_mirror mirror;
	unsigned int nr_grus;
	struct report_gru grus[REPORT_MAX_GRUS];
	unsigned int nr_xpmems;
	struct report_xpmem xpmems[REPORT_MAX_XPMEMS];
	unsigned int nr_vms;
	struct report_vm vms[REPORT_MAX_VMS];
	unsigned int nr_workloads;
	unsigned long workloads_dropped;
	struct report_workload workloads[REPORT_MAX_WORKLOADS];
	unsigned long elapsed_us;
	struct ksm_stats ksm;
	unsigned int nr_records;
	struct {
		char name[REPORT_NAME];
		unsigned long value;
	} records[REPORT_MAX_RECORDS];
	unsigned long checks;
	unsigned long data_errors;
	unsigned long warnings;
	bool interrupted;
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

/**
 * report_change_pte_name() - "none", "bookended" or "direct" for @host.
 */
const char *report_change_pte_name(struct host *host);

/**
 * report_host_counters() - add @host's event counters to @r (a scenario
 * with several hosts reports their sum).
 */
void report_host_counters(struct report *r, struct host *host);

/**
 * report_record() - name one of the scenario's headline numbers: @name
 * takes @value (a name recorded again is updated).
 * Return: false when @r has no room for another name.
 */
bool report_record(struct report *r, const char *name, unsigned long value);

/** report_add_sub() - a slot for one more subscriber, or NULL if full. */
struct report_sub *report_add_sub(struct report *r, const char *name,
				  const char *type);

/** report_sub_count() - append one callback counter to @s. */
void report_sub_count(struct report_sub *s, const char *name,
		      unsigned long count);

/** report_add_vm() - a slot for one more VM, or NULL if full. */
struct report_vm *report_add_vm(struct report *r, const char *name);

/** report_add_gru() - a slot for one more GRU context, or NULL if full. */
struct report_gru *report_add_gru(struct report *r, const char *name);

/** report_add_xpmem() - a slot for one more segment, or NULL if full. */
struct report_xpmem *report_add_xpmem(struct report *r, const char *name);

/** report_add_workload() - a slot for one more workload, or NULL. */
struct report_workload *report_add_workload(struct report *r,
					    unsigned int line);

/** report_thread_count_name() - "ops", "reads", ... */
const char *report_thread_count_name(enum report_thread_count c);

/**
 * report_vm_stat_counts() - names and values of @st, in struct order, into
 * @c (REPORT_VM_STATS entries).  Return: the number written.
 */
unsigned int report_vm_stat_counts(const struct kvm_vm_stat *st,
				   struct report_count *c);

/**
 * report_vcpu_stat_counts() - the same for a vCPU (REPORT_VCPU_STATS).
 */
unsigned int report_vcpu_stat_counts(const struct kvm_vcpu_stat *st,
				     struct report_count *c);

/** report_ksm_counts() - the same for KSM (REPORT_KSM_STATS). */
unsigned int report_ksm_counts(const struct ksm_stats *st,
			       struct report_count *c);

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
