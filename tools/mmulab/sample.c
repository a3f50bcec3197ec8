// SPDX-License-Identifier: MIT
/*
 * The sampler: what it reads from each subject, and the bounded store of
 * samples.  The writers (JSON, trace counters, gnuplot) are in
 * sample_out.c.
 *
 * A sample is a time and one value per series of every subject; a
 * subject not alive at that time has SAMPLE_NONE there.  The registry and
 * the store are under sm.lock, except in a seeded run: there exactly one
 * task runs at a time and the sampler runs on it, and a lock would be a
 * scheduling point.
 */
#include <string.h>
#include <time.h>

#include "sample_int.h"
#include "trace.h"

struct sampler sm;

static const char *host_cols[SAMPLE_HOST_COLS] = {
	"frames_used", "frames_free", "swapped", "pages_shared",
	"pages_sharing",
};

static const char *const vm_cols[] = {
	"pages_4k",	"pf_taken",	"pf_fixed",	"pf_retry_in_progress",
	"pf_retry_seq", "pf_retry_race", "tlb_flushes",
};

static const char *const dmirror_cols[] = {
	"faults", "retries", "invalidations", "zapped",
};

static const char *const gru_cols[] = {
	"valid", "tlb_faults", "fills_dropped", "flushes",
};

static const char *const xpmem_cols[] = {
	"faults", "fills_dropped", "invalidations", "dropped",
};

/* ---------------------------------------------------------------------
 * Reading a subject
 */

static void read_host(const struct sample_subject *s, unsigned long *v)
{
	struct host *host = s->obj;
	struct host_meminfo mi;
	struct ksm_stats ks;

	host_observe_meminfo(host, &mi);
	if (sm.det)
		ksm_observe_stats(host, &ks);
	else
		ksm_get_stats(host, &ks);
	v[0] = mi.total - mi.free;
	v[1] = mi.free;
	/* Pages whose only copy is in swap: slots in use, less the cache. */
	v[2] = mi.swap_total - mi.swap_free - mi.swap_cache;
	v[3] = ks.pages_shared;
	v[4] = ks.pages_sharing;
	host_notify_events(host, v + SAMPLE_HOST_MEM_COLS,
			   MMU_NOTIFY_NR_EVENTS);
}

static void read_vm(const struct sample_subject *s, unsigned long *v)
{
	unsigned int n = OBSERVE_ONCE(*s->nr_vcpus);
	struct kvm_vm_stat vs;

	kvm_get_vm_stat(s->obj, &vs);
	memset(v, 0, MMULAB_ARRAY_SIZE(vm_cols) * sizeof(*v));
	v[0] = vs.pages_4k;
	for (unsigned int i = 0; i < n; i++) {
		struct kvm_vcpu_stat cs;

		kvm_get_vcpu_stat(s->vcpus[i], &cs);
		v[1] += cs.pf_taken;
		v[2] += cs.pf_fixed;
		v[3] += cs.pf_retry_in_progress;
		v[4] += cs.pf_retry_seq;
		v[5] += cs.pf_retry_race;
		v[6] += cs.tlb_flushes;
	}
}

static void read_dmirror(const struct sample_subject *s, unsigned long *v)
{
	struct dmirror_stat st;

	dmirror_observe_stat(s->obj, &st);
	v[0] = st.faults;
	v[1] = st.retries;
	v[2] = st.invalidations;
	v[3] = st.zapped;
}

static void read_gru(const struct sample_subject *s, unsigned long *v)
{
	struct gru_stat st;

	if (sm.det) {
		v[0] = gru_observe_stat(s->obj, &st);
	} else {
		v[0] = gru_tlb_valid(s->obj);
		gru_get_stat(s->obj, &st);
	}
	v[1] = st.tlb_faults;
	v[2] = st.fills_dropped;
	v[3] = st.flushes;
}

static void read_xpmem(const struct sample_subject *s, unsigned long *v)
{
	struct xpmem_stat st;

	if (sm.det)
		xpmem_observe_stat(s->obj, &st);
	else
		xpmem_get_stat(s->obj, &st);
	v[0] = st.faults;
	v[1] = st.fills_dropped;
	v[2] = st.invalidations;
	v[3] = st.dropped;
}

