// SPDX-License-Identifier: MIT
/*
 * The default scenario: one process exercises the primary MMU while three
 * secondary MMUs watch its address space.
 *
 *  - "counter", a struct mmu_notifier that maps nothing and counts every
 *    callback (see counter.c);
 *  - "mirror", an HMM-style device page table of MIRROR_PAGES pages of the
 *    private mapping, kept coherent by an interval notifier (mirror.c);
 *  - "vm0", a KVM VM whose memslot maps GUEST_PAGES pages of guest RAM,
 *    with NR_VCPUS vCPUs run by their own tasks (guest.c).
 *
 * Every value read back, by the CPU, through the mirror, by a vCPU or
 * through a GUP reference, is compared with what was written; every
 * invalidation the spec prescribes for an operation is checked against
 * the counter; at quiescent points every SPTE of the VM is compared with
 * the CPU page table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mmulab/kvm.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#include "counter.h"
#include "guest.h"
#include "mirror.h"
#include "mmulab.h"
#include "sample.h"
#include "trace.h"

#define NR_FRAMES 1024
#define PRIV_PAGES 16
#define SHARED_PAGES 4
#define MIRROR_FIRST 4		/* first private page the mirror covers */
#define MIRROR_PAGES 8
#define NR_WORDS 2		/* words checked per page: first and last */
#define RACE_ROUNDS 4
#define RACE_PASSES 4
#define GUEST_PAGES 32
#define NR_VCPUS 4
#define VCPU_PAGES (GUEST_PAGES / NR_VCPUS)
#define VM_RACE_OPS 64		/* guest accesses per vCPU in the race */
#define VM_RACE_ROUNDS 4
#define RW (PROT_READ | PROT_WRITE)

/* Generations of the data written, folded into the pattern. */
enum {
	GEN_FILL = 1,
	GEN_PARENT_COW,
	GEN_CHILD_COW,
	GEN_DEVICE,
	GEN_RACE,
	GEN_DMA,
	GEN_GUEST,
	GEN_HOST_FOR_GUEST,
	GEN_GUEST_COW,
};

struct demo;

/**
 * struct vcpu_task - what one vCPU's task is asked to do.
 * @d: the run.
 * @idx: the vCPU.
 * @fn: the body.
 */
struct vcpu_task {
	struct demo *d;
	unsigned int idx;
	void (*fn)(struct demo *d, unsigned int idx);
};

static const unsigned long word_offset[NR_WORDS] = { 0, PAGE_SIZE - 8 };

/**
 * struct demo - state of one run of the scenario.
 * @r: the report.
 * @host: the host.
 * @mm: the process.
 * @child: its fork.
 * @counter: the counting subscriber (on @mm).
 * @mirror: the mirror (on @mm).
 * @counter_on: @counter is registered.
 * @mirror_on: @mirror is inserted.
 * @priv: private anonymous mapping of PRIV_PAGES pages.
 * @child_priv: where @child maps its copy of it (@priv moves on mremap).
 * @shared: shared anonymous mapping of SHARED_PAGES pages.
 * @want: what @mm's private pages hold, per page and word.
 * @child_want: the same for @child.
 * @shared_want: what the shared pages hold (both mms see them).
 * @vm: the VM.
 * @vm_on: @vm exists.
 * @guest: the guest RAM mapping, GUEST_PAGES pages, memslot 0 at gpa 0.
 * @guest_want: what guest RAM holds, per page and word.
 * @vcpu_tasks: arguments of the vCPU tasks.
 */
struct demo {
	struct report *r;
	struct host *host;
	struct mm_struct *mm;
	struct mm_struct *child;
	struct counter counter;
	struct mirror mirror;
	bool counter_on;
	bool mirror_on;
	unsigned long priv;
	unsigned long child_priv;
	unsigned long shared;
	u64 want[PRIV_PAGES][NR_WORDS];
	u64 child_want[PRIV_PAGES][NR_WORDS];
	u64 shared_want[SHARED_PAGES][NR_WORDS];
	struct guest vm;
	bool vm_on;
	unsigned long guest;
	u64 guest_want[GUEST_PAGES][NR_WORDS];
	struct vcpu_task vcpu_tasks[NR_VCPUS];
};

/* A value unique to (address, generation), never zero. */
static u64 pattern(unsigned long addr, unsigned int gen)
{
	return ((u64)addr * 0x9e3779b97f4a7c15ULL) ^ ((u64)gen << 56) ^ 1;
}

static unsigned long priv_page(const struct demo *d, unsigned int i)
{
	return d->priv + i * PAGE_SIZE;
}

