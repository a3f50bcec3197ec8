// SPDX-License-Identifier: MIT
/*
 * Running a parsed scenario.
 *
 * Statements run in order on the scenario's own task.  An operation that
 * returns an error nobody asked for (expect=) is a failed check, and the
 * run goes on, except when the statement creates something later
 * statements use (a process, a region, a VM, a vCPU): then the run stops
 * there, and only the teardown follows.  The teardown always runs:
 * every VM is reported and destroyed, every live process exits, and the
 * host must get every frame back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/gru.h>
#include <mmulab/kvm.h>
#include <mmulab/memfd.h>
#include <mmulab/xpmem.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#include "counter.h"
#include "interrupt.h"
#include "mmulab.h"
#include "sample.h"
#include "script.h"
#include "xpeer.h"

#define RW (PROT_READ | PROT_WRITE)

unsigned long rt_addr(const struct rt *rt, const struct arg *a)
{
	return (a->obj < 0 ? 0 : rt->objs[a->obj].addr) + a->off;
}

u64 rt_pte_word(struct rt *rt, pte_t pte)
{
	struct page *page;

	if (!pte_present(pte))
		return 0;
	page = pfn_to_page(rt->host, pte_pfn(pte));
	return page ? page_read_u64(page, 0) : 0;
}

/* A failed check, named by the statement's line. */
static bool st_check(struct rt *rt, const struct stmt *st, bool ok,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool st_check(struct rt *rt, const struct stmt *st, bool ok,
		     const char *fmt, ...)
{
	char msg[REPORT_LINE];
	va_list ap;

	if (ok)
		return report_check(rt->r, true, "%s", "");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return report_check(rt->r, false, "line %u: %s", st->line, msg);
}

static bool st_ret(struct rt *rt, const struct stmt *st, long ret)
{
	return st_check(rt, st, ret >= 0, "%s: %s", stmt_name(st->kind),
			errno_name(ret));
}

static const char *obj_name(const struct rt *rt, const struct arg *a)
{
	return rt->s->objs[a->obj].name;
}

static struct mm_struct *proc_mm(const struct rt *rt, const struct arg *a)
{
	return rt->objs[a->obj].mm;
}

/* The length a range statement covers: len=, or to the region's end. */
static unsigned long range_len(const struct rt *rt, const struct arg *addr,
			       const struct arg *len)
{
	const struct rt_obj *o;

	if (len->set)
		return len->u;
	o = &rt->objs[addr->obj];
	return addr->off < o->len ? o->len - addr->off : 0;
}

/* ---------------------------------------------------------------------
 * The host and the processes
 */

static bool do_host(struct rt *rt, const struct stmt *h)
{
	struct host_config cfg;
	char name[24];

	script_host_config(h, &cfg);
	rt->host = host_create(&cfg);
	if (IS_ERR(rt->host)) {
		report_check(rt->r, false, "host_create(%lu frames): %s",
			     cfg.nr_frames, errno_name(PTR_ERR(rt->host)));
		rt->host = NULL;
		return false;
	}
	report_host_config(rt->r, rt->host);
	if (rt->chk && !report_check(rt->r, !checker_attach(rt->host),
				     "checker_attach failed")) {
		host_destroy(rt->host);
		rt->host = NULL;
		return false;
	}
	/* A later host is named after its line: "host@12". */
	snprintf(name, sizeof(name), h && (int)(h - rt->s->stmts) != rt->s->host
				     ? "host@%u" : "host", h ? h->line : 0);
	sample_add_host(rt->host, name);
	return true;
}

static bool do_process(struct rt *rt, const struct stmt *st)
{
	const struct arg *name = &st->a[PROCESS_NAME];
	struct mm_struct *mm = mm_alloc(rt->host);

	if (!st_check(rt, st, !IS_ERR(mm), "mm_alloc: %s",
		      errno_name(PTR_ERR(mm))))
		return false;
	rt->objs[name->obj].mm = mm;
	/* Under mmulab check, no tracer: no subscriber the search explores. */
	return rt->chk || st_check(rt, st, !trace_attach_mm(mm, obj_name(rt, name)),
			"cannot subscribe the tracer");
}

static bool do_mmap(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[MMAP_NAME].obj];
	unsigned long prot = a[MMAP_PROT].set ? a[MMAP_PROT].u : RW;
	unsigned long flags = MAP_ANONYMOUS |
			      (a[MMAP_SHARED].set ? MAP_SHARED : MAP_PRIVATE);
	unsigned long extra = 0;
	unsigned long at = a[MMAP_AT].set ? rt_addr(rt, &a[MMAP_AT]) : 0;
	struct file *file = a[MMAP_FILE].set ? rt->objs[a[MMAP_FILE].obj].file
					     : NULL;
	long ret;

	if (a[MMAP_FIXED].set)
		extra |= MAP_FIXED;
	if (a[MMAP_NOREPLACE].set)
		extra |= MAP_FIXED_NOREPLACE;
	if (a[MMAP_POPULATE].set)
		extra |= MAP_POPULATE;
	if (file) {
		flags &= ~MAP_ANONYMOUS;
		o->file = file;
		o->offset = a[MMAP_OFFSET].u;
		ret = vm_mmap_file(proc_mm(rt, &a[MMAP_PROC]), file, at,
				   a[MMAP_LEN].u, prot, flags | extra,
				   o->offset);
	} else {
		ret = vm_mmap(proc_mm(rt, &a[MMAP_PROC]), at, a[MMAP_LEN].u,
			      prot, flags | extra);
	}
	if (!st_ret(rt, st, ret))
		return false;
	o->addr = ret;
	o->len = PAGE_ALIGN(a[MMAP_LEN].u);
	o->prot = prot;
	o->flags = flags;
	return true;
}

