// SPDX-License-Identifier: MIT
/*
 * The scenario parser's semantic checks: what a statement means for the
 * names and the blocks once its arguments parse.  Names are defined
 * before use and keep their kind, no process is used after its exit,
 * memslots, vCPUs and threads stay within their limits, and workloads
 * and races nest as docs/scenario.md says.
 */
#include <stdio.h>
#include <string.h>

#include "guest.h"
#include "script_parse.h"

/* ---------------------------------------------------------------------
 * Statements: what a statement means for the names and the blocks
 */

static int def_named(struct parser *p, const struct word *w,
		     enum obj_kind kind, int owner, struct arg *a)
{
	int i = add_obj(p, w->s, w->len, kind, owner, w->col);

	if (i < 0)
		return i;
	a->obj = i;
	return 0;
}

void script_host_config(const struct stmt *h, struct host_config *cfg)
{
	const struct arg *a = h ? h->a : NULL;

	*cfg = (struct host_config){
		.nr_frames = 4096,
		.content = HOST_CONTENT_DATA,
		.change_pte = CHANGE_PTE_NONE,
	};
	if (!a)
		return;
	if (a[HOST_FRAMES].set)
		cfg->nr_frames = a[HOST_FRAMES].u;
	if (a[HOST_CONTENT].set)
		cfg->content = a[HOST_CONTENT].u;
	if (a[HOST_CHANGE_PTE].set)
		cfg->change_pte = a[HOST_CHANGE_PTE].u;
	if (a[HOST_KSM].set)
		cfg->ksm_run = a[HOST_KSM].u;
	if (a[HOST_KSM_PAGES].set)
		cfg->ksm_pages_to_scan = a[HOST_KSM_PAGES].u;
	if (a[HOST_KSM_SLEEP].set)
		cfg->ksm_sleep_millisecs = a[HOST_KSM_SLEEP].u / 1000000;
	if (a[HOST_SWAP].set)
		cfg->swap_slots = a[HOST_SWAP].u;
	cfg->shared_frames = a[HOST_SHARED].set;
	if (a[HOST_THP].set)
		cfg->thp = (int)a[HOST_THP].u; /* enum thp_mode's order */
	if (a[HOST_WMARK_LOW].set)
		cfg->wmark_low = a[HOST_WMARK_LOW].u;
	if (a[HOST_WMARK_HIGH].set)
		cfg->wmark_high = a[HOST_WMARK_HIGH].u;
	if (a[HOST_KSM_MAX_SHARING].set)
		cfg->ksm_max_page_sharing = a[HOST_KSM_MAX_SHARING].u;
	cfg->kswapd = a[HOST_KSWAPD].set;
	cfg->oom_kill = a[HOST_OOM_KILL].set;
}

/*
 * The first `host` statement must come first; a later one replaces the
 * host, and every name but the records goes with the old one.  What
 * host_create() would refuse is reported here, in its words.
 */
static int sem_host(struct parser *p)
{
	struct host_config cfg;
	const char *why;

	if (p->s->host < 0 && p->s->nr_stmts == 1)
		p->s->host = 0;
	else
		p->host++;
	script_host_config(p->st, &cfg);
	if (host_config_check(&cfg, &why))
		return perr(p, p->col0, "host: host_create() refuses this "
			    "configuration: %s", why);
	return 0;
}

static int sem_mmap(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;

	if ((a[MMAP_FIXED].set || a[MMAP_NOREPLACE].set) && !a[MMAP_AT].set)
		return perr(p, a[MMAP_FIXED].set ? a[MMAP_FIXED].col :
						   a[MMAP_NOREPLACE].col,
			    "mmap: %s needs at=ADDR",
			    a[MMAP_FIXED].set ? "fixed" : "noreplace");
	if (a[MMAP_FIXED].set && a[MMAP_NOREPLACE].set)
		return perr(p, a[MMAP_NOREPLACE].col,
			    "mmap: fixed and noreplace exclude each other");
	if (a[MMAP_OFFSET].set && !a[MMAP_FILE].set)
		return perr(p, a[MMAP_OFFSET].col,
			    "mmap: offset= applies to a file (file=FILE)");
	if (a[MMAP_OFFSET].set && (a[MMAP_OFFSET].u & ~PAGE_MASK))
		return perr(p, a[MMAP_OFFSET].col,
			    "mmap: offset= must be a multiple of 4K");
	return def_named(p, name, OBJ_REGION, a[MMAP_PROC].obj,
			 &a[MMAP_NAME]);
}

