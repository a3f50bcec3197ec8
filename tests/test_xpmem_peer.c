// SPDX-License-Identifier: MIT
/*
 * The XPMEM importer as a real second OS process: a forked child runs
 * xpmem_peer_run() on one end of a socket pair and reaches the
 * exporter's frames through the host's memfd.  The exporter's
 * invalidations wait for the child's ACK; a child killed in the middle of
 * one, or stopped, is detached within the timeout, its mappings counted
 * as dropped and its frames held until it is gone; every frame comes
 * back at the end.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mmulab/checker.h>
#include <mmulab/mm.h>
#include <mmulab/sync.h>
#include <mmulab/xpmem.h>
#include "driver_fixture.h"

#define RW (PROT_READ | PROT_WRITE)
#define NPAGES 8
#define TIMEOUT_MS 600

struct world {
	struct host *host;
	struct mm_struct *exp;
	unsigned long base;
	struct xpmem_segment *seg;
	struct xpmem_attachment *att;
	pid_t pid;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static struct xpmem_stat stat_of(struct world *w)
{
	struct xpmem_stat st;

	xpmem_get_stat(w->seg, &st);
	return st;
}

/* Start the exporter and a peer process making @accesses accesses. */
static void world_init(struct world *w, unsigned int ack_delay_ms)
{
	struct host_config cfg = { .nr_frames = 256,
				   .content = HOST_CONTENT_DATA,
				   .shared_frames = true };
	struct xpmem_peer_opts o = { .accesses = 64,
				     .seed = 5,
				     .write_pct = 30,
				     .ack_delay_ms = ack_delay_ms };
	int sv[2];

	memset(w, 0, sizeof(*w));
	w->host = host_create(&cfg);
	assert_false(IS_ERR(w->host));
	assert_int_equal(checker_attach(w->host), 0);
	w->exp = mm_alloc(w->host);
	assert_false(IS_ERR(w->exp));
	w->base = vm_mmap(w->exp, 0, NPAGES * PAGE_SIZE, RW,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	for (unsigned int p = 0; p < NPAGES; p++)
		assert_int_equal(cpu_write_u64(w->exp, w->base + p * PAGE_SIZE,
					       checker_value(p, 1)),
				 0);
	w->seg = xpmem_make(w->exp, w->base, NPAGES * PAGE_SIZE,
			    XPMEM_INVAL_START);
	assert_false(IS_ERR(w->seg));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv),
			 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (!w->pid) {
		close(sv[0]);
		_exit(xpmem_peer_run(sv[1], &o, NULL) ? 1 : 0);
	}
	close(sv[1]);
	w->att = xpmem_attach_remote(w->seg, sv[0], w->pid, TIMEOUT_MS);
	assert_false(IS_ERR(w->att));
	/* Until the peer made its accesses (its faults came back). */
	for (int i = 0; i < 500 && stat_of(w).faults < NPAGES / 2; i++)
		msleep(10);
	assert_true(stat_of(w).faults >= NPAGES / 2);
}

/* Every granted mapping is accounted for, every frame comes back. */
static void world_fini(struct world *w)
{
	struct xpmem_stat st;

	xpmem_detach(w->att);
	st = stat_of(w);
	assert_int_equal(st.dropped, st.faults);
	assert_int_equal(st.unquarantined, st.quarantined);
	xpmem_remove(w->seg);
	mmput(w->exp);
	assert_int_equal(checker_violations(w->host), 0);
	driver_host_destroy(w->host);
}

