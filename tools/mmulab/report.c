// SPDX-License-Identifier: MIT
/*
 * Filling and rendering struct report.
 */
#include <stdarg.h>
#include <string.h>

#include <json-c/json.h>

#include "mmulab.h"
#include "report.h"
#include "sample.h"
#include "trace.h"

void report_init(struct report *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	spin_lock_init(&r->lock);
	r->scenario = name;
	r->content = "?";
	r->change_pte = "?";
}

void report_step(struct report *r, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Steps are part of the run: a seeded run hashes them. */
	det_log("step: %s", line);
	trace_mark(line);

	spin_lock(&r->lock);
	if (r->nr_steps < REPORT_MAX_STEPS)
		memcpy(r->steps[r->nr_steps++], line, sizeof(line));
	else
		r->steps_dropped++;
	spin_unlock(&r->lock);
}

bool report_check(struct report *r, bool ok, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		det_log("check failed: %s", line);
	}

	spin_lock(&r->lock);
	r->checks++;
	if (!ok) {
		r->data_errors++;
		if (r->nr_failures < REPORT_MAX_FAILURES)
			memcpy(r->failures[r->nr_failures++], line,
			       sizeof(line));
		else
			r->failures_dropped++;
	}
	spin_unlock(&r->lock);
	return ok;
}

void report_sample_frames(struct report *r, struct host *host)
{
	unsigned long used = host_config_of(host)->nr_frames -
			     host_nr_free_frames(host);

	spin_lock(&r->lock);
	if (used > r->frames_used_peak)
		r->frames_used_peak = used;
	spin_unlock(&r->lock);
}

const char *report_change_pte_name(struct host *host)
{
	static const char *const change_pte[] = {
		[CHANGE_PTE_NONE] = "none",
		[CHANGE_PTE_BOOKENDED] = "bookended",
		[CHANGE_PTE_DIRECT] = "direct",
	};
	unsigned int mode = host_config_of(host)->change_pte;

	return mode < MMULAB_ARRAY_SIZE(change_pte) ? change_pte[mode] : "?";
}

/*
 * A second host adds its frames; where it is configured otherwise than
 * the first, the report says "mixed".
 */
void report_host_config(struct report *r, struct host *host)
{
	static const char *const content[] = {
		[HOST_CONTENT_DATA] = "data",
		[HOST_CONTENT_TAG] = "tag",
	};
	const struct host_config *cfg = host_config_of(host);
	const char *c = (unsigned int)cfg->content < MMULAB_ARRAY_SIZE(content) ?
				content[cfg->content] : "?";
	const char *m = report_change_pte_name(host);
	bool first = !r->frames_total;
	struct host_meminfo mi;

	host_meminfo(host, &mi);
	r->settings = (struct report_settings){
		.swap_slots = cfg->swap_slots,
		.wmark_low = mi.wmark_low,
		.wmark_high = mi.wmark_high,
		.kswapd = cfg->kswapd,
		.oom_kill = cfg->oom_kill,
		.ksm_run = cfg->ksm_run == KSM_RUN_MERGE,
		.ksm_pages_to_scan = cfg->ksm_pages_to_scan,
		.ksm_sleep_millisecs = cfg->ksm_sleep_millisecs,
		.ksm_max_page_sharing = cfg->ksm_max_page_sharing,
	};

	r->frames_total += cfg->nr_frames;
	r->hosts++;
	r->content = first || !strcmp(r->content, c) ? c : "mixed";
	r->change_pte = first || !strcmp(r->change_pte, m) ? m : "mixed";
}

void report_host_counters(struct report *r, struct host *host)
{
	unsigned long inv[MMU_NOTIFY_NR_EVENTS];
	struct ksm_stats ks;

	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		r->vm_events[i] += host_vm_event(host, i);
	host_notify_events(host, inv, MMU_NOTIFY_NR_EVENTS);
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		r->invalidations[e] += inv[e];
	ksm_get_stats(host, &ks);
	r->ksm.pages_shared += ks.pages_shared;
	r->ksm.pages_sharing += ks.pages_sharing;
	r->ksm.pages_unshared += ks.pages_unshared;
	r->ksm.pages_volatile += ks.pages_volatile;
	r->ksm.full_scans += ks.full_scans;
	r->ksm.pages_scanned += ks.pages_scanned;
	r->ksm.stable_nodes += ks.stable_nodes;
	r->ksm.stable_node_chains += ks.stable_node_chains;
	r->ksm.stable_node_dups += ks.stable_node_dups;
}

