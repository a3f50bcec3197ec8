// SPDX-License-Identifier: MIT
/*
 * Race blocks: a few explicit operations per task, all tasks started
 * together (docs/scenario.md, "Races").
 *
 *	race [seed=N]
 *	  task NAME [repeat=N] [pick]
 *	    OPERATION
 *	    ...
 *	end
 *
 * A task runs its operations in order, repeat times; with pick, it runs
 * repeat operations each picked from its list by a pseudo-random stream
 * (the race's seed, the task's position and, under `mmulab check`, the
 * run's seed).  Lines `task NAME` with a name already used continue that
 * task: its segments run one after the other.
 *
 * Under the deterministic scheduler the race keeps the exact data shadow
 * of `mmulab check` (INV-5 in its strong form) for every word that an
 * access of the race names: the values stored there by version, each
 * store begun and finished around the access, MAP_FIXED replacement,
 * munmap and MADV_DONTNEED of private memory resetting it to zero.  A
 * read must return a value written no earlier than the last store that
 * finished before the read began.  Accesses the host refuses (-EFAULT,
 * -EPERM, an MMIO exit) are not failures in a race: the operations race with
 * munmap and mprotect on purpose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/checker.h>
#include <mmulab/gru.h>
#include <mmulab/hmm.h>
#include <mmulab/kvm.h>
#include <mmulab/sched.h>

#include "mmulab.h"
#include "script.h"

_Static_assert((int)REPLACE_PROC == (int)RANGE_PROC &&
		       (int)REPLACE_ADDR == (int)RANGE_ADDR &&
		       (int)REPLACE_LEN == (int)RANGE_LEN,
	       "replace takes the arguments of a range statement");

#define RACE_HIST 16
#define RACE_MAX_WORDS 256

/* A store in flight: its version, the oldest in flight when it began. */
struct race_store {
	unsigned int ver;
	unsigned int floor;
};

#define RACE_MAX_OPEN 8

/**
 * struct race_word - the shadow of one 8-byte word.
 * @proc: the process (object index) whose address space holds it.
 * @region: its region (object index), or -1.
 * @addr: its host virtual address.
 * @hist: the values of its stores by version (a reset stores 0).
 * @begun: the last version begun; @done, the last one finished.
 * @any0: version 0 (its value when the race began) is unknown (the page
 *	was swapped out): any value is accepted from it.
 * @off: no longer checked (MADV_FREE, the process exited).
 * @ro: a wrprotect of the race made it read-only, and nothing that can
 *	make it writable again has begun since; @ro_gen counts those windows.
 * @wr_gen: begins and ends of operations that can make it writable (the
 *	restoring mprotect of a wrprotect, a writable mprotect, replace);
 *	@wr_open: those in flight.  A read-only mprotect that one of them
 *	overlaps may take effect before it: no window opens.
 * @nr_open: stores in flight; @open: their versions, and the oldest store
 *	in flight when each began.
 */
struct race_word {
	int proc;
	int region;
	unsigned long addr;
	u64 hist[RACE_HIST];
	unsigned int begun;
	unsigned int done;
	bool any0;
	bool off;
	bool ro;
	unsigned int ro_gen;
	unsigned int wr_gen;
	unsigned int wr_open;
	unsigned int nr_open;
	struct race_store open[RACE_MAX_OPEN];
};

struct race;

/**
 * struct race_task - one task of a race.
 * @race: its race.
 * @first: index of its first `task` statement (its name).
 * @rng: its pick stream.
 * @task: the running task.
 * @reset: the words a range operation of this task resets, and @vers
 *	their versions, from before the operation until after it.  Per task:
 *	the operation may sleep, and another task's may begin meanwhile.
 * @wr_gen: each word's @wr_gen when this task's wrprotect began.
 */
struct race_task {
	struct race *race;
	unsigned int first;
	u64 rng;
	struct task_struct *task;
	struct race_word *reset[RACE_MAX_WORDS];
	unsigned int vers[RACE_MAX_WORDS];
	unsigned int wr_gen[RACE_MAX_WORDS];
};

