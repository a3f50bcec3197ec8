// SPDX-License-Identifier: MIT
/*
 * Parsing and checking scenario files.
 *
 * A file is a sequence of lines; a line holds one statement: a keyword,
 * then positional arguments and key=value options separated by blanks.
 * '#' starts a comment.  The grammar is documented in docs/scenario.md;
 * the table below is its single source here.
 *
 * Everything that can be known before the run is checked here: syntax,
 * ranges, that every name is defined before use and has the right kind,
 * that no process is used after its exit, workload nesting, and the
 * language's limits.  The first error stops the parse and is printed as
 * PATH:LINE:COLUMN (columns count bytes from 1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/gru.h>
#include <mmulab/kvm.h>
#include <mmulab/mmu_notifier.h>

#include "guest.h"
#include "mmulab.h"
#include "script.h"
#include "trace.h"

_Static_assert(SCRIPT_MAX_PROCS <= TRACE_MAX_MMS,
	       "the tracer must be able to follow every process");

enum arg_type {
	T_NONE,
	T_DEF_PROC,
	T_DEF_REGION,
	T_DEF_VM,
	T_DEF_VCPU,
	T_DEF_MIRROR,
	T_LABEL,
	T_DEF_GRU,
	T_DEF_XPMEM,
	T_PROC,
	T_REGION,
	T_VM,
	T_VCPU,
	T_MIRROR,
	T_GRU,
	T_XPMEM,
	T_ADDR,
	T_GPA,
	T_SIZE,
	T_COUNT,
	T_VALUE,
	T_ENUM,
	T_PROT,
	T_PCT,
	T_TIME,
	T_RATE,
	T_REAL,
	T_FLAG,
	T_EXP_HOST,
	T_EXP_GUEST,
	T_EXP_AGE,
	T_EXP_MIGRATE,
	T_COUNTER,
	T_OP,
};

enum arg_how { POS = 1, OPT, REQ, FLAG };

/**
 * struct arg_spec - one argument of a statement.
 * @key: the option's key; for a positional, its placeholder.
 * @type: enum arg_type.
 * @how: enum arg_how.
 * @min: smallest number accepted (numeric types).
 * @max: largest; 0 for no limit but 64 bits.
 * @choices: NULL-terminated words of a T_ENUM.
 */
struct arg_spec {
	const char *key;
	unsigned char type;
	unsigned char how;
	u64 min;
	u64 max;
	const char *const *choices;
};

/* Where a statement may stand: a set of these. */
enum { CTX_TOP = 1, CTX_WORKLOAD = 2, CTX_RACE = 4, CTX_ANY = 7 };
/* Top-level statements that may also be operations of a race task. */
#define CTX_BOTH (CTX_TOP | CTX_RACE)

struct stmt_spec {
	const char *name;
	int ctx;
	struct arg_spec args[STMT_MAX_ARGS];
};

static const char *const content_names[] = { "data", "tag", NULL };
static const char *const change_pte_names[] = { "none", "bookended", "direct",
						NULL };
static const char *const advice_names[] = { "dontneed", "free", "mergeable",
					    "unmergeable", NULL };
static const char *const ksm_run_names[] = { "stop", "merge", "unmerge",
					     NULL };
static const char *const pattern_names[] = { "seq", "random", "zipf", NULL };

#define MAX_SIZE (1ULL << 48)
#define MAX_WEIGHT 1000

#define RANGE_ARGS                                                             \
	[RANGE_PROC] = { "PROCESS", T_PROC, POS },                             \
	[RANGE_ADDR] = { "ADDR", T_ADDR, POS },                                \
	[RANGE_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE }
#define REPEAT_ARGS                                                            \
	[ACC_COUNT] = { "count", T_COUNT, OPT, 1, SCRIPT_MAX_REPEAT },         \
	[ACC_STRIDE] = { "stride", T_SIZE, OPT, 8, MAX_SIZE }
#define VALUE_REPEAT_ARGS                                                      \
	REPEAT_ARGS,                                                           \
	[ACC_INC] = { "inc", T_VALUE, OPT }
#define THREAD_ARGS                                                            \
	[TH_OPS] = { "ops", T_COUNT, OPT, 1, SCRIPT_MAX_OPS },                 \
	[TH_RATE] = { "rate", T_RATE, OPT, 1, 1000000000 }
#define ACCESS_ARGS                                                            \
	[TH_PATTERN] = { "pattern", T_ENUM, OPT, .choices = pattern_names },   \
	[TH_THETA] = { "theta", T_REAL, OPT },                                 \
	[TH_READS] = { "reads", T_PCT, OPT, 0, 100 }
#define WEIGHT(i, k) [i] = { k, T_COUNT, OPT, 0, MAX_WEIGHT }

