// SPDX-License-Identifier: MIT
/*
 * Device-private memory, migration to a device and back, and
 * device-exclusive access: the cases of Linux's HMM selftests
 * (tools/testing/selftests/mm/hmm-tests.c) about them, each named after
 * its upstream case, on the device mirror and its device memory
 * (drivers/hmm), with the checker attached throughout; then the events
 * these operations send, as a recording interval subscriber sees them,
 * and the migrate-no-owner-check mutant caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/hmm.h>
#include <mmulab/memfd.h>
#include <mmulab/migrate.h>
#include <mmulab/mutant.h>
#include "driver_fixture.h"
#include "mn_recorder.h"
#include "mm/internal.h"
#include "mm/swapops.h"

#define NPAGES 16
#define DEVPAGES 64
#define WORDS 4 /* words checked per page: at 0, 1 KiB, 2 KiB, 3 KiB */

struct hmm_fix {
	struct host *host;
	struct mm_struct *mm;
	unsigned long buf;
	struct dmirror *d;
	struct dmirror_device *mdev;
	struct file *file; /* behind the mapping, or NULL */
};

static u64 val(unsigned long addr)
{
	return 0xc0de000000000000ULL | addr;
}

static unsigned long word(struct hmm_fix *f, unsigned long i, int w)
{
	return f->buf + i * PAGE_SIZE + (unsigned long)w * (PAGE_SIZE / WORDS);
}

static void cpu_fill(struct hmm_fix *f, u64 add)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		for (int w = 0; w < WORDS; w++)
			assert_int_equal(cpu_write_u64(f->mm, word(f, i, w),
						       val(word(f, i, w)) + add),
					 0);
}

static void cpu_check(struct hmm_fix *f, struct mm_struct *mm, u64 add)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		for (int w = 0; w < WORDS; w++) {
			u64 v = 0;

			assert_int_equal(cpu_read_u64(mm, word(f, i, w), &v), 0);
			assert_int_equal(v, val(word(f, i, w)) + add);
		}
}

/* What the device reads through its own table (the upstream mirror[]). */
static void device_check(struct hmm_fix *f, u64 add)
{
	for (unsigned long i = 0; i < NPAGES; i++)
		for (int w = 0; w < WORDS; w++) {
			u64 v = 0;

			assert_int_equal(dmirror_read_u64(f->d, word(f, i, w),
							  &v),
					 0);
			assert_int_equal(v, val(word(f, i, w)) + add);
		}
}

static pte_t pte_of(struct mm_struct *mm, unsigned long addr)
{
	pte_t pte;

	assert_int_equal(follow_pte(mm, addr, &pte), 0);
	return pte;
}

static void assert_all(struct hmm_fix *f, struct mm_struct *mm,
		       bool (*is)(pte_t))
{
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_true(is(pte_of(mm, f->buf + i * PAGE_SIZE)));
}

static bool is_present_writable(pte_t pte)
{
	return pte_present(pte) && pte_write(pte);
}

static bool is_present(pte_t pte)
{
	return pte_present(pte);
}

/*
 * The fixture over a mapping of NPAGES pages: anonymous with @flags, or
 * of a fresh memfd of that size with @file_flags (MAP_PRIVATE/SHARED).
 */
static void fix_init_map(struct hmm_fix *f, unsigned long flags,
			 unsigned long file_flags)
{
	f->host = driver_host();
	f->mm = mm_alloc(f->host);
	assert_false(IS_ERR(f->mm));
	if (file_flags) {
		f->file = memfd_alloc_file(f->host, "hmm", 0);
		assert_false(IS_ERR(f->file));
		assert_int_equal(do_ftruncate(f->file, NPAGES * PAGE_SIZE), 0);
		f->buf = (unsigned long)vm_mmap_file(f->mm, f->file, 0,
						     NPAGES * PAGE_SIZE,
						     PROT_READ | PROT_WRITE,
						     file_flags, 0);
	} else {
		f->file = NULL;
		f->buf = (unsigned long)vm_mmap(f->mm, 0, NPAGES * PAGE_SIZE,
						PROT_READ | PROT_WRITE,
						flags | MAP_ANONYMOUS);
	}
	assert_true((long)f->buf > 0 && !(f->buf & ~PAGE_MASK));
	f->d = dmirror_create(f->mm, f->buf, NPAGES);
	assert_false(IS_ERR(f->d));
	f->mdev = dmirror_device_create(f->host, DEVPAGES);
	assert_false(IS_ERR(f->mdev));
	dmirror_set_device(f->d, f->mdev);
}

