// SPDX-License-Identifier: MIT
/*
 * The scenario parser's values: words, numbers, sizes, names and
 * references, counters, and every other argument of a statement, each
 * checked against what the statement table (script_parse.c) expects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>

#include "mmulab.h"
#include "counter.h"
#include "script_parse.h"

int perr(struct parser *p, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u:%u: error: ", p->path, p->line, col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

bool word_is(const struct word *w, const char *s)
{
	return strlen(s) == w->len && !memcmp(w->s, s, w->len);
}

/*
 * Edit distance of two short words, a swap of neighbours counting one
 * (optimal string alignment), for "did you mean".
 */
static unsigned int edit_distance(const char *a, unsigned int la,
				  const char *b)
{
	unsigned int lb = strlen(b), d[3][40];

	if (la >= 40 || lb >= 40)
		return 99;
	for (unsigned int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int *cur = d[i % 3], *prev = d[(i + 2) % 3];
		unsigned int *prev2 = d[(i + 1) % 3];

		cur[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int v = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[la % 3][lb];
}

/* The closest of @n candidates to @w, or NULL if none is close. */
const char *closest(const struct word *w, const char *const *cands,
		    unsigned int n)
{
	const char *best = NULL;
	unsigned int best_d = w->len <= 3 ? 1 : 2;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int d;

		if (!cands[i])
			continue;
		d = edit_distance(w->s, w->len, cands[i]);
		if (d <= best_d && (!best || d < best_d)) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

/* ---------------------------------------------------------------------
 * Values
 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_digit(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A decimal or 0x-hexadecimal number at the start of @s (@len bytes).
 * Return: bytes used (0 if none), or -ERANGE when it exceeds 64 bits.
 */
static int scan_number(const char *s, unsigned int len, u64 *out)
{
	unsigned int i = 0, base = 10;
	u64 v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    hex_digit(s[2]) >= 0) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++) {
		int d = base == 16 ? hex_digit(s[i]) :
				     (is_digit(s[i]) ? s[i] - '0' : -1);

		if (d < 0)
			break;
		if (v > (~0ULL - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return i;
}

static int suffix_shift(char c)
{
	switch (c) {
	case 'K':
	case 'k':
		return 10;
	case 'M':
	case 'm':
		return 20;
	case 'G':
	case 'g':
		return 30;
	case 'T':
	case 't':
		return 40;
	}
	return -1;
}

/* A number with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const char *s, unsigned int len, bool suffix, u64 *out)
{
	int n = scan_number(s, len, out);
	int shift;

	if (n < 0)
		return n;
	if (!n || (!is_digit(s[0])))
		return -EINVAL;
	if ((unsigned int)n == len)
		return 0;
	if (!suffix || (unsigned int)n + 1 != len ||
	    (shift = suffix_shift(s[n])) < 0)
		return -EINVAL;
	if (*out > (~0ULL >> shift))
		return -ERANGE;
	*out <<= shift;
	return 0;
}

const char *type_what(unsigned int type)
{
	switch (type) {
	case T_DEF_PROC:
	case T_DEF_REGION:
	case T_DEF_VM:
	case T_DEF_VCPU:
	case T_DEF_MIRROR:
	case T_DEF_GRU:
	case T_DEF_XPMEM:
	case T_DEF_RECORD:
	case T_DEF_NOTIFIER:
	case T_DEF_FILE:
		return "a new name (a letter or '_', then letters, digits, "
		       "'_' or '-')";
	case T_LABEL:
		return "a task name (a letter or '_', then letters, digits, "
		       "'_' or '-')";
	case T_MIRROR:
		return "a device mirror, a GRU context or an XPMEM segment "
		       "with an importer";
	case T_PROC:
		return "a process";
	case T_REGION:
		return "a region (a name given by mmap)";
	case T_VM:
		return "a VM";
	case T_VCPU:
		return "a vCPU";
	case T_GRU:
		return "a GRU context (a name given by gru)";
	case T_XPMEM:
		return "an XPMEM segment (a name given by xpmem)";
	case T_FILE:
		return "a file (a name given by memfd)";
	case T_ADDR:
		return "an address: a region, REGION+SIZE, or a number";
	case T_GPA:
	case T_SIZE:
		return "a size such as 4096, 0x1000, 64K, 2M or 1G";
	case T_COUNT:
		return "a count such as 100, 4K or 1M";
	case T_VALUE:
		return "a 64-bit value such as 42 or 0xdeadbeef";
	case T_PROT:
		return "a protection: none, or some of r, w, x (e.g. rw)";
	case T_PCT:
		return "a percentage from 0 to 100";
	case T_TIME:
		return "a duration such as 500us, 100ms or 2s";
	case T_RATE:
		return "a rate such as 1000/s or 5/ms";
	case T_REAL:
		return "a number such as 0.99 or 1.2";
	case T_EXP_HOST:
		return "a value, 'fault' or 'nomem'";
	case T_EXP_GUEST:
		return "a value, 'fault', 'mmio' or 'nomem'";
	case T_EXP_AGE:
		return "'young' or 'old'";
	case T_EXP_MIGRATE:
		return "'busy'";
	case T_COUNTER:
		return "a counter: warnings, host.NAME, VM.NAME, VCPU.NAME or "
		       "a record";
	case T_OP:
		return "a comparison: ==, !=, <, <=, > or >=";
	}
	return "?";
}

static const char *obj_kind_name(enum obj_kind kind)
{
	static const char *const names[] = {
		[OBJ_PROCESS] = "a process",
		[OBJ_REGION] = "a region",
		[OBJ_VM] = "a VM",
		[OBJ_VCPU] = "a vCPU",
		[OBJ_MIRROR] = "a device mirror",
		[OBJ_GRU] = "a GRU context",
		[OBJ_XPMEM] = "an XPMEM segment",
		[OBJ_RECORD] = "a record",
		[OBJ_NOTIFIER] = "a notifier",
		[OBJ_FILE] = "a file",
	};

	return names[kind];
}

static int find_obj(const struct parser *p, const char *name, unsigned int len)
{
	for (unsigned int i = 0; i < p->s->nr_objs; i++)
		if (strlen(p->s->objs[i].name) == len &&
		    !memcmp(p->s->objs[i].name, name, len) &&
		    (p->s->objs[i].host == p->host ||
		     p->s->objs[i].kind == OBJ_RECORD))
			return i;
	return -1;
}

bool is_name(const struct word *w)
{
	char c = w->s[0];

	if (!w->len || w->len > SCRIPT_MAX_NAME ||
	    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
		return false;
	for (unsigned int i = 1; i < w->len; i++) {
		c = w->s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      is_digit(c) || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int check_new_name(struct parser *p, const struct word *w)
{
	int i;

	if (!is_name(w))
		return perr(p, w->col, "%s: '%.*s%s' is not a valid name; "
				       "expected %s", p->spec->name, WQ(w),
			    type_what(T_DEF_PROC));
	if (is_reserved(w))
		return perr(p, w->col, "%s: '%.*s%s' is a keyword and cannot "
				       "name anything", p->spec->name, WQ(w));
	i = find_obj(p, w->s, w->len);
	if (i >= 0)
		return perr(p, w->col, "%s: '%.*s%s' is already defined at "
				       "line %u", p->spec->name, WQ(w),
			    p->sym[i].line);
	return 0;
}

int add_obj(struct parser *p, const char *name, unsigned int len,
	    enum obj_kind kind, int owner, unsigned int col)
{
	struct script_obj *o;

	if (p->s->nr_objs == SCRIPT_MAX_OBJS)
		return perr(p, col, "%s: more than %d names", p->spec->name,
			    SCRIPT_MAX_OBJS);
	o = &p->s->objs[p->s->nr_objs];
	memset(&p->sym[p->s->nr_objs], 0, sizeof(p->sym[0]));
	p->sym[p->s->nr_objs].line = p->line;
	o->kind = kind;
	memcpy(o->name, name, len);
	o->name[len] = 0;
	o->owner = owner;
	o->index = 0;
	o->host = p->host;
	return p->s->nr_objs++;
}

/* "mmap: " for a positional, "mmap: at: " for an option. */
static const char *key_prefix(const struct parser *p, const char *key,
			      char *buf, size_t len)
{
	if (key[0] >= 'A' && key[0] <= 'Z')
		snprintf(buf, len, "%s", p->spec->name);
	else
		snprintf(buf, len, "%s: %s", p->spec->name, key);
	return buf;
}

static int parse_ref(struct parser *p, const struct word *w,
		     enum obj_kind kind, const char *key, struct arg *a)
{
	int i = is_name(w) ? find_obj(p, w->s, w->len) : -1;
	char pre[48];

	key_prefix(p, key, pre, sizeof(pre));
	if (i < 0)
		return perr(p, w->col, "%s: '%.*s%s' is not defined; expected "
				       "%s", pre, WQ(w), obj_kind_name(kind));
	if (p->s->objs[i].kind != kind)
		return perr(p, w->col, "%s: '%.*s%s' is %s, expected %s", pre,
			    WQ(w), obj_kind_name(p->s->objs[i].kind),
			    obj_kind_name(kind));
	if (kind == OBJ_PROCESS && p->sym[i].exited)
		return perr(p, w->col, "%s: process '%.*s%s' exited at line %u",
			    p->spec->name, WQ(w), p->sym[i].exited);
	a->obj = i;
	return 0;
}

/* REGION, REGION+SIZE, or SIZE. */
static int parse_addr(struct parser *p, const struct word *w,
		      const char *key, struct arg *a)
{
	const char *plus = memchr(w->s, '+', w->len);
	struct word name = *w;
	char pre[48];
	int ret;

	a->obj = -1;
	a->off = 0;
	if (is_digit(w->s[0])) {
		ret = parse_size(w->s, w->len, true, &a->off);
		goto number;
	}
	if (plus)
		name.len = plus - w->s;
	ret = parse_ref(p, &name, OBJ_REGION, key, a);
	if (ret || !plus)
		return ret;
	ret = parse_size(plus + 1, w->len - name.len - 1, true, &a->off);
number:
	if (ret == -ERANGE)
		return perr(p, w->col, "%s: '%.*s%s' is too large",
			    key_prefix(p, key, pre, sizeof(pre)), WQ(w));
	if (ret)
		return perr(p, w->col, "%s: expected %s, got '%.*s%s'",
			    key_prefix(p, key, pre, sizeof(pre)),
			    type_what(T_ADDR), WQ(w));
	return 0;
}

static int parse_prot(const struct word *w, u64 *out)
{
	*out = 0;
	if (word_is(w, "none"))
		return 0;
	for (unsigned int i = 0; i < w->len; i++) {
		u64 bit = w->s[i] == 'r' ? PROT_READ :
			  w->s[i] == 'w' ? PROT_WRITE :
			  w->s[i] == 'x' ? PROT_EXEC : 0;

		if (!bit || (*out & bit))
			return -EINVAL;
		*out |= bit;
	}
	return 0;
}

/* NUMBER followed by one of @units; *@out in units of the last. */
static int parse_unit(const struct word *w, const char *const *units,
		      const u64 *scale, u64 *out)
{
	u64 v;
	int n = scan_number(w->s, w->len, &v);

	if (n <= 0)
		return n ? n : -EINVAL;
	for (unsigned int i = 0; units[i]; i++) {
		if (strlen(units[i]) != w->len - n ||
		    memcmp(units[i], w->s + n, w->len - n))
			continue;
		if (v > ~0ULL / scale[i])
			return -ERANGE;
		*out = v * scale[i];
		return 0;
	}
	return -EINVAL;
}

static int parse_real(const struct word *w, double *out)
{
	char buf[32];
	unsigned int i = 0, dots = 0;

	if (w->len >= sizeof(buf))
		return -EINVAL;
	for (i = 0; i < w->len; i++) {
		if (w->s[i] == '.' && i && i + 1 < w->len)
			dots++;
		else if (!is_digit(w->s[i]))
			return -EINVAL;
	}
	if (dots > 1)
		return -EINVAL;
	memcpy(buf, w->s, w->len);
	buf[w->len] = 0;
	*out = strtod(buf, NULL);
	return *out > 0 && *out <= 10 ? 0 : -ERANGE;
}

static int parse_expect(const struct word *w, unsigned int type,
			struct arg *a)
{
	if (type == T_EXP_MIGRATE) {
		a->exp = word_is(w, "busy") ? EXP_BUSY : EXP_NONE;
		return a->exp == EXP_NONE ? -EINVAL : 0;
	}
	if (type == T_EXP_AGE) {
		a->exp = word_is(w, "young") ? EXP_YOUNG :
			 word_is(w, "old") ? EXP_OLD : EXP_NONE;
		return a->exp == EXP_NONE ? -EINVAL : 0;
	}
	if (word_is(w, "fault")) {
		a->exp = EXP_FAULT;
		return 0;
	}
	if (word_is(w, "nomem")) {
		a->exp = EXP_NOMEM;
		return 0;
	}
	if (type == T_EXP_GUEST && word_is(w, "mmio")) {
		a->exp = EXP_MMIO;
		return 0;
	}
	a->exp = EXP_VALUE;
	return parse_size(w->s, w->len, false, &a->u);
}

static int parse_op(const struct word *w, u64 *out)
{
	static const char *const ops[] = {
		[OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<",
		[OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=",
	};

	for (unsigned int i = 0; i < MMULAB_ARRAY_SIZE(ops); i++)
		if (word_is(w, ops[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

/* ---------------------------------------------------------------------
 * Counters: warnings, host.FIELD, VM.FIELD, VCPU.FIELD
 */

static int find_name(const char *s, unsigned int len, const char *const *n,
		     unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (n[i] && strlen(n[i]) == len && !memcmp(n[i], s, len))
			return i;
	return -1;
}

static unsigned int nr_choices(const char *const *choices)
{
	unsigned int n = 0;

	while (choices[n])
		n++;
	return n;
}

static int ksm_field(const struct word *f)
{
	struct report_count c[REPORT_KSM_STATS];
	const char *names[REPORT_KSM_STATS];
	struct ksm_stats st = { 0 };
	unsigned int n = report_ksm_counts(&st, c);

	for (unsigned int i = 0; i < n; i++)
		names[i] = c[i].name;
	return find_name(f->s, f->len, names, n);
}

/* An invalidation event's name (UNMAP, CLEAR, ...): its index, or -1. */
static int inval_event(const struct word *f)
{
	const char *inv[MMU_NOTIFY_NR_EVENTS];

	for (unsigned int k = 0; k < MMU_NOTIFY_NR_EVENTS; k++)
		inv[k] = mmu_notifier_event_name(k);
	return find_name(f->s, f->len, inv, MMU_NOTIFY_NR_EVENTS);
}

static int host_field(const struct word *f, struct arg *a)
{
	const char *ev[NR_VM_EVENT_ITEMS];
	int i;

	for (unsigned int k = 0; k < NR_VM_EVENT_ITEMS; k++)
		ev[k] = vm_event_name(k);
	if ((i = find_name(f->s, f->len, ev, NR_VM_EVENT_ITEMS)) >= 0)
		a->scope = CTR_HOST_EVENT;
	else if ((i = inval_event(f)) >= 0)
		a->scope = CTR_HOST_INVAL;
	else if (word_is(f, "free_frames"))
		a->scope = CTR_HOST_FREE, i = 0;
	else if ((i = ksm_field(f)) >= 0)
		a->scope = CTR_HOST_KSM;
	else
		return -EINVAL;
	a->field = i;
	return 0;
}

/* A counting notifier's callback calls, or its starts per event. */
static int notifier_field(const struct word *f, struct arg *a)
{
	const char *cb[NR_CNT_CALLBACKS];
	int i;

	for (unsigned int k = 0; k < NR_CNT_CALLBACKS; k++)
		cb[k] = counter_callback_name(k);
	if ((i = find_name(f->s, f->len, cb, NR_CNT_CALLBACKS)) >= 0)
		a->scope = CTR_NOTIFIER_CALL;
	else if ((i = inval_event(f)) >= 0)
		a->scope = CTR_NOTIFIER_EVENT;
	else
		return -EINVAL;
	a->field = i;
	return 0;
}

/* The counter names of a VM (@vm) or a vCPU; returns how many. */
static unsigned int stat_names(bool vm, const char **names)
{
	struct report_count c[REPORT_VM_STATS];
	struct kvm_vm_stat vs = { 0 };
	struct kvm_vcpu_stat cs = { 0 };
	unsigned int n = vm ? report_vm_stat_counts(&vs, c) :
			      report_vcpu_stat_counts(&cs, c);

	for (unsigned int i = 0; i < n; i++)
		names[i] = c[i].name;
	return n;
}

static int stat_field(const struct word *f, bool vm)
{
	const char *names[REPORT_VM_STATS];
	unsigned int n = stat_names(vm, names);

	return find_name(f->s, f->len, names, n);
}

/* The closest counter name of a VM (@vm) or a vCPU to @f, or NULL. */
static const char *near_counter(const struct word *f, bool vm)
{
	const char *names[REPORT_VM_STATS + REPORT_VCPU_STATS + 1];
	unsigned int n = stat_names(false, names);

	if (vm) {
		n += stat_names(true, names + n);
		names[n++] = "stale_sptes";
	}
	return closest(f, names, n);
}

static int counter_field(const struct script_obj *o, const struct word *f,
			 struct arg *a)
{
	int i;

	if (o->kind == OBJ_VCPU) {
		a->scope = CTR_VCPU_STAT;
		i = stat_field(f, false);
	} else if (word_is(f, "stale_sptes")) {
		a->scope = CTR_VM_STALE;
		i = 0;
	} else if ((i = stat_field(f, true)) >= 0) {
		a->scope = CTR_VM_STAT;
	} else {
		a->scope = CTR_VM_VCPUS;
		i = stat_field(f, false);
	}
	if (i < 0)
		return -EINVAL;
	a->field = i;
	return 0;
}

static int parse_counter(struct parser *p, const struct word *w,
			 struct arg *a)
{
	const char *dot = memchr(w->s, '.', w->len);
	struct word obj = *w, f;
	int i;

	if (word_is(w, "warnings")) {
		a->scope = CTR_WARNINGS;
		return 0;
	}
	if (!dot) {
		i = is_name(w) ? find_obj(p, w->s, w->len) : -1;
		if (i < 0 || p->s->objs[i].kind != OBJ_RECORD)
			return perr(p, w->col, "%s: expected %s, got '%.*s%s'",
				    p->spec->name, type_what(T_COUNTER), WQ(w));
		a->scope = CTR_RECORD;
		a->obj = i;
		return 0;
	}
	obj.len = dot - w->s;
	f.s = dot + 1;
	f.len = w->len - obj.len - 1;
	f.col = w->col + obj.len + 1;
	a->obj = -1;
	if (word_is(&obj, "host")) {
		if (host_field(&f, a))
			return perr(p, f.col, "%s: unknown host counter "
					      "'%.*s%s'; expected a vm event "
					      "(pgfault, tlb_flush, ...), an "
					      "invalidation event (UNMAP, "
					      "CLEAR, ...) or free_frames",
				    p->spec->name, WQ(&f));
		return 0;
	}
	i = is_name(&obj) ? find_obj(p, obj.s, obj.len) : -1;
	if (i >= 0 && p->s->objs[i].kind == OBJ_NOTIFIER) {
		a->obj = i;
		if (notifier_field(&f, a))
			return perr(p, f.col, "%s: a notifier has no counter "
					      "'%.*s%s'; expected a callback "
					      "(release, invalidate_range_start, "
					      "...) or an event (UNMAP, CLEAR, "
					      "...)", p->spec->name, WQ(&f));
		return 0;
	}
	if (i < 0 || (p->s->objs[i].kind != OBJ_VM &&
		      p->s->objs[i].kind != OBJ_VCPU))
		return perr(p, w->col, "%s: '%.*s%s' is not a VM, a vCPU or "
				       "a notifier; counters belong to host, a "
				       "VM, a vCPU or a notifier",
			    p->spec->name, WQ(&obj));
	a->obj = i;
	if (counter_field(&p->s->objs[i], &f, a)) {
		const char *near = near_counter(
			&f, p->s->objs[i].kind == OBJ_VM);

		return perr(p, f.col, "%s: %s has no counter '%.*s%s'%s%s"
				      "%s", p->spec->name,
			    obj_kind_name(p->s->objs[i].kind),
			    WQ(&f), near ? " (did you mean '" : "",
			    near ? near : "", near ? "'?)" : "");
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Arguments
 */

static int value_error(struct parser *p, const struct word *w,
		       const struct arg_spec *as, int ret)
{
	char pre[48];

	key_prefix(p, as->key, pre, sizeof(pre));
	if (ret == -ERANGE)
		return perr(p, w->col, "%s: '%.*s%s' is out of range", pre,
			    WQ(w));
	if (as->type == T_ENUM) {
		char list[128] = "";

		for (unsigned int i = 0; as->choices[i]; i++)
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%s",
				 i ? ", " : "", as->choices[i]);
		return perr(p, w->col, "%s: expected one of %s, got '%.*s%s'",
			    pre, list, WQ(w));
	}
	return perr(p, w->col, "%s: expected %s, got '%.*s%s'", pre,
		    type_what(as->type), WQ(w));
}

/* A duration in the largest unit that divides it. */
static const char *fmt_ns(u64 ns, char *buf, size_t len)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	unsigned int u = 0;

	while (u < 3 && ns && !(ns % 1000)) {
		ns /= 1000;
		u++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)ns, unit[u]);
	return buf;
}

static int check_time(struct parser *p, const struct word *w,
		      const struct arg_spec *as, u64 v)
{
	char lo[24], hi[24];

	if (v >= as->min && v <= as->max)
		return 0;
	return perr(p, w->col, "%s: %s: %.*s%s is out of range (%s to %s)",
		    p->spec->name, as->key, WQ(w),
		    fmt_ns(as->min, lo, sizeof(lo)),
		    fmt_ns(as->max, hi, sizeof(hi)));
}

static int check_range(struct parser *p, const struct word *w,
		       const struct arg_spec *as, u64 v)
{
	if (as->type == T_TIME)
		return check_time(p, w, as, v);
	if (v < as->min)
		return perr(p, w->col, "%s: %s: %llu is too small (the least "
				       "is %llu)", p->spec->name, as->key,
			    (unsigned long long)v, (unsigned long long)as->min);
	if (as->max && v > as->max)
		return perr(p, w->col, "%s: %s: %llu is too large (the most "
				       "is %llu)", p->spec->name, as->key,
			    (unsigned long long)v, (unsigned long long)as->max);
	return 0;
}

/* Not a name's type: parse_name_value() leaves it to parse_scalar(). */
#define NOT_A_NAME 1

/*
 * A T_MIRROR argument names a device: a mirror, a GRU context or an
 * XPMEM segment with an importer.
 */
static int parse_device(struct parser *p, const struct word *w,
			const struct arg_spec *as, struct arg *a)
{
	int ret = is_name(w) ? find_obj(p, w->s, w->len) : -1;

	if (ret >= 0 && p->s->objs[ret].kind == OBJ_GRU) {
		a->obj = ret;
		return 0;
	}
	if (ret >= 0 && p->s->objs[ret].kind == OBJ_XPMEM) {
		if (!p->s->objs[ret].index)
			return perr(p, w->col, "%s: segment '%.*s%s' has "
				    "no importer (give its xpmem "
				    "statement importer=PROCESS)",
				    p->spec->name, WQ(w));
		a->obj = ret;
		return 0;
	}
	return parse_ref(p, w, OBJ_MIRROR, as->key, a);
}

/*
 * A name: a new object's, a label, a reference to an object or a counter.
 * Return: 0, an error already said, or NOT_A_NAME.
 */
static int parse_name_value(struct parser *p, const struct word *w,
			    const struct arg_spec *as, struct arg *a)
{
	switch (as->type) {
	case T_DEF_PROC:
	case T_DEF_REGION:
	case T_DEF_VM:
	case T_DEF_VCPU:
	case T_DEF_MIRROR:
	case T_DEF_GRU:
	case T_DEF_XPMEM:
	case T_DEF_RECORD:
	case T_DEF_NOTIFIER:
	case T_DEF_FILE:
		return check_new_name(p, w);
	case T_LABEL:
		if (!is_name(w))
			return perr(p, w->col, "%s: '%.*s%s' is not a valid "
					       "name; expected %s",
				    p->spec->name, WQ(w), type_what(T_LABEL));
		return 0;
	case T_MIRROR:
		return parse_device(p, w, as, a);
	case T_PROC:
		return parse_ref(p, w, OBJ_PROCESS, as->key, a);
	case T_REGION:
		return parse_ref(p, w, OBJ_REGION, as->key, a);
	case T_VM:
		return parse_ref(p, w, OBJ_VM, as->key, a);
	case T_VCPU:
		return parse_ref(p, w, OBJ_VCPU, as->key, a);
	case T_GRU:
		return parse_ref(p, w, OBJ_GRU, as->key, a);
	case T_XPMEM:
		return parse_ref(p, w, OBJ_XPMEM, as->key, a);
	case T_FILE:
		return parse_ref(p, w, OBJ_FILE, as->key, a);
	case T_ADDR:
		return parse_addr(p, w, as->key, a);
	case T_COUNTER:
		return parse_counter(p, w, a);
	default:
		return NOT_A_NAME;
	}
}

/*
 * A number, an enumerated word, a protection or an expectation, into @a.
 * Return: 0 or a negative errno for value_error().
 */
static int parse_scalar(const struct word *w, const struct arg_spec *as,
			struct arg *a)
{
	static const char *const time_units[] = { "ns", "us", "ms", "s",
						   NULL };
	static const u64 time_scale[] = { 1, 1000, 1000000, 1000000000 };
	static const char *const rate_units[] = { "/s", "/ms", NULL };
	static const u64 rate_scale[] = { 1, 1000 };
	int ret;

	switch (as->type) {
	case T_GPA:
	case T_SIZE:
	case T_COUNT:
		return parse_size(w->s, w->len, true, &a->u);
	case T_VALUE:
		return parse_size(w->s, w->len, false, &a->u);
	case T_ENUM:
		ret = find_name(w->s, w->len, as->choices,
				nr_choices(as->choices));
		a->u = ret;
		return ret < 0 ? -EINVAL : 0;
	case T_PROT:
		return parse_prot(w, &a->u);
	case T_PCT:
		return parse_size(w->s, w->len - (w->len > 1 &&
						  w->s[w->len - 1] == '%'),
				  false, &a->u);
	case T_TIME:
		return parse_unit(w, time_units, time_scale, &a->u);
	case T_RATE:
		return parse_unit(w, rate_units, rate_scale, &a->u);
	case T_REAL:
		return parse_real(w, &a->real);
	case T_EXP_HOST:
	case T_EXP_GUEST:
	case T_EXP_AGE:
	case T_EXP_MIGRATE:
		return parse_expect(w, as->type, a);
	case T_OP:
		return parse_op(w, &a->u);
	default:
		return -EINVAL;
	}
}

int parse_value(struct parser *p, const struct word *w,
		const struct arg_spec *as, struct arg *a)
{
	int ret = parse_name_value(p, w, as, a);

	if (ret != NOT_A_NAME)
		return ret;
	ret = parse_scalar(w, as, a);
	if (ret)
		return value_error(p, w, as, ret);
	switch (as->type) {
	case T_GPA:
	case T_SIZE:
	case T_COUNT:
	case T_PCT:
	case T_TIME:
	case T_RATE:
		return check_range(p, w, as, a->u);
	default:
		return 0;
	}
}
