/* SPDX-License-Identifier: MIT */
/*
 * Checked API mode: how the library recognises misuse of its public API
 * (mm/debug.c has the design).  Private to the library.
 */
#ifndef MMULAB_MM_DEBUG_H
#define MMULAB_MM_DEBUG_H

#include <mmulab/bug.h>

struct host;
struct mm_struct;

#ifdef CONFIG_DEBUG_API
#define debug_api_enabled true
#else
#define debug_api_enabled false
#endif

/* Magic of a live object, and what its free leaves there. */
#define HOST_MAGIC 0x686f7374U	/* "host" */
#define MM_MAGIC 0x6d6d5f73U	/* "mm_s" */
#define FILE_MAGIC 0x66696c65U	/* "file" */
#define OBJ_POISON 0xdeadf7eeU

/*
 * __api_warn() - count one misuse of @func and report it with what is
 * wrong and the caller (@caller, a return address into it).
 */
__attribute__((format(printf, 3, 4))) void
__api_warn(const char *func, const void *caller, const char *fmt, ...);

/*
 * API_WARN_ON() - in a public entry point: if @cond, a WARN naming the
 * function and its caller, and what is wrong.  Evaluates to @cond.
 */
#define API_WARN_ON(cond, ...)                                                 \
	({                                                                     \
		bool __c = !!(cond);                                           \
		if (unlikely(__c))                                             \
			__api_warn(__func__, __builtin_return_address(0),      \
				   __VA_ARGS__);                               \
		__c;                                                           \
	})

/* What an entry point needs of an mm (mm_api_ok()). */
enum mm_api_need {
	MM_STRUCT,	/* the struct only: an mmgrab() reference will do */
	MM_USERS,	/* the address space: a user reference */
};

bool __mm_api_ok(const struct mm_struct *mm, enum mm_api_need need,
		 const char *func, const void *caller);
bool __host_api_ok(const struct host *host, const char *func,
		   const void *caller);

/*
 * mm_api_ok() - may the public entry point it is written in use @mm?
 * False, after a WARN naming the entry point and its caller, for NULL,
 * for an mm already freed (recognised in checked mode), and with
 * MM_USERS for an mm whose last user is gone.  No scheduling point.
 */
#define mm_api_ok(mm, need)                                                    \
	__mm_api_ok(mm, need, __func__, __builtin_return_address(0))

/* host_api_ok() - the same for a host: NULL, or destroyed already. */
#define host_api_ok(host)                                                      \
	__host_api_ok(host, __func__, __builtin_return_address(0))

/*
 * api_free() - free() an object whose API pointer may outlive it: its
 * caller has poisoned its magic; in checked mode the free is deferred
 * through a quarantine so that the poison stays readable for a while.
 */
void api_free(void *obj);

/*
 * host_teardown_audit() - host_destroy()'s report of each mm still alive:
 * those kept only by notifier subscriptions left behind are reported and
 * detached, so they are freed; true if any other mm remains.
 */
bool host_teardown_audit(struct host *host, const void *caller);

#endif /* MMULAB_MM_DEBUG_H */
