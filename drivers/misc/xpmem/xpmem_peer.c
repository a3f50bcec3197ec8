// SPDX-License-Identifier: MIT
/*
 * The importer process of the peer protocol (see <mmulab/xpmem.h>,
 * docs/xpmem.md).  It runs in its own OS process and shares nothing with
 * the exporter but the frames' memfd and the socket: its mapping table
 * is a PFN per page of the segment, filled only by the exporter's
 * ANSWERs and emptied by INVALIDATE before it acknowledges.  It handles
 * one message at a time and touches a frame only between messages, so an
 * acknowledged range is never touched again.  No model lock is taken
 * here: the process is not part of any run.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mmulab/xpmem.h>

struct peer_pte {
	u64 pfn;
	bool valid, writable;
};

struct peer {
	int sock;
	u8 *mem;
	size_t mem_len;
	unsigned long npages, nr_frames, vaddr;
	struct peer_pte *table;
	const struct xpmem_peer_opts *o;
	struct xpmem_peer_result res;
	bool detach; /* the exporter asked for DETACH */
};

static int peer_send(struct peer *p, u32 type, u64 seq, u64 a0, u32 write)
{
	struct xpmem_msg m = {
		.type = type, .write = write, .seq = seq, .a0 = a0
	};

	return send(p->sock, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ?
		       0 :
		       -EPIPE;
}

static void peer_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static void peer_drop(struct peer *p, u64 first, u64 end)
{
	for (u64 i = first; i < end && i < p->npages; i++) {
		if (!p->table[i].valid)
			continue;
		p->table[i].valid = false;
		p->res.dropped++;
	}
}

/* One message from the exporter; an ANSWER goes to *@ans. */
static int peer_handle(struct peer *p, const struct xpmem_msg *m,
		       struct xpmem_msg *ans)
{
	switch (m->type) {
	case XPMEM_MSG_INVALIDATE:
		if (p->o->ack_delay_ms)
			peer_sleep_ms(p->o->ack_delay_ms);
		peer_drop(p, m->a0, m->a1);
		p->res.invalidations++;
		return peer_send(p, XPMEM_MSG_ACK, m->seq, 0, 0);
	case XPMEM_MSG_ANSWER:
		if (!ans)
			return -EPROTO;
		*ans = *m;
		return 0;
	case XPMEM_MSG_DETACH:
		p->detach = true;
		return 0;
	default:
		return -EPROTO;
	}
}

/* Receive and handle one message; block up to @ms (-1: forever). */
static int peer_poll(struct peer *p, int ms, struct xpmem_msg *ans)
{
	struct pollfd pf = { .fd = p->sock, .events = POLLIN };
	struct xpmem_msg m;
	ssize_t n;

	if (poll(&pf, 1, ms) <= 0)
		return 0;
	n = recv(p->sock, &m, sizeof(m), 0);
	if (n == 0)
		return -EPIPE;
	if (n != (ssize_t)sizeof(m))
		return n < 0 ? -EPIPE : -EPROTO;
	return peer_handle(p, &m, ans) ?: 1;
}

/* Fault page @i over the socket; 0 with it mapped, 1 if refused. */
static int peer_fault(struct peer *p, unsigned long i, bool write)
{
	struct xpmem_msg ans = { 0 };
	int r = peer_send(p, XPMEM_MSG_FAULT, 0, i, write);

	while (!r && !ans.type && !p->detach)
		r = peer_poll(p, -1, &ans) < 0 ? -EPIPE : 0;
	if (r || p->detach)
		return r;
	if ((s64)ans.a1 || ans.a0 >= p->nr_frames) {
		p->res.refused++;
		return 1;
	}
	p->table[i].pfn = ans.a0;
	p->table[i].writable = ans.write;
	p->table[i].valid = true;
	p->res.faults++;
	return 0;
}

static u64 *peer_word(struct peer *p, unsigned long i, unsigned long off)
{
	return (u64 *)(p->mem + p->table[i].pfn * PAGE_SIZE + off);
}

/* One load or store at a random place of the segment. */
static int peer_access(struct peer *p, unsigned int *seed)
{
	unsigned long i = (unsigned long)rand_r(seed) % p->npages;
	unsigned long off = ((unsigned long)rand_r(seed) % (PAGE_SIZE / 8)) * 8;
	bool write = (unsigned int)rand_r(seed) % 100 < p->o->write_pct;
	u64 vpn = (p->vaddr >> PAGE_SHIFT) + i;
	unsigned int id = 0x80 | (p->o->seed & 0x7f); /* not a thread's */

	for (int tries = 0; tries < 16; tries++) {
		struct peer_pte *pte = &p->table[i];
		int r;

		if (pte->valid && (!write || pte->writable)) {
			if (write) {
				__atomic_store_n(peer_word(p, i, off),
						 XPMEM_VALUE(vpn, id,
							     p->res.stores),
						 __ATOMIC_RELAXED);
				p->res.stores++;
			} else {
				u64 v = __atomic_load_n(peer_word(p, i, off),
							__ATOMIC_RELAXED);

				p->res.loads++;
				if (v && (v >> 56 != XPMEM_VALUE_MAGIC ||
					  (v >> 16 & 0xffffffffffULL) !=
						  (vpn & 0xffffffffffULL)))
					p->res.bad_loads++;
			}
			return 0;
		}
		r = peer_fault(p, i, write);
		if (r || p->detach)
			return r < 0 ? r : 0;
	}
	return 0;
}

/* Wait for ATTACH and map the frames it passes. */
static int peer_attach(struct peer *p)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct xpmem_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(p->sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(m))
		return -EPIPE;
	c = CMSG_FIRSTHDR(&mh);
	if (m.type != XPMEM_MSG_ATTACH || !c || c->cmsg_type != SCM_RIGHTS ||
	    !m.a0 || m.a0 > XPMEM_MAX_PAGES || !m.a1)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	p->npages = m.a0;
	p->vaddr = m.seq;
	p->nr_frames = m.a1;
	p->mem_len = m.a1 * PAGE_SIZE;
	p->mem = mmap(NULL, p->mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		      0);
	close(fd);
	p->table = calloc(p->npages, sizeof(*p->table));
	if (p->mem == MAP_FAILED || !p->table)
		return -ENOMEM;
	return 0;
}

int xpmem_peer_run(int sock, const struct xpmem_peer_opts *o,
		   struct xpmem_peer_result *res)
{
	struct peer p = { .sock = sock, .o = o, .mem = MAP_FAILED };
	unsigned int seed = o->seed;
	int r = peer_attach(&p);

	for (unsigned long n = 0; !r && !p.detach && n < o->accesses; n++) {
		r = peer_poll(&p, 0, NULL);
		if (r >= 0)
			r = peer_access(&p, &seed);
	}
	while (r >= 0 && !p.detach)
		r = peer_poll(&p, -1, NULL);
	if (p.detach) {
		/* Unmap first: DETACH tells the exporter nothing is mapped. */
		peer_drop(&p, 0, p.npages);
		munmap(p.mem, p.mem_len);
		p.mem = MAP_FAILED;
		r = peer_send(&p, XPMEM_MSG_DETACH, 0,
			      p.res.loads + p.res.stores, 0);
	}
	if (p.mem != MAP_FAILED)
		munmap(p.mem, p.mem_len);
	free(p.table);
	close(sock);
	if (res)
		*res = p.res;
	if (r > 0)
		r = 0;
	return !r && p.res.bad_loads ? -EILSEQ : r;
}