struct race {
	struct rt *rt;
	unsigned int start;
	unsigned int end;
	bool shadow;
	unsigned int nr_words;
	struct race_word words[RACE_MAX_WORDS];
	unsigned int nr_tasks;
	struct race_task tasks[SCRIPT_MAX_TASKS];
};

/* ---------------------------------------------------------------------
 * The shadow
 */

static bool is_access(enum stmt_kind k)
{
	return k == ST_WRITE || k == ST_READ || k == ST_GWRITE ||
	       k == ST_GREAD || k == ST_MWRITE || k == ST_MREAD || k == ST_COW;
}

static bool is_store(enum stmt_kind k)
{
	return k == ST_WRITE || k == ST_GWRITE || k == ST_MWRITE || k == ST_COW;
}

/* The host address behind @gpa of VM @vm, even before the VM exists. */
static unsigned long race_gpa_hva(struct race *rc, int vm, u64 gpa)
{
	struct rt *rt = rc->rt;

	if (rt->objs[vm].g)
		return guest_gpa_to_hva(rt->objs[vm].g, gpa);
	for (unsigned int i = rc->start + 1; i < rc->end; i++) {
		const struct stmt *st = &rt->s->stmts[i];
		const struct arg *a = st->a;

		if (st->kind == ST_MEMSLOT && a[SLOT_VM].obj == vm &&
		    a[SLOT_HVA].set && gpa >= a[SLOT_GPA].u &&
		    gpa - a[SLOT_GPA].u < a[SLOT_LEN].u)
			return rt_addr(rt, &a[SLOT_HVA]) + gpa - a[SLOT_GPA].u;
	}
	return 0;
}

/* Process and host address an access's k-th word is at; 0 if none. */
static unsigned long access_hva(struct race *rc, const struct stmt *st,
				unsigned long addr, int *proc)
{
	const struct script_obj *who = &rc->rt->s->objs[st->a[ACC_WHO].obj];

	switch (st->kind) {
	case ST_GWRITE:
	case ST_GREAD:
		*proc = rc->rt->s->objs[who->owner].owner;
		return race_gpa_hva(rc, who->owner, addr);
	case ST_MWRITE:
	case ST_MREAD:
		*proc = who->owner;
		return addr;
	default:
		*proc = st->a[ACC_WHO].obj;
		return addr;
	}
}

static struct race_word *word_find(struct race *rc, int proc,
				   unsigned long addr)
{
	for (unsigned int i = 0; i < rc->nr_words; i++)
		if (rc->words[i].addr == addr && rc->words[i].proc == proc)
			return &rc->words[i];
	return NULL;
}

/* The region of @proc holding @addr, or -1. */
static int region_of(struct rt *rt, int proc, unsigned long addr)
{
	for (unsigned int i = 0; i < rt->s->nr_objs; i++)
		if (rt->s->objs[i].kind == OBJ_REGION &&
		    rt->s->objs[i].owner == proc && addr >= rt->objs[i].addr &&
		    addr - rt->objs[i].addr < rt->objs[i].len)
			return i;
	return -1;
}

/* The word's value now, read through the page table. */
static void word_init(struct rt *rt, struct race_word *w)
{
	struct mm_struct *mm = rt->objs[w->proc].mm;
	struct page *page;
	pte_t pte;

	if (!mm || follow_pte(mm, w->addr & PAGE_MASK, &pte) || pte_none(pte))
		return;
	if (!pte_present(pte)) {
		w->any0 = true;
		return;
	}
	page = pfn_to_page(rt->host, pte_pfn(pte));
	if (page)
		w->hist[0] = page_read_u64(page, w->addr & ~PAGE_MASK & ~7UL);
}

static void shadow_add(struct race *rc, const struct stmt *st)
{
	const struct arg *a = st->a;
	u64 count = a[ACC_COUNT].set ? a[ACC_COUNT].u : 1;
	u64 stride = a[ACC_STRIDE].set ? a[ACC_STRIDE].u : PAGE_SIZE;
	u64 base = st->kind == ST_GWRITE || st->kind == ST_GREAD
			   ? a[ACC_ADDR].u
			   : rt_addr(rc->rt, &a[ACC_ADDR]);

	for (u64 k = 0; k < count && rc->nr_words < RACE_MAX_WORDS; k++) {
		struct race_word *w;
		int proc;
		unsigned long hva =
			access_hva(rc, st, base + k * stride, &proc);

		if (!hva || word_find(rc, proc, hva))
			continue;
		w = &rc->words[rc->nr_words++];
		memset(w, 0, sizeof(*w));
		w->proc = proc;
		w->addr = hva;
		w->region = region_of(rc->rt, proc, hva);
		word_init(rc->rt, w);
	}
}

