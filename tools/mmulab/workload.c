// SPDX-License-Identifier: MIT
/*
 * Concurrent workloads: the threads between `workload` and `end`, each a
 * task of its own, started together and waited for.
 *
 *  - guest VCPU: guest loads and stores through one vCPU over a range of
 *    guest-physical pages;
 *  - cpu PROCESS REGION: the same through the host CPU over a region;
 *  - churn PROCESS REGION: host operations on random spans of a region,
 *    each leaving the region as it found it: munmap then mmap back,
 *    mprotect read-only then back, MADV_DONTNEED, fork (the child writes
 *    one page and exits), or a host store;
 *  - gru GRU REGION: device loads and stores through a GRU context's TLB
 *    over a region of its process;
 *  - xpmem SEGMENT PROCESS: PROCESS attaches an exported segment (in the
 *    thread's own task, so its service task is scheduled like the
 *    others), loads and stores through it, and detaches.
 *
 * Nobody knows the interleaving, so values are checked by what they
 * name: every store writes a value that names the host page it was meant
 * for (its host virtual page number), and a load must return zero, what
 * the page held when the workload began, or a value naming that very
 * page.  A stale secondary mapping onto a frame since reused for another
 * page shows up as a value naming the wrong page.  Accesses the host
 * refuses (a hole left by munmap, a read-only window) are counted, not
 * failed.
 *
 * Each thread's accesses follow a pseudo-random stream seeded by the
 * workload's seed and the thread's position, so the accesses are the
 * same from run to run; only the interleaving differs, unless the run is
 * seeded (--seed), in which case it is the same too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mmulab/gru.h>
#include <mmulab/kvm.h>
#include <mmulab/sched.h>
#include <mmulab/xpmem.h>

#include "churn.h"
#include "interrupt.h"
#include "mmulab.h"
#include "progress.h"
#include "script.h"

#define WL_POLL_MS 1
#define WL_PACE_SLICE_MS 10
#define WL_PROGRESS_EVERY 64	/* ops between progress updates */
#define VALUE_MAGIC 0xa5ULL
/* Importer processes store in the same format (<mmulab/xpmem.h>). */
_Static_assert(VALUE_MAGIC == XPMEM_VALUE_MAGIC, "one value format");

struct workload;

/**
 * struct wl_before - what pages held when a workload began: an open
 * addressing hash of page index to word 0, holding only the pages whose
 * word was not zero, so its size follows what the range holds, not the
 * range (a thread over a 1 TiB region of a few pages costs a few words).
 * @key: page index + 1 per slot (0: empty).
 * @val: the word.
 * @cap: slots (a power of two, or 0).
 * @nr: slots used.
 */
struct wl_before {
	u64 *key;
	u64 *val;
	unsigned long cap, nr;
};

/**
 * struct wl_thread - one thread of a workload.
 * @wl: its workload.
 * @st: its statement.
 * @id: its position in the workload, from 1 (written into values).
 * @limit: operations to do; 0 for as many as the duration allows.
 * @rate: operations per second to pace to; 0 for as fast as possible.
 * @rng: the pseudo-random state.
 * @mm: the process (cpu, churn), or the VM's (guest).
 * @g: the VM and @vcpu its vCPU (guest).
 * @gts: the GRU context (gru).
 * @seg: the segment, @att its attachment while the thread runs (xpmem).
 * @importer: the importing process (xpmem).
 * @base: first address: gpa (guest) or host address (cpu, churn).
 * @npages: pages from @base.
 * @reads: percentage of loads.
 * @pattern: enum access_pattern; @theta its zipf exponent.
 * @before: word 0 of each page that held a value when the workload began.
 * @weights: churn: the generator's weights (the language's eight first).
 * @churn: churn: the generator's setting (the range, pages per operation).
 * @region: churn: the region (its protection and flags).
 * @out: where its counts go.
 * @task: its task.
 * @end_ns: when it finished (not in seeded runs).
 */
struct wl_thread {
	struct workload *wl;
	const struct stmt *st;
	unsigned int id;
	u64 limit;
	u64 rate;
	u64 rng;
	struct mm_struct *mm;
	struct guest *g;
	unsigned int vcpu;
	struct gru_thread_state *gts;
	struct xpmem_segment *seg;
	struct xpmem_attachment *att;
	struct mm_struct *importer;
	u64 base;
	unsigned long npages;
	unsigned int reads;
	unsigned int pattern;
	double theta;
	struct wl_before before;
	unsigned int weights[NR_CHURN];
	struct churn churn;
	const struct rt_obj *region;
	struct report_thread *out;
	struct task_struct *task;
	u64 end_ns;
};

