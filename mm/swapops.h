/* SPDX-License-Identifier: MIT */
/*
 * Non-present page-table entries that still mean something: swap entries
 * (the page's contents are in a swap slot) and migration entries (the page
 * is being moved; faults wait for the move to finish).
 *
 * Encoding, in a leaf entry with _PAGE_PRESENT and _PAGE_PROTNONE clear:
 *   bits 1-5   type (SWP_TYPE_SWAP or a migration type)
 *   bit 10     _PAGE_SWP_EXCLUSIVE: the page was exclusive to this mapping
 *   bits 12-51 offset (the swap slot, or the frame being migrated)
 * Offset 0 is never used (swap slot 0 is reserved, frame 0 is the zero
 * page, which never migrates), so no entry encodes as pte_none().
 */
#ifndef MMULAB_MM_SWAPOPS_H
#define MMULAB_MM_SWAPOPS_H

#include "pgtable.h"

/** typedef swp_entry_t - a decoded non-present entry. */
typedef struct {
	unsigned long val;
} swp_entry_t;

enum swp_type {
	SWP_TYPE_SWAP = 1,
	SWP_MIGRATION_READ = 2,  /* the page was mapped read-only */
	SWP_MIGRATION_WRITE = 3, /* the page was mapped writable */
	SWP_MIGRATION_READ_EXCLUSIVE = 4, /* read-only, anon-exclusive */
	SWP_DEVICE_READ = 5,	/* device-private page, mapped read-only */
	SWP_DEVICE_WRITE = 6,	/* device-private page, mapped writable */
	SWP_DEVICE_EXCLUSIVE_READ = 7,	/* page held exclusively by a device */
	SWP_DEVICE_EXCLUSIVE_WRITE = 8,
};

#define SWP_TYPE_SHIFT 1
#define SWP_TYPE_MASK (0x1fULL << SWP_TYPE_SHIFT)

static inline swp_entry_t swp_entry(enum swp_type type, unsigned long offset)
{
	return (swp_entry_t){ (offset << 5) | type };
}

static inline enum swp_type swp_type(swp_entry_t e)
{
	return (enum swp_type)(e.val & 0x1f);
}

static inline unsigned long swp_offset(swp_entry_t e)
{
	return e.val >> 5;
}

/** is_swap_pte() - a non-present entry that is not PROT_NONE. */
static inline bool is_swap_pte(pte_t pte)
{
	return !pte_none(pte) && !pte_present(pte) && !pte_protnone(pte);
}

static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	return swp_entry((enum swp_type)((pte.pte & SWP_TYPE_MASK) >>
					 SWP_TYPE_SHIFT),
			 (pte.pte & PTE_PFN_MASK) >> PAGE_SHIFT);
}

static inline pte_t swp_entry_to_pte(swp_entry_t e)
{
	return __pte(((u64)swp_type(e) << SWP_TYPE_SHIFT) |
		     ((u64)swp_offset(e) << PAGE_SHIFT));
}

/*
 * An anonymous page that was exclusive to its mapping when it was
 * unmapped (PG_anon_exclusive) leaves the mark in the entry, so the fault
 * that maps it back knows it may map it writable without a COW.
 */
#define _PAGE_SWP_EXCLUSIVE (1ULL << 10)

static inline pte_t pte_swp_mkexclusive(pte_t pte)
{
	return __pte(pte.pte | _PAGE_SWP_EXCLUSIVE);
}

static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return __pte(pte.pte & ~_PAGE_SWP_EXCLUSIVE);
}

static inline bool pte_swp_exclusive(pte_t pte)
{
	return pte.pte & _PAGE_SWP_EXCLUSIVE;
}

static inline bool is_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_READ ||
	       swp_type(e) == SWP_MIGRATION_WRITE ||
	       swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}

static inline bool is_writable_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_WRITE;
}

/*
 * Was the page exclusive to this mapping when it was unmapped?  A writable
 * anonymous PTE implies it; a read-only one says so in its entry type.
 */
static inline bool is_exclusive_migration_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_MIGRATION_WRITE ||
	       swp_type(e) == SWP_MIGRATION_READ_EXCLUSIVE;
}

static inline bool is_swap_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_TYPE_SWAP;
}

static inline swp_entry_t make_migration_entry(unsigned long pfn, bool write)
{
	return swp_entry(write ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ, pfn);
}

static inline swp_entry_t make_readable_exclusive_migration_entry(
	unsigned long pfn)
{
	return swp_entry(SWP_MIGRATION_READ_EXCLUSIVE, pfn);
}

/** is_migration_pte() - is @pte a migration entry? */
static inline bool is_migration_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_migration_entry(pte_to_swp_entry(pte));
}

/*
 * Device-private entries: the page lives in a device's own memory
 * (mm/memremap.c), which the CPU cannot map; a CPU fault on the entry asks
 * the device to migrate it back (dev_pagemap_ops.migrate_to_ram).  The
 * entry holds a reference and a map count on the device page, as a PTE
 * would.  Offset: the device page's frame.
 */
static inline swp_entry_t make_device_private_entry(unsigned long pfn,
						    bool write)
{
	return swp_entry(write ? SWP_DEVICE_WRITE : SWP_DEVICE_READ, pfn);
}

static inline bool is_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_READ || swp_type(e) == SWP_DEVICE_WRITE;
}

static inline bool is_writable_device_private_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_WRITE;
}

/*
 * Device-exclusive entries (make_device_exclusive_range()): an ordinary
 * page that a device holds for atomic access.  The entry keeps the
 * reference of the PTE it replaced but not its map count, as Linux 6.12;
 * a CPU access restores the PTE (remove_device_exclusive_entry()).
 */
static inline swp_entry_t make_device_exclusive_entry(unsigned long pfn,
						      bool write)
{
	return swp_entry(write ? SWP_DEVICE_EXCLUSIVE_WRITE
			       : SWP_DEVICE_EXCLUSIVE_READ,
			 pfn);
}

static inline bool is_device_exclusive_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_EXCLUSIVE_READ ||
	       swp_type(e) == SWP_DEVICE_EXCLUSIVE_WRITE;
}

static inline bool is_writable_device_exclusive_entry(swp_entry_t e)
{
	return swp_type(e) == SWP_DEVICE_EXCLUSIVE_WRITE;
}

/** is_device_private_pte() - is @pte a device-private entry? */
static inline bool is_device_private_pte(pte_t pte)
{
	return is_swap_pte(pte) && is_device_private_entry(pte_to_swp_entry(pte));
}

/** is_device_exclusive_pte() - is @pte a device-exclusive entry? */
static inline bool is_device_exclusive_pte(pte_t pte)
{
	return is_swap_pte(pte) &&
	       is_device_exclusive_entry(pte_to_swp_entry(pte));
}

/* Zap and fork of device entries (mm/migrate_device.c). */
void zap_device_entry(struct mm_struct *mm, swp_entry_t entry);
void copy_device_private_pte(struct mm_struct *mm, pte_t *dst, pte_t *src,
			     pte_t v, bool is_cow);

#endif /* MMULAB_MM_SWAPOPS_H */