static void fix_init(struct hmm_fix *f, unsigned long flags)
{
	fix_init_map(f, flags, 0);
}

/* Sweep, then tear down: no violation, no WARN, every frame back. */
static void fix_fini(struct hmm_fix *f, unsigned long warns)
{
	checker_sweep(f->host);
	assert_int_equal(checker_violations(f->host), 0);
	dmirror_destroy(f->d);
	if (f->file)
		fput(f->file);
	mmput(f->mm);
	assert_int_equal(dmirror_device_free_pages(f->mdev), DEVPAGES);
	assert_int_equal(dmirror_device_destroy(f->mdev), 0);
	assert_int_equal(warn_count(), warns);
	driver_host_destroy(f->host);
}

static void migrate_all(struct hmm_fix *f)
{
	unsigned long cpages = 0;

	assert_int_equal(dmirror_migrate_to_device(f->d, f->buf, NPAGES,
						   &cpages),
			 0);
	assert_int_equal(cpages, NPAGES);
	assert_all(f, f->mm, is_device_private_pte);
	assert_int_equal(dmirror_device_free_pages(f->mdev), DEVPAGES - NPAGES);
}

/* A fixture whose buffer was written by the CPU and migrated to the device. */
static void fix_migrated(struct hmm_fix *f)
{
	fix_init(f, MAP_PRIVATE);
	cpu_fill(f, 0);
	migrate_all(f);
	device_check(f, 0);
}

/* ... and one whose buffer the device holds exclusively. */
static void fix_exclusive(struct hmm_fix *f)
{
	unsigned long cpages = 0;

	fix_init(f, MAP_PRIVATE);
	cpu_fill(f, 0);
	assert_int_equal(dmirror_exclusive(f->d, f->buf, NPAGES, &cpages), 0);
	assert_int_equal(cpages, NPAGES);
	assert_all(f, f->mm, is_device_exclusive_pte);
	device_check(f, 0);
}

/* ---------------------------------------------------------------------
 * Upstream cases
 */