struct report_sub *report_add_sub(struct report *r, const char *name,
				  const char *type)
{
	struct report_sub *s;

	if (r->nr_subs >= REPORT_MAX_SUBS)
		return NULL;
	s = &r->subs[r->nr_subs++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = type;
	return s;
}

void report_sub_count(struct report_sub *s, const char *name,
		      unsigned long count)
{
	if (s->nr_callbacks < REPORT_MAX_COUNTS)
		s->callbacks[s->nr_callbacks++] =
			(struct report_count){ name, count };
}

bool report_record(struct report *r, const char *name, unsigned long value)
{
	unsigned int i;

	spin_lock(&r->lock);
	for (i = 0; i < r->nr_records; i++)
		if (!strcmp(r->records[i].name, name))
			break;
	if (i < REPORT_MAX_RECORDS) {
		snprintf(r->records[i].name, sizeof(r->records[i].name), "%s",
			 name);
		r->records[i].value = value;
		if (i == r->nr_records)
			r->nr_records++;
	}
	spin_unlock(&r->lock);
	return i < REPORT_MAX_RECORDS;
}

_Static_assert(REPORT_MAX_RECORDS <= NR_VM_EVENT_ITEMS,
	       "report_print_text() prints the records from its event array");

/* The records as counters, for the grid and the JSON object. */
static unsigned int record_counts(const struct report *r,
				  struct report_count *c)
{
	for (unsigned int i = 0; i < r->nr_records; i++)
		c[i] = (struct report_count){ r->records[i].name,
					      r->records[i].value };
	return r->nr_records;
}

struct report_vm *report_add_vm(struct report *r, const char *name)
{
	struct report_vm *v;

	if (r->nr_vms >= REPORT_MAX_VMS)
		return NULL;
	v = &r->vms[r->nr_vms++];
	snprintf(v->name, sizeof(v->name), "%s", name);
	return v;
}

struct report_gru *report_add_gru(struct report *r, const char *name)
{
	struct report_gru *g;

	if (r->nr_grus >= REPORT_MAX_GRUS)
		return NULL;
	g = &r->grus[r->nr_grus++];
	snprintf(g->name, sizeof(g->name), "%s", name);
	return g;
}

struct report_xpmem *report_add_xpmem(struct report *r, const char *name)
{
	struct report_xpmem *x;

	if (r->nr_xpmems >= REPORT_MAX_XPMEMS)
		return NULL;
	x = &r->xpmems[r->nr_xpmems++];
	snprintf(x->name, sizeof(x->name), "%s", name);
	return x;
}

struct report_workload *report_add_workload(struct report *r,
					    unsigned int line)
{
	struct report_workload *w;

	if (r->nr_workloads >= REPORT_MAX_WORKLOADS) {
		r->workloads_dropped++;
		return NULL;
	}
	w = &r->workloads[r->nr_workloads++];
	w->line = line;
	return w;
}

static const char *const thread_count_names[NR_RT_COUNTS] = {
	[RT_OPS] = "ops",
	[RT_READS] = "reads",
	[RT_WRITES] = "writes",
	[RT_FAULTS] = "faults",
	[RT_MMIO] = "mmio",
	[RT_MUNMAP] = "munmap",
	[RT_MPROTECT] = "mprotect",
	[RT_MADVISE] = "madvise",
	[RT_FORK] = "fork",
	[RT_HOST_WRITE] = "host_write",
	[RT_MIGRATE] = "migrate",
	[RT_KSM] = "ksm",
	[RT_RECLAIM] = "reclaim",
};

const char *report_thread_count_name(enum report_thread_count c)
{
	return (unsigned int)c < NR_RT_COUNTS ? thread_count_names[c] : "?";
}

#define STAT(st, field) { #field, (st)->field }

unsigned int report_vm_stat_counts(const struct kvm_vm_stat *st,
				   struct report_count *c)
{
	const struct report_count all[] = {
		STAT(st, mmu_shadow_zapped),
		STAT(st, remote_tlb_flush),
		STAT(st, pages_4k),
		STAT(st, pages_2m),
		STAT(st, mmu_invalidations),
		STAT(st, mmu_invalidations_nomatch),
		STAT(st, age_calls),
		STAT(st, age_young),
		STAT(st, change_pte_calls),
		STAT(st, change_pte_hits),
		STAT(st, change_pte_warn),
		STAT(st, memslot_updates),
		STAT(st, memslot_waits),
		STAT(st, pinned_pages),
	};

	_Static_assert(MMULAB_ARRAY_SIZE(all) == REPORT_VM_STATS,
		       "REPORT_VM_STATS out of date");

	memcpy(c, all, sizeof(all));
	return MMULAB_ARRAY_SIZE(all);
}

unsigned int report_vcpu_stat_counts(const struct kvm_vcpu_stat *st,
				     struct report_count *c)
{
	const struct report_count all[] = {
		STAT(st, accesses),
		STAT(st, tlb_hits),
		STAT(st, tlb_flushes),
		STAT(st, pf_taken),
		STAT(st, pf_fixed),
		STAT(st, pf_spurious),
		STAT(st, pf_retry_in_progress),
		STAT(st, pf_retry_seq),
		STAT(st, pf_retry_race),
		STAT(st, pf_mmio),
		STAT(st, pf_efault),
	};

	_Static_assert(MMULAB_ARRAY_SIZE(all) == REPORT_VCPU_STATS,
		       "REPORT_VCPU_STATS out of date");

	memcpy(c, all, sizeof(all));
	return MMULAB_ARRAY_SIZE(all);
}

unsigned int report_ksm_counts(const struct ksm_stats *st,
			       struct report_count *c)
{
	const struct report_count all[] = {
		STAT(st, pages_shared),
		STAT(st, pages_sharing),
		STAT(st, pages_unshared),
		STAT(st, pages_volatile),
		STAT(st, full_scans),
		STAT(st, pages_scanned),
		STAT(st, stable_nodes),
		STAT(st, stable_node_chains),
		STAT(st, stable_node_dups),
	};

	_Static_assert(MMULAB_ARRAY_SIZE(all) == REPORT_KSM_STATS,
		       "REPORT_KSM_STATS out of date");
	memcpy(c, all, sizeof(all));
	return MMULAB_ARRAY_SIZE(all);
}

#undef STAT

bool report_failed(const struct report *r)
{
	return r->data_errors || r->warnings || r->interrupted;
}

const char *errno_name(long err)
{
	const char *name;

	if (!err)
		return "0";
	name = strerrorname_np(err < 0 ? -err : err);
	return name ? name : "E?";
}

/* ---------------------------------------------------------------------
 * Text
 */

#define LABEL_W 16
#define NAME_W 26
#define VALUE_W 6
#define CELLS_PER_LINE 2

static const char *event_name(unsigned int event)
{
	const char *name = mmu_notifier_event_name(event);

	return name ? name : "?";
}

/* Print @n named values as a grid under @label, skipping zeros if asked. */
static void print_grid(FILE *f, const char *label,
		       const struct report_count *c, unsigned int n,
		       bool skip_zero)
{
	unsigned int col = 0;

	fprintf(f, "%-*s", LABEL_W, label);
	for (unsigned int i = 0; i < n; i++) {
		if (skip_zero && !c[i].count)
			continue;
		if (col == CELLS_PER_LINE) {
			fprintf(f, "\n%-*s", LABEL_W, "");
			col = 0;
		}
		fprintf(f, "%s%-*s%*lu", col ? "  " : "", NAME_W, c[i].name,
			VALUE_W, c[i].count);
		col++;
	}
	if (!col && skip_zero)
		fputs("none", f);
	fputc('\n', f);
}

static unsigned int event_counts(const unsigned long *by_event,
				 struct report_count *c)
{
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		c[e] = (struct report_count){ event_name(e), by_event[e] };
	return MMU_NOTIFY_NR_EVENTS;
}

static void print_header(const struct report *r, FILE *f)
{
	fprintf(f, "mmulab %s: scenario %s%s on a %s host of %lu frames, "
		   "change_pte %s\n",
		MMULAB_VERSION, r->from_file ? "file " : "", r->scenario,
		r->content, r->frames_total, r->change_pte);
	if (r->seeded)
		fprintf(f, "seed %llu: log hash %016llx, %lu scheduling "
			   "points, %lu switches, %u tasks\n",
			(unsigned long long)r->seed,
			(unsigned long long)r->det.log_hash, r->det.steps,
			r->det.switches, r->det.tasks);
}

static void print_steps(const struct report *r, FILE *f)
{
	fputs("\nsteps\n", f);
	for (unsigned int i = 0; i < r->nr_steps; i++)
		fprintf(f, "%4u  %s\n", i + 1, r->steps[i]);
	if (r->steps_dropped)
		fprintf(f, "      (%lu more)\n", r->steps_dropped);
}

static void print_subs(const struct report *r, FILE *f)
{
	struct report_count c[MMU_NOTIFY_NR_EVENTS];

	for (unsigned int i = 0; i < r->nr_subs; i++) {
		const struct report_sub *s = &r->subs[i];

		fprintf(f, "%-*s%s (%s)\n", LABEL_W, "subscriber", s->name,
			s->type);
		print_grid(f, "  callbacks", s->callbacks, s->nr_callbacks,
			   false);
		event_counts(s->by_event, c);
		print_grid(f, "  invalidations", c, MMU_NOTIFY_NR_EVENTS, true);
	}
}

static void print_mirror(const struct report_mirror *m, FILE *f)
{
	const struct report_count c[] = {
		{ "pages", m->pages },	       { "faults", m->faults },
		{ "retries", m->retries },     { "invalidations",
						 m->invalidations },
		{ "entries zapped", m->zapped }, { "device reads", m->reads },
		{ "device writes", m->writes }, { "incoherent",
						  m->incoherent },
	};

	print_grid(f, "mirror stats", c, MMULAB_ARRAY_SIZE(c), false);
}

/* The counters of a GRU context, in the report's order. */
static unsigned int gru_counts(const struct report_gru *g,
			       struct report_count *c)
{
	const struct gru_stat *st = &g->stat;
	unsigned int n = 0;

	c[n++] = (struct report_count){ "accesses", st->accesses };
	c[n++] = (struct report_count){ "tlb_hits", st->tlb_hits };
	c[n++] = (struct report_count){ "tlb_faults", st->tlb_faults };
	c[n++] = (struct report_count){ "fills", st->fills };
	c[n++] = (struct report_count){ "fills_dropped", st->fills_dropped };
	c[n++] = (struct report_count){ "evictions", st->evictions };
	c[n++] = (struct report_count){ "invalidations", st->invalidations };
	c[n++] = (struct report_count){ "flushes", st->flushes };
	c[n++] = (struct report_count){ "flushed", st->flushed };
	c[n++] = (struct report_count){ "waits", st->waits };
	c[n++] = (struct report_count){ "released", st->released };
	c[n++] = (struct report_count){ "valid_end", g->valid_end };
	return n;
}

static void print_gru(const struct report_gru *g, FILE *f)
{
	struct report_count c[REPORT_MAX_COUNTS];

	fprintf(f, "%-*s%s: TLB of %u sets x %u ways\n", LABEL_W, "gru",
		g->name, g->sets, g->ways);
	print_grid(f, "  gru stats", c, gru_counts(g, c), false);
}

/* The counters of an XPMEM segment, in the report's order. */
static unsigned int xpmem_counts(const struct report_xpmem *x,
				 struct report_count *c)
{
	const struct xpmem_stat *st = &x->stat;
	unsigned int n = 0;

	c[n++] = (struct report_count){ "attaches", st->attaches };
	c[n++] = (struct report_count){ "accesses", st->accesses };
	c[n++] = (struct report_count){ "faults", st->faults };
	c[n++] = (struct report_count){ "fills_dropped", st->fills_dropped };
	c[n++] = (struct report_count){ "invalidations", st->invalidations };
	c[n++] = (struct report_count){ "messages", st->messages };
	c[n++] = (struct report_count){ "acks", st->acks };
	c[n++] = (struct report_count){ "dropped", st->dropped };
	c[n++] = (struct report_count){ "released", st->released };
	c[n++] = (struct report_count){ "peers_lost", st->peers_lost };
	c[n++] = (struct report_count){ "quarantined", st->quarantined };
	c[n++] = (struct report_count){ "unquarantined", st->unquarantined };
	return n;
}

static void print_xpmem(const struct report_xpmem *x, FILE *f)
{
	struct report_count c[REPORT_MAX_COUNTS];

	fprintf(f, "%-*s%s: %lu pages, invalidating in %s\n", LABEL_W,
		"xpmem", x->name, x->pages,
		x->end_only ? "invalidate_range_end" :
			      "invalidate_range_start");
	print_grid(f, "  xpmem stats", c, xpmem_counts(x, c), false);
}

#define VCPU_COLS 8
#define STAT_W 22
#define COL_W 8

/* One chunk of the vCPU table: vCPUs [first, last), then the total. */
static void print_vcpu_chunk(const struct report_vm *v, unsigned int first,
			     unsigned int last, bool total, FILE *f)
{
	struct report_count c[REPORT_VCPU_STATS];
	unsigned int n = report_vcpu_stat_counts(&v->vcpus[0], c);

	fprintf(f, "  %-*s", STAT_W, "vcpu");
	for (unsigned int i = first; i < last; i++)
		fprintf(f, "%*u", COL_W, i);
	if (total)
		fprintf(f, "%*s", COL_W, "total");
	fputc('\n', f);
	for (unsigned int k = 0; k < n; k++) {
		unsigned long sum = 0;

		fprintf(f, "  %-*s", STAT_W, c[k].name);
		for (unsigned int i = 0; i < v->nr_vcpus; i++) {
			struct report_count ci[REPORT_VCPU_STATS];

			report_vcpu_stat_counts(&v->vcpus[i], ci);
			sum += ci[k].count;
			if (i >= first && i < last)
				fprintf(f, "%*lu", COL_W, ci[k].count);
		}
		if (total)
			fprintf(f, "%*lu", COL_W, sum);
		fputc('\n', f);
	}
}

static void print_vm(const struct report_vm *v, FILE *f)
{
	struct report_count c[REPORT_VM_STATS];
	unsigned int n = report_vm_stat_counts(&v->stat, c);

	fprintf(f, "%-*s%s: %s, %u vCPUs, %u memslot%s of %lu pages, "
		   "change_pte %s", LABEL_W, "vm", v->name,
		v->pinned ? "pinned, no notifier" : "mmu_notifier",
		v->nr_vcpus, v->memslots, v->memslots == 1 ? "" : "s",
		v->memslot_pages, v->change_pte);
	if (v->timed)
		fprintf(f, ", timed %lu.%03lu ms", v->elapsed_us / 1000,
			v->elapsed_us % 1000);
	fputc('\n', f);
	print_grid(f, "  counters", c, n, false);
	fprintf(f, "%-*s%lu quiescent checks, %lu stale SPTEs\n", LABEL_W,
		"  verify", v->verify_points, v->stale_sptes);
	for (unsigned int i = 0; i < v->nr_vcpus; i += VCPU_COLS) {
		unsigned int last = i + VCPU_COLS;

		if (last >= v->nr_vcpus)
			last = v->nr_vcpus;
		print_vcpu_chunk(v, i, last, last == v->nr_vcpus, f);
	}
}

/* Columns that some thread of @w counted; ops always. */
static unsigned int workload_columns(const struct report_workload *w,
				     unsigned int *cols)
{
	unsigned int n = 0;

	for (unsigned int k = 0; k < NR_RT_COUNTS; k++) {
		bool used = k == RT_OPS;

		for (unsigned int t = 0; t < w->nr_threads && !used; t++)
			used = w->threads[t].count[k];
		if (used)
			cols[n++] = k;
	}
	return n;
}

static void print_workload(const struct report_workload *w, bool seeded,
			   FILE *f)
{
	unsigned int cols[NR_RT_COUNTS];
	unsigned int n = workload_columns(w, cols);

	fprintf(f, "%-*sline %u: %u threads", LABEL_W, "workload", w->line,
		w->nr_threads);
	if (!seeded)
		fprintf(f, ", %lu.%03lu ms", w->elapsed_us / 1000,
			w->elapsed_us % 1000);
	fprintf(f, "\n  %-*s", STAT_W, "thread");
	for (unsigned int k = 0; k < n; k++)
		fprintf(f, " %*s", COL_W + 2,
			report_thread_count_name(cols[k]));
	fputc('\n', f);
	for (unsigned int t = 0; t < w->nr_threads; t++) {
		const struct report_thread *th = &w->threads[t];
		char label[REPORT_NAME * 3];

		snprintf(label, sizeof(label), "%s %s", th->kind, th->name);
		fprintf(f, "  %-*s", STAT_W, label);
		for (unsigned int k = 0; k < n; k++)
			fprintf(f, " %*lu", COL_W + 2, th->count[cols[k]]);
		fputc('\n', f);
	}
}

static void print_failures(const struct report *r, FILE *f)
{
	if (!r->nr_failures)
		return;
	fputs("\nfailed checks\n", f);
	for (unsigned int i = 0; i < r->nr_failures; i++)
		fprintf(f, "      %s\n", r->failures[i]);
	if (r->failures_dropped)
		fprintf(f, "      (%lu more)\n", r->failures_dropped);
}

void report_print_text(const struct report *r, FILE *f)
{
	struct report_count c[NR_VM_EVENT_ITEMS];
	unsigned int n = 0;

	print_header(r, f);
	print_steps(r, f);

	fputc('\n', f);
	n = record_counts(r, c);
	if (n)
		print_grid(f, "records", c, n, false);
	n = 0;
	fprintf(f, "%-*stotal %lu, used peak %lu, free at end %lu\n",
		LABEL_W, "frames", r->frames_total, r->frames_used_peak,
		r->frames_free_end);
	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++) {
		const char *name = vm_event_name(i);

		if (name)
			c[n++] = (struct report_count){ name,
							r->vm_events[i] };
	}
	print_grid(f, "vm events", c, n, false);
	n = event_counts(r->invalidations, c);
	print_grid(f, "invalidations", c, n, false);
	n = report_ksm_counts(&r->ksm, c);
	if (r->ksm.pages_scanned)
		print_grid(f, "ksm", c, n, false);
	print_subs(r, f);
	if (r->has_mirror)
		print_mirror(&r->mirror, f);
	for (unsigned int i = 0; i < r->nr_grus; i++)
		print_gru(&r->grus[i], f);
	for (unsigned int i = 0; i < r->nr_xpmems; i++)
		print_xpmem(&r->xpmems[i], f);
	for (unsigned int i = 0; i < r->nr_vms; i++)
		print_vm(&r->vms[i], f);
	for (unsigned int i = 0; i < r->nr_workloads; i++)
		print_workload(&r->workloads[i], r->seeded, f);
	if (r->workloads_dropped)
		fprintf(f, "%-*s(%lu more)\n", LABEL_W, "workload",
			r->workloads_dropped);
	fprintf(f, "%-*s%lu made, %lu data errors, %lu warnings\n", LABEL_W,
		"checks", r->checks, r->data_errors, r->warnings);
	print_failures(r, f);
	if (r->interrupted)
		fprintf(f, "%-*s%s\n", LABEL_W, "interrupted",
			"by SIGINT: the run stopped early, the report is "
			"partial");
	fprintf(f, "%-*s%s\n", LABEL_W, "result",
		report_failed(r) ? "FAIL" : "ok");
}

