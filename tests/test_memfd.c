// SPDX-License-Identifier: MIT
/*
 * memfd and file mappings (<mmulab/memfd.h>): shared and private mappings
 * of a file, ftruncate(), fallocate(PUNCH_HOLE), MADV_REMOVE with the
 * exact notifier calls each makes (event, range, blockable flag, order
 * against the frees), a guest on a memfd losing a punched page, KVM's
 * read fault that maps shared memory writable, and VMA merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mmulab/memfd.h>
#include "mn_recorder.h"
#include "guest.h"
#include "cpu_access.h"

#define P PAGE_SIZE

struct env {
	struct host *host;
	struct mm_struct *mm;
	struct file *file;
	struct rec_log log;
	struct rec_sub sub;
};

static struct env *env_new(long long size, unsigned long swap)
{
	struct host_config cfg = { .nr_frames = 1024, .swap_slots = swap };
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->host = host_create(&cfg);
	assert_false(IS_ERR(e->host));
	assert_int_equal(checker_attach(e->host), 0);
	e->mm = mm_alloc(e->host);
	assert_false(IS_ERR(e->mm));
	e->file = memfd_alloc_file(e->host, "guest-ram", MFD_CLOEXEC);
	assert_false(IS_ERR(e->file));
	assert_int_equal(do_ftruncate(e->file, size), 0);
	rec_log_init(&e->log);
	rec_sub_init(&e->sub, &rec_ops, 1, &e->log);
	assert_int_equal(mmu_notifier_register(&e->sub.mn, e->mm), 0);
	return e;
}

static void env_free(struct env *e)
{
	if (e->file)
		fput(e->file);
	mmu_notifier_unregister(&e->sub.mn, e->mm);
	mmput(e->mm);
	mmu_notifier_synchronize();
	assert_int_equal(checker_violations(e->host), 0);
	assert_int_equal(host_nr_free_frames(e->host), 1023);
	checker_detach(e->host);
	assert_int_equal(host_destroy(e->host), 0);
	free(e);
}

static unsigned long map_file(struct env *e, struct mm_struct *mm,
			      unsigned long len, int flags, unsigned long off)
{
	long a = vm_mmap_file(mm, e->file, 0, len, RW, flags, off);

	assert_true(a > 0);
	return a;
}

/* Entry @i of the log is @cb of a blockable CLEAR over [@start, @end). */
static void expect_clear(struct rec_log *log, unsigned int i, enum rec_cb cb,
			 unsigned long start, unsigned long end)
{
	assert_true(i < log->n);
	assert_int_equal(log->e[i].cb, cb);
	assert_int_equal(log->e[i].event, MMU_NOTIFY_CLEAR);
	assert_int_equal(log->e[i].flags, MMU_NOTIFIER_RANGE_BLOCKABLE);
	assert_int_equal(log->e[i].start, start);
	assert_int_equal(log->e[i].end, end);
}

static void expect_clear_pair(struct rec_log *log, unsigned int i,
			      unsigned long start, unsigned long end)
{
	expect_clear(log, i, REC_START, start, end);
	expect_clear(log, i + 1, REC_END, start, end);
}

/* ---------------------------------------------------------------------
 * Mapping a file
 */

/* Two address spaces sharing a memfd see each other's stores. */
static void test_memfd_shared(void **state)
{
	struct env *e = env_new(4 * P, 0);
	struct mm_struct *other = mm_alloc(e->host);
	unsigned long a, b;

	(void)state;
	assert_string_equal(file_name(e->file), "guest-ram");
	assert_int_equal(file_size(e->file), 4 * P);
	a = map_file(e, e->mm, 4 * P, MAP_SHARED, 0);
	b = vm_mmap_file(other, e->file, 0, 2 * P, RW, MAP_SHARED, 2 * P);
	assert_true((long)b > 0);
	for (int i = 0; i < 4; i++)
		wr(e->mm, a + i * P, 100 + i);
	/* The second mapping starts at offset 2 pages. */
	assert_int_equal(rd(other, b), 102);
	wr(other, b + P, 999);
	assert_int_equal(rd(e->mm, a + 3 * P), 999);
	assert_int_equal(file_nr_cached(e->file), 4);
	/* Filling PTEs sends nothing. */
	assert_int_equal(e->log.n, 0);
	/* The file outlives its last fput() while mapped. */
	fput(e->file);
	e->file = NULL;
	assert_int_equal(rd(other, b), 102);
	mmput(other);
	env_free(e);
}

