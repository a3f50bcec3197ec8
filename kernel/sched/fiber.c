// SPDX-License-Identifier: MIT
/*
 * Fibers for the deterministic scheduler: context switches (our own on
 * x86-64, ucontext elsewhere) on mmap()ed, guarded stacks, announced to
 * the sanitizers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
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

#ifdef __x86_64__
/*
 * mmulab_fiber_swap(save, sp): push the callee-saved registers and the
 * MXCSR and x87 control words, store the stack pointer at *@save, load
 * @sp and pop the same from there.  The caller-saved state is the
 * compiler's business: to it this is a function call.
 */
void mmulab_fiber_swap(void **save, void *sp);
__asm__(".text\n"
	".globl mmulab_fiber_swap\n"
	".hidden mmulab_fiber_swap\n"
	".type mmulab_fiber_swap, @function\n"
	"mmulab_fiber_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size mmulab_fiber_swap, .-mmulab_fiber_swap\n");

/*
 * The frame a new fiber's first switch pops: control words, six zeroed
 * registers, then @entry as the return address, placed so that @entry
 * starts with the stack aligned as after a call (a fake, zero return
 * address above it ends backtraces).
 */
static void *initial_frame(char *top, void (*entry)(void))
{
	u64 *ret = (u64 *)(((uintptr_t)top & ~(uintptr_t)15) - 16);
	u64 *sp = ret - 7;
	u32 ctl[2];

	__asm__ volatile("stmxcsr %0\n\tfnstcw %1"
			 : "=m"(ctl[0]), "=m"(ctl[1]));
	ret[1] = 0;
	ret[0] = (u64)(uintptr_t)entry;
	memset(sp, 0, 7 * sizeof(*sp));
	memcpy(sp, ctl, sizeof(ctl));
	return sp;
}

static void do_switch(struct fiber *from, struct fiber *to)
{
	mmulab_fiber_swap(&from->sp, to->sp);
}

static void do_exit(struct fiber *to)
{
	void *dead;

	mmulab_fiber_swap(&dead, to->sp);
}
#else
static void do_switch(struct fiber *from, struct fiber *to)
{
	if (swapcontext(&from->ctx, &to->ctx))
		BUG();
}

static void do_exit(struct fiber *to)
{
	setcontext(&to->ctx);
}
#endif

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

/*
 * Stacks of finished fibers, kept for the next ones: unmapping a stack
 * costs a TLB shootdown on every CPU the process runs on, and a fresh one
 * faults its pages in again.  Runs create a few tasks each, many times.
 */
#define STACK_CACHE 16

static struct {
	pthread_mutex_t lock;
	void *map[STACK_CACHE];
	unsigned int nr;
} stack_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *stack_get(size_t len, size_t page)
{
	void *map = NULL;

	pthread_mutex_lock(&stack_cache.lock);
	if (stack_cache.nr)
		map = stack_cache.map[--stack_cache.nr];
	pthread_mutex_unlock(&stack_cache.lock);
	if (map)
		return map;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1,
		   0);
	if (map == MAP_FAILED)
		return NULL;
	/* The lowest page is the guard: stacks grow down into it. */
	if (mprotect(map, page, PROT_NONE)) {
		munmap(map, len);
		return NULL;
	}
	return map;
}

static void stack_put(void *map, size_t len)
{
	pthread_mutex_lock(&stack_cache.lock);
	if (stack_cache.nr < STACK_CACHE) {
		stack_cache.map[stack_cache.nr++] = map;
		map = NULL;
	}
	pthread_mutex_unlock(&stack_cache.lock);
	if (map)
		munmap(map, len);
}

int fiber_create(struct fiber *f, void (*entry)(void))
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = DET_FIBER_STACK_SIZE + page;
	void *map;

	memset(f, 0, sizeof(*f));
	map = stack_get(len, page);
	if (!map)
		return -ENOMEM;
	f->map = map;
	f->map_len = len;
	f->stack = (char *)map + page;
	f->stack_size = DET_FIBER_STACK_SIZE;
#ifdef __x86_64__
	f->sp = initial_frame((char *)f->stack + f->stack_size, entry);
#else
	getcontext(&f->ctx);
	f->ctx.uc_stack.ss_sp = (void *)f->stack;
	f->ctx.uc_stack.ss_size = f->stack_size;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, entry, 0);
#endif
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
	stack_put(f->map, f->map_len);
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
	do_switch(from, to);
	after_switch(from, NULL);
	errno = from->saved_errno;
}

void fiber_exit(struct fiber *from, struct fiber *to)
{
	(void)from;
	before_switch(NULL, to);
	do_exit(to);
	BUG();
}
