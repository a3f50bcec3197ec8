// SPDX-License-Identifier: MIT
/*
 * The protocol mutants' registry (<mmulab/mutant.h>): their names and the
 * one that is active.
 */
#include <errno.h>
#include <string.h>
#include <mmulab/mutant.h>

static const char *const mutant_names[NR_MUTANTS] = {
	[MUTANT_NONE] = "none",
	[MUTANT_SKIP_SEQ_CHECK] = "skip-seq-check",
	[MUTANT_SKIP_IN_PROGRESS_CHECK] = "skip-in-progress-check",
	[MUTANT_RANGE_OFF_BY_ONE] = "range-off-by-one",
	[MUTANT_SEQ_AFTER_COUNT] = "seq-after-count",
	[MUTANT_SKIP_TLB_FLUSH] = "skip-tlb-flush",
	[MUTANT_FREE_BEFORE_START] = "free-before-start",
	[MUTANT_CHANGE_PTE_UNBOOKENDED] = "change-pte-unbookended",
	[MUTANT_REGISTER_NO_EXCLUSION] = "register-no-exclusion",
	[MUTANT_INTERVAL_NO_SEQ_BUMP] = "interval-no-seq-bump",
	[MUTANT_KEEP_GUP_REF] = "keep-gup-ref",
	[MUTANT_FLUSH_AT_END] = "flush-at-end",
	[MUTANT_PRIMARY_NO_NOTIFIER] = "primary-no-notifier",
	[MUTANT_END_BEFORE_ZAP] = "end-before-zap",
	[MUTANT_FLUSH_NO_WAIT] = "flush-no-wait",
	[MUTANT_RELEASE_LEAVES_MAPPINGS] = "release-leaves-mappings",
	[MUTANT_SLEEP_IN_NONBLOCK] = "sleep-in-nonblock",
	[MUTANT_LOCK_INVERSION] = "lock-inversion",
	[MUTANT_GRU_FILL_NO_RECHECK] = "gru-fill-no-recheck",
	[MUTANT_XPMEM_END_ONLY] = "xpmem-end-only",
	[MUTANT_XPMEM_ACK_BEFORE_DROP] = "xpmem-ack-before-drop",
	[MUTANT_PUNCH_FREE_BEFORE_START] = "punch-free-before-start",
	[MUTANT_THP_SPLIT_NO_NOTIFY] = "thp-split-no-notify",
	[MUTANT_HMM_NO_RETRY_CHECK] = "hmm-no-retry-check",
	[MUTANT_MIGRATE_NO_OWNER_CHECK] = "migrate-no-owner-check",
	[MUTANT_GUP_FAST_NO_RECHECK] = "gup-fast-no-recheck",
	[MUTANT_RELEASE_NO_DEAD_MARK] = "release-no-dead-mark",
	[MUTANT_ZAP_NO_TLB_FLUSH] = "zap-no-tlb-flush",
};

int mmulab_mutant;

const char *mutant_name(enum mutant m)
{
	return (unsigned int)m < NR_MUTANTS ? mutant_names[m] : NULL;
}

int mutant_lookup(const char *name)
{
	for (int i = 0; name && i < NR_MUTANTS; i++) {
		if (!strcmp(name, mutant_names[i]))
			return i;
	}
	return -EINVAL;
}

void mutant_set(enum mutant m)
{
	if ((unsigned int)m < NR_MUTANTS)
		__WRITE_ONCE(mmulab_mutant, m);
}
