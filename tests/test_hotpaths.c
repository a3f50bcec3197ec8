// SPDX-License-Identifier: MIT
/*
 * The hot paths' batched forms.  Per-CPU event counters; release_pages(),
 * an mmu_gather's batch freed together; batched guest accesses
 * (kvm_vcpu_read_u64_batch() and the write twin): the values and counters
 * of a batch, its errors, a flush honoured at the next entry, and the
 * kick: a TLB flush requested while a batch stays in guest mode ends the
 * stay at the next access, so the invalidation returns while the batch
 * still runs and the rest of the batch sees the new page; the checker
 * catches a stale batched hit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mmulab/mutant.h>
#include <mmulab/sched.h>
#include "guest.h"

#define NPAGES 16
#define NBATCH 400

/* A checked guest (tests/guest.h) on a small data host. */
static void vm_new(struct guest *g)
{
	struct host_config cfg = {256, HOST_CONTENT_DATA, CHANGE_PTE_NONE};

	guest_new_cfg(g, &cfg, NPAGES);
}

static void test_batch_values_and_stats(void **state)
{
	unsigned long warns = warn_count();
	gpa_t gpa[2 * NPAGES];
	u64 in[2 * NPAGES], out[2 * NPAGES];
	struct kvm_vcpu_stat st0, st1;
	size_t done;
	struct guest v;

	(void)state;
	vm_new(&v);
	for (int i = 0; i < 2 * NPAGES; i++) {
		gpa[i] = (i % NPAGES) * PAGE_SIZE + 8 * (i / NPAGES);
		in[i] = 1000 + i;
	}
	/* First touch of every page: faults, then TLB fills. */
	assert_int_equal(
		kvm_vcpu_write_u64_batch(v.vcpu, gpa, in, 2 * NPAGES, &done),
		0);
	assert_int_equal(done, 2 * NPAGES);
	for (int i = 0; i < 2 * NPAGES; i++) {
		u64 h;

		assert_int_equal(cpu_read_u64(v.mm, v.hva + gpa[i], &h), 0);
		assert_int_equal(h, in[i]);
	}
	/* Every translation is cached now: one stay, all hits. */
	kvm_get_vcpu_stat(v.vcpu, &st0);
	assert_int_equal(
		kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 2 * NPAGES, &done),
		0);
	kvm_get_vcpu_stat(v.vcpu, &st1);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(st1.accesses - st0.accesses, 2 * NPAGES);
	assert_int_equal(st1.tlb_hits - st0.tlb_hits, 2 * NPAGES);
	assert_int_equal(st1.pf_taken, st0.pf_taken);
	/* What a hit loads through: the frame's word, as page_read_u64(). */
	{
		u64 spte = kvm_lookup_spte(v.kvm, gpa[NPAGES + 1]);
		struct page *pg = pfn_to_page(
			v.host, (spte & KVM_SPTE_PFN_MASK) >> PAGE_SHIFT);
		unsigned long off = gpa[NPAGES + 1] & ~PAGE_MASK;

		assert_int_equal(*page_word_address(pg, off), in[NPAGES + 1]);
		assert_int_equal(page_read_u64(pg, off), in[NPAGES + 1]);
		assert_null(page_word_address(pg, 4));
		assert_null(page_word_address(pg, PAGE_SIZE));
		assert_null(page_word_address(NULL, 0));
	}
	/* Errors: the first bad access stops the batch, done says where. */
	gpa[3] = 4;
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 8, &done),
			 -EINVAL);
	assert_int_equal(done, 3);
	gpa[3] = 1ULL << 32;
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 8, &done),
			 KVM_EXIT_MMIO);
	assert_int_equal(done, 3);
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, NULL, out, 1, NULL),
			 -EINVAL);
	assert_int_equal(kvm_vcpu_read_u64_batch(NULL, gpa, out, 1, &done),
			 -EINVAL);
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 0, &done),
			 0);
	assert_int_equal(done, 0);
	guest_free(&v, warns);
}