static void step(struct demo *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void step(struct demo *d, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	if (d->host)
		report_sample_frames(d->r, d->host);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	report_step(d->r, "%s", line);
}

/* ---------------------------------------------------------------------
 * Checks
 */

static bool check_ret(struct demo *d, long ret, long want, const char *what)
{
	return report_check(d->r, ret == want, "%s returned %ld (%s), want %ld",
			    what, ret, errno_name(ret < 0 ? ret : 0), want);
}

static bool check_cpu(struct demo *d, struct mm_struct *mm,
		      unsigned long addr, u64 want, const char *who)
{
	u64 val = 0;
	int ret = cpu_read_u64(mm, addr, &val);

	return report_check(d->r, !ret && val == want,
			    "%s: cpu read %#lx: %s %#llx, want %#llx", who,
			    addr, errno_name(ret), (unsigned long long)val,
			    (unsigned long long)want);
}

static bool check_cpu_fault(struct demo *d, struct mm_struct *mm,
			    unsigned long addr, const char *who)
{
	u64 val;
	int ret = cpu_read_u64(mm, addr, &val);

	return report_check(d->r, ret == -EFAULT,
			    "%s: cpu read %#lx: %s, want EFAULT", who, addr,
			    errno_name(ret));
}

static bool check_device(struct demo *d, unsigned long addr, u64 want,
			 const char *who)
{
	u64 val = 0;
	int ret = mirror_read_u64(&d->mirror, addr, &val);

	return report_check(d->r, !ret && val == want,
			    "%s: device read %#lx: %s %#llx, want %#llx", who,
			    addr, errno_name(ret), (unsigned long long)val,
			    (unsigned long long)want);
}

static bool check_mirror(struct demo *d, const char *who)
{
	unsigned long bad = mirror_check(&d->mirror);

	return report_check(d->r, !bad,
			    "%s: %lu mirror entries disagree with the CPU "
			    "page table", who, bad);
}

/* The counter saw @want more starts of @event than @before. */
static bool check_starts(struct demo *d, enum mmu_notifier_event event,
			 unsigned long before, unsigned long want,
			 const char *who)
{
	unsigned long got = counter_starts(&d->counter, event) - before;

	return report_check(d->r, got == want,
			    "%s: counter saw %lu %s invalidations, want %lu",
			    who, got, mmu_notifier_event_name(event), want);
}

/* Compare @npages pages from @base with @want. */
static void check_pages(struct demo *d, struct mm_struct *mm,
			unsigned long base, unsigned int npages,
			const u64 (*want)[NR_WORDS], const char *who)
{
	for (unsigned int i = 0; i < npages; i++)
		for (unsigned int w = 0; w < NR_WORDS; w++)
			check_cpu(d, mm, base + i * PAGE_SIZE + word_offset[w],
				  want[i][w], who);
}

/* Write generation @gen to @npages pages from @base and record it. */
static void fill_pages(struct demo *d, struct mm_struct *mm,
		       unsigned long base, unsigned int npages,
		       u64 (*want)[NR_WORDS], unsigned int gen)
{
	for (unsigned int i = 0; i < npages; i++) {
		for (unsigned int w = 0; w < NR_WORDS; w++) {
			unsigned long addr =
				base + i * PAGE_SIZE + word_offset[w];
			u64 val = pattern(addr, gen);

			if (check_ret(d, cpu_write_u64(mm, addr, val), 0,
				      "cpu_write_u64"))
				want[i][w] = val;
		}
	}
}

/* ---------------------------------------------------------------------
 * The VM: guest RAM is a private mapping of the process, memslot 0 maps
 * it at gpa 0, and each vCPU is run by a task of its own.
 */

static unsigned long guest_page(const struct demo *d, unsigned int i)
{
	return d->guest + i * PAGE_SIZE;
}

static gpa_t gpa_of(unsigned int i, unsigned int w)
{
	return (gpa_t)i * PAGE_SIZE + word_offset[w];
}

static bool check_guest(struct demo *d, unsigned int vcpu, gpa_t gpa,
			u64 want, const char *who)
{
	u64 val = 0;
	int ret = guest_read(&d->vm, vcpu, gpa, &val);

	return report_check(d->r, !ret && val == want,
			    "%s: vcpu %u read gpa %#llx: %s %#llx, want "
			    "%#llx", who, vcpu, (unsigned long long)gpa,
			    errno_name(ret), (unsigned long long)val,
			    (unsigned long long)want);
}

static void check_vm_empty(struct demo *d, const char *who)
{
	struct kvm_vm_stat st;

	if (!d->vm_on)
		return;
	kvm_get_vm_stat(d->vm.kvm, &st);
	report_check(d->r, !st.pages_4k && !st.pages_2m,
		     "%s: vm0 kept %lu SPTEs", who, st.pages_4k + st.pages_2m);
}

static int vcpu_task_fn(void *data)
{
	struct vcpu_task *t = data;

	t->fn(t->d, t->idx);
	return 0;
}

/* Run @fn(d, i) for every vCPU i, each on its own task, and wait. */
static void run_vcpus(struct demo *d, void (*fn)(struct demo *, unsigned int))
{
	struct task_struct *t[NR_VCPUS];
	char name[16];

	for (unsigned int i = 0; i < NR_VCPUS; i++) {
		d->vcpu_tasks[i] = (struct vcpu_task){ d, i, fn };
		snprintf(name, sizeof(name), "vcpu%u", i);
		t[i] = kthread_run(vcpu_task_fn, &d->vcpu_tasks[i], name);
		if (!check_ret(d, IS_ERR(t[i]) ? PTR_ERR(t[i]) : 0, 0,
			       "kthread_run"))
			t[i] = NULL;
	}
	for (unsigned int i = 0; i < NR_VCPUS; i++)
		if (t[i])
			kthread_stop(t[i]);
}

static bool do_vm_setup(struct demo *d)
{
	long ret;

	ret = vm_mmap(d->mm, 0, GUEST_PAGES * PAGE_SIZE, RW,
		      MAP_PRIVATE | MAP_ANONYMOUS);
	if (!report_check(d->r, ret > 0, "vm_mmap guest RAM: %s",
			  errno_name(ret)))
		return false;
	d->guest = ret;
	step(d, "vm: kvm_create_vm; memslot 0 maps gpa 0 to %d private pages "
		"at %#lx; %d vCPUs", GUEST_PAGES, d->guest, NR_VCPUS);
	ret = guest_create(&d->vm, "vm0", d->mm, false);
	if (!check_ret(d, ret, 0, "kvm_create_vm"))
		return false;
	d->vm_on = true;
	trace_attach_vm(&d->vm);
	ret = guest_memslot(&d->vm, 0, 0, GUEST_PAGES * PAGE_SIZE, d->guest,
			    false);
	if (!check_ret(d, ret, 0, "kvm_set_user_memory_region"))
		return false;
	for (unsigned int i = 0; i < NR_VCPUS; i++)
		if (!check_ret(d, guest_add_vcpu(&d->vm), i,
			       "kvm_vcpu_create"))
			return false;
	return true;
}

/* Each vCPU writes both words of its own pages and reads them back. */
static void vcpu_fill(struct demo *d, unsigned int idx)
{
	for (unsigned int i = idx * VCPU_PAGES; i < (idx + 1) * VCPU_PAGES;
	     i++) {
		for (unsigned int w = 0; w < NR_WORDS; w++) {
			gpa_t gpa = gpa_of(i, w);
			u64 val = pattern(gpa, GEN_GUEST);

			if (check_ret(d, guest_write(&d->vm, idx, gpa, val), 0,
				      "guest write"))
				d->guest_want[i][w] = val;
			check_guest(d, idx, gpa, val, "vm fill");
		}
	}
}

/* Each vCPU reads every page of guest RAM. */
static void vcpu_read_all(struct demo *d, unsigned int idx)
{
	for (unsigned int i = 0; i < GUEST_PAGES; i++)
		for (unsigned int w = 0; w < NR_WORDS; w++)
			check_guest(d, idx, gpa_of(i, w), d->guest_want[i][w],
				    "vm read");
}

static void do_vm_fill(struct demo *d)
{
	step(d, "vm: %d vCPU tasks write and read back %d guest pages each; "
		"the host reads them all", NR_VCPUS, VCPU_PAGES);
	run_vcpus(d, vcpu_fill);
	check_pages(d, d->mm, d->guest, GUEST_PAGES, d->guest_want,
		    "vm fill");
	step(d, "vm: the host rewrites guest RAM; every vCPU reads all of it");
	fill_pages(d, d->mm, d->guest, GUEST_PAGES, d->guest_want,
		   GEN_HOST_FOR_GUEST);
	run_vcpus(d, vcpu_read_all);
	guest_verify(&d->vm, d->r, "vm fill", false);
}

static void do_vm_aging(struct demo *d)
{
	unsigned long start = d->guest, end = guest_page(d, GUEST_PAGES);
	struct kvm_vm_stat before, after;

	step(d, "vm aging: clear_flush_young over guest RAM finds young "
		"SPTEs, then none; a guest read makes one young again");
	kvm_get_vm_stat(d->vm.kvm, &before);
	check_ret(d, mmu_notifier_clear_flush_young(d->mm, start, end), 1,
		  "clear_flush_young of guest RAM");
	check_ret(d, mmu_notifier_clear_flush_young(d->mm, start, end), 0,
		  "second clear_flush_young");
	check_ret(d, mmu_notifier_test_young(d->mm, start), 0, "test_young");
	check_guest(d, 0, 0, d->guest_want[0][0], "vm aging");
	check_ret(d, mmu_notifier_test_young(d->mm, start), 1,
		  "test_young after a guest read");
	kvm_get_vm_stat(d->vm.kvm, &after);
	report_check(d->r, after.age_calls - before.age_calls == 4 &&
				   after.age_young - before.age_young == 2,
		     "vm aging: %lu aging calls, %lu young, want 4 and 2",
		     after.age_calls - before.age_calls,
		     after.age_young - before.age_young);
}

static void do_vm_cow(struct demo *d)
{
	unsigned long clear = counter_starts(&d->counter, MMU_NOTIFY_CLEAR);
	u64 old = d->guest_want[0][0];
	u64 val = pattern(gpa_of(0, 0), GEN_GUEST_COW);
	u64 spte;

	step(d, "vm cow: vcpu 0 writes COW-shared guest page 0 (its GUP "
		"breaks COW); vcpu 1 reads page 1 through a read-only SPTE");
	if (check_ret(d, guest_write(&d->vm, 0, 0, val), 0, "guest write"))
		d->guest_want[0][0] = val;
	check_starts(d, MMU_NOTIFY_CLEAR, clear, 1, "vm cow");
	check_cpu(d, d->mm, d->guest, val, "vm cow parent");
	check_cpu(d, d->child, d->guest, old, "vm cow child");
	check_guest(d, 1, gpa_of(1, 0), d->guest_want[1][0], "vm cow");
	spte = kvm_lookup_spte(d->vm.kvm, gpa_of(1, 0));
	report_check(d->r,
		     (spte & KVM_SPTE_PRESENT) && !(spte & KVM_SPTE_WRITABLE),
		     "vm cow: SPTE of a COW-shared page is %#llx, want "
		     "present and read-only", (unsigned long long)spte);
	guest_verify(&d->vm, d->r, "vm cow", false);
}

/*
 * Values written during the VM race name their page, so a read that
 * returns another page's value (a stale SPTE onto a recycled frame) is
 * caught even though the interleaving is unknown.
 */
static u64 vm_value(unsigned int page, unsigned int writer, unsigned int seq)
{
	return 0xa5ULL << 56 | (u64)page << 32 | writer << 16 | (seq & 0xffff);
}

static bool vm_value_ok(const struct demo *d, unsigned int page, u64 val)
{
	return !val || val == d->guest_want[page][0] ||
	       (val >> 56 == 0xa5 && (val >> 32 & 0xffffff) == page);
}

static void vcpu_race(struct demo *d, unsigned int idx)
{
	u32 s = idx * 2654435761u + 1;

	for (unsigned int n = 0; n < VM_RACE_OPS; n++) {
		unsigned int page;
		u64 val = 0;
		int ret;

		s = s * 1103515245u + 12345u;
		page = (s >> 8) % GUEST_PAGES;
		if (s >> 30 & 1) {
			ret = guest_write(&d->vm, idx, gpa_of(page, 0),
					  vm_value(page, idx, n));
			/* While the host has guest RAM read-only. */
			report_check(d->r, !ret || ret == -EFAULT,
				     "vm race: vcpu %u write of page %u: %s",
				     idx, page, errno_name(ret));
			continue;
		}
		ret = guest_read(&d->vm, idx, gpa_of(page, 0), &val);
		report_check(d->r, !ret && vm_value_ok(d, page, val),
			     "vm race: vcpu %u read of page %u: %s %#llx", idx,
			     page, errno_name(ret), (unsigned long long)val);
	}
}

static int vm_race_vcpus(void *data)
{
	run_vcpus(data, vcpu_race);
	return 0;
}

static void vm_race_round(struct demo *d, unsigned int round)
{
	unsigned long len = GUEST_PAGES * PAGE_SIZE;
	unsigned int first = round * 4 % GUEST_PAGES;

	check_ret(d, do_madvise(d->mm, guest_page(d, first), 4 * PAGE_SIZE,
				MADV_DONTNEED),
		  0, "vm race: do_madvise(MADV_DONTNEED)");
	check_ret(d, cpu_write_u64(d->mm, guest_page(d, first + 4),
				   vm_value(first + 4, 0xff, round)),
		  0, "vm race: cpu_write_u64");
	check_ret(d, do_mprotect(d->mm, d->guest, len, PROT_READ), 0,
		  "vm race: do_mprotect(PROT_READ)");
	check_ret(d, do_mprotect(d->mm, d->guest, len, RW), 0,
		  "vm race: do_mprotect(PROT_READ|PROT_WRITE)");
}

static void do_vm_race(struct demo *d)
{
	struct task_struct *t;

	step(d, "vm race: %d vCPU tasks make %d random guest accesses each "
		"while the host zaps, rewrites and write-protects guest RAM "
		"%d times", NR_VCPUS, VM_RACE_OPS, VM_RACE_ROUNDS);
	t = kthread_run(vm_race_vcpus, d, "vcpus");
	if (!check_ret(d, IS_ERR(t) ? PTR_ERR(t) : 0, 0, "kthread_run"))
		return;
	for (unsigned int round = 0; round < VM_RACE_ROUNDS; round++) {
		vm_race_round(d, round);
		cond_resched();
	}
	kthread_stop(t);
	/* Quiescent: every SPTE against the CPU page table, then the data
	 * as each side reads it. */
	guest_verify(&d->vm, d->r, "vm race", false);
	guest_verify_data(&d->vm, d->r, "vm race");
}

/* The VMM exits with the VM alive: release zaps every SPTE. */
static void vm_after_exit(struct demo *d)
{
	u64 val;

	check_vm_empty(d, "exit");
	check_ret(d, guest_read(&d->vm, 0, 0, &val), -EFAULT,
		  "guest read after the VMM exited");
	guest_verify(&d->vm, d->r, "exit", false);
}

static void vm_teardown(struct demo *d)
{
	if (!d->vm_on)
		return;
	guest_report(&d->vm, d->r);
	trace_detach_vm(&d->vm);
	guest_destroy(&d->vm);
	d->vm_on = false;
}

/* ---------------------------------------------------------------------
 * Steps.  Each returns false when the rest cannot run meaningfully.
 */

static bool do_setup(struct demo *d)
{
	struct host_config cfg = {
		.nr_frames = NR_FRAMES,
		.content = HOST_CONTENT_DATA,
		.change_pte = CHANGE_PTE_NONE,
	};
	long ret;

	step(d, "host: %lu frames of data; mm; counter subscribes to it",
	     cfg.nr_frames);
	d->host = host_create(&cfg);
	if (!check_ret(d, IS_ERR(d->host) ? PTR_ERR(d->host) : 0, 0,
		       "host_create")) {
		d->host = NULL;
		return false;
	}
	sample_add_host(d->host, "host");
	report_host_config(d->r, d->host);
	d->mm = mm_alloc(d->host);
	if (!check_ret(d, IS_ERR(d->mm) ? PTR_ERR(d->mm) : 0, 0, "mm_alloc")) {
		d->mm = NULL;
		return false;
	}
	if (!check_ret(d, trace_attach_mm(d->mm, "vmm"), 0,
		       "mmu_notifier_register (tracer)"))
		return false;
	d->counter_on = check_ret(d, counter_register(&d->counter, d->mm), 0,
				  "mmu_notifier_register");
	if (!d->counter_on)
		return false;

	ret = vm_mmap(d->mm, 0, PRIV_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS);
	if (!report_check(d->r, ret > 0, "vm_mmap private: %s",
			  errno_name(ret)))
		return false;
	d->priv = ret;
	ret = vm_mmap(d->mm, 0, SHARED_PAGES * PAGE_SIZE,
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
	if (!report_check(d->r, ret > 0, "vm_mmap shared: %s",
			  errno_name(ret)))
		return false;
	d->shared = ret;
	step(d, "mmap: private anon %d pages at %#lx, shared anon %d at %#lx",
	     PRIV_PAGES, d->priv, SHARED_PAGES, d->shared);

	step(d, "mirror: interval notifier on private pages %d-%d",
	     MIRROR_FIRST, MIRROR_FIRST + MIRROR_PAGES - 1);
	d->mirror_on = check_ret(d, mirror_init(&d->mirror, d->mm,
						priv_page(d, MIRROR_FIRST),
						MIRROR_PAGES),
				 0, "mmu_interval_notifier_insert");
	return d->mirror_on;
}

static void do_fill(struct demo *d)
{
	step(d, "cpu: write 2 words to each page of both mappings, read back");
	fill_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, GEN_FILL);
	fill_pages(d, d->mm, d->shared, SHARED_PAGES, d->shared_want,
		   GEN_FILL);
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "fill");
	check_pages(d, d->mm, d->shared, SHARED_PAGES, d->shared_want, "fill");
}

