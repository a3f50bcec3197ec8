/* SPDX-License-Identifier: MIT */
/*
 * Pinning a measuring thread to a CPU, for mmulab bench and fault-pair
 * (docs/bench.md, "Two vCPUs on two idle cores").
 */
#ifndef MMULAB_TOOLS_PIN_CPU_H
#define MMULAB_TOOLS_PIN_CPU_H

#include <sched.h>

/*
 * Run the calling thread on the @n-th CPU the process may use (modulo
 * their count), as a VMM pins its vCPU threads.  A new thread starts on
 * its creator's CPU, and the OS may take longer to move it to an idle one
 * than the few milliseconds a measured run takes: unpinned, two vCPU
 * threads often ran one after the other, which measured the OS's
 * placement, not the fault path.  Nothing is pinned on a machine with one
 * CPU.
 */
static inline void pin_to_cpu(unsigned int n)
{
	cpu_set_t allowed, one;
	unsigned int seen = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    CPU_COUNT(&allowed) < 2)
		return;
	n %= (unsigned int)CPU_COUNT(&allowed);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed) || seen++ != n)
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

#endif /* MMULAB_TOOLS_PIN_CPU_H */
