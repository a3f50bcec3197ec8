// SPDX-License-Identifier: MIT
/*
 * Tracepoints (<mmulab/tracepoint.h>): registration and its errors, the
 * order probes run in, the notifier core's and KVM's events where they
 * happen, the checker's history fed by them, registration while events
 * fire on other threads, and probes that leave a deterministic run's
 * schedule as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/sched.h>
#include <mmulab/trace/events/kvm.h>
#include <mmulab/trace/events/mmu_notifier.h>
#include "guest.h"

#define NPAGES 8

/* A third party's own event. */
DECLARE_TRACE(test_event, TP_PROTO(int v), TP_ARGS(v))
DEFINE_TRACE(test_event);

/* What the probes saw, in order. */
struct seen {
	char log[64][48];
	unsigned int n;
};

static void seen_add(struct seen *s, const char *what)
{
	if (s->n < 64)
		snprintf(s->log[s->n++], sizeof(s->log[0]), "%s", what);
}

static void probe_a(void *data, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "a%d", v);
	seen_add(data, buf);
}

static void probe_b(void *data, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "b%d", v);
	seen_add(data, buf);
}

static void test_register_errors(void **state)
{
	struct seen s = { 0 }, t = { 0 };

	(void)state;
	assert_false(trace_test_event_enabled());
	assert_int_equal(tracepoint_probe_register(NULL, (void *)probe_a, &s),
			 -EINVAL);
	assert_int_equal(tracepoint_probe_register(&__tracepoint_test_event,
						   NULL, &s),
			 -EINVAL);
	assert_int_equal(tracepoint_probe_unregister(NULL, (void *)probe_a, &s),
			 -EINVAL);
	assert_int_equal(unregister_trace_test_event(probe_a, &s), -ENOENT);
	assert_int_equal(register_trace_test_event(probe_a, &s), 0);
	assert_true(trace_test_event_enabled());
	assert_int_equal(register_trace_test_event(probe_a, &s), -EEXIST);
	/* The same probe with other data is another probe. */
	assert_int_equal(register_trace_test_event(probe_a, &t), 0);
	assert_int_equal(unregister_trace_test_event(probe_b, &s), -ENOENT);
	assert_int_equal(unregister_trace_test_event(probe_a, &s), 0);
	assert_int_equal(unregister_trace_test_event(probe_a, &s), -ENOENT);
	assert_true(trace_test_event_enabled());
	assert_int_equal(unregister_trace_test_event(probe_a, &t), 0);
	assert_false(trace_test_event_enabled());
	tracepoint_synchronize_unregister();
}

/* Probes run in the order they were registered, each with its data. */
static void test_probe_order(void **state)
{
	struct seen s = { 0 };

	(void)state;
	trace_test_event(0); /* nothing registered: nothing runs */
	assert_int_equal(register_trace_test_event(probe_a, &s), 0);
	assert_int_equal(register_trace_test_event(probe_b, &s), 0);
	trace_test_event(1);
	assert_int_equal(unregister_trace_test_event(probe_a, &s), 0);
	trace_test_event(2);
	assert_int_equal(register_trace_test_event(probe_a, &s), 0);
	trace_test_event(3);
	assert_int_equal(unregister_trace_test_event(probe_a, &s), 0);
	assert_int_equal(unregister_trace_test_event(probe_b, &s), 0);
	trace_test_event(4);
	tracepoint_synchronize_unregister();
	assert_int_equal(s.n, 5);
	assert_string_equal(s.log[0], "a1");
	assert_string_equal(s.log[1], "b1");
	assert_string_equal(s.log[2], "b2");
	assert_string_equal(s.log[3], "b3");
	assert_string_equal(s.log[4], "a3");
}

/* ---------------------------------------------------------------------
 * The model's events
 */

/* A host without a checker, a process with NPAGES pages, maybe a VM. */
static void vm_new(struct guest *v, bool with_kvm)
{
	struct host_config cfg = { 256, HOST_CONTENT_DATA, CHANGE_PTE_NONE };

	memset(v, 0, sizeof(*v));
	v->npages = NPAGES;
	v->host = host_create(&cfg);
	assert_false(IS_ERR(v->host));
	v->mm = mm_alloc(v->host);
	assert_false(IS_ERR(v->mm));
	v->hva = vm_mmap(v->mm, 0, NPAGES * PAGE_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)v->hva > 0);
	if (with_kvm)
		guest_attach_vm(v);
}

static void vm_free(struct guest *v)
{
	if (v->kvm)
		kvm_destroy_vm(v->kvm);
	mmput(v->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(v->host), 0);
}

struct mm_seen {
	struct mm_struct *mm;
	unsigned int starts, ends, test_young;
	unsigned long last_start, last_end;
};

static void probe_start(void *data, const struct mmu_notifier_range *range,
			int ret)
{
	struct mm_seen *s = data;

	if (range->mm != s->mm || ret)
		return;
	s->starts++;
	s->last_start = range->start;
	s->last_end = range->end;
}

