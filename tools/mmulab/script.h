/* SPDX-License-Identifier: MIT */
/*
 * Scenario files: a line-oriented language for step scripts and
 * concurrent workloads (docs/scenario.md).  script_parse() checks a whole
 * file before anything runs, names, lifetimes and limits included, so
 * that every input error is reported as FILE:LINE:COLUMN with what was
 * expected; script_run() then executes it into a report.
 */
#ifndef MMULAB_TOOL_SCRIPT_H
#define MMULAB_TOOL_SCRIPT_H

#include "guest.h"
#include "report.h"

/* Limits of the language, enforced by the parser. */
#define SCRIPT_MAX_BYTES (1UL << 20)
#define SCRIPT_MAX_LINE 4096
#define SCRIPT_MAX_WORDS 32
#define SCRIPT_MAX_STMTS 100000
#define SCRIPT_MAX_NAME 31
#define SCRIPT_MAX_OBJS 1024
#define SCRIPT_MAX_PROCS 64
#define SCRIPT_MAX_VMS REPORT_MAX_VMS
#define SCRIPT_MAX_THREADS REPORT_MAX_THREADS /* per workload */
#define SCRIPT_MAX_TASKS 32 /* per race */
#define SCRIPT_MAX_FRAMES (1UL << 28)
#define SCRIPT_MAX_REPEAT (1UL << 20)
#define SCRIPT_MAX_OPS 1000000000UL
#define SCRIPT_MAX_DURATION_NS (3600ULL * 1000000000ULL)
#define STMT_MAX_ARGS 20

enum stmt_kind {
	ST_HOST,
	ST_PROCESS,
	ST_MMAP,
	ST_MUNMAP,
	ST_MPROTECT,
	ST_MADVISE,
	ST_MREMAP,
	ST_FORK,
	ST_EXIT,
	ST_WRITE,
	ST_READ,
	ST_AGE,
	ST_VM,
	ST_MEMSLOT,
	ST_VCPU,
	ST_GWRITE,
	ST_GREAD,
	ST_VERIFY,
	ST_KSM,
	ST_MIGRATE,
	ST_COMPACT,
	ST_EXPECT,
	ST_WORKLOAD,
	ST_END,
	ST_GUEST,	/* workload threads */
	ST_CPU,
	ST_CHURN,
	ST_RACE,	/* race blocks (docs/scenario.md, "Races") */
	ST_TASK,
	ST_REPLACE,
	ST_WRPROTECT,
	ST_COW,
	ST_RECLAIM,
	ST_MIRROR,
	ST_MREAD,
	ST_MWRITE,
	ST_OOM_REAP,
	ST_GRU,		/* a GRU context (top) */
	ST_GRU_DEV,	/* its device thread (workload) */
	ST_XPMEM,	/* an exported segment (top) */
	ST_XPMEM_DEV,	/* an importer thread (workload) */
	ST_RECORD,	/* a named number of the report */
	ST_NOTIFIER,	/* a counting mmu_notifier */
	ST_GUP,		/* get_user_pages_unlocked() */
	ST_PIN,		/* pin_user_pages_remote(), a DMA store */
	ST_HMM_FAULT,	/* hmm_range_fault() through a mirror */
	ST_HMM_SNAPSHOT,
	ST_MEMFD,	/* a memfd (top) */
	ST_FTRUNCATE,
	ST_PUNCH_HOLE,
	ST_MMIGRATE,	/* device memory: migrate_vma to the mirror's device */
	ST_MEVICT,	/* ... back to system memory */
	ST_MEXCLUSIVE,	/* ... device-exclusive access */
	NR_STMT_KINDS,
};

enum obj_kind {
	OBJ_PROCESS,
	OBJ_REGION,
	OBJ_VM,
	OBJ_VCPU,
	OBJ_MIRROR,
	OBJ_GRU,
	OBJ_XPMEM,
	OBJ_RECORD,	/* a number `record` named */
	OBJ_NOTIFIER,
	OBJ_FILE,
};

