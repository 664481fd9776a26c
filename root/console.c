/*
 * The root's web console: the files of root/console/ (index.html,
 * style.css, app.js), built into arbor-root by cmake as C arrays
 * (console_files.c) and served from the same HTTP server as the JSON API
 * that the pages read.  GET / and GET /console/ answer index.html, GET
 * /console/NAME the file of that name; nothing is read from the disk at
 * run time, so the console is what the binary was built with and works
 * offline.
 *
 * Every answer carries a Content-Security-Policy that lets the page load
 * nothing but these files and talk to nothing but this server (no inline
 * script or style, no other origin, no frames), with nosniff and no
 * referrer.  The token the operator types stays in the browser: these
 * routes need none, since they hold no data, and the API checks it on
 * every request the pages make.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/http.h"
#include "root.h"

#define CONSOLE_PREFIX	"/console/"

static const char *const console_headers[] = {
	"Content-Security-Policy", "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self'; connect-src 'self'; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "no-referrer",
	"X-Frame-Options", "DENY",
	/* A new arbor-root serves new pages: the browser asks each time. */
	"Cache-Control", "no-cache",
	NULL
};

static const struct {
	const char	*ext;
	const char	*type;
} console_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
};

static const char *
console_type(const char *name)
{
	size_t	i, n = strlen(name), e;

	for (i = 0; i < sizeof(console_types) / sizeof(console_types[0]);
	    i++) {
		e = strlen(console_types[i].ext);
		if (n >= e && strcmp(name + n - e, console_types[i].ext) == 0)
			return console_types[i].type;
	}
	return "application/octet-stream";
}

/* GET of one file: arg is its entry in root_console_files. */
static void
console_get(void *arg, const struct arb_http_req *req,
    struct arb_http_res *res)
{
	const struct root_console_file	*f = arg;
	static const char		 nomem[] = "out of memory\n";

	(void)req;
	res->headers = console_headers;
	if ((res->body = malloc(f->len ? f->len : 1)) == NULL) {
		res->status = 503;
		if ((res->body = strdup(nomem)) != NULL)
			res->len = sizeof(nomem) - 1;
		return;
	}
	memcpy(res->body, f->data, f->len);
	res->len = f->len;
	res->type = console_type(f->name);
}

int
root_console_serve(struct arb_http *h)
{
	const struct root_console_file	*f, *index = NULL;
	char				 path[128];
	int				 rv;

	for (f = root_console_files; f->name != NULL; f++) {
		if (strlen(f->name) + sizeof(CONSOLE_PREFIX) > sizeof(path))
			return -ENAMETOOLONG;
		strcpy(path, CONSOLE_PREFIX);
		strcat(path, f->name);
		if ((rv = arb_http_handle(h, "GET", path, console_get,
		    (void *)f)) != 0)
			return rv;
		if (strcmp(f->name, "index.html") == 0)
			index = f;
	}
	if (index == NULL)
		return -ENOENT;
	if ((rv = arb_http_handle(h, "GET", "/", console_get,
	    (void *)index)) != 0 ||
	    (rv = arb_http_handle(h, "GET", CONSOLE_PREFIX, console_get,
	    (void *)index)) != 0)
		return rv;
	return 0;
}
