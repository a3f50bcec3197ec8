// SPDX-License-Identifier: MIT
/*
 * hmm_range_fault() and the device mirror built on it, through the cases
 * of Linux's HMM selftests (tools/testing/selftests/mm/hmm-tests.c) that
 * are about faults, snapshots, reads, writes and protections: each test
 * is named after its upstream case, and dmirror_cmd_read/write/snapshot()
 * stand for test_hmm's HMM_DMIRROR_* ioctls.  A device "reads a page" as
 * its first word (a data host), so the values are per page.  docs/hmm.md
 * lists every upstream case and where it went.
 *
 * Then hmm_range_fault() itself: per-page requests, -EBUSY, -EPERM,
 * -EFAULT, the order of what is written on an error, and its assertion
 * that the caller holds the mmap_lock.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/huge_mm.h>
#include <mmulab/memfd.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include "mm/internal.h"
#include "driver_fixture.h"
#include "cpu_access.h"

#define RW (PROT_READ | PROT_WRITE)
#define NPAGES 16
#define NTIMES 10

/* test_hmm's struct hmm_buffer: the CPU's mapping and the device's copy. */
struct buffer {
	struct mm_struct *mm;
	unsigned long ptr;
	unsigned long npages;
	u64 mirror[NPAGES];
	u8 prot[NPAGES];
	struct dmirror_cmd cmd;
};

static struct host *host;
static struct mm_struct *mm;

static int setup(void **state)
{
	(void)state;
	host = driver_host();
	mm = mm_alloc(host);
	assert_false(IS_ERR(mm));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(checker_violations(host), 0);
	mmput(mm);
	driver_host_destroy(host);
	return 0;
}

static unsigned long page_addr(const struct buffer *b, unsigned long i)
{
	return b->ptr + i * PAGE_SIZE;
}

static void buffer_map(struct buffer *b, struct mm_struct *m,
		       unsigned long npages, unsigned long prot,
		       unsigned long flags)
{
	memset(b, 0, sizeof(*b));
	b->mm = m;
	b->npages = npages;
	b->ptr = vm_mmap(m, 0, npages * PAGE_SIZE, prot,
			 flags | MAP_ANONYMOUS);
	assert_true((long)b->ptr > 0);
}

static void buffer_fill(struct buffer *b, unsigned long from, u64 base)
{
	for (unsigned long i = from; i < b->npages; i++)
		assert_int_equal(cpu_write_u64(b->mm, page_addr(b, i), base + i),
				 0);
}

static void buffer_expect(struct buffer *b, struct mm_struct *m,
			  unsigned long from, u64 base)
{
	for (unsigned long i = from; i < b->npages; i++) {
		u64 val;

		assert_int_equal(cpu_read_u64(m, page_addr(b, i), &val), 0);
		assert_int_equal(val, base + i);
	}
}

static struct dmirror *mirror_open(struct buffer *b)
{
	struct dmirror *d = dmirror_create(b->mm, b->ptr, b->npages);

	assert_false(IS_ERR(d));
	return d;
}

/* hmm_dmirror_cmd(): a device command over the first @npages pages. */
static int dmirror_cmd(struct dmirror *d, int (*cmd)(struct dmirror *,
						      struct dmirror_cmd *),
		       struct buffer *b, unsigned long npages)
{
	b->cmd = (struct dmirror_cmd){
		.addr = b->ptr,
		.npages = npages,
		.ptr = cmd == dmirror_cmd_snapshot ? (void *)b->prot
						   : (void *)b->mirror,
	};
	return cmd(d, &b->cmd);
}

static void buffer_free(struct buffer *b, struct dmirror *d)
{
	dmirror_destroy(d);
	if (b->ptr)
		assert_int_equal(vm_munmap(b->mm, b->ptr,
					   b->npages * PAGE_SIZE),
				 0);
}

/* ---------------------------------------------------------------------
 * hmm-tests.c
 */

static void test_open_close(void **state)
{
	struct buffer b;

	(void)state;
	buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
	buffer_free(&b, mirror_open(&b));
}

/* Read private anonymous memory: pte_none and zero-page pages read 0. */
static void test_anon_read(void **state)
{
	struct buffer b;
	struct dmirror *d;
	u64 val;

	(void)state;
	buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
	buffer_fill(&b, 2, 100);
	assert_int_equal(do_mprotect(mm, b.ptr, NPAGES * PAGE_SIZE, PROT_READ),
			 0);
	/* Page 1 gets the zero page; page 0 stays pte_none. */
	assert_int_equal(cpu_read_u64(mm, page_addr(&b, 1), &val), 0);
	assert_int_equal(val, 0);
	d = mirror_open(&b);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_read, &b, NPAGES), 0);
	assert_int_equal(b.cmd.cpages, NPAGES);
	assert_int_equal(b.cmd.faults, 1);
	assert_int_equal(b.mirror[0], 0);
	assert_int_equal(b.mirror[1], 0);
	for (unsigned long i = 2; i < NPAGES; i++)
		assert_int_equal(b.mirror[i], 100 + i);
	buffer_free(&b, d);
}

