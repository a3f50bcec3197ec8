// SPDX-License-Identifier: MIT
/*
 * HMM-style device mirror: a device page table over a range of an mm,
 * filled through hmm_range_fault() and kept coherent by an interval
 * notifier (see <mmulab/hmm.h>), as lib/test_hmm.c's dmirror.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mmulab/checker.h>
#include <mmulab/hmm.h>
#include <mmulab/memremap.h>
#include <mmulab/mmu_notifier.h>
#include <mmulab/mutant.h>
#include "dmirror_internal.h"

/* @valid and @pfn are stored with checker_poke(): the checker's contract
 * query reads them without the driver lock. */
struct dmirror_entry {
	unsigned long pfn;
	bool valid;
	bool writable;
	bool atomic; /* mapped through a device-exclusive entry */
};

enum {
	ST_ACCESSES,
	ST_READS,
	ST_WRITES,
	ST_FAULTS,
	ST_RETRIES,
	ST_INVALIDATIONS,
	ST_ZAPPED,
	ST_INCOHERENT,
	ST_NR,
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
	atomic_long_t stat[ST_NR];
	atomic_long_t by_event[MMU_NOTIFY_NR_EVENTS];
};

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

/**
 * dmirror_lock_update() - take the update lock for an invalidation of
 * @range: without waiting if it may not block.  Return: false if busy.
 */
bool dmirror_lock_update(struct dmirror *d,
			 const struct mmu_notifier_range *range)
{
	if (!mmu_notifier_range_blockable(range))
		return mutex_trylock(&d->update);
	mutex_lock(&d->update);
	return true;
}

/** dmirror_unlock_update() - drop the update lock. */
void dmirror_unlock_update(struct dmirror *d)
{
	mutex_unlock(&d->update);
}

/**
 * dmirror_zap_range() - under the update lock, drop the entries of the
 * part of @range the mirror covers, and count the invalidation.
 */
