/* SPDX-License-Identifier: MIT */
/*
 * Tracepoints, as Linux's <linux/tracepoint.h>: the one way to observe
 * what the model does.  A subsystem declares an event once in a header
 * under <mmulab/trace/events/> with DECLARE_TRACE(), defines it in one of
 * its .c files with DEFINE_TRACE(), and fires it with one line,
 * trace_NAME(args), at the place the event happens.  Anyone (the checker's
 * history, the `mmulab` trace writers and report counters, tests, a
 * third-party program) attaches a probe with register_trace_NAME(probe,
 * data), which calls tracepoint_probe_register().
 *
 * Observation must not change which interleavings the deterministic
 * scheduler explores, so:
 *  - the enabled check, taken at every firing site, is one relaxed load
 *    of a flag that registration sets (Linux's static key); a disabled
 *    event costs that load and a not-taken branch, and is never a
 *    scheduling point;
 *  - a fired event's read side (finding its probes) is two atomic
 *    additions on counters of the layer's own and one load: no lock, no
 *    scheduling point.  The probes run on the task that fired the
 *    event, in the order they were registered.  A probe that takes a lock
 *    or sleeps adds that scheduling point itself, as a test hook that
 *    places another event at an exact step must.
 *
 * Registration may run while the event fires on other tasks: it publishes
 * a new array of probes and never frees one a reader may hold.  As in
 * Linux, a probe that was unregistered may still be running, or about to
 * run, until tracepoint_synchronize_unregister() returns; free the probe's
 * data only after that.
 */
#ifndef MMULAB_TRACEPOINT_H
#define MMULAB_TRACEPOINT_H

#include <stdbool.h>

#include <mmulab/compiler.h>

/**
 * struct tracepoint_func - one registered probe.
 * @func: the probe, called as func(data, args...).
 * @data: its first argument.
 */
struct tracepoint_func {
	void *func;
	void *data;
};

/**
 * struct tracepoint - one event.
 * @name: the event's name, as in "trace_" NAME.
 * @enabled: whether any probe is registered (read with a relaxed load).
 * @funcs: the probes, ending with a NULL @func; NULL when there are none.
 */
struct tracepoint {
	const char *name;
	int enabled;
	struct tracepoint_func *funcs;
};

/**
 * tracepoint_probe_register() - attach @probe with @data to @tp.
 * @tp: the event (&__tracepoint_NAME; register_trace_NAME() passes it).
 * @probe: a function of the event's prototype with a leading void *.
 * @data: passed to @probe as that first argument.
 *
 * Probes run in the order they were registered.  May sleep (it takes the
 * tracepoints' mutex); safe while the event fires on other tasks.
 *
 * Return: 0; -EINVAL if @tp or @probe is NULL; -EEXIST if @probe is
 * already registered with @data; -ENOMEM.
 */
int tracepoint_probe_register(struct tracepoint *tp, void *probe, void *data);

/**
 * tracepoint_probe_unregister() - detach the @probe registered with @data.
 * @tp: the event.
 * @probe: the probe.
 * @data: the data it was registered with.
 *
 * The probe may still run on a task that fired the event before the call,
 * until tracepoint_synchronize_unregister() returns.  May sleep.
 *
 * Return: 0; -EINVAL if @tp or @probe is NULL; -ENOENT if that probe is
 * not registered with @data.
 */
int tracepoint_probe_unregister(struct tracepoint *tp, void *probe,
				void *data);

/**
 * tracepoint_synchronize_unregister() - wait until every probe call that
 * began before this call has returned, and free the probe arrays that
 * unregistration replaced.  Call it before freeing a probe's data.  Must
 * not be called from a probe.  May sleep.
 */
void tracepoint_synchronize_unregister(void);

/*
 * The read side, for the macros below: which of the two reader counters a
 * probe call holds (tracepoint_synchronize_unregister() waits for each to
 * drain in turn, as SRCU does).  Atomics of the layer's own, never
 * scheduling points.
 */
extern unsigned int __tracepoint_reader_idx;
extern unsigned long __tracepoint_readers[2];

static inline unsigned int __tracepoint_read_lock(void)
{
	unsigned int idx =
		__atomic_load_n(&__tracepoint_reader_idx, __ATOMIC_SEQ_CST) & 1;

	__atomic_fetch_add(&__tracepoint_readers[idx], 1, __ATOMIC_SEQ_CST);
	return idx;
}

static inline void __tracepoint_read_unlock(unsigned int idx)
{
	__atomic_fetch_sub(&__tracepoint_readers[idx], 1, __ATOMIC_SEQ_CST);
}

#define TP_PROTO(args...) args
#define TP_ARGS(args...) args

/*
 * DECLARE_TRACE(name, TP_PROTO(proto), TP_ARGS(args)) declares the event
 * and the functions around it:
 *   trace_NAME(args)                  fire it (one relaxed load if unused);
 *   trace_NAME_enabled()              whether any probe is registered;
 *   register_trace_NAME(probe, data)  tracepoint_probe_register();
 *   unregister_trace_NAME(probe, data) tracepoint_probe_unregister().
 * A probe is void probe(void *data, proto).
 */
#define DECLARE_TRACE(name, proto, args)                                       \
	extern struct tracepoint __tracepoint_##name;                          \
	static inline bool trace_##name##_enabled(void)                        \
	{                                                                      \
		return __atomic_load_n(&__tracepoint_##name.enabled,           \
				       __ATOMIC_RELAXED);                      \
	}                                                                      \
	static inline void __do_trace_##name(proto)                            \
	{                                                                      \
		unsigned int __idx = __tracepoint_read_lock();                 \
		struct tracepoint_func *__it = __atomic_load_n(                \
			&__tracepoint_##name.funcs, __ATOMIC_SEQ_CST);         \
                                                                               \
		for (; __it && __it->func; __it++)                             \
			((void (*)(void *, proto))__it->func)(__it->data,      \
							      args);           \
		__tracepoint_read_unlock(__idx);                               \
	}                                                                      \
	static inline void trace_##name(proto)                                 \
	{                                                                      \
		if (unlikely(trace_##name##_enabled()))                        \
			__do_trace_##name(args);                               \
	}                                                                      \
	static inline int register_trace_##name(void (*probe)(void *, proto),  \
						void *data)                    \
	{                                                                      \
		return tracepoint_probe_register(&__tracepoint_##name,         \
						 (void *)probe, data);         \
	}                                                                      \
	static inline int unregister_trace_##name(                             \
		void (*probe)(void *, proto), void *data)                      \
	{                                                                      \
		return tracepoint_probe_unregister(&__tracepoint_##name,       \
						   (void *)probe, data);       \
	}

/** DEFINE_TRACE() - define the event @name, in one .c file only. */
#define DEFINE_TRACE(name) struct tracepoint __tracepoint_##name = { #name }

#endif /* MMULAB_TRACEPOINT_H */