static void do_range(struct rt *rt, const struct stmt *st)
{
	static const int advice[] = {
		[ADV_DONTNEED] = MADV_DONTNEED,
		[ADV_FREE] = MADV_FREE,
		[ADV_MERGEABLE] = MADV_MERGEABLE,
		[ADV_UNMERGEABLE] = MADV_UNMERGEABLE,
		[ADV_HUGEPAGE] = MADV_HUGEPAGE,
		[ADV_NOHUGEPAGE] = MADV_NOHUGEPAGE,
		[ADV_COLD] = MADV_COLD,
		[ADV_PAGEOUT] = MADV_PAGEOUT,
		[ADV_REMOVE] = MADV_REMOVE,
	};
	const struct arg *a = st->a;
	struct mm_struct *mm = proc_mm(rt, &a[RANGE_PROC]);
	unsigned long start = rt_addr(rt, &a[RANGE_ADDR]);
	unsigned long len = range_len(rt, &a[RANGE_ADDR], &a[RANGE_LEN]);
	long ret = 0;

	switch (st->kind) {
	case ST_MUNMAP:
		ret = vm_munmap(mm, start, len);
		break;
	case ST_MPROTECT:
		ret = do_mprotect(mm, start, len, a[RANGE_PROT].u);
		if (!ret && a[RANGE_ADDR].obj >= 0 && !a[RANGE_ADDR].off &&
		    len == rt->objs[a[RANGE_ADDR].obj].len)
			rt->objs[a[RANGE_ADDR].obj].prot = a[RANGE_PROT].u;
		break;
	case ST_MADVISE:
		ret = do_madvise(mm, start, len, advice[a[RANGE_ADVICE].u]);
		break;
	default:
		break;
	}
	st_ret(rt, st, ret);
}

static void do_age(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	unsigned long start = rt_addr(rt, &a[RANGE_ADDR]);
	unsigned long len = range_len(rt, &a[RANGE_ADDR], &a[RANGE_LEN]);
	struct mm_struct *mm = proc_mm(rt, &a[RANGE_PROC]);
	int young;

	/* What reclaim's, MGLRU's and khugepaged's aging send. */
	switch (a[RANGE_AGE].set ? a[RANGE_AGE].u : AGE_CLEAR_FLUSH) {
	case AGE_CLEAR:
		young = mmu_notifier_clear_young(mm, start, start + len);
		break;
	case AGE_TEST:
		young = mmu_notifier_test_young(mm, start);
		break;
	default:
		young = mmu_notifier_clear_flush_young(mm, start, start + len);
		break;
	}

	if (a[RANGE_EXPECT].set)
		st_check(rt, st, !young == (a[RANGE_EXPECT].exp == EXP_OLD),
			 "age: %s, expected %s", young ? "young" : "old",
			 a[RANGE_EXPECT].exp == EXP_OLD ? "old" : "young");
}

static void do_mremap_st(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[MREMAP_REGION].obj];
	unsigned long len = a[MREMAP_LEN].set ? a[MREMAP_LEN].u : o->len;
	unsigned long flags = MREMAP_MAYMOVE;
	unsigned long to = 0;
	long ret;

	if (a[MREMAP_TO].set) {
		flags |= MREMAP_FIXED;
		to = rt_addr(rt, &a[MREMAP_TO]);
	}
	ret = do_mremap(proc_mm(rt, &a[MREMAP_PROC]), o->addr, o->len, len,
			flags, to);
	if (st_ret(rt, st, ret)) {
		o->addr = ret;
		o->len = PAGE_ALIGN(len);
	}
}

static bool do_fork(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct mm_struct *child = dup_mm(proc_mm(rt, &a[FORK_PROC]));

	if (!st_check(rt, st, !IS_ERR(child), "dup_mm: %s",
		      errno_name(PTR_ERR(child))))
		return false;
	rt->objs[a[FORK_NAME].obj].mm = child;
	return rt->chk ||
	       st_check(rt, st,
			!trace_attach_mm(child, obj_name(rt, &a[FORK_NAME])),
			"cannot subscribe the tracer");
}

static void do_exit(struct rt *rt, const struct stmt *st)
{
	struct rt_obj *o = &rt->objs[st->a[EXIT_PROC].obj];

	mmput(o->mm);
	o->mm = NULL;
}

/*
 * The OOM reaper unmaps @PROCESS's private memory in a non-blockable
 * invalidation; -EAGAIN (a secondary that would have to sleep, so the
 * reaper gave up) is an answer, not an error.
 */
static void do_oom_reap(struct rt *rt, const struct stmt *st)
{
	int ret = mm_oom_reap(proc_mm(rt, &st->a[OOM_PROC]));

	st_ret(rt, st, ret == -EAGAIN || ret == -EEXIST ? 0 : ret);
}

/* ---------------------------------------------------------------------
 * Accesses
 */

static bool access_ok(struct rt *rt, const struct stmt *st, int ret, u64 val,
		      u64 want, unsigned long addr)
{
	const struct arg *e = &st->a[ACC_EXPECT];

	switch (e->set ? e->exp : EXP_NONE) {
	case EXP_VALUE:
		return st_check(rt, st, !ret && val == want,
				"%s %#lx: %s %#llx, expected %#llx",
				stmt_name(st->kind), addr, errno_name(ret),
				(unsigned long long)val,
				(unsigned long long)want);
	case EXP_FAULT: /* a mirror's write to read-only memory: -EPERM */
		return st_check(rt, st,
				ret == -EFAULT ||
					(st->kind == ST_MWRITE && ret == -EPERM),
				"%s %#lx: %s, expected a fault (EFAULT)",
				stmt_name(st->kind), addr, errno_name(ret));
	case EXP_MMIO:
		return st_check(rt, st, ret == KVM_EXIT_MMIO,
				"%s %#lx: %s, expected an MMIO exit",
				stmt_name(st->kind), addr,
				ret == KVM_EXIT_MMIO ? "MMIO" :
						       errno_name(ret));
	default:
		return st_check(rt, st, !ret, "%s %#lx: %s",
				stmt_name(st->kind), addr,
				ret == KVM_EXIT_MMIO ? "MMIO exit" :
						       errno_name(ret));
	}
}

/*
 * mread and mwrite through a segment's importer=: at exporter address
 * @addr; outside the segment is -EFAULT, as for a device.
 */
int xpmem_dev_read(const struct rt_obj *o, u64 addr, u64 *val)
{
	if (addr < o->addr || addr - o->addr >= o->len)
		return -EFAULT;
	return xpmem_read_u64(o->xatt, addr - o->addr, val);
}

