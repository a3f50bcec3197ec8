// SPDX-License-Identifier: MIT
/*
 * The trace recorder and the two trace writers.
 *
 * The recorder is a set of probes on the notifier core's and KVM's
 * tracepoints (<mmulab/trace/events/>), attached only when a trace is
 * asked for.  A probe takes no lock and passes no scheduling point: it
 * claims the next slot of the event buffer with one atomic addition, so
 * the slots are in the order the events happened, and a traced run is the
 * same run, with the same seed, as the untraced one.  A track is a (task
 * id, task name) pair, so that a recycled task id shows up as a new
 * thread; the tracks are found when the trace is written.
 *
 * Chrome trace-event JSON (Perfetto, chrome://tracing): one track per
 * task; an invalidation is a span from invalidate_range_start to
 * invalidate_range_end on the task that made it; aging, change_pte,
 * release, primary TLB flushes, the three stages of each secondary fault
 * and the scenario's steps are instant events.
 *
 * ftrace: what the kernel's trace events would print for the same run.
 * KVM's notifier callbacks trace kvm_unmap_hva_range, kvm_age_hva,
 * kvm_test_age_hva and kvm_set_spte_hva, so those lines appear only for
 * processes that have a VM at the time, one per VM; kvm_page_fault is the
 * EPT-violation exit (each retry is a new exit); tlb_flush is x86's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mmulab/sched.h>
#include <mmulab/trace/events/kvm.h>
#include <mmulab/trace/events/mmu_notifier.h>

#include "mmulab.h"
#include "sample.h"
#include "trace.h"

#define TRACE_MAX_VMS REPORT_MAX_VMS
#define TRACE_MAX_TRACKS 4096
#define TRACE_MAX_EVENTS (1UL << 22)
#define TRACE_CHUNK (1UL << 16)
#define TRACE_TID_HASH 1024
#define TRACE_NAME 32

enum tev_type {
	TE_INV_START,
	TE_INV_END,
	TE_CLEAR_FLUSH_YOUNG,
	TE_CLEAR_YOUNG,
	TE_TEST_YOUNG,
	TE_CHANGE_PTE,
	TE_RELEASE,
	TE_TLB_FLUSH,
	TE_FAULT,		/* kvm_page_fault: the exit */
	TE_FAULT_GUP,		/* mmulab_kvm_fault_pfn */
	TE_FAULT_LOCKED,	/* mmulab_kvm_fault_locked */
	TE_MARK,
};

/**
 * struct tev - one event.
 * @ts: nanoseconds since trace_begin() (logical in seeded runs).
 * @a: start, address or gpa; mark index for TE_MARK.
 * @b: end, PTE value or vCPU id.
 * @tid, @comm: the task that recorded it.
 * @track: index in tr.tracks, set when the trace is written.
 * @obj: index in tr.mms (notifier events) or tr.vms (faults).
 * @type: enum tev_type.
 * @arg: the mmu_notifier_event; for faults, 1 for a store.
 * @nr_vms: VMs the process had when the event happened.
 * @valid: the slot was filled (a slot whose chunk could not be allocated
 *	stays empty).
 */
struct tev {
	u64 ts;
	u64 a;
	u64 b;
	int tid;
	char comm[16];
	u32 track;
	u16 obj;
	u8 type;
	u8 arg;
	u8 nr_vms;
	u8 valid;
};

struct track {
	int tid;
	char comm[16];
};

/**
 * struct trace_mm - a process the recorder reports.
 * @mm: the process; NULL once it exited (its release was recorded), so
 *	that a process allocated later at the same address is not taken
 *	for it.
 * @name: its name in the scenario.
 * @nr_vms: VMs of this process being traced.
 */
struct trace_mm {
	struct mm_struct *mm;
	char name[TRACE_NAME];
	unsigned int nr_vms;
};