/* A flush requested between two batches is honoured by the next one. */
static void test_batch_flush_between(void **state)
{
	unsigned long warns = warn_count();
	gpa_t gpa[4] = {0, 8, PAGE_SIZE, 0};
	u64 out[4];
	struct guest v;

	(void)state;
	vm_new(&v);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 5), 0);
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, PAGE_SIZE, 6), 0);
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 4, NULL), 0);
	assert_int_equal(out[0], 5);
	assert_int_equal(do_madvise(v.mm, v.hva, PAGE_SIZE, MADV_DONTNEED), 0);
	assert_int_equal(kvm_vcpu_read_u64_batch(v.vcpu, gpa, out, 4, NULL), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[2], 6);
	assert_int_equal(out[3], 0);
	guest_free(&v, warns);
}

struct kick {
	struct guest *v;
	u64 val[NBATCH];
	int ret;
};

static int batch_thread(void *arg)
{
	static gpa_t gpa[NBATCH];
	struct kick *k = arg;

	k->ret = kvm_vcpu_read_u64_batch(k->v->vcpu, gpa, k->val, NBATCH, NULL);
	return 0;
}

static int zap_thread(void *arg)
{
	struct kick *k = arg;

	do_madvise(k->v->mm, k->v->hva, PAGE_SIZE, MADV_DONTNEED);
	return 0;
}

/*
 * One batch of NBATCH reads of gpa 0 (all TLB hits) against a DONTNEED of
 * that page, in a deterministic run of @seed under @m; the guest's checker
 * is left for the caller to query and the guest torn down.  Returns what
 * the batch returned.
 */
static int run_kick(u64 seed, enum det_strategy strategy, enum mutant m,
		    struct kick *k, unsigned long *violations)
{
	struct det_config dc = {.seed = seed, .strategy = strategy};
	struct task_struct *t[2];
	struct det_result res;
	struct guest v;

	vm_new(&v);
	k->v = &v;
	assert_int_equal(kvm_vcpu_write_u64(v.vcpu, 0, 5), 0);
	mutant_set(m);
	assert_int_equal(det_begin(&dc), 0);
	t[0] = kthread_run(batch_thread, k, "vcpu");
	t[1] = kthread_run(zap_thread, k, "zap");
	kthread_stop(t[0]);
	kthread_stop(t[1]);
	assert_int_equal(det_end(&res), 0);
	mutant_set(MUTANT_NONE);
	*violations = checker_violations(v.host);
	kvm_destroy_vm(v.kvm);
	mmput(v.mm);
	mmu_notifier_synchronize();
	checker_detach(v.host);
	assert_int_equal(host_destroy(v.host), 0);
	return k->ret;
}

/*
 * Seed after seed, the values read are the old page's up to the kick and
 * the new (zero) page's after, never old after new; and in some seeds the
 * zap returns mid-batch, which without the kick it never could (its TLB
 * flush would wait for the whole batch to exit).
 */
static void test_batch_kick(void **state)
{
	unsigned int mid = 0;

	(void)state;
	for (u64 seed = 1; seed <= 16; seed++) {
		static struct kick k;
		unsigned long violations;
		int i = 0;

		assert_int_equal(run_kick(seed, DET_STRATEGY_RANDOM,
					  MUTANT_NONE, &k, &violations),
				 0);
		assert_int_equal(violations, 0);
		while (i < NBATCH && k.val[i] == 5)
			i++;
		if (i > 0 && i < NBATCH)
			mid++;
		for (; i < NBATCH; i++)
			assert_int_equal(k.val[i], 0);
	}
	assert_true(mid > 0);
}

/*
 * release_pages() drops one reference from each page and frees exactly the
 * frames whose last one it was, across more than one free batch, counting
 * each free once.
 */