void report_print_summary(const struct report *r, FILE *f)
{
	fprintf(f, "%s: %s, %lu checks, %lu data errors, %lu warnings",
		r->scenario, report_failed(r) ? "FAIL" : "ok", r->checks,
		r->data_errors, r->warnings);
	if (r->interrupted)
		fputs(", interrupted", f);
	if (r->seeded)
		fprintf(f, ", seed %llu log hash %016llx",
			(unsigned long long)r->seed,
			(unsigned long long)r->det.log_hash);
	fputc('\n', f);
}

/* ---------------------------------------------------------------------
 * JSON
 */

static void jadd(struct json_object *o, const char *key,
		 struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *jcount(unsigned long v)
{
	return json_object_new_uint64(v);
}

static struct json_object *jcounts(const struct report_count *c,
				   unsigned int n)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < n; i++)
		jadd(o, c[i].name, jcount(c[i].count));
	return o;
}

static struct json_object *jevents(const unsigned long *by_event)
{
	struct report_count c[MMU_NOTIFY_NR_EVENTS];

	return jcounts(c, event_counts(by_event, c));
}

static struct json_object *jlines(const char (*lines)[REPORT_LINE],
				  unsigned int n)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(lines[i]));
	return a;
}

static struct json_object *jdet(const struct report *r)
{
	struct json_object *o;
	char hash[17];