/* hmm-tests "migrate": the device reads what the CPU wrote. */
static void test_migrate(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "migrate_fault": a CPU read brings each page back (the CPU
 * fault calls migrate_to_ram), and the range migrates again.
 */
static void test_migrate_fault(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	cpu_check(&f, f.mm, 0);
	assert_all(&f, f.mm, is_present_writable);
	assert_int_equal(dmirror_device_free_pages(f.mdev), DEVPAGES);
	migrate_all(&f);
	device_check(&f, 0);
	fix_fini(&f, warns);
}

/* hmm-tests "migrate_shared": shared memory cannot go to the device. */
static void test_migrate_shared(void **state)
{
	unsigned long warns = warn_count(), cpages = 1;
	struct hmm_fix f;

	(void)state;
	fix_init(&f, MAP_SHARED);
	cpu_fill(&f, 0);
	assert_int_equal(dmirror_migrate_to_device(f.d, f.buf, NPAGES,
						   &cpages),
			 -ENOENT);
	assert_int_equal(cpages, 0);
	assert_all(&f, f.mm, is_present);
	cpu_check(&f, f.mm, 0);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "migrate_file_private": a MAP_PRIVATE mapping of a file, every
 * page written by the CPU (so each is the mapping's own anonymous copy),
 * moves to the device, which reads the values.  Then back: CPU reads
 * fault each page into system memory with its data, and the file itself
 * never saw the writes (a shared mapping of it reads zero).
 */
static void test_migrate_file_private(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;
	long shared;

	(void)state;
	fix_init_map(&f, 0, MAP_PRIVATE);
	cpu_fill(&f, 0);
	migrate_all(&f);
	device_check(&f, 0);
	cpu_check(&f, f.mm, 0);
	assert_all(&f, f.mm, is_present_writable);
	assert_int_equal(dmirror_device_free_pages(f.mdev), DEVPAGES);
	shared = vm_mmap_file(f.mm, f.file, 0, NPAGES * PAGE_SIZE, PROT_READ,
			      MAP_SHARED, 0);
	assert_true(shared > 0);
	for (unsigned long i = 0; i < NPAGES; i++) {
		u64 v = 1;

		assert_int_equal(cpu_read_u64(f.mm, shared + i * PAGE_SIZE, &v),
				 0);
		assert_int_equal(v, 0);
	}
	assert_int_equal(vm_munmap(f.mm, shared, NPAGES * PAGE_SIZE), 0);
	fix_fini(&f, warns);
}

/* hmm-tests "migrate_multiple": migrate and fault back, ten times. */
static void test_migrate_multiple(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_init(&f, MAP_PRIVATE);
	for (int c = 0; c < 10; c++) {
		cpu_fill(&f, (u64)c);
		migrate_all(&f);
		device_check(&f, (u64)c);
		cpu_check(&f, f.mm, (u64)c);
	}
	fix_fini(&f, warns);
}

/*
 * hmm-tests "migrate_release": the device releases its memory
 * (HMM_DMIRROR_RELEASE: every page evicted to system memory), and the CPU
 * then reads the data in place.
 */
static void test_migrate_release(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	assert_int_equal(dmirror_device_evict(f.mdev), NPAGES);
	assert_int_equal(dmirror_device_free_pages(f.mdev), DEVPAGES);
	assert_all(&f, f.mm, is_present_writable);
	cpu_check(&f, f.mm, 0);
	fix_fini(&f, warns);
}

/*
 * The mirror faults its own device pages in place: hmm_range_fault() with
 * dev_private_owner reports them (read-only after an mprotect dropped the
 * device's entries) and leaves them in device memory; a mirror without
 * device memory faults them back to system memory (migrate_to_ram).
 */
static void test_migrate_fault_in_place(void **state)
{
	unsigned long warns = warn_count();
	struct dmirror *other;
	struct hmm_fix f;
	u64 v = 0;

	(void)state;
	fix_migrated(&f);
	assert_int_equal(do_mprotect(f.mm, f.buf, NPAGES * PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(dmirror_valid_entries(f.d), 0);
	device_check(&f, 0);
	assert_int_equal(dmirror_valid_entries(f.d), NPAGES);
	assert_all(&f, f.mm, is_device_private_pte);
	assert_int_equal(dmirror_device_free_pages(f.mdev), DEVPAGES - NPAGES);
	assert_int_equal(dmirror_write_u64(f.d, f.buf, 1), -EPERM);

	other = dmirror_create(f.mm, f.buf, NPAGES);
	assert_false(IS_ERR(other));
	assert_int_equal(dmirror_read_u64(other, f.buf, &v), 0);
	assert_int_equal(v, val(f.buf));
	assert_true(pte_present(pte_of(f.mm, f.buf)));
	assert_int_equal(dmirror_device_free_pages(f.mdev),
			 DEVPAGES - NPAGES + 1);
	dmirror_destroy(other);
	cpu_check(&f, f.mm, 0);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "hmm_cow_in_device": pages in device memory shared with a
 * child by fork; the parent's write migrates each back (for both
 * processes) and breaks COW; the child keeps the old data; once the child
 * is gone every parent PTE is writable (upstream's snapshot).
 */
static void test_hmm_cow_in_device(void **state)
{
	unsigned long warns = warn_count();
	struct mm_struct *child;
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	child = dup_mm(f.mm);
	assert_false(IS_ERR(child));
	/* Both sides hold read-only device-private entries now. */
	for (unsigned long i = 0; i < NPAGES; i++) {
		pte_t p = pte_of(f.mm, f.buf + i * PAGE_SIZE);

		assert_true(is_device_private_pte(p));
		assert_false(is_writable_device_private_entry(
			pte_to_swp_entry(p)));
		assert_int_equal(pte_val(p), pte_val(pte_of(child,
							    f.buf + i * PAGE_SIZE)));
	}
	cpu_fill(&f, 1);
	cpu_check(&f, child, 0);
	mmput(child);
	assert_all(&f, f.mm, is_present_writable);
	cpu_check(&f, f.mm, 1);
	assert_int_equal(dmirror_device_free_pages(f.mdev), DEVPAGES);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "exclusive": the device holds the range for atomic access;
 * the CPU's accesses revoke it (the device's entries are gone after).
 */
static void test_exclusive(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_exclusive(&f);
	assert_int_equal(dmirror_check_exclusive(f.d, f.buf, NPAGES), -EPERM);
	cpu_check(&f, f.mm, 0);
	cpu_fill(&f, 1);
	cpu_check(&f, f.mm, 1);
	assert_all(&f, f.mm, is_present_writable);
	assert_int_equal(dmirror_check_exclusive(f.d, f.buf, NPAGES), 0);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "exclusive_mprotect": after mprotect(PROT_READ) the
 * exclusive entries are read-only and a device write is refused with
 * -EPERM, hmm_range_fault()'s answer for a write to a read-only VMA.
 */
static void test_exclusive_mprotect(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_exclusive(&f);
	assert_int_equal(do_mprotect(f.mm, f.buf, NPAGES * PAGE_SIZE,
				     PROT_READ),
			 0);
	for (unsigned long i = 0; i < NPAGES; i++) {
		pte_t p = pte_of(f.mm, f.buf + i * PAGE_SIZE);

		assert_true(is_device_exclusive_pte(p));
		assert_false(is_writable_device_exclusive_entry(
			pte_to_swp_entry(p)));
		assert_int_equal(dmirror_write_u64(f.d, f.buf + i * PAGE_SIZE,
						   1),
				 -EPERM);
	}
	cpu_check(&f, f.mm, 0);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "exclusive_cow": fork of exclusive entries copies them as
 * PTEs; each side then writes its own copy.
 */
static void test_exclusive_cow(void **state)
{
	unsigned long warns = warn_count();
	struct mm_struct *child;
	struct hmm_fix f;

	(void)state;
	fix_exclusive(&f);
	child = dup_mm(f.mm);
	assert_false(IS_ERR(child));
	assert_all(&f, f.mm, is_present);
	assert_all(&f, child, is_present);
	for (unsigned long i = 0; i < NPAGES; i++)
		for (int w = 0; w < WORDS; w++)
			assert_int_equal(cpu_write_u64(child, word(&f, i, w),
						       val(word(&f, i, w)) + 2),
					 0);
	cpu_check(&f, child, 2);
	cpu_check(&f, f.mm, 0);
	cpu_fill(&f, 1);
	cpu_check(&f, f.mm, 1);
	cpu_check(&f, child, 2);
	mmput(child);
	assert_int_equal(dmirror_check_exclusive(f.d, f.buf, NPAGES), 0);
	fix_fini(&f, warns);
}

/*
 * hmm-tests "migrate_mixed" (hmm2: two devices): a PROT_NONE range and a
 * range with a hole are refused; then a read-only zero page, a read-only
 * page and two writable pages all move to device 1, and device 0 cannot
 * take a page that is in device 1's memory.
 */
static void test_migrate_mixed(void **state)
{
	unsigned long warns = warn_count(), cpages = 0;
	struct dmirror_device *mdev0, *mdev1;
	struct dmirror *d0, *d1;
	struct host *host = driver_host();
	struct mm_struct *mm = mm_alloc(host);
	unsigned long p = (unsigned long)vm_mmap(mm, 0, 6 * PAGE_SIZE,
						 PROT_NONE,
						 MAP_PRIVATE | MAP_ANONYMOUS);
	u64 v = 1;

	(void)state;
	d0 = dmirror_create(mm, p, 6);
	d1 = dmirror_create(mm, p, 6);
	mdev0 = dmirror_device_create(host, DEVPAGES);
	mdev1 = dmirror_device_create(host, DEVPAGES);
	dmirror_set_device(d0, mdev0);
	dmirror_set_device(d1, mdev1);
	assert_int_equal(dmirror_migrate_to_device(d1, p, 6, &cpages), -EINVAL);
	assert_int_equal(vm_munmap(mm, p + PAGE_SIZE, PAGE_SIZE), 0);
	assert_int_equal(dmirror_migrate_to_device(d1, p, 3, &cpages), -EINVAL);
	assert_int_equal(do_mprotect(mm, p + 2 * PAGE_SIZE, PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(cpu_read_u64(mm, p + 2 * PAGE_SIZE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(do_mprotect(mm, p + 3 * PAGE_SIZE, PAGE_SIZE,
				     PROT_READ | PROT_WRITE),
			 0);
	assert_int_equal(cpu_write_u64(mm, p + 3 * PAGE_SIZE, 3), 0);
	assert_int_equal(do_mprotect(mm, p + 3 * PAGE_SIZE, PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(do_mprotect(mm, p + 4 * PAGE_SIZE, 2 * PAGE_SIZE,
				     PROT_READ | PROT_WRITE),
			 0);
	assert_int_equal(cpu_write_u64(mm, p + 4 * PAGE_SIZE, 3), 0);
	assert_int_equal(cpu_write_u64(mm, p + 5 * PAGE_SIZE, 3), 0);
	assert_int_equal(dmirror_migrate_to_device(d1, p + 2 * PAGE_SIZE, 4,
						   &cpages),
			 0);
	assert_int_equal(cpages, 4);
	for (int i = 2; i < 6; i++) {
		pte_t pte = pte_of(mm, p + i * PAGE_SIZE);

		assert_true(is_device_private_pte(pte));
		assert_int_equal(is_writable_device_private_entry(
					 pte_to_swp_entry(pte)),
				 i >= 4);
	}
	assert_int_equal(dmirror_migrate_to_device(d0, p + 5 * PAGE_SIZE, 1,
						   &cpages),
			 -ENOENT);
	assert_int_equal(cpages, 0);
	assert_int_equal(cpu_read_u64(mm, p + 3 * PAGE_SIZE, &v), 0);
	assert_int_equal(v, 3);
	checker_sweep(host);
	assert_int_equal(checker_violations(host), 0);
	dmirror_destroy(d0);
	dmirror_destroy(d1);
	mmput(mm);
	assert_int_equal(dmirror_device_destroy(mdev0), 0);
	assert_int_equal(dmirror_device_destroy(mdev1), 0);
	assert_int_equal(warn_count(), warns);
	driver_host_destroy(host);
}

/*
 * hmm-tests "hmm_gup_test": gup_test's four calls, one page each, on pages
 * in device memory, all with FOLL_WRITE: get_user_pages(), GUP-fast, a
 * FOLL_LONGTERM pin through pin_user_pages_fast() and one through
 * pin_user_pages().  Each migrates its page back (the GUP fault meets the
 * device-private entry); a snapshot then reports the four writable in
 * system memory, the data intact.  The model has no lockless GUP-fast:
 * Linux's gives up on any non-present entry and falls back to the slow
 * path with the mmap_lock taken inside, which is what
 * get_user_pages_unlocked() is here (and the pin's fallback a pin under
 * the lock).
 */
static void test_hmm_gup_test(void **state)
{
	unsigned long warns = warn_count();
	struct dmirror_cmd cmd;
	struct page *page;
	struct hmm_fix f;
	u8 prot[4];

	(void)state;
	fix_migrated(&f);
	mmap_read_lock(f.mm);
	assert_int_equal(get_user_pages_remote(f.mm, f.buf, 1, FOLL_WRITE,
					       &page),
			 1);
	mmap_read_unlock(f.mm);
	assert_false(is_device_private_page(page));
	put_page(page);
	assert_int_equal(get_user_pages_unlocked(f.mm, f.buf + PAGE_SIZE, 1,
						 &page, FOLL_WRITE),
			 1);
	assert_false(is_device_private_page(page));
	put_page(page);
	for (unsigned long i = 2; i < 4; i++) {
		mmap_read_lock(f.mm);
		assert_int_equal(pin_user_pages_remote(f.mm,
						       f.buf + i * PAGE_SIZE, 1,
						       FOLL_WRITE | FOLL_LONGTERM,
						       &page),
				 1);
		mmap_read_unlock(f.mm);
		assert_false(is_device_private_page(page));
		unpin_user_page(page);
	}
	cmd = (struct dmirror_cmd){ .addr = f.buf, .npages = 4, .ptr = prot };
	assert_int_equal(dmirror_cmd_snapshot(f.d, &cmd), 0);
	assert_int_equal(cmd.cpages, 4);
	for (unsigned long i = 0; i < 4; i++)
		assert_int_equal(prot[i], DMIRROR_PROT_WRITE);
	assert_int_equal(dmirror_device_free_pages(f.mdev),
			 DEVPAGES - NPAGES + 4);
	cpu_check(&f, f.mm, 0);
	fix_fini(&f, warns);
}

/* ---------------------------------------------------------------------
 * The rest of the Linux 6.12 semantics
 */

/* What the device writes in its memory, the CPU reads after migration. */
static void test_device_write_then_cpu_read(void **state)
{
	unsigned long warns = warn_count(), cpages = 0;
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	for (unsigned long i = 0; i < NPAGES; i++)
		for (int w = 0; w < WORDS; w++)
			assert_int_equal(dmirror_write_u64(f.d, word(&f, i, w),
							   val(word(&f, i, w)) +
								   7),
					 0);
	/* Written in device memory: still device-private. */
	assert_all(&f, f.mm, is_device_private_pte);
	/* Half back on request, half by CPU faults. */
	assert_int_equal(dmirror_migrate_to_system(f.d, f.buf, NPAGES / 2,
						   &cpages),
			 0);
	assert_int_equal(cpages, NPAGES / 2);
	cpu_check(&f, f.mm, 7);
	fix_fini(&f, warns);
}

/* Holes and the zero page become zeroed device pages. */
static void test_migrate_holes(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;
	u64 v = 1;

	(void)state;
	fix_init(&f, MAP_PRIVATE);
	assert_int_equal(cpu_read_u64(f.mm, f.buf, &v), 0); /* zero page */
	migrate_all(&f);
	for (unsigned long i = 0; i < NPAGES; i++) {
		assert_int_equal(dmirror_read_u64(f.d, word(&f, i, 1), &v), 0);
		assert_int_equal(v, 0);
	}
	cpu_fill(&f, 3);
	cpu_check(&f, f.mm, 3);
	fix_fini(&f, warns);
}

/* munmap and exit give device pages back to the driver; mprotect
 * makes device-private entries read-only. */
static void test_migrate_unmap_exit_mprotect(void **state)
{
	unsigned long warns = warn_count();
	struct hmm_fix f;

	(void)state;
	fix_migrated(&f);
	assert_int_equal(do_mprotect(f.mm, f.buf, NPAGES * PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_false(is_writable_device_private_entry(
		pte_to_swp_entry(pte_of(f.mm, f.buf))));
	assert_int_equal(cpu_write_u64(f.mm, f.buf, 1), -EFAULT);
	assert_int_equal(vm_munmap(f.mm, f.buf, PAGE_SIZE * NPAGES / 2), 0);
	assert_int_equal(dmirror_device_free_pages(f.mdev),
			 DEVPAGES - NPAGES / 2);
	/* The other half goes at exit (fix_fini checks the count). */
	fix_fini(&f, warns);
}

/* ---------------------------------------------------------------------
 * The events, as a recording interval subscriber over the range sees them
 */

static unsigned int count_events(struct rec_log *log, int event, void *owner,
				 unsigned long start, unsigned long end)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < log->n; i++)
		n += log->e[i].cb == REC_INVALIDATE && log->e[i].event == event &&
		     log->e[i].owner == owner && log->e[i].start == start &&
		     log->e[i].end == end &&
		     (log->e[i].flags & MMU_NOTIFIER_RANGE_BLOCKABLE);
	return n;
}

static void rec_attach(struct hmm_fix *f, struct rec_isub *isub,
		       struct rec_log *log)
{
	rec_log_init(log);
	rec_isub_init(isub, 1, log);
	assert_int_equal(mmu_interval_notifier_insert(&isub->in, f->mm, f->buf,
						      NPAGES * PAGE_SIZE,
						      &rec_iops),
			 0);
}

/*
 * migrate_vma_setup(): one MIGRATE invalidation of the whole range (one
 * migrate_vma chunk) owned by the device; the CPU fault's migrate_to_ram:
 * one of the page, owned by the device too (its pgmap owner).
 */
static void test_events_migrate(void **state)
{
	unsigned long warns = warn_count();
	struct rec_isub isub;
	struct rec_log log;
	struct hmm_fix f;
	u64 v;

	(void)state;
	fix_init(&f, MAP_PRIVATE);
	cpu_fill(&f, 0);
	rec_attach(&f, &isub, &log);
	migrate_all(&f);
	assert_int_equal(log.n, 1);
	assert_int_equal(count_events(&log, MMU_NOTIFY_MIGRATE, f.mdev, f.buf,
				      f.buf + NPAGES * PAGE_SIZE),
			 1);
	assert_int_equal(cpu_read_u64(f.mm, f.buf + 3 * PAGE_SIZE, &v), 0);
	assert_int_equal(log.n, 2);
	assert_int_equal(count_events(&log, MMU_NOTIFY_MIGRATE, f.mdev,
				      f.buf + 3 * PAGE_SIZE,
				      f.buf + 4 * PAGE_SIZE),
			 1);
	mmu_interval_notifier_remove(&isub.in);
	fix_fini(&f, warns);
}

/*
 * Holes: migrate_vma_pages() fills them inside a second MIGRATE
 * invalidation, from the first hole to the end.  Eviction
 * (migrate_device_range()): a CLEAR of each page, per mapping, no owner.
 */
static void test_events_holes_evict(void **state)
{
	unsigned long warns = warn_count();
	struct rec_isub isub;
	struct rec_log log;
	struct hmm_fix f;

	(void)state;
	fix_init(&f, MAP_PRIVATE);
	for (unsigned long i = 0; i < NPAGES / 2; i++)
		assert_int_equal(cpu_write_u64(f.mm, f.buf + i * PAGE_SIZE, i),
				 0);
	rec_attach(&f, &isub, &log);
	migrate_all(&f);
	assert_int_equal(log.n, 2);
	assert_int_equal(count_events(&log, MMU_NOTIFY_MIGRATE, f.mdev, f.buf,
				      f.buf + NPAGES * PAGE_SIZE),
			 1);
	assert_int_equal(count_events(&log, MMU_NOTIFY_MIGRATE, f.mdev,
				      f.buf + NPAGES / 2 * PAGE_SIZE,
				      f.buf + NPAGES * PAGE_SIZE),
			 1);
	assert_int_equal(dmirror_device_evict(f.mdev), NPAGES);
	assert_int_equal(log.n, 2 + NPAGES);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(count_events(&log, MMU_NOTIFY_CLEAR, NULL,
					      f.buf + i * PAGE_SIZE,
					      f.buf + (i + 1) * PAGE_SIZE),
				 1);
	mmu_interval_notifier_remove(&isub.in);
	fix_fini(&f, warns);
}

/*
 * make_device_exclusive_range(): an EXCLUSIVE invalidation per page owned
 * by the device; a CPU access: an EXCLUSIVE invalidation of the page
 * without owner, which the device must honour.
 */
static void test_events_exclusive(void **state)
{
	unsigned long warns = warn_count(), cpages;
	struct rec_isub isub;
	struct rec_log log;
	struct hmm_fix f;
	u64 v;

	(void)state;
	fix_init(&f, MAP_PRIVATE);
	cpu_fill(&f, 0);
	rec_attach(&f, &isub, &log);
	assert_int_equal(dmirror_exclusive(f.d, f.buf, NPAGES, &cpages), 0);
	assert_int_equal(log.n, NPAGES);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(count_events(&log, MMU_NOTIFY_EXCLUSIVE, f.mdev,
					      f.buf + i * PAGE_SIZE,
					      f.buf + (i + 1) * PAGE_SIZE),
				 1);
	assert_int_equal(cpu_read_u64(f.mm, f.buf + 5 * PAGE_SIZE, &v), 0);
	assert_int_equal(log.n, NPAGES + 1);
	assert_int_equal(count_events(&log, MMU_NOTIFY_EXCLUSIVE, NULL,
				      f.buf + 5 * PAGE_SIZE,
				      f.buf + 6 * PAGE_SIZE),
			 1);
	assert_int_equal(dmirror_check_exclusive(f.d, f.buf + 5 * PAGE_SIZE, 1),
			 0);
	assert_int_equal(dmirror_check_exclusive(f.d, f.buf, 1), -EPERM);
	mmu_interval_notifier_remove(&isub.in);
	fix_fini(&f, warns);
}

/* ---------------------------------------------------------------------
 * Two devices over one range: the owner check
 */

/*
 * Device B migrates pages that device A maps: B's MIGRATE invalidation
 * carries B as owner, so A must invalidate.  A mirror that skips every
 * MIGRATE invalidation (migrate-no-owner-check) keeps its entries for
 * pages that left for B's memory, which the checker reports (INV-6);
 * done right, A's next read faults and takes the page back from B.
 */
static void run_two_devices(bool mutant)
{
	unsigned long warns = warn_count(), cpages;
	struct dmirror_device *mdev_b;
	struct dmirror *d_b;
	struct hmm_fix f;

	fix_init(&f, MAP_PRIVATE);
	cpu_fill(&f, 0);
	device_check(&f, 0);
	mdev_b = dmirror_device_create(f.host, DEVPAGES);
	d_b = dmirror_create(f.mm, f.buf, NPAGES);
	assert_false(IS_ERR(mdev_b) || IS_ERR(d_b));
	dmirror_set_device(d_b, mdev_b);
	if (mutant)
		mutant_set(MUTANT_MIGRATE_NO_OWNER_CHECK);
	assert_int_equal(dmirror_migrate_to_device(d_b, f.buf, NPAGES, &cpages),
			 0);
	mutant_set(MUTANT_NONE);
	if (mutant) {
		assert_true(checker_violations(f.host) > 0);
		checker_detach(f.host);
		dmirror_destroy(d_b);
		dmirror_destroy(f.d);
		mmput(f.mm);
		assert_int_equal(dmirror_device_destroy(mdev_b), 0);
		assert_int_equal(dmirror_device_destroy(f.mdev), 0);
		assert_int_equal(host_destroy(f.host), 0);
		return;
	}
	assert_int_equal(checker_violations(f.host), 0);
	device_check(&f, 0); /* back from B's memory through the CPU fault */
	assert_int_equal(dmirror_device_free_pages(mdev_b), DEVPAGES);
	dmirror_destroy(d_b);
	assert_int_equal(dmirror_device_destroy(mdev_b), 0);
	fix_fini(&f, warns);
}

static void test_two_devices(void **state)
{
	(void)state;
	run_two_devices(false);
}

static void test_mutant_migrate_no_owner_check(void **state)
{
	(void)state;
	run_two_devices(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_migrate_fault),
		cmocka_unit_test(test_migrate_shared),
		cmocka_unit_test(test_migrate_file_private),
		cmocka_unit_test(test_migrate_multiple),
		cmocka_unit_test(test_migrate_release),
		cmocka_unit_test(test_migrate_fault_in_place),
		cmocka_unit_test(test_hmm_cow_in_device),
		cmocka_unit_test(test_exclusive),
		cmocka_unit_test(test_exclusive_mprotect),
		cmocka_unit_test(test_exclusive_cow),
		cmocka_unit_test(test_migrate_mixed),
		cmocka_unit_test(test_hmm_gup_test),
		cmocka_unit_test(test_device_write_then_cpu_read),
		cmocka_unit_test(test_migrate_holes),
		cmocka_unit_test(test_migrate_unmap_exit_mprotect),
		cmocka_unit_test(test_events_migrate),
		cmocka_unit_test(test_events_holes_evict),
		cmocka_unit_test(test_events_exclusive),
		cmocka_unit_test(test_two_devices),
		cmocka_unit_test(test_mutant_migrate_no_owner_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