/* Subject kinds: series names, panels and reader. */
const struct sample_kind sample_kinds[NR_SAMPLE_KINDS] = {
	[SAMPLE_HOST] = { "host", host_cols, SAMPLE_HOST_COLS, 2,
			  { { "frames, swap and KSM", 0, SAMPLE_HOST_MEM_COLS },
			    { "invalidations started",
			      SAMPLE_HOST_MEM_COLS, MMU_NOTIFY_NR_EVENTS } },
			  read_host },
	[SAMPLE_VM] = { "vm", vm_cols, MMULAB_ARRAY_SIZE(vm_cols), 1,
			{ { "SPTEs present, faults, retries by reason, TLB "
			    "flushes", 0, MMULAB_ARRAY_SIZE(vm_cols) } },
			read_vm },
	[SAMPLE_DMIRROR] = { "mirror", dmirror_cols,
			     MMULAB_ARRAY_SIZE(dmirror_cols), 1,
			     { { "faults and invalidations", 0,
				 MMULAB_ARRAY_SIZE(dmirror_cols) } },
			     read_dmirror },
	[SAMPLE_GRU] = { "gru", gru_cols, MMULAB_ARRAY_SIZE(gru_cols), 1,
			 { { "valid TLB entries, faults and flushes", 0,
			     MMULAB_ARRAY_SIZE(gru_cols) } },
			 read_gru },
	[SAMPLE_XPMEM] = { "xpmem", xpmem_cols, MMULAB_ARRAY_SIZE(xpmem_cols),
			   1, { { "remote faults and invalidations", 0,
				  MMULAB_ARRAY_SIZE(xpmem_cols) } },
			   read_xpmem },
};

/* ---------------------------------------------------------------------
 * The store
 */

static unsigned long wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - sm.t0.tv_sec) * 1000000UL +
	       (t.tv_nsec - sm.t0.tv_nsec) / 1000;
}

/* Keep every other sample; sample at half the rate from now on. */
static void decimate(void)
{
	for (unsigned int i = 0; i < SAMPLE_MAX / 2; i++) {
		sm.t[i] = sm.t[2 * i];
		sm.ts_ns[i] = sm.ts_ns[2 * i];
		memcpy(sm.v[i], sm.v[2 * i], sizeof(sm.v[i]));
	}
	sm.nr = SAMPLE_MAX / 2;
	sm.interval *= 2;
	sm.decimations++;
}

/* One sample of every live subject at time @t; under sm.lock if any. */
static void take(unsigned long t)
{
	unsigned long *v;
	u64 ts = trace_now_ns();

	if (sm.nr == SAMPLE_MAX)
		decimate();
	if (sm.nr && ts <= sm.ts_ns[sm.nr - 1])
		ts = sm.ts_ns[sm.nr - 1] + 1;
	v = sm.v[sm.nr];
	memset(v, 0xff, sizeof(sm.v[0])); /* SAMPLE_NONE */
	for (unsigned int i = 0; i < sm.nr_subjects; i++) {
		const struct sample_subject *s = &sm.subj[i];

		if (s->live)
			sample_kinds[s->kind].read(s, v + s->col);
	}
	sm.t[sm.nr] = t;
	sm.ts_ns[sm.nr] = ts;
	sm.nr++;
}

static unsigned long now_t(void)
{
	return sm.det ? sm.step : wall_us();
}

static void lock(void)
{
	if (!sm.det)
		mutex_lock(&sm.lock);
}

static void unlock(void)
{
	if (!sm.det)
		mutex_unlock(&sm.lock);
}

/* At each scheduling point of a seeded run, on the running task. */
static void observe(unsigned long step, void *arg)
{
	(void)arg;
	sm.step = step;
	if (step < sm.next_at)
		return;
	take(step);
	sm.next_at = step + sm.interval;
}

