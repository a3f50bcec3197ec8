// SPDX-License-Identifier: MIT
/*
 * simple_mirror: a secondary MMU written against the installed mmulab
 * library, as a third party would write one.
 *
 *   cc -o simple_mirror simple_mirror.c \
 *	$(pkg-config --cflags --libs mmulab)
 *
 * The "device" is a small direct-mapped TLB that caches translations of a
 * process's virtual pages to host frames.  It holds no page references:
 * an mmu_notifier keeps it coherent, with the pattern KVM uses for its
 * SPTEs:
 *
 *  - invalidate_range_start: raise the in-progress count, then drop every
 *    TLB entry in the range;
 *  - invalidate_range_end: bump the sequence, then lower the count;
 *  - a fill snapshots the sequence, looks the page up with GUP, and
 *    installs the entry only if, under the TLB lock, no invalidation is in
 *    progress and the sequence has not moved; otherwise it retries.
 *
 * A device task reads through the TLB while the main task unmaps, remaps
 * and write-protects the memory.  Every read is checked against what the
 * CPU wrote, and every TLB entry against the CPU page table.  A probe on
 * the core's tracepoint mmu_notifier_invalidate_range_start counts what
 * the core dispatched for the process, which the device must all have
 * received.  The program exits with status 1 on the first sign of
 * incoherence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/sched.h>
#include <mmulab/sync.h>
#include <mmulab/trace/events/mmu_notifier.h>

#define NR_FRAMES 256
#define NR_PAGES 8
#define TLB_ENTRIES 4		/* < NR_PAGES: entries get evicted */
#define ROUNDS 16
#define MIN_PASSES 8

/**
 * struct tlb_entry - one cached translation.
 * @vaddr: page-aligned virtual address.
 * @page: the frame, NULL when the entry is invalid.
 * @writable: stores may use it.
 */
struct tlb_entry {
	unsigned long vaddr;
	struct page *page;
	bool writable;
};

/**
 * struct device - the secondary MMU.
 * @mn: its notifier subscription.
 * @mm: the address space it translates.
 * @lock: protects everything below (the notifier callbacks run in the
 *	tasks that change the mm and take it too).
 * @tlb: the TLB, indexed by virtual page number.
 * @invalidate_count: invalidation windows open now.
 * @invalidate_seq: bumped at the end of every window.
 * @nr_starts: windows opened so far (for dev_verify()).
 * @dead: the mm exited; no more fills.
 */
struct device {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	spinlock_t lock;
	struct tlb_entry tlb[TLB_ENTRIES];
	long invalidate_count;
	unsigned long invalidate_seq;
	unsigned long nr_starts;
	bool dead;
	struct {
		atomic_long_t accesses;
		atomic_long_t fills;
		atomic_long_t refused;
		atomic_long_t flushed;
		atomic_long_t invalidations;
	} stats;
};

static atomic_long_t errors;
static atomic_t generation;	/* newest data generation the CPU wrote */
static atomic_t passes;		/* device passes over the pages so far */

