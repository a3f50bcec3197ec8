// SPDX-License-Identifier: MIT
/*
 * A JSON Schema validator for the tests, for the subset of the 2020-12
 * draft that mmulab's schemas use (docs/NAME.schema.json): type, const,
 * enum, properties, required, additionalProperties, items, minItems,
 * maxItems, minimum, pattern, and $ref to "#/$defs/NAME".  A keyword it
 * does not know is an error, so a schema cannot silently check less than
 * it says.
 *
 *	json_check SCHEMA FILE	validate FILE against SCHEMA
 *	json_check --spans FILE	Chrome trace: B/E spans nest per thread
 *	json_check --counters FILE  Chrome trace: it has counter ("C")
 *				events, and each track's are well formed
 *
 * Exit status 0 when valid, 1 with the first few errors otherwise, 2 for
 * unreadable input.
 */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define MAX_ERRORS 10
#define MAX_TIDS 65536

static struct json_object *root_schema;
static unsigned int nr_errors;

static void error(const char *path, const char *fmt, const char *arg)
{
	if (nr_errors++ < MAX_ERRORS) {
		printf("%s: ", *path ? path : "(root)");
		printf(fmt, arg);
		putchar('\n');
	}
}

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_double:
		return "number";
	case json_type_int:
		return "integer";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	case json_type_string:
		return "string";
	}
	return "?";
}

static bool type_is(struct json_object *v, const char *t)
{
	const char *have = type_name(v);

	return !strcmp(have, t) ||
	       (!strcmp(t, "number") && !strcmp(have, "integer"));
}

static bool check_type(struct json_object *v, struct json_object *t)
{
	if (json_object_is_type(t, json_type_string))
		return type_is(v, json_object_get_string(t));
	for (size_t i = 0; i < json_object_array_length(t); i++)
		if (type_is(v, json_object_get_string(
				       json_object_array_get_idx(t, i))))
			return true;
	return false;
}

static void validate(struct json_object *v, struct json_object *s,
		     const char *path);

static struct json_object *resolve(const char *ref)
{
	struct json_object *defs, *target;

	if (strncmp(ref, "#/$defs/", 8) ||
	    !json_object_object_get_ex(root_schema, "$defs", &defs) ||
	    !json_object_object_get_ex(defs, ref + 8, &target))
		return NULL;
	return target;
}

static void child_path(char *buf, size_t len, const char *path,
		       const char *key, long idx)
{
	if (key)
		snprintf(buf, len, "%s.%s", path, key);
	else
		snprintf(buf, len, "%s[%ld]", path, idx);
}

static void check_object(struct json_object *v, struct json_object *s,
			 const char *path)
{
	struct json_object *props = NULL, *addl = NULL, *req = NULL, *ps;
	char sub[512];

	if (!json_object_is_type(v, json_type_object))
		return;
	json_object_object_get_ex(s, "properties", &props);
	json_object_object_get_ex(s, "additionalProperties", &addl);
	if (json_object_object_get_ex(s, "required", &req))
		for (size_t i = 0; i < json_object_array_length(req); i++) {
			const char *k = json_object_get_string(
				json_object_array_get_idx(req, i));

			if (!json_object_object_get_ex(v, k, NULL))
				error(path, "missing required field '%s'", k);
		}
	json_object_object_foreach(v, key, val) {
		child_path(sub, sizeof(sub), path, key, 0);
		if (props && json_object_object_get_ex(props, key, &ps))
			validate(val, ps, sub);
		else if (addl && json_object_is_type(addl, json_type_boolean)) {
			if (!json_object_get_boolean(addl))
				error(path, "unexpected field '%s'", key);
		} else if (addl) {
			validate(val, addl, sub);
		}
	}
}