static void do_mirror(struct demo *d)
{
	unsigned long addr = priv_page(d, MIRROR_FIRST + 1) + 8;
	u64 val = pattern(addr, GEN_DEVICE);

	step(d, "mirror: device reads its %d pages, writes one; cpu sees it",
	     MIRROR_PAGES);
	for (unsigned int i = MIRROR_FIRST; i < MIRROR_FIRST + MIRROR_PAGES;
	     i++)
		check_device(d, priv_page(d, i), d->want[i][0], "mirror");
	check_ret(d, mirror_write_u64(&d->mirror, addr, val), 0,
		  "device write");
	check_cpu(d, d->mm, addr, val, "mirror");
	check_mirror(d, "mirror");
}

static void do_aging(struct demo *d)
{
	unsigned long end = priv_page(d, PRIV_PAGES);
	unsigned long before[NR_CNT_CALLBACKS];

	step(d, "aging: clear_flush_young, clear_young, test_young as LRU "
		"aging sends them");
	for (unsigned int i = 0; i < NR_CNT_CALLBACKS; i++)
		before[i] = counter_calls(&d->counter, i);
	/* Neither subscriber holds an accessed bit: all answer "old". */
	check_ret(d, mmu_notifier_clear_flush_young(d->mm, d->priv, end), 0,
		  "clear_flush_young");
	check_ret(d, mmu_notifier_clear_young(d->mm, d->priv, end), 0,
		  "clear_young");
	check_ret(d, mmu_notifier_test_young(d->mm, d->priv), 0, "test_young");
	for (unsigned int i = CNT_CLEAR_FLUSH_YOUNG; i <= CNT_TEST_YOUNG; i++) {
		unsigned long calls = counter_calls(&d->counter, i) - before[i];

		report_check(d->r, calls == 1,
			     "aging: counter got %lu %s calls, want 1", calls,
			     counter_callback_name(i));
	}
}

