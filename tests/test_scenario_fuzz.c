// SPDX-License-Identifier: MIT
/*
 * The scenario parser and executor against hostile input, in-process so
 * that thousands of cases fit in a few seconds even under the sanitizers:
 * prefixes of the example scenarios, mutations of them (bytes flipped,
 * ranges deleted, words of the language inserted, lines duplicated) and
 * pseudo-random bytes.  Every input must either parse, or be refused
 * with -EINVAL and exactly one "PATH:LINE:COL: error: " message; a parsed
 * step script (no workload, small repeat counts) must then run and tear
 * down without leaking a frame.  The stream is seeded, so a failure
 * replays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scenario_fuzz.h"
#include "script.h"

#define MUTANTS 3000
#define RANDOMS 500
#define MAX_INPUT 8192

static const char *const examples[] = {
	"examples/scenarios/tour.mmu",
	"examples/scenarios/pinned.mmu",
	"examples/scenarios/soak.mmu",
	"tools/mmulab/scenarios/fault-race.mmu",
};

static const char *const words[] = {
	"host", "process", "mmap", "munmap", "mprotect", "madvise", "mremap",
	"fork", "exit", "write", "read", "age", "vm", "memslot", "vcpu",
	"gwrite", "gread", "verify", "expect", "workload", "end", "guest",
	"cpu", "churn", " ", "\n", "\t", "#", "=", "+", ".", "len=", "len=0",
	"0x", "4K", "1G", "16T", "99999999999999999999", "count=", "ops=",
	"expect=", "fault", "mmio", "==", ">=", "prot=", "rw", "none",
	"gpa=", "hva=", "slot=", "pinned", "shared", "fixed", "at=", "to=",
	"theta=", "0.5", "pattern=zipf", "span=", "data", "allow_stale",
	"warnings", "v0.pf_fixed", "host.UNMAP", "\r", "\x01", "\xff",
};

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

struct buf {
	char s[MAX_INPUT];
	size_t n;
};

static void put(struct buf *b, size_t at, const char *s, size_t len)
{
	if (b->n + len > MAX_INPUT || at > b->n)
		return;
	memmove(b->s + at + len, b->s + at, b->n - at);
	memcpy(b->s + at, s, len);
	b->n += len;
}

static void mutate(struct buf *b)
{
	for (unsigned int k = next() % 6 + 1; k; k--) {
		size_t at = b->n ? next() % b->n : 0, len;
		const char *w;

		switch (next() % 4) {
		case 0:
			len = next() % 24 + 1;
			if (at + len > b->n)
				len = b->n - at;
			memmove(b->s + at, b->s + at + len, b->n - at - len);
			b->n -= len;
			break;
		case 1:
			w = words[next() % MMULAB_ARRAY_SIZE(words)];
			put(b, at, w, strlen(w));
			break;
		case 2:
			if (b->n)
				b->s[at] = next();
			break;
		default: /* duplicate the line at @at somewhere else */
			while (at && b->s[at - 1] != '\n')
				at--;
			len = strcspn(b->s + at, "\n") + 1;
			if (at + len <= b->n) {
				char line[MAX_INPUT];

				memcpy(line, b->s + at, len);
				put(b, next() % (b->n + 1), line, len);
			}
			break;
		}
	}
}

static unsigned long parsed, refused, ran;

/* Parse @b; check the verdict and the message; run it if it is small. */
static void try_input(const struct buf *b)
{
	static struct report r;
	struct script *s = NULL;
	char msg[512] = "";
	FILE *err = tmpfile();
	FILE *saved = stderr;
	int ret;

	assert_non_null(err);
	stderr = err;
	ret = script_parse("f.mmu", b->s, b->n, &s, false);
	stderr = saved;
	rewind(err);
	if (!fgets(msg, sizeof(msg), err))
		msg[0] = 0;
	assert_int_equal(fgetc(err), EOF); /* one line at most */
	fclose(err);
	if (ret) {
		assert_int_equal(ret, -EINVAL);
		if (!fuzz_refusal_ok(msg))
			fail_msg("bad refusal: %s", msg);
		refused++;
		return;
	}
	assert_string_equal(msg, "");
	parsed++;
	if (fuzz_runnable(s)) {
		report_init(&r, "f.mmu");
		script_run(s, &r);
		assert_int_equal(r.frames_free_end, r.frames_total - r.hosts);
		ran++;
	}
	script_free(s);
}

static void load(struct buf *b, const char *rel)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SRCDIR, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	b->n = fread(b->s, 1, MAX_INPUT, f);
	fclose(f);
}

static void test_prefixes(void **state)
{
	(void)state;
	for (unsigned int e = 0; e < MMULAB_ARRAY_SIZE(examples); e++) {
		struct buf whole, b;

		load(&whole, examples[e]);
		for (size_t n = 0; n <= whole.n; n += 1 + next() % 16) {
			memcpy(b.s, whole.s, n);
			b.n = n;
			try_input(&b);
		}
	}
}

static void test_mutants(void **state)
{
	struct buf seeds[MMULAB_ARRAY_SIZE(examples)], b;

	(void)state;
	for (unsigned int e = 0; e < MMULAB_ARRAY_SIZE(examples); e++)
		load(&seeds[e], examples[e]);
	for (unsigned int i = 0; i < MUTANTS; i++) {
		b = seeds[next() % MMULAB_ARRAY_SIZE(examples)];
		mutate(&b);
		try_input(&b);
	}
}

static void test_random_bytes(void **state)
{
	struct buf b;

	(void)state;
	for (unsigned int i = 0; i < RANDOMS; i++) {
		b.n = next() % 300;
		for (size_t k = 0; k < b.n; k++)
			b.s[k] = next() % 4 ? (char)(' ' + next() % 95) :
					      (char)next();
		try_input(&b);
	}
	printf("%lu parsed (%lu run), %lu refused\n", parsed, ran, refused);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mutants),
		cmocka_unit_test(test_random_bytes),
	};

	warn_set_quiet(true);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
