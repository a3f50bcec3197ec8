// SPDX-License-Identifier: MIT
/*
 * The ksm-change-pte scenario: the same guest, with the same RAM, merged
 * by KSM under each of the three change_pte eras (seed 000), side by side.
 *
 * For each mode a host of its own: a VMM whose guest RAM is
 * MADV_MERGEABLE, a VM over it whose vCPUs fill it with a few distinct
 * page contents and read it all, so that every page has an SPTE.  Then
 * KSM scans until the copies are merged, the vCPUs read everything again,
 * and one vCPU writes one page of each KSM page (a COW break of a KSM
 * page).  What each mode costs the secondary MMU shows in the VM's
 * counters:
 *
 *  - CHANGE_PTE_NONE (Linux >= 6.9): every merge is a CLEAR invalidation
 *    of the page; KVM zaps its SPTE and the next guest access faults;
 *  - CHANGE_PTE_BOOKENDED (2012-2024): the same invalidation, and a
 *    change_pte inside it that finds the SPTE already gone (calls, no
 *    hits): the fast path is dead code, the faults are the same;
 *  - CHANGE_PTE_DIRECT (2009-2012): change_pte alone, which KVM applies
 *    in place (hits): no fault after merging.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mmulab/kvm.h>
#include <mmulab/sched.h>

#include "guest.h"
#include "mmulab.h"
#include "sample.h"
#include "trace.h"

#define KSM_FRAMES 1024
#define KSM_PAGES 64		/* guest RAM */
#define KSM_DISTINCT 8		/* distinct page contents: KSM pages */
#define KSM_VCPUS 2
#define KSM_MAX_PASSES 4	/* merging takes two; allow for volatility */
#define RW (PROT_READ | PROT_WRITE)

static const enum change_pte_mode modes[] = {
	CHANGE_PTE_NONE,
	CHANGE_PTE_BOOKENDED,
	CHANGE_PTE_DIRECT,
};

static const char *const mode_names[] = { "none", "bookended", "direct" };

#define NR_MODES MMULAB_ARRAY_SIZE(modes)

/**
 * struct ksm_phase - one mode's run.
 * @r: the report.
 * @mode: the host's change_pte mode; @name, its name.
 * @host: the host.
 * @mm: the VMM.
 * @ram: guest RAM in the VMM, memslot 0 at gpa 0.
 * @vm: the VM.
 * @want: what word 0 of each guest page holds.
 * @faults_after: secondary faults the vCPUs took reading RAM after the
 *	merge.
 */
struct ksm_phase {
	struct report *r;
	enum change_pte_mode mode;
	const char *name;
	struct host *host;
	struct mm_struct *mm;
	unsigned long ram;
	struct guest vm;
	u64 want[KSM_PAGES];
	unsigned long faults_after;
};

struct ksm_task {
	struct ksm_phase *ph;
	unsigned int idx;
	void (*fn)(struct ksm_phase *ph, unsigned int idx);
};