int xpmem_dev_write(const struct rt_obj *o, u64 addr, u64 val)
{
	if (addr < o->addr || addr - o->addr >= o->len)
		return -EFAULT;
	return xpmem_write_u64(o->xatt, addr - o->addr, val);
}

static void do_access(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	u64 count = a[ACC_COUNT].set ? a[ACC_COUNT].u : 1;
	u64 stride = a[ACC_STRIDE].set ? a[ACC_STRIDE].u : PAGE_SIZE;
	u64 inc = a[ACC_INC].set ? a[ACC_INC].u : 1;
	bool guest = st->kind == ST_GWRITE || st->kind == ST_GREAD;
	const struct script_obj *who = &rt->s->objs[a[ACC_WHO].obj];
	struct guest *g = guest ? rt->objs[who->owner].g : NULL;
	struct mm_struct *mm = guest ? NULL : rt->objs[a[ACC_WHO].obj].mm;
	struct dmirror *dm = rt->objs[a[ACC_WHO].obj].dmirror;
	struct gru_thread_state *gts = rt->objs[a[ACC_WHO].obj].gts;
	const struct rt_obj *xo = &rt->objs[a[ACC_WHO].obj];
	u64 base = guest ? a[ACC_ADDR].u : rt_addr(rt, &a[ACC_ADDR]);
	bool nomem = a[ACC_EXPECT].set && a[ACC_EXPECT].exp == EXP_NOMEM;
	u64 k;

	for (k = 0; k < count; k++) {
		u64 addr = base + k * stride, val = 0;
		int ret;

		switch (st->kind) {
		case ST_WRITE:
		case ST_COW:
			ret = cpu_write_u64(mm, addr, a[ACC_VALUE].u + k * inc);
			break;
		case ST_READ:
			ret = cpu_read_u64(mm, addr, &val);
			break;
		case ST_GWRITE:
			ret = guest_write(g, who->index, addr,
					  a[ACC_VALUE].u + k * inc);
			break;
		case ST_MWRITE:
			ret = xo->xatt ? xpmem_dev_write(xo, addr,
							 a[ACC_VALUE].u + k * inc) :
			      gts ? gru_write_u64(gts, addr,
						  a[ACC_VALUE].u + k * inc) :
				    dmirror_write_u64(dm, addr,
						      a[ACC_VALUE].u + k * inc);
			break;
		case ST_MREAD:
			ret = xo->xatt ? xpmem_dev_read(xo, addr, &val) :
			      gts ? gru_read_u64(gts, addr, &val) :
				    dmirror_read_u64(dm, addr, &val);
			break;
		default:
			ret = guest_read(g, who->index, addr, &val);
			break;
		}
		if (nomem && (!ret || ret == -ENOMEM)) {
			if (ret)
				break;
			continue;
		}
		if (!access_ok(rt, st, ret, val, a[ACC_EXPECT].u + k * inc,
			       addr))
			return;
	}
	if (nomem)
		st_check(rt, st, k < count, "%s: all %llu accesses were made, "
			 "expected the host to run out of memory (ENOMEM)",
			 stmt_name(st->kind), (unsigned long long)count);
}

/* ---------------------------------------------------------------------
 * VMs
 */

static bool do_vm(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct guest *g = calloc(1, sizeof(*g));
	int ret;

	if (!st_check(rt, st, g, "out of memory"))
		return false;
	ret = guest_create(g, obj_name(rt, &a[VM_NAME]),
			   proc_mm(rt, &a[VM_PROC]), a[VM_PINNED].set);
	if (!st_ret(rt, st, ret)) {
		free(g);
		return false;
	}
	rt->objs[a[VM_NAME].obj].g = g;
	if (!rt->chk)
		trace_attach_vm(g);
	return true;
}

static bool do_gru(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct gru_thread_state *gts = gru_alloc_gts(
		proc_mm(rt, &a[GRU_PROC]), a[GRU_SETS].set ? a[GRU_SETS].u : 4,
		a[GRU_WAYS].set ? a[GRU_WAYS].u : 2, obj_name(rt, &a[GRU_NAME]));

	if (!st_ret(rt, st, IS_ERR(gts) ? PTR_ERR(gts) : 0))
		return false;
	rt->objs[a[GRU_NAME].obj].gts = gts;
	sample_add_gru(gts, obj_name(rt, &a[GRU_NAME]));
	return true;
}

/* peers=: importer processes, each attached over its own socket. */
static bool xpmem_start_peers(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[XP_NAME].obj];
	unsigned int n = a[XP_PEERS].set ? (unsigned int)a[XP_PEERS].u : 0;
	unsigned int timeout = a[XP_PEER_TIMEOUT].set ?
				       (unsigned int)(a[XP_PEER_TIMEOUT].u /
						      1000000) :
				       0;
	struct xpmem_peer_opts po = {
		.accesses = a[XP_PEER_ACCESSES].set ? a[XP_PEER_ACCESSES].u :
						      1000,
		.write_pct = 30,
	};

	/* A process of its own is outside the deterministic scheduler. */
	if (n && !st_check(rt, st, !det_active(),
			   "xpmem: peers= starts importer processes, which "
			   "a run under --seed (or mmulab check) cannot have"))
		return false;
	for (unsigned int i = 0; i < n; i++) {
		struct xpmem_attachment *att;

		po.seed = i + 1;
		att = xpeer_spawn(o->seg, &po, timeout, &o->peer_pids[i]);
		if (!st_ret(rt, st, IS_ERR(att) ? PTR_ERR(att) : 0))
			return false;
		o->peer_atts[i] = att;
	}
	return true;
}

static bool do_xpmem(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	const struct rt_obj *r = &rt->objs[a[XP_REGION].obj];
	struct xpmem_segment *seg = xpmem_make(
		proc_mm(rt, &a[XP_PROC]), r->addr, r->len,
		a[XP_END_ONLY].set ? XPMEM_INVAL_END_ONLY : XPMEM_INVAL_START);

	if (!st_ret(rt, st, IS_ERR(seg) ? PTR_ERR(seg) : 0))
		return false;
	rt->objs[a[XP_NAME].obj].seg = seg;
	sample_add_xpmem(seg, obj_name(rt, &a[XP_NAME]));
	rt->objs[a[XP_NAME].obj].addr = r->addr;
	rt->objs[a[XP_NAME].obj].len = r->len;
	if (a[XP_IMPORTER].set) {
		struct xpmem_attachment *att =
			xpmem_attach(seg, proc_mm(rt, &a[XP_IMPORTER]));

		if (!st_ret(rt, st, IS_ERR(att) ? PTR_ERR(att) : 0))
			return false;
		rt->objs[a[XP_NAME].obj].xatt = att;
	}
	return xpmem_start_peers(rt, st);
}

