// SPDX-License-Identifier: MIT
/*
 * Checked API mode (mm/debug.c): each misuse of the public API is a WARN
 * naming the entry point and its caller, plus an error return, and leaves
 * the objects as they were: no crash, no hang, no leaked frame, nothing
 * for ASan.  The tests of freed objects need checked mode (the default
 * build's); without it they are skipped.  Also: the answers to wrapping,
 * zero and misaligned ranges, which are Linux's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <mmulab/huge_mm.h>
#include "mm/internal.h"
#include "harness.h"
#include "mn_recorder.h"

static struct rec_log tlog;

struct env {
	struct host *host;
	struct mm_struct *mm;
};

static int setup(void **state)
{
	struct host_config cfg = { .nr_frames = 256 };
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	e->host = host_create(&cfg);
	e->mm = IS_ERR(e->host) ? NULL : mm_alloc(e->host);
	if (IS_ERR_OR_NULL(e->mm))
		return -1;
	rec_log_init(&tlog);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int ret;

	if (e->mm)
		mmput(e->mm);
	mmu_notifier_synchronize();
	ret = e->host ? host_destroy(e->host) : 0;
	free(e);
	warn_set_quiet(false);
	return ret ? -1 : 0;
}

/* Expect exactly @n warnings from what ran since @w0. */
#define assert_warned(w0, n) assert_int_equal(warn_count() - (w0), (n))

#define MAP_ANON_PRIV (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static void test_null_objects(void **state)
{
	struct env *e = *state;
	unsigned long w0 = warn_count();
	struct rec_sub sub;
	u64 v;

	warn_set_quiet(true);
	rec_sub_init(&sub, &rec_ops, 1, &tlog);
	assert_int_equal(vm_mmap(NULL, 0, PAGE_SIZE, RW, MAP_ANON_PRIV),
			 -EINVAL);
	assert_int_equal(cpu_read_u64(NULL, 0x1000, &v), -EINVAL);
	assert_int_equal(mmu_notifier_register(&sub.mn, NULL), -EINVAL);
	assert_true(IS_ERR(mmu_notifier_get(&rec_getput_ops, NULL)));
	mmu_notifier_unregister(NULL, e->mm);
	mmu_notifier_put(NULL);
	mmu_interval_notifier_remove(NULL);
	assert_true(IS_ERR(mm_alloc(NULL)));
	assert_int_equal(host_destroy(NULL), -EINVAL);
	mmput(NULL);
	mmdrop(NULL);
	/* The page-table walkers a driver calls. */
	assert_null(pte_offset_map_lock_nosplit(NULL, 0x1000, &(spinlock_t *){
							   NULL }));
	assert_false(pmd_huge_pfn(NULL, 0x1000, NULL));
	assert_warned(w0, 13);
}

/* vm_mmap's caller, exported (-rdynamic) so the WARN can name it. */
__attribute__((noinline)) long misuse_caller(struct mm_struct *mm)
{
	volatile long ret = vm_mmap(mm, 0, PAGE_SIZE, RW, MAP_ANON_PRIV);

	return ret; /* not a tail call: the return address stays here */
}