static void test_release_pages(void **state)
{
	struct host_config cfg = {1024, HOST_CONTENT_TAG, CHANGE_PTE_NONE};
	struct host *host = host_create(&cfg);
	struct page *pages[3 * MMU_GATHER_BATCH / 2];
	unsigned long n = MMU_GATHER_BATCH * 3 / 2, free0, pgfree0;
	unsigned long kept = 0;

	(void)state;
	assert_false(IS_ERR(host));
	for (unsigned long i = 0; i < n; i++) {
		pages[i] = alloc_page(host);
		assert_non_null(pages[i]);
		if (i % 3 == 0) {
			get_page(pages[i]);
			kept++;
		}
	}
	free0 = host_nr_free_frames(host);
	pgfree0 = host_vm_event(host, PGFREE);
	release_pages(pages, n);
	assert_int_equal(host_nr_free_frames(host) - free0, n - kept);
	assert_int_equal(host_vm_event(host, PGFREE) - pgfree0, n - kept);
	for (unsigned long i = 0; i < n; i++) {
		assert_int_equal(PageFlag(pages[i], PG_buddy), i % 3 != 0);
		if (i % 3 == 0)
			put_page(pages[i]);
	}
	assert_int_equal(host_nr_free_frames(host) - free0, n);
	assert_int_equal(host_destroy(host), 0);
}

struct counting {
	struct host *host;
	unsigned int cpu;
};

static int count_thread(void *arg)
{
	struct counting *c = arg;

	c->cpu = stat_cpu();
	for (int i = 0; i < 1000; i++)
		count_vm_event(c->host, PGREUSE);
	return 0;
}

/*
 * Per-CPU event counters: two threads counting at once get different
 * slots (different cache lines), and the reader sums every slot.
 */
static void test_stat_cpu(void **state)
{
	struct host_config cfg = {64, HOST_CONTENT_TAG, CHANGE_PTE_NONE};
	struct host *host = host_create(&cfg);
	struct counting c[2] = {{host, 0}, {host, 0}};
	struct task_struct *t[2];

	(void)state;
	assert_false(IS_ERR(host));
	for (int i = 0; i < 2; i++)
		t[i] = kthread_run(count_thread, &c[i], "count");
	for (int i = 0; i < 2; i++)
		kthread_stop(t[i]);
	assert_true(c[0].cpu < STAT_NR_CPUS && c[1].cpu < STAT_NR_CPUS);
	assert_int_not_equal(c[0].cpu, c[1].cpu);
	assert_int_equal(
		atomic_long_observe(&host->vm_events[c[0].cpu][PGREUSE]), 1000);
	assert_int_equal(host_vm_event(host, PGREUSE), 2000);
	assert_int_equal(host_destroy(host), 0);
}

/*
 * The checker watches batched hits as it watches single accesses: with
 * kvm_flush_remote_tlbs() not waiting for vCPUs to leave guest mode
 * (MUTANT_FLUSH_NO_WAIT), some seed has the zap return while the batch
 * still holds the old translation, and the batch's next hit is a stale
 * TLB use (INV-8): the checker stops it with -EIO.  The real protocol is
 * clean on the same seeds.
 */
static unsigned int kick_checked(enum mutant m, unsigned int seeds)
{
	unsigned int caught = 0;

	for (u64 seed = 1; seed <= seeds; seed++) {
		static struct kick k;
		unsigned long violations;
		int ret = run_kick(seed, DET_STRATEGY_PCT, m, &k, &violations);

		assert_int_equal(ret, violations ? -EIO : 0);
		caught += violations > 0;
	}
	return caught;
}

static void test_batch_checked(void **state)
{
	(void)state;
	assert_int_equal(kick_checked(MUTANT_NONE, 12), 0);
	assert_true(kick_checked(MUTANT_FLUSH_NO_WAIT, 12) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_cpu),
		cmocka_unit_test(test_release_pages),
		cmocka_unit_test(test_batch_values_and_stats),
		cmocka_unit_test(test_batch_flush_between),
		cmocka_unit_test(test_batch_kick),
		cmocka_unit_test(test_batch_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