#define fail(fmt, ...)                                                         \
	do {                                                                   \
		fprintf(stderr, "simple_mirror: " fmt "\n", ##__VA_ARGS__);    \
		atomic_long_inc(&errors);                                      \
	} while (0)

/*
 * The process whose invalidations the probe counts, and the count: the
 * probe runs on the task that invalidates, and only observes.
 */
static struct mm_struct *traced_mm;
static long traced_starts;

static void count_start(void *data, const struct mmu_notifier_range *range,
			int ret)
{
	(void)data;
	if (range->mm == OBSERVE_ONCE(traced_mm) && !ret)
		__atomic_fetch_add(&traced_starts, 1, __ATOMIC_RELAXED);
}

static u64 pattern(unsigned long addr, unsigned int gen)
{
	return ((u64)addr * 0x9e3779b97f4a7c15ULL) ^ ((u64)gen << 56) ^ 1;
}

/* The generation @val was written with at @addr, or -1 if none. */
static int pattern_gen(unsigned long addr, u64 val)
{
	u64 x = val ^ pattern(addr, 0);

	return (x & ((1ULL << 56) - 1)) ? -1 : (int)(x >> 56);
}

/* ---------------------------------------------------------------------
 * The TLB (callers hold dev->lock)
 */

static struct tlb_entry *tlb_slot(struct device *dev, unsigned long vaddr)
{
	return &dev->tlb[(vaddr >> PAGE_SHIFT) % TLB_ENTRIES];
}

static struct tlb_entry *tlb_lookup(struct device *dev, unsigned long vaddr)
{
	struct tlb_entry *e = tlb_slot(dev, vaddr);

	return e->page && e->vaddr == vaddr ? e : NULL;
}

static void tlb_flush_range(struct device *dev, unsigned long start,
			    unsigned long end)
{
	for (unsigned int i = 0; i < TLB_ENTRIES; i++) {
		struct tlb_entry *e = &dev->tlb[i];

		if (e->page && e->vaddr >= start && e->vaddr < end) {
			e->page = NULL;
			atomic_long_inc(&dev->stats.flushed);
		}
	}
}

/* ---------------------------------------------------------------------
 * Notifier callbacks
 */

static struct device *to_device(struct mmu_notifier *mn)
{
	return container_of(mn, struct device, mn);
}

static int dev_invalidate_start(struct mmu_notifier *mn,
				const struct mmu_notifier_range *range)
{
	struct device *dev = to_device(mn);

	spin_lock(&dev->lock);
	dev->invalidate_count++;
	dev->nr_starts++;
	tlb_flush_range(dev, range->start, range->end);
	spin_unlock(&dev->lock);
	atomic_long_inc(&dev->stats.invalidations);
	return 0;
}

static void dev_invalidate_end(struct mmu_notifier *mn,
			       const struct mmu_notifier_range *range)
{
	struct device *dev = to_device(mn);

	(void)range;
	spin_lock(&dev->lock);
	dev->invalidate_seq++;
	dev->invalidate_count--;
	spin_unlock(&dev->lock);
}

static void dev_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct device *dev = to_device(mn);

	(void)mm;
	spin_lock(&dev->lock);
	tlb_flush_range(dev, 0, ~0UL);
	dev->dead = true;
	spin_unlock(&dev->lock);
}

static const struct mmu_notifier_ops dev_ops = {
	.release = dev_release,
	.invalidate_range_start = dev_invalidate_start,
	.invalidate_range_end = dev_invalidate_end,
};

/* ---------------------------------------------------------------------
 * Device accesses
 */

/* Look @vaddr up and install it; called without dev->lock. */
static int dev_fill(struct device *dev, unsigned long vaddr, bool write)
{
	struct tlb_entry *e;
	struct page *page;
	unsigned long seq;
	bool dead;
	long n;

	for (;;) {
		spin_lock(&dev->lock);
		seq = dev->invalidate_seq;
		spin_unlock(&dev->lock);

		if (!mmget_not_zero(dev->mm))
			return -EFAULT;
		mmap_read_lock(dev->mm);
		n = get_user_pages_remote(dev->mm, vaddr, 1,
					  write ? FOLL_WRITE : 0, &page);
		mmap_read_unlock(dev->mm);
		mmput(dev->mm);
		if (n != 1)
			return n < 0 ? (int)n : -EFAULT;

		spin_lock(&dev->lock);
		dead = dev->dead;
		if (!dead && !dev->invalidate_count &&
		    dev->invalidate_seq == seq)
			break;
		spin_unlock(&dev->lock);
		/* The page may already be on its way out: never map it. */
		put_page(page);
		if (dead)
			return -EFAULT;
		atomic_long_inc(&dev->stats.refused);
		cond_resched();
	}
	e = tlb_slot(dev, vaddr);
	e->vaddr = vaddr;
	e->page = page;
	e->writable = write;
	spin_unlock(&dev->lock);
	put_page(page);
	atomic_long_inc(&dev->stats.fills);
	return 0;
}

