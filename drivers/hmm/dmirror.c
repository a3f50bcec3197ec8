// SPDX-License-Identifier: MIT
/*
 * HMM-style device mirror: a device page table over a range of an mm,
 * coherent through an interval notifier (see <mmulab/hmm.h>).
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/mmu_notifier.h>
#include "../../mm/internal.h" /* mutant_is() */
#include "../../mm/swapops.h"
#include "dmirror_internal.h"

/* @valid and @pfn are stored with checker_poke(): the checker's contract
 * query reads them without the driver lock. */
struct dmirror_entry {
	unsigned long pfn;
	bool valid;
	bool writable;
	bool atomic; /* mapped through a device-exclusive entry */
};

struct dmirror {
	struct mmu_interval_notifier notifier;
	struct mm_struct *mm;
	struct host *host;
	unsigned long start, npages;
	struct mutex update; /* the driver lock: table and sequence */
	struct dmirror_entry *table;
	struct checker_secondary checker;
	bool dead; /* being destroyed: no more installs */
	struct dmirror_device *mdevice; /* its device memory, or NULL */
	atomic_long_t stat[5];
};

enum { ST_ACCESSES, ST_FAULTS, ST_RETRIES, ST_INVALIDATIONS, ST_ZAPPED };

static unsigned long entry_addr(struct dmirror *d, struct dmirror_entry *e)
{
	return d->start + ((unsigned long)(e - d->table) << PAGE_SHIFT);
}

static void zap_entry(struct dmirror *d, struct dmirror_entry *e)
{
	if (!e->valid)
		return;
	checker_poke(e->valid, false);
	e->atomic = false;
	checker_secondary_map(d->host, e->pfn, entry_addr(d, e), -1);
	atomic_long_inc(&d->stat[ST_ZAPPED]);
}

/*
 * The collision protocol's write side: under the same lock the fault path
 * holds around read_retry, record the sequence (so a fault that sampled
 * before this invalidation sees a change and starts over) and drop the
 * entries, so none outlives the primary change.
 */
