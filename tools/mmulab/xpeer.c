// SPDX-License-Identifier: MIT
/*
 * mmulab xpmem-peer: an XPMEM importer in a process of its own.  It maps
 * the exporter's frames (a memfd it receives over the socket) and reaches
 * them only through PFNs the exporter grants; the exporter keeps every
 * page table and notifier (docs/xpmem.md).  A run starts peers with the
 * xpmem statement's peers= (xpeer_spawn()).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "mmulab.h"
#include "xpeer.h"

#define PEER_FD 3 /* where a spawned peer finds its socket */

static const char usage[] =
	"usage: mmulab xpmem-peer --fd N [OPTIONS]\n\n"
	"Be an XPMEM importer process on the connected SOCK_SEQPACKET socket\n"
	"N: map the exporter's frames, make the accesses, answer every\n"
	"invalidation after dropping the range, exit when detached.\n\n"
	"  --fd N          the socket (required)\n"
	"  --accesses N    loads and stores to make (default 1000)\n"
	"  --seed N        the pages, offsets and kinds of access (default 1)\n"
	"  --writes PCT    percentage of stores (default 30)\n"
	"  --ack-delay MS  sleep before each acknowledgement (default 0)\n"
	"  -q, --quiet     print nothing\n"
	"  -h, --help      show this help and exit\n\n"
	"Exit status: 0 once the exporter detached it, 1 if the exporter went\n"
	"away first, broke the protocol or a load returned another page's\n"
	"value, 2 bad usage.\n";

static const struct option peer_options[] = {
	{ "fd", required_argument, NULL, 'f' },
	{ "accesses", required_argument, NULL, 'a' },
	{ "seed", required_argument, NULL, 's' },
	{ "writes", required_argument, NULL, 'w' },
	{ "ack-delay", required_argument, NULL, 'd' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option's value into @o; 0 or EXIT_USAGE. */
static int peer_opt(int c, const char *arg, struct xpmem_peer_opts *o,
		    u64 *fd)
{
	const char *cmd = "xpmem-peer";
	u64 v = 0;
	int r;

	switch (c) {
	case 'f':
		return cli_parse_u64(cmd, "--fd", arg, 0, 1 << 20, fd);
	case 'a':
		r = cli_parse_u64(cmd, "--accesses", arg, 0, 1UL << 40, &v);
		o->accesses = v;
		return r;
	case 's':
		r = cli_parse_u64(cmd, "--seed", arg, 0, UINT32_MAX, &v);
		o->seed = (unsigned int)v;
		return r;
	case 'w':
		r = cli_parse_u64(cmd, "--writes", arg, 0, 100, &v);
		o->write_pct = (unsigned int)v;
		return r;
	default: /* 'd' */
		r = cli_parse_u64(cmd, "--ack-delay", arg, 0, 3600000, &v);
		o->ack_delay_ms = (unsigned int)v;
		return r;
	}
}

int cmd_xpmem_peer(int argc, char **argv)
{
	struct xpmem_peer_opts o = { .accesses = 1000, .seed = 1,
				     .write_pct = 30 };
	struct xpmem_peer_result res;
	u64 fd = ~0ULL;
	bool quiet = false;
	int c, r;

	optind = 1;
	while ((c = cli_getopt("xpmem-peer", argc, argv, "qh", peer_options)) !=
	       -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'h') {
			printf("%s", usage);
			return EXIT_OK;
		}
		if (c == 'q')
			quiet = true;
		else if (peer_opt(c, optarg, &o, &fd))
			return EXIT_USAGE;
	}
	if (optind < argc)
		return cli_error("xpmem-peer", "unexpected argument '%s'",
				 argv[optind]);
	if (fd == ~0ULL)
		return cli_error("xpmem-peer", "--fd is required");
	r = xpmem_peer_run((int)fd, &o, &res);
	if (r)
		fprintf(stderr, "mmulab xpmem-peer: %s\n",
			r == -EPIPE ? "the exporter went away" :
			r == -EPROTO ? "malformed message" :
			r == -EILSEQ ? "a load returned another page's value" :
				       strerror(-r));
	if (!quiet)
		printf("xpmem-peer: %lu loads (%lu bad), %lu stores, %lu "
		       "faults (%lu refused), %lu invalidations, %lu "
		       "dropped\n",
		       res.loads, res.bad_loads, res.stores, res.faults,
		       res.refused, res.invalidations, res.dropped);
	return r ? EXIT_FAILED : EXIT_OK;
}

/* The child: the socket at PEER_FD, then `mmulab xpmem-peer`. */
static void __attribute__((noreturn))
xpeer_exec(int sock, const struct xpmem_peer_opts *o)
{
	char acc[24], seed[16], wr[8], delay[16];
	char *argv[] = { "mmulab",   "xpmem-peer", "-q",	 "--fd",
			 "3",	     "--accesses", acc,	 "--seed",
			 seed,	     "--writes",   wr,	 "--ack-delay",
			 delay,	     NULL };

	snprintf(acc, sizeof(acc), "%lu", o->accesses);
	snprintf(seed, sizeof(seed), "%u", o->seed);
	snprintf(wr, sizeof(wr), "%u", o->write_pct);
	snprintf(delay, sizeof(delay), "%u", o->ack_delay_ms);
	if (sock == PEER_FD ? fcntl(sock, F_SETFD, 0) == 0 :
			      dup2(sock, PEER_FD) == PEER_FD)
		execv("/proc/self/exe", argv);
	_exit(127);
}

struct xpmem_attachment *xpeer_spawn(struct xpmem_segment *seg,
				     const struct xpmem_peer_opts *o,
				     unsigned int timeout_ms, int *pid)
{
	int sv[2];
	pid_t child;

	*pid = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return ERR_PTR(-errno);
	fflush(NULL); /* nothing buffered is written twice */
	child = fork();
	if (child < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return ERR_PTR(err);
	}
	if (!child)
		xpeer_exec(sv[1], o); /* dup2() clears CLOEXEC on the copy */
	close(sv[1]);
	*pid = child;
	return xpmem_attach_remote(seg, sv[0], child, timeout_ms);
}