/* Report a segment's counters and remove it (before its mm goes). */
static void xpmem_teardown(struct rt *rt, const struct stmt *st)
{
	struct rt_obj *o = &rt->objs[st->a[XP_NAME].obj];
	struct xpmem_segment *seg = o->seg;
	struct report_xpmem *rx = report_add_xpmem(rt->r,
						   obj_name(rt, &st->a[XP_NAME]));

	/* The peers first: their accesses count once they detached. */
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		xpmem_detach(o->peer_atts[i]);
		o->peer_atts[i] = NULL;
	}
	xpmem_detach(o->xatt);
	o->xatt = NULL;
	if (rx) {
		rx->pages = rt->objs[st->a[XP_REGION].obj].len >> PAGE_SHIFT;
		rx->end_only = st->a[XP_END_ONLY].set;
		xpmem_get_stat(seg, &rx->stat);
	}
	sample_remove(seg);
	xpmem_remove(seg);
	for (unsigned int i = 0; i < XPMEM_MAX_ATTACH; i++) {
		int *pid = &o->peer_pids[i];
		int status = 0;

		if (*pid && waitpid(*pid, &status, 0) == *pid)
			st_check(rt, st, WIFEXITED(status) &&
					 !WEXITSTATUS(status),
				 "xpmem: importer process %d did not end "
				 "cleanly (status %#x)", *pid, status);
		*pid = 0;
	}
}

/* Report a GRU context's counters and free it (before its mm goes). */
static void gru_teardown(struct rt *rt, const struct stmt *st)
{
	struct gru_thread_state *gts = rt->objs[st->a[GRU_NAME].obj].gts;
	struct report_gru *rg = report_add_gru(rt->r,
					       obj_name(rt, &st->a[GRU_NAME]));

	if (rg) {
		rg->sets = st->a[GRU_SETS].set ? st->a[GRU_SETS].u : 4;
		rg->ways = st->a[GRU_WAYS].set ? st->a[GRU_WAYS].u : 2;
		rg->valid_end = gru_tlb_valid(gts);
		gru_get_stat(gts, &rg->stat);
	}
	sample_remove(gts);
	gru_free_gts(gts);
}

static void do_memslot(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct guest *g = rt->objs[a[SLOT_VM].obj].g;
	u64 hva = a[SLOT_HVA].set ? rt_addr(rt, &a[SLOT_HVA]) : 0;

	st_ret(rt, st, guest_memslot(g, a[SLOT_SLOT].u, a[SLOT_GPA].u,
				     a[SLOT_LEN].u, hva,
				     a[SLOT_READONLY].set));
}

static bool do_vcpu(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct guest *g = rt->objs[a[VCPU_VM].obj].g;
	unsigned int n = a[VCPU_COUNT].set ? a[VCPU_COUNT].u : 1;

	for (unsigned int k = 0; k < n; k++) {
		const struct script_obj *o = &rt->s->objs[a[VCPU_NAME].obj + k];
		int ret = guest_add_vcpu(g);

		if (!st_ret(rt, st, ret))
			return false;
		/* The parser numbered them the same way. */
		BUG_ON((unsigned int)ret != o->index);
	}
	return true;
}

static void do_verify(struct rt *rt, const struct stmt *st)
{
	struct guest *g = rt->objs[st->a[VERIFY_VM].obj].g;
	char who[24];

	snprintf(who, sizeof(who), "line %u", st->line);
	guest_verify(g, rt->r, who, st->a[VERIFY_ALLOW_STALE].set);
	if (st->a[VERIFY_DATA].set)
		guest_verify_data(g, rt->r, who);
}

/* ---------------------------------------------------------------------
 * KSM, migration, compaction
 */

static void do_ksm(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;

	if (a[KSM_RUN].set)
		st_check(rt, st, !ksm_set_run(rt->host, a[KSM_RUN].u),
			 "ksm_set_run failed");
	if (a[KSM_SCAN].set)
		st_ret(rt, st, ksm_scan(rt->host, a[KSM_SCAN].u));
}

/* Move the page mapped at each address to another frame. */
static void do_migrate(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct mm_struct *mm = proc_mm(rt, &a[ACC_WHO]);
	u64 count = a[ACC_COUNT].set ? a[ACC_COUNT].u : 1;
	u64 stride = a[ACC_STRIDE].set ? a[ACC_STRIDE].u : PAGE_SIZE;
	bool busy = a[ACC_EXPECT].set && a[ACC_EXPECT].exp == EXP_BUSY;
	u64 base = rt_addr(rt, &a[ACC_ADDR]);

	for (u64 k = 0; k < count; k++) {
		unsigned long addr = base + k * stride;
		pte_t pte;
		int ret;

		if (!st_check(rt, st, !follow_pte(mm, addr, &pte) &&
					      pte_present(pte) &&
					      !is_zero_pfn(pte_pfn(pte)),
			      "migrate %#lx: no page of its own mapped there",
			      addr))
			break;
		ret = migrate_pfn(rt->host, pte_pfn(pte), NULL);
		if (!st_check(rt, st, busy ? ret == -EBUSY : !ret,
			      "migrate %#lx: %s%s", addr, errno_name(ret),
			      busy ? ", expected EBUSY" : ""))
			break;
	}
}

static void do_compact(struct rt *rt, const struct stmt *st)
{
	st_ret(rt, st, host_compact(rt->host, 0, ~0UL, NULL));
}

static void do_reclaim(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;

	st_ret(rt, st, host_reclaim(rt->host, a[RECLAIM_PAGES].set ?
						      a[RECLAIM_PAGES].u :
						      host_config_of(rt->host)
							      ->nr_frames));
}

