/* SPDX-License-Identifier: MIT */
/*
 * The hosts of the driver tests (GRU, XPMEM): a small data host with the
 * checker attached, and a teardown that fails the test unless every frame
 * came back (the drivers hold no page reference) and the host is idle.
 */
#ifndef MMULAB_TESTS_DRIVER_FIXTURE_H
#define MMULAB_TESTS_DRIVER_FIXTURE_H

#include <mmulab/checker.h>
#include <mmulab/mm.h>
#include <mmulab/mmu_notifier.h>

/* A 256-frame data host, checked. */
static inline struct host *driver_host(void)
{
	struct host_config cfg = { .nr_frames = 256,
				   .content = HOST_CONTENT_DATA };
	struct host *host = host_create(&cfg);

	assert_false(IS_ERR(host));
	assert_int_equal(checker_attach(host), 0);
	return host;
}

/* After the drivers and mms are gone: all frames free, host destroyed. */
static inline void driver_host_destroy(struct host *host)
{
	unsigned long total = host_config_of(host)->nr_frames;

	mmu_notifier_synchronize();
	assert_int_equal(host_nr_free_frames(host), total - 1);
	checker_detach(host);
	assert_int_equal(host_destroy(host), 0);
}

#endif /* MMULAB_TESTS_DRIVER_FIXTURE_H */