/* munmap, mprotect, madvise, age: no len= means to the region's end. */
static int sem_range(struct parser *p)
{
	struct arg *a = p->st->a;

	if (!a[RANGE_LEN].set && a[RANGE_ADDR].obj < 0)
		return perr(p, a[RANGE_ADDR].col, "%s: len= is needed when "
						  "the address is not a region",
			    p->spec->name);
	return 0;
}

static int sem_mremap(struct parser *p)
{
	struct arg *a = p->st->a;
	const struct script_obj *r = &p->s->objs[a[MREMAP_REGION].obj];

	if (r->owner != a[MREMAP_PROC].obj)
		return perr(p, a[MREMAP_REGION].col,
			    "mremap: region '%s' belongs to process '%s'",
			    r->name, p->s->objs[r->owner].name);
	if (!a[MREMAP_LEN].set && !a[MREMAP_TO].set)
		return perr(p, p->end_col, "mremap: give len=SIZE, to=ADDR "
					   "or both");
	return 0;
}

static int sem_vm(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	int ret;

	if (p->nr_vms == SCRIPT_MAX_VMS)
		return perr(p, name->col, "vm: more than %d VMs",
			    SCRIPT_MAX_VMS);
	ret = def_named(p, name, OBJ_VM, a[VM_PROC].obj, &a[VM_NAME]);
	if (!ret)
		p->s->objs[a[VM_NAME].obj].index = p->nr_vms++;
	return ret;
}

static int sem_memslot(struct parser *p)
{
	struct arg *a = p->st->a;
	struct psym *vm = &p->sym[a[SLOT_VM].obj];
	unsigned int id, i;

	if (!a[SLOT_SLOT].set) {
		a[SLOT_SLOT].set = true;
		a[SLOT_SLOT].u = vm->nr_slots;
	}
	id = a[SLOT_SLOT].u;
	for (i = 0; i < vm->nr_slots && vm->slot_id[i] != id; i++)
		;
	if (!a[SLOT_LEN].u) {
		if (i == vm->nr_slots)
			return perr(p, a[SLOT_LEN].col,
				    "memslot: len=0 deletes a memslot, and "
				    "slot %u does not exist", id);
		vm->nr_slots--;
		vm->slot_id[i] = vm->slot_id[vm->nr_slots];
		vm->slot_gpa[i] = vm->slot_gpa[vm->nr_slots];
		vm->slot_len[i] = vm->slot_len[vm->nr_slots];
		return 0;
	}
	if (!a[SLOT_HVA].set)
		return perr(p, p->end_col, "memslot: missing hva=ADDR");
	if (i == vm->nr_slots) {
		if (vm->nr_slots == GUEST_MAX_SLOTS)
			return perr(p, p->end_col, "memslot: more than %d "
						   "memslots in one VM",
				    GUEST_MAX_SLOTS);
		vm->nr_slots++;
	}
	vm->slot_id[i] = id;
	vm->slot_gpa[i] = a[SLOT_GPA].u;
	vm->slot_len[i] = a[SLOT_LEN].u;
	return 0;
}

static int sem_vcpu(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	int vm = a[VCPU_VM].obj;
	unsigned int n = a[VCPU_COUNT].set ? a[VCPU_COUNT].u : 1;
	char buf[SCRIPT_MAX_NAME + 8];

	if (p->sym[vm].nr_vcpus + n > GUEST_MAX_VCPUS)
		return perr(p, name->col, "vcpu: more than %d vCPUs in VM '%s'",
			    GUEST_MAX_VCPUS, p->s->objs[vm].name);
	for (unsigned int k = 0; k < n; k++) {
		struct word w = *name;
		int ret;

		if (n > 1) {
			w.len = snprintf(buf, sizeof(buf), "%.*s%u",
					 (int)name->len, name->s, k);
			w.s = buf;
			if (w.len > SCRIPT_MAX_NAME)
				return perr(p, name->col, "vcpu: '%s' is too "
							  "long a name", buf);
			ret = check_new_name(p, &w);
			if (ret)
				return ret;
		}
		ret = def_named(p, &w, OBJ_VCPU, vm, &a[VCPU_NAME]);
		if (ret)
			return ret;
		p->s->objs[p->s->nr_objs - 1].index = p->sym[vm].nr_vcpus++;
	}
	a[VCPU_NAME].obj = p->s->nr_objs - n;
	return 0;
}

