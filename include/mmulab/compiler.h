/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every mmulab header: branch hints, container_of,
 * error pointers and the fixed-width types the kernel spells u8..u64.
 */
#ifndef MMULAB_COMPILER_H
#define MMULAB_COMPILER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef container_of
/**
 * container_of() - the structure that embeds @ptr as its field @member.
 */
#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define MMULAB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Error pointers, as in the kernel: functions that return an object return
 * either a valid pointer or a negative errno folded into the last page of
 * the address space.
 */
#define MAX_ERRNO 4095

/** ERR_PTR() - encode the negative errno @err as a pointer. */
static inline void *ERR_PTR(long err)
{
	return (void *)err;
}

/** PTR_ERR() - the negative errno encoded in @ptr. */
static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

/** IS_ERR() - true when @ptr encodes an errno rather than an object. */
static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}

/** IS_ERR_OR_NULL() - true for NULL or an encoded errno. */
static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR(ptr);
}

#endif /* MMULAB_COMPILER_H */
