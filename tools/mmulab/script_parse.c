// SPDX-License-Identifier: MIT
/*
 * Parsing and checking scenario files: the statement table, the grammar
 * and the driver.
 *
 * A file is a sequence of lines; a line holds one statement: a keyword,
 * then positional arguments and key=value options separated by blanks.
 * '#' starts a comment.  The grammar is documented in docs/scenario.md;
 * the table below is its single source here.
 *
 * Everything that can be known before the run is checked before it:
 * syntax, ranges, that every name is defined before use and has the
 * right kind, that no process is used after its exit, workload nesting,
 * and the language's limits.  Each argument's value is read in
 * script_lex.c, what a statement means is checked in script_sem.c.  The
 * first error stops the parse and is printed as PATH:LINE:COLUMN
 * (columns count bytes from 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmulab/gru.h>
#include <mmulab/kvm.h>

#include "guest.h"
#include "script_parse.h"
#include "trace.h"

_Static_assert(SCRIPT_MAX_PROCS <= TRACE_MAX_MMS,
	       "the tracer must be able to follow every process");

static const char *const content_names[] = { "data", "tag", NULL };
static const char *const change_pte_names[] = { "none", "bookended", "direct",
						NULL };
static const char *const advice_names[] = { "dontneed", "free", "mergeable",
					    "unmergeable", "hugepage",
					    "nohugepage", "cold", "pageout",
					    "remove", NULL };
static const char *const thp_names[] = { "never", "madvise", "always", NULL };
static const char *const ksm_run_names[] = { "stop", "merge", "unmerge",
					     NULL };
static const char *const age_names[] = { "clear_flush", "clear", "test",
					 NULL };
static const char *const pattern_names[] = { "seq", "random", "zipf", NULL };
static const char *const hmm_fault_names[] = { "ok", "efault", "eperm",
					       NULL };
static const char *const hmm_prot_names[] = { "none", "read", "write", "zero",
					      "error", NULL };

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
		[HOST_SHARED] = { "shared", T_FLAG, FLAG },
		[HOST_THP] = { "thp", T_ENUM, OPT, .choices = thp_names },
		[HOST_WMARK_LOW] = { "wmark_low", T_COUNT, OPT, 1,
				     SCRIPT_MAX_FRAMES },
		[HOST_WMARK_HIGH] = { "wmark_high", T_COUNT, OPT, 1,
				      SCRIPT_MAX_FRAMES },
		[HOST_KSWAPD] = { "kswapd", T_FLAG, FLAG },
		[HOST_OOM_KILL] = { "oom_kill", T_FLAG, FLAG },
		[HOST_KSM_MAX_SHARING] = { "ksm_max_page_sharing", T_COUNT,
					   OPT, 0, 1000000 },
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
		[MMAP_FILE] = { "file", T_FILE, OPT },
		[MMAP_OFFSET] = { "offset", T_SIZE, OPT, 0, MAX_SIZE },
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
		[RANGE_AGE] = { "kind", T_ENUM, OPT, .choices = age_names },
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
		WEIGHT(TH_RECLAIM, "reclaim"),
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
		[MIRROR_OFF] = { "off", T_SIZE, OPT, 0, MAX_SIZE },
		[MIRROR_LEN] = { "len", T_SIZE, OPT, PAGE_SIZE, MAX_SIZE },
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
	[ST_MMIGRATE] = { "mmigrate", CTX_BOTH, {
		[MDEV_WHO] = { "MIRROR", T_MIRROR, POS },
		[MDEV_ADDR] = { "ADDR", T_ADDR, POS },
		[MDEV_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
		[MDEV_PARTIAL] = { "partial", T_FLAG, FLAG },
	} },
	[ST_MEVICT] = { "mevict", CTX_BOTH, {
		[MDEV_WHO] = { "MIRROR", T_MIRROR, POS },
		[MDEV_ADDR] = { "ADDR", T_ADDR, POS },
		[MDEV_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
		[MDEV_PARTIAL] = { "partial", T_FLAG, FLAG },
	} },
	[ST_MEXCLUSIVE] = { "mexclusive", CTX_BOTH, {
		[MDEV_WHO] = { "MIRROR", T_MIRROR, POS },
		[MDEV_ADDR] = { "ADDR", T_ADDR, POS },
		[MDEV_LEN] = { "len", T_SIZE, OPT, 1, MAX_SIZE },
		[MDEV_PARTIAL] = { "partial", T_FLAG, FLAG },
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
		[XP_PEERS] = { "peers", T_COUNT, OPT, 0, XPMEM_MAX_ATTACH },
		[XP_PEER_ACCESSES] = { "peer_accesses", T_COUNT, OPT, 0,
				       1000000000 },
		[XP_PEER_TIMEOUT] = { "peer_timeout", T_TIME, OPT, 1000000,
				      60000000000ULL },
		[XP_IMPORTER] = { "importer", T_PROC, OPT },
	} },
	[ST_XPMEM_DEV] = { "xpmem", CTX_WORKLOAD, {
		[TH_WHO] = { "SEGMENT", T_XPMEM, POS },
		/* the importer, in the slot other threads use for a region */
		[TH_REGION] = { "PROCESS", T_PROC, POS },
		THREAD_ARGS,
		ACCESS_ARGS,
	} },
	[ST_RECORD] = { "record", CTX_TOP, {
		[RECORD_NAME] = { "NAME", T_DEF_RECORD, POS },
		[RECORD_CTR] = { "COUNTER", T_COUNTER, POS },
		[RECORD_MINUS] = { "minus", T_COUNTER, OPT },
	} },
	[ST_NOTIFIER] = { "notifier", CTX_TOP, {
		[NOTIFIER_NAME] = { "NAME", T_DEF_NOTIFIER, POS },
		[NOTIFIER_PROC] = { "PROCESS", T_PROC, POS },
	} },
	[ST_GUP] = { "gup", CTX_TOP, {
		[GUP_PROC] = { "PROCESS", T_PROC, POS },
		[GUP_ADDR] = { "ADDR", T_ADDR, POS },
		[GUP_COUNT] = { "count", T_COUNT, OPT, 1, 512 },
		[GUP_EXPECT] = { "expect", T_VALUE, OPT },
		[GUP_INC] = { "inc", T_VALUE, OPT },
	} },
	[ST_PIN] = { "pin", CTX_TOP, {
		[GUP_PROC] = { "PROCESS", T_PROC, POS },
		[GUP_ADDR] = { "ADDR", T_ADDR, POS },
		[GUP_VALUE] = { "VALUE", T_VALUE, POS },
		[GUP_COUNT] = { "count", T_COUNT, OPT, 1, 512 },
		[GUP_INC] = { "inc", T_VALUE, OPT },
	} },
	[ST_HMM_FAULT] = { "hmm-fault", CTX_BOTH, {
		[HMMF_WHO] = { "MIRROR", T_MIRROR, POS },
		[HMMF_ADDR] = { "ADDR", T_ADDR, POS },
		[HMMF_LEN] = { "len", T_SIZE, OPT, PAGE_SIZE, MAX_SIZE },
		[HMMF_WRITE] = { "write", T_FLAG, FLAG },
		[HMMF_EXPECT] = { "expect", T_ENUM, OPT,
				  .choices = hmm_fault_names },
	} },
	[ST_HMM_SNAPSHOT] = { "hmm-snapshot", CTX_TOP, {
		[HMMF_WHO] = { "MIRROR", T_MIRROR, POS },
		[HMMF_ADDR] = { "ADDR", T_ADDR, POS },
		[HMMF_LEN] = { "len", T_SIZE, OPT, PAGE_SIZE, MAX_SIZE },
		[HMMF_EXPECT] = { "expect", T_ENUM, REQ,
				  .choices = hmm_prot_names },
	} },
	[ST_MEMFD] = { "memfd", CTX_TOP, {
		[MEMFD_NAME] = { "NAME", T_DEF_FILE, POS },
		[MEMFD_SIZE] = { "size", T_SIZE, OPT, 0, MAX_SIZE },
	} },
	[ST_FTRUNCATE] = { "ftruncate", CTX_TOP, {
		[FTRUNC_FILE] = { "FILE", T_FILE, POS },
		[FTRUNC_SIZE] = { "size", T_SIZE, REQ, 0, MAX_SIZE },
	} },
	[ST_PUNCH_HOLE] = { "punch-hole", CTX_TOP, {
		[PUNCH_FILE] = { "FILE", T_FILE, POS },
		[PUNCH_OFFSET] = { "offset", T_SIZE, OPT, 0, MAX_SIZE },
		[PUNCH_LEN] = { "len", T_SIZE, REQ, 1, MAX_SIZE },
	} },
};

