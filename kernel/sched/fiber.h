/* SPDX-License-Identifier: MIT */
/*
 * Fibers: the user-space contexts the tasks of a deterministic run execute
 * on.  Only one task of a run executes at a time, so the run's tasks share
 * the OS thread that called det_begin(), and handing the CPU to another
 * task is a user-space context switch rather than a wake-up of another
 * pthread and a sleep of this one.
 *
 * On x86-64 a switch is a few instructions of our own (fiber.c): the
 * callee-saved registers, the stack pointer and the floating-point control
 * words, nothing else, since a switch is an ordinary function call for
 * the compiler; glibc's swapcontext() also saves the signal mask, a system
 * call per switch that took about 40% of a deterministic run.  Other
 * architectures use ucontext.
 *
 * Each fiber but the first (the det_begin() caller's own stack) runs on a
 * stack of DET_FIBER_STACK_SIZE bytes, mmap()ed with an inaccessible guard
 * page below it, so an overflow faults at once instead of corrupting a
 * neighbour.  AddressSanitizer and ThreadSanitizer are told about every
 * switch through their fiber interfaces, so both keep working on
 * deterministic runs.
 */
#ifndef MMULAB_KERNEL_SCHED_FIBER_H
#define MMULAB_KERNEL_SCHED_FIBER_H

#include <stddef.h>
#include <ucontext.h>

/*
 * A task's stack.  The deepest path of the model (a vCPU fault that
 * reclaims, or a checker failure formatting its report) uses well under
 * 64 KiB in the plain build; sanitizers grow every frame, so they get
 * four times as much.  Pages are only touched as the stack grows.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DET_FIBER_STACK_SIZE (1024UL * 1024)
#else
#define DET_FIBER_STACK_SIZE (256UL * 1024)
#endif

/**
 * struct fiber - one execution context.
 * @sp: x86-64: the stack pointer saved by the last switch away (the
 *	registers are on the stack below it).
 * @ctx: other architectures: the context saved by the last switch away.
 * @map: the stack mapping, guard page included (NULL: the thread's stack).
 * @map_len: its length.
 * @stack, @stack_size: the usable stack, for AddressSanitizer.
 * @asan_fake_stack: AddressSanitizer's fake stack while switched away.
 * @tsan: ThreadSanitizer's fiber (or the thread's own context).
 * @saved_errno: errno of this context while another one runs.
 */
struct fiber {
#ifdef __x86_64__
	void *sp;
#else
	ucontext_t ctx;
#endif
	void *map;
	size_t map_len;
	const void *stack;
	size_t stack_size;
	void *asan_fake_stack;
	void *tsan;
	int saved_errno;
};

/* Adopt the calling thread's own context as a fiber (task 0 of a run). */
void fiber_init_self(struct fiber *f);
/* Release what fiber_init_self() took. */
void fiber_fini_self(struct fiber *f);

/*
 * Create a fiber that will start in @entry() on its own stack when first
 * switched to.  @entry must call fiber_started() first and must never
 * return (it ends with fiber_exit()).  Returns 0 or -ENOMEM.
 */
int fiber_create(struct fiber *f, void (*entry)(void));
/* Free a fiber made by fiber_create(); it must not be running. */
void fiber_destroy(struct fiber *f);

/* The first thing a new fiber does, coming from @from. */
void fiber_started(struct fiber *self, struct fiber *from);

/* Save the current context in @from and continue @to. */
void fiber_switch(struct fiber *from, struct fiber *to);

/* Continue @to; the calling fiber @from is finished and never resumes. */
__attribute__((noreturn)) void fiber_exit(struct fiber *from,
					  struct fiber *to);

#endif /* MMULAB_KERNEL_SCHED_FIBER_H */
