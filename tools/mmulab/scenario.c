// SPDX-License-Identifier: MIT
/*
 * The table of built-in scenarios and the harness that runs a scenario,
 * built-in or from a file, under the deterministic scheduler when a seed
 * is given.
 */
#include <string.h>
#include <time.h>

#include "interrupt.h"
#include "mmulab.h"
#include "sample.h"

const struct scenario scenarios[] = {
	{
		.name = "default",
		.summary = "tour of the primary MMU (mmap, fork/COW, mprotect, "
			   "madvise, mremap, GUP, munmap, exit) watched by a "
			   "counting notifier, an HMM-style mirror and a VM; "
			   "then a guest twice its host's RAM under reclaim, "
			   "swap and KSM",
		.text = scn_default,
	},
	{
		.name = "fault-race",
		.summary = "four vCPUs fault guest RAM in while the host "
			   "unmaps, write-protects, zaps and forks it; "
			   "retries by reason, stale SPTEs at quiescent points",
		.text = scn_fault_race,
	},
	{
		.name = "gru-tlb",
		.summary = "two GRU-style TLB-only contexts load and store "
			   "while the host unmaps, write-protects, zaps, forks, "
			   "migrates and KSM-scans their pages; then it exits",
		.text = scn_gru_tlb,
	},
	{
		.name = "xpmem-attach",
		.summary = "two processes attach a third's exported region and "
			   "load and store it while the exporter unmaps, "
			   "write-protects, zaps, forks and migrates it; each "
			   "invalidation waits for every importer's ack",
		.text = scn_xpmem_attach,
	},
	{
		.name = "thp-guest",
		.summary = "a guest on transparent huge pages mapped by 2 MiB "
			   "SPTEs while the host splits them (munmap, "
			   "mprotect, MADV_DONTNEED, fork, migration)",
		.text = scn_thp_guest,
	},
	{
		.name = "memfd-guest",
		.summary = "guest RAM on a memfd: a private view copies from "
			   "its page cache; holes punched, MADV_REMOVE and "
			   "ftruncate under running vCPUs read back zeros; "
			   "vCPUs fault it while the host churns it",
		.text = scn_memfd_guest,
	},
	{
		.name = "device-memory",
		.summary = "a device mirror migrates memory into device memory "
			   "and back (CPU faults, on request), through fork, "
			   "exclusive access, mprotect and munmap",
		.text = scn_device_memory,
	},
	{
		.name = "ksm-change-pte",
		.summary = "KSM merges a guest's RAM under each change_pte era "
			   "(none, bookended, direct): change_pte calls, SPTE "
			   "hits, faults after merging, time",
		.text = scn_ksm_change_pte,
	},
	{
		.name = "swap-guest",
		.summary = "a guest twice its host's RAM, with notifiers and "
			   "pinned (the pre-2008 baseline): pages swapped, "
			   "pages that could not be",
		.text = scn_swap_guest,
	},
};

const unsigned int nr_scenarios = MMULAB_ARRAY_SIZE(scenarios);

const struct scenario *scenario_find(const char *name)
{
	for (unsigned int i = 0; i < nr_scenarios; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

int scenario_run(const char *name, void (*fn)(struct report *r, void *arg),
		 void *arg, const struct run_opts *opts, struct report *r)
{
	struct det_config cfg = {
		.seed = opts->seed,
		.strategy = DET_STRATEGY_RANDOM,
	};
	unsigned long warnings = warn_count();
	struct timespec t0, t1;
	int ret;

	report_init(r, name);
	interrupt_install();
	trace_begin(&opts->trace, opts->seeded);
	ret = sample_begin(opts->seeded);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (opts->seeded) {
		ret = det_begin(&cfg);
		if (ret) {
			sample_end();
			return ret;
		}
		r->seeded = true;
		r->seed = opts->seed;
		det_log("scenario %s seed %llu", name,
			(unsigned long long)opts->seed);
	}
	fn(r, arg);
	if (opts->seeded) {
		ret = det_end(&r->det);
		sample_end();
		if (ret)
			return ret;
	} else {
		sample_end();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r->elapsed_us = (t1.tv_sec - t0.tv_sec) * 1000000UL +
				(t1.tv_nsec - t0.tv_nsec) / 1000;
	}
	r->warnings = warn_count() - warnings;
	r->interrupted = interrupted();
	return 0;
}
