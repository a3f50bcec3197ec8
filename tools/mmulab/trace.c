// SPDX-License-Identifier: MIT
/*
 * The recorder and the two trace writers.
 *
 * Events go into one array under one spinlock, in the order the tasks
 * took that lock, which is the order they happened in: every callback
 * records on the task that runs it, before it returns.  A track is a
 * (task id, task name) pair, so that a recycled task id shows up as a
 * new thread.
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

#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#include "mmulab.h"
#include "sample.h"
#include "trace.h"

#define TRACE_MAX_VMS REPORT_MAX_VMS
#define TRACE_MAX_TRACKS 4096
#define TRACE_TID_HASH 1024
#define TRACE_MAX_EVENTS (1UL << 22)
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
	TE_FAULT,		/* KVM_FAULT_SNAPSHOT: the exit */
	TE_FAULT_GUP,		/* KVM_FAULT_GUP_DONE */
	TE_FAULT_LOCKED,	/* KVM_FAULT_LOCKED */
	TE_MARK,
};

/**
 * struct tev - one event.
 * @ts: nanoseconds since trace_begin() (logical in seeded runs).
 * @a: start, address or gpa; mark index for TE_MARK.
 * @b: end, PTE value or vCPU id.
 * @track: index in tr.tracks.
 * @obj: index in tr.mms (notifier events) or tr.vms (faults).
 * @type: enum tev_type.
 * @arg: the mmu_notifier_event; for faults, 1 for a store.
 * @nr_vms: VMs the process had when the event happened.
 */
struct tev {
	u64 ts;
	u64 a;
	u64 b;
	u32 track;
	u16 obj;
	u8 type;
	u8 arg;
	u8 nr_vms;
};

struct track {
	int tid;
	char comm[16];
};

/**
 * struct trace_mm - the recorder's subscriptions on one process.
 * @mn: invalidations, aging, change_pte, release.
 * @tlb: secondary-TLB flushes (the core refuses them alongside start/end).
 * @mm: the process.
 * @name: its name in the scenario.
 * @nr_vms: VMs of this process being traced (under tr.lock).
 * @registered: @mn and @tlb are subscribed.
 */
struct trace_mm {
	struct mmu_notifier mn;
	struct mmu_notifier tlb;
	struct mm_struct *mm;
	char name[TRACE_NAME];
	unsigned int nr_vms;
	bool registered;
};

static struct {
	spinlock_t lock;
	bool on;
	bool det;
	struct trace_opts opts;
	struct timespec t0;
	u64 seq;
	struct tev *ev;
	size_t nr_ev;
	size_t cap_ev;
	unsigned long dropped;
	unsigned int nr_tracks;
	struct track tracks[TRACE_MAX_TRACKS];
	int track_of_tid[TRACE_TID_HASH];
	unsigned int nr_mms;
	struct trace_mm mms[TRACE_MAX_MMS];
	unsigned int nr_vms;
	struct guest *vms[TRACE_MAX_VMS];
	char vm_names[TRACE_MAX_VMS][TRACE_NAME];
	unsigned int vm_mm[TRACE_MAX_VMS];
	size_t nr_marks;
	char **marks;
} tr;

/* ---------------------------------------------------------------------
 * Recording
 */

static u64 now_ns(void)
{
	struct timespec t;

	if (tr.det)
		return ++tr.seq * 1000;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (u64)(t.tv_sec - tr.t0.tv_sec) * 1000000000ULL + t.tv_nsec -
	       tr.t0.tv_nsec;
}

u64 trace_now_ns(void)
{
	return tr.det ? tr.seq * 1000 : now_ns();
}