/* A live peer: the exporter's zap waits for its ACK; detach is clean. */
static void test_peer_acks(void **state)
{
	struct xpmem_stat st;
	struct world w;
	int status;

	(void)state;
	world_init(&w, 0);
	assert_int_equal(do_madvise(w.exp, w.base, NPAGES * PAGE_SIZE,
				 MADV_DONTNEED),
			 0);
	st = stat_of(&w);
	assert_true(st.acks >= 1);
	assert_int_equal(st.peers_lost, 0);
	assert_int_equal(checker_violations(w.host), 0);
	world_fini(&w);
	assert_int_equal(waitpid(w.pid, &status, 0), w.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int killer(void *arg)
{
	msleep(100);
	kill(*(pid_t *)arg, SIGKILL);
	return 0;
}

/*
 * The peer sits on an INVALIDATE (it would answer in a minute) and is
 * killed: the exporter sees the socket close, detaches it well within
 * the timeout, and counts its mappings as dropped.
 */
static void test_peer_killed_mid_invalidation(void **state)
{
	struct task_struct *t;
	struct xpmem_stat st;
	struct world w;
	long t0, took;

	(void)state;
	world_init(&w, 60000);
	t = kthread_run(killer, &w.pid, "killer");
	assert_false(IS_ERR(t));
	t0 = now_ms();
	assert_int_equal(do_madvise(w.exp, w.base, NPAGES * PAGE_SIZE,
				 MADV_DONTNEED),
			 0);
	took = now_ms() - t0;
	kthread_stop(t);
	assert_true(took >= 100 && took < TIMEOUT_MS + 200);
	st = stat_of(&w);
	assert_int_equal(st.peers_lost, 1);
	assert_true(st.quarantined >= 1);
	assert_int_equal(st.dropped, st.faults);
	assert_int_equal(checker_violations(w.host), 0);
	assert_int_equal(waitpid(w.pid, NULL, 0), w.pid);
	world_fini(&w);
}

/*
 * A stopped peer never answers: the exporter gives up after the timeout,
 * holds the frames it might still map, and lets them go once it is dead.
 */
static void test_peer_stopped_times_out(void **state)
{
	unsigned long before;
	struct xpmem_stat st;
	struct world w;
	long t0, took;

	(void)state;
	world_init(&w, 0);
	assert_int_equal(kill(w.pid, SIGSTOP), 0);
	before = host_nr_free_frames(w.host);
	t0 = now_ms();
	assert_int_equal(do_madvise(w.exp, w.base, NPAGES * PAGE_SIZE,
				 MADV_DONTNEED),
			 0);
	took = now_ms() - t0;
	assert_true(took >= TIMEOUT_MS && took < 3 * TIMEOUT_MS);
	st = stat_of(&w);
	assert_int_equal(st.peers_lost, 1);
	assert_true(st.quarantined >= 1);
	assert_int_equal(st.unquarantined, 0);
	/* The zapped frames the peer was granted are not free yet. */
	assert_true(host_nr_free_frames(w.host) + st.quarantined <=
		    before + NPAGES);
	assert_int_equal(kill(w.pid, SIGKILL), 0);
	assert_int_equal(waitpid(w.pid, NULL, 0), w.pid);
	for (int i = 0; i < 300 && stat_of(&w).unquarantined < st.quarantined;
	     i++)
		msleep(10);
	assert_int_equal(stat_of(&w).unquarantined, st.quarantined);
	world_fini(&w);
}

/*
 * A peer that dies between invalidations: the exporter's reader sees the
 * socket close and detaches it at once; once its pidfd says it is gone
 * the frames are let go; the next zap waits for no one.
 */
static void test_peer_dies_idle(void **state)
{
	struct xpmem_stat st;
	struct world w;
	long t0;

	(void)state;
	world_init(&w, 0);
	assert_int_equal(kill(w.pid, SIGKILL), 0);
	assert_int_equal(waitpid(w.pid, NULL, 0), w.pid);
	for (int i = 0; i < 300; i++) {
		st = stat_of(&w);
		if (st.peers_lost && st.unquarantined == st.quarantined)
			break;
		msleep(10);
	}
	assert_int_equal(st.peers_lost, 1);
	assert_true(st.quarantined >= 1);
	assert_int_equal(st.unquarantined, st.quarantined);
	t0 = now_ms();
	assert_int_equal(do_madvise(w.exp, w.base, NPAGES * PAGE_SIZE,
				    MADV_DONTNEED),
			 0);
	assert_true(now_ms() - t0 < TIMEOUT_MS);
	assert_int_equal(stat_of(&w).acks, st.acks);
	world_fini(&w);
}

/* No shared frames, or a deterministic run: no importer process. */
static void test_attach_remote_refused(void **state)
{
	struct host *host = driver_host();
	struct mm_struct *mm = mm_alloc(host);
	unsigned long base = vm_mmap(mm, 0, PAGE_SIZE, RW,
				     MAP_PRIVATE | MAP_ANONYMOUS);
	struct xpmem_segment *seg =
		xpmem_make(mm, base, PAGE_SIZE, XPMEM_INVAL_START);
	struct host_config tag = { .nr_frames = 64,
				   .content = HOST_CONTENT_TAG,
				   .shared_frames = true };
	int sv[2];

	(void)state;
	assert_false(IS_ERR(seg));
	assert_int_equal(host_frames_fd(host), -ENOENT);
	assert_ptr_equal(host_create(&tag), ERR_PTR(-EINVAL));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_ptr_equal(xpmem_attach_remote(seg, sv[0], 0, 0),
			 ERR_PTR(-EOPNOTSUPP));
	assert_ptr_equal(xpmem_attach_remote(NULL, sv[1], 0, 0),
			 ERR_PTR(-EINVAL));
	xpmem_remove(seg);
	mmput(mm);
	driver_host_destroy(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_remote_refused),
		cmocka_unit_test(test_peer_acks),
		cmocka_unit_test(test_peer_killed_mid_invalidation),
		cmocka_unit_test(test_peer_stopped_times_out),
		cmocka_unit_test(test_peer_dies_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