long rt_region_mmap(const struct rt_obj *o, struct mm_struct *mm,
		    unsigned long addr, unsigned long len)
{
	if (!o->file)
		return vm_mmap(mm, addr, len, o->prot, o->flags | MAP_FIXED);
	return vm_mmap_file(mm, o->file, addr, len, o->prot,
			    o->flags | MAP_FIXED,
			    o->offset + (addr - o->addr));
}

/* Fresh memory over [ADDR, +len), with its region's protection and flags. */
static void do_replace(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	const struct rt_obj *o = &rt->objs[a[REPLACE_ADDR].obj];
	unsigned long start = rt_addr(rt, &a[REPLACE_ADDR]);
	unsigned long len = range_len(rt, &a[REPLACE_ADDR], &a[REPLACE_LEN]);

	st_ret(rt, st,
	       rt_region_mmap(o, proc_mm(rt, &a[REPLACE_PROC]), start, len));
}

/* ---------------------------------------------------------------------
 * memfd
 */

static bool do_memfd(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[MEMFD_NAME].obj];
	struct file *file = memfd_alloc_file(rt->host,
					     obj_name(rt, &a[MEMFD_NAME]), 0);

	if (!st_check(rt, st, !IS_ERR(file), "memfd: %s",
		      errno_name(PTR_ERR(file))))
		return false;
	o->file = file;
	return st_ret(rt, st, do_ftruncate(file, (long long)a[MEMFD_SIZE].u));
}

static void do_file_op(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;

	if (st->kind == ST_FTRUNCATE)
		st_ret(rt, st,
		       do_ftruncate(rt->objs[a[FTRUNC_FILE].obj].file,
				    (long long)a[FTRUNC_SIZE].u));
	else
		st_ret(rt, st,
		       vfs_fallocate(rt->objs[a[PUNCH_FILE].obj].file,
				     FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE,
				     (long long)a[PUNCH_OFFSET].u,
				     (long long)a[PUNCH_LEN].u));
}

/* Read-only, then the region's protection again. */
static void do_wrprotect(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct mm_struct *mm = proc_mm(rt, &a[REPLACE_PROC]);
	unsigned long start = rt_addr(rt, &a[REPLACE_ADDR]);
	unsigned long len = range_len(rt, &a[REPLACE_ADDR], &a[REPLACE_LEN]);

	if (st_ret(rt, st, do_mprotect(mm, start, len, PROT_READ)))
		st_ret(rt, st, do_mprotect(mm, start, len,
					   rt->objs[a[REPLACE_ADDR].obj].prot));
}

/* fork, stores in the parent (COW breaks), and the child's exit. */
static void do_cow(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct mm_struct *child = dup_mm(proc_mm(rt, &a[ACC_WHO]));

	if (!st_check(rt, st, !IS_ERR(child), "dup_mm: %s",
		      errno_name(PTR_ERR(child))))
		return;
	do_access(rt, st);
	mmput(child);
}

/*
 * mmigrate, mevict, mexclusive: the whole range must move (or be held),
 * unless `partial` allows pages to stay where they are (busy in a race,
 * or unmapped meanwhile).  The mirror's device memory, as large as its
 * region, is made at its first use.
 */
static void do_devmem(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[MDEV_WHO].obj];
	unsigned long addr = rt_addr(rt, &a[MDEV_ADDR]);
	unsigned long npages =
		PAGE_ALIGN(range_len(rt, &a[MDEV_ADDR], &a[MDEV_LEN])) >>
		PAGE_SHIFT;
	unsigned long cpages = 0;
	int ret;

	if (!st_check(rt, st, o->dmirror, "%s: %s is not a device mirror",
		      stmt_name(st->kind), obj_name(rt, &a[MDEV_WHO])))
		return;
	if (!o->mdev) {
		struct dmirror_device *mdev = dmirror_device_create(
			rt->host, o->len >> PAGE_SHIFT);

		if (!st_check(rt, st, !IS_ERR(mdev),
			      "dmirror_device_create: %s",
			      errno_name(PTR_ERR(mdev))))
			return;
		o->mdev = mdev;
		dmirror_set_device(o->dmirror, mdev);
	}
	if (st->kind == ST_MMIGRATE)
		ret = dmirror_migrate_to_device(o->dmirror, addr, npages,
						&cpages);
	else if (st->kind == ST_MEVICT)
		ret = dmirror_migrate_to_system(o->dmirror, addr, npages,
						&cpages);
	else
		ret = dmirror_exclusive(o->dmirror, addr, npages, &cpages);
	if (a[MDEV_PARTIAL].set &&
	    (ret == -ENOENT || ret == -EBUSY || ret == -EFAULT))
		ret = 0;
	st_ret(rt, st, ret);
}

static bool do_mirror(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	const struct rt_obj *o = &rt->objs[a[MIRROR_REGION].obj];
	unsigned long off = a[MIRROR_OFF].set ? PAGE_ALIGN(a[MIRROR_OFF].u) : 0;
	unsigned long len = a[MIRROR_LEN].set ? PAGE_ALIGN(a[MIRROR_LEN].u) :
				o->len > off ? o->len - off : 0;
	struct dmirror *dm = dmirror_create(proc_mm(rt, &a[MIRROR_PROC]),
					    o->addr + off, len >> PAGE_SHIFT);

	if (!st_check(rt, st, !IS_ERR(dm), "dmirror_create: %s",
		      errno_name(PTR_ERR(dm))))
		return false;
	rt->objs[a[MIRROR_NAME].obj].dmirror = dm;
	rt->objs[a[MIRROR_NAME].obj].len = o->len; /* its device's size */
	sample_add_dmirror(dm, obj_name(rt, &a[MIRROR_NAME]));
	return true;
}

/* ---------------------------------------------------------------------
 * hmm-fault, hmm-snapshot
 */

static const int hmm_fault_errno[] = {
	[HMMF_OK] = 0, [HMMF_EFAULT] = -EFAULT, [HMMF_EPERM] = -EPERM,
};

void rt_hmm_cmd(struct rt *rt, const struct stmt *st, struct dmirror_cmd *cmd)
{
	const struct arg *a = st->a;

	*cmd = (struct dmirror_cmd){
		.addr = rt_addr(rt, &a[HMMF_ADDR]),
		.npages = (a[HMMF_LEN].set ? a[HMMF_LEN].u : PAGE_SIZE) >>
			  PAGE_SHIFT,
	};
}