static void check_array(struct json_object *v, struct json_object *s,
			const char *path)
{
	struct json_object *items, *lim;
	size_t n;
	char sub[512];

	if (!json_object_is_type(v, json_type_array))
		return;
	n = json_object_array_length(v);
	if (json_object_object_get_ex(s, "minItems", &lim) &&
	    n < (size_t)json_object_get_int64(lim))
		error(path, "%s", "too few items");
	if (json_object_object_get_ex(s, "maxItems", &lim) &&
	    n > (size_t)json_object_get_int64(lim))
		error(path, "%s", "too many items");
	if (!json_object_object_get_ex(s, "items", &items))
		return;
	for (size_t i = 0; i < n; i++) {
		child_path(sub, sizeof(sub), path, NULL, i);
		validate(json_object_array_get_idx(v, i), items, sub);
	}
}

static void check_scalar(struct json_object *v, struct json_object *s,
			 const char *path)
{
	struct json_object *k;
	regex_t re;

	if (json_object_object_get_ex(s, "minimum", &k) &&
	    type_is(v, "number") &&
	    json_object_get_double(v) < json_object_get_double(k))
		error(path, "%s", "below the minimum");
	if (json_object_object_get_ex(s, "pattern", &k) &&
	    json_object_is_type(v, json_type_string)) {
		if (regcomp(&re, json_object_get_string(k),
			    REG_EXTENDED | REG_NOSUB)) {
			error(path, "bad pattern '%s'",
			      json_object_get_string(k));
			return;
		}
		if (regexec(&re, json_object_get_string(v), 0, NULL, 0))
			error(path, "'%s' does not match the pattern",
			      json_object_get_string(v));
		regfree(&re);
	}
}

static bool in_enum(struct json_object *v, struct json_object *e)
{
	for (size_t i = 0; i < json_object_array_length(e); i++)
		if (json_object_equal(v, json_object_array_get_idx(e, i)))
			return true;
	return false;
}

static const char *const known[] = {
	"$schema", "$id", "$defs", "$ref", "title", "description", "type",
	"const", "enum", "properties", "required", "additionalProperties",
	"items", "minItems", "maxItems", "minimum", "pattern", NULL,
};

static bool known_keyword(const char *k)
{
	for (unsigned int i = 0; known[i]; i++)
		if (!strcmp(known[i], k))
			return true;
	return false;
}

static void validate(struct json_object *v, struct json_object *s,
		     const char *path)
{
	struct json_object *k;

	json_object_object_foreach(s, key, val) {
		(void)val;
		if (!known_keyword(key))
			error(path, "schema keyword '%s' is not supported",
			      key);
	}
	if (json_object_object_get_ex(s, "$ref", &k)) {
		struct json_object *t = resolve(json_object_get_string(k));

		if (!t)
			error(path, "unresolved $ref '%s'",
			      json_object_get_string(k));
		else
			validate(v, t, path);
	}
	if (json_object_object_get_ex(s, "type", &k) && !check_type(v, k)) {
		error(path, "unexpected type %s", type_name(v));
		return;
	}
	if (json_object_object_get_ex(s, "const", &k) &&
	    !json_object_equal(v, k))
		error(path, "'%s' is not the expected constant",
		      json_object_to_json_string(v));
	if (json_object_object_get_ex(s, "enum", &k) && !in_enum(v, k))
		error(path, "%s is not one of the allowed values",
		      json_object_to_json_string(v));
	check_object(v, s, path);
	check_array(v, s, path);
	check_scalar(v, s, path);
}

/* Every E closes a B of the same thread; nothing stays open. */
static int check_spans(struct json_object *doc)
{
	static int depth[MAX_TIDS];
	struct json_object *ev, *e, *ph, *tid;

	if (!json_object_object_get_ex(doc, "traceEvents", &ev) ||
	    !json_object_is_type(ev, json_type_array)) {
		error("", "%s", "no traceEvents array");
		return 1;
	}
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		int t;

		e = json_object_array_get_idx(ev, i);
		if (!json_object_object_get_ex(e, "ph", &ph) ||
		    !json_object_object_get_ex(e, "tid", &tid))
			continue;
		t = json_object_get_int(tid);
		if (t < 0 || t >= MAX_TIDS)
			continue;
		if (!strcmp(json_object_get_string(ph), "B"))
			depth[t]++;
		else if (!strcmp(json_object_get_string(ph), "E") &&
			 --depth[t] < 0)
			error("traceEvents", "%s", "an E without its B");
	}
	for (int t = 0; t < MAX_TIDS; t++)
		if (depth[t] > 0)
			error("traceEvents", "%s", "a B without its E");
	return nr_errors ? 1 : 0;
}

