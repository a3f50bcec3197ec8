// SPDX-License-Identifier: MIT
/*
 * Tracepoint registration (see <mmulab/tracepoint.h>).
 *
 * Each update builds a new NULL-terminated array of probes and publishes
 * it; readers load it inside a
 * read section counted on one of two counters.  The replaced array goes on
 * a list that tracepoint_synchronize_unregister() frees once both counters
 * have drained in turn, as SRCU's grace period does (Linux frees the old
 * array with call_rcu(); the model has no RCU whose read side is not a
 * scheduling point, so it counts its readers itself).
 */
#include <stdlib.h>

#include <mmulab/sync.h>
#include <mmulab/tracepoint.h>

unsigned int __tracepoint_reader_idx;
unsigned long __tracepoint_readers[2];

/* Serialises updates; readers never take it. */
DEFINE_MUTEX(tracepoints_mutex);

/* Arrays replaced by an update, freed by the next grace period. */
struct tp_retired {
	struct tp_retired *next;
	struct tracepoint_func *funcs;
};
static struct tp_retired *retired;

static unsigned int nr_probes(const struct tracepoint_func *funcs)
{
	unsigned int n = 0;

	while (funcs && funcs[n].func)
		n++;
	return n;
}

static int find_probe(const struct tracepoint_func *funcs, void *probe,
		      void *data)
{
	for (unsigned int i = 0; funcs && funcs[i].func; i++)
		if (funcs[i].func == probe && funcs[i].data == data)
			return i;
	return -1;
}

/* Publish @funcs (NULL: no probe) and retire the array it replaces. */
static int publish(struct tracepoint *tp, struct tracepoint_func *funcs)
{
	struct tp_retired *r = NULL;

	if (tp->funcs) {
		r = malloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->funcs = tp->funcs;
		r->next = retired;
		retired = r;
	}
	__atomic_store_n(&tp->funcs, funcs, __ATOMIC_SEQ_CST);
	__atomic_store_n(&tp->enabled, funcs != NULL, __ATOMIC_RELAXED);
	return 0;
}

/*
 * The probes of @tp with (@probe, @data) added at the end (@add) or
 * removed (@victim, its index), in a new array; NULL when none is left.
 */
static struct tracepoint_func *new_funcs(const struct tracepoint *tp,
					 void *probe, void *data, bool add,
					 int victim, int *err)
{
	unsigned int n = nr_probes(tp->funcs), j = 0;
	struct tracepoint_func *funcs;

	*err = 0;
	if (!add && n == 1)
		return NULL;
	funcs = malloc((add ? n + 2 : n) * sizeof(*funcs));
	if (!funcs) {
		*err = -ENOMEM;
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		if ((int)i != victim)
			funcs[j++] = tp->funcs[i];
	if (add)
		funcs[j++] = (struct tracepoint_func){ probe, data };
	funcs[j] = (struct tracepoint_func){ NULL, NULL };
	return funcs;
}

static int update(struct tracepoint *tp, void *probe, void *data, bool add)
{
	struct tracepoint_func *funcs = NULL;
	int ret, victim;

	if (!tp || !probe)
		return -EINVAL;
	mutex_lock(&tracepoints_mutex);
	victim = find_probe(tp->funcs, probe, data);
	if (add && victim >= 0)
		ret = -EEXIST;
	else if (!add && victim < 0)
		ret = -ENOENT;
	else
		funcs = new_funcs(tp, probe, data, add, add ? -1 : victim,
				  &ret);
	if (!ret) {
		ret = publish(tp, funcs);
		if (ret)
			free(funcs);
	}
	mutex_unlock(&tracepoints_mutex);
	return ret;
}

int tracepoint_probe_register(struct tracepoint *tp, void *probe, void *data)
{
	return update(tp, probe, data, true);
}

int tracepoint_probe_unregister(struct tracepoint *tp, void *probe,
				void *data)
{
	return update(tp, probe, data, false);
}

/* Flip the readers' counter and wait for the old one to drain. */
static void flip_and_drain(void)
{
	unsigned int old = __atomic_fetch_add(&__tracepoint_reader_idx, 1,
					      __ATOMIC_SEQ_CST) & 1;

	/* A reader may sleep in a probe (a test hook): let it run. */
	while (__atomic_load_n(&__tracepoint_readers[old], __ATOMIC_SEQ_CST))
		msleep(1);
}

void tracepoint_synchronize_unregister(void)
{
	struct tp_retired *r;

	mutex_lock(&tracepoints_mutex);
	/*
	 * Two flips, as SRCU: a reader that read the index before the first
	 * flip but counted itself after the first drain is on the counter
	 * the second drain waits for.
	 */
	flip_and_drain();
	flip_and_drain();
	r = retired;
	retired = NULL;
	mutex_unlock(&tracepoints_mutex);
	while (r) {
		struct tp_retired *next = r->next;

		free(r->funcs);
		free(r);
		r = next;
	}
}