static int dev_access(struct device *dev, unsigned long addr, u64 *val,
		      bool write)
{
	unsigned long vaddr = addr & PAGE_MASK;
	struct tlb_entry *e;
	int ret;

	for (;;) {
		spin_lock(&dev->lock);
		e = tlb_lookup(dev, vaddr);
		if (e && (!write || e->writable))
			break;
		spin_unlock(&dev->lock);
		ret = dev_fill(dev, vaddr, write);
		if (ret)
			return ret;
	}
	if (write)
		page_write_u64(e->page, addr & ~PAGE_MASK, *val);
	else
		*val = page_read_u64(e->page, addr & ~PAGE_MASK);
	spin_unlock(&dev->lock);
	atomic_long_inc(&dev->stats.accesses);
	return 0;
}

static bool entry_coherent(struct device *dev, const struct tlb_entry *e)
{
	pte_t pte;

	return !follow_pte(dev->mm, e->vaddr, &pte) && pte_present(pte) &&
	       pte_pfn(pte) == page_to_pfn(e->page) &&
	       (!e->writable || pte_write(pte));
}

/*
 * Every valid entry must map what the CPU maps, with no more rights.
 *
 * follow_pte() takes the mmap_lock, which ranks above dev->lock (the
 * callbacks take dev->lock with it held) and may sleep, so the TLB is
 * snapshotted, the CPU entries read without dev->lock, and the result
 * believed only if no invalidation began meanwhile.  A primary PTE changes
 * only after invalidate_range_start dropped the entries for it, and none
 * is re-created before the end, so an entry that survived the whole check
 * was coherent throughout.
 */
static void dev_verify(struct device *dev, const char *when)
{
	struct tlb_entry snap[TLB_ENTRIES];
	bool bad[TLB_ENTRIES];
	unsigned long starts;
	bool stable;

	if (!mmget_not_zero(dev->mm))
		return;
	do {
		spin_lock(&dev->lock);
		memcpy(snap, dev->tlb, sizeof(snap));
		starts = dev->nr_starts;
		spin_unlock(&dev->lock);

		for (unsigned int i = 0; i < TLB_ENTRIES; i++)
			bad[i] = snap[i].page && !entry_coherent(dev, &snap[i]);

		spin_lock(&dev->lock);
		stable = dev->nr_starts == starts;
		spin_unlock(&dev->lock);
		if (!stable)
			cond_resched();
	} while (!stable);
	mmput(dev->mm);

	for (unsigned int i = 0; i < TLB_ENTRIES; i++)
		if (bad[i])
			fail("%s: TLB maps %#lx to pfn %#lx, not what the CPU "
			     "maps", when, snap[i].vaddr,
			     page_to_pfn(snap[i].page));
}

static unsigned long dev_writable_entries(struct device *dev)
{
	unsigned long n = 0;

	spin_lock(&dev->lock);
	for (unsigned int i = 0; i < TLB_ENTRIES; i++)
		n += dev->tlb[i].page && dev->tlb[i].writable;
	spin_unlock(&dev->lock);
	return n;
}

/* ---------------------------------------------------------------------
 * The test
 */

struct world {
	struct host *host;
	struct mm_struct *mm;
	struct device dev;
	unsigned long base;
};

static void cpu_fill(struct world *w, unsigned int gen)
{
	/* Announce the generation first: no reader may see it before. */
	atomic_set(&generation, gen);
	for (unsigned int i = 0; i < NR_PAGES; i++) {
		unsigned long addr = w->base + i * PAGE_SIZE;

		if (cpu_write_u64(w->mm, addr, pattern(addr, gen)))
			fail("cpu write %#lx failed", addr);
	}
}

/* A device read sees the newest generation or an older one, or a page not
 * written yet (zero) or not mapped right now (EFAULT); never anything else. */
static void dev_read_check(struct device *dev, unsigned long addr)
{
	u64 val = 0;
	int ret = dev_access(dev, addr, &val, false);
	int gen;

	if (ret == -EFAULT)
		return;
	gen = pattern_gen(addr, val);
	if (ret || (val && (gen < 0 || gen > atomic_read(&generation))))
		fail("device read %#lx: error %d, value %#llx", addr, ret,
		     (unsigned long long)val);
}

