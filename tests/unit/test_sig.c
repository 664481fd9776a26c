/*
 * Unit tests for lib/sig.c: RFC 8032 Ed25519 known answers, SHA-256 known
 * answers, hex, and saving and loading keys.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/sig.h"

/* RFC 8032, section 7.1, TEST 1 to TEST 3. */
static const struct {
	const char	*secret;
	const char	*public;
	const char	*msg;
	const char	*sig;
} rfc8032[] = {
	{
		"9d61b19deffd5a60ba844af492ec2cc4"
		"4449c5697b326919703bac031cae7f60",
		"d75a980182b10ab7d54bfed3c964073a"
		"0ee172f3daa62325af021a68f707511a",
		"",
		"e5564300c360ac729086e2cc806e828a"
		"84877f1eb8e5d974d873e06522490155"
		"5fb8821590a33bacc61e39701cf9b46b"
		"d25bf5f0595bbe24655141438e7a100b",
	},
	{
		"4ccd089b28ff96da9db6c346ec114e0f"
		"5b8a319f35aba624da8cf6ed4fb8a6fb",
		"3d4017c3e843895a92b70aa74d1b7ebc"
		"9c982ccf2ec4968cc0cd55f12af4660c",
		"72",
		"92a009a9f0d4cab8720e820b5f642540"
		"a2b27b5416503f8fb3762223ebdb69da"
		"085ac1e43e15996e458f3613d0f11d8c"
		"387b2eaeb4302aeeb00d291612bb0c00",
	},
	{
		"c5aa8df43f9f837bedb7442f31dcb7b1"
		"66d38535076f094b85ce3a2e0b4458f7",
		"fc51cd8e6218a1a38da47ed00230f058"
		"0816ed13ba3303ac5deb911548908025",
		"af82",
		"6291d657deec24024827e69c3abe01a3"
		"0ce548a284743a445e3680d7db5ac3ac"
		"18ff9b538d16f290ae67f760984dc659"
		"4a7c15e9716ed28dc027beceea1ec40a",
	},
};

static void
unhex_or_fail(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	assert_int_equal(arb_unhex(hex, out, len), 0);
}

static void
test_rfc8032(void **state)
{
	struct arb_key	*k, *pub;
	uint8_t		 secret[32], public[32], raw[32], msg[8];
	uint8_t		 want[ARB_SIG_LEN], sig[ARB_SIG_LEN];
	size_t		 i, mlen;

	(void)state;
	for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		mlen = strlen(rfc8032[i].msg) / 2;
		unhex_or_fail(rfc8032[i].secret, secret, sizeof(secret));
		unhex_or_fail(rfc8032[i].public, public, sizeof(public));
		unhex_or_fail(rfc8032[i].msg, msg, mlen);
		unhex_or_fail(rfc8032[i].sig, want, sizeof(want));

		assert_int_equal(arb_key_from_raw_private(secret, &k), 0);
		assert_int_equal(arb_key_raw_public(k, raw), 0);
		assert_memory_equal(raw, public, sizeof(raw));
		assert_int_equal(arb_sign(k, msg, mlen, sig), 0);
		assert_memory_equal(sig, want, sizeof(sig));

		/* Verify with the pair and with the public key alone. */
		assert_int_equal(arb_verify(k, msg, mlen, sig, sizeof(sig)),
		    0);
		assert_int_equal(arb_key_from_raw_public(public, &pub), 0);
		assert_int_equal(arb_verify(pub, msg, mlen, sig, sizeof(sig)),
		    0);

		/* A public key cannot sign. */
		assert_int_equal(arb_sign(pub, msg, mlen, sig), ARB_EINVAL);

		/* A flipped bit in the signature. */
		sig[i * 7 % ARB_SIG_LEN] ^= 0x01;
		assert_int_equal(arb_verify(pub, msg, mlen, sig, sizeof(sig)),
		    ARB_EBADSIG);
		sig[i * 7 % ARB_SIG_LEN] ^= 0x01;
		sig[ARB_SIG_LEN - 1] ^= 0x80;
		assert_int_equal(arb_verify(pub, msg, mlen, sig, sizeof(sig)),
		    ARB_EBADSIG);
		sig[ARB_SIG_LEN - 1] ^= 0x80;

		/* A flipped bit in the message, or one byte more. */
		if (mlen > 0) {
			msg[0] ^= 0x04;
			assert_int_equal(arb_verify(pub, msg, mlen, sig,
			    sizeof(sig)), ARB_EBADSIG);
			msg[0] ^= 0x04;
		}
		msg[mlen] = 0;
		assert_int_equal(arb_verify(pub, msg, mlen + 1, sig,
		    sizeof(sig)), ARB_EBADSIG);

		/* Wrong lengths are bad signatures, not errors. */
		assert_int_equal(arb_verify(pub, msg, mlen, sig, 63),
		    ARB_EBADSIG);
		assert_int_equal(arb_verify(pub, msg, mlen, sig, 0),
		    ARB_EBADSIG);
		assert_int_equal(arb_verify(pub, msg, mlen, NULL, 64),
		    ARB_EBADSIG);
		assert_int_equal(arb_verify(pub, msg, mlen, sig, sizeof(sig)),
		    0);

		arb_key_free(pub);
		arb_key_free(k);
	}
}

