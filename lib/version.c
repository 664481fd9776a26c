/*
 * Debian package versions: dpkg's ordering (deb-version(7)) and its rule for
 * what a version may contain.  The applicability language compares versions
 * with it (expr.c) and the facts reader picks the lowest of several installed
 * architectures' versions with it (facts.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arbor/version.h"

static int
ver_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
ver_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Weight of a character in a non-digit part: "~" below the end (0),
 * letters above it, every other character above all letters.
 */
static int
ver_weight(const char *s, size_t i, size_t n)
{
	int	c;

	if (i >= n)
		return 0;
	c = (unsigned char)s[i];
	if (ver_isdigit(c))
		return 0;
	if (ver_isalpha(c))
		return c;
	if (c == '~')
		return -1;
	return c + 256;
}

/* Compare an upstream version or a revision (lengths given). */
static int
ver_part_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t	i = 0, j = 0;
	int	wa, wb, first;

	while (i < an || j < bn) {
		/* Non-digit prefixes, character by character. */
		while ((i < an && !ver_isdigit((unsigned char)a[i])) ||
		    (j < bn && !ver_isdigit((unsigned char)b[j]))) {
			wa = ver_weight(a, i, an);
			wb = ver_weight(b, j, bn);
			if (wa != wb)
				return wa < wb ? -1 : 1;
			i++;
			j++;
		}
		/* Digit parts, numerically: skip zeros, then longer wins. */
		while (i < an && a[i] == '0')
			i++;
		while (j < bn && b[j] == '0')
			j++;
		first = 0;
		while (i < an && ver_isdigit((unsigned char)a[i]) &&
		    j < bn && ver_isdigit((unsigned char)b[j])) {
			if (first == 0)
				first = (unsigned char)a[i] -
				    (unsigned char)b[j];
			i++;
			j++;
		}
		if (i < an && ver_isdigit((unsigned char)a[i]))
			return 1;
		if (j < bn && ver_isdigit((unsigned char)b[j]))
			return -1;
		if (first != 0)
			return first < 0 ? -1 : 1;
	}
	return 0;
}

struct ver {
	uint64_t	 epoch;
	const char	*up;
	size_t		 uplen;
	const char	*rev;
	size_t		 revlen;
};

static void
ver_split(const char *s, struct ver *v)
{
	const char	*colon, *p, *hyphen;

	v->epoch = 0;
	v->up = s;
	if ((colon = strchr(s, ':')) != NULL && colon > s) {
		for (p = s; p < colon && ver_isdigit((unsigned char)*p); p++)
			;
		if (p == colon) {
			for (p = s; p < colon; p++) {
				if (v->epoch > (UINT64_MAX - 9) / 10)
					v->epoch = UINT64_MAX;	/* saturate */
				else
					v->epoch = v->epoch * 10 +
					    (uint64_t)(*p - '0');
			}
			v->up = colon + 1;
		}
	}
	if ((hyphen = strrchr(v->up, '-')) != NULL) {
		v->uplen = (size_t)(hyphen - v->up);
		v->rev = hyphen + 1;
		v->revlen = strlen(v->rev);
	} else {
		v->uplen = strlen(v->up);
		v->rev = "";
		v->revlen = 0;
	}
}

int
arb_version_cmp(const char *a, const char *b)
{
	struct ver	va, vb;
	int		c;

	ver_split(a, &va);
	ver_split(b, &vb);
	if (va.epoch != vb.epoch)
		return va.epoch < vb.epoch ? -1 : 1;
	if ((c = ver_part_cmp(va.up, va.uplen, vb.up, vb.uplen)) != 0)
		return c;
	return ver_part_cmp(va.rev, va.revlen, vb.rev, vb.revlen);
}

static int
ver_chars_ok(const char *s, size_t n, const char *extra)
{
	size_t	i;
	int	c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!ver_isdigit(c) && !ver_isalpha(c) &&
		    (c == '\0' || strchr(extra, c) == NULL))
			return 0;
	}
	return 1;
}

int
arb_version_valid(const char *v)
{
	const char	*colon, *up, *hyphen;
	size_t		 uplen, n;

	if (v == NULL || *v == '\0')
		return 0;
	up = v;
	if ((colon = strchr(v, ':')) != NULL) {
		n = (size_t)(colon - v);
		/* Epochs fit dpkg's int. */
		if (n == 0 || n > 9 || !ver_chars_ok(v, n, ""))
			return 0;
		for (; v < colon; v++)
			if (!ver_isdigit((unsigned char)*v))
				return 0;	/* letters are not epochs */
		up = colon + 1;
	}
	uplen = strlen(up);
	if ((hyphen = strrchr(up, '-')) != NULL) {
		if (hyphen[1] == '\0' ||
		    !ver_chars_ok(hyphen + 1, strlen(hyphen + 1), ".+~"))
			return 0;
		uplen = (size_t)(hyphen - up);
	}
	if (uplen == 0 || !ver_isdigit((unsigned char)up[0]) ||
	    !ver_chars_ok(up, uplen, colon != NULL ? ".+~-:" : ".+~-"))
		return 0;
	return 1;
}