/*
 * A store of @val begins; returns its version.  It remembers the oldest
 * store still in flight (its own version if none): those overlap it, and
 * memory may hold any of their values once it is done.
 */
static unsigned int shadow_begin(struct race_word *w, u64 val)
{
	unsigned int floor = ++w->begun;

	w->hist[w->begun % RACE_HIST] = val;
	for (unsigned int i = 0; i < w->nr_open; i++)
		if ((int)(w->open[i].ver - floor) < 0)
			floor = w->open[i].ver;
	if (w->nr_open == RACE_MAX_OPEN)
		w->off = true; /* too many writers at once to tell */
	else
		w->open[w->nr_open++] = (struct race_store){w->begun, floor};
	return w->begun;
}

/*
 * Store @v finished, the last store to finish: a read that begins now
 * may return its value, or the value of any store that overlapped it.
 */
static void shadow_commit(struct race_word *w, unsigned int v)
{
	for (unsigned int i = 0; i < w->nr_open; i++) {
		if (w->open[i].ver != v)
			continue;
		w->done = w->open[i].floor;
		w->open[i] = w->open[--w->nr_open];
		return;
	}
}

/* A read of @w begun at version @from returned @val: was it written late
 * enough? */
static bool shadow_ok(const struct race_word *w, unsigned int from, u64 val)
{
	if (w->off || w->begun - from >= RACE_HIST)
		return true; /* too many stores during one read to tell */
	for (unsigned int v = from; v != w->begun + 1; v++)
		if (w->hist[v % RACE_HIST] == val || (!v && w->any0))
			return true;
	return false;
}

/* Words of @proc in [@start, +@len): reset (@off false) or unchecked. */
static unsigned int shadow_range(struct race *rc, int proc, unsigned long start,
				 unsigned long len, bool reset, bool off,
				 struct race_word **out, unsigned int *vers)
{
	unsigned int n = 0;

	for (unsigned int i = 0; rc->shadow && i < rc->nr_words; i++) {
		struct race_word *w = &rc->words[i];

		if (w->proc != proc || w->addr < start ||
		    w->addr - start >= len)
			continue;
		if (off)
			w->off = true;
		if (!reset || w->off)
			continue;
		vers[n] = shadow_begin(w, 0);
		out[n++] = w;
	}
	return n;
}

/* ---------------------------------------------------------------------
 * Operations
 */

static void race_fail(struct race *rc, const struct stmt *st,
		      const struct race_word *w, unsigned int from, u64 val)
{
	struct rt *rt = rc->rt;
	char msg[200];

	snprintf(msg, sizeof(msg),
		 "line %u: %s at %#lx returned %#llx; the "
		 "last value written there before the read began is %#llx",
		 st->line, stmt_name(st->kind), w->addr,
		 (unsigned long long)val,
		 (unsigned long long)w->hist[from % RACE_HIST]);
	if (rt->chk)
		checker_fail(rt->host, INV_DATA, ~0UL, w->addr, ~0ULL, NULL,
			     "%s", msg);
	else
		report_check(rt->r, false, "%s", msg);
}

/* A store began and ended while its page was read-only, and succeeded. */
static void race_fail_ro(struct race *rc, const struct stmt *st,
			 const struct race_word *w)
{
	struct rt *rt = rc->rt;
	char msg[200];

	snprintf(msg, sizeof(msg),
		 "line %u: %s at %#lx succeeded, but the "
		 "page was read-only from before it began until after it "
		 "ended",
		 st->line, stmt_name(st->kind), w->addr);
	if (rt->chk)
		checker_fail(rt->host, INV_WRITABLE_SECONDARY, ~0UL, w->addr,
			     ~0ULL, NULL, "%s", msg);
	else
		report_check(rt->r, false, "%s", msg);
}