/* The track of the calling task; under tr.lock. */
static u32 current_track(void)
{
	struct task_struct *t = current;
	int tid = task_pid(t);
	const char *comm = task_comm(t);
	int *slot = &tr.track_of_tid[(unsigned int)tid % TRACE_TID_HASH];
	struct track *k;

	if (*slot >= 0) {
		k = &tr.tracks[*slot];
		if (k->tid == tid && !strncmp(k->comm, comm, sizeof(k->comm)))
			return *slot;
	}
	for (unsigned int i = 0; i < tr.nr_tracks; i++) {
		k = &tr.tracks[i];
		if (k->tid == tid && !strncmp(k->comm, comm, sizeof(k->comm)))
			return *slot = i;
	}
	if (tr.nr_tracks == TRACE_MAX_TRACKS)
		return TRACE_MAX_TRACKS - 1; /* lumped together */
	k = &tr.tracks[tr.nr_tracks];
	k->tid = tid;
	snprintf(k->comm, sizeof(k->comm), "%s", comm);
	return *slot = tr.nr_tracks++;
}

static struct tev *append(void)
{
	if (tr.nr_ev == tr.cap_ev) {
		size_t cap = tr.cap_ev ? tr.cap_ev * 2 : 4096;
		struct tev *ev;

		if (cap > TRACE_MAX_EVENTS ||
		    !(ev = realloc(tr.ev, cap * sizeof(*ev)))) {
			tr.dropped++;
			return NULL;
		}
		tr.ev = ev;
		tr.cap_ev = cap;
	}
	return &tr.ev[tr.nr_ev++];
}

/*
 * Untraced runs skip the lock, except in a seeded run: there the lock is
 * a scheduling point, and a traced run must take the same ones.
 */
static void record(enum tev_type type, unsigned int obj, unsigned int arg,
		   u64 a, u64 b)
{
	struct tev *e;

	if (!tr.on && !det_active())
		return;
	spin_lock(&tr.lock);
	if (tr.on && (e = append())) {
		e->ts = now_ns();
		e->a = a;
		e->b = b;
		e->track = current_track();
		e->obj = obj;
		e->type = type;
		e->arg = arg;
		e->nr_vms = type < TE_FAULT && obj < TRACE_MAX_MMS ?
				    tr.mms[obj].nr_vms : 0;
	}
	spin_unlock(&tr.lock);
}

static unsigned int mm_slot(struct mmu_notifier *mn, bool tlb)
{
	struct trace_mm *m = tlb ? container_of(mn, struct trace_mm, tlb) :
				   container_of(mn, struct trace_mm, mn);

	return m - tr.mms;
}

static void rec_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	(void)mm;
	record(TE_RELEASE, mm_slot(mn, false), 0, 0, 0);
}

static int rec_start(struct mmu_notifier *mn,
		     const struct mmu_notifier_range *range)
{
	record(TE_INV_START, mm_slot(mn, false), range->event, range->start,
	       range->end);
	return 0;
}

static void rec_end(struct mmu_notifier *mn,
		    const struct mmu_notifier_range *range)
{
	record(TE_INV_END, mm_slot(mn, false), range->event, range->start,
	       range->end);
}

static int rec_clear_flush_young(struct mmu_notifier *mn,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	(void)mm;
	record(TE_CLEAR_FLUSH_YOUNG, mm_slot(mn, false), 0, start, end);
	return 0;
}

static int rec_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			   unsigned long start, unsigned long end)
{
	(void)mm;
	record(TE_CLEAR_YOUNG, mm_slot(mn, false), 0, start, end);
	return 0;
}

static int rec_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			  unsigned long address)
{
	(void)mm;
	record(TE_TEST_YOUNG, mm_slot(mn, false), 0, address, 0);
	return 0;
}

static void rec_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			   unsigned long address, pte_t pte)
{
	(void)mm;
	record(TE_CHANGE_PTE, mm_slot(mn, false), 0, address, pte_val(pte));
}

static void rec_tlb(struct mmu_notifier *mn, struct mm_struct *mm,
		    unsigned long start, unsigned long end)
{
	(void)mm;
	record(TE_TLB_FLUSH, mm_slot(mn, true), 0, start, end);
}

static const struct mmu_notifier_ops rec_ops = {
	.release = rec_release,
	.clear_flush_young = rec_clear_flush_young,
	.clear_young = rec_clear_young,
	.test_young = rec_test_young,
	.change_pte = rec_change_pte,
	.invalidate_range_start = rec_start,
	.invalidate_range_end = rec_end,
};

