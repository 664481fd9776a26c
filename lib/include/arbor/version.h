/*
 * Debian package versions, [epoch:]upstream[-revision], ordered and checked
 * exactly as dpkg does (deb-version(7)).  Pure functions of their strings:
 * no allocation, no state, defined for any NUL-terminated input.
 */
#ifndef ARBOR_VERSION_H
#define ARBOR_VERSION_H

/*
 * Compare two Debian versions exactly as dpkg does (deb-version(7)):
 * epochs numerically (missing is 0), then the upstream version, then the
 * revision (missing is ""), each by alternating non-digit parts (letters
 * sort before non-letters, "~" before anything, even the end) and digit
 * parts (numerically).  Returns <0, 0 or >0.  Total on any strings.
 */
int	arb_version_cmp(const char *a, const char *b);

/*
 * 1 if v is a valid Debian version: [epoch:]upstream[-revision], epoch
 * digits, upstream starting with a digit and made of alphanumerics and
 * ".+~-:", revision of alphanumerics and ".+~", nothing empty; else 0.
 */
int	arb_version_valid(const char *v);

#endif
