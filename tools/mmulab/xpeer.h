/* SPDX-License-Identifier: MIT */
/*
 * XPMEM importer processes: `mmulab xpmem-peer`, and how a run starts one
 * (the xpmem statement's peers=).
 */
#ifndef MMULAB_TOOLS_XPEER_H
#define MMULAB_TOOLS_XPEER_H

#include <mmulab/xpmem.h>

/**
 * cmd_xpmem_peer() - `mmulab xpmem-peer --fd N [OPTIONS]`: be the
 * importer process on the socket N (xpmem_peer_run()).
 * @argc: arguments from the command's name on.
 * @argv: them.
 * Return: the exit status: 0 once the exporter detached it, 1 if the
 * exporter went away or spoke nonsense, 2 for bad usage.
 */
int cmd_xpmem_peer(int argc, char **argv);

/**
 * xpeer_spawn() - start `mmulab xpmem-peer` as a child process on one end
 * of a socket pair and attach it to @seg (xpmem_attach_remote()).
 * @seg: the segment.
 * @o: what the peer does.
 * @timeout_ms: the attachment's timeout.
 * @pid: out: the child, for waitpid() after the segment is removed; 0
 *	if none was started.
 * Return: the attachment, or an ERR_PTR: xpmem_attach_remote()'s, or
 * -errno of socketpair() or fork().
 */
struct xpmem_attachment *xpeer_spawn(struct xpmem_segment *seg,
				     const struct xpmem_peer_opts *o,
				     unsigned int timeout_ms, int *pid);

#endif /* MMULAB_TOOLS_XPEER_H */