static bool do_fork(struct demo *d)
{
	unsigned long prot_page =
		counter_starts(&d->counter, MMU_NOTIFY_PROTECTION_PAGE);

	step(d, "fork: dup_mm; parent's private pages and guest RAM become "
		"COW-shared");
	d->child = dup_mm(d->mm);
	if (!check_ret(d, IS_ERR(d->child) ? PTR_ERR(d->child) : 0, 0,
		       "dup_mm")) {
		d->child = NULL;
		return false;
	}
	d->child_priv = d->priv;
	memcpy(d->child_want, d->want, sizeof(d->want));
	check_ret(d, trace_attach_mm(d->child, "child"), 0,
		  "mmu_notifier_register (tracer)");
	/* Two COW mappings (private, guest RAM): two PROTECTION_PAGE ranges
	 * on the parent; the VM dropped every SPTE of guest RAM. */
	check_starts(d, MMU_NOTIFY_PROTECTION_PAGE, prot_page, 2, "fork");
	check_vm_empty(d, "fork");
	report_check(d->r, !mirror_valid_entries(&d->mirror),
		     "fork: mirror kept entries across the parent's "
		     "write-protection");
	check_pages(d, d->child, d->child_priv, PRIV_PAGES, d->child_want,
		    "child");
	check_pages(d, d->child, d->shared, SHARED_PAGES, d->shared_want,
		    "child");
	return true;
}

