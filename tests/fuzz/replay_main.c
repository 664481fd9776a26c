/*
 * A stand-in for libFuzzer's main() when the fuzz targets are built without
 * clang's -fsanitize=fuzzer: it feeds every file named on the command line,
 * and every regular file in every directory named, to
 * LLVMFuzzerTestOneInput, so that ctest replays the corpus (and any crash
 * that was once found) under gcc and the sanitizers.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read all of path into a malloc'd buffer. */
static int
replay_read(const char *path, uint8_t **bufp, size_t *lenp)
{
	FILE	*fp;
	uint8_t	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL)
		return -errno;
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(fp);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	*bufp = buf;
	*lenp = len;
	return 0;
}

static int
replay_file(const char *path)
{
	uint8_t	*buf = NULL;
	size_t	 len = 0;
	int	 rv;

	if ((rv = replay_read(path, &buf, &len)) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-rv));
		return rv;
	}
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay each regular file in dir, in name order; count them in *np. */
static int
replay_dir(const char *dir, unsigned long *np)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, **nn, *p;
	size_t		 i, n = 0, cap = 0;
	int		 rv = 0;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (asprintf(&p, "%s/%s", dir, de->d_name) == -1) {
			rv = -ENOMEM;
			goto fail;
		}
		if (stat(p, &st) == -1 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nn = realloc(names, cap * sizeof(*names))) ==
			    NULL) {
				free(p);
				rv = -ENOMEM;
				goto fail;
			}
			names = nn;
		}
		names[n++] = p;
	}
	qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if ((rv = replay_file(names[i])) != 0)
			goto fail;
		(*np)++;
	}

fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rv;
}

int
main(int argc, char *argv[])
{
	struct stat	st;
	unsigned long	n = 0;
	int		i;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &n) != 0)
				return 1;
		} else {
			if (replay_file(argv[i]) != 0)
				return 1;
			n++;
		}
	}
	printf("replayed %lu inputs\n", n);
	return 0;
}
