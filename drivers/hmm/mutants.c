// SPDX-License-Identifier: MIT
/*
 * The device mirror's protocol mutants (<mmulab/mutant.h>): each function
 * is the broken variant of the one its name begins with, which selects it
 * in the first line of its body.  Broken on purpose, so that the tests and
 * `mmulab check --mutant` show the checker catching each one.  The
 * mirror's other two mutants are returns: MUTANT_HMM_NO_RETRY_CHECK in
 * dmirror_collided(), MUTANT_MIGRATE_NO_OWNER_CHECK in
 * dmirror_skip_migration().
 */
#include <mmulab/mutant.h>
#include "dmirror_internal.h"

/*
 * MUTANT_INTERVAL_NO_SEQ_BUMP: the invalidation drops the entries but does
 * not record its sequence, so a fault that sampled before it installs
 * what it walked.
 */
bool dmirror_invalidate_mutant_no_seq_bump(
	struct dmirror *d, const struct mmu_notifier_range *range)
{
	if (dmirror_skip_migration(dmirror_device_of(d), range))
		return true;
	if (!dmirror_lock_update(d, range))
		return false;
	dmirror_zap_range(d, range);
	dmirror_unlock_update(d);
	return true;
}
