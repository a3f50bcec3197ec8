// SPDX-License-Identifier: MIT
/*
 * Page provenance (mm/page_history.c): dump_user_addr() says where the
 * frame an address maps got its contents: cleared by the fault that
 * mapped it, copied from the frame it shared before a COW, or read from
 * the swap slot that the frame which held the page wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mmulab/checker.h>
#include "mm/swap.h"
#include "cpu_access.h"

/* What dump_user_addr() prints for @addr of @mm (caller frees). */
static char *dump(struct mm_struct *mm, unsigned long addr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	dump_user_addr(mm, addr, f);
	fclose(f);
	return buf;
}

static void assert_dump_has(struct mm_struct *mm, unsigned long addr,
			    const char *want)
{
	char *d = dump(mm, addr);

	if (!strstr(d, want))
		print_message("want \"%s\" in:\n%s", want, d);
	assert_non_null(strstr(d, want));
	free(d);
}

static void test_dump_user_addr_provenance(void **state)
{
	struct host_config cfg = { .nr_frames = 64,
				   .content = HOST_CONTENT_DATA,
				   .swap_slots = 8 };
	struct host *host = host_create(&cfg);
	struct mm_struct *mm, *child;
	unsigned long a, old, slot;
	char want[160];
	pte_t pte;

	(void)state;
	assert_false(IS_ERR(host));
	mm = mm_alloc(host);
	assert_false(IS_ERR(mm));
	a = vm_mmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	wr(mm, a, 1);
	assert_dump_has(mm, a, "contents: cleared");
	/* Out to a slot: the swap entry names it and its writer. */
	old = pfn_at(mm, a);
	assert_int_equal(do_madvise(mm, a, PAGE_SIZE, MADV_PAGEOUT), 0);
	assert_int_equal(follow_pte(mm, a, &pte), 0);
	assert_true(is_swap_pte(pte));
	slot = swp_offset(pte_to_swp_entry(pte));
	snprintf(want, sizeof(want), "slot %lu: 1 writes, last by frame %lu",
		 slot, old);
	assert_dump_has(mm, a, want);
	/* Back in: the new frame was read from that write of that slot. */
	assert_true(rd(mm, a) == 1);
	snprintf(want, sizeof(want),
		 "contents: read from slot %lu (its write 1, by frame %lu",
		 slot, old);
	assert_dump_has(mm, a, want);
	/* A COW copy names the frame it was copied from. */
	old = pfn_at(mm, a);
	child = dup_mm(mm);
	assert_false(IS_ERR(child));
	wr(child, a, 2);
	snprintf(want, sizeof(want), "contents: copied from frame %lu", old);
	assert_dump_has(child, a, want);
	assert_true(rd(mm, a) == 1);
	assert_dump_has(child, a, "never written to a slot");
	/* Misuse (a WARN from follow_pte()) reads as no address space. */
	assert_dump_has(NULL, a, "no address space");
	mmput(child);
	mmput(mm);
	assert_int_equal(host_destroy(host), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_user_addr_provenance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