static struct {
	bool on;
	bool det;
	struct trace_opts opts;
	struct timespec t0;
	struct tev *chunks[TRACE_MAX_EVENTS / TRACE_CHUNK];
	unsigned long claimed;	/* slots claimed, dropped ones included */
	unsigned long dropped;
	struct tev *ev;		/* the events in order, once written */
	size_t nr_ev;
	unsigned int nr_tracks;
	struct track tracks[TRACE_MAX_TRACKS];
	unsigned int nr_mms;
	struct trace_mm mms[TRACE_MAX_MMS];
	unsigned int nr_vms;
	struct kvm *vm_kvm[TRACE_MAX_VMS];
	char vm_names[TRACE_MAX_VMS][TRACE_NAME];
	unsigned int vm_mm[TRACE_MAX_VMS];
	size_t nr_marks;
	char **marks;
} tr;

/* Whether the probes are registered (they outlive a trace_end() missed). */
static bool probes_on;

/* ---------------------------------------------------------------------
 * Recording
 */

static u64 clock_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (u64)(t.tv_sec - tr.t0.tv_sec) * 1000000000ULL + t.tv_nsec -
	       tr.t0.tv_nsec;
}

u64 trace_now_ns(void)
{
	return tr.det ? OBSERVE_ONCE(tr.claimed) * 1000 : clock_ns();
}

/* The slot of event @i, allocating its chunk if it is the first there. */
static struct tev *slot(unsigned long i)
{
	struct tev **chunk = &tr.chunks[i / TRACE_CHUNK];
	struct tev *c = OBSERVE_ONCE(*chunk), *fresh;