static void do_cow(struct demo *d)
{
	unsigned long clear = counter_starts(&d->counter, MMU_NOTIFY_CLEAR);

	step(d, "cow: parent writes page 0, child writes page 1 and a "
		"shared page");
	fill_pages(d, d->mm, priv_page(d, 0), 1, &d->want[0], GEN_PARENT_COW);
	fill_pages(d, d->child, priv_page(d, 1), 1, &d->child_want[1],
		   GEN_CHILD_COW);
	fill_pages(d, d->child, d->shared, 1, d->shared_want, GEN_CHILD_COW);
	/* Only the parent has subscribers: one COW break, one CLEAR. */
	check_starts(d, MMU_NOTIFY_CLEAR, clear, 1, "cow");
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "cow parent");
	check_pages(d, d->child, d->child_priv, PRIV_PAGES, d->child_want,
		    "cow child");
	check_pages(d, d->mm, d->shared, SHARED_PAGES, d->shared_want,
		    "cow shared");
}

static void do_mirror_cow(struct demo *d)
{
	unsigned int i = MIRROR_FIRST + 3;
	unsigned long addr = priv_page(d, i) + 8;
	long retries = atomic_long_read(&d->mirror.stats.retries);
	unsigned long clear = counter_starts(&d->counter, MMU_NOTIFY_CLEAR);
	u64 val = pattern(addr, GEN_DEVICE);
	u64 old = 0;

	step(d, "mirror: device writes COW-shared page %u; its own GUP "
		"breaks COW and it retries", i);
	cpu_read_u64(d->child, addr, &old);
	check_ret(d, mirror_write_u64(&d->mirror, addr, val), 0,
		  "device write");
	check_starts(d, MMU_NOTIFY_CLEAR, clear, 1, "mirror cow");
	report_check(d->r,
		     atomic_long_read(&d->mirror.stats.retries) > retries,
		     "mirror cow: an invalidation inside the read window "
		     "caused no retry");
	check_cpu(d, d->mm, addr, val, "mirror cow parent");
	check_cpu(d, d->child, addr, old, "mirror cow child");
	for (i = MIRROR_FIRST; i < MIRROR_FIRST + MIRROR_PAGES; i++)
		check_device(d, priv_page(d, i), d->want[i][0], "mirror cow");
	check_mirror(d, "mirror cow");
}

