/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the notifier-core tests: a small tag-mode host with one
 * mm, and a recording log reset for every test.  The teardown fails the
 * test if an mm reference leaked (the host would then still be busy).
 */
#ifndef MMULAB_TESTS_MN_FIXTURE_H
#define MMULAB_TESTS_MN_FIXTURE_H

#include "mm/internal.h"
#include "mn_recorder.h"

static struct rec_log tlog;

struct fixture {
	struct host *host;
	struct mm_struct *mm;
};

static int setup(void **state)
{
	struct host_config cfg = {
		.nr_frames = 256,
		.content = HOST_CONTENT_TAG,
		.change_pte = CHANGE_PTE_NONE,
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->host = host_create(&cfg);
	if (IS_ERR(f->host))
		return -1;
	f->mm = mm_alloc(f->host);
	if (IS_ERR(f->mm))
		return -1;
	rec_log_init(&tlog);
	warn_set_quiet(false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int ret;

	if (f->mm)
		mmput(f->mm);
	/* Subscriptions freed by put: gone before the host is. */
	mmu_notifier_synchronize();
	ret = host_destroy(f->host);
	free(f);
	warn_set_quiet(false);
	return ret ? -1 : 0;
}

static inline int mm_count_of(struct mm_struct *mm)
{
	return atomic_read(&mm->mm_count);
}

#endif /* MMULAB_TESTS_MN_FIXTURE_H */
