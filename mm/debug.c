// SPDX-License-Identifier: MIT
/*
 * Checked API mode: misuse of the public API is recognised and reported,
 * never turned into a crash, a hang or a use-after-free.
 *
 * Always, in every build, each public entry point checks the objects it
 * is handed before it touches anything: NULL, an mm whose address space
 * is gone (its last mmput() ran and only mmgrab() keeps the struct) where
 * the call needs the address space, an interval notifier inserted twice
 * or removed twice, mmu_notifier_put() without mmu_notifier_get(), a host
 * destroyed with address spaces alive.  Each is a WARN that names the
 * entry point, its caller (symbol+offset, or object file+offset for a
 * static function: addr2line turns it into a line) and what is wrong, and
 * the entry point returns -EINVAL (-EBUSY for the host) having changed
 * nothing.
 *
 * Checked mode (CONFIG_DEBUG_API; meson option debug_api, on by default
 * in every build type with debug info, as CONFIG_DEBUG_VM is in debug
 * kernels) adds what costs memory or time:
 *
 *  - Freed objects.  A dangling pointer cannot be recognised by reading
 *    freed memory, so host_destroy() and the last mmdrop() poison the
 *    object's magic and hand it to a quarantine that frees it only after
 *    API_QUARANTINE later frees.  Until then the memory stays readable and
 *    its magic says "freed": a use is a WARN and -EINVAL, ASan sees no
 *    bad access.  Past the quarantine it is an ordinary use-after-free,
 *    for ASan, as with KASAN's quarantine.
 *  - Teardown.  host_destroy() looks at each mm still alive: one kept
 *    only by interval notifiers left inserted after its last user left
 *    is reported, notifier by notifier, and they are detached, so the mm
 *    and the host are freed, not leaked; a later remove of such a
 *    notifier is a WARN, not a use-after-free.  Any other live mm (a
 *    subscription never unregistered, an mmgrab() never dropped) makes
 *    host_destroy() fail with -EBUSY after a report of its references.
 *
 * No check is a scheduling point, so a seed replays the same run with and
 * without checked mode.  Self-deadlocks (taking the mmap_lock one holds,
 * unregistering from one's own callback) are the lock layer's to report.
 */
#include <stdlib.h>

#include "internal.h"

#define API_QUARANTINE 1024

bool __mm_api_ok(const struct mm_struct *mm, enum mm_api_need need,
		 const char *func, const void *caller)
{
	if (!mm) {
		__api_warn(func, caller, "NULL mm");
		return false;
	}
	if (debug_api_enabled &&
	    __atomic_load_n(&mm->magic, __ATOMIC_RELAXED) != MM_MAGIC) {
		__api_warn(func, caller,
			   "mm %p is not a live mm_struct (freed by its last mmdrop()?)",
			   (const void *)mm);
		return false;
	}
	/* A plain load: an observation, not a scheduling point. */
	if (need == MM_USERS &&
	    __atomic_load_n(&mm->mm_users.counter, __ATOMIC_RELAXED) <= 0) {
		__api_warn(func, caller,
			   "mm %p has no users: used after its last mmput()",
			   (const void *)mm);
		return false;
	}
	return true;
}

bool __host_api_ok(const struct host *host, const char *func,
		   const void *caller)
{
	if (!host) {
		__api_warn(func, caller, "NULL host");
		return false;
	}
	if (debug_api_enabled &&
	    __atomic_load_n(&host->magic, __ATOMIC_RELAXED) != HOST_MAGIC) {
		__api_warn(func, caller,
			   "host %p is not a live host (destroyed already?)",
			   (const void *)host);
		return false;
	}
	return true;
}

/*
 * The quarantine: a ring of the last API_QUARANTINE objects freed.  Each
 * free takes the next slot and frees what the slot held.  Lock-free: the
 * exchange hands every object to exactly one later free, and orders the
 * poisoning before the real free.  The ring is reachable, so LeakSanitizer
 * does not count what it holds at exit.
 */
static void *quarantine[API_QUARANTINE];
static unsigned long quarantine_next;

void api_free(void *obj)
{
	if (debug_api_enabled) {
		unsigned long slot = __atomic_fetch_add(&quarantine_next, 1,
							__ATOMIC_RELAXED);

		obj = __atomic_exchange_n(&quarantine[slot % API_QUARANTINE],
					  obj, __ATOMIC_ACQ_REL);
	}
	free(obj);
}

/* First mm of @host that only leftover subscriptions keep alive. */
static struct mm_struct *host_find_leftover(struct host *host)
{
	struct mm_struct *mm, *found = NULL;

	spin_lock(&host->mmlist_lock);
	list_for_each_entry(mm, &host->mmlist, mmlist) {
		int held = mmu_notifier_leftovers(mm, false);

		if (held && atomic_read(&mm->mm_users) == 0 &&
		    atomic_read(&mm->mm_count) == held) {
			found = mm;
			break;
		}
	}
	spin_unlock(&host->mmlist_lock);
	return found;
}

bool host_teardown_audit(struct host *host, const void *caller)
{
	struct mm_struct *mm;
	bool busy = false;

	while (debug_api_enabled && (mm = host_find_leftover(host))) {
		int held = mmu_notifier_leftovers(mm, true);

		__api_warn("host_destroy", caller,
			   "mm %p exited with %d interval notifier(s) still inserted; detached",
			   (void *)mm, held);
		while (held--)
			mmdrop(mm);
	}
	spin_lock(&host->mmlist_lock);
	list_for_each_entry(mm, &host->mmlist, mmlist) {
		__api_warn("host_destroy", caller,
			   "mm %p is alive: %d users, %d references",
			   (void *)mm, atomic_read(&mm->mm_users),
			   atomic_read(&mm->mm_count));
		busy = true;
	}
	spin_unlock(&host->mmlist_lock);
	return busy;
}
