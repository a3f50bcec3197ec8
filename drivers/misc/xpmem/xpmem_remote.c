// SPDX-License-Identifier: MIT
/*
 * The exporter's end of an importer process (see <mmulab/xpmem.h> and
 * docs/xpmem.md): the socket's reader, the fault server, the wait for an
 * acknowledgement with its timeout, and what happens to a peer that dies
 * or stops answering: it is detached, its granted mappings are counted as
 * dropped, and the frames behind them keep a page reference (quarantine)
 * until the peer is known gone.
 *
 * Deliberate difference from the rest of the model: the reader sleeps in
 * poll(2) on the socket and the peer's pidfd, outside the concurrency
 * layer, because the other end is a real process the deterministic
 * scheduler cannot run.  xpmem_attach_remote() therefore refuses while a
 * deterministic run is active; everything the tasks share with the model
 * (the attachment, the segment, wake-ups) still goes through its locks,
 * atomics and wait queues.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mmulab/bug.h>
#include <mmulab/sched.h>
#include "xpmem_internal.h"

#define XPMEM_RX_POLL_MS 20 /* how often the reader looks at kthread_stop */

int xpmem_remote_send(struct xpmem_attachment *att, const struct xpmem_msg *m)
{
	struct xpmem_remote *r = att->remote;
	ssize_t n;

	if (atomic_read(&r->eof))
		return -EPIPE;
	mutex_lock(&r->tx_lock);
	/* At most one FAULT answer and one INVALIDATE are ever unread. */
	n = send(r->sock, m, sizeof(*m), MSG_DONTWAIT | MSG_NOSIGNAL);
	mutex_unlock(&r->tx_lock);
	if (n == (ssize_t)sizeof(*m))
		return 0;
	atomic_set(&r->eof, 1);
	wake_up_all(&att->wq);
	return -EPIPE;
}

void xpmem_remote_answer(struct xpmem_attachment *att, unsigned long pfn,
			 bool write, long err)
{
	struct xpmem_msg m = { .type = XPMEM_MSG_ANSWER,
			       .write = write,
			       .a0 = pfn,
			       .a1 = (u64)err };

	xpmem_remote_send(att, &m);
}

/*
 * Give the quarantined frames back; the peer is known gone.  @seg_locked:
 * the caller holds seg->lock (which guards the counters).
 */
static void xpmem_unquarantine(struct xpmem_attachment *att, bool seg_locked)
{
	struct xpmem_remote *r = att->remote;
	struct xpmem_segment *seg = att->seg;
	unsigned long *held, n;

	mutex_lock(&att->lock);
	held = r->quarantine;
	n = r->nr_quarantine;
	r->quarantine = NULL;
	r->nr_quarantine = 0;
	mutex_unlock(&att->lock);
	for (unsigned long i = 0; i < n; i++)
		put_page(pfn_to_page(seg->host, held[i]));
	free(held);
	if (!n)
		return;
	if (!seg_locked)
		mutex_lock(&seg->lock);
	seg->stat.unquarantined += n;
	if (!seg_locked)
		mutex_unlock(&seg->lock);
}

/*
 * Detach a peer that died or did not answer; seg->lock held, so no
 * invalidation can free a frame the record still grants.  Each granted
 * frame keeps a reference until the peer is known gone.
 */
void xpmem_remote_lose(struct xpmem_attachment *att, const char *why)
{
	struct xpmem_remote *r = att->remote;
	struct xpmem_segment *seg = att->seg;
	unsigned long n = 0, *held;

	WARN_ON(!mutex_is_owner(&seg->lock));
	held = calloc(seg->npages, sizeof(*held));
	mutex_lock(&att->lock);
	if (att->detached) {
		mutex_unlock(&att->lock);
		free(held);
		return;
	}
	for (unsigned long i = 0; held && i < seg->npages; i++) {
		if (!att->table[i].valid)
			continue;
		get_page(pfn_to_page(seg->host, att->table[i].pfn));
		held[n++] = att->table[i].pfn;
	}
	/* No memory for the list: the frames stay held for good. */
	for (unsigned long i = 0; !held && i < seg->npages; i++)
		if (att->table[i].valid)
			get_page(pfn_to_page(seg->host, att->table[i].pfn));
	xpmem_drop_range(att, 0, ~0UL);
	att->detached = true;
	r->lost = true;
	r->quarantine = held;
	r->nr_quarantine = n;
	mutex_unlock(&att->lock);
	seg->stat.peers_lost++;
	seg->stat.quarantined += n;
	fprintf(stderr,
		"xpmem: importer process %d %s; detached, %lu frame(s) "
		"quarantined until it is gone\n",
		r->pid, why, n);
	/* A peer that wakes up finds the socket closed and exits. */
	shutdown(r->sock, SHUT_WR);
	if (atomic_read(&r->gone))
		xpmem_unquarantine(att, true);
}