static void
check_sha(const uint8_t md[ARB_SHA256_LEN], const char *want)
{
	char	hex[ARB_SHA256_HEX];

	arb_hex(md, ARB_SHA256_LEN, hex);
	assert_string_equal(hex, want);
}

#define SHA_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_MILLION_A \
	"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void
test_sha256(void **state)
{
	struct arb_sha256	*h;
	uint8_t			 md[ARB_SHA256_LEN], chunk[1000];
	int			 i;

	(void)state;
	assert_int_equal(arb_sha256("", 0, md), 0);
	check_sha(md, SHA_EMPTY);
	assert_int_equal(arb_sha256(NULL, 0, md), 0);
	check_sha(md, SHA_EMPTY);
	assert_int_equal(arb_sha256("abc", 3, md), 0);
	check_sha(md, SHA_ABC);

	assert_int_equal(arb_sha256_new(&h), 0);
	assert_int_equal(arb_sha256_final(h, md), 0);
	check_sha(md, SHA_EMPTY);

	/* "abc" in pieces, after a reset. */
	assert_int_equal(arb_sha256_reset(h), 0);
	assert_int_equal(arb_sha256_update(h, "a", 1), 0);
	assert_int_equal(arb_sha256_update(h, "", 0), 0);
	assert_int_equal(arb_sha256_update(h, "bc", 2), 0);
	assert_int_equal(arb_sha256_final(h, md), 0);
	check_sha(md, SHA_ABC);

	/* One million 'a', a thousand at a time. */
	assert_int_equal(arb_sha256_reset(h), 0);
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0; i < 1000; i++)
		assert_int_equal(arb_sha256_update(h, chunk, sizeof(chunk)),
		    0);
	assert_int_equal(arb_sha256_final(h, md), 0);
	check_sha(md, SHA_MILLION_A);
	arb_sha256_free(h);
	arb_sha256_free(NULL);
}

static char *
make_tmpdir(void)
{
	char	 tmpl[] = "/tmp/arbor-test-sig.XXXXXX";
	char	*dir;

	assert_non_null(mkdtemp(tmpl));
	dir = strdup(tmpl);
	assert_non_null(dir);
	return dir;
}

