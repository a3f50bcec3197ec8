// SPDX-License-Identifier: MIT
/*
 * Filling and rendering struct report.
 */
#include <stdarg.h>
#include <string.h>

#include <json-c/json.h>

#include "mmulab.h"
#include "report.h"

void report_init(struct report *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	spin_lock_init(&r->lock);
	r->scenario = name;
	r->content = "?";
	r->change_pte = "?";
}

void report_step(struct report *r, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Steps are part of the run: a seeded run hashes them. */
	det_log("step: %s", line);

	spin_lock(&r->lock);
	if (r->nr_steps < REPORT_MAX_STEPS)
		memcpy(r->steps[r->nr_steps++], line, sizeof(line));
	else
		r->steps_dropped++;
	spin_unlock(&r->lock);
}

bool report_check(struct report *r, bool ok, const char *fmt, ...)
{
	char line[REPORT_LINE];
	va_list ap;

	if (!ok) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		det_log("check failed: %s", line);
	}

	spin_lock(&r->lock);
	r->checks++;
	if (!ok) {
		r->data_errors++;
		if (r->nr_failures < REPORT_MAX_FAILURES)
			memcpy(r->failures[r->nr_failures++], line,
			       sizeof(line));
		else
			r->failures_dropped++;
	}
	spin_unlock(&r->lock);
	return ok;
}

void report_sample_frames(struct report *r, struct host *host)
{
	unsigned long used = r->frames_total - host_nr_free_frames(host);

	spin_lock(&r->lock);
	if (used > r->frames_used_peak)
		r->frames_used_peak = used;
	spin_unlock(&r->lock);
}

void report_host_config(struct report *r, struct host *host)
{
	static const char *const content[] = {
		[HOST_CONTENT_DATA] = "data",
		[HOST_CONTENT_TAG] = "tag",
	};
	static const char *const change_pte[] = {
		[CHANGE_PTE_NONE] = "none",
		[CHANGE_PTE_BOOKENDED] = "bookended",
		[CHANGE_PTE_DIRECT] = "direct",
	};
	const struct host_config *cfg = host_config_of(host);

	r->frames_total = cfg->nr_frames;
	if ((unsigned int)cfg->content < MMULAB_ARRAY_SIZE(content))
		r->content = content[cfg->content];
	if ((unsigned int)cfg->change_pte < MMULAB_ARRAY_SIZE(change_pte))
		r->change_pte = change_pte[cfg->change_pte];
}

void report_host_counters(struct report *r, struct host *host)
{
	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		r->vm_events[i] = host_vm_event(host, i);
	host_notify_events(host, r->invalidations, MMU_NOTIFY_NR_EVENTS);
}

struct report_sub *report_add_sub(struct report *r, const char *name,
				  const char *type)
{
	struct report_sub *s;

	if (r->nr_subs >= REPORT_MAX_SUBS)
		return NULL;
	s = &r->subs[r->nr_subs++];
	s->name = name;
	s->type = type;
	return s;
}

void report_sub_count(struct report_sub *s, const char *name,
		      unsigned long count)
{
	if (s->nr_callbacks < REPORT_MAX_COUNTS)
		s->callbacks[s->nr_callbacks++] =
			(struct report_count){ name, count };
}

bool report_failed(const struct report *r)
{
	return r->data_errors || r->warnings;
}

const char *errno_name(long err)
{
	const char *name;

	if (!err)
		return "0";
	name = strerrorname_np(err < 0 ? -err : err);
	return name ? name : "E?";
}

/* ---------------------------------------------------------------------
 * Text
 */

#define LABEL_W 16
#define NAME_W 22
#define VALUE_W 6
#define CELLS_PER_LINE 2

static const char *event_name(unsigned int event)
{
	const char *name = mmu_notifier_event_name(event);

	return name ? name : "?";
}

/* Print @n named values as a grid under @label, skipping zeros if asked. */
static void print_grid(FILE *f, const char *label,
		       const struct report_count *c, unsigned int n,
		       bool skip_zero)
{
	unsigned int col = 0;

	fprintf(f, "%-*s", LABEL_W, label);
	for (unsigned int i = 0; i < n; i++) {
		if (skip_zero && !c[i].count)
			continue;
		if (col == CELLS_PER_LINE) {
			fprintf(f, "\n%-*s", LABEL_W, "");
			col = 0;
		}
		fprintf(f, "%s%-*s%*lu", col ? "  " : "", NAME_W, c[i].name,
			VALUE_W, c[i].count);
		col++;
	}
	if (!col && skip_zero)
		fputs("none", f);
	fputc('\n', f);
}

