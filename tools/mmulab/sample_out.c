// SPDX-License-Identifier: MIT
/*
 * The sampled series written out: the report's "series" object, Chrome
 * counter events for the trace, and gnuplot panels.
 *
 * A panel is one subject's group of series ("host h0: frames, swap and
 * KSM", "vm vm0: SPTEs present, ..."); its series are named after the
 * report's counters.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "mmulab.h"
#include "plot.h"
#include "sample_int.h"

/* Panel @p of subject @s: title into @buf; series [*first, +*n). */
static void panel_of(const struct sample_subject *s, unsigned int p,
		     char *buf, size_t len, unsigned int *first,
		     unsigned int *n)
{
	const struct sample_kind *k = &sample_kinds[s->kind];

	snprintf(buf, len, "%s %s: %s", k->kind, s->name, k->panels[p].what);
	*first = k->panels[p].first;
	*n = k->panels[p].n;
}

static const char *clock_name(void)
{
	return sm.det ? "scheduling_points" : "us";
}

/* ---------------------------------------------------------------------
 * JSON
 */

static struct json_object *jvalues(const struct sample_subject *s,
				   unsigned int col)
{
	struct json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < sm.nr; i++) {
		unsigned long v = sm.v[i][s->col + col];

		json_object_array_add(a, v == SAMPLE_NONE ? NULL :
					 json_object_new_uint64(v));
	}
	return a;
}

struct json_object *sample_json(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *t = json_object_new_array();
	struct json_object *subj = json_object_new_array();

	json_object_object_add(o, "clock", json_object_new_string(clock_name()));
	json_object_object_add(o, "interval",
			       json_object_new_uint64(sm.interval));
	json_object_object_add(o, "decimations",
			       json_object_new_uint64(sm.decimations));
	json_object_object_add(o, "subjects_dropped",
			       json_object_new_uint64(sm.subjects_dropped));
	for (unsigned int i = 0; i < sm.nr; i++)
		json_object_array_add(t, json_object_new_uint64(sm.t[i]));
	json_object_object_add(o, "t", t);
	for (unsigned int i = 0; i < sm.nr_subjects; i++) {
		const struct sample_subject *s = &sm.subj[i];
		const struct sample_kind *k = &sample_kinds[s->kind];
		struct json_object *so = json_object_new_object();
		struct json_object *series = json_object_new_object();

		json_object_object_add(so, "kind",
				       json_object_new_string(k->kind));
		json_object_object_add(so, "name",
				       json_object_new_string(s->name));
		for (unsigned int c = 0; c < k->nr_cols; c++)
			json_object_object_add(series, k->cols[c],
					       jvalues(s, c));
		json_object_object_add(so, "series", series);
		json_object_array_add(subj, so);
	}
	json_object_object_add(o, "subjects", subj);
	return o;
}

/* ---------------------------------------------------------------------
 * Chrome counter events
 */

static void chrome_panel(FILE *f, const struct sample_subject *s,
			 unsigned int p)
{
	const struct sample_kind *k = &sample_kinds[s->kind];
	struct json_object *jtitle;
	unsigned int first, n;
	char title[128];

	panel_of(s, p, title, sizeof(title), &first, &n);
	jtitle = json_object_new_string(title);
	for (unsigned int i = 0; i < sm.nr; i++) {
		const unsigned long *v = &sm.v[i][s->col];

		if (v[first] == SAMPLE_NONE)
			continue;
		fprintf(f, ",\n{\"ph\":\"C\",\"pid\":1,\"ts\":%llu.%03u,"
			   "\"name\":%s,\"cat\":\"counter\",\"args\":{",
			(unsigned long long)(sm.ts_ns[i] / 1000),
			(unsigned int)(sm.ts_ns[i] % 1000),
			json_object_to_json_string(jtitle));
		for (unsigned int c = first; c < first + n; c++)
			fprintf(f, "%s\"%s\":%lu", c > first ? "," : "",
				k->cols[c], v[c]);
		fputs("}}", f);
	}
	json_object_put(jtitle);
}

void sample_chrome_counters(FILE *f)
{
	for (unsigned int i = 0; i < sm.nr_subjects; i++)
		for (unsigned int p = 0;
		     p < sample_kinds[sm.subj[i].kind].nr_panels; p++)
			chrome_panel(f, &sm.subj[i], p);
}

/* ---------------------------------------------------------------------
 * gnuplot
 */