static void do_mprotect_step(struct demo *d)
{
	unsigned long len = PRIV_PAGES * PAGE_SIZE;
	unsigned long prot_vma =
		counter_starts(&d->counter, MMU_NOTIFY_PROTECTION_VMA);
	unsigned long addr = priv_page(d, 2);

	step(d, "mprotect: private mapping read-only; cpu and device writes "
		"fault; back to read-write");
	check_ret(d, do_mprotect(d->mm, d->priv, len, PROT_READ), 0,
		  "do_mprotect(PROT_READ)");
	check_ret(d, cpu_write_u64(d->mm, addr, 0), -EFAULT,
		  "cpu write to read-only page");
	check_ret(d, mirror_write_u64(&d->mirror, priv_page(d, MIRROR_FIRST),
				      0),
		  -EFAULT, "device write to read-only page");
	check_cpu(d, d->mm, addr, d->want[2][0], "mprotect");
	check_device(d, priv_page(d, MIRROR_FIRST), d->want[MIRROR_FIRST][0],
		     "mprotect");
	check_mirror(d, "mprotect");
	check_ret(d, do_mprotect(d->mm, d->priv, len, PROT_READ | PROT_WRITE),
		  0, "do_mprotect(PROT_READ|PROT_WRITE)");
	/* Upgrades notify too. */
	check_starts(d, MMU_NOTIFY_PROTECTION_VMA, prot_vma, 2, "mprotect");
	fill_pages(d, d->mm, addr, 1, &d->want[2], GEN_PARENT_COW);
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "mprotect");
}

static void do_dontneed(struct demo *d)
{
	unsigned int first = MIRROR_FIRST + 4;
	unsigned long clear = counter_starts(&d->counter, MMU_NOTIFY_CLEAR);

	step(d, "madvise: MADV_DONTNEED private pages %u-%u; cpu and device "
		"read zeros, child keeps its copy", first, first + 1);
	check_ret(d, do_madvise(d->mm, priv_page(d, first), 2 * PAGE_SIZE,
				MADV_DONTNEED),
		  0, "do_madvise(MADV_DONTNEED)");
	check_starts(d, MMU_NOTIFY_CLEAR, clear, 1, "madvise");
	memset(&d->want[first], 0, 2 * sizeof(d->want[0]));
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "madvise");
	check_device(d, priv_page(d, first), 0, "madvise");
	check_device(d, priv_page(d, first + 1), 0, "madvise");
	check_mirror(d, "madvise");
	check_pages(d, d->child, d->child_priv, PRIV_PAGES, d->child_want,
		    "madvise child");
}

/* ---------------------------------------------------------------------
 * The race: a device task reads through the mirror while the CPU zaps,
 * rewrites and write-protects the mirrored pages.  Under --seed the
 * deterministic scheduler picks the interleaving.
 */

static u64 race_value(const struct demo *d, unsigned int i)
{
	return pattern(priv_page(d, i), GEN_RACE);
}

static int race_device(void *data)
{
	struct demo *d = data;

	for (unsigned int pass = 0; pass < RACE_PASSES; pass++) {
		for (unsigned int i = MIRROR_FIRST;
		     i < MIRROR_FIRST + MIRROR_PAGES; i++) {
			unsigned long addr = priv_page(d, i);
			u64 val = 0;
			int ret = mirror_read_u64(&d->mirror, addr, &val);

			/* Zapped (zero page) or rewritten: nothing else. */
			report_check(d->r,
				     !ret && (!val || val == race_value(d, i)),
				     "race: device read %#lx: %s %#llx", addr,
				     errno_name(ret), (unsigned long long)val);
		}
		check_mirror(d, "race");
	}
	return 0;
}

static void race_round(struct demo *d)
{
	unsigned long start = priv_page(d, MIRROR_FIRST);
	unsigned long len = PRIV_PAGES * PAGE_SIZE;

	check_ret(d, do_madvise(d->mm, start, MIRROR_PAGES * PAGE_SIZE,
				MADV_DONTNEED),
		  0, "race: do_madvise(MADV_DONTNEED)");
	for (unsigned int i = MIRROR_FIRST; i < MIRROR_FIRST + MIRROR_PAGES;
	     i++)
		check_ret(d, cpu_write_u64(d->mm, priv_page(d, i),
					   race_value(d, i)),
			  0, "race: cpu_write_u64");
	check_ret(d, do_mprotect(d->mm, d->priv, len, PROT_READ), 0,
		  "race: do_mprotect(PROT_READ)");
	check_ret(d, do_mprotect(d->mm, d->priv, len, PROT_READ | PROT_WRITE),
		  0, "race: do_mprotect(PROT_READ|PROT_WRITE)");
}

static void do_race(struct demo *d)
{
	struct task_struct *t;

	step(d, "race: device task reads the mirror %d times while the cpu "
		"zaps, rewrites and write-protects it %d times",
	     RACE_PASSES * MIRROR_PAGES, RACE_ROUNDS);
	race_round(d);
	t = kthread_run(race_device, d, "device");
	if (!check_ret(d, IS_ERR(t) ? PTR_ERR(t) : 0, 0, "kthread_run"))
		return;
	for (unsigned int round = 1; round < RACE_ROUNDS; round++) {
		race_round(d);
		cond_resched();
	}
	kthread_stop(t);

	/* Every word of the mirrored pages is zero but the rewritten one. */
	for (unsigned int i = MIRROR_FIRST; i < MIRROR_FIRST + MIRROR_PAGES;
	     i++) {
		d->want[i][0] = race_value(d, i);
		d->want[i][1] = 0;
		check_device(d, priv_page(d, i), d->want[i][0], "race end");
	}
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "race end");
	check_mirror(d, "race end");
}