/* Read every page through the TLB until told to stop. */
static int device_task(void *data)
{
	struct world *w = data;

	while (!kthread_should_stop()) {
		for (unsigned int i = 0; i < NR_PAGES; i++)
			dev_read_check(&w->dev, w->base + i * PAGE_SIZE);
		dev_verify(&w->dev, "concurrent");
		atomic_inc(&passes);
		cond_resched();
	}
	return 0;
}

static void phase_mprotect(struct world *w)
{
	unsigned long len = NR_PAGES * PAGE_SIZE;
	u64 val = 0x5eed;

	if (dev_access(&w->dev, w->base + 8, &val, true))
		fail("device write to a writable page failed");
	if (do_mprotect(w->mm, w->base, len, PROT_READ))
		fail("mprotect(PROT_READ) failed");
	if (dev_writable_entries(&w->dev))
		fail("writable TLB entries survived mprotect(PROT_READ)");
	if (dev_access(&w->dev, w->base + 8, &val, true) != -EFAULT)
		fail("device write to a read-only page did not fault");
	dev_read_check(&w->dev, w->base);
	if (do_mprotect(w->mm, w->base, len, PROT_READ | PROT_WRITE))
		fail("mprotect(PROT_READ|PROT_WRITE) failed");
	val = 0;
	if (cpu_read_u64(w->mm, w->base + 8, &val) || val != 0x5eed)
		fail("cpu does not see the device's write (%#llx)",
		     (unsigned long long)val);
	dev_verify(&w->dev, "mprotect");
}