/* Read memory protected PROT_NONE: -EFAULT, the device buffer untouched. */
static void test_anon_read_prot(void **state)
{
	struct buffer b;
	struct dmirror *d;

	(void)state;
	buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
	buffer_fill(&b, 0, 100);
	d = mirror_open(&b);
	assert_int_equal(do_mprotect(mm, b.ptr, NPAGES * PAGE_SIZE, PROT_NONE),
			 0);
	for (unsigned long i = 0; i < NPAGES; i++)
		b.mirror[i] = ~0ULL;
	b.cmd = (struct dmirror_cmd){ .addr = b.ptr, .npages = NPAGES,
				      .ptr = b.mirror };
	assert_int_equal(dmirror_cmd_read(d, &b.cmd), -EFAULT);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(b.mirror[i], ~0ULL);
	assert_int_equal(do_mprotect(mm, b.ptr, NPAGES * PAGE_SIZE, PROT_READ),
			 0);
	buffer_expect(&b, mm, 0, 100);
	buffer_free(&b, d);
}

static void device_fill(struct buffer *b, u64 base)
{
	for (unsigned long i = 0; i < b->npages; i++)
		b->mirror[i] = base + i;
}

/* Write private anonymous memory: one fault, the CPU sees the values. */
static void test_anon_write(void **state)
{
	struct buffer b;
	struct dmirror *d;

	(void)state;
	buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
	d = mirror_open(&b);
	device_fill(&b, 200);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_write, &b, NPAGES), 0);
	assert_int_equal(b.cmd.cpages, NPAGES);
	assert_int_equal(b.cmd.faults, 1);
	buffer_expect(&b, mm, 0, 200);
	buffer_free(&b, d);
}

/*
 * Write memory mapped PROT_READ: -EPERM from hmm_range_fault() (GUP
 * would say -EFAULT); after mprotect(RW) the zero page is replaced.
 */
static void test_anon_write_prot(void **state)
{
	struct buffer b;
	struct dmirror *d;

	(void)state;
	buffer_map(&b, mm, NPAGES, PROT_READ, MAP_PRIVATE);
	d = mirror_open(&b);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_read, &b, 1), 0);
	assert_int_equal(b.cmd.cpages, 1);
	assert_int_equal(b.cmd.faults, 1);
	assert_int_equal(b.mirror[0], 0);

	device_fill(&b, 300);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_write, &b, NPAGES), -EPERM);
	for (unsigned long i = 0; i < NPAGES; i++) {
		u64 val;

		assert_int_equal(cpu_read_u64(mm, page_addr(&b, i), &val), 0);
		assert_int_equal(val, 0);
	}

	assert_int_equal(do_mprotect(mm, b.ptr, NPAGES * PAGE_SIZE, RW), 0);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_write, &b, NPAGES), 0);
	assert_int_equal(b.cmd.cpages, NPAGES);
	assert_int_equal(b.cmd.faults, 1);
	buffer_expect(&b, mm, 0, 300);
	buffer_free(&b, d);
}

/*
 * A child's device writes its COW copy of a private mapping: the child
 * sees them, the parent keeps its values.  With @shared, a MAP_SHARED
 * mapping: the parent sees them too.
 */
static void write_child(bool shared)
{
	struct buffer b, cb;
	struct mm_struct *child;
	struct dmirror *d;

	buffer_map(&b, mm, NPAGES, RW, shared ? MAP_SHARED : MAP_PRIVATE);
	buffer_fill(&b, 0, 400);
	child = dup_mm(mm);
	assert_false(IS_ERR(child));
	buffer_expect(&b, child, 0, 400);
	cb = b;
	cb.mm = child;
	d = mirror_open(&cb);
	device_fill(&cb, 500);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_write, &cb, NPAGES), 0);
	assert_int_equal(cb.cmd.cpages, NPAGES);
	assert_int_equal(cb.cmd.faults, 1);
	buffer_expect(&b, child, 0, 500);
	buffer_expect(&b, mm, 0, shared ? 500 : 400);
	dmirror_destroy(d);
	mmput(child);
	buffer_free(&b, NULL);
}

static void test_anon_write_child(void **state)
{
	(void)state;
	write_child(false);
}

static void test_anon_write_child_shared(void **state)
{
	(void)state;
	write_child(true);
}

/* Read fresh private memory NTIMES over: one fault each time. */
static void test_anon_read_multiple(void **state)
{
	(void)state;
	for (u64 c = 0; c < NTIMES; c++) {
		struct buffer b;
		struct dmirror *d;

		buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
		buffer_fill(&b, 0, 1000 * c);
		d = mirror_open(&b);
		assert_int_equal(dmirror_cmd(d, dmirror_cmd_read, &b, NPAGES),
				 0);
		assert_int_equal(b.cmd.cpages, NPAGES);
		assert_int_equal(b.cmd.faults, 1);
		for (unsigned long i = 0; i < NPAGES; i++)
			assert_int_equal(b.mirror[i], 1000 * c + i);
		buffer_free(&b, d);
	}
}

struct teardown_arg {
	struct buffer *b;
	unsigned int delay;
};

static int unmap_buffer(void *p)
{
	struct teardown_arg *t = p;

	for (unsigned int i = 0; i < t->delay; i++)
		cond_resched();
	return vm_munmap(t->b->mm, t->b->ptr + NPAGES / 2 * PAGE_SIZE,
			 NPAGES / 2 * PAGE_SIZE);
}

/*
 * Read while another task unmaps the second half: either the read
 * completes with the right values, or it fails with -EFAULT; the mirror
 * never keeps an unmapped page (the checker's sweep and INV-2).
 */
