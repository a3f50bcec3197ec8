// SPDX-License-Identifier: MIT
/*
 * Scale: a host of 1 TiB (256M frames, tag mode) costs memory for the
 * frames its guests touch, not for its size (struct pages and tags are
 * set up at first use); and a deterministic run with 416 vCPUs (the
 * vCPU count of KVM's demand-paging test) completes.  Both bounded to
 * seconds; docs/bench.md has the full 64 GiB run, measured by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include <cmocka.h>

#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>

#define RW (PROT_READ | PROT_WRITE)
#define TIB_FRAMES (1UL << 28)
#define NVCPUS 416

static long maxrss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

struct guest {
	struct host *host;
	struct mm_struct *mm;
	struct kvm *kvm;
	unsigned long hva;
};

static void guest_new(struct guest *g, unsigned long frames, unsigned long len)
{
	struct host_config cfg = {frames, HOST_CONTENT_TAG, CHANGE_PTE_NONE};
	struct kvm_userspace_memory_region r = {0};

	g->host = host_create(&cfg);
	assert_false(IS_ERR(g->host));
	g->mm = mm_alloc(g->host);
	assert_false(IS_ERR(g->mm));
	g->hva = vm_mmap(g->mm, 0, len, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_false(IS_ERR((void *)g->hva));
	g->kvm = kvm_create_vm(g->mm, 0);
	assert_false(IS_ERR(g->kvm));
	r.memory_size = len;
	r.userspace_addr = g->hva;
	assert_int_equal(kvm_set_user_memory_region(g->kvm, &r), 0);
}

static void guest_free(struct guest *g)
{
	kvm_destroy_vm(g->kvm);
	mmput(g->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(g->host), 0);
}

/*
 * A 1 TiB host whose guest writes 1 GiB (262,144 pages): the memory
 * grows with the pages touched, about 100 bytes each here, and the
 * untouched terabyte costs nothing.  Before lazy frames, host_create()
 * alone wrote all 256M struct pages: 16 GiB.
 */
static void test_tib_host(void **state)
{
	unsigned long pages = 1UL << 18;
	long rss0 = maxrss_kib(), rss1, rss2;
	struct kvm_vcpu *vcpu;
	struct guest g;
	gpa_t gpa[512];
	u64 val[512];

	(void)state;
	guest_new(&g, TIB_FRAMES, 64UL << 30);
	rss1 = maxrss_kib();
	assert_true(rss1 - rss0 < 64 * 1024);
	assert_true(host_nr_free_frames(g.host) >= TIB_FRAMES - 16);
	vcpu = kvm_vcpu_create(g.kvm);
	assert_false(IS_ERR(vcpu));
	for (unsigned long p = 0; p < pages; p += 512) {
		for (int i = 0; i < 512; i++) {
			gpa[i] = (p + i) * PAGE_SIZE;
			val[i] = p + i;
		}
		assert_int_equal(
			kvm_vcpu_write_u64_batch(vcpu, gpa, val, 512, NULL), 0);
	}
	/* The pages, and their page tables. */
	assert_true(host_nr_free_frames(g.host) <= TIB_FRAMES - 1 - pages);
	assert_true(host_nr_free_frames(g.host) >=
		    TIB_FRAMES - 1 - pages - pages / 256);
	rss2 = maxrss_kib();
	print_message("1 TiB host: created +%ld KiB, 1 GiB touched +%ld KiB "
		      "(%ld bytes a page)\n",
		      rss1 - rss0, rss2 - rss1, (rss2 - rss1) * 1024 / pages);
	/* 2 GiB for 64 GiB touched is 128 bytes a page. */
	assert_true((rss2 - rss1) * 1024 / (long)pages <= 128);
	assert_int_equal(
		kvm_vcpu_read_u64(vcpu, (pages - 1) * PAGE_SIZE, &val[0]), 0);
	assert_int_equal(val[0], pages - 1);
	guest_free(&g);
}

struct vcpu_arg {
	struct kvm_vcpu *vcpu;
	int ret;
};

/* Each vCPU writes its own page, reads it back, and reads page 0. */
static int vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;
	gpa_t gpa = (kvm_vcpu_id(a->vcpu) + 1) * PAGE_SIZE;
	u64 val = 0;

	a->ret = kvm_vcpu_write_u64(a->vcpu, gpa, gpa) ?:
		 kvm_vcpu_read_u64(a->vcpu, gpa, &val) ?:
		 kvm_vcpu_read_u64(a->vcpu, 0, &val);
	return 0;
}

/*
 * 416 vCPUs faulting at once under the deterministic scheduler, with the
 * host unmapping page 0 under them: the run completes, every access
 * succeeds, and the seed replays to the same log.
 */
static void test_416_vcpus(void **state)
{
	static struct vcpu_arg a[NVCPUS];
	static struct task_struct *t[NVCPUS];
	u64 hash[2];

	(void)state;
	for (int run = 0; run < 2; run++) {
		struct det_config dc = {.seed = 416,
					.strategy = DET_STRATEGY_RANDOM};
		struct det_result res;
		struct guest g;

		guest_new(&g, 4096, (NVCPUS + 1) * PAGE_SIZE);
		for (int i = 0; i < NVCPUS; i++) {
			a[i].vcpu = kvm_vcpu_create(g.kvm);
			assert_false(IS_ERR(a[i].vcpu));
		}
		assert_int_equal(det_begin(&dc), 0);
		for (int i = 0; i < NVCPUS; i++)
			t[i] = kthread_run(vcpu_thread, &a[i], "vcpu");
		do_madvise(g.mm, g.hva, PAGE_SIZE, MADV_DONTNEED);
		for (int i = 0; i < NVCPUS; i++)
			kthread_stop(t[i]);
		assert_int_equal(det_end(&res), 0);
		hash[run] = res.log_hash;
		for (int i = 0; i < NVCPUS; i++)
			assert_int_equal(a[i].ret, 0);
		guest_free(&g);
	}
	assert_int_equal(hash[0], hash[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tib_host),
		cmocka_unit_test(test_416_vcpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
