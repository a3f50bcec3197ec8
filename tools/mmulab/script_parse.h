/* SPDX-License-Identifier: MIT */
/*
 * The scenario parser's own declarations, shared by its three files:
 * script_parse.c (the statement table, the grammar and the driver),
 * script_lex.c (words, numbers, sizes, names and the other values) and
 * script_sem.c (what a statement means for the names and the blocks).
 * Nothing outside the parser includes this header; script.h is its API.
 */
#ifndef MMULAB_TOOL_SCRIPT_PARSE_H
#define MMULAB_TOOL_SCRIPT_PARSE_H

#include "script.h"

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
	T_DEF_RECORD,
	T_DEF_NOTIFIER,
	T_DEF_FILE,
	T_PROC,
	T_REGION,
	T_VM,
	T_VCPU,
	T_MIRROR,
	T_GRU,
	T_XPMEM,
	T_FILE,
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
	unsigned int host;	/* `host` statements before the first: names */
	int workload;		/* index of the open workload, or -1 */
	int race;		/* index of the open race, or -1 */
	int task;		/* index of the race's current task, or -1 */
	unsigned int nr_threads;
	bool seeded;
	size_t cap_stmts;
};

/* A word as messages quote it: at most 40 bytes. */
#define WQ(w) (int)((w)->len > 40 ? 40 : (w)->len), (w)->s, \
	      ((w)->len > 40 ? "..." : "")

/* ---------------------------------------------------------------------
 * Shared between the parser's files
 */

/**
 * perr() - print an error at the current line of @p, column @col.
 * @p: the parser.
 * @col: the column (bytes from 1).
 * @fmt: printf-style message, without the position.
 *
 * Return: -EINVAL.
 */
int perr(struct parser *p, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * word_is() - whether @w is exactly @s.
 * @w: a word of the line.
 * @s: a NUL-terminated string.
 *
 * Return: true if they are equal.
 */
bool word_is(const struct word *w, const char *s);

/**
 * closest() - the candidate nearest to @w, for "did you mean".
 * @w: the word that matched nothing.
 * @cands: the candidates; NULL entries are skipped.
 * @n: how many.
 *
 * Return: the closest candidate, or NULL if none is close.
 */
const char *closest(const struct word *w, const char *const *cands,
		    unsigned int n);

/**
 * type_what() - what an argument of a type looks like, for messages.
 * @type: enum arg_type.
 *
 * Return: a phrase such as "a process"; "?" for an unknown type.
 */
const char *type_what(unsigned int type);

/**
 * is_name() - whether @w is a valid name.
 * @w: the word.
 *
 * Return: true for a letter or '_', then letters, digits, '_' or '-', at
 * most SCRIPT_MAX_NAME bytes.
 */
bool is_name(const struct word *w);

/**
 * is_reserved() - whether @w is a keyword: a statement, a flag or a
 * reserved word.
 * @w: the word.
 *
 * Return: true if @w cannot name anything.
 */
bool is_reserved(const struct word *w);

/**
 * check_new_name() - check that @w can name a new object.
 * @p: the parser.
 * @w: the name.
 *
 * Return: 0, or -EINVAL after printing why not.
 */
int check_new_name(struct parser *p, const struct word *w);

/**
 * add_obj() - define a name.
 * @p: the parser.
 * @name: the name (not NUL-terminated).
 * @len: its length.
 * @kind: what it names.
 * @owner: the object it belongs to, or -1.
 * @col: its column, for messages.
 *
 * Return: the object's index, or -EINVAL when there are too many.
 */
int add_obj(struct parser *p, const char *name, unsigned int len,
	    enum obj_kind kind, int owner, unsigned int col);

/**
 * parse_value() - parse and check one argument.
 * @p: the parser, at the statement.
 * @w: the argument's value.
 * @as: what the statement expects there.
 * @a: where the value goes.
 *
 * Return: 0, or -EINVAL after printing what was expected.
 */
int parse_value(struct parser *p, const struct word *w,
		const struct arg_spec *as, struct arg *a);

/**
 * sem_stmt() - what the parsed statement @p->st means for the names and
 * the blocks: define its names, open or close a block, check what the
 * arguments alone cannot.
 * @p: the parser, after the statement's arguments.
 *
 * Return: 0, or -EINVAL after printing why not.
 */
int sem_stmt(struct parser *p);

/**
 * race_context() - check a statement inside a race: an operation of the
 * current task.
 * @p: the parser, at the statement.
 * @w: the statement's keyword, for the column.
 *
 * Return: 0, or -EINVAL after printing why not.
 */
int race_context(struct parser *p, const struct word *w);

#endif /* MMULAB_TOOL_SCRIPT_PARSE_H */