/* What an `expect` reads. */
enum ctr_scope {
	CTR_WARNINGS,	/* warnings raised since the run began */
	CTR_HOST_EVENT,	/* host.<vm_event_name()> */
	CTR_HOST_INVAL,	/* host.<mmu_notifier_event_name()> */
	CTR_HOST_FREE,	/* host.free_frames */
	CTR_HOST_KSM,	/* host.<struct ksm_stats field> */
	CTR_VM_STAT,	/* VM.<kvm_vm_stat field> */
	CTR_VM_STALE,	/* VM.stale_sptes */
	CTR_VM_VCPUS,	/* VM.<kvm_vcpu_stat field>, summed over vCPUs */
	CTR_VCPU_STAT,	/* VCPU.<kvm_vcpu_stat field> */
	CTR_RECORD,	/* a record's value (obj) */
	CTR_NOTIFIER_CALL, /* NOTIFIER.<counter_callback_name()> */
	CTR_NOTIFIER_EVENT, /* NOTIFIER.<mmu_notifier_event_name()> */
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* Special expectations of read, gread and age. */
enum expect_kind {
	EXP_NONE,	/* only that the access succeeds */
	EXP_VALUE,
	EXP_FAULT,	/* -EFAULT */
	EXP_MMIO,	/* KVM_EXIT_MMIO */
	EXP_YOUNG,
	EXP_OLD,
	EXP_BUSY,	/* -EBUSY (migrate: the page is pinned or in use) */
	EXP_NOMEM,	/* accesses until one fails with -ENOMEM */
};

enum access_pattern { PAT_SEQ, PAT_RANDOM, PAT_ZIPF };

/**
 * struct arg - one parsed argument.
 * @set: given (or defaulted) in the statement.
 * @col: its column, for messages.
 * @u: number, size, enum index, protection bits, flag, duration (ns) or
 *	rate (per second).
 * @real: a real number (theta).
 * @obj: object index (references and definitions).
 * @off: offset added to @obj's address; @obj < 0 for an absolute address.
 * @field: counter field index, with @scope.
 * @scope: enum ctr_scope.
 * @exp: enum expect_kind, the value in @u.
 */
struct arg {
	bool set;
	unsigned int col;
	u64 u;
	double real;
	int obj;
	u64 off;
	unsigned int field;
	unsigned int scope;
	unsigned int exp;
};

/**
 * struct stmt - one statement.
 * @kind: enum stmt_kind.
 * @line: its line.
 * @text: its source, comment and outer blanks removed (owned).
 * @block: ST_WORKLOAD, ST_RACE: index of its ST_END; threads: of their
 *	workload; ST_TASK: of its race; statements of a race: of their
 *	ST_TASK; anything else: 0.
 * @a: arguments, indexed by the statement's argument enum.
 */
struct stmt {
	enum stmt_kind kind;
	unsigned int line;
	char *text;
	unsigned int block;
	struct arg a[STMT_MAX_ARGS];
};

/**
 * struct script_obj - a name the script defined.
 * @kind: enum obj_kind.
 * @name: the name.
 * @owner: the process of a region or VM, the VM of a vCPU.
 * @index: a vCPU's index in its VM; a VM's, among VMs.
 * @host: the host it belongs to, counting `host` statements from 0 (a
 *	record belongs to none: it outlives its host).
 */
struct script_obj {
	enum obj_kind kind;
	char name[SCRIPT_MAX_NAME + 1];
	int owner;
	unsigned int index;
	unsigned int host;
};

/**
 * struct script - a parsed scenario.
 * @path: where it came from, for messages.
 * @from_file: it came from a file (not a built-in).
 * @host: index of its first `host` statement (always 0), or -1 for
 *	the defaults; a later `host` statement replaces the host.
 * @nr_stmts: statements.
 * @stmts: the statements, in order.
 * @nr_objs: names defined.
 * @objs: the names, by index.
 */
struct script {
	const char *path;
	bool from_file;
	int host;
	unsigned int nr_stmts;
	struct stmt *stmts;
	unsigned int nr_objs;
	struct script_obj objs[SCRIPT_MAX_OBJS];
};

/* Argument indices of each statement: positionals first, then options. */
enum { HOST_FRAMES, HOST_CONTENT, HOST_CHANGE_PTE, HOST_KSM, HOST_KSM_PAGES,
       HOST_KSM_SLEEP, HOST_SWAP, HOST_SHARED, HOST_THP, HOST_WMARK_LOW,
       HOST_WMARK_HIGH, HOST_KSWAPD, HOST_OOM_KILL, HOST_KSM_MAX_SHARING };
enum { PROCESS_NAME };
enum { MMAP_NAME, MMAP_PROC, MMAP_LEN, MMAP_PROT, MMAP_AT, MMAP_SHARED,
       MMAP_FIXED, MMAP_NOREPLACE, MMAP_POPULATE, MMAP_FILE, MMAP_OFFSET };
enum { RANGE_PROC, RANGE_ADDR, RANGE_LEN, RANGE_PROT, RANGE_ADVICE,
       RANGE_EXPECT, RANGE_AGE };	/* munmap, mprotect, madvise, age */
enum { AGE_CLEAR_FLUSH, AGE_CLEAR, AGE_TEST };
enum { ADV_DONTNEED, ADV_FREE, ADV_MERGEABLE, ADV_UNMERGEABLE, ADV_HUGEPAGE,
       ADV_NOHUGEPAGE, ADV_COLD, ADV_PAGEOUT, ADV_REMOVE };
enum { MREMAP_PROC, MREMAP_REGION, MREMAP_LEN, MREMAP_TO };
enum { FORK_PROC, FORK_NAME };
enum { EXIT_PROC };
enum { OOM_PROC };
enum { ACC_WHO, ACC_ADDR, ACC_VALUE, ACC_EXPECT, ACC_COUNT, ACC_STRIDE,
       ACC_INC };
			/* write, read, gwrite, gread, migrate */
enum { VM_NAME, VM_PROC, VM_PINNED };
enum { SLOT_VM, SLOT_SLOT, SLOT_GPA, SLOT_LEN, SLOT_HVA, SLOT_READONLY };
enum { VCPU_NAME, VCPU_VM, VCPU_COUNT };
enum { GRU_NAME, GRU_PROC, GRU_SETS, GRU_WAYS };
enum { XP_NAME, XP_PROC, XP_REGION, XP_END_ONLY, XP_PEERS, XP_PEER_ACCESSES,
       XP_PEER_TIMEOUT, XP_IMPORTER };
enum { VERIFY_VM, VERIFY_DATA, VERIFY_ALLOW_STALE };
enum { KSM_SCAN, KSM_RUN };
enum { EXPECT_CTR, EXPECT_OP, EXPECT_VALUE };
enum { WL_OPS, WL_DURATION, WL_SEED };
enum { TH_WHO, TH_REGION, TH_OPS, TH_RATE, TH_PATTERN, TH_THETA, TH_READS,
       TH_GPA, TH_LEN, TH_MUNMAP, TH_MPROTECT, TH_MADVISE, TH_FORK,
       TH_WRITE, TH_MIGRATE, TH_KSM, TH_RECLAIM, TH_SPAN };	/* guest, cpu, churn, gru */
#define NR_CHURN_OPS (TH_RECLAIM - TH_MUNMAP + 1)
enum { RACE_SEED };
enum { TASK_NAME, TASK_REPEAT, TASK_PICK };
enum { REPLACE_PROC, REPLACE_ADDR, REPLACE_LEN };
enum { RECLAIM_PAGES };
enum { MIRROR_NAME, MIRROR_PROC, MIRROR_REGION, MIRROR_OFF, MIRROR_LEN };
enum { HMMF_WHO, HMMF_ADDR, HMMF_LEN, HMMF_WRITE, HMMF_EXPECT };
enum { HMMF_OK, HMMF_EFAULT, HMMF_EPERM };
enum { HMMS_NONE, HMMS_READ, HMMS_WRITE, HMMS_ZERO, HMMS_ERROR };
enum { RECORD_NAME, RECORD_CTR, RECORD_MINUS };
enum { NOTIFIER_NAME, NOTIFIER_PROC };
enum { GUP_PROC, GUP_ADDR, GUP_VALUE, GUP_COUNT, GUP_EXPECT, GUP_INC };
			/* gup (no VALUE), pin */
enum { MEMFD_NAME, MEMFD_SIZE };
enum { FTRUNC_FILE, FTRUNC_SIZE };
enum { PUNCH_FILE, PUNCH_OFFSET, PUNCH_LEN };
enum { MDEV_WHO, MDEV_ADDR, MDEV_LEN, MDEV_PARTIAL }; /* mmigrate, ... */
			/* cow, mread, mwrite: ACC_* */

/**
 * struct rt_obj - what a name stands for while the script runs.
 * @mm: a process's address space; NULL before it exists and after exit.
 * @addr: a region's address (as mmap or mremap returned it).
 * @len: its length.
 * @prot: its protection (as mmap, or an mprotect of all of it, set it).
 * @flags: its mmap flags, MAP_FIXED and MAP_POPULATE excepted.
 * @g: a VM.
 * @dmirror: a device mirror.
 * @mdev: its device memory, made by its first mmigrate or mexclusive.
 * @gts: a GRU context.
 * @seg: an XPMEM segment.
 * @value: a record's value.
 * @counter: a counting notifier; @counter_mm, the mm it subscribes to
 *	(kept by the subscription until the teardown unsubscribes it).
 * @file: a memfd; a region's file, NULL for anonymous memory.
 * @offset: a file region's offset in its file.
 */
struct rt_obj {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long len;
	unsigned long prot;
	unsigned long flags;
	struct guest *g;
	struct dmirror *dmirror;
	struct dmirror_device *mdev;
	struct gru_thread_state *gts;
	struct xpmem_segment *seg;
	struct file *file;
	unsigned long offset;
	/* importer processes (xpmem peers=) and their attachments */
	int peer_pids[XPMEM_MAX_ATTACH];
	struct xpmem_attachment *peer_atts[XPMEM_MAX_ATTACH];
	struct xpmem_attachment *xatt; /* importer=: mread/mwrite use it */
	u64 value;
	struct counter *counter;
	struct mm_struct *counter_mm;
};

/**
 * struct script_check - a run of a scenario under `mmulab check`: the
 * coherence checker watches the host from its creation to its teardown.
 * @seed: the run's seed; the races' pick streams derive from it.
 * @report: print the checker's report of the first violation on stdout.
 * @violations: out: violations the checker found.
 */
struct script_check {
	u64 seed;
	bool report;
	unsigned long violations;
};

/**
 * struct rt - the executor's state.
 * @s: the script.
 * @r: the report.
 * @host: the host.
 * @warn0: warn_count() when the run began.
 * @objs: per name of the script.
 * @chk: the checker's run, under `mmulab check`; NULL otherwise.
 */
struct rt {
	struct script *s;
	struct report *r;
	struct host *host;
	unsigned long warn0;
	struct rt_obj *objs;
	struct script_check *chk;
};

/**
 * rt_region_mmap() - map [@addr, +@len) of @mm afresh as region @o is
 * mapped (MAP_FIXED, its protection and flags, and for a file region the
 * file at the matching offset), for replace and churn.
 * Return: as vm_mmap().
 */
long rt_region_mmap(const struct rt_obj *o, struct mm_struct *mm,
		    unsigned long addr, unsigned long len);

/** rt_addr() - the address an ADDR argument denotes. */
unsigned long rt_addr(const struct rt *rt, const struct arg *a);

/**
 * rt_pte_word() - word 0 of the page the entry @pte (as follow_pte() or
 * follow_pte_next() found it) maps, read without faulting; 0 when it maps
 * nothing present.  Only at quiescent points.
 */
u64 rt_pte_word(struct rt *rt, pte_t pte);

/**
 * run_workload() - run the workload whose `workload` statement is
 * @rt->s->stmts[@i], to its `end`.
 */
void run_workload(struct rt *rt, unsigned int i);

/** splitmix64() - a well-mixed 64-bit function of @x, for streams. */
u64 splitmix64(u64 x);

/**
 * prandom_next() - the next number of the tool's one pseudo-random
 * stream (xorshift64*) whose state is *@state, never 0: seed it with
 * splitmix64(seed) | 1.
 */
u64 prandom_next(u64 *state);

/**
 * run_race() - run the race whose `race` statement is @rt->s->stmts[@i],
 * to its `end` (race.c).
 */
void run_race(struct rt *rt, unsigned int i);

struct dmirror_cmd;

/**
 * rt_hmm_cmd() - the range of an hmm-fault or hmm-snapshot statement.
 * @rt: the run.
 * @st: the statement.
 * @cmd: set to its address and pages, nothing else.
 */
void rt_hmm_cmd(struct rt *rt, const struct stmt *st, struct dmirror_cmd *cmd);

/**
 * rt_do() - execute one statement that is not a block, as its task.
 * Return: false when it failed and later statements need what it makes.
 */
bool rt_do(struct rt *rt, const struct stmt *st);

/**
 * xpmem_dev_read() - mread through segment @o's importer= attachment.
 * @o: the segment's runtime object.
 * @addr: the exporter's address.
 * @val: the value read.
 * Return: xpmem_read_u64()'s, or -EFAULT outside the segment.
 */
int xpmem_dev_read(const struct rt_obj *o, u64 addr, u64 *val);

/**
 * xpmem_dev_write() - mwrite through segment @o's importer= attachment.
 * @o: the segment's runtime object.
 * @addr: the exporter's address.
 * @val: the value.
 * Return: xpmem_write_u64()'s, or -EFAULT outside the segment.
 */
int xpmem_dev_write(const struct rt_obj *o, u64 addr, u64 val);

/**
 * script_parse() - parse and check @len bytes of @text, from @path, for a
 * run that is @seeded (which has no wall clock).  Errors are printed on
 * stderr as "PATH:LINE:COL: error: ...".
 * Return: 0 with *@out set, -EINVAL for bad input, -ENOMEM.
 */
int script_parse(const char *path, const char *text, size_t len,
		 struct script **out, bool seeded);

/** script_free() - free a parsed script. */
void script_free(struct script *s);

/**
 * script_run() - run @s into @r.  Runs as the first task of the run;
 * leaves no host, process, VM or task behind.
 */
void script_run(struct script *s, struct report *r);

/**
 * script_run_checked() - script_run() with the coherence checker attached
 * to the host, races seeded from @chk->seed, and the checker's result in
 * @chk.  Run it under the deterministic scheduler.
 */
void script_run_checked(struct script *s, struct report *r,
			struct script_check *chk);

/**
 * script_host_config() - the host configuration of the `host` statement
 * @h (NULL: none): its settings over the language's defaults (4096
 * frames).
 */
void script_host_config(const struct stmt *h, struct host_config *cfg);

/** stmt_name() - the keyword of @kind. */
const char *stmt_name(enum stmt_kind kind);

#endif /* MMULAB_TOOL_SCRIPT_H */
