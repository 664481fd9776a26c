/*
 * What the unit tests share: removing the mkdtemp() tree a fixture made.
 */
#ifndef ARBOR_TEST_TMPTREE_H
#define ARBOR_TEST_TMPTREE_H

/* Remove dir and everything under it, not following links; quiet. */
void	test_rmtree(const char *dir);

#endif