#define MAX_TRACKS 256

/*
 * A counter track is the "C" events of one name: each has a time and
 * args of non-negative integers, always the same keys, and the times
 * increase.
 */
static void check_counter(struct json_object *e, const char **names,
			  double *last, struct json_object **keys,
			  unsigned int *nr)
{
	struct json_object *name, *ts, *args, *k;
	const char *n;
	unsigned int t;

	if (!json_object_object_get_ex(e, "name", &name) ||
	    !json_object_object_get_ex(e, "ts", &ts) ||
	    !json_object_object_get_ex(e, "args", &args) ||
	    !json_object_is_type(args, json_type_object) ||
	    !json_object_object_length(args) ||
	    json_object_object_get_ex(e, "tid", NULL)) {
		error("traceEvents", "%s", "a C event without name, ts and "
			  "args, or with a tid");
		return;
	}
	n = json_object_get_string(name);
	for (t = 0; t < *nr && strcmp(names[t], n); t++)
		;
	if (t == *nr) {
		if (*nr == MAX_TRACKS)
			return;
		names[t] = n;
		keys[t] = args;
		last[t] = -1;
		(*nr)++;
	}
	if (json_object_get_double(ts) <= last[t])
		error("traceEvents", "counter track '%s': time goes back", n);
	last[t] = json_object_get_double(ts);
	if (json_object_object_length(args) !=
	    json_object_object_length(keys[t]))
		error("traceEvents", "counter track '%s': args change", n);
	json_object_object_foreach(args, key, val) {
		if (!json_object_is_type(val, json_type_int) ||
		    json_object_get_int64(val) < 0)
			error("traceEvents", "counter '%s' is not a count", key);
		if (!json_object_object_get_ex(keys[t], key, &k))
			error("traceEvents", "counter track '%s': args change",
			      n);
	}
}

static int check_counters(struct json_object *doc)
{
	static const char *names[MAX_TRACKS];
	static double last[MAX_TRACKS];
	static struct json_object *keys[MAX_TRACKS];
	struct json_object *ev, *e, *ph;
	unsigned int nr = 0;

	if (!json_object_object_get_ex(doc, "traceEvents", &ev) ||
	    !json_object_is_type(ev, json_type_array)) {
		error("", "%s", "no traceEvents array");
		return 1;
	}
	for (size_t i = 0; i < json_object_array_length(ev); i++) {
		e = json_object_array_get_idx(ev, i);
		if (json_object_object_get_ex(e, "ph", &ph) &&
		    !strcmp(json_object_get_string(ph), "C"))
			check_counter(e, names, last, keys, &nr);
	}
	if (!nr)
		error("traceEvents", "%s", "no counter track");
	else
		printf("%u counter tracks\n", nr);
	return nr_errors ? 1 : 0;
}

static struct json_object *load(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	if (!o)
		fprintf(stderr, "json_check: %s: %s\n", path,
			json_util_get_last_err());
	return o;
}

int main(int argc, char **argv)
{
	struct json_object *doc;
	int ret;

	if (argc != 3) {
		fprintf(stderr,
			"usage: json_check SCHEMA FILE | --spans FILE | "
			"--counters FILE\n");
		return 2;
	}
	doc = load(argv[2]);
	if (!doc)
		return 2;
	if (!strcmp(argv[1], "--spans")) {
		ret = check_spans(doc);
	} else if (!strcmp(argv[1], "--counters")) {
		ret = check_counters(doc);
	} else {
		root_schema = load(argv[1]);
		if (!root_schema)
			return 2;
		validate(doc, root_schema, "");
		ret = nr_errors ? 1 : 0;
		json_object_put(root_schema);
	}
	if (nr_errors > MAX_ERRORS)
		printf("(%u errors)\n", nr_errors);
	json_object_put(doc);
	return ret;
}