static const struct stmt_spec specs[NR_STMT_KINDS] = {
	[ST_HOST] = { "host", CTX_TOP, {
		[HOST_FRAMES] = { "frames", T_COUNT, OPT, 16,
				  SCRIPT_MAX_FRAMES },
		[HOST_CONTENT] = { "content", T_ENUM, OPT,
				   .choices = content_names },
		[HOST_CHANGE_PTE] = { "change_pte", T_ENUM, OPT,
				      .choices = change_pte_names },
		[HOST_KSM] = { "ksm", T_ENUM, OPT, .choices = ksm_run_names },
		[HOST_KSM_PAGES] = { "ksm_pages", T_COUNT, OPT, 1, 1000000 },
		[HOST_KSM_SLEEP] = { "ksm_sleep", T_TIME, OPT, 1000000,
				     60000000000ULL },
		[HOST_SWAP] = { "swap", T_COUNT, OPT, 0, SCRIPT_MAX_FRAMES },
	} },
	[ST_PROCESS] = { "process", CTX_TOP, {
		[PROCESS_NAME] = { "NAME", T_DEF_PROC, POS },
	} },
	[ST_MMAP] = { "mmap", CTX_TOP, {
		[MMAP_NAME] = { "NAME", T_DEF_REGION, POS },
		[MMAP_PROC] = { "PROCESS", T_PROC, POS },
		[MMAP_LEN] = { "len", T_SIZE, REQ, 1, MAX_SIZE },
		[MMAP_PROT] = { "prot", T_PROT, OPT },
		[MMAP_AT] = { "at", T_ADDR, OPT },
		[MMAP_SHARED] = { "shared", T_FLAG, FLAG },
		[MMAP_FIXED] = { "fixed", T_FLAG, FLAG },
		[MMAP_NOREPLACE] = { "noreplace", T_FLAG, FLAG },
		[MMAP_POPULATE] = { "populate", T_FLAG, FLAG },
	} },
	[ST_MUNMAP] = { "munmap", CTX_BOTH, { RANGE_ARGS } },
	[ST_MPROTECT] = { "mprotect", CTX_BOTH, {
		RANGE_ARGS,
		[RANGE_PROT] = { "prot", T_PROT, REQ },
	} },
	[ST_MADVISE] = { "madvise", CTX_BOTH, {
		RANGE_ARGS,
		[RANGE_ADVICE] = { "advice", T_ENUM, REQ,
				   .choices = advice_names },
	} },
	[ST_AGE] = { "age", CTX_BOTH, {
		RANGE_ARGS,
		[RANGE_EXPECT] = { "expect", T_EXP_AGE, OPT },
	} },
	[ST_MREMAP] = { "mremap", CTX_TOP, {
		[MREMAP_PROC] = { "PROCESS", T_PROC, POS },
		[MREMAP_REGION] = { "REGION", T_REGION, POS },
		[MREMAP_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
		[MREMAP_TO] = { "to", T_ADDR, OPT },
	} },
	[ST_FORK] = { "fork", CTX_TOP, {
		[FORK_PROC] = { "PROCESS", T_PROC, POS },
		[FORK_NAME] = { "NAME", T_DEF_PROC, POS },
	} },
	[ST_EXIT] = { "exit", CTX_BOTH, {
		[EXIT_PROC] = { "PROCESS", T_PROC, POS },
	} },
	[ST_OOM_REAP] = { "oom-reap", CTX_BOTH, {
		[OOM_PROC] = { "PROCESS", T_PROC, POS },
	} },
	[ST_WRITE] = { "write", CTX_BOTH, {
		[ACC_WHO] = { "PROCESS", T_PROC, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_VALUE] = { "VALUE", T_VALUE, POS },
		[ACC_EXPECT] = { "expect", T_EXP_HOST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_READ] = { "read", CTX_BOTH, {
		[ACC_WHO] = { "PROCESS", T_PROC, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_EXPECT] = { "expect", T_EXP_HOST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_VM] = { "vm", CTX_BOTH, {
		[VM_NAME] = { "NAME", T_DEF_VM, POS },
		[VM_PROC] = { "PROCESS", T_PROC, POS },
		[VM_PINNED] = { "pinned", T_FLAG, FLAG },
	} },
	[ST_MEMSLOT] = { "memslot", CTX_BOTH, {
		[SLOT_VM] = { "VM", T_VM, POS },
		[SLOT_SLOT] = { "slot", T_COUNT, OPT, 0, KVM_MAX_MEMSLOTS - 1 },
		[SLOT_GPA] = { "gpa", T_GPA, REQ, 0, MAX_SIZE },
		[SLOT_LEN] = { "len", T_SIZE, REQ, 0, MAX_SIZE },
		[SLOT_HVA] = { "hva", T_ADDR, OPT },
		[SLOT_READONLY] = { "readonly", T_FLAG, FLAG },
	} },
	[ST_VCPU] = { "vcpu", CTX_BOTH, {
		[VCPU_NAME] = { "NAME", T_DEF_VCPU, POS },
		[VCPU_VM] = { "VM", T_VM, POS },
		[VCPU_COUNT] = { "count", T_COUNT, OPT, 1, GUEST_MAX_VCPUS },
	} },
	[ST_GWRITE] = { "gwrite", CTX_BOTH, {
		[ACC_WHO] = { "VCPU", T_VCPU, POS },
		[ACC_ADDR] = { "GPA", T_GPA, POS, 0, MAX_SIZE },
		[ACC_VALUE] = { "VALUE", T_VALUE, POS },
		[ACC_EXPECT] = { "expect", T_EXP_GUEST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_GREAD] = { "gread", CTX_BOTH, {
		[ACC_WHO] = { "VCPU", T_VCPU, POS },
		[ACC_ADDR] = { "GPA", T_GPA, POS, 0, MAX_SIZE },
		[ACC_EXPECT] = { "expect", T_EXP_GUEST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_VERIFY] = { "verify", CTX_TOP, {
		[VERIFY_VM] = { "VM", T_VM, POS },
		[VERIFY_DATA] = { "data", T_FLAG, FLAG },
		[VERIFY_ALLOW_STALE] = { "allow_stale", T_FLAG, FLAG },
	} },
	[ST_KSM] = { "ksm", CTX_BOTH, {
		[KSM_SCAN] = { "scan", T_COUNT, OPT, 1, SCRIPT_MAX_OPS },
		[KSM_RUN] = { "run", T_ENUM, OPT, .choices = ksm_run_names },
	} },
	[ST_MIGRATE] = { "migrate", CTX_BOTH, {
		[ACC_WHO] = { "PROCESS", T_PROC, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_EXPECT] = { "expect", T_EXP_MIGRATE, OPT },
		REPEAT_ARGS,
	} },
	[ST_COMPACT] = { "compact", CTX_BOTH, { { NULL } } },
	[ST_EXPECT] = { "expect", CTX_TOP, {
		[EXPECT_CTR] = { "COUNTER", T_COUNTER, POS },
		[EXPECT_OP] = { "OP", T_OP, POS },
		[EXPECT_VALUE] = { "N", T_COUNT, POS },
	} },
	[ST_WORKLOAD] = { "workload", CTX_TOP, {
		[WL_OPS] = { "ops", T_COUNT, OPT, 1, SCRIPT_MAX_OPS },
		[WL_DURATION] = { "duration", T_TIME, OPT, 1,
				  SCRIPT_MAX_DURATION_NS },
		[WL_SEED] = { "seed", T_VALUE, OPT },
	} },
	[ST_END] = { "end", CTX_ANY, { { NULL } } },
	[ST_GUEST] = { "guest", CTX_WORKLOAD, {
		[TH_WHO] = { "VCPU", T_VCPU, POS },
		THREAD_ARGS,
		ACCESS_ARGS,
		[TH_GPA] = { "gpa", T_GPA, OPT, 0, MAX_SIZE },
		[TH_LEN] = { "len", T_SIZE, OPT, PAGE_SIZE, MAX_SIZE },
	} },
	[ST_CPU] = { "cpu", CTX_WORKLOAD, {
		[TH_WHO] = { "PROCESS", T_PROC, POS },
		[TH_REGION] = { "REGION", T_REGION, POS },
		THREAD_ARGS,
		ACCESS_ARGS,
	} },
	[ST_CHURN] = { "churn", CTX_WORKLOAD, {
		[TH_WHO] = { "PROCESS", T_PROC, POS },
		[TH_REGION] = { "REGION", T_REGION, POS },
		THREAD_ARGS,
		WEIGHT(TH_MUNMAP, "munmap"),
		WEIGHT(TH_MPROTECT, "mprotect"),
		WEIGHT(TH_MADVISE, "madvise"),
		WEIGHT(TH_FORK, "fork"),
		WEIGHT(TH_WRITE, "write"),
		WEIGHT(TH_MIGRATE, "migrate"),
		WEIGHT(TH_KSM, "ksm"),
		[TH_SPAN] = { "span", T_SIZE, OPT, PAGE_SIZE, MAX_SIZE },
	} },
	[ST_RACE] = { "race", CTX_TOP, {
		[RACE_SEED] = { "seed", T_VALUE, OPT },
	} },
	[ST_TASK] = { "task", CTX_RACE, {
		[TASK_NAME] = { "NAME", T_LABEL, POS },
		[TASK_REPEAT] = { "repeat", T_COUNT, OPT, 1, SCRIPT_MAX_OPS },
		[TASK_PICK] = { "pick", T_FLAG, FLAG },
	} },
	[ST_REPLACE] = { "replace", CTX_BOTH, {
		[REPLACE_PROC] = { "PROCESS", T_PROC, POS },
		[REPLACE_ADDR] = { "ADDR", T_ADDR, POS },
		[REPLACE_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
	} },
	[ST_WRPROTECT] = { "wrprotect", CTX_BOTH, {
		[REPLACE_PROC] = { "PROCESS", T_PROC, POS },
		[REPLACE_ADDR] = { "ADDR", T_ADDR, POS },
		[REPLACE_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
	} },
	[ST_COW] = { "cow", CTX_BOTH, {
		[ACC_WHO] = { "PROCESS", T_PROC, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_VALUE] = { "VALUE", T_VALUE, POS },
		VALUE_REPEAT_ARGS,
	} },
	[ST_RECLAIM] = { "reclaim", CTX_BOTH, {
		[RECLAIM_PAGES] = { "pages", T_COUNT, OPT, 1, SCRIPT_MAX_FRAMES },
	} },
	[ST_MIRROR] = { "mirror", CTX_TOP, {
		[MIRROR_NAME] = { "NAME", T_DEF_MIRROR, POS },
		[MIRROR_PROC] = { "PROCESS", T_PROC, POS },
		[MIRROR_REGION] = { "REGION", T_REGION, POS },
	} },
	[ST_MWRITE] = { "mwrite", CTX_BOTH, {
		[ACC_WHO] = { "MIRROR", T_MIRROR, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_VALUE] = { "VALUE", T_VALUE, POS },
		[ACC_EXPECT] = { "expect", T_EXP_HOST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_MREAD] = { "mread", CTX_BOTH, {
		[ACC_WHO] = { "MIRROR", T_MIRROR, POS },
		[ACC_ADDR] = { "ADDR", T_ADDR, POS },
		[ACC_EXPECT] = { "expect", T_EXP_HOST, OPT },
		VALUE_REPEAT_ARGS,
	} },
	[ST_GRU] = { "gru", CTX_TOP, {
		[GRU_NAME] = { "NAME", T_DEF_GRU, POS },
		[GRU_PROC] = { "PROCESS", T_PROC, POS },
		[GRU_SETS] = { "sets", T_COUNT, OPT, 1, GRU_MAX_TLB_SETS },
		[GRU_WAYS] = { "ways", T_COUNT, OPT, 1, GRU_MAX_TLB_WAYS },
	} },
	[ST_GRU_DEV] = { "gru", CTX_WORKLOAD, {
		[TH_WHO] = { "GRU", T_GRU, POS },
		[TH_REGION] = { "REGION", T_REGION, POS },
		THREAD_ARGS,
		ACCESS_ARGS,
	} },
	[ST_XPMEM] = { "xpmem", CTX_TOP, {
		[XP_NAME] = { "NAME", T_DEF_XPMEM, POS },
		[XP_PROC] = { "PROCESS", T_PROC, POS },
		[XP_REGION] = { "REGION", T_REGION, POS },
		[XP_END_ONLY] = { "end_only", T_FLAG, FLAG },
	} },
	[ST_XPMEM_DEV] = { "xpmem", CTX_WORKLOAD, {
		[TH_WHO] = { "SEGMENT", T_XPMEM, POS },
		/* the importer, in the slot other threads use for a region */
		[TH_REGION] = { "PROCESS", T_PROC, POS },
		THREAD_ARGS,
		ACCESS_ARGS,
	} },
};

/* Words that cannot name anything. */
static const char *const reserved[] = { "host", "warnings", "end", NULL };

const char *stmt_name(enum stmt_kind kind)
{
	return (unsigned int)kind < NR_STMT_KINDS ? specs[kind].name : "?";
}

/* ---------------------------------------------------------------------
 * The parser's state
 */

struct word {
	const char *s;
	unsigned int len;
	unsigned int col;
};

/**
 * struct psym - what the parser knows of a name while it walks the file.
 * @line: where it was defined.
 * @exited: line of the process's exit, 0 while it lives.
 * @nr_vcpus: vCPUs of a VM so far.
 * @nr_slots: memslots of a VM now; @slot_id, @slot_gpa, @slot_len: them.
 */
struct psym {
	unsigned int line;
	unsigned int exited;
	unsigned int nr_vcpus;
	unsigned int nr_slots;
	unsigned int slot_id[GUEST_MAX_SLOTS];
	u64 slot_gpa[GUEST_MAX_SLOTS];
	u64 slot_len[GUEST_MAX_SLOTS];
};

struct parser {
	const char *path;
	struct script *s;
	struct psym *sym;
	unsigned int line;
	unsigned int end_col;
	const struct stmt_spec *spec;
	struct stmt *st;
	unsigned int col0;
	const struct word *argw[STMT_MAX_ARGS];
	unsigned int nr_procs;
	unsigned int nr_vms;
	int workload;		/* index of the open workload, or -1 */
	int race;		/* index of the open race, or -1 */
	int task;		/* index of the race's current task, or -1 */
	unsigned int nr_threads;
	bool seeded;
	size_t cap_stmts;
};

static int perr(struct parser *p, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%u:%u: error: ", p->path, p->line, col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

/* A word as messages quote it: at most 40 bytes. */
#define WQ(w) (int)((w)->len > 40 ? 40 : (w)->len), (w)->s, \
	      ((w)->len > 40 ? "..." : "")

static bool word_is(const struct word *w, const char *s)
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
static const char *closest(const struct word *w, const char *const *cands,
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

static const char *type_what(unsigned int type)
{
	switch (type) {
	case T_DEF_PROC:
	case T_DEF_REGION:
	case T_DEF_VM:
	case T_DEF_VCPU:
	case T_DEF_MIRROR:
	case T_DEF_GRU:
	case T_DEF_XPMEM:
		return "a new name (a letter or '_', then letters, digits, "
		       "'_' or '-')";
	case T_LABEL:
		return "a task name (a letter or '_', then letters, digits, "
		       "'_' or '-')";
	case T_MIRROR:
		return "a device mirror";
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
		return "a value or 'fault'";
	case T_EXP_GUEST:
		return "a value, 'fault' or 'mmio'";
	case T_EXP_AGE:
		return "'young' or 'old'";
	case T_EXP_MIGRATE:
		return "'busy'";
	case T_COUNTER:
		return "a counter: warnings, host.NAME, VM.NAME or VCPU.NAME";
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
	};

	return names[kind];
}

static int find_obj(const struct parser *p, const char *name, unsigned int len)
{
	for (unsigned int i = 0; i < p->s->nr_objs; i++)
		if (strlen(p->s->objs[i].name) == len &&
		    !memcmp(p->s->objs[i].name, name, len))
			return i;
	return -1;
}

static bool is_name(const struct word *w)
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

static bool is_reserved(const struct word *w)
{
	for (unsigned int i = 0; reserved[i]; i++)
		if (word_is(w, reserved[i]))
			return true;
	for (unsigned int k = 0; k < NR_STMT_KINDS; k++) {
		if (word_is(w, specs[k].name))
			return true;
		for (unsigned int a = 0; a < STMT_MAX_ARGS; a++)
			if (specs[k].args[a].how == FLAG &&
			    word_is(w, specs[k].args[a].key))
				return true;
	}
	return false;
}

static int check_new_name(struct parser *p, const struct word *w)
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

static int add_obj(struct parser *p, const char *name, unsigned int len,
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

static int host_field(const struct word *f, struct arg *a)
{
	const char *ev[NR_VM_EVENT_ITEMS], *inv[MMU_NOTIFY_NR_EVENTS];
	int i;

	for (unsigned int k = 0; k < NR_VM_EVENT_ITEMS; k++)
		ev[k] = vm_event_name(k);
	for (unsigned int k = 0; k < MMU_NOTIFY_NR_EVENTS; k++)
		inv[k] = mmu_notifier_event_name(k);
	if ((i = find_name(f->s, f->len, ev, NR_VM_EVENT_ITEMS)) >= 0)
		a->scope = CTR_HOST_EVENT;
	else if ((i = find_name(f->s, f->len, inv, MMU_NOTIFY_NR_EVENTS)) >= 0)
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
	if (!dot)
		return perr(p, w->col, "expect: expected %s, got '%.*s%s'",
			    type_what(T_COUNTER), WQ(w));
	obj.len = dot - w->s;
	f.s = dot + 1;
	f.len = w->len - obj.len - 1;
	f.col = w->col + obj.len + 1;
	a->obj = -1;
	if (word_is(&obj, "host")) {
		if (host_field(&f, a))
			return perr(p, f.col, "expect: unknown host counter "
					      "'%.*s%s'; expected a vm event "
					      "(pgfault, tlb_flush, ...), an "
					      "invalidation event (UNMAP, "
					      "CLEAR, ...) or free_frames",
				    WQ(&f));
		return 0;
	}
	i = is_name(&obj) ? find_obj(p, obj.s, obj.len) : -1;
	if (i < 0 || (p->s->objs[i].kind != OBJ_VM &&
		      p->s->objs[i].kind != OBJ_VCPU))
		return perr(p, w->col, "expect: '%.*s%s' is not a VM or a "
				       "vCPU; counters belong to host, a VM or "
				       "a vCPU", WQ(&obj));
	a->obj = i;
	if (counter_field(&p->s->objs[i], &f, a)) {
		const char *near = near_counter(
			&f, p->s->objs[i].kind == OBJ_VM);

		return perr(p, f.col, "expect: %s has no counter '%.*s%s'%s%s"
				      "%s", obj_kind_name(p->s->objs[i].kind),
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

static int parse_value(struct parser *p, const struct word *w,
		       const struct arg_spec *as, struct arg *a)
{
	static const char *const time_units[] = { "ns", "us", "ms", "s",
						   NULL };
	static const u64 time_scale[] = { 1, 1000, 1000000, 1000000000 };
	static const char *const rate_units[] = { "/s", "/ms", NULL };
	static const u64 rate_scale[] = { 1, 1000 };
	int ret = -EINVAL;

	switch (as->type) {
	case T_DEF_PROC:
	case T_DEF_REGION:
	case T_DEF_VM:
	case T_DEF_VCPU:
	case T_DEF_MIRROR:
	case T_DEF_GRU:
	case T_DEF_XPMEM:
		return check_new_name(p, w);
	case T_LABEL:
		if (!is_name(w))
			return perr(p, w->col, "%s: '%.*s%s' is not a valid "
					       "name; expected %s",
				    p->spec->name, WQ(w), type_what(T_LABEL));
		return 0;
	case T_MIRROR: /* a device: a mirror or a GRU context */
		ret = is_name(w) ? find_obj(p, w->s, w->len) : -1;
		if (ret >= 0 && p->s->objs[ret].kind == OBJ_GRU) {
			a->obj = ret;
			return 0;
		}
		return parse_ref(p, w, OBJ_MIRROR, as->key, a);
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
	case T_ADDR:
		return parse_addr(p, w, as->key, a);
	case T_COUNTER:
		return parse_counter(p, w, a);
	case T_GPA:
	case T_SIZE:
	case T_COUNT:
		ret = parse_size(w->s, w->len, true, &a->u);
		break;
	case T_VALUE:
		ret = parse_size(w->s, w->len, false, &a->u);
		break;
	case T_ENUM:
		ret = find_name(w->s, w->len, as->choices,
				nr_choices(as->choices));
		a->u = ret;
		ret = ret < 0 ? -EINVAL : 0;
		break;
	case T_PROT:
		ret = parse_prot(w, &a->u);
		break;
	case T_PCT:
		ret = parse_size(w->s, w->len - (w->len > 1 &&
						 w->s[w->len - 1] == '%'),
				 false, &a->u);
		break;
	case T_TIME:
		ret = parse_unit(w, time_units, time_scale, &a->u);
		break;
	case T_RATE:
		ret = parse_unit(w, rate_units, rate_scale, &a->u);
		break;
	case T_REAL:
		ret = parse_real(w, &a->real);
		break;
	case T_EXP_HOST:
	case T_EXP_GUEST:
	case T_EXP_AGE:
	case T_EXP_MIGRATE:
		ret = parse_expect(w, as->type, a);
		break;
	case T_OP:
		ret = parse_op(w, &a->u);
		break;
	}
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
	}
	return 0;
}

/* "mmap NAME PROCESS len=SIZE [prot=PROT] ..." for messages. */
static void usage_of(const struct stmt_spec *sp, char *buf, size_t len)
{
	static const char *const placeholder[] = {
		[T_ADDR] = "ADDR", [T_GPA] = "GPA", [T_SIZE] = "SIZE",
		[T_COUNT] = "N", [T_VALUE] = "VALUE", [T_ENUM] = "WORD",
		[T_PROT] = "PROT", [T_PCT] = "PCT", [T_TIME] = "TIME",
		[T_RATE] = "RATE", [T_REAL] = "REAL", [T_EXP_HOST] = "VALUE",
		[T_EXP_GUEST] = "VALUE", [T_EXP_AGE] = "young|old",
		[T_EXP_MIGRATE] = "busy",
	};
	size_t n = snprintf(buf, len, "%s", sp->name);

	for (unsigned int i = 0; i < STMT_MAX_ARGS && n < len; i++) {
		const struct arg_spec *as = &sp->args[i];

		if (as->how == POS)
			n += snprintf(buf + n, len - n, " %s", as->key);
		else if (as->how == REQ)
			n += snprintf(buf + n, len - n, " %s=%s", as->key,
				      placeholder[as->type]);
		else if (as->how == OPT)
			n += snprintf(buf + n, len - n, " [%s=%s]", as->key,
				      placeholder[as->type]);
		else if (as->how == FLAG)
			n += snprintf(buf + n, len - n, " [%s]", as->key);
	}
}

static const struct arg_spec *find_key(const struct stmt_spec *sp,
				       const struct word *k, unsigned int *idx)
{
	for (unsigned int i = 0; i < STMT_MAX_ARGS; i++) {
		const struct arg_spec *as = &sp->args[i];

		if (as->how && as->how != POS && word_is(k, as->key)) {
			*idx = i;
			return as;
		}
	}
	return NULL;
}

static int unknown_option(struct parser *p, const struct word *k)
{
	const char *keys[STMT_MAX_ARGS];
	char list[256] = "";
	const char *near;
	unsigned int n = 0;

	for (unsigned int i = 0; i < STMT_MAX_ARGS; i++) {
		const struct arg_spec *as = &p->spec->args[i];

		if (as->how == OPT || as->how == REQ) {
			keys[n++] = as->key;
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%s",
				 n > 1 ? ", " : "", as->key);
		}
	}
	if (!n)
		return perr(p, k->col, "%s: takes no options, got '%.*s%s='",
			    p->spec->name, WQ(k));
	near = closest(k, keys, n);
	return perr(p, k->col, "%s: unknown option '%.*s%s'; expected one of "
			       "%s%s%s%s", p->spec->name, WQ(k), list,
		    near ? " (did you mean '" : "", near ? near : "",
		    near ? "'?)" : "");
}

static int parse_option(struct parser *p, const struct word *w)
{
	const char *eq = memchr(w->s, '=', w->len);
	struct word k = { w->s, eq - w->s, w->col };
	struct word v = { eq + 1, w->len - k.len - 1, w->col + k.len + 1 };
	const struct arg_spec *as;
	unsigned int i;

	as = find_key(p->spec, &k, &i);
	if (!as)
		return unknown_option(p, &k);
	if (as->how == FLAG)
		return perr(p, w->col, "%s: '%s' is a flag and takes no value",
			    p->spec->name, as->key);
	if (p->st->a[i].set)
		return perr(p, w->col, "%s: %s given twice", p->spec->name,
			    as->key);
	if (!v.len)
		return perr(p, v.col, "%s: %s: expected %s after '='",
			    p->spec->name, as->key, type_what(as->type));
	p->st->a[i].set = true;
	p->st->a[i].col = v.col;
	p->argw[i] = w;
	return parse_value(p, &v, as, &p->st->a[i]);
}

/* KEY=..., KEY a name: comparisons such as '==' are not options. */
static bool is_option(const struct word *w)
{
	const char *eq = memchr(w->s, '=', w->len);
	struct word k = { w->s, eq ? eq - w->s : 0, w->col };

	return eq && is_name(&k);
}

static int parse_word(struct parser *p, const struct word *w,
		      unsigned int *next_pos)
{
	const struct arg_spec *as;
	unsigned int i;

	if (is_option(w))
		return parse_option(p, w);
	as = find_key(p->spec, w, &i);
	if (as && as->how == FLAG) {
		if (p->st->a[i].set)
			return perr(p, w->col, "%s: %s given twice",
				    p->spec->name, as->key);
		p->st->a[i].set = true;
		p->st->a[i].col = w->col;
		p->st->a[i].u = 1;
		return 0;
	}
	while (*next_pos < STMT_MAX_ARGS && p->spec->args[*next_pos].how != POS)
		(*next_pos)++;
	if (*next_pos == STMT_MAX_ARGS) {
		char usage[256];

		usage_of(p->spec, usage, sizeof(usage));
		return perr(p, w->col, "%s: unexpected argument '%.*s%s' "
				       "(usage: %s)", p->spec->name, WQ(w),
			    usage);
	}
	i = (*next_pos)++;
	p->st->a[i].set = true;
	p->st->a[i].col = w->col;
	p->argw[i] = w;
	return parse_value(p, w, &p->spec->args[i], &p->st->a[i]);
}

static int check_missing(struct parser *p)
{
	char usage[256];

	for (unsigned int i = 0; i < STMT_MAX_ARGS; i++) {
		const struct arg_spec *as = &p->spec->args[i];

		if (p->st->a[i].set || (as->how != POS && as->how != REQ))
			continue;
		usage_of(p->spec, usage, sizeof(usage));
		if (as->how == POS)
			return perr(p, p->end_col, "%s: missing %s, %s "
						   "(usage: %s)",
				    p->spec->name, as->key,
				    type_what(as->type), usage);
		return perr(p, p->end_col, "%s: missing %s= (usage: %s)",
			    p->spec->name, as->key, usage);
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Statements: what a statement means for the names and the blocks
 */

static int def_named(struct parser *p, const struct word *w,
		     enum obj_kind kind, int owner, struct arg *a)
{
	int i = add_obj(p, w->s, w->len, kind, owner, w->col);

	if (i < 0)
		return i;
	a->obj = i;
	return 0;
}

static int sem_host(struct parser *p)
{
	if (p->s->host >= 0)
		return perr(p, p->col0, "host: given twice (first at line %u)",
			    p->s->stmts[p->s->host].line);
	if (p->s->nr_stmts > 1)
		return perr(p, p->col0, "host: must come before every other "
					"statement");
	p->s->host = p->s->nr_stmts - 1;
	return 0;
}

static int sem_mmap(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;

	if ((a[MMAP_FIXED].set || a[MMAP_NOREPLACE].set) && !a[MMAP_AT].set)
		return perr(p, a[MMAP_FIXED].set ? a[MMAP_FIXED].col :
						   a[MMAP_NOREPLACE].col,
			    "mmap: %s needs at=ADDR",
			    a[MMAP_FIXED].set ? "fixed" : "noreplace");
	if (a[MMAP_FIXED].set && a[MMAP_NOREPLACE].set)
		return perr(p, a[MMAP_NOREPLACE].col,
			    "mmap: fixed and noreplace exclude each other");
	return def_named(p, name, OBJ_REGION, a[MMAP_PROC].obj,
			 &a[MMAP_NAME]);
}

/* munmap, mprotect, madvise, age: no len= means to the region's end. */
static int sem_range(struct parser *p)
{
	struct arg *a = p->st->a;

	if (!a[RANGE_LEN].set && a[RANGE_ADDR].obj < 0)
		return perr(p, a[RANGE_ADDR].col, "%s: len= is needed when "
						  "the address is not a region",
			    p->spec->name);
	return 0;
}

static int sem_mremap(struct parser *p)
{
	struct arg *a = p->st->a;
	const struct script_obj *r = &p->s->objs[a[MREMAP_REGION].obj];

	if (r->owner != a[MREMAP_PROC].obj)
		return perr(p, a[MREMAP_REGION].col,
			    "mremap: region '%s' belongs to process '%s'",
			    r->name, p->s->objs[r->owner].name);
	if (!a[MREMAP_LEN].set && !a[MREMAP_TO].set)
		return perr(p, p->end_col, "mremap: give len=SIZE, to=ADDR "
					   "or both");
	return 0;
}

static int sem_vm(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	int ret;

	if (p->nr_vms == SCRIPT_MAX_VMS)
		return perr(p, name->col, "vm: more than %d VMs",
			    SCRIPT_MAX_VMS);
	ret = def_named(p, name, OBJ_VM, a[VM_PROC].obj, &a[VM_NAME]);
	if (!ret)
		p->s->objs[a[VM_NAME].obj].index = p->nr_vms++;
	return ret;
}

static int sem_memslot(struct parser *p)
{
	struct arg *a = p->st->a;
	struct psym *vm = &p->sym[a[SLOT_VM].obj];
	unsigned int id, i;

	if (!a[SLOT_SLOT].set) {
		a[SLOT_SLOT].set = true;
		a[SLOT_SLOT].u = vm->nr_slots;
	}
	id = a[SLOT_SLOT].u;
	for (i = 0; i < vm->nr_slots && vm->slot_id[i] != id; i++)
		;
	if (!a[SLOT_LEN].u) {
		if (i == vm->nr_slots)
			return perr(p, a[SLOT_LEN].col,
				    "memslot: len=0 deletes a memslot, and "
				    "slot %u does not exist", id);
		vm->nr_slots--;
		vm->slot_id[i] = vm->slot_id[vm->nr_slots];
		vm->slot_gpa[i] = vm->slot_gpa[vm->nr_slots];
		vm->slot_len[i] = vm->slot_len[vm->nr_slots];
		return 0;
	}
	if (!a[SLOT_HVA].set)
		return perr(p, p->end_col, "memslot: missing hva=ADDR");
	if (i == vm->nr_slots) {
		if (vm->nr_slots == GUEST_MAX_SLOTS)
			return perr(p, p->end_col, "memslot: more than %d "
						   "memslots in one VM",
				    GUEST_MAX_SLOTS);
		vm->nr_slots++;
	}
	vm->slot_id[i] = id;
	vm->slot_gpa[i] = a[SLOT_GPA].u;
	vm->slot_len[i] = a[SLOT_LEN].u;
	return 0;
}

static int sem_vcpu(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	int vm = a[VCPU_VM].obj;
	unsigned int n = a[VCPU_COUNT].set ? a[VCPU_COUNT].u : 1;
	char buf[SCRIPT_MAX_NAME + 8];

	if (p->sym[vm].nr_vcpus + n > GUEST_MAX_VCPUS)
		return perr(p, name->col, "vcpu: more than %d vCPUs in VM '%s'",
			    GUEST_MAX_VCPUS, p->s->objs[vm].name);
	for (unsigned int k = 0; k < n; k++) {
		struct word w = *name;
		int ret;

		if (n > 1) {
			w.len = snprintf(buf, sizeof(buf), "%.*s%u",
					 (int)name->len, name->s, k);
			w.s = buf;
			if (w.len > SCRIPT_MAX_NAME)
				return perr(p, name->col, "vcpu: '%s' is too "
							  "long a name", buf);
			ret = check_new_name(p, &w);
			if (ret)
				return ret;
		}
		ret = def_named(p, &w, OBJ_VCPU, vm, &a[VCPU_NAME]);
		if (ret)
			return ret;
		p->s->objs[p->s->nr_objs - 1].index = p->sym[vm].nr_vcpus++;
	}
	a[VCPU_NAME].obj = p->s->nr_objs - n;
	return 0;
}

static int sem_workload(struct parser *p)
{
	struct arg *a = p->st->a;

	if (a[WL_OPS].set == a[WL_DURATION].set)
		return perr(p, a[WL_OPS].set ? a[WL_DURATION].col : p->end_col,
			    "workload: give exactly one of ops=N and "
			    "duration=TIME");
	if (a[WL_DURATION].set && p->seeded)
		return perr(p, a[WL_DURATION].col,
			    "workload: duration= needs the wall clock, which "
			    "a seeded run (--seed) does not have; give ops=N");
	p->workload = p->s->nr_stmts - 1;
	p->nr_threads = 0;
	return 0;
}

static int race_end(struct parser *p);

static int sem_end(struct parser *p)
{
	struct stmt *w;

	if (p->race >= 0)
		return race_end(p);
	if (p->workload < 0)
		return perr(p, p->col0, "end: no workload or race to end");
	if (!p->nr_threads)
		return perr(p, p->col0, "end: the workload at line %u has no "
					"threads (guest, cpu or churn)",
			    p->s->stmts[p->workload].line);
	w = &p->s->stmts[p->workload];
	w->block = p->s->nr_stmts - 1;
	p->st->block = p->workload;
	p->workload = -1;
	return 0;
}

/* One thread per vCPU, and one churn thread per region, per workload. */
static int thread_unique(struct parser *p, unsigned int arg)
{
	for (unsigned int i = p->workload + 1; i < p->s->nr_stmts - 1; i++) {
		const struct stmt *t = &p->s->stmts[i];

		if (t->kind == p->st->kind &&
		    t->a[arg].obj == p->st->a[arg].obj)
			return perr(p, p->st->a[arg].col,
				    "%s: '%s' already has a %s thread in this "
				    "workload (line %u)", p->spec->name,
				    p->s->objs[p->st->a[arg].obj].name,
				    p->spec->name, t->line);
	}
	return 0;
}

static int sem_guest_range(struct parser *p)
{
	struct arg *a = p->st->a;
	int vm = p->s->objs[a[TH_WHO].obj].owner;
	struct psym *s = &p->sym[vm];

	if (a[TH_GPA].set != a[TH_LEN].set)
		return perr(p, a[TH_GPA].set ? a[TH_GPA].col : a[TH_LEN].col,
			    "guest: gpa= and len= go together");
	if (a[TH_GPA].set)
		return 0;
	if (s->nr_slots != 1)
		return perr(p, p->end_col, "guest: VM '%s' has %u memslots; "
					   "say which range with gpa= and len=",
			    p->s->objs[vm].name, s->nr_slots);
	a[TH_GPA].set = a[TH_LEN].set = true;
	a[TH_GPA].u = s->slot_gpa[0];
	a[TH_LEN].u = s->slot_len[0];
	return 0;
}

/* No weight given: all are 1.  Some given: the others are 0. */
static int churn_weights(struct parser *p)
{
	struct arg *a = p->st->a;
	int given = -1;

	for (unsigned int i = TH_MUNMAP; i <= TH_KSM; i++) {
		if (!a[i].set)
			continue;
		if (a[i].u)
			return 0;
		given = i;
	}
	if (given >= 0)
		return perr(p, a[given].col, "churn: every weight is 0");
	for (unsigned int i = TH_MUNMAP; i <= TH_KSM; i++) {
		a[i].set = true;
		a[i].u = 1;
	}
	return 0;
}

/* An exported region belongs to the exporting process. */
static int sem_xpmem(struct parser *p, const struct word *name)
{
	struct arg *a = p->st->a;
	const struct script_obj *r = &p->s->objs[a[XP_REGION].obj];

	if (r->owner != a[XP_PROC].obj)
		return perr(p, a[XP_REGION].col,
			    "xpmem: region '%s' belongs to process '%s'",
			    r->name, p->s->objs[r->owner].name);
	return def_named(p, name, OBJ_XPMEM, a[XP_PROC].obj, &a[XP_NAME]);
}

/* One thread per context, over a region of the context's process. */
static int sem_gru_dev(struct parser *p)
{
	const struct arg *a = p->st->a;
	const struct script_obj *g = &p->s->objs[a[TH_WHO].obj];
	const struct script_obj *r = &p->s->objs[a[TH_REGION].obj];

	if (r->owner != g->owner)
		return perr(p, a[TH_REGION].col,
			    "gru: region '%s' belongs to process '%s', GRU "
			    "context '%s' to '%s'", r->name,
			    p->s->objs[r->owner].name, g->name,
			    p->s->objs[g->owner].name);
	return thread_unique(p, TH_WHO);
}

static int sem_thread(struct parser *p)
{
	struct arg *a = p->st->a;
	int ret;

	if (++p->nr_threads > SCRIPT_MAX_THREADS)
		return perr(p, p->col0, "%s: more than %d threads in one "
					"workload",
			    p->spec->name, SCRIPT_MAX_THREADS);
	if (a[TH_THETA].set && a[TH_PATTERN].u != PAT_ZIPF)
		return perr(p, a[TH_THETA].col, "%s: theta= applies to "
						"pattern=zipf only",
			    p->spec->name);
	p->st->block = p->workload;
	if (p->st->kind == ST_GUEST) {
		ret = thread_unique(p, TH_WHO);
		return ret ? ret : sem_guest_range(p);
	}
	if (p->st->kind == ST_CHURN) {
		ret = thread_unique(p, TH_REGION);
		return ret ? ret : churn_weights(p);
	}
	return p->st->kind == ST_GRU_DEV ? sem_gru_dev(p) : 0;
}

/* A store can be expected to fault (or exit), not to return a value. */
static int sem_store(struct parser *p)
{
	const struct arg *e = &p->st->a[ACC_EXPECT];

	if (!e->set || e->exp != EXP_VALUE)
		return 0;
	return perr(p, e->col, "%s: a store expects no value: expect=fault%s",
		    p->spec->name,
		    p->st->kind == ST_GWRITE ? " or expect=mmio" : "");
}

static int sem_task(struct parser *p);
static int sem_replace(struct parser *p);

static int sem_stmt(struct parser *p)
{
	const struct word *const *w = p->argw;
	struct arg *a = p->st->a;

	switch (p->st->kind) {
	case ST_HOST:
		return sem_host(p);
	case ST_PROCESS:
		if (p->nr_procs++ == SCRIPT_MAX_PROCS)
			return perr(p, w[PROCESS_NAME]->col, "process: more "
				    "than %d processes", SCRIPT_MAX_PROCS);
		return def_named(p, w[PROCESS_NAME], OBJ_PROCESS, -1,
				 &a[PROCESS_NAME]);
	case ST_MMAP:
		return sem_mmap(p, w[MMAP_NAME]);
	case ST_MUNMAP:
	case ST_MPROTECT:
	case ST_MADVISE:
	case ST_AGE:
		return sem_range(p);
	case ST_MREMAP:
		return sem_mremap(p);
	case ST_FORK:
		if (p->nr_procs++ == SCRIPT_MAX_PROCS)
			return perr(p, w[FORK_NAME]->col, "fork: more than %d "
				    "processes", SCRIPT_MAX_PROCS);
		return def_named(p, w[FORK_NAME], OBJ_PROCESS, -1,
				 &a[FORK_NAME]);
	case ST_EXIT:
		p->sym[a[EXIT_PROC].obj].exited = p->line;
		return 0;
	case ST_WRITE:
	case ST_GWRITE:
		return sem_store(p);
	case ST_VM:
		return sem_vm(p, w[VM_NAME]);
	case ST_KSM:
		if (!a[KSM_SCAN].set && !a[KSM_RUN].set)
			return perr(p, p->end_col, "ksm: give scan=N, run=WORD "
				    "or both");
		return 0;
	case ST_VERIFY:
		if (a[VERIFY_DATA].set && !p->sym[a[VERIFY_VM].obj].nr_vcpus)
			return perr(p, a[VERIFY_DATA].col, "verify: data reads "
				    "through the VM's first vCPU, and '%s' has "
				    "none", p->s->objs[a[VERIFY_VM].obj].name);
		return 0;
	case ST_MEMSLOT:
		return sem_memslot(p);
	case ST_VCPU:
		return sem_vcpu(p, w[VCPU_NAME]);
	case ST_GRU:
		return def_named(p, w[GRU_NAME], OBJ_GRU, a[GRU_PROC].obj,
				 &a[GRU_NAME]);
	case ST_XPMEM:
		return sem_xpmem(p, w[XP_NAME]);
	case ST_WORKLOAD:
		return sem_workload(p);
	case ST_END:
		return sem_end(p);
	case ST_GUEST:
	case ST_CPU:
	case ST_CHURN:
	case ST_GRU_DEV:
	case ST_XPMEM_DEV:
		return sem_thread(p);
	case ST_RACE:
		p->race = p->s->nr_stmts - 1;
		p->task = -1;
		return 0;
	case ST_TASK:
		return sem_task(p);
	case ST_REPLACE:
	case ST_WRPROTECT:
		return sem_replace(p);
	case ST_MIRROR:
		return def_named(p, w[MIRROR_NAME], OBJ_MIRROR,
				 a[MIRROR_PROC].obj, &a[MIRROR_NAME]);
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------------
 * Races: tasks of explicit operations
 */

static int sem_replace(struct parser *p)
{
	const struct arg *a = p->st->a;

	if (a[REPLACE_ADDR].obj < 0)
		return perr(p, a[REPLACE_ADDR].col, "%s: the address must be "
			    "in a region (REGION or REGION+SIZE), whose "
			    "protection%s the operation restores",
			    p->spec->name,
			    p->st->kind == ST_REPLACE ? " and flags" : "");
	if (p->s->objs[a[REPLACE_ADDR].obj].owner != a[REPLACE_PROC].obj)
		return perr(p, a[REPLACE_ADDR].col, "%s: region '%s' "
			    "belongs to process '%s'", p->spec->name,
			    p->s->objs[a[REPLACE_ADDR].obj].name,
			    p->s->objs[p->s->objs[a[REPLACE_ADDR].obj].owner]
				    .name);
	return 0;
}

/* The task's name: the statement's second word. */
static unsigned int task_label(const struct stmt *t, const char **s)
{
	const char *n = t->text + strlen("task");

	while (*n == ' ' || *n == '\t')
		n++;
	*s = n;
	return strcspn(n, " \t");
}

/*
 * A task line starts a segment; segments of one name form one task,
 * run in order.  @u of the name is the index of the task's first
 * segment.
 */
static int sem_task(struct parser *p)
{
	struct arg *a = p->st->a;
	unsigned int me = p->s->nr_stmts - 1, tasks = 0, len;
	const char *name, *other;

	len = task_label(p->st, &name);
	a[TASK_NAME].u = me;
	for (unsigned int i = p->race + 1; i < me; i++) {
		const struct stmt *t = &p->s->stmts[i];

		if (t->kind != ST_TASK || t->a[TASK_NAME].u != i)
			continue;
		tasks++;
		if (task_label(t, &other) == len && !memcmp(name, other, len))
			a[TASK_NAME].u = i;
	}
	if (a[TASK_NAME].u == me && tasks == SCRIPT_MAX_THREADS)
		return perr(p, p->col0, "task: more than %d tasks in one race",
			    SCRIPT_MAX_THREADS);
	if (a[TASK_PICK].set && !a[TASK_REPEAT].set)
		return perr(p, a[TASK_PICK].col, "task: pick needs repeat=N "
			    "(how many operations to pick)");
	p->st->block = p->race;
	p->task = me;
	return 0;
}

/* A statement inside a race: an operation of the current task. */
static int race_context(struct parser *p, const struct word *w)
{
	const struct stmt *t;

	if (p->spec->ctx == CTX_ANY || p->spec->ctx == CTX_RACE)
		return 0;
	if (!(p->spec->ctx & CTX_RACE))
		return perr(p, w->col, "%s: not allowed inside the race at "
			    "line %u (only task, end and operations: write, "
			    "read, gwrite, gread, mwrite, mread, munmap, "
			    "replace, mprotect, wrprotect, madvise, age, cow, exit, "
			    "migrate, "
			    "ksm, compact, reclaim, vm, memslot, vcpu)",
			    p->spec->name, p->s->stmts[p->race].line);
	if (p->task < 0)
		return perr(p, w->col, "%s: an operation of a race belongs to "
			    "a task; start one with 'task NAME'",
			    p->spec->name);
	t = &p->s->stmts[p->task];
	if ((p->spec->args[0].type >= T_DEF_PROC &&
	     p->spec->args[0].type <= T_DEF_MIRROR) &&
	    (t->a[TASK_REPEAT].u > 1 || t->a[TASK_PICK].set))
		return perr(p, w->col, "%s: defines a name, so it runs once: "
			    "not in a task with repeat= or pick (line %u)",
			    p->spec->name, t->line);
	return 0;
}

static int race_end(struct parser *p)
{
	struct stmt *r = &p->s->stmts[p->race];

	if (p->task < 0)
		return perr(p, p->col0, "end: the race at line %u has no "
			    "tasks", r->line);
	r->block = p->s->nr_stmts - 1;
	p->st->block = p->race;
	p->race = p->task = -1;
	return 0;
}

/* ---------------------------------------------------------------------
 * Lines
 */

static int find_stmt(const struct word *w)
{
	for (unsigned int k = 0; k < NR_STMT_KINDS; k++)
		if (word_is(w, specs[k].name))
			return k;
	return -1;
}

static int unknown_stmt(struct parser *p, const struct word *w)
{
	const char *names[NR_STMT_KINDS];
	const char *near;

	for (unsigned int k = 0; k < NR_STMT_KINDS; k++)
		names[k] = specs[k].name;
	near = closest(w, names, NR_STMT_KINDS);
	return perr(p, w->col, "unknown statement '%.*s%s'; expected host, "
			       "process, mmap, munmap, mprotect, madvise, "
			       "mremap, fork, exit, write, read, age, vm, "
			       "memslot, vcpu, gwrite, gread, verify, ksm, "
			       "migrate, compact, reclaim, replace, wrprotect, "
			       "cow, "
			       "mirror, mwrite, mread, gru, xpmem, expect, "
			       "workload or race%s%s%s",
		    WQ(w),
		    near ? " (did you mean '" : "", near ? near : "",
		    near ? "'?)" : "");
}

static int check_context(struct parser *p, const struct word *w)
{
	if (p->race >= 0)
		return race_context(p, w);
	if (p->spec->ctx == CTX_RACE)
		return perr(p, w->col, "%s: belongs between 'race' and 'end'",
			    p->spec->name);
	if (p->spec->ctx == CTX_WORKLOAD && p->workload < 0)
		return perr(p, w->col, "%s: a thread statement belongs "
				       "between 'workload' and 'end'",
			    p->spec->name);
	if (!(p->spec->ctx & CTX_TOP) && p->workload < 0)
		return perr(p, w->col, "%s: not allowed at the top level",
			    p->spec->name);
	if (p->spec->ctx != CTX_ANY && (p->spec->ctx & CTX_TOP) &&
	    p->workload >= 0)
		return perr(p, w->col, "%s: not allowed inside the workload "
				       "at line %u (only guest, cpu, churn, "
				       "gru, xpmem and end)", p->spec->name,
			    p->s->stmts[p->workload].line);
	return 0;
}

static struct stmt *new_stmt(struct parser *p)
{
	struct script *s = p->s;

	if (s->nr_stmts == p->cap_stmts) {
		size_t cap = p->cap_stmts ? p->cap_stmts * 2 : 64;
		struct stmt *n = realloc(s->stmts, cap * sizeof(*n));

		if (!n)
			return NULL;
		s->stmts = n;
		p->cap_stmts = cap;
	}
	memset(&s->stmts[s->nr_stmts], 0, sizeof(s->stmts[0]));
	for (unsigned int i = 0; i < STMT_MAX_ARGS; i++)
		s->stmts[s->nr_stmts].a[i].obj = -1;
	return &s->stmts[s->nr_stmts++];
}

static int parse_stmt(struct parser *p, const struct word *words,
		      unsigned int n, const char *text, unsigned int text_len)
{
	unsigned int next_pos = 0;
	int kind = find_stmt(&words[0]);
	int ret;

	if (kind < 0)
		return unknown_stmt(p, &words[0]);
	if (kind == ST_GRU && p->workload >= 0) /* a thread, not a context */
		kind = ST_GRU_DEV;
	if (kind == ST_XPMEM && p->workload >= 0) /* an importer thread */
		kind = ST_XPMEM_DEV;
	p->spec = &specs[kind];
	p->col0 = words[0].col;
	memset(p->argw, 0, sizeof(p->argw));
	ret = check_context(p, &words[0]);
	if (ret)
		return ret;
	if (p->s->nr_stmts == SCRIPT_MAX_STMTS)
		return perr(p, p->col0, "more than %d statements",
			    SCRIPT_MAX_STMTS);
	p->st = new_stmt(p);
	if (!p->st)
		return -ENOMEM;
	p->st->kind = kind;
	p->st->line = p->line;
	if (p->race >= 0 && kind != ST_TASK && kind != ST_END)
		p->st->block = p->task;
	p->st->text = strndup(text, text_len);
	if (!p->st->text)
		return -ENOMEM;
	for (unsigned int i = 1; i < n; i++) {
		ret = parse_word(p, &words[i], &next_pos);
		if (ret)
			return ret;
	}
	ret = check_missing(p);
	return ret ? ret : sem_stmt(p);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split one line (no newline) into words; comments end it. */
static int parse_line(struct parser *p, const char *s, unsigned int len)
{
	struct word words[SCRIPT_MAX_WORDS];
	unsigned int n = 0, i = 0, text_end = 0, text_start = 0;

	if (len && s[len - 1] == '\r')
		len--;
	if (len > SCRIPT_MAX_LINE)
		return perr(p, SCRIPT_MAX_LINE + 1, "line longer than %d bytes",
			    SCRIPT_MAX_LINE);
	while (i < len) {
		unsigned char c = s[i];

		if (c == '#')
			break;
		if (is_blank(c)) {
			i++;
			continue;
		}
		if (c < 0x20 || c >= 0x7f)
			return perr(p, i + 1, "unexpected byte 0x%02x; a "
					      "scenario is printable ASCII", c);
		if (n == SCRIPT_MAX_WORDS)
			return perr(p, i + 1, "more than %d words in one line",
				    SCRIPT_MAX_WORDS);
		if (!n)
			text_start = i;
		words[n].s = s + i;
		words[n].col = i + 1;
		while (i < len && !is_blank(s[i]) && s[i] != '#') {
			c = s[i];
			if (c < 0x20 || c >= 0x7f)
				return perr(p, i + 1, "unexpected byte 0x%02x; "
						      "a scenario is printable "
						      "ASCII", c);
			i++;
		}
		words[n].len = s + i - words[n].s;
		text_end = i;
		n++;
	}
	p->end_col = text_end + 1;
	if (!n)
		return 0;
	return parse_stmt(p, words, n, s + text_start, text_end - text_start);
}

void script_free(struct script *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->nr_stmts; i++)
		free(s->stmts[i].text);
	free(s->stmts);
	free(s);
}

int script_parse(const char *path, const char *text, size_t len,
		 struct script **out, bool seeded)
{
	struct parser p = { .path = path, .workload = -1, .race = -1,
			    .task = -1, .seeded = seeded };
	size_t pos = 0;
	int ret = 0;

	*out = NULL;
	p.s = calloc(1, sizeof(*p.s));
	p.sym = calloc(SCRIPT_MAX_OBJS, sizeof(*p.sym));
	if (!p.s || !p.sym) {
		free(p.sym);
		free(p.s);
		return -ENOMEM;
	}
	p.s->path = path;
	p.s->host = -1;
	if (len > SCRIPT_MAX_BYTES) {
		p.line = 1;
		ret = perr(&p, 1, "file larger than %lu bytes",
			   SCRIPT_MAX_BYTES);
	}
	while (!ret && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		p.line++;
		if (memchr(text + pos, 0, end - pos)) {
			ret = perr(&p, (const char *)memchr(text + pos, 0,
							    end - pos) -
					       (text + pos) + 1,
				   "unexpected byte 0x00; a scenario is "
				   "printable ASCII");
			break;
		}
		ret = parse_line(&p, text + pos, end - pos);
		pos = end + 1;
	}
	if (!ret && (p.workload >= 0 || p.race >= 0)) {
		p.line++;
		ret = perr(&p, 1, "end of file inside the %s at line %u; "
				  "expected 'end'",
			   p.race >= 0 ? "race" : "workload",
			   p.s->stmts[p.race >= 0 ? p.race : p.workload].line);
	}
	free(p.sym);
	if (ret) {
		script_free(p.s);
		return ret;
	}
	*out = p.s;
	return 0;
}