	if (!c) {
		fresh = calloc(TRACE_CHUNK, sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (__atomic_compare_exchange_n(chunk, &c, fresh, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			c = fresh;
		else
			free(fresh); /* another task's came first: @c */
	}
	return &c[i % TRACE_CHUNK];
}

/*
 * One event, on the calling task: an atomic claim of the next slot and
 * plain stores into it, so no scheduling point.  In a seeded run the
 * slot's index is the logical clock.
 */
static void record(enum tev_type type, unsigned int obj, unsigned int arg,
		   u64 a, u64 b)
{
	unsigned long i = __atomic_fetch_add(&tr.claimed, 1, __ATOMIC_RELAXED);
	struct task_struct *t = current;
	struct tev *e;

	if (i >= TRACE_MAX_EVENTS || !(e = slot(i))) {
		__atomic_fetch_add(&tr.dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	e->ts = tr.det ? (i + 1) * 1000 : clock_ns();
	e->a = a;
	e->b = b;
	e->tid = task_pid(t);
	snprintf(e->comm, sizeof(e->comm), "%s", task_comm(t));
	e->obj = obj;
	e->type = type;
	e->arg = arg;
	e->nr_vms = type < TE_FAULT && obj < TRACE_MAX_MMS ?
			    OBSERVE_ONCE(tr.mms[obj].nr_vms) : 0;
	OBSERVE_SET(e->valid, 1);
}

/* The slot of @mm, newest first, or -1 for a process not reported. */
static int mm_slot(const struct mm_struct *mm)
{
	for (int i = (int)OBSERVE_ONCE(tr.nr_mms) - 1; i >= 0; i--)
		if (OBSERVE_ONCE(tr.mms[i].mm) == mm)
			return i;
	return -1;
}

static void rec_mm(enum tev_type type, const struct mm_struct *mm,
		   unsigned int arg, u64 a, u64 b)
{
	int m = mm_slot(mm);

	if (m >= 0)
		record(type, m, arg, a, b);
}

static void rec_start(void *data, const struct mmu_notifier_range *range,
		      int ret)
{
	(void)data;
	/* A failed non-blockable start has no end: no span. */
	if (!ret)
		rec_mm(TE_INV_START, range->mm, range->event, range->start,
		       range->end);
}

static void rec_end(void *data, const struct mmu_notifier_range *range)
{
	(void)data;
	rec_mm(TE_INV_END, range->mm, range->event, range->start, range->end);
}

static void rec_release(void *data, struct mm_struct *mm)
{
	int m = mm_slot(mm);

	(void)data;
	if (m < 0)
		return;
	record(TE_RELEASE, m, 0, 0, 0);
	OBSERVE_SET(tr.mms[m].mm, NULL);
}

static void rec_clear_flush_young(void *data, struct mm_struct *mm,
				  unsigned long start, unsigned long end)
{
	(void)data;
	rec_mm(TE_CLEAR_FLUSH_YOUNG, mm, 0, start, end);
}

static void rec_clear_young(void *data, struct mm_struct *mm,
			    unsigned long start, unsigned long end)
{
	(void)data;
	rec_mm(TE_CLEAR_YOUNG, mm, 0, start, end);
}

static void rec_test_young(void *data, struct mm_struct *mm,
			   unsigned long address)
{
	(void)data;
	rec_mm(TE_TEST_YOUNG, mm, 0, address, 0);
}

static void rec_change_pte(void *data, struct mm_struct *mm,
			   unsigned long address, pte_t pte)
{
	(void)data;
	rec_mm(TE_CHANGE_PTE, mm, 0, address, pte_val(pte));
}

static void rec_tlb(void *data, struct mm_struct *mm, unsigned long start,
		    unsigned long end)
{
	(void)data;
	rec_mm(TE_TLB_FLUSH, mm, 0, start, end);
}

/* The index of @vcpu's VM, newest first, or -1 for a VM not reported. */
static int vm_slot(const struct kvm_vcpu *vcpu)
{
	const struct kvm *kvm = kvm_vcpu_vm(vcpu);

	for (int i = (int)OBSERVE_ONCE(tr.nr_vms) - 1; i >= 0; i--)
		if (OBSERVE_ONCE(tr.vm_kvm[i]) == kvm)
			return i;
	return -1;
}

static void rec_fault(void *data, struct kvm_vcpu *vcpu, u64 gpa,
		      u64 error_code)
{
	int vm = vm_slot(vcpu);

	(void)data;
	if (vm >= 0)
		record(TE_FAULT, vm, !!(error_code & PFERR_WRITE_MASK), gpa,
		       kvm_vcpu_id(vcpu));
}

static void rec_fault_step(enum tev_type type, struct kvm_vcpu *vcpu,
			   gpa_t gpa)
{
	int vm = vm_slot(vcpu);

	if (vm >= 0)
		record(type, vm, 0, gpa, kvm_vcpu_id(vcpu));
}

static void rec_fault_pfn(void *data, struct kvm_vcpu *vcpu, gpa_t gpa,
			  unsigned long hva, unsigned long pfn)
{
	(void)data, (void)hva, (void)pfn;
	rec_fault_step(TE_FAULT_GUP, vcpu, gpa);
}

static void rec_fault_locked(void *data, struct kvm_vcpu *vcpu, gpa_t gpa,
			     unsigned long hva, unsigned long pfn)
{
	(void)data, (void)hva, (void)pfn;
	rec_fault_step(TE_FAULT_LOCKED, vcpu, gpa);
}

/* Register (@on) or unregister every probe of the recorder. */
static int probes(bool on)
{
#define TP(event, probe)                                                       \
	(on ? register_trace_##event(probe, NULL) :                            \
	      unregister_trace_##event(probe, NULL))
	int ret = TP(mmu_notifier_invalidate_range_start, rec_start) |
		  TP(mmu_notifier_invalidate_range_end, rec_end) |
		  TP(mmu_notifier_release, rec_release) |
		  TP(mmu_notifier_clear_flush_young, rec_clear_flush_young) |
		  TP(mmu_notifier_clear_young, rec_clear_young) |
		  TP(mmu_notifier_test_young, rec_test_young) |
		  TP(mmu_notifier_change_pte, rec_change_pte) |
		  TP(mmu_notifier_arch_invalidate_secondary_tlbs, rec_tlb) |
		  TP(kvm_page_fault, rec_fault) |
		  TP(mmulab_kvm_fault_pfn, rec_fault_pfn) |
		  TP(mmulab_kvm_fault_locked, rec_fault_locked);
#undef TP
	probes_on = on;
	return ret;
}

/* ---------------------------------------------------------------------
 * Attaching
 */

void trace_begin(const struct trace_opts *opts, bool deterministic)
{
	if (probes_on) {
		probes(false);
		tracepoint_synchronize_unregister();
	}
	memset(&tr, 0, sizeof(tr));
	tr.opts = *opts;
	tr.on = opts->chrome || opts->ftrace;
	tr.det = deterministic;
	clock_gettime(CLOCK_MONOTONIC, &tr.t0);
	if (tr.on && probes(true))
		fprintf(stderr, "mmulab: trace: a probe did not register\n");
}

int trace_attach_mm(struct mm_struct *mm, const char *name)
{
	struct trace_mm *m;

	if (!tr.on)
		return 0;
	if (tr.nr_mms == TRACE_MAX_MMS)
		return -ENOSPC;
	m = &tr.mms[tr.nr_mms];
	memset(m, 0, sizeof(*m));
	m->mm = mm;
	snprintf(m->name, sizeof(m->name), "%s", name);
	/* Published after it is filled: probes read it without a lock. */
	OBSERVE_SET(tr.nr_mms, tr.nr_mms + 1);
	return 0;
}

void trace_attach_vm(struct guest *g)
{
	int m = mm_slot(g->mm);
	unsigned int i = tr.nr_vms;

	if (!tr.on || i == TRACE_MAX_VMS)
		return;
	snprintf(tr.vm_names[i], TRACE_NAME, "%s", g->name);
	tr.vm_mm[i] = m < 0 ? TRACE_MAX_MMS : (unsigned int)m;
	if (m >= 0)
		__atomic_fetch_add(&tr.mms[m].nr_vms, 1, __ATOMIC_RELAXED);
	OBSERVE_SET(tr.vm_kvm[i], g->kvm);
	OBSERVE_SET(tr.nr_vms, i + 1);
}

void trace_detach_vm(struct guest *g)
{
	for (unsigned int i = 0; i < tr.nr_vms; i++) {
		if (tr.vm_kvm[i] != g->kvm)
			continue;
		OBSERVE_SET(tr.vm_kvm[i], NULL);
		if (tr.vm_mm[i] < TRACE_MAX_MMS)
			__atomic_fetch_sub(&tr.mms[tr.vm_mm[i]].nr_vms, 1,
					   __ATOMIC_RELAXED);
	}
}

/*
 * The probes stay registered until trace_end(), outside the run: a
 * registration takes a lock, which in a seeded run is a scheduling point.
 */
void trace_detach_all(void)
{
	for (unsigned int i = 0; i < tr.nr_mms; i++)
		OBSERVE_SET(tr.mms[i].mm, NULL);
}

/* Marks are made by the scenario's own task, one at a time. */
void trace_mark(const char *text)
{
	size_t idx = (size_t)-1;
	char **marks;
	char *copy;

	if (!tr.on)
		return;
	copy = strdup(text);
	marks = realloc(tr.marks, (tr.nr_marks + 1) * sizeof(*marks));
	if (marks)
		tr.marks = marks;
	if (copy && marks) {
		idx = tr.nr_marks;
		tr.marks[tr.nr_marks++] = copy;
	} else {
		free(copy);
	}
	record(TE_MARK, 0, 0, idx, 0);
}

/* The track of @e: tracks in the order of their first event. */
static u32 track_of(const struct tev *e, int *hash)
{
	int *slot = &hash[(unsigned int)e->tid % TRACE_TID_HASH];
	struct track *k;

	if (*slot >= 0) {
		k = &tr.tracks[*slot];
		if (k->tid == e->tid && !strncmp(k->comm, e->comm, 16))
			return *slot;
	}
	for (unsigned int i = 0; i < tr.nr_tracks; i++) {
		k = &tr.tracks[i];
		if (k->tid == e->tid && !strncmp(k->comm, e->comm, 16))
			return *slot = i;
	}
	if (tr.nr_tracks == TRACE_MAX_TRACKS)
		return TRACE_MAX_TRACKS - 1; /* lumped together */
	k = &tr.tracks[tr.nr_tracks];
	k->tid = e->tid;
	memcpy(k->comm, e->comm, sizeof(k->comm));
	return *slot = tr.nr_tracks++;
}

/* The events in slot order in one array, each given its track. */
static void gather(void)
{
	size_t n = tr.claimed < TRACE_MAX_EVENTS ? tr.claimed :
						   TRACE_MAX_EVENTS;
	int hash[TRACE_TID_HASH];

	memset(hash, -1, sizeof(hash));
	tr.ev = malloc((n ? n : 1) * sizeof(*tr.ev));
	tr.nr_ev = 0;
	for (size_t i = 0; tr.ev && i < n; i++) {
		struct tev *c = tr.chunks[i / TRACE_CHUNK];
		struct tev *e = c ? &c[i % TRACE_CHUNK] : NULL;

		if (!e || !e->valid)
			continue;
		e->track = track_of(e, hash);
		tr.ev[tr.nr_ev++] = *e;
	}
	for (size_t i = 0; i < MMULAB_ARRAY_SIZE(tr.chunks); i++) {
		free(tr.chunks[i]);
		tr.chunks[i] = NULL;
	}
}

/* ---------------------------------------------------------------------
 * Chrome trace-event JSON
 */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *event_name(unsigned int e)
{
	const char *name = mmu_notifier_event_name(e);

	return name ? name : "?";
}

static const char *const instant_names[] = {
	[TE_CLEAR_FLUSH_YOUNG] = "clear_flush_young",
	[TE_CLEAR_YOUNG] = "clear_young",
	[TE_TEST_YOUNG] = "test_young",
	[TE_CHANGE_PTE] = "change_pte",
	[TE_RELEASE] = "release",
	[TE_TLB_FLUSH] = "tlb_flush",
	[TE_FAULT] = "kvm_page_fault",
	[TE_FAULT_GUP] = "fault: page referenced",
	[TE_FAULT_LOCKED] = "fault: mmu_lock held",
	[TE_MARK] = "step",
};

static const char *const instant_cats[] = {
	[TE_CLEAR_FLUSH_YOUNG] = "aging",
	[TE_CLEAR_YOUNG] = "aging",
	[TE_TEST_YOUNG] = "aging",
	[TE_CHANGE_PTE] = "change_pte",
	[TE_RELEASE] = "release",
	[TE_TLB_FLUSH] = "flush",
	[TE_FAULT] = "fault",
	[TE_FAULT_GUP] = "fault",
	[TE_FAULT_LOCKED] = "fault",
	[TE_MARK] = "step",
};

static void chrome_head(FILE *f, const struct tev *e, const char *ph,
			const char *name, const char *cat)
{
	fprintf(f, ",\n{\"ph\":\"%s\",\"pid\":1,\"tid\":%u,\"ts\":%llu.%03u,"
		   "\"name\":", ph, e->track + 1,
		(unsigned long long)(e->ts / 1000),
		(unsigned int)(e->ts % 1000));
	json_str(f, name);
	fprintf(f, ",\"cat\":\"%s\"", cat);
}

static const char *mm_name(unsigned int obj)
{
	return obj < tr.nr_mms ? tr.mms[obj].name : "?";
}

static void chrome_args(FILE *f, const struct tev *e)
{
	switch (e->type) {
	case TE_INV_START:
	case TE_CLEAR_FLUSH_YOUNG:
	case TE_CLEAR_YOUNG:
	case TE_TLB_FLUSH:
		fputs(",\"args\":{\"mm\":", f);
		json_str(f, mm_name(e->obj));
		fprintf(f, ",\"start\":\"%#llx\",\"end\":\"%#llx\"}",
			(unsigned long long)e->a, (unsigned long long)e->b);
		break;
	case TE_TEST_YOUNG:
	case TE_CHANGE_PTE:
		fputs(",\"args\":{\"mm\":", f);
		json_str(f, mm_name(e->obj));
		fprintf(f, ",\"address\":\"%#llx\"", (unsigned long long)e->a);
		if (e->type == TE_CHANGE_PTE)
			fprintf(f, ",\"pte\":\"%#llx\"",
				(unsigned long long)e->b);
		fputc('}', f);
		break;
	case TE_RELEASE:
		fputs(",\"args\":{\"mm\":", f);
		json_str(f, mm_name(e->obj));
		fputc('}', f);
		break;
	case TE_FAULT:
	case TE_FAULT_GUP:
	case TE_FAULT_LOCKED:
		fputs(",\"args\":{\"vm\":", f);
		json_str(f, e->obj < tr.nr_vms ? tr.vm_names[e->obj] : "?");
		fprintf(f, ",\"vcpu\":%llu,\"gpa\":\"%#llx\",\"write\":%s}",
			(unsigned long long)e->b, (unsigned long long)e->a,
			e->arg ? "true" : "false");
		break;
	case TE_MARK:
		fputs(",\"args\":{\"text\":", f);
		json_str(f, e->a < tr.nr_marks ? tr.marks[e->a] : "");
		fputc('}', f);
		break;
	}
}

/* Spans must nest on each track: drop an end with no open start. */
static void chrome_event(FILE *f, const struct tev *e, unsigned int *depth)
{
	switch (e->type) {
	case TE_INV_START:
		depth[e->track]++;
		chrome_head(f, e, "B", event_name(e->arg), "invalidate");
		chrome_args(f, e);
		break;
	case TE_INV_END:
		if (!depth[e->track])
			return;
		depth[e->track]--;
		chrome_head(f, e, "E", event_name(e->arg), "invalidate");
		break;
	default:
		chrome_head(f, e, "i", instant_names[e->type],
			    instant_cats[e->type]);
		fprintf(f, ",\"s\":\"%s\"", e->type == TE_MARK ? "p" : "t");
		chrome_args(f, e);
		break;
	}
	fputc('}', f);
}

static void chrome_write(FILE *f, const char *scenario)
{
	unsigned int *depth = calloc(TRACE_MAX_TRACKS, sizeof(*depth));
	u64 last = tr.nr_ev ? tr.ev[tr.nr_ev - 1].ts : 0;

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"version\":\"mmulab "
	      MMULAB_VERSION "\",\"scenario\":", f);
	json_str(f, scenario);
	fputs("},\n\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":1,\"name\":"
	      "\"process_name\",\"args\":{\"name\":", f);
	json_str(f, scenario);
	fputs("}}", f);
	for (unsigned int i = 0; i < tr.nr_tracks; i++) {
		fprintf(f, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":"
			   "\"thread_name\",\"args\":{\"name\":", i + 1);
		json_str(f, tr.tracks[i].comm);
		fputs("}}", f);
	}
	for (size_t i = 0; depth && i < tr.nr_ev; i++)
		chrome_event(f, &tr.ev[i], depth);
	/* The sampled series: a counter track per panel, beside the tasks. */
	sample_chrome_counters(f);
	/* Close what never ended (a run cut short). */
	for (unsigned int t = 0; depth && t < tr.nr_tracks; t++)
		while (depth[t]--)
			fprintf(f, ",\n{\"ph\":\"E\",\"pid\":1,\"tid\":%u,"
				   "\"ts\":%llu.%03u}", t + 1,
				(unsigned long long)(last / 1000),
				(unsigned int)(last % 1000));
	fputs("\n]}\n", f);
	free(depth);
}

/* ---------------------------------------------------------------------
 * ftrace
 */

static void ftrace_prefix(FILE *f, const struct tev *e)
{
	const struct track *k = &tr.tracks[e->track];

	fprintf(f, "%16s-%-7d [000] ..... %5llu.%06llu: ", k->comm, k->tid,
		(unsigned long long)(e->ts / 1000000000ULL),
		(unsigned long long)(e->ts / 1000 % 1000000));
}

/* The line of a KVM notifier tracepoint, or NULL if @e has none. */
static bool ftrace_kvm_line(const struct tev *e, char *buf, size_t len)
{
	unsigned long long a = e->a, b = e->b;

	switch (e->type) {
	case TE_INV_START:
		snprintf(buf, len, "kvm_unmap_hva_range: mmu notifier unmap "
				   "range: %#016llx -- %#016llx", a, b);
		return true;
	case TE_CLEAR_FLUSH_YOUNG:
	case TE_CLEAR_YOUNG:
		snprintf(buf, len, "kvm_age_hva: mmu notifier age hva: "
				   "%#016llx -- %#016llx", a, b);
		return true;
	case TE_TEST_YOUNG:
		snprintf(buf, len, "kvm_test_age_hva: mmu notifier test age "
				   "hva: %#016llx", a);
		return true;
	case TE_CHANGE_PTE:
		snprintf(buf, len, "kvm_set_spte_hva: mmu notifier set spte "
				   "hva: %#016llx", a);
		return true;
	default:
		return false;
	}
}

static void ftrace_event(FILE *f, const struct tev *e)
{
	char line[160];
	long pages;

	if (ftrace_kvm_line(e, line, sizeof(line))) {
		for (unsigned int i = 0; i < e->nr_vms; i++) {
			ftrace_prefix(f, e);
			fprintf(f, "%s\n", line);
		}
		return;
	}
	switch (e->type) {
	case TE_FAULT:
		ftrace_prefix(f, e);
		fprintf(f, "kvm_page_fault: vcpu %llu rip 0x0 address "
			   "0x%016llx error_code 0x%x\n",
			(unsigned long long)e->b, (unsigned long long)e->a,
			e->arg ? 0x2 : 0x0);
		break;
	case TE_TLB_FLUSH:
		pages = e->b - e->a >= TASK_SIZE ? -1 :
			(long)((e->b - e->a) >> PAGE_SHIFT);
		ftrace_prefix(f, e);
		fprintf(f, "tlb_flush: pages:%ld reason:local mm shootdown "
			   "(3)\n", pages);
		break;
	case TE_MARK:
		ftrace_prefix(f, e);
		fprintf(f, "tracing_mark_write: %s\n",
			e->a < tr.nr_marks ? tr.marks[e->a] : "");
		break;
	}
}

static void ftrace_write(FILE *f)
{
	fprintf(f, "# tracer: nop\n#\n"
		   "# entries-in-buffer/entries-written: %zu/%zu   #P:1\n#\n"
		   "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
		   "#              | |         |   |||||     |         |\n",
		tr.nr_ev, tr.nr_ev + tr.dropped);
	for (size_t i = 0; i < tr.nr_ev; i++)
		ftrace_event(f, &tr.ev[i]);
}

int trace_end(const char *scenario)
{
	int ret = 0;

	if (probes_on) {
		probes(false);
		tracepoint_synchronize_unregister();
	}
	gather();
	if (tr.opts.ftrace) {
		ftrace_write(tr.opts.ftrace);
		if (fflush(tr.opts.ftrace))
			ret = -EIO;
	}
	if (tr.opts.chrome) {
		chrome_write(tr.opts.chrome, scenario);
		if (fflush(tr.opts.chrome) || ferror(tr.opts.chrome))
			ret = -EIO;
	}
	if (tr.dropped)
		fprintf(stderr, "mmulab: trace: %lu events dropped (more than "
				"%lu)\n", tr.dropped, TRACE_MAX_EVENTS);
	for (size_t i = 0; i < tr.nr_marks; i++)
		free(tr.marks[i]);
	free(tr.marks);
	free(tr.ev);
	tr.marks = NULL;
	tr.ev = NULL;
	tr.on = false;
	return ret;
}