static void test_anon_teardown(void **state)
{
	(void)state;
	for (u64 c = 0; c < NTIMES; c++) {
		struct teardown_arg t;
		struct task_struct *task;
		struct buffer b;
		struct dmirror *d;
		int rc;

		buffer_map(&b, mm, NPAGES, RW, MAP_PRIVATE);
		buffer_fill(&b, 0, 2000 * c);
		d = mirror_open(&b);
		t = (struct teardown_arg){ .b = &b, .delay = c * 7 };
		task = kthread_run(unmap_buffer, &t, "unmap");
		assert_false(IS_ERR(task));
		rc = dmirror_cmd(d, dmirror_cmd_read, &b, NPAGES);
		if (rc == 0) {
			assert_int_equal(b.cmd.cpages, NPAGES);
			for (unsigned long i = 0; i < NPAGES; i++)
				assert_int_equal(b.mirror[i], 2000 * c + i);
		} else {
			assert_int_equal(rc, -EFAULT);
		}
		assert_int_equal(kthread_stop(task), 0);
		assert_true(dmirror_valid_entries(d) <= NPAGES / 2);
		assert_int_equal(dmirror_check(d), 0);
		dmirror_destroy(d);
		assert_int_equal(vm_munmap(mm, b.ptr, NPAGES / 2 * PAGE_SIZE),
				 0);
	}
}

/* hmm2's second device: a mirror of @b with device memory of its own. */
static struct dmirror *mirror_open_dev(struct buffer *b,
				       struct dmirror_device **mdev)
{
	struct dmirror *d = mirror_open(b);

	*mdev = dmirror_device_create(host, NPAGES);
	assert_false(IS_ERR(*mdev));
	dmirror_set_device(d, *mdev);
	return d;
}

static void mirror_close_dev(struct dmirror *d, struct dmirror_device *mdev)
{
	dmirror_destroy(d);
	assert_int_equal(dmirror_device_destroy(mdev), 0);
}

/*
 * hmm2 "snapshot": PROT_NONE, a hole, the zero page, read-only, writable,
 * a page in device 0's memory and one in device 1's; device 0's snapshot
 * reports its own device page writable in place and the other device's as
 * nothing mapped (not faulted back), and faults nothing.
 */
