// SPDX-License-Identifier: MIT
/*
 * SIGINT: a flag the long loops poll (interrupt.h).
 */
#include <signal.h>
#include <string.h>

#include "interrupt.h"

static int sigint_seen;

static void on_sigint(int sig)
{
	(void)sig;
	__atomic_store_n(&sigint_seen, 1, __ATOMIC_RELAXED);
}

void interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	/* The second ^C takes the default action: a way out of anything. */
	sa.sa_flags = SA_RESETHAND | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

bool interrupted(void)
{
	return __atomic_load_n(&sigint_seen, __ATOMIC_RELAXED);
}
