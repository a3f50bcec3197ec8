/* SPDX-License-Identifier: MIT */
/* mmulab bench: cost of the secondary MMU's hot paths. */
#ifndef MMULAB_TOOLS_BENCH_H
#define MMULAB_TOOLS_BENCH_H

int cmd_bench(int argc, char **argv);

#endif /* MMULAB_TOOLS_BENCH_H */