static int access_one(struct rt *rt, const struct stmt *st, u64 addr, u64 val,
		      u64 *out)
{
	const struct arg *a = st->a;
	const struct script_obj *who = &rt->s->objs[a[ACC_WHO].obj];
	switch (st->kind) {
	case ST_WRITE:
		return cpu_write_u64(rt->objs[who - rt->s->objs].mm, addr, val);
	case ST_READ:
		return cpu_read_u64(rt->objs[who - rt->s->objs].mm, addr, out);
	case ST_GWRITE:
		return guest_write(rt->objs[who->owner].g, who->index, addr,
				   val);
	case ST_GREAD:
		return guest_read(rt->objs[who->owner].g, who->index, addr,
				  out);
	case ST_MWRITE: /* a device mirror, a GRU context or an importer */
		if (rt->objs[who - rt->s->objs].xatt)
			return xpmem_dev_write(&rt->objs[who - rt->s->objs],
					       addr, val);
		if (rt->objs[who - rt->s->objs].gts)
			return gru_write_u64(rt->objs[who - rt->s->objs].gts,
					     addr, val);
		return dmirror_write_u64(rt->objs[who - rt->s->objs].dmirror,
					 addr, val);
	case ST_MREAD:
		if (rt->objs[who - rt->s->objs].xatt)
			return xpmem_dev_read(&rt->objs[who - rt->s->objs],
					      addr, out);
		if (rt->objs[who - rt->s->objs].gts)
			return gru_read_u64(rt->objs[who - rt->s->objs].gts,
					    addr, out);
		return dmirror_read_u64(rt->objs[who - rt->s->objs].dmirror,
					addr, out);
	default: /* ST_COW: the child exists around the stores */
		return cpu_write_u64(rt->objs[who - rt->s->objs].mm, addr, val);
	}
}

/* An access of a race, without expect=: shadowed, refusals allowed. */
static void race_access(struct race *rc, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt *rt = rc->rt;
	u64 count = a[ACC_COUNT].set ? a[ACC_COUNT].u : 1;
	u64 stride = a[ACC_STRIDE].set ? a[ACC_STRIDE].u : PAGE_SIZE;
	u64 inc = a[ACC_INC].set ? a[ACC_INC].u : 1;
	bool guest = st->kind == ST_GWRITE || st->kind == ST_GREAD;
	u64 base = guest ? a[ACC_ADDR].u : rt_addr(rt, &a[ACC_ADDR]);
	struct mm_struct *child = NULL;

	if (st->kind == ST_COW) {
		child = dup_mm(rt->objs[a[ACC_WHO].obj].mm);
		if (!report_check(rt->r, !IS_ERR(child), "line %u: dup_mm: %s",
				  st->line, errno_name(PTR_ERR(child))))
			return;
	}
	for (u64 k = 0; k < count; k++) {
		u64 addr = base + k * stride, val = a[ACC_VALUE].u + k * inc;
		struct race_word *w = NULL;
		unsigned int from = 0, ver = 0, ro_gen = 0;
		bool ro = false;
		int proc, ret;
		unsigned long hva = access_hva(rc, st, addr, &proc);

		if (rc->shadow && hva)
			w = word_find(rc, proc, hva);
		if (w && is_store(st->kind)) {
			ver = shadow_begin(w, val);
			ro = w->ro;
			ro_gen = w->ro_gen;
		} else if (w) {
			from = w->done;
		}
		ret = access_one(rt, st, addr, val, &val);
		if (ret == -EFAULT || ret == -EPERM || ret == KVM_EXIT_MMIO)
			continue;
		if (!report_check(rt->r, !ret, "line %u: %s %#llx: %s",
				  st->line, stmt_name(st->kind),
				  (unsigned long long)addr, errno_name(ret)))
			break;
		if (w && is_store(st->kind) && ro && w->ro &&
		    w->ro_gen == ro_gen)
			race_fail_ro(rc, st, w);
		if (w && is_store(st->kind))
			shadow_commit(w, ver);
		else if (w && !shadow_ok(w, from, val))
			race_fail(rc, st, w, from, val);
	}
	if (child)
		mmput(child);
}