static unsigned int event_counts(const unsigned long *by_event,
				 struct report_count *c)
{
	for (unsigned int e = 0; e < MMU_NOTIFY_NR_EVENTS; e++)
		c[e] = (struct report_count){ event_name(e), by_event[e] };
	return MMU_NOTIFY_NR_EVENTS;
}

static void print_header(const struct report *r, FILE *f)
{
	fprintf(f, "mmulab %s: scenario %s on a %s host of %lu frames, "
		   "change_pte %s\n",
		MMULAB_VERSION, r->scenario, r->content, r->frames_total,
		r->change_pte);
	if (r->seeded)
		fprintf(f, "seed %llu: log hash %016llx, %lu scheduling "
			   "points, %lu switches, %u tasks\n",
			(unsigned long long)r->seed,
			(unsigned long long)r->det.log_hash, r->det.steps,
			r->det.switches, r->det.tasks);
}

static void print_steps(const struct report *r, FILE *f)
{
	fputs("\nsteps\n", f);
	for (unsigned int i = 0; i < r->nr_steps; i++)
		fprintf(f, "%4u  %s\n", i + 1, r->steps[i]);
	if (r->steps_dropped)
		fprintf(f, "      (%lu more)\n", r->steps_dropped);
}

static void print_subs(const struct report *r, FILE *f)
{
	struct report_count c[MMU_NOTIFY_NR_EVENTS];

	for (unsigned int i = 0; i < r->nr_subs; i++) {
		const struct report_sub *s = &r->subs[i];

		fprintf(f, "%-*s%s (%s)\n", LABEL_W, "subscriber", s->name,
			s->type);
		print_grid(f, "  callbacks", s->callbacks, s->nr_callbacks,
			   false);
		event_counts(s->by_event, c);
		print_grid(f, "  invalidations", c, MMU_NOTIFY_NR_EVENTS, true);
	}
}

static void print_mirror(const struct report_mirror *m, FILE *f)
{
	const struct report_count c[] = {
		{ "pages", m->pages },	       { "faults", m->faults },
		{ "retries", m->retries },     { "invalidations",
						 m->invalidations },
		{ "entries zapped", m->zapped }, { "device reads", m->reads },
		{ "device writes", m->writes }, { "incoherent",
						  m->incoherent },
	};

	print_grid(f, "mirror stats", c, MMULAB_ARRAY_SIZE(c), false);
}

static void print_failures(const struct report *r, FILE *f)
{
	if (!r->nr_failures)
		return;
	fputs("\nfailed checks\n", f);
	for (unsigned int i = 0; i < r->nr_failures; i++)
		fprintf(f, "      %s\n", r->failures[i]);
	if (r->failures_dropped)
		fprintf(f, "      (%lu more)\n", r->failures_dropped);
}

void report_print_text(const struct report *r, FILE *f)
{
	struct report_count c[NR_VM_EVENT_ITEMS];
	unsigned int n = 0;

	print_header(r, f);
	print_steps(r, f);

	fputc('\n', f);
	fprintf(f, "%-*stotal %lu, used peak %lu, free at end %lu\n",
		LABEL_W, "frames", r->frames_total, r->frames_used_peak,
		r->frames_free_end);
	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++) {
		const char *name = vm_event_name(i);

		if (name)
			c[n++] = (struct report_count){ name,
							r->vm_events[i] };
	}
	print_grid(f, "vm events", c, n, false);
	n = event_counts(r->invalidations, c);
	print_grid(f, "invalidations", c, n, false);
	print_subs(r, f);
	if (r->has_mirror)
		print_mirror(&r->mirror, f);
	fprintf(f, "%-*s%lu made, %lu data errors, %lu warnings\n", LABEL_W,
		"checks", r->checks, r->data_errors, r->warnings);
	print_failures(r, f);
	fprintf(f, "%-*s%s\n", LABEL_W, "result",
		report_failed(r) ? "FAIL" : "ok");
}

void report_print_summary(const struct report *r, FILE *f)
{
	fprintf(f, "%s: %s, %lu checks, %lu data errors, %lu warnings",
		r->scenario, report_failed(r) ? "FAIL" : "ok", r->checks,
		r->data_errors, r->warnings);
	if (r->seeded)
		fprintf(f, ", seed %llu log hash %016llx",
			(unsigned long long)r->seed,
			(unsigned long long)r->det.log_hash);
	fputc('\n', f);
}

/* ---------------------------------------------------------------------
 * JSON
 */

static void jadd(struct json_object *o, const char *key,
		 struct json_object *v)
{
	json_object_object_add(o, key, v);
}