static void step(struct ksm_phase *ph, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void step(struct ksm_phase *ph, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	if (ph->host)
		report_sample_frames(ph->r, ph->host);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report_step(ph->r, "%s", line);
}

static bool check_ret(struct ksm_phase *ph, long ret, long want,
		      const char *what)
{
	return report_check(ph->r, ret == want, "%s: %s returned %ld (%s), "
				   "want %ld", ph->name, what, ret,
			    errno_name(ret < 0 ? ret : 0), want);
}

static u64 content(unsigned int page)
{
	return page % KSM_DISTINCT + 1;
}

static int ksm_task_fn(void *data)
{
	struct ksm_task *t = data;

	t->fn(t->ph, t->idx);
	return 0;
}

/* Run @fn for every vCPU on a task of its own, and wait for them. */
static void run_vcpus(struct ksm_phase *ph,
		      void (*fn)(struct ksm_phase *, unsigned int))
{
	struct ksm_task args[KSM_VCPUS];
	struct task_struct *t[KSM_VCPUS];
	char name[16];

	for (unsigned int i = 0; i < KSM_VCPUS; i++) {
		args[i] = (struct ksm_task){ ph, i, fn };
		snprintf(name, sizeof(name), "%.9s-v%u", ph->name, i);
		t[i] = kthread_run(ksm_task_fn, &args[i], name);
		if (!check_ret(ph, IS_ERR(t[i]) ? PTR_ERR(t[i]) : 0, 0,
			       "kthread_run"))
			t[i] = NULL;
	}
	for (unsigned int i = 0; i < KSM_VCPUS; i++)
		if (t[i])
			kthread_stop(t[i]);
}

/* vCPU @idx fills its half of guest RAM. */
static void vcpu_fill(struct ksm_phase *ph, unsigned int idx)
{
	for (unsigned int i = idx; i < KSM_PAGES; i += KSM_VCPUS)
		if (check_ret(ph, guest_write(&ph->vm, idx, i * PAGE_SIZE,
					      content(i)),
			      0, "guest write"))
			ph->want[i] = content(i);
}

/* vCPU @idx reads all of guest RAM. */
static void vcpu_read_all(struct ksm_phase *ph, unsigned int idx)
{
	for (unsigned int i = 0; i < KSM_PAGES; i++) {
		u64 val = 0;
		int ret = guest_read(&ph->vm, idx, i * PAGE_SIZE, &val);

		report_check(ph->r, !ret && val == ph->want[i],
			     "%s: vcpu %u read of page %u: %s %#llx, want "
			     "%#llx", ph->name, idx, i, errno_name(ret),
			     (unsigned long long)val,
			     (unsigned long long)ph->want[i]);
	}
}

static unsigned long vcpu_faults(struct ksm_phase *ph)
{
	struct kvm_vcpu_stat st;
	unsigned long n = 0;

	for (unsigned int i = 0; i < ph->vm.nr_vcpus; i++) {
		kvm_get_vcpu_stat(ph->vm.vcpus[i], &st);
		n += st.pf_taken;
	}
	return n;
}

static bool setup(struct ksm_phase *ph)
{
	struct host_config cfg = {
		.nr_frames = KSM_FRAMES,
		.content = HOST_CONTENT_DATA,
		.change_pte = ph->mode,
	};
	char vmm[24];
	long ret;

	step(ph, "%s: host with change_pte %s; guest RAM of %d "
			 "pages, MADV_MERGEABLE; a VM with %d vCPUs over it",
		  ph->name, ph->name, KSM_PAGES, KSM_VCPUS);
	ph->host = host_create(&cfg);
	if (!check_ret(ph, IS_ERR(ph->host) ? PTR_ERR(ph->host) : 0, 0,
		       "host_create")) {
		ph->host = NULL;
		return false;
	}
	sample_add_host(ph->host, ph->name);
	report_host_config(ph->r, ph->host);
	ph->mm = mm_alloc(ph->host);
	if (!check_ret(ph, IS_ERR(ph->mm) ? PTR_ERR(ph->mm) : 0, 0,
		       "mm_alloc")) {
		ph->mm = NULL;
		return false;
	}
	snprintf(vmm, sizeof(vmm), "vmm-%s", ph->name);
	check_ret(ph, trace_attach_mm(ph->mm, vmm), 0,
		  "mmu_notifier_register (tracer)");
	ret = vm_mmap(ph->mm, 0, KSM_PAGES * PAGE_SIZE, RW,
		      MAP_PRIVATE | MAP_ANONYMOUS);
	if (!report_check(ph->r, ret > 0, "%s: vm_mmap: %s", ph->name,
			  errno_name(ret)))
		return false;
	ph->ram = ret;
	if (!check_ret(ph, do_madvise(ph->mm, ph->ram, KSM_PAGES * PAGE_SIZE,
				      MADV_MERGEABLE),
		       0, "madvise(MADV_MERGEABLE)") ||
	    !check_ret(ph, guest_create(&ph->vm, ph->name, ph->mm, false), 0,
		       "kvm_create_vm"))
		return false;
	trace_attach_vm(&ph->vm);
	if (!check_ret(ph, guest_memslot(&ph->vm, 0, 0, KSM_PAGES * PAGE_SIZE,
					 ph->ram, false),
		       0, "kvm_set_user_memory_region"))
		return false;
	for (unsigned int i = 0; i < KSM_VCPUS; i++)
		if (!check_ret(ph, guest_add_vcpu(&ph->vm), i,
			       "kvm_vcpu_create"))
			return false;
	return true;
}

/* Scan until the copies are merged; false if they never are. */
static bool merge(struct ksm_phase *ph)
{
	unsigned long sharing = KSM_PAGES - KSM_DISTINCT;
	struct ksm_stats ks = { 0 };

	for (unsigned int pass = 0; pass < KSM_MAX_PASSES; pass++) {
		if (!report_check(ph->r, ksm_scan(ph->host, KSM_PAGES) >= 0,
				  "%s: ksm_scan failed", ph->name))
			return false;
		ksm_get_stats(ph->host, &ks);
		if (ks.pages_sharing == sharing)
			break;
	}
	return report_check(ph->r, ks.pages_shared == KSM_DISTINCT &&
					   ks.pages_sharing == sharing,
			    "%s: KSM shares %lu pages by %lu, want %d by %lu",
			    ph->name, ks.pages_shared, ks.pages_sharing,
			    KSM_DISTINCT, sharing);
}

static u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Merge, then read everything back; the part of the phase that is timed. */
static u64 merge_and_read(struct ksm_phase *ph)
{
	u64 t0 = now_us();
	unsigned long before;

	step(ph, "%s: KSM scans guest RAM until its %d copies are "
			 "merged into %d KSM pages; the vCPUs read it all again",
		  ph->name, KSM_PAGES - KSM_DISTINCT, KSM_DISTINCT);
	if (!merge(ph))
		return 0;
	before = vcpu_faults(ph);
	run_vcpus(ph, vcpu_read_all);
	ph->faults_after = vcpu_faults(ph) - before;
	t0 = now_us() - t0;
	step(ph, "%s: reading guest RAM after the merge took %lu secondary "
		 "faults", ph->name, ph->faults_after);
	return t0;
}

/* vCPU 0 writes the first page of each KSM page: COW breaks. */
static void cow_break(struct ksm_phase *ph)
{
	step(ph, "%s: vcpu 0 writes one page of each KSM page (a COW "
			 "break of a KSM page); both sides must agree after",
		  ph->name);
	for (unsigned int i = 0; i < KSM_DISTINCT; i++)
		if (check_ret(ph, guest_write(&ph->vm, 0, i * PAGE_SIZE,
					      content(i) + 100),
			      0, "guest write to a KSM page"))
			ph->want[i] = content(i) + 100;
	run_vcpus(ph, vcpu_read_all);
	guest_verify(&ph->vm, ph->r, ph->name, false);
	guest_verify_data(&ph->vm, ph->r, ph->name);
}

static void teardown(struct ksm_phase *ph, u64 elapsed)
{
	struct report_vm *v;
	unsigned long free;

	if (ph->vm.kvm) {
		guest_report(&ph->vm, ph->r);
		v = &ph->r->vms[ph->r->nr_vms - 1];
		v->timed = elapsed && !det_active();
		v->elapsed_us = v->timed ? elapsed : 0;
		trace_detach_vm(&ph->vm);
		guest_destroy(&ph->vm);
	}
	if (ph->mm)
		mmput(ph->mm);
	trace_detach_all();
	if (!ph->host)
		return;
	free = host_nr_free_frames(ph->host);
	ph->r->frames_free_end += free;
	report_check(ph->r, free == KSM_FRAMES - 1,
		     "%s: %lu frames free at the end, want all but the zero "
		     "page", ph->name, free);
	report_host_counters(ph->r, ph->host);
	sample_remove(ph->host);
	check_ret(ph, host_destroy(ph->host), 0, "host_destroy");
}

/* What each era must show; see the comment at the top. */
static void check_mode(struct ksm_phase *ph)
{
	struct kvm_vm_stat st;

	kvm_get_vm_stat(ph->vm.kvm, &st);
	switch (ph->mode) {
	case CHANGE_PTE_NONE:
		report_check(ph->r, !st.change_pte_calls,
			     "none: %lu change_pte calls, want 0",
			     st.change_pte_calls);
		break;
	case CHANGE_PTE_BOOKENDED:
		report_check(ph->r, st.change_pte_calls && !st.change_pte_hits,
			     "bookended: %lu change_pte calls, %lu hits; "
			     "want calls and no hit", st.change_pte_calls,
			     st.change_pte_hits);
		break;
	case CHANGE_PTE_DIRECT:
		report_check(ph->r, st.change_pte_hits,
			     "direct: no change_pte call found its SPTE");
		break;
	}
	report_check(ph->r, !st.change_pte_warn,
		     "%s: %lu change_pte calls outside an invalidation",
		     ph->name, st.change_pte_warn);
}

static void run_phase(struct ksm_phase *ph)
{
	u64 elapsed = 0;

	if (setup(ph)) {
		step(ph, "%s: the vCPUs fill guest RAM with %d distinct "
				 "pages and read it all", ph->name,
			  KSM_DISTINCT);
		run_vcpus(ph, vcpu_fill);
		run_vcpus(ph, vcpu_read_all);
		elapsed = merge_and_read(ph);
		cow_break(ph);
		check_mode(ph);
	}
	teardown(ph, elapsed);
}

void scenario_ksm_change_pte(struct report *r)
{
	static struct ksm_phase phases[NR_MODES];

	for (unsigned int m = 0; m < NR_MODES; m++) {
		struct ksm_phase *ph = &phases[m];

		memset(ph, 0, sizeof(*ph));
		ph->r = r;
		ph->mode = modes[m];
		ph->name = mode_names[m];
		run_phase(ph);
	}
	/* In place, or not at all: only the direct era saves the faults. */
	report_check(r, phases[2].faults_after < phases[0].faults_after &&
				phases[2].faults_after < phases[1].faults_after,
		     "faults after merging: none %lu, bookended %lu, direct "
		     "%lu; want the fewest in direct", phases[0].faults_after,
		     phases[1].faults_after, phases[2].faults_after);
}