	if (!r->seeded)
		return NULL;
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)r->det.log_hash);
	o = json_object_new_object();
	jadd(o, "seed", json_object_new_uint64(r->seed));
	jadd(o, "log_hash", json_object_new_string(hash));
	jadd(o, "steps", jcount(r->det.steps));
	jadd(o, "switches", jcount(r->det.switches));
	jadd(o, "tasks", jcount(r->det.tasks));
	return o;
}

static struct json_object *jsettings(const struct report_settings *st)
{
	struct json_object *o = json_object_new_object();

	jadd(o, "swap_slots", jcount(st->swap_slots));
	jadd(o, "wmark_low", jcount(st->wmark_low));
	jadd(o, "wmark_high", jcount(st->wmark_high));
	jadd(o, "kswapd", json_object_new_boolean(st->kswapd));
	jadd(o, "oom_kill", json_object_new_boolean(st->oom_kill));
	jadd(o, "ksm_run", json_object_new_boolean(st->ksm_run));
	jadd(o, "ksm_pages_to_scan", jcount(st->ksm_pages_to_scan));
	jadd(o, "ksm_sleep_millisecs", jcount(st->ksm_sleep_millisecs));
	jadd(o, "ksm_max_page_sharing", jcount(st->ksm_max_page_sharing));
	return o;
}