bool xpmem_remote_wait_ack(struct xpmem_attachment *att, long want)
{
	struct xpmem_remote *r = att->remote;
	long left = wait_event_timeout(att->wq,
				       atomic_long_read(&att->done) >= want ||
					       atomic_read(&r->eof),
				       (long)r->timeout_ms);

	if (atomic_long_read(&att->done) >= want)
		return true;
	xpmem_remote_lose(att, left ? "closed its socket mid-invalidation" :
				      "did not acknowledge in time");
	return false;
}

/* A message from the peer, on the reader task. */
static void xpmem_remote_msg(struct xpmem_attachment *att,
			     const struct xpmem_msg *m)
{
	struct xpmem_remote *r = att->remote;

	switch (m->type) {
	case XPMEM_MSG_ACK:
		if ((long)m->seq > atomic_long_read(&att->done))
			atomic_long_set(&att->done, (long)m->seq);
		break;
	case XPMEM_MSG_FAULT:
		mutex_lock(&att->lock);
		r->fault_idx = m->a0;
		r->fault_write = m->write;
		mutex_unlock(&att->lock);
		atomic_set(&r->fault_pending, 1);
		break;
	case XPMEM_MSG_DETACH:
		mutex_lock(&att->lock);
		att->accesses += m->a0;
		mutex_unlock(&att->lock);
		atomic_set(&r->peer_detached, 1);
		break;
	default: /* a peer that speaks nonsense is a dead one */
		atomic_set(&r->eof, 1);
		break;
	}
	wake_up_all(&att->wq);
}

/* Read what the socket has; false once it closed. */
static bool xpmem_remote_read(struct xpmem_attachment *att)
{
	struct xpmem_msg m;
	ssize_t n = recv(att->remote->sock, &m, sizeof(m), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n != (ssize_t)sizeof(m))
		return false;
	xpmem_remote_msg(att, &m);
	return true;
}

/* The socket closed: outside an invalidation, detach the peer here. */
static void xpmem_remote_closed(struct xpmem_attachment *att)
{
	struct xpmem_remote *r = att->remote;

	atomic_set(&r->eof, 1);
	wake_up_all(&att->wq);
	mutex_lock(&att->seg->lock);
	if (!att->detached && !atomic_read(&r->peer_detached))
		xpmem_remote_lose(att, "closed its socket");
	mutex_unlock(&att->seg->lock);
}

/* The peer is known gone: what it might have mapped can go. */
static void xpmem_remote_gone(struct xpmem_attachment *att)
{
	atomic_set(&att->remote->gone, 1);
	wake_up_all(&att->wq);
	xpmem_unquarantine(att, false);
}

/* The reader task: the socket and the pidfd, until kthread_stop(). */
static int xpmem_remote_rx(void *arg)
{
	struct xpmem_attachment *att = arg;
	struct xpmem_remote *r = att->remote;
	struct pollfd p[2] = { { .fd = r->sock, .events = POLLIN },
			       { .fd = r->pidfd, .events = POLLIN } };

	while (!kthread_should_stop()) {
		if (poll(p, 2, XPMEM_RX_POLL_MS) <= 0)
			continue;
		if (p[0].revents && !xpmem_remote_read(att)) {
			p[0].fd = -1;
			xpmem_remote_closed(att);
			if (r->pidfd < 0)
				xpmem_remote_gone(att);
		}
		if (p[1].revents) {
			p[1].fd = -1;
			xpmem_remote_gone(att);
		}
	}
	return 0;
}

/* The fault server: one FAULT at a time (the peer waits for its ANSWER). */
static int xpmem_remote_fx(void *arg)
{
	struct xpmem_attachment *att = arg;
	struct xpmem_remote *r = att->remote;

	for (;;) {
		unsigned long idx;
		bool write;
		int err;

		wait_event(att->wq, atomic_read(&r->fault_pending) ||
					    kthread_should_stop());
		if (!atomic_read(&r->fault_pending))
			return 0;
		mutex_lock(&att->lock);
		idx = r->fault_idx;
		write = r->fault_write;
		mutex_unlock(&att->lock);
		atomic_set(&r->fault_pending, 0);
		err = idx < att->seg->npages ? xpmem_fault(att, idx, write) :
					       -EINVAL;
		if (err) /* a granted PFN was answered under seg->lock */
			xpmem_remote_answer(att, 0, write, err);
	}
}