static int sem_workload(struct parser *p)
{
	struct arg *a = p->st->a;

	if (a[WL_OPS].set == a[WL_DURATION].set)
		return perr(p, a[WL_OPS].set ? a[WL_DURATION].col : p->end_col,
			    "workload: give exactly one of ops=N and "
			    "duration=TIME");
	if (a[WL_DURATION].set && p->seeded)
		return perr(p, a[WL_DURATION].col,
			    "workload: duration= needs the wall clock, which "
			    "a seeded run (--seed) does not have; give ops=N");
	p->workload = p->s->nr_stmts - 1;
	p->nr_threads = 0;
	return 0;
}

static int race_end(struct parser *p);

static int sem_end(struct parser *p)
{
	struct stmt *w;

	if (p->race >= 0)
		return race_end(p);
	if (p->workload < 0)
		return perr(p, p->col0, "end: no workload or race to end");
	if (!p->nr_threads)
		return perr(p, p->col0, "end: the workload at line %u has no "
					"threads (guest, cpu or churn)",
			    p->s->stmts[p->workload].line);
	w = &p->s->stmts[p->workload];
	w->block = p->s->nr_stmts - 1;
	p->st->block = p->workload;
	p->workload = -1;
	return 0;
}

/* One thread per vCPU, and one churn thread per region, per workload. */
static int thread_unique(struct parser *p, unsigned int arg)
{
	for (unsigned int i = p->workload + 1; i < p->s->nr_stmts - 1; i++) {
		const struct stmt *t = &p->s->stmts[i];

		if (t->kind == p->st->kind &&
		    t->a[arg].obj == p->st->a[arg].obj)
			return perr(p, p->st->a[arg].col,
				    "%s: '%s' already has a %s thread in this "
				    "workload (line %u)", p->spec->name,
				    p->s->objs[p->st->a[arg].obj].name,
				    p->spec->name, t->line);
	}
	return 0;
}

static int sem_guest_range(struct parser *p)
{
	struct arg *a = p->st->a;
	int vm = p->s->objs[a[TH_WHO].obj].owner;
	struct psym *s = &p->sym[vm];

	if (a[TH_GPA].set != a[TH_LEN].set)
		return perr(p, a[TH_GPA].set ? a[TH_GPA].col : a[TH_LEN].col,
			    "guest: gpa= and len= go together");
	if (a[TH_GPA].set)
		return 0;
	if (s->nr_slots != 1)
		return perr(p, p->end_col, "guest: VM '%s' has %u memslots; "
					   "say which range with gpa= and len=",
			    p->s->objs[vm].name, s->nr_slots);
	a[TH_GPA].set = a[TH_LEN].set = true;
	a[TH_GPA].u = s->slot_gpa[0];
	a[TH_LEN].u = s->slot_len[0];
	return 0;
}

/*
 * No weight given: all are 1 but reclaim's, which came later and stays
 * 0, so that the scenarios written before it pick as they did (a
 * reclaim also drops MADV_FREE pages a scenario may read back).  Some
 * given: the others are 0.
 */
static int churn_weights(struct parser *p)
{
	struct arg *a = p->st->a;
	int given = -1;

	for (unsigned int i = TH_MUNMAP; i <= TH_RECLAIM; i++) {
		if (!a[i].set)
			continue;
		if (a[i].u)
			return 0;
		given = i;
	}
	if (given >= 0)
		return perr(p, a[given].col, "churn: every weight is 0");
	for (unsigned int i = TH_MUNMAP; i <= TH_RECLAIM; i++) {
		a[i].set = true;
		a[i].u = i != TH_RECLAIM;
	}
	return 0;
}

/* An exported region belongs to the exporting process. */
static int sem_xpmem(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	const struct script_obj *r = &p->s->objs[a[XP_REGION].obj];
	int ret;

	if (r->owner != a[XP_PROC].obj)
		return perr(p, a[XP_REGION].col,
			    "xpmem: region '%s' belongs to process '%s'",
			    r->name, p->s->objs[r->owner].name);
	if (a[XP_IMPORTER].set && a[XP_IMPORTER].obj == a[XP_PROC].obj)
		return perr(p, a[XP_IMPORTER].col,
			    "xpmem: importer= must be a process other than "
			    "the exporter '%s'", p->s->objs[a[XP_PROC].obj].name);
	ret = def_named(p, name, OBJ_XPMEM, a[XP_PROC].obj, &a[XP_NAME]);
	/* index 1: mread and mwrite may go through its importer. */
	if (!ret)
		p->s->objs[a[XP_NAME].obj].index = a[XP_IMPORTER].set;
	return ret;
}

