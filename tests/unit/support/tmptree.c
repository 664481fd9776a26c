/*
 * Removing a test's temporary tree, depth first, links not followed.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>

#include "tmptree.h"

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
test_rmtree(const char *dir)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