static void test_snapshot(void **state)
{
	struct dmirror_device *mdev0, *mdev1;
	unsigned long faults, cpages;
	struct buffer b;
	struct dmirror *d0, *d1;
	u64 val;

	(void)state;
	buffer_map(&b, mm, 7, PROT_NONE, MAP_PRIVATE);
	d0 = mirror_open_dev(&b, &mdev0);
	d1 = mirror_open_dev(&b, &mdev1);
	assert_int_equal(vm_munmap(mm, page_addr(&b, 1), PAGE_SIZE), 0);
	assert_int_equal(do_mprotect(mm, page_addr(&b, 2), PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(cpu_read_u64(mm, page_addr(&b, 2), &val), 0);
	assert_int_equal(do_mprotect(mm, page_addr(&b, 3), PAGE_SIZE, RW), 0);
	assert_int_equal(cpu_write_u64(mm, page_addr(&b, 3), 3), 0);
	assert_int_equal(do_mprotect(mm, page_addr(&b, 3), PAGE_SIZE,
				     PROT_READ),
			 0);
	assert_int_equal(do_mprotect(mm, page_addr(&b, 4), 3 * PAGE_SIZE, RW),
			 0);
	assert_int_equal(cpu_write_u64(mm, page_addr(&b, 4), 3), 0);
	assert_int_equal(dmirror_migrate_to_device(d0, page_addr(&b, 5), 1,
						   &cpages),
			 0);
	assert_int_equal(cpages, 1);
	assert_int_equal(dmirror_migrate_to_device(d1, page_addr(&b, 6), 1,
						   &cpages),
			 0);
	assert_int_equal(cpages, 1);
	faults = host_vm_event(host, PGFAULT);
	assert_int_equal(dmirror_cmd(d0, dmirror_cmd_snapshot, &b, 7), 0);
	assert_int_equal(b.cmd.cpages, 7);
	assert_int_equal(b.prot[0], DMIRROR_PROT_ERROR);
	assert_int_equal(b.prot[1], DMIRROR_PROT_ERROR);
	assert_int_equal(b.prot[2], DMIRROR_PROT_ZERO | DMIRROR_PROT_READ);
	assert_int_equal(b.prot[3], DMIRROR_PROT_READ);
	assert_int_equal(b.prot[4], DMIRROR_PROT_WRITE);
	assert_int_equal(b.prot[5], DMIRROR_PROT_DEV_PRIVATE_LOCAL |
					    DMIRROR_PROT_WRITE);
	assert_int_equal(b.prot[6], DMIRROR_PROT_NONE);
	/* The snapshot faulted nothing: both pages stay in device memory. */
	assert_int_equal(host_vm_event(host, PGFAULT), faults);
	assert_int_equal(dmirror_device_free_pages(mdev0), NPAGES - 1);
	assert_int_equal(dmirror_device_free_pages(mdev1), NPAGES - 1);
	mirror_close_dev(d1, mdev1);
	mirror_close_dev(d0, mdev0);
	vm_munmap(mm, b.ptr, 7 * PAGE_SIZE);
}

/*
 * hmm2 "double_map": two devices read the same read-only pages, one fault
 * each; then the pages move to device 1's memory, and device 0's read
 * (one fault) brings them back through the CPU fault path.
 */
static void test_double_map(void **state)
{
	struct dmirror_device *mdev0, *mdev1;
	unsigned long cpages;
	struct buffer b;
	struct dmirror *d0, *d1;

	(void)state;
	buffer_map(&b, mm, 6, RW, MAP_PRIVATE);
	buffer_fill(&b, 0, 0);
	assert_int_equal(do_mprotect(mm, b.ptr, 6 * PAGE_SIZE, PROT_READ), 0);
	d0 = mirror_open_dev(&b, &mdev0);
	d1 = mirror_open_dev(&b, &mdev1);
	for (int dev = 0; dev < 2; dev++) {
		memset(b.mirror, 0xff, sizeof(b.mirror));
		assert_int_equal(dmirror_cmd(dev ? d1 : d0, dmirror_cmd_read,
					     &b, 6),
				 0);
		assert_int_equal(b.cmd.cpages, 6);
		assert_int_equal(b.cmd.faults, 1);
		for (unsigned long i = 0; i < 6; i++)
			assert_int_equal(b.mirror[i], i);
	}
	assert_int_equal(dmirror_migrate_to_device(d1, b.ptr, 6, &cpages), 0);
	assert_int_equal(cpages, 6);
	assert_int_equal(dmirror_device_free_pages(mdev1), NPAGES - 6);
	memset(b.mirror, 0xff, sizeof(b.mirror));
	assert_int_equal(dmirror_cmd(d0, dmirror_cmd_read, &b, 6), 0);
	assert_int_equal(b.cmd.cpages, 6);
	assert_int_equal(b.cmd.faults, 1);
	for (unsigned long i = 0; i < 6; i++)
		assert_int_equal(b.mirror[i], i);
	assert_int_equal(dmirror_device_free_pages(mdev1), NPAGES);
	assert_int_equal(dmirror_check(d0), 0);
	mirror_close_dev(d1, mdev1);
	dmirror_destroy(d0);
	assert_int_equal(vm_munmap(mm, b.ptr, 6 * PAGE_SIZE), 0);
	assert_int_equal(dmirror_device_destroy(mdev0), 0);
}

/*
 * A memfd of @npages pages standing for hmm_create_file(); with @base,
 * its pages hold base + i, written through a shared mapping of its own
 * that is gone again (upstream's pwrite(): the model has no write(2)).
 */
static struct file *file_create(unsigned long npages, bool fill, u64 base)
{
	struct file *file = memfd_alloc_file(host, "hmm", MFD_CLOEXEC);
	long a;

	assert_false(IS_ERR(file));
	assert_int_equal(do_ftruncate(file, npages * PAGE_SIZE), 0);
	if (!fill)
		return file;
	a = vm_mmap_file(mm, file, 0, npages * PAGE_SIZE, RW, MAP_SHARED, 0);
	assert_true(a > 0);
	for (unsigned long i = 0; i < npages; i++)
		wr(mm, a + i * PAGE_SIZE, base + i);
	assert_int_equal(vm_munmap(mm, a, npages * PAGE_SIZE), 0);
	return file;
}

static void buffer_map_file(struct buffer *b, struct file *file,
			    unsigned long prot, unsigned long flags)
{
	long a = vm_mmap_file(mm, file, 0, NPAGES * PAGE_SIZE, prot, flags, 0);

	assert_true(a > 0);
	memset(b, 0, sizeof(*b));
	b->mm = mm;
	b->npages = NPAGES;
	b->ptr = a;
}

/*
 * hmm-tests "file_read": the device reads, through a read-only shared
 * mapping, what was written to the file; one fault.
 */
static void test_file_read(void **state)
{
	struct file *file = file_create(NPAGES, true, 700);
	struct buffer b;
	struct dmirror *d;

	(void)state;
	buffer_map_file(&b, file, PROT_READ, MAP_SHARED);
	d = mirror_open(&b);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_read, &b, NPAGES), 0);
	assert_int_equal(b.cmd.cpages, NPAGES);
	assert_int_equal(b.cmd.faults, 1);
	for (unsigned long i = 0; i < NPAGES; i++)
		assert_int_equal(b.mirror[i], 700 + i);
	buffer_free(&b, d);
	fput(file);
}

/*
 * hmm-tests "file_write": the device writes through a shared mapping;
 * the CPU reads the values there, and the file holds them (upstream's
 * pread(), here a fresh mapping of the file once the first is gone).
 */
static void test_file_write(void **state)
{
	struct file *file = file_create(NPAGES, false, 0);
	struct buffer b;
	struct dmirror *d;

	(void)state;
	buffer_map_file(&b, file, RW, MAP_SHARED);
	d = mirror_open(&b);
	device_fill(&b, 800);
	assert_int_equal(dmirror_cmd(d, dmirror_cmd_write, &b, NPAGES), 0);
	assert_int_equal(b.cmd.cpages, NPAGES);
	assert_int_equal(b.cmd.faults, 1);
	buffer_expect(&b, mm, 0, 800);
	buffer_free(&b, d);
	assert_int_equal(file_nr_cached(file), NPAGES);
	buffer_map_file(&b, file, PROT_READ, MAP_SHARED);
	buffer_expect(&b, mm, 0, 800);
	buffer_free(&b, NULL);
	fput(file);
}