/**
 * struct workload - one run of a workload block.
 * @rt: the script's state.
 * @stop: set when the duration is over.
 * @running: threads that have not finished.
 * @progress: operations done, summed over the threads.
 * @total: operations to do (0 for a duration).
 * @duration_ns: its duration (0 for an operation count).
 * @nr: threads in @th.
 * @th: the threads.
 * @spare: counts of threads the report has no room for.
 */
struct workload {
	struct rt *rt;
	int stop;
	atomic_t running;
	atomic_long_t progress;
	u64 total;
	u64 duration_ns;
	unsigned int nr;
	struct wl_thread th[SCRIPT_MAX_THREADS];
	struct report_thread spare[SCRIPT_MAX_THREADS];
};

/* ---------------------------------------------------------------------
 * Streams and values
 */

u64 splitmix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

u64 prandom_next(u64 *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

static u64 next_rand(struct wl_thread *t)
{
	return prandom_next(&t->rng);
}

/* Uniform in [0, 1). */
static double next_unit(struct wl_thread *t)
{
	return (next_rand(t) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * Zipf-like: page k (from 0) is drawn with probability about
 * proportional to 1 / (k + 1)^theta, by inverting the continuous
 * distribution on [1, n + 1).  Page 0 is the hottest.
 */
static unsigned long zipf_page(struct wl_thread *t)
{
	double n = t->npages, u = next_unit(t), x;

	if (fabs(t->theta - 1.0) < 1e-9)
		x = exp(u * log(n + 1));
	else
		x = pow((pow(n + 1, 1 - t->theta) - 1) * u + 1,
			1 / (1 - t->theta));
	if (x < 1)
		x = 1;
	return (unsigned long)x - 1 < t->npages ? (unsigned long)x - 1 :
						  t->npages - 1;
}

static unsigned long pick_page(struct wl_thread *t, u64 op)
{
	switch (t->pattern) {
	case PAT_SEQ:
		return op % t->npages;
	case PAT_ZIPF:
		return zipf_page(t);
	default:
		return next_rand(t) % t->npages;
	}
}

/* A value naming host page @hpage, written by thread @id. */
static u64 wl_value(unsigned long hpage, unsigned int id, u64 op)
{
	return VALUE_MAGIC << 56 | (u64)(hpage & 0xffffffffffULL) << 16 |
	       (u64)(id & 0xff) << 8 | (op & 0xff);
}

/* The slot of @page in @b: where it is, or the empty one it would take. */
static unsigned long before_slot(const struct wl_before *b, u64 page)
{
	unsigned long i = splitmix64(page) & (b->cap - 1);

	while (b->key[i] && b->key[i] != page + 1)
		i = (i + 1) & (b->cap - 1);
	return i;
}

static u64 before_get(const struct wl_before *b, u64 page)
{
	unsigned long i;

	if (!b->nr)
		return 0;
	i = before_slot(b, page);
	return b->key[i] ? b->val[i] : 0;
}

static bool before_grow(struct wl_before *b)
{
	struct wl_before n = { NULL, NULL, b->cap ? 2 * b->cap : 64, 0 };

	n.key = calloc(n.cap, sizeof(*n.key));
	n.val = calloc(n.cap, sizeof(*n.val));
	if (!n.key || !n.val) {
		free(n.key);
		free(n.val);
		return false;
	}
	for (unsigned long i = 0; i < b->cap; i++) {
		unsigned long j;

		if (!b->key[i])
			continue;
		j = before_slot(&n, b->key[i] - 1);
		n.key[j] = b->key[i];
		n.val[j] = b->val[i];
		n.nr++;
	}
	free(b->key);
	free(b->val);
	*b = n;
	return true;
}

/* Remember that @page held @val; zero needs no entry.  False on ENOMEM. */
static bool before_put(struct wl_before *b, u64 page, u64 val)
{
	unsigned long i;

	if (!val)
		return true;
	if (2 * (b->nr + 1) > b->cap && !before_grow(b))
		return false;
	i = before_slot(b, page);
	b->nr += !b->key[i];
	b->key[i] = page + 1;
	b->val[i] = val;
	return true;
}

static void before_free(struct wl_before *b)
{
	free(b->key);
	free(b->val);
	*b = (struct wl_before){ 0 };
}

static bool wl_value_ok(const struct wl_thread *t, unsigned long page,
			unsigned long hpage, u64 val)
{
	return !val || val == before_get(&t->before, page) ||
	       (val >> 56 == VALUE_MAGIC &&
		(val >> 16 & 0xffffffffffULL) == (hpage & 0xffffffffffULL));
}

static void count(struct wl_thread *t, enum report_thread_count c)
{
	t->out->count[c]++;
}

/* ---------------------------------------------------------------------
 * Thread bodies: one operation each
 */

static void bad_result(struct wl_thread *t, const char *what, u64 addr,
		       int ret, u64 val)
{
	report_check(t->wl->rt->r, false, "line %u: %s %#llx: %s %#llx",
		     t->st->line, what, (unsigned long long)addr,
		     ret == KVM_EXIT_MMIO ? "MMIO exit" : errno_name(ret),
		     (unsigned long long)val);
}

/* Count what an access returned; false if it was not allowed. */
static bool access_result(struct wl_thread *t, int ret)
{
	/* An importer whose exporter exited sees -ENOENT: a refusal too. */
	if (ret == -EFAULT || (ret == -ENOENT && t->att))
		count(t, RT_FAULTS);
	else if (ret == KVM_EXIT_MMIO && t->g)
		count(t, RT_MMIO);
	else if (ret)
		return false;
	return true;
}

static void access_op(struct wl_thread *t, u64 op)
{
	unsigned long page = pick_page(t, op);
	u64 addr = t->base + (u64)page * PAGE_SIZE, val = 0;
	unsigned long hva = t->g ? guest_gpa_to_hva(t->g, addr) : addr;
	bool read = next_rand(t) % 100 < t->reads;
	int ret;

	if (read) {
		count(t, RT_READS);
		ret = t->g     ? guest_read(t->g, t->vcpu, addr, &val) :
		      t->gts ? gru_read_u64(t->gts, addr, &val) :
		      t->att ? xpmem_read_u64(t->att, addr - t->base, &val) :
			       cpu_read_u64(t->mm, addr, &val);
	} else {
		count(t, RT_WRITES);
		val = wl_value(hva >> PAGE_SHIFT, t->id, op);
		ret = t->g     ? guest_write(t->g, t->vcpu, addr, val) :
		      t->gts ? gru_write_u64(t->gts, addr, val) :
		      t->att ? xpmem_write_u64(t->att, addr - t->base, val) :
			       cpu_write_u64(t->mm, addr, val);
	}
	if (!access_result(t, ret))
		bad_result(t, read ? "load" : "store", addr, ret, val);
	else if (!ret && read && !wl_value_ok(t, page, hva >> PAGE_SHIFT, val))
		bad_result(t, "load returned another page's value at", addr,
			   ret, val);
	else
		report_check(t->wl->rt->r, true, "%s", "");
}

static struct wl_thread *churn_thread(struct churn *c)
{
	return c->priv;
}

static u64 churn_rand(struct churn *c)
{
	return next_rand(churn_thread(c));
}

/* Each operation's column of the report. */
static void churn_count(struct churn *c, enum churn_op op)
{
	static const enum report_thread_count col[NR_CHURN] = {
		[CHURN_MUNMAP] = RT_MUNMAP,	[CHURN_MPROTECT] = RT_MPROTECT,
		[CHURN_DONTNEED] = RT_MADVISE,	[CHURN_FORK] = RT_FORK,
		[CHURN_STORE] = RT_HOST_WRITE,	[CHURN_MIGRATE] = RT_MIGRATE,
		[CHURN_KSM] = RT_KSM,		[CHURN_RECLAIM] = RT_RECLAIM,
	};

	count(churn_thread(c), col[op]);
}

static bool churn_check(struct churn *c, const char *what, u64 addr,
			long ret, long want)
{
	struct wl_thread *t = churn_thread(c);

	if (ret == want)
		return true;
	report_check(t->wl->rt->r, false, "line %u: churn: %s %#llx: %s",
		     t->st->line, what, (unsigned long long)addr,
		     errno_name(ret < 0 ? ret : 0));
	return false;
}

static void churn_fault(struct churn *c)
{
	count(churn_thread(c), RT_FAULTS);
}

static u64 churn_value(struct churn *c, u64 addr, u64 op)
{
	return wl_value(addr >> PAGE_SHIFT, churn_thread(c)->id, op);
}

static long churn_remap(struct churn *c, u64 addr, u64 len)
{
	return rt_region_mmap(churn_thread(c)->region, c->mm, addr, len);
}

static const struct churn_ops wl_churn_ops = {
	.rand = churn_rand,
	.note = churn_count,
	.check = churn_check,
	.fault = churn_fault,
	.value = churn_value,
	.remap = churn_remap,
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Sleep while more than a millisecond ahead of @rate, in slices short
 * enough to notice the end of a timed workload.  Not in a seeded run,
 * which has no clock.
 */
static void pace(struct wl_thread *t, u64 t0, u64 done)
{
	u64 due, now;

	if (!t->rate || det_active())
		return;
	due = t0 + done * 1000000000ULL / t->rate;
	for (now = now_ns(); due > now + 1000000; now = now_ns()) {
		if ((t->wl->duration_ns && READ_ONCE(t->wl->stop)) ||
		    interrupted())
			return;
		u64 ms = (due - now) / 1000000;

		msleep(ms < WL_PACE_SLICE_MS ? ms : WL_PACE_SLICE_MS);
	}
}

static int wl_thread_fn(void *data)
{
	struct wl_thread *t = data;
	struct workload *wl = t->wl;
	u64 t0 = now_ns(), op;

	if (t->seg) {
		t->att = xpmem_attach(t->seg, t->importer);
		if (IS_ERR(t->att)) {
			report_check(wl->rt->r, false, "line %u: xpmem_attach: %s",
				     t->st->line, errno_name(PTR_ERR(t->att)));
			t->att = NULL;
			t->limit = 0;
			t->seg = NULL;
			op = 0;
			goto out;
		}
	}
	for (op = 0; !t->limit || op < t->limit; op++) {
		/* ^C: stop here; the workload ends as if its ops were done. */
		if ((wl->duration_ns && READ_ONCE(wl->stop)) || interrupted())
			break;
		if (t->st->kind == ST_CHURN)
			churn_step(&t->churn, op);
		else
			access_op(t, op);
		count(t, RT_OPS);
		if (op % WL_PROGRESS_EVERY == WL_PROGRESS_EVERY - 1) {
			atomic_long_add(WL_PROGRESS_EVERY, &wl->progress);
			if (t->id == 1 && det_active())
				progress_update(atomic_long_read(&wl->progress),
						wl->total);
		}
		pace(t, t0, op + 1);
	}
	xpmem_detach(t->att);
	t->att = NULL;
out:
	atomic_long_add(op % WL_PROGRESS_EVERY, &wl->progress);
	if (!det_active())
		t->end_ns = now_ns();
	atomic_dec(&wl->running);
	return 0;
}

/* ---------------------------------------------------------------------
 * Setting a thread up
 */

/*
 * Record word 0 of the pages of [hva, hva + len) that hold one, as pages
 * @first, @first + 1, ... of the thread's range.  Only populated page
 * tables are visited (follow_pte_next()).
 */
static bool snapshot_range(struct wl_thread *t, struct rt *rt, u64 first,
			   unsigned long hva, u64 len)
{
	unsigned long a = hva;
	pte_t pte;

	while (a < hva + len && !follow_pte_next(t->mm, &a, hva + len, &pte)) {
		if (!before_put(&t->before, first + ((a - hva) >> PAGE_SHIFT),
				rt_pte_word(rt, pte)))
			return false;
		a += PAGE_SIZE;
	}
	return true;
}

/* What the thread's pages hold now, the memslots' parts for a guest. */
static bool snapshot(struct wl_thread *t, struct rt *rt)
{
	u64 end = t->base + ((u64)t->npages << PAGE_SHIFT);
	bool ok = true;

	if (!t->mm || !mmget_not_zero(t->mm))
		return true;
	for (unsigned int i = 0; ok && t->g && i < t->g->nr_slots; i++) {
		const struct kvm_userspace_memory_region *s = &t->g->slots[i];
		u64 lo = s->guest_phys_addr > t->base ? s->guest_phys_addr
						      : t->base;
		u64 hi = s->guest_phys_addr + s->memory_size < end
				 ? s->guest_phys_addr + s->memory_size
				 : end;

		if (lo < hi)
			ok = snapshot_range(t, rt, (lo - t->base) >> PAGE_SHIFT,
					    s->userspace_addr +
						    (lo - s->guest_phys_addr),
					    hi - lo);
	}
	if (!t->g)
		ok = snapshot_range(t, rt, 0, t->base, end - t->base);
	mmput(t->mm);
	return ok;
}

static void setup_guest(struct wl_thread *t, struct rt *rt)
{
	const struct arg *a = t->st->a;
	const struct script_obj *v = &rt->s->objs[a[TH_WHO].obj];

	t->g = rt->objs[v->owner].g;
	t->vcpu = v->index;
	t->mm = t->g->mm;
	t->base = a[TH_GPA].u & PAGE_MASK;
	t->npages = a[TH_LEN].u >> PAGE_SHIFT;
	snprintf(t->out->name, sizeof(t->out->name), "%s", v->name);
}

static void setup_region(struct wl_thread *t, struct rt *rt)
{
	const struct arg *a = t->st->a;

	t->mm = rt->objs[a[TH_WHO].obj].mm;
	t->region = &rt->objs[a[TH_REGION].obj];
	t->base = t->region->addr;
	t->npages = t->region->len >> PAGE_SHIFT;
	snprintf(t->out->name, sizeof(t->out->name), "%s/%s",
		 rt->s->objs[a[TH_WHO].obj].name,
		 rt->s->objs[a[TH_REGION].obj].name);
	if (t->st->kind == ST_XPMEM_DEV) { /* the exporter's region */
		const struct script_obj *x = &rt->s->objs[a[TH_WHO].obj];
		const struct stmt *def = NULL;

		for (unsigned int i = 0; i < rt->s->nr_stmts && !def; i++)
			if (rt->s->stmts[i].kind == ST_XPMEM &&
			    rt->s->stmts[i].a[XP_NAME].obj == a[TH_WHO].obj)
				def = &rt->s->stmts[i];
		t->seg = rt->objs[a[TH_WHO].obj].seg;
		t->importer = rt->objs[a[TH_REGION].obj].mm;
		t->mm = rt->objs[x->owner].mm;
		t->region = &rt->objs[def->a[XP_REGION].obj];
		t->base = t->region->addr;
		t->npages = t->region->len >> PAGE_SHIFT;
	}
	if (t->st->kind == ST_GRU_DEV) { /* the context's process */
		t->gts = rt->objs[a[TH_WHO].obj].gts;
		t->mm = rt->objs[rt->s->objs[a[TH_WHO].obj].owner].mm;
	}
}

static bool setup_thread(struct workload *wl, struct wl_thread *t,
			 const struct stmt *st, const struct stmt *w)
{
	static const char *const kinds[] = {
		[ST_GUEST] = "guest", [ST_CPU] = "cpu", [ST_CHURN] = "churn",
		[ST_GRU_DEV] = "gru", [ST_XPMEM_DEV] = "xpmem",
	};
	const struct arg *a = st->a;
	u64 seed = w->a[WL_SEED].set ? w->a[WL_SEED].u : 1;

	t->wl = wl;
	t->st = st;
	t->out->kind = kinds[st->kind];
	t->limit = a[TH_OPS].set ? a[TH_OPS].u : w->a[WL_OPS].u;
	t->rate = a[TH_RATE].set ? a[TH_RATE].u : 0;
	t->rng = splitmix64(seed * 1000003 + t->id) | 1;
	t->reads = a[TH_READS].set ? a[TH_READS].u : 50;
	t->pattern = a[TH_PATTERN].set ? a[TH_PATTERN].u : PAT_RANDOM;
	t->theta = a[TH_THETA].set ? a[TH_THETA].real : 1.0;
	if (st->kind == ST_GUEST)
		setup_guest(t, wl->rt);
	else
		setup_region(t, wl->rt);
	if (st->kind == ST_CHURN) {
		unsigned long span = a[TH_SPAN].set ? a[TH_SPAN].u >> PAGE_SHIFT
						    : 4;

		/* The language's weights are the generator's first ops. */
		_Static_assert(TH_RECLAIM - TH_MUNMAP == CHURN_RECLAIM,
			       "churn weights out of order");
		for (unsigned int k = 0; k < NR_CHURN_OPS; k++)
			t->weights[CHURN_MUNMAP + k] = a[TH_MUNMAP + k].u;
		if (span > t->npages)
			span = t->npages;
		t->churn = (struct churn){
			.ops = &wl_churn_ops, .priv = t, .host = wl->rt->host,
			.mm = t->mm, .base = t->base, .npages = t->npages,
			.span = span, .weights = t->weights,
			.prot = t->region->prot, .scan_pages = span,
			.reclaim_pages = span,
		};
	}
	if (!t->npages || (st->kind == ST_CHURN && !t->churn.span))
		return report_check(wl->rt->r, false, "line %u: %s: the range "
					      "is empty", st->line,
				    t->out->kind);
	return report_check(wl->rt->r,
			    st->kind == ST_CHURN || snapshot(t, wl->rt),
			    "line %u: out of memory", st->line);
}

static bool start_thread(struct workload *wl, struct wl_thread *t)
{
	char full[sizeof(t->out->name) + 8], name[16];
	struct task_struct *task;

	if (t->st->kind == ST_GUEST)
		snprintf(full, sizeof(full), "%s", t->out->name);
	else
		snprintf(full, sizeof(full), "%s-%s", t->out->kind,
			 t->out->name);
	snprintf(name, sizeof(name), "%.15s", full);
	atomic_inc(&wl->running);
	task = kthread_run(wl_thread_fn, t, name);
	if (IS_ERR(task)) {
		atomic_dec(&wl->running);
		return report_check(wl->rt->r, false, "line %u: kthread_run: "
					      "%s", t->st->line,
				    errno_name(PTR_ERR(task)));
	}
	t->task = task;
	return true;
}

/* ---------------------------------------------------------------------
 * The workload
 */

/*
 * Outside a seeded run the scenario's task polls, draws the progress bar
 * and ends a timed workload.  In a seeded run polling would only add
 * scheduling points (and there is no duration): it joins the threads at
 * once, and the first thread draws the bar.
 */
static void wait_threads(struct workload *wl, u64 t0)
{
	while (!det_active() && atomic_read(&wl->running)) {
		u64 elapsed;

		msleep(WL_POLL_MS);
		if (wl->duration_ns) {
			elapsed = now_ns() - t0;
			if (elapsed >= wl->duration_ns)
				WRITE_ONCE(wl->stop, 1);
			progress_update(elapsed / 1000000,
					wl->duration_ns / 1000000);
		} else {
			progress_update(atomic_long_read(&wl->progress),
					wl->total);
		}
	}
	for (unsigned int i = 0; i < wl->nr; i++)
		if (wl->th[i].task)
			kthread_stop(wl->th[i].task);
}

static unsigned int setup_threads(struct workload *wl, unsigned int i)
{
	struct rt *rt = wl->rt;
	const struct stmt *w = &rt->s->stmts[i];
	struct report_workload *rw = report_add_workload(rt->r, w->line);

	for (unsigned int k = i + 1; k < w->block; k++) {
		struct wl_thread *t = &wl->th[wl->nr];

		t->id = wl->nr + 1;
		t->out = rw ? &rw->threads[wl->nr] : &wl->spare[wl->nr];
		if (rw)
			rw->nr_threads++;
		wl->nr++;
		if (!setup_thread(wl, t, &rt->s->stmts[k], w))
			return 0;
		wl->total += t->limit;
	}
	return wl->nr;
}

/* When the last thread finished; the threads have been reaped. */
static u64 last_end(const struct workload *wl, u64 t0)
{
	u64 end = t0;

	for (unsigned int i = 0; i < wl->nr; i++)
		if (wl->th[i].end_ns > end)
			end = wl->th[i].end_ns;
	return end;
}

void run_workload(struct rt *rt, unsigned int i)
{
	const struct stmt *w = &rt->s->stmts[i];
	struct workload *wl = calloc(1, sizeof(*wl));
	struct report_workload *rw;
	char label[32];
	u64 t0;

	if (!report_check(rt->r, wl, "line %u: out of memory", w->line))
		return;
	wl->rt = rt;
	wl->duration_ns = w->a[WL_DURATION].set ? w->a[WL_DURATION].u : 0;
	atomic_set(&wl->running, 0);
	if (setup_threads(wl, i)) {
		snprintf(label, sizeof(label), "line %u%s", w->line,
			 wl->duration_ns ? ", ms" : "");
		progress_begin(label);
		t0 = now_ns();
		for (unsigned int k = 0; k < wl->nr; k++)
			if (!start_thread(wl, &wl->th[k]))
				break;
		wait_threads(wl, t0);
		progress_end();
		rw = rt->r->nr_workloads ?
			     &rt->r->workloads[rt->r->nr_workloads - 1] : NULL;
		if (rw && rw->line == w->line && !det_active())
			rw->elapsed_us = (last_end(wl, t0) - t0) / 1000;
	}
	for (unsigned int k = 0; k < wl->nr; k++)
		before_free(&wl->th[k].before);
	free(wl);
}