static void probe_end(void *data, const struct mmu_notifier_range *range)
{
	struct mm_seen *s = data;

	if (range->mm == s->mm)
		s->ends++;
}

static void probe_test_young(void *data, struct mm_struct *mm,
			     unsigned long address)
{
	struct mm_seen *s = data;

	if (mm == s->mm && address == s->last_start)
		s->test_young++;
}

/* The core's events fire whether or not the process has subscribers. */
static void test_notifier_events(void **state)
{
	struct mm_seen s = { 0 };
	u64 one = 1;
	struct guest v;

	(void)state;
	vm_new(&v, false);
	s.mm = v.mm;
	assert_int_equal(cpu_write(v.mm, v.hva, &one, sizeof(one)), 0);
	assert_int_equal(register_trace_mmu_notifier_invalidate_range_start(
				 probe_start, &s), 0);
	assert_int_equal(register_trace_mmu_notifier_invalidate_range_end(
				 probe_end, &s), 0);
	assert_int_equal(register_trace_mmu_notifier_test_young(
				 probe_test_young, &s), 0);
	assert_int_equal(do_madvise(v.mm, v.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(s.starts, 1);
	assert_int_equal(s.ends, 1);
	assert_int_equal(s.last_start, v.hva);
	assert_int_equal(s.last_end, v.hva + PAGE_SIZE);
	assert_int_equal(mmu_notifier_test_young(v.mm, v.hva), 0);
	assert_int_equal(s.test_young, 1);
	assert_int_equal(unregister_trace_mmu_notifier_invalidate_range_start(
				 probe_start, &s), 0);
	assert_int_equal(unregister_trace_mmu_notifier_invalidate_range_end(
				 probe_end, &s), 0);
	assert_int_equal(unregister_trace_mmu_notifier_test_young(
				 probe_test_young, &s), 0);
	tracepoint_synchronize_unregister();
	vm_free(&v);
}

#define FAULT_PROBE(step)                                                      \
	static void probe_##step(void *data, struct kvm_vcpu *vcpu, gpa_t gpa, \
				 unsigned long hva, unsigned long pfn)         \
	{                                                                      \
		(void)vcpu, (void)gpa, (void)hva, (void)pfn;                   \
		seen_add(data, #step);                                         \
	}
FAULT_PROBE(snapshot)
FAULT_PROBE(pfn)
FAULT_PROBE(locked)
FAULT_PROBE(retry)
FAULT_PROBE(install)

static void probe_page_fault(void *data, struct kvm_vcpu *vcpu,
			     u64 fault_address, u64 error_code)
{
	(void)vcpu, (void)fault_address;
	seen_add(data, error_code & PFERR_WRITE_MASK ? "exit write" :
						       "exit read");
}

static void fault_probes(struct seen *s, bool on)
{
#define TP(event, probe)                                                       \
	assert_int_equal(on ? register_trace_##event(probe, s) :               \
			      unregister_trace_##event(probe, s),              \
			 0)
	TP(kvm_page_fault, probe_page_fault);
	TP(mmulab_kvm_fault_snapshot, probe_snapshot);
	TP(mmulab_kvm_fault_pfn, probe_pfn);
	TP(mmulab_kvm_fault_locked, probe_locked);
	TP(mmulab_kvm_fault_retry, probe_retry);
	TP(mmulab_kvm_fault_install, probe_install);
#undef TP
	if (!on)
		tracepoint_synchronize_unregister();
}

/* A secondary fault fires each step of the retry protocol, in order. */
static void test_kvm_fault_steps(void **state)
{
	static const char *const want[] = { "exit write", "snapshot", "pfn",
					     "locked", "install" };
	struct seen s = { 0 };
	struct guest v;

	(void)state;
	vm_new(&v, true);
	fault_probes(&s, true);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 5), 0);
	fault_probes(&s, false);
	assert_int_equal(s.n, MMULAB_ARRAY_SIZE(want));
	for (unsigned int i = 0; i < s.n; i++)
		assert_string_equal(s.log[i], want[i]);
	vm_free(&v);
}