static struct json_object *jhost(const struct report *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *frames = json_object_new_object();

	jadd(o, "content", json_object_new_string(r->content));
	jadd(o, "change_pte", json_object_new_string(r->change_pte));
	jadd(frames, "total", jcount(r->frames_total));
	jadd(frames, "used_peak", jcount(r->frames_used_peak));
	jadd(frames, "free_end", jcount(r->frames_free_end));
	jadd(o, "frames", frames);
	jadd(o, "settings", jsettings(&r->settings));
	return o;
}

static struct json_object *jvm_events(const struct report *r)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++) {
		const char *name = vm_event_name(i);

		if (name)
			jadd(o, name, jcount(r->vm_events[i]));
	}
	return o;
}

static struct json_object *jsubs(const struct report *r)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->nr_subs; i++) {
		const struct report_sub *s = &r->subs[i];
		struct json_object *o = json_object_new_object();

		jadd(o, "name", json_object_new_string(s->name));
		jadd(o, "type", json_object_new_string(s->type));
		jadd(o, "callbacks", jcounts(s->callbacks, s->nr_callbacks));
		jadd(o, "invalidations", jevents(s->by_event));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *jmirror(const struct report *r)
{
	const struct report_mirror *m = &r->mirror;
	struct json_object *o;

	if (!r->has_mirror)
		return NULL;
	o = json_object_new_object();
	jadd(o, "pages", jcount(m->pages));
	jadd(o, "faults", jcount(m->faults));
	jadd(o, "retries", jcount(m->retries));
	jadd(o, "invalidations", jcount(m->invalidations));
	jadd(o, "zapped", jcount(m->zapped));
	jadd(o, "reads", jcount(m->reads));
	jadd(o, "writes", jcount(m->writes));
	jadd(o, "incoherent", jcount(m->incoherent));
	return o;
}

static struct json_object *jvm(const struct report_vm *v)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();
	struct report_count c[REPORT_VM_STATS];