static struct json_object *jcount(unsigned long v)
{
	return json_object_new_uint64(v);
}

static struct json_object *jcounts(const struct report_count *c,
				   unsigned int n)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < n; i++)
		jadd(o, c[i].name, jcount(c[i].count));
	return o;
}

static struct json_object *jevents(const unsigned long *by_event)
{
	struct report_count c[MMU_NOTIFY_NR_EVENTS];

	return jcounts(c, event_counts(by_event, c));
}

static struct json_object *jlines(const char (*lines)[REPORT_LINE],
				  unsigned int n)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(lines[i]));
	return a;
}

static struct json_object *jdet(const struct report *r)
{
	struct json_object *o;
	char hash[17];

	if (!r->seeded)
		return NULL;
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)r->det.log_hash);
	o = json_object_new_object();
	jadd(o, "seed", json_object_new_uint64(r->seed));
	jadd(o, "log_hash", json_object_new_string(hash));
	jadd(o, "steps", jcount(r->det.steps));
	jadd(o, "switches", jcount(r->det.switches));
	jadd(o, "tasks", jcount(r->det.tasks));
	return o;
}

static struct json_object *jhost(const struct report *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *frames = json_object_new_object();

	jadd(o, "content", json_object_new_string(r->content));
	jadd(o, "change_pte", json_object_new_string(r->change_pte));
	jadd(frames, "total", jcount(r->frames_total));
	jadd(frames, "used_peak", jcount(r->frames_used_peak));
	jadd(frames, "free_end", jcount(r->frames_free_end));
	jadd(o, "frames", frames);
	return o;
}

static struct json_object *jvm_events(const struct report *r)
{
	struct json_object *o = json_object_new_object();

	for (unsigned int i = 0; i < NR_VM_EVENT_ITEMS; i++) {
		const char *name = vm_event_name(i);

		if (name)
			jadd(o, name, jcount(r->vm_events[i]));
	}
	return o;
}

static struct json_object *jsubs(const struct report *r)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < r->nr_subs; i++) {
		const struct report_sub *s = &r->subs[i];
		struct json_object *o = json_object_new_object();

		jadd(o, "name", json_object_new_string(s->name));
		jadd(o, "type", json_object_new_string(s->type));
		jadd(o, "callbacks", jcounts(s->callbacks, s->nr_callbacks));
		jadd(o, "invalidations", jevents(s->by_event));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *jmirror(const struct report *r)
{
	const struct report_mirror *m = &r->mirror;
	struct json_object *o;

	if (!r->has_mirror)
		return NULL;
	o = json_object_new_object();
	jadd(o, "pages", jcount(m->pages));
	jadd(o, "faults", jcount(m->faults));
	jadd(o, "retries", jcount(m->retries));
	jadd(o, "invalidations", jcount(m->invalidations));
	jadd(o, "zapped", jcount(m->zapped));
	jadd(o, "reads", jcount(m->reads));
	jadd(o, "writes", jcount(m->writes));
	jadd(o, "incoherent", jcount(m->incoherent));
	return o;
}

static struct json_object *jreport(const struct report *r)
{
	struct json_object *o = json_object_new_object();

	jadd(o, "schema", json_object_new_string(REPORT_SCHEMA));
	jadd(o, "version", json_object_new_string(MMULAB_VERSION));
	jadd(o, "scenario", json_object_new_string(r->scenario));
	jadd(o, "result",
	     json_object_new_string(report_failed(r) ? "fail" : "ok"));
	jadd(o, "deterministic", jdet(r));
	jadd(o, "host", jhost(r));
	jadd(o, "steps", jlines(r->steps, r->nr_steps));
	jadd(o, "steps_dropped", jcount(r->steps_dropped));
	jadd(o, "vm_events", jvm_events(r));
	jadd(o, "invalidations", jevents(r->invalidations));
	jadd(o, "subscribers", jsubs(r));
	jadd(o, "mirror", jmirror(r));
	jadd(o, "checks", jcount(r->checks));
	jadd(o, "data_errors", jcount(r->data_errors));
	jadd(o, "warnings", jcount(r->warnings));
	jadd(o, "failures", jlines(r->failures, r->nr_failures));
	jadd(o, "failures_dropped", jcount(r->failures_dropped));
	return o;
}

int report_print_json(const struct report *r, FILE *f)
{
	struct json_object *o = jreport(r);
	const char *s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int ret = fprintf(f, "%s\n", s) < 0 ? -EIO : 0;

	json_object_put(o);
	return ret;
}