/* One thread per context, over a region of the context's process. */
static int sem_gru_dev(struct parser *p)
{
	const struct arg *a = p->st->a;
	const struct script_obj *g = &p->s->objs[a[TH_WHO].obj];
	const struct script_obj *r = &p->s->objs[a[TH_REGION].obj];

	if (r->owner != g->owner)
		return perr(p, a[TH_REGION].col,
			    "gru: region '%s' belongs to process '%s', GRU "
			    "context '%s' to '%s'", r->name,
			    p->s->objs[r->owner].name, g->name,
			    p->s->objs[g->owner].name);
	return thread_unique(p, TH_WHO);
}

static int sem_thread(struct parser *p)
{
	struct arg *a = p->st->a;
	int ret;

	if (++p->nr_threads > SCRIPT_MAX_THREADS)
		return perr(p, p->col0, "%s: more than %d threads in one "
					"workload",
			    p->spec->name, SCRIPT_MAX_THREADS);
	if (a[TH_THETA].set && a[TH_PATTERN].u != PAT_ZIPF)
		return perr(p, a[TH_THETA].col, "%s: theta= applies to "
						"pattern=zipf only",
			    p->spec->name);
	p->st->block = p->workload;
	if (p->st->kind == ST_GUEST) {
		ret = thread_unique(p, TH_WHO);
		return ret ? ret : sem_guest_range(p);
	}
	if (p->st->kind == ST_CHURN) {
		ret = thread_unique(p, TH_REGION);
		return ret ? ret : churn_weights(p);
	}
	return p->st->kind == ST_GRU_DEV ? sem_gru_dev(p) : 0;
}

/* A store can be expected to fault (or exit), not to return a value. */
static int sem_store(struct parser *p)
{
	const struct arg *e = &p->st->a[ACC_EXPECT];

	if (!e->set || e->exp != EXP_VALUE)
		return 0;
	return perr(p, e->col, "%s: a store expects no value: expect=fault%s "
		    "or expect=nomem", p->spec->name,
		    p->st->kind == ST_GWRITE ? ", expect=mmio" : "");
}

static int sem_task(struct parser *p);
static int sem_replace(struct parser *p);
static int sem_hmm(struct parser *p);

/* process, fork: a new process named by argument @name, at most so many. */
static int sem_new_process(struct parser *p, int name)
{
	const struct word *w = p->argw[name];

	if (p->nr_procs++ == SCRIPT_MAX_PROCS)
		return perr(p, w->col, "%s: more than %d processes",
			    p->spec->name, SCRIPT_MAX_PROCS);
	return def_named(p, w, OBJ_PROCESS, -1, &p->st->a[name]);
}

static int sem_ksm(struct parser *p)
{
	const struct arg *a = p->st->a;

	if (!a[KSM_SCAN].set && !a[KSM_RUN].set)
		return perr(p, p->end_col,
			    "ksm: give scan=N, run=WORD or both");
	return 0;
}

static int sem_verify(struct parser *p)
{
	const struct arg *a = p->st->a;

	if (a[VERIFY_DATA].set && !p->sym[a[VERIFY_VM].obj].nr_vcpus)
		return perr(p, a[VERIFY_DATA].col, "verify: data reads through "
			    "the VM's first vCPU, and '%s' has none",
			    p->s->objs[a[VERIFY_VM].obj].name);
	return 0;
}