/*
 * Transparent huge pages: a host with room for a few aligned runs of 512
 * frames, THP for MADV_HUGEPAGE regions, and a 2 MiB-aligned region of
 * @m given MADV_HUGEPAGE (upstream aligns inside a 4 MiB mapping too).
 */
#define HUGE_NPAGES HPAGE_PMD_NR

struct huge {
	struct host *host;
	struct mm_struct *mm;
	struct dmirror *d; /* over the 2 MiB, or NULL */
	unsigned long map, ptr;
	u64 mirror[HUGE_NPAGES];
	u8 prot[HUGE_NPAGES];
	struct dmirror_cmd cmd;
};

static struct huge *huge_new(bool mirror)
{
	struct host_config cfg = { .nr_frames = 4 * HUGE_NPAGES,
				   .content = HOST_CONTENT_DATA,
				   .thp = THP_MADVISE };
	struct huge *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	h->host = host_create(&cfg);
	assert_false(IS_ERR(h->host));
	assert_int_equal(checker_attach(h->host), 0);
	h->mm = mm_alloc(h->host);
	assert_false(IS_ERR(h->mm));
	h->map = vm_mmap(h->mm, 0, 2 * HPAGE_PMD_SIZE, RW,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)h->map > 0);
	h->ptr = (h->map + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK;
	assert_int_equal(do_madvise(h->mm, h->ptr, HPAGE_PMD_SIZE,
				    MADV_HUGEPAGE),
			 0);
	if (mirror) {
		h->d = dmirror_create(h->mm, h->ptr, HUGE_NPAGES);
		assert_false(IS_ERR(h->d));
	}
	return h;
}

/* A device command over the whole huge region. */
static int huge_cmd(struct huge *h,
		    int (*cmd)(struct dmirror *, struct dmirror_cmd *))
{
	h->cmd = (struct dmirror_cmd){
		.addr = h->ptr,
		.npages = HUGE_NPAGES,
		.ptr = cmd == dmirror_cmd_snapshot ? (void *)h->prot
						   : (void *)h->mirror,
	};
	return cmd(h->d, &h->cmd);
}

/* The region is still one huge PMD, never split. */
static void huge_assert_pmd(struct huge *h)
{
	unsigned long head;

	assert_true(follow_pmd_huge(h->mm, h->ptr, &head));
	assert_int_equal(host_vm_event(h->host, THP_SPLIT_PMD), 0);
}

static void huge_free(struct huge *h)
{
	if (h->d)
		assert_int_equal(dmirror_check(h->d), 0);
	checker_sweep(h->host);
	assert_int_equal(checker_violations(h->host), 0);
	dmirror_destroy(h->d);
	mmput(h->mm);
	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(h->host), 4 * HUGE_NPAGES - 1);
	checker_detach(h->host);
	assert_int_equal(host_destroy(h->host), 0);
	free(h);
}

/*
 * hmm-tests "anon_write_huge": the device writes a 2 MiB MADV_HUGEPAGE
 * region; one fault, which maps it with a huge PMD that hmm_range_fault()
 * then reports whole (it is not split); the CPU reads the values.
 */
static void test_anon_write_huge(void **state)
{
	struct huge *h = huge_new(true);

	(void)state;
	for (unsigned long i = 0; i < HUGE_NPAGES; i++)
		h->mirror[i] = i;
	assert_int_equal(huge_cmd(h, dmirror_cmd_write), 0);
	assert_int_equal(h->cmd.cpages, HUGE_NPAGES);
	assert_int_equal(h->cmd.faults, 1);
	assert_int_equal(host_vm_event(h->host, THP_FAULT_ALLOC), 1);
	huge_assert_pmd(h);
	for (unsigned long i = 0; i < HUGE_NPAGES; i++)
		assert_int_equal(rd(h->mm, h->ptr + i * PAGE_SIZE), i);
	huge_free(h);
}

/*
 * hmm-tests "compound": a 2 MiB page the CPU wrote is snapshot writable
 * at PMD level, and read-only at PMD level after mprotect(PROT_READ).
 * Upstream maps it from hugetlbfs (MAP_HUGETLB), which the model lacks; a
 * transparent huge page is the same huge PMD to hmm_range_fault().
 */
static void test_compound(void **state)
{
	struct huge *h = huge_new(true);

	(void)state;
	for (unsigned long i = 0; i < HUGE_NPAGES; i++)
		wr(h->mm, h->ptr + i * PAGE_SIZE, i);
	assert_int_equal(huge_cmd(h, dmirror_cmd_snapshot), 0);
	assert_int_equal(h->cmd.cpages, HUGE_NPAGES);
	for (unsigned long i = 0; i < HUGE_NPAGES; i++)
		assert_int_equal(h->prot[i],
				 DMIRROR_PROT_WRITE | DMIRROR_PROT_PMD);
	assert_int_equal(do_mprotect(h->mm, h->ptr, HPAGE_PMD_SIZE, PROT_READ),
			 0);
	assert_int_equal(huge_cmd(h, dmirror_cmd_snapshot), 0);
	assert_int_equal(h->cmd.cpages, HUGE_NPAGES);
	for (unsigned long i = 0; i < HUGE_NPAGES; i++)
		assert_int_equal(h->prot[i],
				 DMIRROR_PROT_READ | DMIRROR_PROT_PMD);
	huge_assert_pmd(h);
	huge_free(h);
}