static void
rm_rf(const char *dir)
{
	char	cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void
test_sha256_file(void **state)
{
	uint8_t		 md[ARB_SHA256_LEN];
	uint64_t	 size = 7;
	char		*dir, path[PATH_MAX];
	char		*big;

	(void)state;
	dir = make_tmpdir();
	snprintf(path, sizeof(path), "%s/empty", dir);
	write_file(path, "", 0);
	assert_int_equal(arb_sha256_file(path, md, &size), 0);
	assert_int_equal(size, 0);
	check_sha(md, SHA_EMPTY);

	/* Larger than the read buffer, so that it takes several reads. */
	big = malloc(1000000);
	assert_non_null(big);
	memset(big, 'a', 1000000);
	snprintf(path, sizeof(path), "%s/million", dir);
	write_file(path, big, 1000000);
	free(big);
	assert_int_equal(arb_sha256_file(path, md, &size), 0);
	assert_int_equal(size, 1000000);
	check_sha(md, SHA_MILLION_A);
	assert_int_equal(arb_sha256_file(path, md, NULL), 0);

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(arb_sha256_file(path, md, &size), -ENOENT);
	rm_rf(dir);
	free(dir);
}

static void
test_hex(void **state)
{
	const uint8_t	in[] = { 0x00, 0x01, 0xab, 0xff, 0x7e };
	uint8_t		out[5];
	char		hex[11];

	(void)state;
	arb_hex(in, sizeof(in), hex);
	assert_string_equal(hex, "0001abff7e");
	arb_hex(in, 0, hex);
	assert_string_equal(hex, "");

	assert_int_equal(arb_unhex("0001abff7e", out, 5), 0);
	assert_memory_equal(out, in, 5);
	assert_int_equal(arb_unhex("0001ABFF7E", out, 5), 0);
	assert_memory_equal(out, in, 5);
	assert_int_equal(arb_unhex("", out, 0), 0);

	/* Out is untouched on failure. */
	memset(out, 0x55, sizeof(out));
	assert_int_equal(arb_unhex("0001abff7", out, 5), ARB_EINVAL);
	assert_int_equal(arb_unhex("0001abff7e0", out, 5), ARB_EINVAL);
	assert_int_equal(arb_unhex("0001abff7g", out, 5), ARB_EINVAL);
	assert_int_equal(arb_unhex(" 001abff7e", out, 5), ARB_EINVAL);
	assert_int_equal(arb_unhex("", out, 5), ARB_EINVAL);
	assert_int_equal(arb_unhex(NULL, out, 5), ARB_EINVAL);
	assert_int_equal(out[0], 0x55);
	assert_int_equal(out[4], 0x55);
}

static void
test_key_files(void **state)
{
	struct arb_key	*k, *priv, *pub;
	struct stat	 st;
	uint8_t		 raw[32], raw2[32];
	uint8_t		 id[ARB_KEYID_LEN], id2[ARB_KEYID_LEN];
	uint8_t		 md[ARB_SHA256_LEN], sig[ARB_SIG_LEN];
	char		*dir, path[PATH_MAX];
	const char	 msg[] = "head seq 7";

	(void)state;
	dir = make_tmpdir();
	assert_int_equal(arb_key_generate(&k), 0);

	/* A stale 0644 file is replaced and narrowed to 0600. */
	snprintf(path, sizeof(path), "%s/publisher.key", dir);
	write_file(path, "old", 3);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(arb_key_save(k, dir, "publisher"), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/publisher.pub", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	snprintf(path, sizeof(path), "%s/publisher.key", dir);
	assert_int_equal(arb_key_load_private(path, &priv), 0);
	snprintf(path, sizeof(path), "%s/publisher.pub", dir);
	assert_int_equal(arb_key_load_public(path, &pub), 0);

	assert_int_equal(arb_key_raw_public(k, raw), 0);
	assert_int_equal(arb_key_raw_public(priv, raw2), 0);
	assert_memory_equal(raw, raw2, sizeof(raw));
	assert_int_equal(arb_key_raw_public(pub, raw2), 0);
	assert_memory_equal(raw, raw2, sizeof(raw));

	/* Sign with the loaded private key, verify with the loaded public. */
	assert_int_equal(arb_sign(priv, msg, sizeof(msg), sig), 0);
	assert_int_equal(arb_verify(pub, msg, sizeof(msg), sig, sizeof(sig)),
	    0);
	assert_int_equal(arb_verify(k, msg, sizeof(msg), sig, sizeof(sig)), 0);

	/* The key id is the start of the SHA-256 of the raw public key. */
	assert_int_equal(arb_key_id(k, id), 0);
	assert_int_equal(arb_key_id(pub, id2), 0);
	assert_memory_equal(id, id2, sizeof(id));
	assert_int_equal(arb_sha256(raw, sizeof(raw), md), 0);
	assert_memory_equal(id, md, ARB_KEYID_LEN);

	/* A public key cannot be saved as a pair. */
	assert_int_equal(arb_key_save(pub, dir, "pubonly"), ARB_EINVAL);

	arb_key_free(pub);
	arb_key_free(priv);

	/* A private key others can read is refused. */
	snprintf(path, sizeof(path), "%s/publisher.key", dir);
	assert_int_equal(chmod(path, 0644), 0);
	priv = NULL;
	assert_int_equal(arb_key_load_private(path, &priv), ARB_EPERM);
	assert_null(priv);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(arb_key_load_private(path, &priv), ARB_EPERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(arb_key_load_private(path, &priv), 0);
	arb_key_free(priv);

	/* Not a key at all, a public key where a private one belongs. */
	snprintf(path, sizeof(path), "%s/junk.pem", dir);
	write_file(path, "not a key\n", 10);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(arb_key_load_private(path, &priv), ARB_ECRYPTO);
	assert_int_equal(arb_key_load_public(path, &pub), ARB_ECRYPTO);
	snprintf(path, sizeof(path), "%s/publisher.pub", dir);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(arb_key_load_private(path, &priv), ARB_ECRYPTO);
	snprintf(path, sizeof(path), "%s/missing.key", dir);
	assert_int_equal(arb_key_load_private(path, &priv), -ENOENT);

	/* Two generated keys differ. */
	assert_int_equal(arb_key_generate(&priv), 0);
	assert_int_equal(arb_key_raw_public(priv, raw2), 0);
	assert_memory_not_equal(raw, raw2, sizeof(raw));
	assert_int_equal(arb_verify(priv, msg, sizeof(msg), sig, sizeof(sig)),
	    ARB_EBADSIG);
	arb_key_free(priv);

	arb_key_free(k);
	arb_key_free(NULL);
	rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_sha256_file),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_key_files),
	};

	log_init(1, LOG_USER);
	log_procinit("test_sig");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
