// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <mmulab/mm.h>

int main(void)
{
	struct host_config cfg = { .nr_frames = 1024 };
	struct host *h = host_create(&cfg);

	if (IS_ERR(h))
		return 1;
	printf("free frames: %lu\n", host_nr_free_frames(h));
	return host_destroy(h) ? 1 : 0;
}