static void cpu_round(struct world *w, unsigned int gen)
{
	unsigned long len = NR_PAGES * PAGE_SIZE;
	long addr;

	if (vm_munmap(w->mm, w->base, len))
		fail("munmap failed");
	addr = vm_mmap(w->mm, w->base, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	if (addr != (long)w->base)
		fail("mmap MAP_FIXED returned %ld", addr);
	cpu_fill(w, gen);
	if (do_mprotect(w->mm, w->base, len, PROT_READ) ||
	    do_mprotect(w->mm, w->base, len, PROT_READ | PROT_WRITE))
		fail("mprotect failed");
}

static void phase_concurrent(struct world *w)
{
	struct task_struct *t = kthread_run(device_task, w, "device");

	if (IS_ERR(t)) {
		fail("kthread_run: %ld", PTR_ERR(t));
		return;
	}
	/* At least ROUNDS rounds, and until the device overlapped them. */
	for (unsigned int round = 0;
	     round < ROUNDS || atomic_read(&passes) < MIN_PASSES; round++) {
		cpu_round(w, 2 + round);
		cond_resched();
	}
	kthread_stop(t);
	dev_verify(&w->dev, "after the race");
}

static int setup(struct world *w)
{
	struct host_config cfg = { .nr_frames = NR_FRAMES,
				   .content = HOST_CONTENT_DATA };
	long addr;

	w->host = host_create(&cfg);
	if (IS_ERR(w->host))
		return (int)PTR_ERR(w->host);
	w->mm = mm_alloc(w->host);
	if (IS_ERR(w->mm))
		return (int)PTR_ERR(w->mm);
	spin_lock_init(&w->dev.lock);
	w->dev.mm = w->mm;
	w->dev.mn.ops = &dev_ops;
	if (mmu_notifier_register(&w->dev.mn, w->mm))
		return -EINVAL;
	__atomic_store_n(&traced_starts, 0, __ATOMIC_RELAXED);
	OBSERVE_SET(traced_mm, w->mm);
	addr = vm_mmap(w->mm, 0, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS);
	if (addr < 0)
		return (int)addr;
	w->base = addr;
	cpu_fill(w, 1);
	return 0;
}

static int teardown(struct world *w)
{
	unsigned long free_frames;
	long traced = __atomic_load_n(&traced_starts, __ATOMIC_RELAXED);

	if (traced != atomic_long_read(&w->dev.stats.invalidations))
		fail("the core dispatched %ld starts, the device got %ld",
		     traced, atomic_long_read(&w->dev.stats.invalidations));
	OBSERVE_SET(traced_mm, NULL);
	mmput(w->mm);
	if (!w->dev.dead)
		fail("exit did not call release");
	mmu_notifier_unregister(&w->dev.mn, w->mm);
	free_frames = host_nr_free_frames(w->host);
	if (free_frames != NR_FRAMES - 1)
		fail("%lu frames leaked", NR_FRAMES - 1 - free_frames);
	return host_destroy(w->host);
}

static int run(void)
{
	static struct world w;
	int ret;

	memset(&w, 0, sizeof(w));
	ret = setup(&w);

	if (ret) {
		fprintf(stderr, "simple_mirror: setup failed: %d\n", ret);
		return ret;
	}
	for (unsigned int i = 0; i < NR_PAGES; i++)
		dev_read_check(&w.dev, w.base + i * PAGE_SIZE);
	phase_mprotect(&w);
	phase_concurrent(&w);
	ret = teardown(&w);
	if (ret)
		fail("host_destroy: %d", ret);

	printf("simple_mirror: %ld accesses, %ld fills, %ld fills refused, "
	       "%ld invalidations, %ld entries flushed, %d device passes\n",
	       atomic_long_read(&w.dev.stats.accesses),
	       atomic_long_read(&w.dev.stats.fills),
	       atomic_long_read(&w.dev.stats.refused),
	       atomic_long_read(&w.dev.stats.invalidations),
	       atomic_long_read(&w.dev.stats.flushed), atomic_read(&passes));
	return 0;
}

/* det_explore()'s scenario: one run; non-zero when anything was wrong. */
static int explore_run(void *arg)
{
	(void)arg;
	/* A child of the process that ran on real threads: start afresh. */
	atomic_long_set(&errors, 0);
	atomic_set(&passes, 0);
	atomic_set(&generation, 0);
	return run() || atomic_long_read(&errors);
}

/*
 * simple_mirror [SEED]: without a seed, a search of 20 deterministic
 * schedules with det_explore() (MMULAB_SEEDS=N for more; `mmulab check
 * --exec simple_mirror` spreads them over cores and machines), then one
 * run on real threads.  With a seed, that one schedule, and its log hash: the
 * same seed replays the same run.
 */
int main(int argc, char **argv)
{
	struct det_explore_opts opts = { .seeds = 20, .alternate = true,
					 .name = argv[0] };
	struct det_config cfg = { .strategy = DET_STRATEGY_RANDOM };
	struct det_explore_result found;
	struct det_result res;
	char *end;
	int ret;

	if (argc > 2 || (argc == 2 && (cfg.seed = strtoull(argv[1], &end, 0),
				       *end || !*argv[1]))) {
		fprintf(stderr, "usage: simple_mirror [SEED]\n");
		return 2;
	}
	ret = register_trace_mmu_notifier_invalidate_range_start(count_start,
								  NULL);
	if (ret) {
		fprintf(stderr, "simple_mirror: probe: %d\n", ret);
		return 1;
	}
	if (argc == 1) {
		/*
		 * The search first: its children are forked while this
		 * process has no threads (ThreadSanitizer refuses threads in
		 * a child of a multi-threaded process).
		 */
		ret = det_explore(explore_run, NULL, &opts, &found);
		if (ret < 0) {
			fprintf(stderr, "simple_mirror: det_explore: %d\n", ret);
			return 1;
		}
		if (getenv("MMULAB_SEED"))
			return ret;
		printf("simple_mirror: %llu schedules explored, %s\n",
		       (unsigned long long)found.seeds_run,
		       ret ? "one failed" : "no violation");
		if (ret)
			return 1;
	}
	if (argc == 2) {
		ret = det_begin(&cfg);
		if (ret) {
			fprintf(stderr, "simple_mirror: det_begin: %d\n", ret);
			return 1;
		}
	}
	ret = run();
	if (argc == 2) {
		if (det_end(&res))
			fail("det_end failed");
		else
			printf("simple_mirror: seed %llu, log hash %016llx\n",
			       (unsigned long long)cfg.seed,
			       (unsigned long long)res.log_hash);
	}
	if (ret || atomic_long_read(&errors)) {
		fprintf(stderr, "simple_mirror: FAILED, %ld errors\n",
			atomic_long_read(&errors));
		return 1;
	}
	return 0;
}