/* Series @c of @s moved off zero at some sample. */
static bool series_used(const struct sample_subject *s, unsigned int c)
{
	for (unsigned int i = 0; i < sm.nr; i++) {
		unsigned long v = sm.v[i][s->col + c];

		if (v && v != SAMPLE_NONE)
			return true;
	}
	return false;
}

static double x_of(unsigned int i)
{
	return sm.det ? (double)sm.t[i] : sm.t[i] / 1000.0;
}

/*
 * One panel: its data as a datablock, then the plot.  Series that stay 0
 * are left out, but for the panel's first.
 */
static void plot_panel(FILE *f, const struct sample_subject *s,
		       unsigned int p, unsigned int id)
{
	const struct sample_kind *k = &sample_kinds[s->kind];
	unsigned int first, n, cols[SAMPLE_MAX_COLS], nr = 0;
	char title[128];

	panel_of(s, p, title, sizeof(title), &first, &n);
	for (unsigned int c = first; c < first + n; c++)
		if (c == first || series_used(s, c))
			cols[nr++] = c;
	fprintf(f, "$d%u << EOD\n", id);
	for (unsigned int i = 0; i < sm.nr; i++) {
		if (sm.v[i][s->col + first] == SAMPLE_NONE)
			continue;
		fprintf(f, "%.3f", x_of(i));
		for (unsigned int j = 0; j < nr; j++)
			fprintf(f, " %lu", sm.v[i][s->col + cols[j]]);
		fputc('\n', f);
	}
	fputs("EOD\nset title ", f);
	plot_str(f, title);
	fputs("\nset ylabel ", f);
	plot_str(f, p == 0 && s->kind == SAMPLE_HOST ? "pages" : "count");
	fputs("\nplot ", f);
	for (unsigned int j = 0; j < nr; j++) {
		fprintf(f, "%s$d%u using 1:%u with steps lw 2 title ",
			j ? ", " : "", id, j + 2);
		plot_str(f, k->cols[cols[j]]);
	}
	fputc('\n', f);
}

static unsigned int nr_panels(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < sm.nr_subjects; i++)
		n += sample_kinds[sm.subj[i].kind].nr_panels;
	return n;
}

static void plot_axes(FILE *f)
{
	double xmax = sm.nr ? x_of(sm.nr - 1) : 1;

	fputs("set xlabel ", f);
	plot_str(f, sm.det ? "scheduling points" : "time (ms)");
	fprintf(f, "\nset xrange [0:%g]\nset yrange [0:*]\n",
		xmax > 0 ? xmax : 1);
}

/* Panels [@from, @to) (in subject order) into @out. */
static int plot_file(const char *out, const char *scenario,
		     unsigned int from, unsigned int to)
{
	struct plot p;
	unsigned int id = 0;
	char title[160];
	int ret;

	snprintf(title, sizeof(title), "mmulab run %s (%s)", scenario,
		 sm.det ? "seeded: the clock is scheduling points" :
			  "wall-clock time");
	ret = plot_open(&p, out, to - from, title);
	if (ret)
		return ret;
	plot_axes(p.f);
	for (unsigned int i = 0; i < sm.nr_subjects; i++) {
		const struct sample_subject *s = &sm.subj[i];

		for (unsigned int k = 0; k < sample_kinds[s->kind].nr_panels;
		     k++, id++)
			if (id >= from && id < to)
				plot_panel(p.f, s, k, id);
	}
	return plot_close(&p);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* DIR/KIND-NAME-P.svg, with what is not a name character as '_'. */
static void panel_path(char *buf, size_t len, const char *dir,
		       const struct sample_subject *s, unsigned int p)
{
	char name[SAMPLE_NAME];

	snprintf(name, sizeof(name), "%s", s->name);
	for (char *c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_.", *c) || (c == name && *c == '.'))
			*c = '_';
	snprintf(buf, len, "%s/%s-%s-%u.svg", dir,
		 sample_kinds[s->kind].kind, name, p);
}

int sample_plot(const char *path, const char *scenario)
{
	unsigned int id = 0;
	char out[4096];
	int ret;

	if (!sm.nr_subjects) {
		fprintf(stderr, "mmulab: --plot: the run has nothing to "
				"plot (no host was sampled)\n");
		return -ENODATA;
	}
	if (!is_dir(path))
		return plot_file(path, scenario, 0, nr_panels());
	for (unsigned int i = 0; i < sm.nr_subjects; i++) {
		const struct sample_subject *s = &sm.subj[i];

		for (unsigned int k = 0; k < sample_kinds[s->kind].nr_panels;
		     k++, id++) {
			panel_path(out, sizeof(out), path, s, k);
			ret = plot_file(out, scenario, id, id + 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}