/* The checker's history is a sink of KVM's events while it is attached. */
static void test_checker_history(void **state)
{
	char buf[8192] = "";
	FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
	u64 val;
	struct guest v;

	(void)state;
	assert_non_null(out);
	vm_new(&v, true);
	checker_detach(v.host); /* the test harness's (tests/harness.c) */
	assert_false(trace_mmulab_kvm_fault_install_enabled());
	assert_int_equal(checker_attach(v.host), 0);
	assert_true(trace_mmulab_kvm_fault_install_enabled());
	assert_int_equal(kvm_vcpu_read_u64(v.vcpu, PAGE_SIZE, &val), 0);
	assert_int_equal(do_madvise(v.mm, v.hva + PAGE_SIZE, PAGE_SIZE,
				    MADV_DONTNEED), 0);
	checker_fail(v.host, INV_DATA, ~0UL, v.hva + PAGE_SIZE, ~0ULL, NULL,
		     "made up");
	checker_report(v.host, out);
	fclose(out);
	assert_non_null(strstr(buf, "kvm: fault snapshots mmu_invalidate_seq"));
	assert_non_null(strstr(buf, "kvm: fault got the page from GUP"));
	assert_non_null(strstr(buf, "kvm: fault installs the SPTE"));
	assert_non_null(strstr(buf, "kvm: invalidate_range_start"));
	assert_non_null(strstr(buf, "kvm: invalidate_range_end"));
	checker_detach(v.host);
	assert_false(trace_mmulab_kvm_fault_install_enabled());
	vm_free(&v);
}

/* ---------------------------------------------------------------------
 * Registration while events fire
 */

#define FIRERS 3

static int firer(void *arg)
{
	int *stop = arg;

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE))
		trace_test_event(1);
	return 0;
}

static void probe_count(void *data, int v)
{
	__atomic_fetch_add((long *)data, v, __ATOMIC_RELAXED);
}

/*
 * Probes come and go while three threads fire the event; each probe's
 * data is freed once tracepoint_synchronize_unregister() returns, so a
 * probe that ran after that would be a use after free (ASan), and an
 * unordered access a race (TSan).
 */
static void test_register_while_firing(void **state)
{
	struct task_struct *t[FIRERS];
	long total = 0;
	int stop = 0;

	(void)state;
	for (int i = 0; i < FIRERS; i++)
		t[i] = kthread_run(firer, &stop, "firer");
	for (int round = 0; round < 200; round++) {
		long *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(register_trace_test_event(probe_count, a), 0);
		assert_int_equal(register_trace_test_event(probe_count, b), 0);
		msleep(round % 3 == 0);
		assert_int_equal(unregister_trace_test_event(probe_count, a), 0);
		assert_int_equal(unregister_trace_test_event(probe_count, b), 0);
		tracepoint_synchronize_unregister();
		total += __atomic_load_n(a, __ATOMIC_RELAXED);
		free(a);
		free(b);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < FIRERS; i++)
		kthread_stop(t[i]);
	assert_false(trace_test_event_enabled());
	assert_true(total > 0);
}

/* ---------------------------------------------------------------------
 * Probes are not scheduling points
 */

struct det_prog {
	struct mm_struct *mm;
	unsigned long hva;
};

static int churn(void *arg)
{
	struct det_prog *p = arg;
	u64 v = 1;

	for (int i = 0; i < 12; i++) {
		unsigned long a = p->hva + (i % NPAGES) * PAGE_SIZE;

		cpu_write(p->mm, a, &v, sizeof(v));
		if (i % 3 == 2)
			do_madvise(p->mm, a, PAGE_SIZE, MADV_DONTNEED);
	}
	return 0;
}

static struct det_result det_prog_run(struct seen *s)
{
	struct det_config cfg = { .seed = 3 };
	struct mm_seen ms = { 0 };
	struct det_result res;
	struct task_struct *t[2];
	struct det_prog p;
	struct guest v;

	vm_new(&v, true);
	p.mm = v.mm;
	p.hva = v.hva;
	ms.mm = v.mm;
	if (s) {
		fault_probes(s, true);
		assert_int_equal(register_trace_mmu_notifier_invalidate_range_start(
					 probe_start, &ms), 0);
	}
	assert_int_equal(det_begin(&cfg), 0);
	for (int i = 0; i < 2; i++)
		t[i] = kthread_run(churn, &p, "churn");
	for (int i = 0; i < 4; i++)
		kvm_vcpu_write_u64(v.vcpu, i * PAGE_SIZE, i);
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	assert_int_equal(det_end(&res), 0);
	if (s) {
		fault_probes(s, false);
		assert_int_equal(unregister_trace_mmu_notifier_invalidate_range_start(
					 probe_start, &ms), 0);
		tracepoint_synchronize_unregister();
		assert_true(ms.starts > 0);
	}
	vm_free(&v);
	return res;
}

/* The same run with and without probes: same steps, same schedule. */
static void test_probes_add_no_points(void **state)
{
	struct det_result plain, probed;
	struct seen s = { 0 };

	(void)state;
	plain = det_prog_run(NULL);
	probed = det_prog_run(&s);
	assert_true(s.n > 0);
	assert_int_equal(plain.steps, probed.steps);
	assert_int_equal(plain.log_hash, probed.log_hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_probe_order),
		cmocka_unit_test(test_notifier_events),
		cmocka_unit_test(test_kvm_fault_steps),
		cmocka_unit_test(test_checker_history),
		cmocka_unit_test(test_probes_add_no_points),
		cmocka_unit_test(test_register_while_firing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