static void shadow_wr(struct race *rc, int proc, unsigned long start,
		      unsigned long len, bool begin);

/*
 * munmap, replace, MADV_DONTNEED (of private memory), MADV_REMOVE (a hole
 * punched in the file behind a shared mapping): the range reads zero
 * afterwards.
 * Replace and a writable mprotect end a wrprotect window of another task
 * over the range: the page may be writable from the moment they begin.
 */
static void race_range(struct race_task *t, const struct stmt *st)
{
	struct race *rc = t->race;
	const struct arg *a = st->a;
	struct rt *rt = rc->rt;
	int proc = a[RANGE_PROC].obj, region = a[RANGE_ADDR].obj;
	unsigned long start = rt_addr(rt, &a[RANGE_ADDR]), len;
	bool shared = region >= 0 && (rt->objs[region].flags & MAP_SHARED);
	bool resets = st->kind == ST_MUNMAP || st->kind == ST_REPLACE ||
		      (st->kind == ST_MADVISE &&
		       a[RANGE_ADVICE].u == ADV_DONTNEED && !shared) ||
		      (st->kind == ST_MADVISE &&
		       a[RANGE_ADVICE].u == ADV_REMOVE);
	bool off = st->kind == ST_MADVISE && a[RANGE_ADVICE].u == ADV_FREE;
	bool wr = st->kind == ST_REPLACE ||
		  (st->kind == ST_MPROTECT && (a[RANGE_PROT].u & PROT_WRITE));
	unsigned int n;

	if (a[RANGE_LEN].set)
		len = a[RANGE_LEN].u;
	else
		len = region >= 0 && a[RANGE_ADDR].off < rt->objs[region].len
			      ? rt->objs[region].len - a[RANGE_ADDR].off
			      : 0;

	if (wr)
		shadow_wr(rc, proc, start, PAGE_ALIGN(len), true);
	n = shadow_range(rc, proc, start, PAGE_ALIGN(len), resets, off,
			 t->reset, t->vers);
	rt_do(rt, st);
	if (wr)
		shadow_wr(rc, proc, start, PAGE_ALIGN(len), false);
	for (unsigned int i = 0; i < n; i++)
		shadow_commit(t->reset[i], t->vers[i]);
}

static bool word_in(const struct race_word *w, int proc, unsigned long start,
		    unsigned long len)
{
	return w->proc == proc && w->addr >= start && w->addr - start < len;
}

/*
 * An operation that can make the words of [@start, +@len) of @proc
 * writable begins (@begin) or ends: no read-only window from its begin.
 */
static void shadow_wr(struct race *rc, int proc, unsigned long start,
		      unsigned long len, bool begin)
{
	for (unsigned int i = 0; rc->shadow && i < rc->nr_words; i++) {
		struct race_word *w = &rc->words[i];

		if (!word_in(w, proc, start, len))
			continue;
		w->wr_gen++;
		if (!begin) {
			w->wr_open--;
			continue;
		}
		w->ro = false;
		w->wr_open++;
	}
}

/*
 * The read-only mprotect of task @t over [@start, +@len) of @proc begins
 * (@begin) or returned.  A word is read-only from its return if nothing
 * that can make it writable overlapped it: none in flight, none begun or
 * ended since it began (the two take mmap_lock in either order).
 */
static void shadow_ro(struct race_task *t, int proc, unsigned long start,
		      unsigned long len, bool begin)
{
	struct race *rc = t->race;

	for (unsigned int i = 0; rc->shadow && i < rc->nr_words; i++) {
		struct race_word *w = &rc->words[i];

		if (!word_in(w, proc, start, len))
			continue;
		if (begin) {
			t->wr_gen[i] = w->wr_gen;
		} else if (!w->wr_open && w->wr_gen == t->wr_gen[i]) {
			w->ro = true;
			w->ro_gen++;
		}
	}
}

/*
 * Read-only, then back.  Between the two, a store that begins after the
 * first mprotect() returned and ends before the second begins must fail,
 * whoever makes it: the permission is checked at every access.
 */