/* Words that cannot name anything. */
static const char *const reserved[] = { "host", "warnings", "end", NULL };

const char *stmt_name(enum stmt_kind kind)
{
	return (unsigned int)kind < NR_STMT_KINDS ? specs[kind].name : "?";
}

bool is_reserved(const struct word *w)
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

/* "mmap NAME PROCESS len=SIZE [prot=PROT] ..." for messages. */
static void usage_of(const struct stmt_spec *sp, char *buf, size_t len)
{
	static const char *const placeholder[] = {
		[T_ADDR] = "ADDR", [T_GPA] = "GPA", [T_SIZE] = "SIZE",
		[T_COUNT] = "N", [T_VALUE] = "VALUE", [T_ENUM] = "WORD",
		[T_PROT] = "PROT", [T_PCT] = "PCT", [T_TIME] = "TIME",
		[T_RATE] = "RATE", [T_REAL] = "REAL", [T_EXP_HOST] = "VALUE",
		[T_EXP_GUEST] = "VALUE", [T_EXP_AGE] = "young|old",
		[T_EXP_MIGRATE] = "busy", [T_COUNTER] = "COUNTER",
		[T_FILE] = "FILE",
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
			       "mirror, mwrite, mread, hmm-fault, "
			       "hmm-snapshot, mmigrate, mevict, mexclusive, "
			       "gru, xpmem, memfd, ftruncate, "
			       "punch-hole, expect, record, notifier, gup, pin, "
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