/* ---------------------------------------------------------------------
 * hmm_range_fault() itself
 */

static bool itv_invalidate(struct mmu_interval_notifier *sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	(void)range;
	mmu_interval_set_seq(sub, cur_seq);
	return true;
}

static const struct mmu_interval_notifier_ops itv_ops = {
	.invalidate = itv_invalidate,
};

struct rf {
	struct buffer b;
	struct mmu_interval_notifier sub;
	unsigned long pfns[NPAGES];
	struct hmm_range range;
};

static void rf_init(struct rf *r, unsigned long prot)
{
	buffer_map(&r->b, mm, NPAGES, prot, MAP_PRIVATE);
	memset(&r->sub, 0, sizeof(r->sub));
	assert_int_equal(mmu_interval_notifier_insert(&r->sub, mm, r->b.ptr,
						      NPAGES * PAGE_SIZE,
						      &itv_ops),
			 0);
	r->range = (struct hmm_range){ .notifier = &r->sub,
				       .start = r->b.ptr,
				       .end = r->b.ptr + NPAGES * PAGE_SIZE,
				       .hmm_pfns = r->pfns };
	memset(r->pfns, 0, sizeof(r->pfns));
}

static int rf_call(struct rf *r)
{
	int ret;

	r->range.notifier_seq = mmu_interval_read_begin(&r->sub);
	mmap_read_lock(mm);
	ret = hmm_range_fault(&r->range);
	mmap_read_unlock(mm);
	return ret;
}

static void rf_fini(struct rf *r)
{
	mmu_interval_notifier_remove(&r->sub);
	vm_munmap(mm, r->b.ptr, NPAGES * PAGE_SIZE);
}

static unsigned long cpu_pfn(unsigned long addr)
{
	pte_t pte;

	assert_int_equal(follow_pte(mm, addr, &pte), 0);
	assert_true(pte_present(pte));
	return pte_pfn(pte);
}

/*
 * With pfn_flags_mask, each page asks for itself, in any order: only the
 * pages that asked are faulted (a write where asked), the others are
 * reported as they are.
 */
static void test_hmm_range_fault_per_page(void **state)
{
	unsigned long before = host_vm_event(host, PGFAULT);
	struct rf r;

	(void)state;
	rf_init(&r, RW);
	assert_int_equal(cpu_write_u64(mm, page_addr(&r.b, 5), 5), 0);
	before = host_vm_event(host, PGFAULT);
	r.range.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	r.pfns[9] = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	r.pfns[2] = HMM_PFN_REQ_FAULT;
	assert_int_equal(rf_call(&r), 0);
	assert_int_equal(host_vm_event(host, PGFAULT) - before, 2);
	for (unsigned long i = 0; i < NPAGES; i++) {
		unsigned long a = page_addr(&r.b, i);

		if (i == 9 || i == 5)
			assert_int_equal(r.pfns[i], cpu_pfn(a) | HMM_PFN_VALID |
							    HMM_PFN_WRITE);
		else if (i == 2)
			assert_int_equal(r.pfns[i],
					 cpu_pfn(a) | HMM_PFN_VALID);
		else
			assert_int_equal(r.pfns[i], 0);
		if (r.pfns[i])
			assert_int_equal(hmm_pfn_to_map_order(r.pfns[i]), 0);
	}
	assert_true(is_zero_pfn(hmm_pfn_to_pfn(r.pfns[2])));
	/* Without the mask the per-page bits do not count. */
	memset(r.pfns, 0, sizeof(r.pfns));
	r.pfns[12] = HMM_PFN_REQ_FAULT;
	r.range.pfn_flags_mask = 0;
	before = host_vm_event(host, PGFAULT);
	assert_int_equal(rf_call(&r), 0);
	assert_int_equal(host_vm_event(host, PGFAULT), before);
	assert_int_equal(r.pfns[12], 0);
	rf_fini(&r);
}

/* An invalidation since notifier_seq: -EBUSY before anything is walked. */
static void test_hmm_range_fault_ebusy(void **state)
{
	struct rf r;

	(void)state;
	rf_init(&r, RW);
	assert_int_equal(cpu_write_u64(mm, page_addr(&r.b, 3), 3), 0);
	r.range.default_flags = HMM_PFN_REQ_FAULT;
	r.range.notifier_seq = mmu_interval_read_begin(&r.sub);
	assert_int_equal(do_madvise(mm, page_addr(&r.b, 3), PAGE_SIZE,
				    MADV_DONTNEED),
			 0);
	r.pfns[0] = 42;
	mmap_read_lock(mm);
	assert_int_equal(hmm_range_fault(&r.range), -EBUSY);
	mmap_read_unlock(mm);
	assert_int_equal(r.pfns[0], 42);
	assert_true(mmu_interval_read_retry(&r.sub, r.range.notifier_seq));
	/* A fresh sequence: it goes through. */
	assert_int_equal(rf_call(&r), 0);
	assert_false(mmu_interval_read_retry(&r.sub, r.range.notifier_seq));
	rf_fini(&r);
}