static void race_wrprotect(struct race_task *t, const struct stmt *st)
{
	struct race *rc = t->race;
	const struct arg *a = st->a;
	struct rt *rt = rc->rt;
	int proc = a[REPLACE_PROC].obj, region = a[REPLACE_ADDR].obj;
	struct mm_struct *mm = rt->objs[proc].mm;
	unsigned long start = rt_addr(rt, &a[REPLACE_ADDR]);
	unsigned long len =
		a[REPLACE_LEN].set ? a[REPLACE_LEN].u
				   : rt->objs[region].len - a[REPLACE_ADDR].off;
	long ret;

	shadow_ro(t, proc, start, PAGE_ALIGN(len), true);
	ret = do_mprotect(mm, start, len, PROT_READ);
	if (!report_check(rt->r, !ret, "line %u: mprotect: %s", st->line,
			  errno_name(ret)))
		return;
	shadow_ro(t, proc, start, PAGE_ALIGN(len), false);
	/* The host keeps it read-only for a while: others may run. */
	cond_resched();
	shadow_wr(rc, proc, start, PAGE_ALIGN(len), true);
	ret = do_mprotect(mm, start, len, rt->objs[region].prot);
	shadow_wr(rc, proc, start, PAGE_ALIGN(len), false);
	report_check(rt->r, !ret, "line %u: mprotect: %s", st->line,
		     errno_name(ret));
}

/* The process an operation works in, or -1 (it needs none). */
static int op_process(const struct stmt *st)
{
	switch (st->kind) {
	case ST_WRITE:
	case ST_READ:
	case ST_COW:
	case ST_MIGRATE:
		return st->a[ACC_WHO].obj;
	case ST_MUNMAP:
	case ST_MPROTECT:
	case ST_MADVISE:
	case ST_AGE:
	case ST_REPLACE:
	case ST_WRPROTECT:
		return st->a[RANGE_PROC].obj;
	case ST_EXIT:
		return st->a[EXIT_PROC].obj;
	case ST_OOM_REAP:
		return st->a[OOM_PROC].obj;
	case ST_VM:
		return st->a[VM_PROC].obj;
	default:
		return -1;
	}
}

/*
 * A range fault of a race, without expect=: the host may unmap or
 * protect the range meanwhile (-EFAULT, -EPERM); anything else fails.
 * What it installed, the checker watches.
 */
static void race_hmm_fault(struct race *rc, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt *rt = rc->rt;
	struct dmirror_cmd cmd;
	int ret;

	rt_hmm_cmd(rt, st, &cmd);
	ret = dmirror_cmd_fault(rt->objs[a[HMMF_WHO].obj].dmirror, &cmd,
				a[HMMF_WRITE].set);

	if (ret == -EFAULT || ret == -EPERM)
		return;
	report_check(rt->r, !ret, "line %u: hmm-fault %#lx: %s", st->line,
		     cmd.addr, errno_name(ret));
}

static void race_op(struct race_task *t, const struct stmt *st)
{
	struct race *rc = t->race;
	struct rt *rt = rc->rt;
	int proc = op_process(st);
	unsigned int n;

	if (proc >= 0 && !rt->objs[proc].mm)
		return; /* its process exited while the race ran */
	if (is_access(st->kind) &&
	    (st->kind == ST_COW || !st->a[ACC_EXPECT].set)) {
		race_access(rc, st);
		return;
	}
	switch (st->kind) {
	case ST_MUNMAP:
	case ST_MPROTECT:
	case ST_MADVISE:
	case ST_REPLACE:
		race_range(t, st);
		return;
	case ST_EXIT:
		shadow_range(rc, proc, 0, ~0UL, false, true, t->reset, t->vers);
		break;
	case ST_WRPROTECT:
		race_wrprotect(t, st);
		return;
	case ST_HMM_FAULT:
		if (!st->a[HMMF_EXPECT].set) {
			race_hmm_fault(rc, st);
			return;
		}
		break;
	case ST_OOM_REAP:
		/* Reaped private memory reads zero, if it can be read at all. */
		n = shadow_range(rc, proc, 0, ~0UL, true, false, t->reset,
				 t->vers);
		rt_do(rt, st);
		for (unsigned int i = 0; i < n; i++)
			shadow_commit(t->reset[i], t->vers[i]);
		return;
	default:
		break;
	}
	rt_do(rt, st);
}