static void test_warn_names_caller(void **state)
{
	char buf[512] = "";
	FILE *out = tmpfile();
	int saved = dup(2);
	size_t n;

	(void)state;
	assert_non_null(out);
	fflush(stderr);
	assert_true(dup2(fileno(out), 2) >= 0);
	warnings_expected++;
	assert_int_equal(misuse_caller(NULL), -EINVAL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(out);
	n = fread(buf, 1, sizeof(buf) - 1, out);
	buf[n] = 0;
	fclose(out);
	assert_non_null(strstr(buf, "vm_mmap() misused by misuse_caller+0x"));
	assert_non_null(strstr(buf, "NULL mm"));
}

/*
 * The case: after the last mmput() an mmgrab() keeps only the
 * struct.  Every operation on the address space fails with -EINVAL and
 * allocates nothing; the last mmdrop() then frees the struct quietly.
 */
static void test_mm_after_last_mmput(void **state)
{
	struct env *e = *state;
	struct mm_struct *mm = e->mm;
	unsigned long free0, w0;
	struct page *page;
	u64 v = 0;

	mmgrab(mm);
	mmput(mm);
	e->mm = NULL;
	free0 = host_nr_free_frames(e->host);
	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(vm_mmap(mm, 0, 16 * PAGE_SIZE, RW, MAP_ANON_PRIV),
			 -EINVAL);
	assert_int_equal(vm_mmap(mm, 0, 16 * PAGE_SIZE, RW,
				 MAP_ANON_PRIV | MAP_POPULATE),
			 -EINVAL);
	assert_int_equal(cpu_write_u64(mm, 0x10000000, 1), -EINVAL);
	assert_int_equal(cpu_read_u64(mm, 0x10000000, &v), -EINVAL);
	assert_int_equal(do_madvise(mm, 0x10000000, PAGE_SIZE, MADV_DONTNEED),
			 -EINVAL);
	assert_int_equal(do_mprotect(mm, 0x10000000, PAGE_SIZE, PROT_READ),
			 -EINVAL);
	assert_int_equal(vm_munmap(mm, 0x10000000, PAGE_SIZE), -EINVAL);
	assert_int_equal(get_user_pages_unlocked(mm, 0x10000000, 1, &page, 0),
			 -EINVAL);
	assert_true(IS_ERR(dup_mm(mm)));
	mmget(mm);
	assert_false(mmget_not_zero(mm));
	mmput(mm);
	assert_warned(w0, 11);
	assert_int_equal(host_nr_free_frames(e->host), free0);
	/* Follow_pte only needs the struct: an empty table. */
	assert_int_equal(follow_pte(mm, 0x10000000, &(pte_t){ 0 }), 0);
	warn_set_quiet(false);
	mmdrop(mm);
	assert_warned(w0, 11);
}

static void test_interval_double_insert_remove(void **state)
{
	struct env *e = *state;
	struct rec_isub a;
	unsigned long w0;

	rec_isub_init(&a, 1, &tlog);
	assert_int_equal(mmu_interval_notifier_insert(&a.in, e->mm, 0x10000,
						      PAGE_SIZE, &rec_iops),
			 0);
	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(mmu_interval_notifier_insert(&a.in, e->mm, 0x20000,
						      PAGE_SIZE, &rec_iops),
			 -EINVAL);
	assert_warned(w0, 1);
	assert_int_equal(a.in.interval_tree.start, 0x10000);
	mmu_interval_notifier_remove(&a.in);
	assert_warned(w0, 1);
	mmu_interval_notifier_remove(&a.in);
	assert_warned(w0, 2);
	/* Removed, it may be inserted again, and removed again. */
	assert_int_equal(mmu_interval_notifier_insert(&a.in, e->mm, 0x20000,
						      PAGE_SIZE, &rec_iops),
			 0);
	mmu_interval_notifier_remove(&a.in);
	assert_warned(w0, 2);
}

static void test_put_without_get(void **state)
{
	struct env *e = *state;
	struct mmu_notifier *got;
	struct rec_sub sub;
	unsigned long w0;

	rec_sub_init(&sub, &rec_ops, 1, &tlog);
	w0 = warn_count();
	warn_set_quiet(true);
	/* Never registered. */
	mmu_notifier_put(&sub.mn);
	assert_warned(w0, 1);
	/* Registered, not got: put must leave it alone. */
	assert_int_equal(mmu_notifier_register(&sub.mn, e->mm), 0);
	mmu_notifier_put(&sub.mn);
	assert_warned(w0, 2);
	assert_ptr_equal(sub.mn.mm, e->mm);
	mmu_notifier_unregister(&sub.mn, e->mm);
	/* Unregistered twice. */
	mmu_notifier_unregister(&sub.mn, e->mm);
	assert_warned(w0, 3);
	/* A get is put once; the balance is right. */
	got = mmu_notifier_get(&rec_getput_ops, e->mm);
	assert_false(IS_ERR(got));
	mmu_notifier_put(got);
	mmu_notifier_synchronize();
	assert_warned(w0, 3);
}

static void test_mmput_twice(void **state)
{
	struct env *e = *state;
	unsigned long w0;

	mmgrab(e->mm);
	mmput(e->mm);
	w0 = warn_count();
	warn_set_quiet(true);
	mmput(e->mm);
	assert_warned(w0, 1);
	assert_int_equal(atomic_read(&e->mm->mm_users), 0);
	mmdrop(e->mm);
	e->mm = NULL;
}

/*
 * check_mm(): an mm freed with a page still counted in rss_stat (a path
 * that cleared a PTE without uncounting it) is reported once per counter;
 * a clean one is not.
 */
static void test_bad_rss_counter(void **state)
{
	struct env *e = *state;
	unsigned long a, w0;

	a = vm_mmap(e->mm, 0, 2 * PAGE_SIZE, RW, MAP_ANON_PRIV);
	assert_true((long)a > 0);
	assert_int_equal(cpu_write_u64(e->mm, a, 1), 0);
	assert_int_equal(get_mm_counter(e->mm, MM_ANONPAGES), 1);
	w0 = warn_count();
	mmput(e->mm);
	assert_warned(w0, 0);

	e->mm = mm_alloc(e->host);
	assert_false(IS_ERR(e->mm));
	a = vm_mmap(e->mm, 0, 2 * PAGE_SIZE, RW, MAP_ANON_PRIV);
	assert_int_equal(cpu_write_u64(e->mm, a, 1), 0);
	add_mm_counter(e->mm, MM_ANONPAGES, 1);
	add_mm_counter(e->mm, MM_SWAPENTS, -1);
	warn_set_quiet(true);
	mmput(e->mm);
	e->mm = NULL;
	assert_warned(w0, 2);
}

/*
 * free_page_check(): a frame freed while still in a file's page cache
 * (its mapping an address_space) is reported, as 6.12's
 * free_page_is_bad() reports a "non-NULL mapping".
 */
static void test_free_page_in_cache(void **state)
{
	struct env *e = *state;
	struct file *f = memfd_alloc_file(e->host, "cache", 0);
	struct page *page = alloc_page(e->host);
	unsigned long w0;

	assert_false(IS_ERR(f));
	assert_non_null(page);
	set_page_mapping(page, f->f_mapping);
	w0 = warn_count();
	warn_set_quiet(true);
	put_page(page);
	warn_set_quiet(false);
	assert_warned(w0, 1);
	fput(f);
}

static void test_host_with_live_mm(void **state)
{
	struct env *e = *state;
	unsigned long w0 = warn_count();

	warn_set_quiet(true);
	assert_int_equal(host_destroy(e->host), -EBUSY);
	assert_true(warn_count() > w0);
	/* Still whole. */
	assert_true(vm_mmap(e->mm, 0, PAGE_SIZE, RW, MAP_ANON_PRIV) > 0);
}

static bool skip_unchecked(void)
{
	if (debug_api_enabled)
		return false;
	print_message("checked API mode is off in this build\n");
	skip();
	return true;
}

static void test_freed_mm(void **state)
{
	struct env *e = *state;
	struct mm_struct *mm = e->mm;
	unsigned long w0;

	if (skip_unchecked())
		return;
	mmput(mm);
	e->mm = NULL;
	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(vm_mmap(mm, 0, PAGE_SIZE, RW, MAP_ANON_PRIV),
			 -EINVAL);
	assert_int_equal(cpu_write_u64(mm, 0x10000000, 1), -EINVAL);
	mmput(mm);
	mmdrop(mm);
	mmgrab(mm);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	assert_null(mm_host(mm));
	assert_warned(w0, 8);
}

static void test_host_destroyed_twice(void **state)
{
	struct env *e = *state;
	unsigned long w0;

	if (skip_unchecked())
		return;
	mmput(e->mm);
	e->mm = NULL;
	assert_int_equal(host_destroy(e->host), 0);
	w0 = warn_count();
	warn_set_quiet(true);
	assert_int_equal(host_destroy(e->host), -EINVAL);
	assert_int_equal(host_nr_free_frames(e->host), 0);
	assert_true(IS_ERR(mm_alloc(e->host)));
	assert_int_equal(ksm_scan(e->host, 1), -EINVAL);
	assert_warned(w0, 4);
	e->host = NULL;
}

/*
 * Interval notifiers left inserted when the last user leaves keep the mm
 * struct alive; host_destroy() reports each, detaches it and frees mm
 * and host (LeakSanitizer checks "not leaked").  The driver's late
 * remove is then a WARN, not a use-after-free.  A subscription never
 * unregistered keeps the host busy, with a report.
 */
static void test_leftovers_at_teardown(void **state)
{
	struct env *e = *state;
	struct mm_struct *mm = e->mm;
	struct rec_isub a, b;
	struct rec_sub sub;
	unsigned long w0;

	if (skip_unchecked())
		return;
	rec_isub_init(&a, 1, &tlog);
	rec_isub_init(&b, 2, &tlog);
	rec_sub_init(&sub, &rec_ops, 3, &tlog);
	assert_int_equal(mmu_interval_notifier_insert(&a.in, mm, 0x10000,
						      PAGE_SIZE, &rec_iops),
			 0);
	assert_int_equal(mmu_interval_notifier_insert(&b.in, mm, 0x20000,
						      PAGE_SIZE, &rec_iops),
			 0);
	assert_int_equal(mmu_notifier_register(&sub.mn, mm), 0);
	mmput(mm);
	e->mm = NULL;
	w0 = warn_count();
	warn_set_quiet(true);
	/* The subscription still holds the mm: busy, nothing detached. */
	assert_int_equal(host_destroy(e->host), -EBUSY);
	assert_warned(w0, 1);
	assert_ptr_equal(a.in.mm, mm);
	mmu_notifier_unregister(&sub.mn, mm);
	/* One line per notifier, one for the mm. */
	assert_int_equal(host_destroy(e->host), 0);
	assert_warned(w0, 4);
	assert_null(a.in.mm);
	assert_null(b.in.mm);
	mmu_interval_notifier_remove(&a.in);
	assert_warned(w0, 5);
	e->host = NULL;
}

/*
 * Wrapping, zero and misaligned ranges get Linux's answers (6.12: do_mmap,
 * __get_unmapped_area, cap_mmap_addr, do_mprotect_pkey, do_madvise,
 * do_vmi_munmap, mremap).
 */
static void test_range_answers(void **state)
{
	struct env *e = *state;
	struct mm_struct *mm = e->mm;
	const unsigned long fixed = MAP_ANON_PRIV | MAP_FIXED;
	unsigned long a;
	long hint;

	a = (unsigned long)vm_mmap(mm, 0, 4 * PAGE_SIZE, RW, MAP_ANON_PRIV);
	assert_true((long)a > 0);
	/* madvise: a length that wraps when rounded, or past @start. */
	assert_int_equal(do_madvise(mm, a, ~0UL, MADV_DONTNEED), -EINVAL);
	assert_int_equal(do_madvise(mm, a, -a, MADV_DONTNEED), -EINVAL);
	assert_int_equal(do_madvise(mm, a, 0, MADV_DONTNEED), 0);
	assert_int_equal(do_madvise(mm, a + 1, PAGE_SIZE, MADV_DONTNEED),
			 -EINVAL);
	assert_int_equal(do_madvise(mm, TASK_SIZE, PAGE_SIZE, MADV_DONTNEED),
			 -ENOMEM);
	/* mprotect: zero is nothing, a wrap is -ENOMEM. */
	assert_int_equal(do_mprotect(mm, a, 0, PROT_READ), 0);
	assert_int_equal(do_mprotect(mm, a, ~0UL, PROT_READ), -ENOMEM);
	assert_int_equal(do_mprotect(mm, a, -a, PROT_READ), -ENOMEM);
	assert_int_equal(do_mprotect(mm, a + 1, PAGE_SIZE, PROT_READ),
			 -EINVAL);
	/* munmap: zero, misaligned and wrapping are all -EINVAL. */
	assert_int_equal(vm_munmap(mm, a, 0), -EINVAL);
	assert_int_equal(vm_munmap(mm, a, ~0UL), -EINVAL);
	assert_int_equal(vm_munmap(mm, a + 1, PAGE_SIZE), -EINVAL);
	/* mmap: zero -EINVAL, too long -ENOMEM, fixed past the top
	 * -ENOMEM, fixed misaligned -EINVAL, fixed below mmap_min_addr
	 * -EPERM (not CAP_SYS_RAWIO); a low hint is raised. */
	assert_int_equal(vm_mmap(mm, 0, 0, RW, MAP_ANON_PRIV), -EINVAL);
	assert_int_equal(vm_mmap(mm, 0, ~0UL, RW, MAP_ANON_PRIV), -ENOMEM);
	assert_int_equal(vm_mmap(mm, TASK_SIZE, PAGE_SIZE, RW, fixed),
			 -ENOMEM);
	assert_int_equal(vm_mmap(mm, 0x20001, PAGE_SIZE, RW, fixed), -EINVAL);
	assert_int_equal(vm_mmap(mm, 0, PAGE_SIZE, RW, fixed), -EPERM);
	assert_int_equal(vm_mmap(mm, MMAP_MIN_ADDR - PAGE_SIZE, PAGE_SIZE, RW,
				 MAP_ANON_PRIV | MAP_FIXED_NOREPLACE),
			 -EPERM);
	assert_int_equal(vm_mmap(mm, MMAP_MIN_ADDR, PAGE_SIZE, RW, fixed),
			 (long)MMAP_MIN_ADDR);
	hint = vm_mmap(mm, PAGE_SIZE, PAGE_SIZE, RW, MAP_ANON_PRIV);
	assert_true(hint >= (long)MMAP_MIN_ADDR);
	/* A misaligned free hint is aligned down, as Linux. */
	assert_int_equal(vm_mmap(mm, 0x30010, PAGE_SIZE, RW, MAP_ANON_PRIV),
			 0x30000);
	/* mremap: a new length that wraps; a fixed target below the min. */
	assert_int_equal(do_mremap(mm, a, PAGE_SIZE, ~0UL, MREMAP_MAYMOVE, 0),
			 -EINVAL);
	assert_int_equal(do_mremap(mm, a, PAGE_SIZE, PAGE_SIZE,
				   MREMAP_MAYMOVE | MREMAP_FIXED, PAGE_SIZE),
			 -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_null_objects, setup,
						teardown),
		cmocka_unit_test(test_warn_names_caller),
		cmocka_unit_test_setup_teardown(test_mm_after_last_mmput, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_interval_double_insert_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_without_get, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mmput_twice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_rss_counter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_free_page_in_cache, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_host_with_live_mm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_freed_mm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_host_destroyed_twice,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_at_teardown,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_answers, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