/*
 * Errors: -EPERM for a write to a read-only VMA, -EFAULT for a fault in a
 * hole or a PROT_NONE VMA.  The pages before the failing one hold their
 * output, the failing one and those after it their input; a snapshot of
 * the same range reports the hole and the PROT_NONE pages as errors.
 */
static void test_hmm_range_fault_errors(void **state)
{
	struct rf r;

	(void)state;
	rf_init(&r, PROT_READ);
	r.range.default_flags = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	assert_int_equal(rf_call(&r), -EPERM);
	rf_fini(&r);

	rf_init(&r, RW);
	assert_int_equal(vm_munmap(mm, page_addr(&r.b, 6), PAGE_SIZE), 0);
	assert_int_equal(do_mprotect(mm, page_addr(&r.b, 10), PAGE_SIZE,
				     PROT_NONE),
			 0);
	for (unsigned long i = 0; i < NPAGES; i++)
		r.pfns[i] = 7;
	r.range.default_flags = HMM_PFN_REQ_FAULT;
	assert_int_equal(rf_call(&r), -EFAULT);
	for (unsigned long i = 0; i < NPAGES; i++) {
		if (i < 6)
			assert_true(r.pfns[i] & HMM_PFN_VALID);
		else
			assert_int_equal(r.pfns[i], 7);
	}
	/* Past the hole: the PROT_NONE VMA fails the same way. */
	r.range.start = page_addr(&r.b, 7);
	r.range.hmm_pfns = &r.pfns[7];
	assert_int_equal(rf_call(&r), -EFAULT);
	assert_int_equal(r.pfns[10], 7);

	r.range.start = r.b.ptr;
	r.range.hmm_pfns = r.pfns;
	r.range.default_flags = 0;
	assert_int_equal(rf_call(&r), 0);
	for (unsigned long i = 0; i < NPAGES; i++) {
		if (i == 6 || i == 10)
			assert_int_equal(r.pfns[i], HMM_PFN_ERROR);
		else if (i < 10)
			assert_true(r.pfns[i] & HMM_PFN_VALID);
		else
			assert_int_equal(r.pfns[i], 0);
	}
	/* A malformed range. */
	r.range.end = r.range.start;
	assert_int_equal(rf_call(&r), -EINVAL);
	rf_fini(&r);
}

/*
 * A page swapped out is a fault request like any other: it comes back
 * in, with its value; a snapshot reports it not valid.
 */