static void do_hmm_fault(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct dmirror_cmd cmd;
	int want = hmm_fault_errno[a[HMMF_EXPECT].set ? a[HMMF_EXPECT].u
						       : HMMF_OK];
	int ret;

	rt_hmm_cmd(rt, st, &cmd);
	ret = dmirror_cmd_fault(rt->objs[a[HMMF_WHO].obj].dmirror, &cmd,
				a[HMMF_WRITE].set);

	st_check(rt, st, ret == want, "hmm-fault %#lx: %s, expected %s",
		 cmd.addr, errno_name(ret), want ? errno_name(want) : "OK");
}

static const u8 hmm_prot[] = {
	[HMMS_NONE] = DMIRROR_PROT_NONE,
	[HMMS_READ] = DMIRROR_PROT_READ,
	[HMMS_WRITE] = DMIRROR_PROT_WRITE,
	[HMMS_ZERO] = DMIRROR_PROT_ZERO | DMIRROR_PROT_READ,
	[HMMS_ERROR] = DMIRROR_PROT_ERROR,
};

/* A snapshot entry in the statement's words. */
static const char *hmm_prot_name(u8 prot)
{
	static const char *const names[] = { "none", "read", "write", "zero",
					     "error" };

	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(hmm_prot); i++)
		if (hmm_prot[i] == prot)
			return names[i];
	return "?";
}

/*
 * What the statement spells of a snapshot entry: neither the map order (a
 * huge PMD) nor whether the page is in device memory.
 */
static u8 hmm_prot_words(u8 prot)
{
	if (prot == DMIRROR_PROT_ERROR)
		return prot;
	if (prot & DMIRROR_PROT_DEV_PRIVATE_LOCAL)
		prot &= (u8)~DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	return prot & (u8)~(DMIRROR_PROT_PMD | DMIRROR_PROT_PUD);
}

static void do_hmm_snapshot(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct dmirror_cmd cmd;
	u8 want = hmm_prot[a[HMMF_EXPECT].u], *prot;
	int ret;

	rt_hmm_cmd(rt, st, &cmd);
	prot = malloc(cmd.npages);
	if (!st_check(rt, st, prot, "hmm-snapshot: out of memory"))
		return;
	cmd.ptr = prot;
	ret = dmirror_cmd_snapshot(rt->objs[a[HMMF_WHO].obj].dmirror, &cmd);
	if (st_check(rt, st, !ret, "hmm-snapshot %#lx: %s", cmd.addr,
		     errno_name(ret))) {
		for (unsigned long i = 0; i < cmd.npages; i++) {
			prot[i] = hmm_prot_words(prot[i]);
			if (!st_check(rt, st, prot[i] == want,
				      "hmm-snapshot: page %#lx is %s, "
				      "expected %s",
				      cmd.addr + (i << PAGE_SHIFT),
				      hmm_prot_name(prot[i]),
				      hmm_prot_name(want)))
				break;
		}
	}
	free(prot);
}

/* ---------------------------------------------------------------------
 * expect
 */

static u64 stat_at(const struct kvm_vm_stat *vs, const struct kvm_vcpu_stat *cs,
		   unsigned int field)
{
	struct report_count c[REPORT_VM_STATS];

	if (vs)
		report_vm_stat_counts(vs, c);
	else
		report_vcpu_stat_counts(cs, c);
	return c[field].count;
}

static u64 counter_value(struct rt *rt, const struct arg *a)
{
	unsigned long inv[MMU_NOTIFY_NR_EVENTS];
	struct kvm_vcpu_stat cs;
	struct kvm_vm_stat vs;
	struct guest *g;
	u64 sum = 0;

	switch (a->scope) {
	case CTR_WARNINGS:
		return warn_count() - rt->warn0;
	case CTR_HOST_EVENT:
		return host_vm_event(rt->host, a->field);
	case CTR_HOST_INVAL:
		host_notify_events(rt->host, inv, MMU_NOTIFY_NR_EVENTS);
		return inv[a->field];
	case CTR_HOST_FREE:
		return host_nr_free_frames(rt->host);
	case CTR_HOST_KSM: {
		struct report_count c[REPORT_KSM_STATS];
		struct ksm_stats ks;

		ksm_get_stats(rt->host, &ks);
		report_ksm_counts(&ks, c);
		return c[a->field].count;
	}
	case CTR_RECORD:
		return rt->objs[a->obj].value;
	case CTR_NOTIFIER_CALL:
		return counter_calls(rt->objs[a->obj].counter, a->field);
	case CTR_NOTIFIER_EVENT:
		return counter_starts(rt->objs[a->obj].counter, a->field);
	case CTR_VCPU_STAT: {
		const struct script_obj *o = &rt->s->objs[a->obj];

		g = rt->objs[o->owner].g;
		kvm_get_vcpu_stat(g->vcpus[o->index], &cs);
		return stat_at(NULL, &cs, a->field);
	}
	}
	g = rt->objs[a->obj].g;
	if (a->scope == CTR_VM_STALE)
		return g->stale;
	if (a->scope == CTR_VM_STAT) {
		kvm_get_vm_stat(g->kvm, &vs);
		return stat_at(&vs, NULL, a->field);
	}
	for (unsigned int i = 0; i < g->nr_vcpus; i++) {
		kvm_get_vcpu_stat(g->vcpus[i], &cs);
		sum += stat_at(NULL, &cs, a->field);
	}
	return sum;
}

static void do_expect(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	u64 v = counter_value(rt, &a[EXPECT_CTR]), n = a[EXPECT_VALUE].u;
	bool ok;

	switch (a[EXPECT_OP].u) {
	case OP_EQ:
		ok = v == n;
		break;
	case OP_NE:
		ok = v != n;
		break;
	case OP_LT:
		ok = v < n;
		break;
	case OP_LE:
		ok = v <= n;
		break;
	case OP_GT:
		ok = v > n;
		break;
	default:
		ok = v >= n;
		break;
	}
	st_check(rt, st, ok, "%s: the counter is %llu", st->text,
		 (unsigned long long)v);
}