static bool do_mremap_step(struct demo *d)
{
	unsigned long len = PRIV_PAGES * PAGE_SIZE;
	unsigned long unmap = counter_starts(&d->counter, MMU_NOTIFY_UNMAP);
	unsigned long old = d->priv;
	u64 val;
	long dst, ret;

	/* Reserve a destination, as userspace does, then move onto it. */
	dst = vm_mmap(d->mm, 0, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (!report_check(d->r, dst > 0, "vm_mmap destination: %s",
			  errno_name(dst)))
		return false;
	step(d, "mremap: move the private mapping to %#lx; data follows, "
		"old range and mirror fault", (unsigned long)dst);
	ret = do_mremap(d->mm, old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			dst);
	if (!check_ret(d, ret, dst, "do_mremap"))
		return false;
	d->priv = dst;
	report_check(d->r,
		     counter_starts(&d->counter, MMU_NOTIFY_UNMAP) > unmap,
		     "mremap: counter saw no UNMAP invalidation");
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "mremap");
	check_cpu_fault(d, d->mm, old, "mremap old range");
	report_check(d->r, !mirror_valid_entries(&d->mirror),
		     "mremap: mirror kept entries of the moved range");
	/* The mirror still watches the old addresses: nothing there now. */
	ret = mirror_read_u64(&d->mirror, old + MIRROR_FIRST * PAGE_SIZE,
			      &val);
	check_ret(d, ret, -EFAULT, "device read of the old range");
	return true;
}

static void do_gup(struct demo *d)
{
	struct page *pages[4];
	unsigned int first = 12;
	long n;

	step(d, "gup: get_user_pages_unlocked 4 pages and read them; "
		"pin_user_pages_remote 2 for a DMA write");
	n = get_user_pages_unlocked(d->mm, d->priv, 4, pages, 0);
	if (check_ret(d, n, 4, "get_user_pages_unlocked")) {
		for (unsigned int i = 0; i < 4; i++) {
			u64 val = page_read_u64(pages[i], 0);

			report_check(d->r, val == d->want[i][0],
				     "gup: page %u holds %#llx, want %#llx", i,
				     (unsigned long long)val,
				     (unsigned long long)d->want[i][0]);
			put_page(pages[i]);
		}
	}

	mmap_read_lock(d->mm);
	n = pin_user_pages_remote(d->mm, priv_page(d, first), 2,
				  FOLL_WRITE | FOLL_LONGTERM, pages);
	mmap_read_unlock(d->mm);
	if (!check_ret(d, n, 2, "pin_user_pages_remote"))
		return;
	for (unsigned int i = 0; i < 2; i++) {
		unsigned long addr = priv_page(d, first + i);
		u64 val = pattern(addr, GEN_DMA);

		report_check(d->r, page_maybe_dma_pinned(pages[i]),
			     "pin: page %u not seen as pinned", first + i);
		page_write_u64(pages[i], 0, val);
		d->want[first + i][0] = val;
		unpin_user_page(pages[i]);
		report_check(d->r, !page_maybe_dma_pinned(pages[i]),
			     "unpin: page %u still seen as pinned", first + i);
	}
	check_pages(d, d->mm, d->priv, PRIV_PAGES, d->want, "pin");
	/* FOLL_WRITE broke COW first: the child's copy is untouched. */
	check_pages(d, d->child, d->child_priv, PRIV_PAGES, d->child_want,
		    "pin child");
}

static void do_munmap(struct demo *d)
{
	unsigned long unmap = counter_starts(&d->counter, MMU_NOTIFY_UNMAP);

	step(d, "munmap: both mappings of the parent");
	check_ret(d, vm_munmap(d->mm, d->priv, PRIV_PAGES * PAGE_SIZE), 0,
		  "vm_munmap private");
	check_ret(d, vm_munmap(d->mm, d->shared, SHARED_PAGES * PAGE_SIZE), 0,
		  "vm_munmap shared");
	check_starts(d, MMU_NOTIFY_UNMAP, unmap, 2, "munmap");
	check_cpu_fault(d, d->mm, d->priv, "munmap");
	check_cpu_fault(d, d->mm, d->shared, "munmap");
	/* The child still maps the shared pages. */
	check_pages(d, d->child, d->shared, SHARED_PAGES, d->shared_want,
		    "munmap child");
}

/* The last mmput() of each mm: release, then the RELEASE invalidation. */
static void exit_mms(struct demo *d)
{
	long release;

	step(d, "exit: mmput child and parent (release, RELEASE), the VM "
		"still alive; destroy it; unsubscribe");
	if (d->child)
		mmput(d->child);
	mmput(d->mm);
	if (d->vm_on)
		vm_after_exit(d);
	if (d->counter_on) {
		release = counter_calls(&d->counter, CNT_RELEASE);
		report_check(d->r, release == 1,
			     "exit: counter got %ld release calls, want 1",
			     release);
	}
	if (d->mirror_on) {
		release = atomic_long_read(
			&d->mirror.by_event[MMU_NOTIFY_RELEASE]);
		report_check(d->r, release == 1,
			     "exit: mirror got %ld RELEASE invalidations, "
			     "want 1", release);
	}
}

/* Tear down whatever exists; safe after a failed step. */
static void do_exit(struct demo *d)
{
	if (d->mm)
		exit_mms(d);
	/* Both subscriptions hold the mm_struct until they leave. */
	if (d->counter_on) {
		counter_unregister(&d->counter, d->mm);
		counter_report(&d->counter, "counter", d->r);
	}
	if (d->mirror_on) {
		mirror_fini(&d->mirror);
		mirror_report(&d->mirror, "mirror", d->r);
	}
	vm_teardown(d);
	trace_detach_all();
	if (!d->host)
		return;
	d->r->frames_free_end = host_nr_free_frames(d->host);
	report_check(d->r, d->r->frames_free_end == d->r->frames_total - 1,
		     "exit: %lu frames free, want all but the zero page",
		     d->r->frames_free_end);
	report_host_counters(d->r, d->host);
	sample_remove(d->host);
	check_ret(d, host_destroy(d->host), 0, "host_destroy");
	d->host = NULL;
}