static void test_hmm_range_fault_swap(void **state)
{
	struct host_config cfg = { .nr_frames = 64, .swap_slots = 64,
				   .content = HOST_CONTENT_DATA };
	struct host *h = host_create(&cfg);
	struct mm_struct *m;
	struct mmu_interval_notifier sub = { 0 };
	unsigned long pfns[4] = { 0 }, base;
	struct hmm_range range;
	u64 val;

	(void)state;
	assert_false(IS_ERR(h));
	m = mm_alloc(h);
	base = vm_mmap(m, 0, 4 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_true((long)base > 0);
	for (unsigned long i = 0; i < 4; i++)
		assert_int_equal(cpu_write_u64(m, base + i * PAGE_SIZE, 50 + i),
				 0);
	assert_int_equal(do_madvise(m, base, 4 * PAGE_SIZE, MADV_PAGEOUT), 0);
	assert_int_equal(mmu_interval_notifier_insert(&sub, m, base,
						      4 * PAGE_SIZE, &itv_ops),
			 0);
	range = (struct hmm_range){ .notifier = &sub, .start = base,
				    .end = base + 4 * PAGE_SIZE,
				    .hmm_pfns = pfns };
	range.notifier_seq = mmu_interval_read_begin(&sub);
	mmap_read_lock(m);
	assert_int_equal(hmm_range_fault(&range), 0);
	for (unsigned long i = 0; i < 4; i++)
		assert_int_equal(pfns[i], 0);
	range.default_flags = HMM_PFN_REQ_FAULT;
	assert_int_equal(hmm_range_fault(&range), 0);
	mmap_read_unlock(m);
	for (unsigned long i = 0; i < 4; i++) {
		assert_true(pfns[i] & HMM_PFN_VALID);
		val = page_read_u64(pfn_to_page(h, hmm_pfn_to_pfn(pfns[i])), 0);
		assert_int_equal(val, 50 + i);
	}
	mmu_interval_notifier_remove(&sub);
	mmput(m);
	mmu_notifier_synchronize();
	assert_int_equal(host_destroy(h), 0);
}

/*
 * A huge PMD is reported whole, without a split, for any part of it: a
 * range from page 100 gets frames head + 100 on, map order 9, read-only
 * while a fork shares it.  A write asked of it once the child is gone
 * faults it writable in place (do_huge_pmd_wp_page()'s reuse) and it is
 * reported whole again; a write asked in a read-only VMA is -EPERM.
 */
static void test_hmm_range_fault_huge(void **state)
{
	struct huge *h = huge_new(false);
	struct mmu_interval_notifier sub = { 0 };
	unsigned long pfns[NPAGES], head, start;
	struct hmm_range range;
	struct mm_struct *child;

	(void)state;
	wr(h->mm, h->ptr, 1);
	assert_true(follow_pmd_huge(h->mm, h->ptr, &head));
	start = h->ptr + 100 * PAGE_SIZE;
	assert_int_equal(mmu_interval_notifier_insert(&sub, h->mm, start,
						      NPAGES * PAGE_SIZE,
						      &itv_ops),
			 0);
	range = (struct hmm_range){ .notifier = &sub, .start = start,
				    .end = start + NPAGES * PAGE_SIZE,
				    .hmm_pfns = pfns };
	child = dup_mm(h->mm);
	assert_false(IS_ERR(child));
	for (int pass = 0; pass < 2; pass++) {
		/*
		 * A snapshot: read-only after fork.  Then, the child gone, a
		 * write request: the huge page is reused in place.
		 */
		if (pass)
			mmput(child);
		range.default_flags = pass ? HMM_PFN_REQ_FAULT |
						     HMM_PFN_REQ_WRITE
					   : 0;
		range.notifier_seq = mmu_interval_read_begin(&sub);
		mmap_read_lock(h->mm);
		assert_int_equal(hmm_range_fault(&range), 0);
		mmap_read_unlock(h->mm);
		assert_true(follow_pmd_huge(h->mm, h->ptr, &head));
		for (unsigned long i = 0; i < NPAGES; i++) {
			assert_int_equal(hmm_pfn_to_pfn(pfns[i]),
					 head + 100 + i);
			assert_int_equal(hmm_pfn_to_map_order(pfns[i]),
					 HPAGE_PMD_ORDER);
			assert_int_equal(pfns[i] & (HMM_PFN_VALID |
						    HMM_PFN_WRITE |
						    HMM_PFN_ERROR),
					 pass ? HMM_PFN_VALID | HMM_PFN_WRITE
					      : HMM_PFN_VALID);
		}
	}
	assert_int_equal(host_vm_event(h->host, THP_SPLIT_PMD), 0);
	assert_int_equal(do_mprotect(h->mm, h->ptr, HPAGE_PMD_SIZE, PROT_READ),
			 0);
	range.notifier_seq = mmu_interval_read_begin(&sub);
	mmap_read_lock(h->mm);
	assert_int_equal(hmm_range_fault(&range), -EPERM);
	mmap_read_unlock(h->mm);
	mmu_interval_notifier_remove(&sub);
	huge_assert_pmd(h);
	huge_free(h);
}

static struct {
	int calls;
	enum lockdep_kind kind;
} seen;

static void lockdep_hook(void *ctx, enum lockdep_kind kind, const char *report)
{
	(void)ctx;
	(void)report;
	seen.calls++;
	seen.kind = kind;
}

/* The caller must hold the mmap_lock: asserted, as mmap_assert_locked(). */
static void test_hmm_range_fault_lockdep(void **state)
{
	struct rf r;

	(void)state;
	rf_init(&r, RW);
	memset(&seen, 0, sizeof(seen));
	lockdep_set_hook(lockdep_hook, NULL);
	warn_set_quiet(true);
	r.range.notifier_seq = mmu_interval_read_begin(&r.sub);
	assert_int_equal(hmm_range_fault(&r.range), 0);
	warn_set_quiet(false);
	checker_detach(host);
	assert_int_equal(checker_attach(host), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.kind, LOCKDEP_NOT_HELD);
	rf_fini(&r);
}

/*
 * dmirror_check() reads the device's entries while faults write them and
 * invalidations clear them.  Each entry is copied under the driver's lock
 * (as the checker's sweep does); run side by side on real threads so that
 * ThreadSanitizer reports a read of an entry outside the lock.
 */
struct check_race {
	struct buffer b;
	struct dmirror *d;
	int stop;
};

static int check_race_device(void *arg)
{
	struct check_race *c = arg;

	for (int round = 0; round < 200; round++) {
		for (unsigned long i = 0; i < NPAGES; i++)
			assert_int_equal(dmirror_write_u64(c->d,
							   page_addr(&c->b, i),
							   round),
					 0);
		assert_int_equal(do_madvise(mm, c->b.ptr,
					    NPAGES / 2 * PAGE_SIZE,
					    MADV_DONTNEED),
				 0);
	}
	WRITE_ONCE(c->stop, 1);
	return 0;
}

static void test_check_races_faults(void **state)
{
	struct check_race c = { 0 };
	struct task_struct *t;

	(void)state;
	buffer_map(&c.b, mm, NPAGES, RW, MAP_PRIVATE);
	c.d = mirror_open(&c.b);
	t = kthread_run(check_race_device, &c, "device");
	while (!READ_ONCE(c.stop))
		assert_int_equal(dmirror_check(c.d), 0);
	kthread_stop(t);
	buffer_free(&c.b, c.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_open_close),
		T(test_anon_read),
		T(test_anon_read_prot),
		T(test_anon_write),
		T(test_anon_write_prot),
		T(test_anon_write_child),
		T(test_anon_write_child_shared),
		T(test_anon_read_multiple),
		T(test_anon_teardown),
		T(test_snapshot),
		cmocka_unit_test(test_compound),
		T(test_double_map),
		T(test_file_read),
		T(test_file_write),
		cmocka_unit_test(test_anon_write_huge),
		T(test_hmm_range_fault_per_page),
		T(test_hmm_range_fault_ebusy),
		T(test_hmm_range_fault_errors),
		T(test_hmm_range_fault_lockdep),
		T(test_check_races_faults),
		cmocka_unit_test(test_hmm_range_fault_swap),
		cmocka_unit_test(test_hmm_range_fault_huge),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