/*
 * MAP_PRIVATE: reads map the page cache read-only; a write to a present
 * page copies it inside a CLEAR of that page (wp_page_copy), a write to a
 * none PTE copies without any (do_cow_fault).  The copy no longer sees
 * the file.
 */
static void test_memfd_private_cow(void **state)
{
	struct env *e = env_new(4 * P, 0);
	unsigned long s, p;
	unsigned long cow0;
	pte_t pte;

	(void)state;
	s = map_file(e, e->mm, 4 * P, MAP_SHARED, 0);
	p = map_file(e, e->mm, 4 * P, MAP_PRIVATE, 0);
	for (int i = 0; i < 4; i++)
		wr(e->mm, s + i * P, 10 + i);
	e->log.n = 0;
	assert_int_equal(rd(e->mm, p), 10);
	assert_int_equal(follow_pte(e->mm, p, &pte), 0);
	assert_false(pte_write(pte));
	assert_int_equal(e->log.n, 0);
	cow0 = host_vm_event(e->host, COW_FAULT);
	wr(e->mm, p, 77);
	assert_int_equal(host_vm_event(e->host, COW_FAULT), cow0 + 1);
	assert_int_equal(e->log.n, 2);
	expect_clear_pair(&e->log, 0, p, p + P);
	/* A first write to a page never read: a copy, no notification. */
	wr(e->mm, p + 2 * P, 78);
	assert_int_equal(e->log.n, 2);
	assert_int_equal(rd(e->mm, s), 10);
	assert_int_equal(rd(e->mm, s + 2 * P), 12);
	/* The file changes; copies keep theirs, the rest follow. */
	wr(e->mm, s, 20);
	wr(e->mm, s + P, 21);
	assert_int_equal(rd(e->mm, p), 77);
	assert_int_equal(rd(e->mm, p + P), 21);
	assert_int_equal(file_nr_cached(e->file), 4);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * ftruncate
 */

static unsigned long free_at_start;

static void capture_free_at_start(struct rec_sub *sub, enum rec_cb cb,
				  const struct mmu_notifier_range *range)
{
	(void)range;
	if (cb == REC_START && !free_at_start)
		free_at_start = host_nr_free_frames(mm_host(sub->mn.mm));
}

/*
 * Shrinking: per mapping VMA a CLEAR over the part past the new end,
 * private copies included, twice (before and after the pages go, as
 * shmem_setattr()); nothing freed before the first start; past the end
 * a bus error; the partial last page zeroed past the end.
 */
static void test_memfd_ftruncate(void **state)
{
	struct env *e = env_new(8 * P, 0);
	unsigned long s, p, before;
	u64 v;

	(void)state;
	s = map_file(e, e->mm, 8 * P, MAP_SHARED, 0);
	p = map_file(e, e->mm, 8 * P, MAP_PRIVATE, 0);
	for (int i = 0; i < 8; i++) {
		wr(e->mm, s + i * P, 100 + i);
		wr(e->mm, s + i * P + 2048, 200 + i);
	}
	wr(e->mm, p + 6 * P, 66); /* a private copy past the new end */
	before = host_nr_free_frames(e->host);
	e->log.n = 0;
	free_at_start = 0;
	e->sub.hook = capture_free_at_start;
	assert_int_equal(do_ftruncate(e->file, 4 * P + 1024), 0);
	e->sub.hook = NULL;
	assert_int_equal(free_at_start, before);
	assert_int_equal(file_size(e->file), 4 * P + 1024);
	/* The cache's pages 5-7 and the copy are gone. */
	assert_int_equal(host_nr_free_frames(e->host), before + 4);
	assert_int_equal(e->log.n, 8);
	for (unsigned int k = 0; k < 8; k += 4) {
		expect_clear_pair(&e->log, k, s + 5 * P, s + 8 * P);
		expect_clear_pair(&e->log, k + 2, p + 5 * P, p + 8 * P);
	}
	assert_int_equal(rd(e->mm, s + 4 * P), 104);
	assert_int_equal(rd(e->mm, s + 4 * P + 2048), 0);
	assert_int_equal(cpu_read_u64(e->mm, s + 5 * P, &v), -EFAULT);
	assert_int_equal(cpu_read_u64(e->mm, p + 6 * P, &v), -EFAULT);
	assert_int_equal(cpu_write_u64(e->mm, s + 7 * P, 1), -EFAULT);
	/* Growing again: a hole, reading zero. */
	assert_int_equal(do_ftruncate(e->file, 8 * P), 0);
	assert_int_equal(rd(e->mm, s + 6 * P), 0);
	assert_int_equal(rd(e->mm, p + 7 * P), 0);
	env_free(e);
}

/* Truncation frees the swap slots of pages written out. */
static void test_memfd_truncate_swapped(void **state)
{
	struct env *e = env_new(16 * P, 64);
	struct host_meminfo mi;
	unsigned long s;

	(void)state;
	s = map_file(e, e->mm, 16 * P, MAP_SHARED, 0);
	for (int i = 0; i < 16; i++)
		wr(e->mm, s + i * P, 300 + i);
	assert_int_equal(do_madvise(e->mm, s, 16 * P, MADV_PAGEOUT), 0);
	host_meminfo(e->host, &mi);
	assert_int_equal(mi.swap_total - mi.swap_free, 16);
	assert_int_equal(file_nr_cached(e->file), 0);
	assert_int_equal(rd(e->mm, s + 3 * P), 303);
	assert_int_equal(do_ftruncate(e->file, 0), 0);
	host_meminfo(e->host, &mi);
	assert_int_equal(mi.swap_free, mi.swap_total);
	assert_int_equal(file_nr_cached(e->file), 0);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Hole punching and MADV_REMOVE
 */

/*
 * PUNCH_HOLE | KEEP_SIZE: per VMA a CLEAR over the whole pages of the
 * hole; private copies stay (even_cows false); partial pages are zeroed
 * in place without any invalidation; the size stays.
 */
static void test_memfd_punch_hole(void **state)
{
	struct env *e = env_new(8 * P, 0);
	unsigned long s, p, before;

	(void)state;
	s = map_file(e, e->mm, 8 * P, MAP_SHARED, 0);
	p = map_file(e, e->mm, 4 * P, MAP_PRIVATE, 4 * P);
	for (int i = 0; i < 8; i++)
		wr(e->mm, s + i * P, 100 + i);
	wr(e->mm, p + P, 55);		/* a copy of file page 5 */
	assert_int_equal(rd(e->mm, p + 2 * P), 106); /* page 6, mapped */
	before = host_nr_free_frames(e->host);
	e->log.n = 0;
	free_at_start = 0;
	e->sub.hook = capture_free_at_start;
	assert_int_equal(vfs_fallocate(e->file,
				       FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
				       5 * P, 2 * P),
			 0);
	e->sub.hook = NULL;
	assert_int_equal(free_at_start, before);
	assert_int_equal(e->log.n, 4);
	expect_clear_pair(&e->log, 0, s + 5 * P, s + 7 * P);
	expect_clear_pair(&e->log, 2, p + P, p + 3 * P);
	assert_int_equal(host_nr_free_frames(e->host), before + 2);
	assert_int_equal(file_size(e->file), 8 * P);
	assert_int_equal(rd(e->mm, s + 5 * P), 0);
	assert_int_equal(rd(e->mm, s + 6 * P), 0);
	assert_int_equal(rd(e->mm, p + 2 * P), 0);
	assert_int_equal(rd(e->mm, p + P), 55);
	assert_int_equal(rd(e->mm, s + 7 * P), 107);
	/* Bytes 8-15 of page 0: zeroed in place, no invalidation. */
	wr(e->mm, s + 8, 0x1111);
	e->log.n = 0;
	assert_int_equal(vfs_fallocate(e->file,
				       FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
				       8, 8),
			 0);
	assert_int_equal(e->log.n, 0);
	assert_int_equal(rd(e->mm, s), 100);
	assert_int_equal(rd(e->mm, s + 8), 0);
	env_free(e);
}

/*
 * MADV_REMOVE punches the hole behind a shared mapping: one CLEAR over
 * the addresses (of every mapping of the range); private mappings are
 * refused with -EACCES, anonymous private memory with -EINVAL.  Shared
 * anonymous memory is a file too.
 */
static void test_madv_remove(void **state)
{
	struct env *e = env_new(4 * P, 0);
	unsigned long s, p, anon, shanon;

	(void)state;
	s = map_file(e, e->mm, 4 * P, MAP_SHARED, 0);
	p = map_file(e, e->mm, 4 * P, MAP_PRIVATE, 0);
	for (int i = 0; i < 4; i++)
		wr(e->mm, s + i * P, 100 + i);
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, s + P, 2 * P, MADV_REMOVE), 0);
	/* Every VMA of the file over the range, populated or not. */
	assert_int_equal(e->log.n, 4);
	expect_clear_pair(&e->log, 0, s + P, s + 3 * P);
	expect_clear_pair(&e->log, 2, p + P, p + 3 * P);
	assert_int_equal(rd(e->mm, s + P), 0);
	assert_int_equal(rd(e->mm, s + 3 * P), 103);
	assert_int_equal(do_madvise(e->mm, p, P, MADV_REMOVE), -EACCES);
	anon = vm_mmap(e->mm, 0, P, RW, MAP_PRIVATE | MAP_ANONYMOUS);
	assert_int_equal(do_madvise(e->mm, anon, P, MADV_REMOVE), -EINVAL);
	shanon = vm_mmap(e->mm, 0, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS);
	wr(e->mm, shanon + P, 5);
	e->log.n = 0;
	assert_int_equal(do_madvise(e->mm, shanon + P, P, MADV_REMOVE), 0);
	expect_clear_pair(&e->log, 0, shanon + P, shanon + 2 * P);
	assert_int_equal(rd(e->mm, shanon + P), 0);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * A guest on a memfd
 */

static void guest_on_memfd(struct guest *g, struct file **filep,
			   unsigned long npages)
{
	struct host_config cfg = { 1024, HOST_CONTENT_DATA, CHANGE_PTE_NONE };

	guest_host_new(g, &cfg, npages);
	*filep = memfd_alloc_file(g->host, "ram", 0);
	assert_false(IS_ERR(*filep));
	assert_int_equal(do_ftruncate(*filep, npages * P), 0);
	g->hva = vm_mmap_file(g->mm, *filep, 0, npages * P, RW, MAP_SHARED, 0);
	assert_true((long)g->hva > 0);
	guest_attach_vm(g);
}

/*
 * A hole punched under a running guest zaps its SPTEs (the CLEAR reaches
 * KVM) and the guest reads zeros on its next access, as in Linux.
 */
static void test_memfd_guest_punch(void **state)
{
	unsigned long warns = warn_count();
	struct kvm_vm_stat vs0, vs1;
	struct file *file;
	struct guest g;

	(void)state;
	guest_on_memfd(&g, &file, 8);
	for (unsigned long i = 0; i < 8; i++)
		guest_write(&g, i * P, 0x1000 + i);
	assert_true(guest_spte(&g, 3) & KVM_SPTE_PRESENT);
	kvm_get_vm_stat(g.kvm, &vs0);
	assert_int_equal(vfs_fallocate(file,
				       FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
				       2 * P, 3 * P),
			 0);
	kvm_get_vm_stat(g.kvm, &vs1);
	assert_int_equal(vs1.mmu_invalidations - vs0.mmu_invalidations, 1);
	for (unsigned long i = 2; i < 5; i++)
		assert_false(guest_spte(&g, i) & KVM_SPTE_PRESENT);
	assert_true(guest_spte(&g, 5) & KVM_SPTE_PRESENT);
	for (unsigned long i = 0; i < 8; i++)
		assert_int_equal(guest_read(&g, i * P),
				 i >= 2 && i < 5 ? 0 : 0x1000 + i);
	assert_guest_coherent(&g);
	fput(file);
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * Real threads: vCPUs and a private view against punches and truncation
 */

#define THR_PAGES 16
#define THR_ITERS 400

struct thr {
	struct guest *g;
	struct file *file;
	struct kvm_vcpu *vcpu;
	struct mm_struct *view_mm;
	unsigned long view;
	atomic_t errors;
};

static unsigned int thr_rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* A vCPU loads and stores its pages; past a truncated end it faults. */
static int thr_vcpu(void *arg)
{
	struct thr *t = arg;
	struct kvm_vcpu *vcpu = t->vcpu ? t->vcpu : t->g->vcpu;
	unsigned int seed = t->vcpu ? 17 : 29;

	for (int i = 0; i < THR_ITERS; i++) {
		gpa_t gpa = (thr_rnd(&seed) % THR_PAGES) * P + (t->vcpu ? 8 : 0);
		u64 v;
		int ret = thr_rnd(&seed) & 1 ? kvm_vcpu_write_u64(vcpu, gpa, i)
					     : kvm_vcpu_read_u64(vcpu, gpa, &v);

		if (ret && ret != -EFAULT)
			atomic_inc(&t->errors);
	}
	return 0;
}

/* The private view reads the file and copies pages by storing. */
static int thr_view(void *arg)
{
	struct thr *t = arg;
	unsigned int seed = 41;

	for (int i = 0; i < THR_ITERS; i++) {
		unsigned long a = t->view + (thr_rnd(&seed) % THR_PAGES) * P;
		u64 v;
		int ret = thr_rnd(&seed) % 4 ? cpu_read_u64(t->view_mm, a, &v)
					     : cpu_write_u64(t->view_mm, a, i);

		if (ret && ret != -EFAULT)
			atomic_inc(&t->errors);
	}
	return 0;
}

/* The host punches holes, removes by address, shrinks and regrows. */
static int thr_host(void *arg)
{
	struct thr *t = arg;
	unsigned int seed = 5;

	for (int i = 0; i < THR_ITERS / 8; i++) {
		long long off = (thr_rnd(&seed) % THR_PAGES) * P;
		int ret;

		switch (thr_rnd(&seed) % 3) {
		case 0:
			ret = vfs_fallocate(t->file,
					    FALLOC_FL_PUNCH_HOLE |
						    FALLOC_FL_KEEP_SIZE,
					    off, 2 * P);
			break;
		case 1:
			ret = do_madvise(t->g->mm, t->g->hva + off, P,
					 MADV_REMOVE);
			break;
		default:
			ret = do_ftruncate(t->file, off) ?:
			      do_ftruncate(t->file, THR_PAGES * P);
			break;
		}
		if (ret)
			atomic_inc(&t->errors);
	}
	return 0;
}

/*
 * Under real threads (and ThreadSanitizer): the checker's sweep finds
 * nothing stale afterwards, every frame comes back, no warning.
 */
static void test_memfd_threads(void **state)
{
	unsigned long warns = warn_count();
	struct task_struct *tk[4];
	struct thr t = { 0 }, t2;
	struct guest g;

	(void)state;
	guest_on_memfd(&g, &t.file, THR_PAGES);
	t.g = &g;
	t.view_mm = mm_alloc(g.host);
	assert_false(IS_ERR(t.view_mm));
	t.view = vm_mmap_file(t.view_mm, t.file, 0, THR_PAGES * P, RW,
			      MAP_PRIVATE, 0);
	assert_true((long)t.view > 0);
	t2 = t;
	t2.vcpu = kvm_vcpu_create(g.kvm);
	assert_false(IS_ERR(t2.vcpu));
	tk[0] = kthread_run(thr_vcpu, &t, "vcpu0");
	tk[1] = kthread_run(thr_vcpu, &t2, "vcpu1");
	tk[2] = kthread_run(thr_view, &t, "view");
	tk[3] = kthread_run(thr_host, &t, "host");
	for (int i = 0; i < 4; i++) {
		assert_false(IS_ERR(tk[i]));
		kthread_stop(tk[i]);
	}
	assert_int_equal(atomic_read(&t.errors) + atomic_read(&t2.errors), 0);
	assert_int_equal(checker_sweep(g.host), 0);
	assert_guest_coherent(&g);
	mmput(t.view_mm);
	fput(t.file);
	guest_free(&g, warns);
}

/*
 * Write-after-read on shared memory costs one guest fault per page: the
 * read fault finds the host PTE writable (it faulted it in) and maps the
 * SPTE writable, as hva_to_pfn() does.  Private anonymous memory still
 * takes more, as in Linux: the read maps the zero page, and the write
 * fault's own COW break invalidates the gfn it is installing, so it
 * retries once (three per page).
 */
static void test_write_after_read_faults(void **state)
{
	unsigned long warns = warn_count();
	struct kvm_vcpu_stat st;
	struct file *file;
	struct guest g;

	(void)state;
	guest_on_memfd(&g, &file, 8);
	for (unsigned long i = 0; i < 8; i++) {
		assert_int_equal(guest_read(&g, i * P), 0);
		guest_write(&g, i * P, i);
	}
	kvm_get_vcpu_stat(g.vcpu, &st);
	assert_int_equal(st.pf_taken, 8);
	fput(file);
	guest_free(&g, warns);

	guest_new(&g, CHANGE_PTE_NONE, 8);
	for (unsigned long i = 0; i < 8; i++) {
		assert_int_equal(guest_read(&g, i * P), 0);
		guest_write(&g, i * P, i);
	}
	kvm_get_vcpu_stat(g.vcpu, &st);
	assert_int_equal(st.pf_taken, 24);
	guest_free(&g, warns);
}

/* ---------------------------------------------------------------------
 * VMA merging
 */

static int map_count(struct mm_struct *mm)
{
	int n;

	mmap_read_lock(mm);
	n = mm->map_count;
	mmap_read_unlock(mm);
	return n;
}

/*
 * An mprotect that restores the original protection leaves one VMA, so a
 * later mprotect of the whole range sends one invalidation, not three;
 * adjacent anonymous mmaps and file mappings at contiguous offsets merge;
 * mappings of different files or offsets do not.
 */
static void test_vma_merge(void **state)
{
	struct env *e = env_new(8 * P, 0);
	unsigned long a, b, s;
	int n0 = map_count(e->mm);

	(void)state;
	a = vm_mmap(e->mm, 0x10000000, 8 * P, RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	for (int i = 0; i < 8; i++)
		wr(e->mm, a + i * P, i);
	assert_int_equal(map_count(e->mm), n0 + 1);
	assert_int_equal(do_mprotect(e->mm, a + 2 * P, 3 * P, PROT_READ), 0);
	assert_int_equal(map_count(e->mm), n0 + 3);
	assert_int_equal(do_mprotect(e->mm, a + 2 * P, 3 * P, RW), 0);
	assert_int_equal(map_count(e->mm), n0 + 1);
	e->log.n = 0;
	assert_int_equal(do_mprotect(e->mm, a, 8 * P, PROT_READ), 0);
	assert_int_equal(rec_log_count(&e->log, 1, REC_START), 1);
	assert_int_equal(do_mprotect(e->mm, a, 8 * P, RW), 0);
	/* An adjacent anonymous mapping joins it. */
	b = vm_mmap(e->mm, a + 8 * P, 2 * P, RW,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
	assert_int_equal(b, a + 8 * P);
	assert_int_equal(map_count(e->mm), n0 + 1);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(e->mm, a + i * P), i);
	/* File mappings: contiguous offsets merge, others do not. */
	s = vm_mmap_file(e->mm, e->file, 0x20000000, 2 * P, RW,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, 0);
	assert_int_equal(s, 0x20000000);
	assert_int_equal(vm_mmap_file(e->mm, e->file, s + 2 * P, 2 * P, RW,
				      MAP_SHARED | MAP_FIXED_NOREPLACE, 2 * P),
			 s + 2 * P);
	assert_int_equal(map_count(e->mm), n0 + 2);
	assert_int_equal(vm_mmap_file(e->mm, e->file, s + 4 * P, P, RW,
				      MAP_SHARED | MAP_FIXED_NOREPLACE, 0),
			 s + 4 * P);
	assert_int_equal(map_count(e->mm), n0 + 3);
	wr(e->mm, s + 4 * P, 42);
	assert_int_equal(rd(e->mm, s), 42);
	/* VMAs that differ only in VM_HUGEPAGE stay apart. */
	assert_int_equal(do_madvise(e->mm, a + 2 * P, 3 * P, MADV_HUGEPAGE), 0);
	assert_int_equal(map_count(e->mm), n0 + 5);
	assert_int_equal(do_mprotect(e->mm, a, 10 * P, PROT_READ), 0);
	assert_int_equal(do_mprotect(e->mm, a, 10 * P, RW), 0);
	assert_int_equal(map_count(e->mm), n0 + 5);
	assert_int_equal(rd(e->mm, a + 3 * P), 3);
	env_free(e);
}

/*
 * mremap: part of a mapping moved away is a VMA of its own; moved back
 * where it came from, its page offsets continue its neighbour's again and
 * the two merge, as Linux's copy_vma() merges.
 */
static void test_vma_merge_mremap(void **state)
{
	struct env *e = env_new(P, 0);
	unsigned long a = 0x10000000, away = 0x30000000;
	int n0 = map_count(e->mm);

	(void)state;
	assert_int_equal(vm_mmap(e->mm, a, 4 * P, RW,
				 MAP_PRIVATE | MAP_ANONYMOUS |
					 MAP_FIXED_NOREPLACE),
			 a);
	for (int i = 0; i < 4; i++)
		wr(e->mm, a + i * P, 10 + i);
	assert_int_equal(do_mremap(e->mm, a + 2 * P, 2 * P, 2 * P,
				   MREMAP_MAYMOVE | MREMAP_FIXED, away),
			 away);
	assert_int_equal(map_count(e->mm), n0 + 2);
	assert_int_equal(do_mremap(e->mm, away, 2 * P, 2 * P,
				   MREMAP_MAYMOVE | MREMAP_FIXED, a + 2 * P),
			 a + 2 * P);
	assert_int_equal(map_count(e->mm), n0 + 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(rd(e->mm, a + i * P), 10 + i);
	env_free(e);
}

/* ---------------------------------------------------------------------
 * Bad input
 */

static void test_memfd_bad_input(void **state)
{
	struct env *e = env_new(P, 0);
	char longname[MFD_NAME_MAX_LEN + 2];
	unsigned long warns;
	struct file *f;

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(PTR_ERR(memfd_alloc_file(e->host, NULL, 0)), -EINVAL);
	assert_int_equal(PTR_ERR(memfd_alloc_file(e->host, longname, 0)),
			 -EINVAL);
	assert_int_equal(PTR_ERR(memfd_alloc_file(e->host, "x", 0x100)),
			 -EINVAL);
	assert_int_equal(do_ftruncate(e->file, -1), -EINVAL);
	assert_int_equal(do_ftruncate(e->file, 1LL << 50), -EFBIG);
	/* The largest size is allowed, and costs nothing until touched. */
	assert_int_equal(do_ftruncate(e->file, (long long)SHMEM_MAX_PAGES * P), 0);
	assert_int_equal(do_ftruncate(e->file, (long long)SHMEM_MAX_PAGES * P + 1), -EFBIG);
	assert_int_equal(do_ftruncate(e->file, P), 0);
	assert_int_equal(vfs_fallocate(e->file, FALLOC_FL_PUNCH_HOLE, 0, P),
			 -EOPNOTSUPP);
	assert_int_equal(vfs_fallocate(e->file, 0, 0, P), -EOPNOTSUPP);
	assert_int_equal(vfs_fallocate(e->file,
				       FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
				       -1, P),
			 -EINVAL);
	assert_int_equal(vfs_fallocate(e->file,
				       FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE,
				       0, 0),
			 -EINVAL);
	assert_int_equal(vm_mmap_file(e->mm, e->file, 0, P, RW,
				      MAP_SHARED | MAP_ANONYMOUS, 0),
			 -EINVAL);
	assert_int_equal(vm_mmap_file(e->mm, e->file, 0, P, RW, MAP_SHARED,
				      100),
			 -EINVAL);
	assert_int_equal(vm_mmap_file(e->mm, e->file, 0, P, RW,
				      MAP_SHARED | MAP_PRIVATE, 0),
			 -EINVAL);
	/* NULL and released files: a WARN each, nothing done. */
	warns = warn_count();
	warn_set_quiet(true);
	assert_int_equal(do_ftruncate(NULL, 0), -EBADF);
	assert_int_equal(file_size(NULL), -EBADF);
	fput(NULL);
	assert_int_equal(warn_count(), warns + 3);
	f = memfd_alloc_file(e->host, "gone", 0);
	assert_false(IS_ERR(f));
	fput(f);
	if (debug_api_enabled) {
		assert_int_equal(vm_mmap_file(e->mm, f, 0, P, RW, MAP_SHARED,
					      0),
				 -EBADF);
		assert_int_equal(warn_count(), warns + 4);
	}
	warn_set_quiet(false);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memfd_shared),
		cmocka_unit_test(test_memfd_private_cow),
		cmocka_unit_test(test_memfd_ftruncate),
		cmocka_unit_test(test_memfd_truncate_swapped),
		cmocka_unit_test(test_memfd_punch_hole),
		cmocka_unit_test(test_madv_remove),
		cmocka_unit_test(test_memfd_guest_punch),
		cmocka_unit_test(test_memfd_threads),
		cmocka_unit_test(test_write_after_read_faults),
		cmocka_unit_test(test_vma_merge),
		cmocka_unit_test(test_vma_merge_mremap),
		cmocka_unit_test(test_memfd_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
