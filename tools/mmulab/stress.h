/* SPDX-License-Identifier: MIT */
/* mmulab stress: real threads, periodic invariant sweeps. */
#ifndef MMULAB_TOOLS_STRESS_H
#define MMULAB_TOOLS_STRESS_H

int cmd_stress(int argc, char **argv);

#endif /* MMULAB_TOOLS_STRESS_H */
