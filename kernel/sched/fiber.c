// SPDX-License-Identifier: MIT
/*
 * Fibers for the deterministic scheduler: ucontext switches on mmap()ed,
 * guarded stacks, announced to the sanitizers.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mmulab/bug.h>
#include "fiber.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#if __has_feature(thread_sanitizer)
#define __SANITIZE_THREAD__ 1
#endif
#endif

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

/*
 * Sanitizer hooks around a switch from the running fiber to @to.
 * AddressSanitizer must know which stack is about to run (and keeps the
 * leaving fiber's fake stack in @save, or drops it when @save is NULL:
 * the fiber is finished); ThreadSanitizer switches its notion of the
 * current thread, and with flags 0 orders everything the leaving fiber
 * did before everything the next one does, as the scheduler does.
 */
static void before_switch(void **save, struct fiber *to)
{
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_start_switch_fiber(save, to->stack, to->stack_size);
#else
	(void)save;
#endif
#ifdef __SANITIZE_THREAD__
	__tsan_switch_to_fiber(to->tsan, 0);
#else
	(void)to;
#endif
}

/*
 * Back on @self after a switch.  AddressSanitizer tells which stack we
 * came from; the first switch away from the thread's own stack is how we
 * learn that stack's bounds (they are needed to switch back to it).
 */
static void after_switch(struct fiber *self, struct fiber *from)
{
#ifdef __SANITIZE_ADDRESS__
	const void *bottom;
	size_t size;

	__sanitizer_finish_switch_fiber(self->asan_fake_stack, &bottom, &size);
	if (from && !from->map) {
		from->stack = bottom;
		from->stack_size = size;
	}
#else
	(void)self;
	(void)from;
#endif
}

void fiber_init_self(struct fiber *f)
{
	memset(f, 0, sizeof(*f));
#ifdef __SANITIZE_THREAD__
	f->tsan = __tsan_get_current_fiber();
#endif
}

void fiber_fini_self(struct fiber *f)
{
	/* The thread's own context: nothing was allocated for it. */
	f->tsan = NULL;
}

int fiber_create(struct fiber *f, void (*entry)(void))
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = DET_FIBER_STACK_SIZE + page;
	void *map;

	memset(f, 0, sizeof(*f));
	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
		   0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	/* The lowest page is the guard: stacks grow down into it. */
	if (mprotect(map, page, PROT_NONE)) {
		munmap(map, len);
		return -ENOMEM;
	}
	f->map = map;
	f->map_len = len;
	f->stack = (char *)map + page;
	f->stack_size = DET_FIBER_STACK_SIZE;
	getcontext(&f->ctx);
	f->ctx.uc_stack.ss_sp = (void *)f->stack;
	f->ctx.uc_stack.ss_size = f->stack_size;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, entry, 0);
#ifdef __SANITIZE_THREAD__
	f->tsan = __tsan_create_fiber(0);
#endif
	return 0;
}

void fiber_destroy(struct fiber *f)
{
	if (!f->map)
		return;
#ifdef __SANITIZE_THREAD__
	__tsan_destroy_fiber(f->tsan);
#endif
#ifdef __SANITIZE_ADDRESS__
	/* Frames of the last call never returned: clear their redzones. */
	ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_size);
#endif
	munmap(f->map, f->map_len);
	f->map = NULL;
}

void fiber_started(struct fiber *self, struct fiber *from)
{
	self->asan_fake_stack = NULL;
	after_switch(self, from);
	errno = 0;
}

void fiber_switch(struct fiber *from, struct fiber *to)
{
	from->saved_errno = errno;
	before_switch(&from->asan_fake_stack, to);
	if (swapcontext(&from->ctx, &to->ctx))
		BUG();
	after_switch(from, NULL);
	errno = from->saved_errno;
}

void fiber_exit(struct fiber *from, struct fiber *to)
{
	(void)from;
	before_switch(NULL, to);
	setcontext(&to->ctx);
	BUG();
}