static const struct mmu_notifier_ops rec_tlb_ops = {
	.arch_invalidate_secondary_tlbs = rec_tlb,
};

static void rec_fault(struct kvm_vcpu *vcpu, enum kvm_fault_stage stage,
		      gpa_t gpa, void *arg)
{
	unsigned int vm = (unsigned int)(uintptr_t)arg;
	int id = kvm_vcpu_id(vcpu);
	/* Written by this very thread before the access; no lock needed. */
	bool write = id >= 0 && id < GUEST_MAX_VCPUS &&
		     tr.vms[vm]->vcpu_write[id];

	record(TE_FAULT + stage, vm, write, gpa, id);
}

/* ---------------------------------------------------------------------
 * Attaching
 */

void trace_begin(const struct trace_opts *opts, bool deterministic)
{
	memset(&tr, 0, sizeof(tr));
	spin_lock_init(&tr.lock);
	tr.opts = *opts;
	tr.on = opts->chrome || opts->ftrace;
	tr.det = deterministic;
	memset(tr.track_of_tid, -1, sizeof(tr.track_of_tid));
	clock_gettime(CLOCK_MONOTONIC, &tr.t0);
}

int trace_attach_mm(struct mm_struct *mm, const char *name)
{
	struct trace_mm *m;
	int ret;

	if (tr.nr_mms == TRACE_MAX_MMS)
		return -ENOSPC;
	m = &tr.mms[tr.nr_mms];
	memset(m, 0, sizeof(*m));
	m->mm = mm;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->mn.ops = &rec_ops;
	m->tlb.ops = &rec_tlb_ops;
	ret = mmu_notifier_register(&m->mn, mm);
	if (ret)
		return ret;
	ret = mmu_notifier_register(&m->tlb, mm);
	if (ret) {
		mmu_notifier_unregister(&m->mn, mm);
		return ret;
	}
	m->registered = true;
	tr.nr_mms++;
	return 0;
}

static int find_mm(const struct mm_struct *mm)
{
	for (unsigned int i = 0; i < tr.nr_mms; i++)
		if (tr.mms[i].mm == mm && tr.mms[i].registered)
			return i;
	return -1;
}

void trace_attach_vm(struct guest *g)
{
	int m = find_mm(g->mm);
	unsigned int i = tr.nr_vms;

	if (i == TRACE_MAX_VMS)
		return;
	tr.vms[i] = g;
	snprintf(tr.vm_names[i], TRACE_NAME, "%s", g->name);
	tr.vm_mm[i] = m < 0 ? TRACE_MAX_MMS : (unsigned int)m;
	tr.nr_vms++;
	spin_lock(&tr.lock);
	if (m >= 0)
		tr.mms[m].nr_vms++;
	spin_unlock(&tr.lock);
	kvm_set_fault_hook(g->kvm, rec_fault, (void *)(uintptr_t)i);
}

void trace_detach_vm(struct guest *g)
{
	for (unsigned int i = 0; i < tr.nr_vms; i++) {
		if (tr.vms[i] != g)
			continue;
		kvm_set_fault_hook(g->kvm, NULL, NULL);
		spin_lock(&tr.lock);
		if (tr.vm_mm[i] < TRACE_MAX_MMS)
			tr.mms[tr.vm_mm[i]].nr_vms--;
		spin_unlock(&tr.lock);
		tr.vms[i] = NULL;
	}
}

void trace_detach_all(void)
{
	for (unsigned int i = 0; i < tr.nr_mms; i++) {
		struct trace_mm *m = &tr.mms[i];

		if (!m->registered)
			continue;
		mmu_notifier_unregister(&m->tlb, m->mm);
		mmu_notifier_unregister(&m->mn, m->mm);
		m->registered = false;
	}
}

/* The mark is recorded untraced too: it takes the lock like the rest. */
void trace_mark(const char *text)
{
	size_t idx = (size_t)-1;
	char **marks;
	char *copy;

	if (tr.on) {
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
	}
	record(TE_MARK, 0, 0, idx, 0);
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
