/* SPDX-License-Identifier: MIT */
/* mmulab bench: cost of the secondary MMU's hot paths, beside baselines. */
#ifndef MMULAB_TOOLS_BENCH_H
#define MMULAB_TOOLS_BENCH_H

#include <stdbool.h>

int cmd_bench(int argc, char **argv);

/*
 * One repetition of one figure: its value and its baseline's, taken one
 * right after the other (ns per unit, or a throughput).
 */
struct bench_sample {
	double value, base;
};

struct bench_env;

/* bench_run.c: a host, a VM with two vCPUs, @npages guest pages. */
struct bench_env *bench_env_create(unsigned long npages);
void bench_env_destroy(struct bench_env *e);
/* Each returns 0, or -EFAULT when an access or a zap failed. */
int bench_tlb(struct bench_env *e, unsigned long rounds, bool fig_first,
	      struct bench_sample *batched, struct bench_sample *single);
int bench_fault(struct bench_env *e, bool fig_first, struct bench_sample *s);
int bench_zap(struct bench_env *e, unsigned int rep,
	      struct bench_sample *no_sptes, struct bench_sample *no_vm);
int bench_parallel(struct bench_env *e, unsigned int rep,
		   struct bench_sample *s);

#endif /* MMULAB_TOOLS_BENCH_H */