static bool dmirror_invalidate(struct mmu_interval_notifier *mni,
			       const struct mmu_notifier_range *range,
			       unsigned long cur_seq)
{
	struct dmirror *d = container_of(mni, struct dmirror, notifier);
	unsigned long s = range->start > d->start ? range->start : d->start;
	unsigned long e = d->start + (d->npages << PAGE_SHIFT);

	if (range->end < e)
		e = range->end;
	/* Its own migration: the driver updates its table itself. */
	if (dmirror_skip_migration(d->mdevice, range))
		return true;
	if (mmu_notifier_range_blockable(range))
		mutex_lock(&d->update);
	else if (!mutex_trylock(&d->update))
		return false;
	if (!mutant_is(MUTANT_INTERVAL_NO_SEQ_BUMP)) /* broken on purpose */
		mmu_interval_set_seq(mni, cur_seq);
	for (unsigned long a = s; a < e; a += PAGE_SIZE)
		zap_entry(d, &d->table[(a - d->start) >> PAGE_SHIFT]);
	atomic_long_inc(&d->stat[ST_INVALIDATIONS]);
	mutex_unlock(&d->update);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_ops = {
	.invalidate = dmirror_invalidate,
};

/*
 * At a quiescent point every device entry must match the CPU's.  Each
 * entry is read under the lock dmirror_fault() writes it under (a
 * quiescent point says no fault is running, the lock says what the last
 * one wrote is what we read), and compared after it is dropped: the CPU's
 * page table is read under the mmap_lock, which ranks above it.
 */
static void dmirror_sweep(struct checker_secondary *cs, struct host *host)
{
	struct dmirror *d = container_of(cs, struct dmirror, checker);

	for (unsigned long i = 0; i < d->npages; i++) {
		struct dmirror_entry copy, *e = &copy;
		unsigned long addr = d->start + (i << PAGE_SHIFT);
		unsigned long pfn;
		bool mapped, write;
		pte_t pte;

		mutex_lock(&d->update);
		copy = d->table[i];
		mutex_unlock(&d->update);
		if (!e->valid)
			continue;
		follow_pte(d->mm, addr, &pte);
		/* A device-private or device-exclusive entry maps it too. */
		mapped = pte_entry_pfn(pte, &pfn, &write);
		if (!mapped || pfn != e->pfn)
			checker_fail(host, INV_STALE_SECONDARY, e->pfn, addr,
				     ~0ULL, "dmirror",
				     "device entry for %#lx maps frame %lu, the "
				     "CPU maps %s",
				     addr, e->pfn, mapped ? "another" : "nothing");
		else if (e->writable && !write)
			checker_fail(host, INV_WRITABLE_SECONDARY, e->pfn,
				     addr, ~0ULL, "dmirror",
				     "device entry for %#lx is writable, the "
				     "CPU's is not",
				     addr);
	}
}

/* The contract query: a valid device entry in [start, end) of @mm. */
static bool dmirror_mapped(struct checker_secondary *cs, struct mm_struct *mm,
			   unsigned long start, unsigned long end,
			   struct checker_mapping *out)
{
	struct dmirror *d = container_of(cs, struct dmirror, checker);
	unsigned long last = d->start + (d->npages << PAGE_SHIFT);

	if (mm != d->mm)
		return false;
	if (start < d->start)
		start = d->start;
	for (unsigned long a = start & PAGE_MASK; a < end && a < last;
	     a += PAGE_SIZE) {
		struct dmirror_entry *e = &d->table[(a - d->start) >> PAGE_SHIFT];

		if (!checker_peek(e->valid))
			continue;
		out->addr = a;
		out->pfn = checker_peek(e->pfn);
		snprintf(out->what, sizeof(out->what), "the device entry for %#lx",
			 a);
		return true;
	}
	return false;
}

struct dmirror *dmirror_create(struct mm_struct *mm, unsigned long start,
			       unsigned long npages)
{
	struct dmirror *d;
	int r;

	if (!mm || (start & ~PAGE_MASK) || !npages ||
	    npages > (TASK_SIZE >> PAGE_SHIFT))
		return ERR_PTR(-EINVAL);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->table = calloc(npages, sizeof(*d->table));
	if (!d->table) {
		free(d);
		return ERR_PTR(-ENOMEM);
	}
	d->mm = mm;
	d->host = mm_host(mm);
	d->start = start;
	d->npages = npages;
	mutex_init(&d->update);
	d->checker.name = "dmirror";
	d->checker.sweep = dmirror_sweep;
	d->checker.mapped = dmirror_mapped;
	checker_register_secondary(d->host, &d->checker);
	checker_watch_interval(&d->checker, &d->notifier);
	r = mmu_interval_notifier_insert(&d->notifier, mm, start,
					 npages << PAGE_SHIFT, &dmirror_ops);
	if (r) {
		checker_unregister_secondary(d->host, &d->checker);
		free(d->table);
		free(d);
		return ERR_PTR(r);
	}
	return d;
}

/*
 * Drop every entry before leaving the interval tree: once removed, the
 * mirror hears of no invalidation, so nothing may be mapped by then.
 */
void dmirror_destroy(struct dmirror *d)
{
	if (!d)
		return;
	mutex_lock(&d->update);
	d->dead = true;
	for (unsigned long i = 0; i < d->npages; i++)
		zap_entry(d, &d->table[i]);
	mutex_unlock(&d->update);
	mmu_interval_notifier_remove(&d->notifier);
	checker_unregister_secondary(d->host, &d->checker);
	if (d->mdevice)
		dmirror_device_forget(d->mdevice, d);
	free(d->table);
	free(d);
}

/*
 * The device fault: sample the sequence, fault the page in with no driver
 * lock held, and install only if no invalidation ran meanwhile.  The GUP
 * reference is dropped once the entry is in: the notifier protects it.
 */
static int dmirror_fault(struct dmirror *d, unsigned long addr, bool write)
{
	for (int tries = 0; tries < 100000; tries++) {
		unsigned long seq = mmu_interval_read_begin(&d->notifier);
		struct dmirror_entry *e;
		struct page *page;
		long n;

		if (!mmget_not_zero(d->mm))
			return -EFAULT;
		n = get_user_pages_unlocked(d->mm, addr, 1, &page,
					    write ? FOLL_WRITE : 0);
		mmput(d->mm);
		if (n != 1)
			return n == -ENOMEM ? -ENOMEM : -EFAULT;
		mutex_lock(&d->update);
		if (d->dead) {
			mutex_unlock(&d->update);
			put_page(page);
			return -EFAULT;
		}
		if (mmu_interval_read_retry(&d->notifier, seq)) {
			mutex_unlock(&d->update);
			put_page(page);
			atomic_long_inc(&d->stat[ST_RETRIES]);
			cpu_relax(); /* let the invalidation finish */
			continue;
		}
		e = &d->table[(addr - d->start) >> PAGE_SHIFT];
		zap_entry(d, e);
		checker_poke(e->pfn, page_to_pfn(page));
		e->writable = write;
		checker_poke(e->valid, true);
		checker_secondary_map(d->host, e->pfn, addr, 1);
		mutex_unlock(&d->update);
		put_page(page);
		return 0;
	}
	return -EAGAIN;
}

static int dmirror_access(struct dmirror *d, unsigned long addr, u64 *val,
			  bool write)
{
	if (!d || !val || (addr & 7) || addr < d->start ||
	    addr >= d->start + (d->npages << PAGE_SHIFT))
		return -EINVAL;
	atomic_long_inc(&d->stat[ST_ACCESSES]);
	for (;;) {
		/* A broken protocol was caught: touch no frame any more. */
		if (checker_stopped(d->host))
			return -EIO;
		struct dmirror_entry *e =
			&d->table[(addr - d->start) >> PAGE_SHIFT];
		int r;

		mutex_lock(&d->update);
		if (e->valid && (!write || e->writable)) {
			struct page *page = pfn_to_page(d->host, e->pfn);

			/* The lock keeps invalidate (and so the free) out. */
			if (write)
				page_write_u64(page, addr & ~PAGE_MASK, *val);
			else
				*val = page_read_u64(page, addr & ~PAGE_MASK);
			mutex_unlock(&d->update);
			return 0;
		}
		mutex_unlock(&d->update);
		atomic_long_inc(&d->stat[ST_FAULTS]);
		r = dmirror_fault(d, addr & PAGE_MASK, write);
		if (r)
			return r;
	}
}

int dmirror_read_u64(struct dmirror *d, unsigned long addr, u64 *val)
{
	return dmirror_access(d, addr, val, false);
}

int dmirror_write_u64(struct dmirror *d, unsigned long addr, u64 val)
{
	return dmirror_access(d, addr, &val, true);
}

/* The counters, each read with @rd. */
static void copy_stat(struct dmirror *d, struct dmirror_stat *out,
		      long (*rd)(const atomic_long_t *v))
{
	out->accesses = rd(&d->stat[ST_ACCESSES]);
	out->faults = rd(&d->stat[ST_FAULTS]);
	out->retries = rd(&d->stat[ST_RETRIES]);
	out->invalidations = rd(&d->stat[ST_INVALIDATIONS]);
	out->zapped = rd(&d->stat[ST_ZAPPED]);
}

void dmirror_observe_stat(struct dmirror *d, struct dmirror_stat *out)
{
	copy_stat(d, out, atomic_long_observe);
}

void dmirror_get_stat(struct dmirror *d, struct dmirror_stat *out)
{
	copy_stat(d, out, atomic_long_read);
}

/* ---------------------------------------------------------------------
 * Hooks for device memory (dmirror_devmem.c)
 */

void dmirror_set_device(struct dmirror *d, struct dmirror_device *mdev)
{
	d->mdevice = mdev;
	d->checker.owner = mdev;
}

struct mm_struct *dmirror_mm(struct dmirror *d)
{
	return d->mm;
}

struct host *dmirror_host(struct dmirror *d)
{
	return d->host;
}

struct dmirror_device *dmirror_device_of(struct dmirror *d)
{
	return d->mdevice;
}

bool dmirror_covers(struct dmirror *d, unsigned long addr, unsigned long npages)
{
	return d && !(addr & ~PAGE_MASK) && npages && addr >= d->start &&
	       npages <= d->npages &&
	       ((addr - d->start) >> PAGE_SHIFT) <= d->npages - npages;
}

/*
 * Drop the device entry mapping frame @pfn: the one of @addr if that is
 * it, else wherever it is (an eviction knows no address).
 */
void dmirror_devmem_unmap(struct dmirror *d, unsigned long addr,
			  unsigned long pfn)
{
	mutex_lock(&d->update);
	if (dmirror_covers(d, addr, 1) &&
	    d->table[(addr - d->start) >> PAGE_SHIFT].pfn == pfn) {
		zap_entry(d, &d->table[(addr - d->start) >> PAGE_SHIFT]);
	} else {
		for (unsigned long i = 0; i < d->npages; i++)
			if (d->table[i].valid && d->table[i].pfn == pfn)
				zap_entry(d, &d->table[i]);
	}
	mutex_unlock(&d->update);
}

/* The sequence a migration or exclusive access samples before it starts. */
unsigned long dmirror_devmem_begin(struct dmirror *d)
{
	return mmu_interval_read_begin(&d->notifier);
}

/*
 * Install a device entry for @addr mapping frame @pfn, outside the fault
 * path: a migration's destination (before its finalize) or a page the
 * device holds exclusively (with the page locked, so the CPU's revocation
 * comes after).  As a fault, only if no invalidation but the device's own
 * (which it skips) ran since @seq was sampled: another (a zap of the
 * migration entry, say) may have taken the page away.  Returns false then
 * and once the mirror is being destroyed.
 */
bool dmirror_devmem_map(struct dmirror *d, unsigned long addr,
			unsigned long pfn, bool writable, bool atomic,
			unsigned long seq)
{
	struct dmirror_entry *e = &d->table[(addr - d->start) >> PAGE_SHIFT];

	mutex_lock(&d->update);
	if (d->dead || mmu_interval_read_retry(&d->notifier, seq)) {
		mutex_unlock(&d->update);
		return false;
	}
	zap_entry(d, e);
	checker_poke(e->pfn, pfn);
	e->writable = writable;
	e->atomic = atomic;
	checker_poke(e->valid, true);
	checker_secondary_map(d->host, pfn, addr, 1);
	mutex_unlock(&d->update);
	return true;
}

/* What the device's entry for @addr maps: false when it has none. */
bool dmirror_devmem_lookup(struct dmirror *d, unsigned long addr,
			   unsigned long *pfn, bool *atomic)
{
	struct dmirror_entry *e = &d->table[(addr - d->start) >> PAGE_SHIFT];
	bool valid;

	mutex_lock(&d->update);
	valid = e->valid;
	*pfn = e->pfn;
	*atomic = e->atomic;
	mutex_unlock(&d->update);
	return valid;
}
