/* Shared inside lib/ by the users of OpenSSL (sig.c, ca.c). */
#ifndef ARBOR_SIG_INT_H
#define ARBOR_SIG_INT_H

/* Log what OpenSSL says went wrong in what and empty its error queue. */
void	arb__crypto_log(const char *what);

#endif