/* ---------------------------------------------------------------------
 * Memory pressure (seed 002): a guest twice the size of its host's RAM,
 * kept coherent by notifiers while reclaim swaps it out and KSM merges
 * its duplicate pages.  A host of its own, so the frames of the first
 * stay accounted as above.
 */

#define PRESSURE_FRAMES 512
#define PRESSURE_PAGES 1024
#define PRESSURE_DUPS 256 /* the last pages all hold one value */

static u64 pressure_value(unsigned int i)
{
	return i >= PRESSURE_PAGES - PRESSURE_DUPS ? 0xd0d0d0d0ULL
						   : 0x5eed0000ULL + i;
}

/* Pages @from.. through the vCPU: write (when @write) or read and check. */
static unsigned int pressure_pass(struct demo *d, struct kvm_vcpu *vcpu,
				  unsigned int from, bool write)
{
	unsigned int errors = 0;

	for (unsigned int i = from; i < PRESSURE_PAGES; i++) {
		gpa_t gpa = (gpa_t)i * PAGE_SIZE;
		u64 val = 0;
		int r = write ? kvm_vcpu_write_u64(vcpu, gpa, pressure_value(i))
			      : kvm_vcpu_read_u64(vcpu, gpa, &val);

		if (!report_check(d->r, !r && (write || val == pressure_value(i)),
				  "pressure: guest %s of page %u: %d, %#llx",
				  write ? "write" : "read", i, r,
				  (unsigned long long)val))
			errors++;
	}
	return errors;
}

static void do_pressure(struct demo *d)
{
	struct host_config cfg = { .nr_frames = PRESSURE_FRAMES,
				   .content = HOST_CONTENT_TAG,
				   .swap_slots = 4 * PRESSURE_PAGES };
	struct kvm_userspace_memory_region mem = { 0 };
	unsigned int errors = 0;
	unsigned int nr_vcpus = 1;
	struct ksm_stats ksm;
	struct kvm_vcpu *vcpu;
	struct mm_struct *mm;
	struct host *host;
	struct kvm *kvm;
	long hva;

	host = host_create(&cfg);
	if (!check_ret(d, IS_ERR(host) ? PTR_ERR(host) : 0, 0, "host_create"))
		return;
	sample_add_host(host, "pressure");
	mm = mm_alloc(host);
	hva = IS_ERR(mm) ? PTR_ERR(mm)
			 : vm_mmap(mm, 0, PRESSURE_PAGES * PAGE_SIZE,
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS);
	kvm = hva > 0 ? kvm_create_vm(mm, 0) : ERR_PTR(-ENOMEM);
	mem.memory_size = PRESSURE_PAGES * PAGE_SIZE;
	mem.userspace_addr = hva;
	if (!check_ret(d, IS_ERR(kvm) ? PTR_ERR(kvm)
				      : kvm_set_user_memory_region(kvm, &mem),
		       0, "pressure: VM and memslot"))
		goto out;
	vcpu = kvm_vcpu_create(kvm);
	sample_add_vm(kvm, "pressure", &vcpu, &nr_vcpus);
	/* The duplicates first, merged by KSM while they are resident... */
	do_madvise(mm, hva, PRESSURE_PAGES * PAGE_SIZE, MADV_MERGEABLE);
	errors += pressure_pass(d, vcpu, PRESSURE_PAGES - PRESSURE_DUPS, true);
	ksm_scan(host, 2 * PRESSURE_PAGES);
	ksm_scan(host, 2 * PRESSURE_PAGES);
	ksm_get_stats(host, &ksm);
	/* ...then the rest, which pushes the guest through swap. */
	errors += pressure_pass(d, vcpu, 0, true);
	errors += pressure_pass(d, vcpu, 0, false);
	step(d, "pressure: a %u-page guest on a %u-frame host: %lu pages "
		"swapped out, %lu swapped in, %lu merged by KSM, %u data errors",
	     PRESSURE_PAGES, PRESSURE_FRAMES, host_vm_event(host, PSWPOUT),
	     host_vm_event(host, PSWPIN), ksm.pages_sharing, errors);
	report_check(d->r, host_vm_event(host, PSWPOUT) > 0,
		     "pressure: the guest was swapped out");
out:
	if (!IS_ERR_OR_NULL(kvm)) {
		sample_remove(kvm);
		kvm_destroy_vm(kvm);
	}
	if (!IS_ERR_OR_NULL(mm))
		mmput(mm);
	mmu_notifier_synchronize();
	sample_remove(host);
	host_destroy(host);
}

void scenario_default(struct report *r)
{
	static struct demo demo;
	struct demo *d = &demo;

	memset(d, 0, sizeof(*d));
	d->r = r;
	if (do_setup(d)) {
		do_fill(d);
		do_mirror(d);
		do_aging(d);
		if (do_vm_setup(d)) {
			do_vm_fill(d);
			do_vm_aging(d);
		}
		if (d->vm_on && do_fork(d)) {
			do_cow(d);
			do_vm_cow(d);
			do_mirror_cow(d);
			do_mprotect_step(d);
			do_dontneed(d);
			do_race(d);
			do_vm_race(d);
			if (do_mremap_step(d)) {
				do_gup(d);
				do_munmap(d);
			}
		}
	}
	do_exit(d);
	do_pressure(d);
}