	jadd(o, "name", json_object_new_string(v->name));
	jadd(o, "change_pte", json_object_new_string(v->change_pte));
	jadd(o, "pinned", json_object_new_boolean(v->pinned));
	jadd(o, "elapsed_us", v->timed ? jcount(v->elapsed_us) : NULL);
	jadd(o, "memslots", jcount(v->memslots));
	jadd(o, "memslot_pages", jcount(v->memslot_pages));
	jadd(o, "verify_points", jcount(v->verify_points));
	jadd(o, "stale_sptes", jcount(v->stale_sptes));
	jadd(o, "stat", jcounts(c, report_vm_stat_counts(&v->stat, c)));
	for (unsigned int i = 0; i < v->nr_vcpus; i++) {
		struct json_object *vo = json_object_new_object();
		struct report_count vc[REPORT_VCPU_STATS];

		jadd(vo, "id", jcount(i));
		jadd(vo, "stat",
		     jcounts(vc, report_vcpu_stat_counts(&v->vcpus[i], vc)));
		json_object_array_add(a, vo);
	}
	jadd(o, "vcpus", a);
	return o;
}

static struct json_object *jgrus(const struct report *r)
{
	struct json_object *a = json_object_new_array();
	struct report_count c[REPORT_MAX_COUNTS];