/* ---------------------------------------------------------------------
 * Tasks
 */

static bool race_stopped(const struct race *rc)
{
	return rc->rt->chk && checker_violations(rc->rt->host);
}

/* Run the segment whose `task` statement is @seg. */
static void run_segment(struct race_task *t, unsigned int seg)
{
	struct race *rc = t->race;
	const struct stmt *ts = &rc->rt->s->stmts[seg];
	u64 repeat = ts->a[TASK_REPEAT].set ? ts->a[TASK_REPEAT].u : 1;
	unsigned int first = seg + 1, last = first;

	while (last < rc->end && rc->rt->s->stmts[last].kind != ST_TASK)
		last++;
	if (last == first)
		return;
	for (u64 r = 0; r < repeat; r++) {
		if (ts->a[TASK_PICK].set) {
			t->rng = splitmix64(t->rng);
			if (race_stopped(rc))
				return;
			race_op(t, &rc->rt->s->stmts[first +
						     t->rng % (last - first)]);
			continue;
		}
		for (unsigned int i = first; i < last; i++) {
			if (race_stopped(rc))
				return;
			race_op(t, &rc->rt->s->stmts[i]);
		}
	}
}

static int race_task_fn(void *arg)
{
	struct race_task *t = arg;
	struct race *rc = t->race;

	for (unsigned int i = t->first; i < rc->end; i++) {
		const struct stmt *st = &rc->rt->s->stmts[i];

		if (st->kind == ST_TASK && st->a[TASK_NAME].u == t->first)
			run_segment(t, i);
	}
	return 0;
}

static void race_init(struct race *rc, struct rt *rt, unsigned int i)
{
	const struct stmt *rs = &rt->s->stmts[i];
	u64 seed = rs->a[RACE_SEED].set ? rs->a[RACE_SEED].u : 1;

	rc->rt = rt;
	rc->start = i;
	rc->end = rs->block;
	/* The shadow follows the order of operations: one task at a time. */
	rc->shadow = det_active();
	if (rt->chk)
		seed ^= splitmix64(rt->chk->seed);
	for (unsigned int k = i + 1; k < rc->end; k++) {
		const struct stmt *st = &rt->s->stmts[k];

		if (rc->shadow && is_access(st->kind))
			shadow_add(rc, st);
		if (st->kind != ST_TASK || st->a[TASK_NAME].u != k)
			continue;
		rc->tasks[rc->nr_tasks].race = rc;
		rc->tasks[rc->nr_tasks].first = k;
		rc->tasks[rc->nr_tasks].rng =
			splitmix64(seed + rc->nr_tasks + 1);
		rc->nr_tasks++;
	}
}

void run_race(struct rt *rt, unsigned int i)
{
	struct race *rc = calloc(1, sizeof(*rc));
	char name[16];

	if (!report_check(rt->r, rc, "out of memory"))
		return;
	race_init(rc, rt, i);
	for (unsigned int k = 0; k < rc->nr_tasks; k++) {
		const char *label = rt->s->stmts[rc->tasks[k].first].text + 4;

		while (*label == ' ' || *label == '\t')
			label++;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(label, " \t"),
			 label);
		rc->tasks[k].task =
			kthread_run(race_task_fn, &rc->tasks[k], name);
		report_check(rt->r, !IS_ERR(rc->tasks[k].task),
			     "line %u: kthread_run: %s",
			     rt->s->stmts[rc->tasks[k].first].line,
			     errno_name(PTR_ERR(rc->tasks[k].task)));
	}
	for (unsigned int k = 0; k < rc->nr_tasks; k++)
		if (!IS_ERR(rc->tasks[k].task))
			kthread_stop(rc->tasks[k].task);
	/* Every task of the race has stopped: a quiescent point. */
	if (rt->chk && !checker_violations(rt->host))
		checker_sweep(rt->host);
	free(rc);
}