void dmirror_zap_range(struct dmirror *d,
		       const struct mmu_notifier_range *range)
{
	unsigned long s = range->start > d->start ? range->start : d->start;
	unsigned long e = d->start + (d->npages << PAGE_SHIFT);

	if (range->end < e)
		e = range->end;
	for (unsigned long a = s; a < e; a += PAGE_SIZE)
		zap_entry(d, &d->table[(a - d->start) >> PAGE_SHIFT]);
	atomic_long_inc(&d->stat[ST_INVALIDATIONS]);
	if ((unsigned int)range->event < MMU_NOTIFY_NR_EVENTS)
		atomic_long_inc(&d->by_event[range->event]);
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

	if (mutant_is(MUTANT_INTERVAL_NO_SEQ_BUMP))
		return dmirror_invalidate_mutant_no_seq_bump(d, range);
	/* Its own migration: the driver updates its table itself. */
	if (dmirror_skip_migration(d->mdevice, range))
		return true;
	if (!dmirror_lock_update(d, range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	dmirror_zap_range(d, range);
	dmirror_unlock_update(d);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_ops = {
	.invalidate = dmirror_invalidate,
};

/*
 * Does device entry @i disagree with the CPU's?  The entry is read under
 * the lock the fault path writes it under, into @e, and compared after
 * the lock is dropped: the CPU's page table is read under the mmap_lock,
 * which ranks above it.  Returns 0, INV_STALE_SECONDARY (another frame
 * or none) or INV_WRITABLE_SECONDARY (more permission than the CPU).
 */
static int dmirror_incoherent(struct dmirror *d, unsigned long i,
			      struct dmirror_entry *e, pte_t *pte)
{
	unsigned long pfn;
	bool write;

	mutex_lock(&d->update);
	*e = d->table[i];
	mutex_unlock(&d->update);
	if (!e->valid)
		return 0;
	follow_pte(d->mm, d->start + (i << PAGE_SHIFT), pte);
	/* A device-private or device-exclusive entry maps it too. */
	if (!pte_entry_pfn(*pte, &pfn, &write) || pfn != e->pfn)
		return INV_STALE_SECONDARY;
	if (e->writable && !write)
		return INV_WRITABLE_SECONDARY;
	return 0;
}

/*
 * At a quiescent point every device entry must match the CPU's (a
 * quiescent point says no fault is running, so what an entry holds is
 * what the last one wrote).
 */
static void dmirror_sweep(struct checker_secondary *cs, struct host *host)
{
	struct dmirror *d = container_of(cs, struct dmirror, checker);

	for (unsigned long i = 0; i < d->npages; i++) {
		unsigned long addr = d->start + (i << PAGE_SHIFT);
		struct dmirror_entry e;
		unsigned long pfn;
		bool write;
		pte_t pte;
		int inv = dmirror_incoherent(d, i, &e, &pte);

		if (inv == INV_STALE_SECONDARY)
			checker_fail(host, inv, e.pfn, addr, ~0ULL, "dmirror",
				     "device entry for %#lx maps frame %lu, the "
				     "CPU maps %s",
				     addr, e.pfn,
				     pte_entry_pfn(pte, &pfn, &write) ? "another"
								      : "nothing");
		else if (inv)
			checker_fail(host, inv, e.pfn, addr, ~0ULL, "dmirror",
				     "device entry for %#lx is writable, the "
				     "CPU's is not",
				     addr);
	}
}

#define DMIRROR_CHECK_TRIES 64

/*
 * Outside a quiescent point an invalidation may change the CPU's entry
 * between the two reads; it drops the device entry first, so a pass that
 * no invalidation overtook (the count under the lock did not move) is
 * believed, and another is made otherwise.
 */
unsigned long dmirror_check(struct dmirror *d)
{
	unsigned long bad = 0;

	if (!mmget_not_zero(d->mm))
		return 0;
	for (int tries = 0; tries < DMIRROR_CHECK_TRIES; tries++) {
		long gen = atomic_long_read(&d->stat[ST_INVALIDATIONS]);

		bad = 0;
		for (unsigned long i = 0; i < d->npages; i++) {
			struct dmirror_entry e;
			pte_t pte;

			bad += !!dmirror_incoherent(d, i, &e, &pte);
		}
		if (atomic_long_read(&d->stat[ST_INVALIDATIONS]) == gen)
			break;
		bad = 0;
		cond_resched();
	}
	mmput(d->mm);
	atomic_long_add(bad, &d->stat[ST_INCOHERENT]);
	return bad;
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

/* The table entry of @addr (inside the mirror). */
static struct dmirror_entry *dmirror_entry(struct dmirror *d,
					   unsigned long addr)
{
	return &d->table[(addr - d->start) >> PAGE_SHIFT];
}

/*
 * Install what hmm_range_fault() found, under the driver lock and after
 * mmu_interval_read_retry() (lib/test_hmm.c's dmirror_do_fault()).  The
 * entry is writable when the CPU's is, whatever the request.
 */
static int dmirror_do_fault(struct dmirror *d, struct hmm_range *range)
{
	unsigned long *pfns = range->hmm_pfns;

	for (unsigned long a = range->start; a < range->end;
	     a += PAGE_SIZE, pfns++) {
		struct dmirror_entry *e = dmirror_entry(d, a);

		/* Asked to fault, hmm_range_fault() returns valid or fails. */
		if (WARN_ON_ONCE(!(*pfns & HMM_PFN_VALID) ||
				 (*pfns & HMM_PFN_ERROR)))
			return -EFAULT;
		if (WARN_ON_ONCE((range->default_flags & HMM_PFN_REQ_WRITE) &&
				 !(*pfns & HMM_PFN_WRITE)))
			return -EFAULT;
		zap_entry(d, e);
		checker_poke(e->pfn, hmm_pfn_to_pfn(*pfns));
		e->writable = *pfns & HMM_PFN_WRITE;
		checker_poke(e->valid, true);
		checker_secondary_map(d->host, e->pfn, a, 1);
	}
	return 0;
}

/* Give up on a range that invalidations keep hitting: Linux's timeout. */
#define DMIRROR_FAULT_TRIES 100000

/*
 * Broken on purpose (mutant hmm-no-retry-check): install without asking
 * whether an invalidation ran since notifier_seq was sampled.
 */
static bool dmirror_collided(struct dmirror *d, struct hmm_range *range)
{
	if (mutant_is(MUTANT_HMM_NO_RETRY_CHECK))
		return false;
	return mmu_interval_read_retry(&d->notifier, range->notifier_seq);
}

/*
 * One range: sample the sequence, walk (and fault) the CPU page table
 * under mmap_read_lock() with no driver lock, then install under the
 * driver lock only if no invalidation ran meanwhile; start over on any
 * collision.  Returns with nothing held.
 */
static int dmirror_range_fault(struct dmirror *d, struct hmm_range *range)
{
	for (int tries = 0; tries < DMIRROR_FAULT_TRIES; tries++) {
		int ret;

		/* A broken protocol was caught: touch no frame any more. */
		if (checker_stopped(d->host))
			return -EIO;
		range->notifier_seq = mmu_interval_read_begin(range->notifier);
		mmap_read_lock(d->mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(d->mm);
		atomic_long_inc(&d->stat[ST_FAULTS]);
		if (ret == -EBUSY) {
			atomic_long_inc(&d->stat[ST_RETRIES]);
			/*
			 * A fault that made no progress (a device page locked
			 * by its migration or exclusive access) waits for
			 * the holder: let it run.
			 */
			cpu_relax();
			continue;
		}
		if (ret)
			return ret;
		mutex_lock(&d->update);
		if (d->dead) {
			mutex_unlock(&d->update);
			return -EFAULT;
		}
		if (dmirror_collided(d, range)) {
			mutex_unlock(&d->update);
			atomic_long_inc(&d->stat[ST_RETRIES]);
			cpu_relax(); /* let the invalidation finish */
			continue;
		}
		ret = dmirror_do_fault(d, range);
		mutex_unlock(&d->update);
		return ret;
	}
	return -EBUSY;
}

#define DMIRROR_RANGE_PAGES 64

/* The end of the chunk of [a, end) one hmm_range_fault() call covers. */
static unsigned long dmirror_chunk_end(unsigned long a, unsigned long end)
{
	return end - a > DMIRROR_RANGE_PAGES * PAGE_SIZE
		       ? a + DMIRROR_RANGE_PAGES * PAGE_SIZE
		       : end;
}

/*
 * Fault [start, end) in, DMIRROR_RANGE_PAGES at a time, one
 * hmm_range_fault() call per chunk (lib/test_hmm.c's dmirror_fault()).
 */
static int dmirror_fault(struct dmirror *d, unsigned long start,
			 unsigned long end, bool write)
{
	unsigned long pfns[DMIRROR_RANGE_PAGES];
	struct hmm_range range = {
		.notifier = &d->notifier,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (write ? HMM_PFN_REQ_WRITE : 0),
		/* Its own device pages are mapped in place, not migrated. */
		.dev_private_owner = d->mdevice,
	};
	int ret = 0;

	/* The mm is the mirrored process's: pin its page tables first. */
	if (!mmget_not_zero(d->mm))
		return -EFAULT;
	for (unsigned long a = start; a < end && !ret; a = range.end) {
		range.start = a;
		range.end = dmirror_chunk_end(a, end);
		ret = dmirror_range_fault(d, &range);
	}
	mmput(d->mm);
	return ret;
}

static bool dmirror_range_ok(struct dmirror *d, unsigned long addr,
			     unsigned long npages)
{
	unsigned long end = d->start + (d->npages << PAGE_SHIFT);

	return addr >= d->start && addr < end && npages &&
	       npages <= (end - (addr & PAGE_MASK)) >> PAGE_SHIFT;
}

/*
 * One device access of the word at @addr through the table, under the
 * lock that keeps invalidate (and so the frame's free) out.  Returns
 * false on a miss.
 */
static bool dmirror_do_access(struct dmirror *d, unsigned long addr, u64 *val,
			      bool write)
{
	struct dmirror_entry *e = dmirror_entry(d, addr & PAGE_MASK);
	bool hit;

	mutex_lock(&d->update);
	hit = e->valid && (!write || e->writable);
	if (hit) {
		struct page *page = pfn_to_page(d->host, e->pfn);

		if (write)
			page_write_u64(page, addr & ~PAGE_MASK, *val);
		else
			*val = page_read_u64(page, addr & ~PAGE_MASK);
	}
	mutex_unlock(&d->update);
	if (hit)
		atomic_long_inc(&d->stat[write ? ST_WRITES : ST_READS]);
	return hit;
}

/*
 * A command over [addr, addr + npages pages): each page accessed through
 * the table; the first miss faults the rest of the range in, once, and
 * the command goes on (lib/test_hmm.c's dmirror_read()/dmirror_write()).
 */
static int dmirror_cmd_access(struct dmirror *d, struct dmirror_cmd *cmd,
			      bool write)
{
	u64 *buf = cmd->ptr;

	if (!d || !cmd || !buf || !dmirror_range_ok(d, cmd->addr, cmd->npages))
		return -EINVAL;
	cmd->cpages = 0;
	cmd->faults = 0;
	for (unsigned long i = 0; i < cmd->npages;) {
		unsigned long a = cmd->addr + (i << PAGE_SHIFT);
		int ret;

		if (checker_stopped(d->host))
			return -EIO;
		atomic_long_inc(&d->stat[ST_ACCESSES]);
		if (dmirror_do_access(d, a, &buf[i], write)) {
			cmd->cpages = ++i;
			continue;
		}
		ret = dmirror_fault(d, a, cmd->addr + (cmd->npages << PAGE_SHIFT),
				    write);
		cmd->faults++;
		if (ret)
			return ret;
	}
	return 0;
}

int dmirror_cmd_read(struct dmirror *d, struct dmirror_cmd *cmd)
{
	return dmirror_cmd_access(d, cmd, false);
}

int dmirror_cmd_write(struct dmirror *d, struct dmirror_cmd *cmd)
{
	return dmirror_cmd_access(d, cmd, true);
}

int dmirror_cmd_fault(struct dmirror *d, struct dmirror_cmd *cmd, bool write)
{
	unsigned long end;
	int ret;

	if (!d || !cmd || !dmirror_range_ok(d, cmd->addr, cmd->npages) ||
	    (cmd->addr & ~PAGE_MASK))
		return -EINVAL;
	end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	cmd->cpages = 0;
	cmd->faults = 1;
	ret = dmirror_fault(d, cmd->addr, end, write);
	if (!ret)
		cmd->cpages = cmd->npages;
	return ret;
}

static int dmirror_access(struct dmirror *d, unsigned long addr, u64 *val,
			  bool write)
{
	if (!d || !val || (addr & 7) || !dmirror_range_ok(d, addr, 1))
		return -EINVAL;
	atomic_long_inc(&d->stat[ST_ACCESSES]);
	for (;;) {
		int r;

		if (checker_stopped(d->host))
			return -EIO;
		if (dmirror_do_access(d, addr, val, write))
			return 0;
		r = dmirror_fault(d, addr & PAGE_MASK,
				  (addr & PAGE_MASK) + PAGE_SIZE, write);
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

/*
 * A snapshot entry as the device reports it (test_hmm's dmirror_mkentry()):
 * whose memory the page is in, its permission and the map order.
 */
static u8 dmirror_mkentry(struct dmirror *d, unsigned long hmm_pfn)
{
	unsigned long pfn = hmm_pfn_to_pfn(hmm_pfn);
	struct page *page;
	u8 prot = 0;

	if (hmm_pfn & HMM_PFN_ERROR)
		return DMIRROR_PROT_ERROR;
	if (!(hmm_pfn & HMM_PFN_VALID))
		return DMIRROR_PROT_NONE;
	page = pfn_to_page(d->host, pfn);
	if (is_device_private_page(page))
		prot = page_pgmap(page)->owner == d->mdevice
			       ? DMIRROR_PROT_DEV_PRIVATE_LOCAL
			       : DMIRROR_PROT_DEV_PRIVATE_REMOTE;
	else if (is_zero_pfn(pfn))
		prot = DMIRROR_PROT_ZERO;
	prot |= (hmm_pfn & HMM_PFN_WRITE) ? DMIRROR_PROT_WRITE
					  : DMIRROR_PROT_READ;
	if (hmm_pfn_to_map_order(hmm_pfn) + PAGE_SHIFT == PMD_SHIFT)
		prot |= DMIRROR_PROT_PMD;
	else if (hmm_pfn_to_map_order(hmm_pfn) + PAGE_SHIFT == PUD_SHIFT)
		prot |= DMIRROR_PROT_PUD;
	return prot;
}

/*
 * A snapshot is valid only if no invalidation overtook it: the same
 * begin/walk/retry loop as a fault, with nothing requested and nothing
 * installed.
 */
static int dmirror_range_snapshot(struct dmirror *d, struct hmm_range *range,
				  u8 *perm)
{
	for (int tries = 0; tries < DMIRROR_FAULT_TRIES; tries++) {
		unsigned long n = (range->end - range->start) >> PAGE_SHIFT;
		int ret;

		range->notifier_seq = mmu_interval_read_begin(range->notifier);
		mmap_read_lock(d->mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(d->mm);
		if (ret == -EBUSY)
			continue;
		if (ret)
			return ret;
		mutex_lock(&d->update);
		if (mmu_interval_read_retry(range->notifier,
					    range->notifier_seq)) {
			mutex_unlock(&d->update);
			continue;
		}
		for (unsigned long i = 0; i < n; i++)
			perm[i] = dmirror_mkentry(d, range->hmm_pfns[i]);
		mutex_unlock(&d->update);
		return 0;
	}
	return -EBUSY;
}

int dmirror_cmd_snapshot(struct dmirror *d, struct dmirror_cmd *cmd)
{
	unsigned long pfns[DMIRROR_RANGE_PAGES];
	struct hmm_range range = { .hmm_pfns = pfns };
	unsigned long end;
	u8 *perm;
	int ret = 0;

	if (!d || !cmd || !cmd->ptr ||
	    !dmirror_range_ok(d, cmd->addr, cmd->npages))
		return -EINVAL;
	range.notifier = &d->notifier;
	range.dev_private_owner = d->mdevice;
	perm = cmd->ptr;
	end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	cmd->cpages = 0;
	if (!mmget_not_zero(d->mm))
		return -EFAULT;
	for (unsigned long a = cmd->addr; a < end && !ret; a = range.end) {
		range.start = a;
		range.end = dmirror_chunk_end(a, end);
		ret = dmirror_range_snapshot(d, &range,
					     perm + ((a - cmd->addr) >> PAGE_SHIFT));
		if (!ret)
			cmd->cpages += (range.end - a) >> PAGE_SHIFT;
	}
	mmput(d->mm);
	return ret;
}

unsigned long dmirror_valid_entries(struct dmirror *d)
{
	unsigned long n = 0;

	mutex_lock(&d->update);
	for (unsigned long i = 0; i < d->npages; i++)
		n += d->table[i].valid;
	mutex_unlock(&d->update);
	return n;
}

/* The counters, each read with @rd. */
static void copy_stat(struct dmirror *d, struct dmirror_stat *out,
		      long (*rd)(const atomic_long_t *v))
{
	out->accesses = rd(&d->stat[ST_ACCESSES]);
	out->reads = rd(&d->stat[ST_READS]);
	out->writes = rd(&d->stat[ST_WRITES]);
	out->faults = rd(&d->stat[ST_FAULTS]);
	out->retries = rd(&d->stat[ST_RETRIES]);
	out->invalidations = rd(&d->stat[ST_INVALIDATIONS]);
	out->zapped = rd(&d->stat[ST_ZAPPED]);
	out->incoherent = rd(&d->stat[ST_INCOHERENT]);
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		out->by_event[e] = rd(&d->by_event[e]);
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