	for (unsigned int i = 0; i < r->nr_grus; i++) {
		const struct report_gru *g = &r->grus[i];
		struct json_object *o = json_object_new_object();

		jadd(o, "name", json_object_new_string(g->name));
		jadd(o, "sets", jcount(g->sets));
		jadd(o, "ways", jcount(g->ways));
		jadd(o, "stats", jcounts(c, gru_counts(g, c)));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *jxpmems(const struct report *r)
{
	struct json_object *a = json_object_new_array();
	struct report_count c[REPORT_MAX_COUNTS];

	for (unsigned int i = 0; i < r->nr_xpmems; i++) {
		const struct report_xpmem *x = &r->xpmems[i];
		struct json_object *o = json_object_new_object();

		jadd(o, "name", json_object_new_string(x->name));
		jadd(o, "pages", jcount(x->pages));
		jadd(o, "end_only", json_object_new_boolean(x->end_only));
		jadd(o, "stats", jcounts(c, xpmem_counts(x, c)));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *jvms(const struct report *r)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->nr_vms; i++)
		json_object_array_add(a, jvm(&r->vms[i]));
	return a;
}

static struct json_object *jelapsed(const struct report *r,
				    unsigned long us)
{
	return r->seeded ? NULL : jcount(us);
}

static struct json_object *jthread(const struct report_thread *t)
{
	struct json_object *o = json_object_new_object();

	jadd(o, "kind", json_object_new_string(t->kind));
	jadd(o, "name", json_object_new_string(t->name));
	for (unsigned int k = 0; k < NR_RT_COUNTS; k++)
		jadd(o, report_thread_count_name(k), jcount(t->count[k]));
	return o;
}

static struct json_object *jworkloads(const struct report *r)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->nr_workloads; i++) {
		const struct report_workload *w = &r->workloads[i];
		struct json_object *o = json_object_new_object();
		struct json_object *t = json_object_new_array();