int xpmem_remote_start(struct xpmem_attachment *att)
{
	struct xpmem_remote *r = att->remote;

	r->rx = kthread_run(xpmem_remote_rx, att, "xpmem-rx");
	if (IS_ERR(r->rx))
		return PTR_ERR(r->rx);
	r->fx = kthread_run(xpmem_remote_fx, att, "xpmem-fault");
	if (IS_ERR(r->fx)) {
		kthread_stop(r->rx);
		return PTR_ERR(r->fx);
	}
	return 0;
}

/* Send ATTACH with the frames' memfd as SCM_RIGHTS. */
static int xpmem_send_attach(int sock, int memfd, const struct xpmem_msg *m)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ?
		       0 :
		       -EPIPE;
}

static void xpmem_remote_free(struct xpmem_remote *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	close(r->sock);
	free(r->quarantine);
	free(r);
}

struct xpmem_attachment *xpmem_attach_remote(struct xpmem_segment *seg,
					     int sock, int pid,
					     unsigned int timeout_ms)
{
	struct xpmem_msg m = { .type = XPMEM_MSG_ATTACH };
	struct xpmem_attachment *att;
	struct xpmem_remote *r;
	int memfd, err;

	if (!seg || sock < 0 || pid < 0) {
		if (sock >= 0)
			close(sock);
		return ERR_PTR(-EINVAL);
	}
	memfd = host_frames_fd(seg->host);
	r = calloc(1, sizeof(*r));
	if (!r || memfd < 0 || det_active()) {
		close(sock);
		free(r);
		return ERR_PTR(r ? -EOPNOTSUPP : -ENOMEM);
	}
	r->sock = sock;
	r->pid = pid;
	r->pidfd = pid ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	r->timeout_ms = timeout_ms ? timeout_ms : XPMEM_PEER_TIMEOUT_MS;
	mutex_init(&r->tx_lock);
	m.seq = seg->vaddr;
	m.a0 = seg->npages;
	m.a1 = host_config_of(seg->host)->nr_frames;
	err = xpmem_send_attach(sock, memfd, &m);
	if (err) {
		xpmem_remote_free(r);
		return ERR_PTR(err);
	}
	att = xpmem_attach_slot(seg, seg->mm, r);
	if (IS_ERR(att))
		xpmem_remote_free(r);
	return att;
}

/* Kill a peer that outstayed its detach; wait (bounded) for it to go. */
static void xpmem_remote_reap(struct xpmem_attachment *att)
{
	struct xpmem_remote *r = att->remote;

	if (r->pidfd < 0 || atomic_read(&r->gone))
		return;
	if (!wait_event_timeout(att->wq, atomic_read(&r->gone),
				(long)r->timeout_ms)) {
		syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
		wait_event_timeout(att->wq, atomic_read(&r->gone),
				   (long)r->timeout_ms);
	}
}

void xpmem_remote_detach(struct xpmem_attachment *att)
{
	struct xpmem_segment *seg = att->seg;
	struct xpmem_remote *r = att->remote;
	struct xpmem_msg m = { .type = XPMEM_MSG_DETACH };

	mutex_lock(&seg->lock);
	if (!r->lost && !xpmem_remote_send(att, &m) &&
	    wait_event_timeout(att->wq, atomic_read(&r->peer_detached) ||
						atomic_read(&r->eof),
			       (long)r->timeout_ms) &&
	    atomic_read(&r->peer_detached)) {
		/* It unmapped the frames before it answered. */
		mutex_lock(&att->lock);
		xpmem_drop_range(att, 0, ~0UL);
		att->detached = true;
		mutex_unlock(&att->lock);
	} else if (!r->lost) {
		xpmem_remote_lose(att, "did not answer its detach");
	}
	mutex_lock(&att->lock);
	seg->stat.dropped += att->dropped;
	seg->stat.accesses += att->accesses;
	att->dropped = att->accesses = 0;
	mutex_unlock(&att->lock);
	seg->slots[att->slot].att = NULL;
	mutex_unlock(&seg->lock);
	xpmem_remote_reap(att);
	kthread_stop(r->rx);
	kthread_stop(r->fx);
	if (r->nr_quarantine && atomic_read(&r->gone))
		xpmem_unquarantine(att, false);
	if (r->nr_quarantine)
		fprintf(stderr,
			"xpmem: importer process %d is still alive; %lu "
			"frame(s) stay held\n",
			r->pid, r->nr_quarantine);
	else
		xpmem_remote_free(r);
	free(att);
}
