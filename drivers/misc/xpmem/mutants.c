// SPDX-License-Identifier: MIT
/*
 * XPMEM's protocol mutants (<mmulab/mutant.h>): each function is the
 * broken variant of the one its name begins with, which selects it in the
 * first line of its body.  Broken on purpose, so that the tests and
 * `mmulab check --mutant` show the checker catching each one.
 * MUTANT_XPMEM_END_ONLY, upstream XPMEM's variant, is a return in
 * variant_of().
 */
#include <mmulab/mutant.h>
#include "xpmem_internal.h"

/*
 * MUTANT_XPMEM_ACK_BEFORE_DROP: the importer acknowledges an invalidation
 * before it drops its mappings, so the exporter's callback returns while
 * they still map the range.
 */
void xpmem_answer_mutant_ack_before_drop(struct xpmem_attachment *att, long req)
{
	unsigned long start, end;

	mutex_lock(&att->lock);
	start = att->inv_start;
	end = att->inv_end;
	mutex_unlock(&att->lock);
	xpmem_ack(att, req);
	mutex_lock(&att->lock);
	xpmem_drop_range(att, start, end);
	mutex_unlock(&att->lock);
}