/* A counting subscriber on the process, reported at the teardown. */
static bool do_notifier(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct rt_obj *o = &rt->objs[a[NOTIFIER_NAME].obj];
	struct mm_struct *mm = proc_mm(rt, &a[NOTIFIER_PROC]);

	o->counter = calloc(1, sizeof(*o->counter));
	if (!st_check(rt, st, o->counter, "out of memory"))
		return false;
	if (!st_check(rt, st, !counter_register(o->counter, mm),
		      "mmu_notifier_register failed")) {
		free(o->counter);
		o->counter = NULL;
		return false;
	}
	o->counter_mm = mm;
	return true;
}

static void notifier_teardown(struct rt *rt, unsigned int i)
{
	struct rt_obj *o = &rt->objs[i];

	counter_report(o->counter, rt->s->objs[i].name, rt->r);
	counter_unregister(o->counter, o->counter_mm);
	free(o->counter);
	o->counter = NULL;
}

/*
 * gup: references on @count pages from ADDR (get_user_pages_unlocked()),
 * word 0 of each checked against expect= (+inc per page), then dropped.
 * pin: long-term write pins (pin_user_pages_remote()), a store of VALUE
 * into each page as a device's DMA would, then unpinned; both seen.
 */
static void do_gup(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	struct mm_struct *mm = proc_mm(rt, &a[GUP_PROC]);
	unsigned long addr = rt_addr(rt, &a[GUP_ADDR]);
	u64 n = a[GUP_COUNT].set ? a[GUP_COUNT].u : 1;
	u64 inc = a[GUP_INC].set ? a[GUP_INC].u : 1;
	bool pin = st->kind == ST_PIN;
	struct page *pages[512];
	long got;

	if (pin) {
		mmap_read_lock(mm);
		got = pin_user_pages_remote(mm, addr, n,
					    FOLL_WRITE | FOLL_LONGTERM, pages);
		mmap_read_unlock(mm);
	} else {
		got = get_user_pages_unlocked(mm, addr, n, pages, 0);
	}
	if (!st_check(rt, st, got == (long)n, "%s: %ld pages, want %llu",
		      pin ? "pin_user_pages_remote" : "get_user_pages_unlocked",
		      got, (unsigned long long)n))
		n = got > 0 ? got : 0;
	for (u64 k = 0; k < n; k++) {
		u64 val = page_read_u64(pages[k], 0);

		if (!pin) {
			st_check(rt, st, !a[GUP_EXPECT].set ||
					 val == a[GUP_EXPECT].u + k * inc,
				 "gup: page %llu holds %#llx, want %#llx",
				 (unsigned long long)k, (unsigned long long)val,
				 (unsigned long long)(a[GUP_EXPECT].u + k * inc));
			put_page(pages[k]);
			continue;
		}
		st_check(rt, st, page_maybe_dma_pinned(pages[k]),
			 "pin: page %llu not seen as pinned",
			 (unsigned long long)k);
		page_write_u64(pages[k], 0, a[GUP_VALUE].u + k * inc);
		unpin_user_page(pages[k]);
		st_check(rt, st, !page_maybe_dma_pinned(pages[k]),
			 "unpin: page %llu still seen as pinned",
			 (unsigned long long)k);
	}
}

/* A counter's value now (less another's), named in the report. */
static void do_record(struct rt *rt, const struct stmt *st)
{
	const struct arg *a = st->a;
	u64 v = counter_value(rt, &a[RECORD_CTR]);
	u64 minus = a[RECORD_MINUS].set ? counter_value(rt, &a[RECORD_MINUS])
					: 0;

	v = v > minus ? v - minus : 0;
	rt->objs[a[RECORD_NAME].obj].value = v;
	st_check(rt, st, report_record(rt->r, obj_name(rt, &a[RECORD_NAME]),
				       v),
		 "record: more than %d records", REPORT_MAX_RECORDS);
}

/* ---------------------------------------------------------------------
 * The statement loop and the teardown
 */

/*
 * What each statement runs: one that makes an object (.make) returns
 * false when it could not, which ends the run; the others (.run) cannot.
 * Statements not listed (the host, blocks, workload threads) run nothing
 * here.
 */
static const struct rt_op {
	bool (*make)(struct rt *rt, const struct stmt *st);
	void (*run)(struct rt *rt, const struct stmt *st);
} rt_ops[NR_STMT_KINDS] = {
	[ST_PROCESS] = { .make = do_process },
	[ST_MMAP] = { .make = do_mmap },
	[ST_MUNMAP] = { .run = do_range },
	[ST_MPROTECT] = { .run = do_range },
	[ST_MADVISE] = { .run = do_range },
	[ST_AGE] = { .run = do_age },
	[ST_MREMAP] = { .run = do_mremap_st },
	[ST_FORK] = { .make = do_fork },
	[ST_EXIT] = { .run = do_exit },
	[ST_OOM_REAP] = { .run = do_oom_reap },
	[ST_MEMFD] = { .make = do_memfd },
	[ST_FTRUNCATE] = { .run = do_file_op },
	[ST_PUNCH_HOLE] = { .run = do_file_op },
	[ST_WRITE] = { .run = do_access },
	[ST_READ] = { .run = do_access },
	[ST_GWRITE] = { .run = do_access },
	[ST_GREAD] = { .run = do_access },
	[ST_VM] = { .make = do_vm },
	[ST_MEMSLOT] = { .run = do_memslot },
	[ST_VCPU] = { .make = do_vcpu },
	[ST_GRU] = { .make = do_gru },
	[ST_XPMEM] = { .make = do_xpmem },
	[ST_VERIFY] = { .run = do_verify },
	[ST_KSM] = { .run = do_ksm },
	[ST_MIGRATE] = { .run = do_migrate },
	[ST_COMPACT] = { .run = do_compact },
	[ST_EXPECT] = { .run = do_expect },
	[ST_RECLAIM] = { .run = do_reclaim },
	[ST_REPLACE] = { .run = do_replace },
	[ST_WRPROTECT] = { .run = do_wrprotect },
	[ST_COW] = { .run = do_cow },
	[ST_MIRROR] = { .make = do_mirror },
	[ST_MWRITE] = { .run = do_access },
	[ST_MREAD] = { .run = do_access },
	[ST_MMIGRATE] = { .run = do_devmem },
	[ST_MEVICT] = { .run = do_devmem },
	[ST_MEXCLUSIVE] = { .run = do_devmem },
	[ST_RECORD] = { .run = do_record },
	[ST_NOTIFIER] = { .make = do_notifier },
	[ST_GUP] = { .run = do_gup },
	[ST_PIN] = { .run = do_gup },
	[ST_HMM_FAULT] = { .run = do_hmm_fault },
	[ST_HMM_SNAPSHOT] = { .run = do_hmm_snapshot },
};