int sem_stmt(struct parser *p)
{
	const struct word *const *w = p->argw;
	struct arg *a = p->st->a;

	switch (p->st->kind) {
	case ST_HOST:
		return sem_host(p);
	case ST_PROCESS:
		return sem_new_process(p, PROCESS_NAME);
	case ST_MMAP:
		return sem_mmap(p, w[MMAP_NAME]);
	case ST_MUNMAP:
	case ST_MPROTECT:
	case ST_MADVISE:
	case ST_AGE:
		return sem_range(p);
	case ST_MREMAP:
		return sem_mremap(p);
	case ST_FORK:
		return sem_new_process(p, FORK_NAME);
	case ST_EXIT:
		p->sym[a[EXIT_PROC].obj].exited = p->line;
		return 0;
	case ST_WRITE:
	case ST_GWRITE:
		return sem_store(p);
	case ST_VM:
		return sem_vm(p, w[VM_NAME]);
	case ST_RECORD:
		return def_named(p, w[RECORD_NAME], OBJ_RECORD, -1,
				 &a[RECORD_NAME]);
	case ST_NOTIFIER:
		return def_named(p, w[NOTIFIER_NAME], OBJ_NOTIFIER,
				 a[NOTIFIER_PROC].obj, &a[NOTIFIER_NAME]);
	case ST_KSM:
		return sem_ksm(p);
	case ST_VERIFY:
		return sem_verify(p);
	case ST_MEMSLOT:
		return sem_memslot(p);
	case ST_VCPU:
		return sem_vcpu(p, w[VCPU_NAME]);
	case ST_GRU:
		return def_named(p, w[GRU_NAME], OBJ_GRU, a[GRU_PROC].obj,
				 &a[GRU_NAME]);
	case ST_XPMEM:
		return sem_xpmem(p, w[XP_NAME]);
	case ST_WORKLOAD:
		return sem_workload(p);
	case ST_END:
		return sem_end(p);
	case ST_GUEST:
	case ST_CPU:
	case ST_CHURN:
	case ST_GRU_DEV:
	case ST_XPMEM_DEV:
		return sem_thread(p);
	case ST_RACE:
		p->race = p->s->nr_stmts - 1;
		p->task = -1;
		return 0;
	case ST_TASK:
		return sem_task(p);
	case ST_REPLACE:
	case ST_WRPROTECT:
		return sem_replace(p);
	case ST_MIRROR:
		return def_named(p, w[MIRROR_NAME], OBJ_MIRROR,
				 a[MIRROR_PROC].obj, &a[MIRROR_NAME]);
	case ST_HMM_FAULT:
	case ST_HMM_SNAPSHOT:
		return sem_hmm(p);
	case ST_MEMFD:
		return def_named(p, w[MEMFD_NAME], OBJ_FILE, -1,
				 &a[MEMFD_NAME]);
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------------
 * Races: tasks of explicit operations
 */

static int sem_replace(struct parser *p)
{
	const struct arg *a = p->st->a;

	if (a[REPLACE_ADDR].obj < 0)
		return perr(p, a[REPLACE_ADDR].col, "%s: the address must be "
			    "in a region (REGION or REGION+SIZE), whose "
			    "protection%s the operation restores",
			    p->spec->name,
			    p->st->kind == ST_REPLACE ? " and flags" : "");
	if (p->s->objs[a[REPLACE_ADDR].obj].owner != a[REPLACE_PROC].obj)
		return perr(p, a[REPLACE_ADDR].col, "%s: region '%s' "
			    "belongs to process '%s'", p->spec->name,
			    p->s->objs[a[REPLACE_ADDR].obj].name,
			    p->s->objs[p->s->objs[a[REPLACE_ADDR].obj].owner]
				    .name);
	return 0;
}

/* The task's name: the statement's second word. */
static unsigned int task_label(const struct stmt *t, const char **s)
{
	const char *n = t->text + strlen("task");

	while (*n == ' ' || *n == '\t')
		n++;
	*s = n;
	return strcspn(n, " \t");
}

/*
 * A task line starts a segment; segments of one name form one task,
 * run in order.  @u of the name is the index of the task's first
 * segment.
 */
static int sem_task(struct parser *p)
{
	struct arg *a = p->st->a;
	unsigned int me = p->s->nr_stmts - 1, tasks = 0, len;
	const char *name, *other;

	len = task_label(p->st, &name);
	a[TASK_NAME].u = me;
	for (unsigned int i = p->race + 1; i < me; i++) {
		const struct stmt *t = &p->s->stmts[i];

		if (t->kind != ST_TASK || t->a[TASK_NAME].u != i)
			continue;
		tasks++;
		if (task_label(t, &other) == len && !memcmp(name, other, len))
			a[TASK_NAME].u = i;
	}
	if (a[TASK_NAME].u == me && tasks == SCRIPT_MAX_TASKS)
		return perr(p, p->col0, "task: more than %d tasks in one race",
			    SCRIPT_MAX_TASKS);
	if (a[TASK_PICK].set && !a[TASK_REPEAT].set)
		return perr(p, a[TASK_PICK].col, "task: pick needs repeat=N "
			    "(how many operations to pick)");
	p->st->block = p->race;
	p->task = me;
	return 0;
}

/* A statement inside a race: an operation of the current task. */
int race_context(struct parser *p, const struct word *w)
{
	const struct stmt *t;

	if (p->spec->ctx == CTX_ANY || p->spec->ctx == CTX_RACE)
		return 0;
	if (!(p->spec->ctx & CTX_RACE))
		return perr(p, w->col, "%s: not allowed inside the race at "
			    "line %u (only task, end and operations: write, "
			    "read, gwrite, gread, mwrite, mread, hmm-fault, "
			    "mmigrate, mevict, mexclusive, munmap, "
			    "replace, mprotect, wrprotect, madvise, age, cow, exit, "
			    "migrate, "
			    "ksm, compact, reclaim, vm, memslot, vcpu)",
			    p->spec->name, p->s->stmts[p->race].line);
	if (p->task < 0)
		return perr(p, w->col, "%s: an operation of a race belongs to "
			    "a task; start one with 'task NAME'",
			    p->spec->name);
	t = &p->s->stmts[p->task];
	if ((p->spec->args[0].type >= T_DEF_PROC &&
	     p->spec->args[0].type <= T_DEF_MIRROR) &&
	    (t->a[TASK_REPEAT].u > 1 || t->a[TASK_PICK].set))
		return perr(p, w->col, "%s: defines a name, so it runs once: "
			    "not in a task with repeat= or pick (line %u)",
			    p->spec->name, t->line);
	return 0;
}

static int race_end(struct parser *p)
{
	struct stmt *r = &p->s->stmts[p->race];

	if (p->task < 0)
		return perr(p, p->col0, "end: the race at line %u has no "
			    "tasks", r->line);
	r->block = p->s->nr_stmts - 1;
	p->st->block = p->race;
	p->race = p->task = -1;
	return 0;
}

/* ---------------------------------------------------------------------
 * hmm-fault, hmm-snapshot: a page-aligned range of the mirror's region
 */

/* The statement that defined object @obj as @kind's first argument. */
static const struct stmt *def_stmt(struct parser *p, enum stmt_kind kind,
				   int obj)
{
	for (unsigned int i = 0; i < p->s->nr_stmts; i++)
		if (p->s->stmts[i].kind == kind && p->s->stmts[i].a[0].obj == obj)
			return &p->s->stmts[i];
	return NULL;
}

static int sem_hmm(struct parser *p)
{
	struct arg *a = p->st->a;
	const struct script_obj *dev = &p->s->objs[a[HMMF_WHO].obj];
	const struct stmt *mirror, *map;
	u64 len = a[HMMF_LEN].set ? a[HMMF_LEN].u : PAGE_SIZE;

	if (dev->kind != OBJ_MIRROR)
		return perr(p, a[HMMF_WHO].col, "%s: '%s' is a GRU context, "
			    "expected a device mirror", p->spec->name,
			    dev->name);
	mirror = def_stmt(p, ST_MIRROR, a[HMMF_WHO].obj);
	if (a[HMMF_ADDR].obj != mirror->a[MIRROR_REGION].obj)
		return perr(p, a[HMMF_ADDR].col, "%s: the address must be in "
			    "region '%s', which mirror '%s' mirrors "
			    "(REGION or REGION+SIZE)", p->spec->name,
			    p->s->objs[mirror->a[MIRROR_REGION].obj].name,
			    dev->name);
	if ((a[HMMF_ADDR].off | len) & ~PAGE_MASK)
		return perr(p, (a[HMMF_ADDR].off & ~PAGE_MASK) ? a[HMMF_ADDR].col
							      : a[HMMF_LEN].col,
			    "%s: the range must be whole pages (a multiple "
			    "of 4K from the region's start)", p->spec->name);
	map = def_stmt(p, ST_MMAP, a[HMMF_ADDR].obj);
	if (map && (a[HMMF_ADDR].off >= map->a[MMAP_LEN].u ||
		    len > map->a[MMAP_LEN].u - a[HMMF_ADDR].off))
		return perr(p, a[HMMF_LEN].set ? a[HMMF_LEN].col
					       : a[HMMF_ADDR].col,
			    "%s: the range runs past the end of region '%s' "
			    "(%#llx bytes)", p->spec->name,
			    p->s->objs[a[HMMF_ADDR].obj].name,
			    (unsigned long long)map->a[MMAP_LEN].u);
	return 0;
}