		jadd(o, "line", jcount(w->line));
		jadd(o, "elapsed_us", jelapsed(r, w->elapsed_us));
		for (unsigned int k = 0; k < w->nr_threads; k++)
			json_object_array_add(t, jthread(&w->threads[k]));
		jadd(o, "threads", t);
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *jsource(const struct report *r)
{
	struct json_object *o = json_object_new_object();

	jadd(o, "kind",
	     json_object_new_string(r->from_file ? "file" : "builtin"));
	jadd(o, "name", json_object_new_string(r->scenario));
	return o;
}

static struct json_object *jreport(const struct report *r)
{
	struct json_object *o = json_object_new_object();
	struct report_count c[REPORT_KSM_STATS];
	struct report_count rc[REPORT_MAX_RECORDS];

	jadd(o, "schema", json_object_new_string(REPORT_SCHEMA));
	jadd(o, "version", json_object_new_string(MMULAB_VERSION));
	jadd(o, "scenario", json_object_new_string(r->scenario));
	jadd(o, "source", jsource(r));
	jadd(o, "result",
	     json_object_new_string(report_failed(r) ? "fail" : "ok"));
	jadd(o, "deterministic", jdet(r));
	jadd(o, "host", jhost(r));
	jadd(o, "steps", jlines(r->steps, r->nr_steps));
	jadd(o, "steps_dropped", jcount(r->steps_dropped));
	jadd(o, "vm_events", jvm_events(r));
	jadd(o, "invalidations", jevents(r->invalidations));
	jadd(o, "ksm", jcounts(c, report_ksm_counts(&r->ksm, c)));
	jadd(o, "records", jcounts(rc, record_counts(r, rc)));
	jadd(o, "subscribers", jsubs(r));
	jadd(o, "mirror", jmirror(r));
	jadd(o, "grus", jgrus(r));
	jadd(o, "xpmems", jxpmems(r));
	jadd(o, "vms", jvms(r));
	jadd(o, "workloads", jworkloads(r));
	jadd(o, "workloads_dropped", jcount(r->workloads_dropped));
	jadd(o, "elapsed_us", jelapsed(r, r->elapsed_us));
	jadd(o, "checks", jcount(r->checks));
	jadd(o, "data_errors", jcount(r->data_errors));
	jadd(o, "warnings", jcount(r->warnings));
	jadd(o, "interrupted", json_object_new_boolean(r->interrupted));
	jadd(o, "failures", jlines(r->failures, r->nr_failures));
	jadd(o, "failures_dropped", jcount(r->failures_dropped));
	jadd(o, "series", sample_json());
	return o;
}

int report_print_json(const struct report *r, FILE *f)
{
	struct json_object *o = jreport(r);
	const char *s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int ret = fprintf(f, "%s\n", s) < 0 ? -EIO : 0;

	json_object_put(o);
	return ret;
}