bool rt_do(struct rt *rt, const struct stmt *st)
{
	const struct rt_op *op;

	if ((unsigned int)st->kind >= NR_STMT_KINDS)
		return true;
	op = &rt_ops[st->kind];
	if (op->make)
		return op->make(rt, st);
	if (op->run)
		op->run(rt, st);
	return true;
}

static void teardown(struct rt *rt);

/*
 * A later `host` statement: tear the host down as at the end of the run,
 * forget what its names stood for (the records stay), make the next.
 */
static bool next_host(struct rt *rt, const struct stmt *h)
{
	teardown(rt);
	for (unsigned int i = 0; i < rt->s->nr_objs; i++)
		rt->objs[i] = (struct rt_obj){ .value = rt->objs[i].value };
	return do_host(rt, h);
}

/* Run statement @i.  Return: the next one, or nr_stmts to stop. */
static unsigned int run_stmt(struct rt *rt, unsigned int i)
{
	const struct stmt *st = &rt->s->stmts[i];

	sample_point();
	report_sample_frames(rt->r, rt->host);
	if (st->kind != ST_HOST || (int)i != rt->s->host)
		report_step(rt->r, "%u: %s", st->line, st->text);
	if (st->kind == ST_HOST && (int)i != rt->s->host &&
	    !next_host(rt, st)) {
		report_step(rt->r, "stopped: line %u failed", st->line);
		return rt->s->nr_stmts;
	}
	if (st->kind == ST_WORKLOAD) {
		run_workload(rt, i);
		return st->block + 1;
	}
	if (st->kind == ST_RACE) {
		run_race(rt, i);
		return st->block + 1;
	}
	if (!rt_do(rt, st)) {
		report_step(rt->r, "stopped: line %u failed", st->line);
		return rt->s->nr_stmts;
	}
	return i + 1;
}

static void teardown(struct rt *rt)
{
	struct report *r = rt->r;
	unsigned long nr_free;

	if (!rt->host)	/* a later host that could not be made */
		return;

	for (unsigned int i = 0; i < rt->s->nr_objs; i++)
		if (rt->objs[i].dmirror) {
			sample_remove(rt->objs[i].dmirror);
			dmirror_destroy(rt->objs[i].dmirror);
		}
	/* What is still in device memory comes back before the frames go. */
	for (unsigned int i = 0; i < rt->s->nr_objs; i++)
		if (rt->objs[i].mdev)
			report_check(r, !dmirror_device_destroy(rt->objs[i].mdev),
				     "device memory of %s: pages still busy",
				     rt->s->objs[i].name);
	for (unsigned int i = 0; i < rt->s->nr_objs; i++) {
		struct guest *g = rt->objs[i].g;

		if (!g)
			continue;
		guest_report(g, r);
		trace_detach_vm(g);
		guest_destroy(g);
		free(g);
	}
	for (unsigned int i = 0; i < rt->s->nr_stmts; i++)
		if (rt->s->stmts[i].kind == ST_GRU &&
		    rt->objs[rt->s->stmts[i].a[GRU_NAME].obj].gts)
			gru_teardown(rt, &rt->s->stmts[i]);
		else if (rt->s->stmts[i].kind == ST_XPMEM &&
			 rt->objs[rt->s->stmts[i].a[XP_NAME].obj].seg)
			xpmem_teardown(rt, &rt->s->stmts[i]);
	for (unsigned int i = 0; i < rt->s->nr_objs; i++)
		if (rt->objs[i].mm)
			mmput(rt->objs[i].mm);
	for (unsigned int i = 0; i < rt->s->nr_objs; i++) {
		if (rt->objs[i].counter)
			notifier_teardown(rt, i);
		if (rt->s->objs[i].kind == OBJ_FILE && rt->objs[i].file)
			fput(rt->objs[i].file);
	}
	trace_detach_all();
	mmu_notifier_synchronize();
	nr_free = host_nr_free_frames(rt->host);
	r->frames_free_end += nr_free;
	/*
	 * kswapd may still hold pages it isolated from an address space now
	 * gone; host_destroy() stops it first and then WARNs (a failed run)
	 * unless every frame came back.
	 */
	report_check(r, nr_free == host_config_of(rt->host)->nr_frames - 1 ||
				host_config_of(rt->host)->kswapd,
		     "end: %lu frames free, want all but the zero page",
		     nr_free);
	report_host_counters(r, rt->host);
	if (rt->chk) {
		rt->chk->violations += checker_violations(rt->host);
		if (rt->chk->violations && rt->chk->report)
			checker_report(rt->host, stdout);
		checker_detach(rt->host);
	}
	sample_remove(rt->host);
	report_check(r, !host_destroy(rt->host), "host_destroy failed");
	rt->host = NULL;
}

void script_run(struct script *s, struct report *r)
{
	script_run_checked(s, r, NULL);
}

void script_run_checked(struct script *s, struct report *r,
			struct script_check *chk)
{
	struct rt rt = { .s = s, .r = r, .warn0 = warn_count(), .chk = chk };

	rt.objs = calloc(s->nr_objs ? s->nr_objs : 1, sizeof(*rt.objs));
	if (!report_check(r, rt.objs, "out of memory") ||
	    !do_host(&rt, s->host < 0 ? NULL : &s->stmts[s->host])) {
		free(rt.objs);
		return;
	}
	for (unsigned int i = 0; i < s->nr_stmts;) {
		/* ^C: no further statement, the teardown, the report. */
		if (interrupted()) {
			report_step(r, "interrupted (SIGINT) before line %u",
				    s->stmts[i].line);
			break;
		}
		i = run_stmt(&rt, i);
	}
	teardown(&rt);
	free(rt.objs);
}