/* The sampler task of a run that is not seeded. */
static int sampler_fn(void *arg)
{
	(void)arg;
	while (!kthread_should_stop()) {
		struct timespec d;
		unsigned long us;

		lock();
		us = sm.interval;
		take(wall_us());
		unlock();
		d.tv_sec = us / 1000000;
		d.tv_nsec = us % 1000000 * 1000;
		nanosleep(&d, NULL);
	}
	return 0;
}

/*
 * Between two statements of a run that is not seeded: what a statement
 * left behind is in the series even when the sampler task did not get a
 * CPU meanwhile (a loaded machine).  A seeded run samples at scheduling
 * points already.
 */
void sample_point(void)
{
	if (!sm.on || sm.det)
		return;
	lock();
	take(wall_us());
	unlock();
}

/* Interval of a seeded run in points, otherwise in microseconds. */
#define SAMPLE_DET_INTERVAL 8
#define SAMPLE_WALL_INTERVAL_US 200

int sample_begin(bool deterministic)
{
	memset(&sm, 0, sizeof(sm));
	mutex_init(&sm.lock);
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		host_cols[SAMPLE_HOST_MEM_COLS + e] =
			mmu_notifier_event_name(e) ?: "?";
	sm.det = deterministic;
	sm.on = true;
	clock_gettime(CLOCK_MONOTONIC, &sm.t0);
	if (deterministic) {
		sm.interval = SAMPLE_DET_INTERVAL;
		det_set_observer(observe, NULL);
		return 0;
	}
	sm.interval = SAMPLE_WALL_INTERVAL_US;
	sm.task = kthread_run(sampler_fn, NULL, "sampler");
	if (IS_ERR(sm.task)) {
		sm.on = false;
		return PTR_ERR(sm.task);
	}
	return 0;
}

void sample_end(void)
{
	if (!sm.on)
		return;
	if (sm.det)
		det_set_observer(NULL, NULL);
	else
		kthread_stop(sm.task);
	for (unsigned int i = 0; i < sm.nr_subjects; i++)
		sm.subj[i].live = false;
	sm.on = false;
}

static void add(enum sample_kind_id kind, void *obj, const char *name,
		struct kvm_vcpu *const *vcpus, const unsigned int *nr_vcpus)
{
	unsigned int cols = sample_kinds[kind].nr_cols;
	struct sample_subject *s;

	if (!sm.on)
		return;
	lock();
	if (sm.nr_subjects < SAMPLE_MAX_SUBJECTS &&
	    sm.nr_cols + cols <= SAMPLE_MAX_COLS) {
		s = &sm.subj[sm.nr_subjects];
		s->kind = kind;
		s->obj = obj;
		s->vcpus = vcpus;
		s->nr_vcpus = nr_vcpus;
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->col = sm.nr_cols;
		sm.nr_cols += cols;
		s->live = true;
		sm.nr_subjects++;
		take(now_t());
	} else {
		sm.subjects_dropped++;
	}
	unlock();
}

void sample_add_host(struct host *host, const char *name)
{
	add(SAMPLE_HOST, host, name, NULL, NULL);
}

void sample_add_vm(struct kvm *kvm, const char *name,
		   struct kvm_vcpu *const *vcpus, const unsigned int *nr_vcpus)
{
	add(SAMPLE_VM, kvm, name, vcpus, nr_vcpus);
}

void sample_add_dmirror(struct dmirror *dm, const char *name)
{
	add(SAMPLE_DMIRROR, dm, name, NULL, NULL);
}

void sample_add_gru(struct gru_thread_state *gts, const char *name)
{
	add(SAMPLE_GRU, gts, name, NULL, NULL);
}

void sample_add_xpmem(struct xpmem_segment *seg, const char *name)
{
	add(SAMPLE_XPMEM, seg, name, NULL, NULL);
}

void sample_remove(const void *obj)
{
	if (!sm.on)
		return;
	lock();
	for (unsigned int i = 0; i < sm.nr_subjects; i++) {
		if (sm.subj[i].obj != obj || !sm.subj[i].live)
			continue;
		take(now_t());
		sm.subj[i].live = false;
	}
	unlock();
}

unsigned int sample_count(void)
{
	return sm.nr;
}
