/*
 * The applicability language (see arbor/expr.h for the grammar and the
 * semantics): a hand-written lexer and recursive-descent parser that
 * compiles text into a flat array of nodes, and an evaluator over that
 * array against an endpoint's facts (facts.c).
 *
 * The root runs the parser at publish time, so the parser rejects all it
 * can: unknown names, argument counts, invalid literal versions, package
 * names and paths, and type errors it can prove from the static type of
 * each node (a set of the types the node may produce).  Every input is
 * bounded: text length, nesting depth (which also bounds the recursion of
 * both parser and evaluator, since && and || chains are single n-ary
 * nodes) and node count.  The evaluator has no loops over data it does
 * not bound and reaches the file system only through facts.c, which
 * enforces the per-evaluation read budget.

 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/expr.h"
#include "arbor/facts.h"
#include "arbor/schedule.h"
#include "arbor/sig.h"
#include "arbor/version.h"

/* ---- values */

#define T(x)		(1u << (x))
#define T_ANY		(T(ARB_V_NONE) | T(ARB_V_BOOL) | T(ARB_V_INT) | \
			    T(ARB_V_STR) | T(ARB_V_VERSION) | T(ARB_V_LIST))

const char *
arb_vtype_name(enum arb_vtype t)
{
	switch (t) {
	case ARB_V_NONE:
		return "none";
	case ARB_V_BOOL:
		return "a boolean";
	case ARB_V_INT:
		return "an integer";
	case ARB_V_STR:
		return "a string";
	case ARB_V_VERSION:
		return "a version";
	case ARB_V_LIST:
		return "a list";
	}
	return "a value";
}

void
arb_value_clear(struct arb_value *v)
{
	size_t	i;

	free(v->s);
	for (i = 0; i < v->nlist; i++)
		free(v->list[i]);
	free(v->list);
	memset(v, 0, sizeof(*v));
	v->t = ARB_V_NONE;
}

static int
value_copy(struct arb_value *dst, const struct arb_value *src)
{
	size_t	i;

	memset(dst, 0, sizeof(*dst));
	dst->t = src->t;
	dst->b = src->b;
	dst->i = src->i;
	if (src->s != NULL && (dst->s = strdup(src->s)) == NULL)
		goto nomem;
	if (src->nlist > 0) {
		if ((dst->list = calloc(src->nlist, sizeof(char *))) == NULL)
			goto nomem;
		for (i = 0; i < src->nlist; i++) {
			dst->nlist = i;
			if ((dst->list[i] = strdup(src->list[i])) == NULL)
				goto nomem;
		}
		dst->nlist = src->nlist;
	}
	return 0;
nomem:
	arb_value_clear(dst);
	return -ENOMEM;
}

/* Appends to a fixed buffer, truncating quietly. */
struct fmtbuf {
	char	*buf;
	size_t	 len, off;
};

static void
fmt_putc(struct fmtbuf *fb, char c)
{
	if (fb->off + 1 < fb->len) {
		fb->buf[fb->off++] = c;
		fb->buf[fb->off] = '\0';
	}
}

static void
fmt_puts(struct fmtbuf *fb, const char *s)
{
	while (*s != '\0')
		fmt_putc(fb, *s++);
}

static void
fmt_quoted(struct fmtbuf *fb, const char *s)
{
	fmt_putc(fb, '"');
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
		case '\\':
			fmt_putc(fb, '\\');
			fmt_putc(fb, *s);
			break;
		case '\n':
			fmt_puts(fb, "\\n");
			break;
		case '\t':
			fmt_puts(fb, "\\t");
			break;
		default:
			fmt_putc(fb, *s);
		}
	}
	fmt_putc(fb, '"');
}

void
arb_value_format(const struct arb_value *v, char *buf, size_t len)
{
	struct fmtbuf	fb = { buf, len, 0 };
	char		num[32];
	size_t		i;

	if (len == 0)
		return;
	buf[0] = '\0';
	switch (v->t) {
	case ARB_V_NONE:
		fmt_puts(&fb, "none");
		break;
	case ARB_V_BOOL:
		fmt_puts(&fb, v->b ? "true" : "false");
		break;
	case ARB_V_INT:
		snprintf(num, sizeof(num), "%" PRId64, v->i);
		fmt_puts(&fb, num);
		break;
	case ARB_V_STR:
		fmt_quoted(&fb, v->s != NULL ? v->s : "");
		break;
	case ARB_V_VERSION:
		fmt_puts(&fb, "version(");
		fmt_quoted(&fb, v->s != NULL ? v->s : "");
		fmt_putc(&fb, ')');
		break;
	case ARB_V_LIST:
		fmt_putc(&fb, '[');
		for (i = 0; i < v->nlist; i++) {
			if (i > 0)
				fmt_puts(&fb, ", ");
			fmt_quoted(&fb, v->list[i]);
		}
		fmt_putc(&fb, ']');
		break;
	}
}

/* A type set in words, for messages: "a string or none". */
static void
types_name(unsigned mask, char *buf, size_t len)
{
	struct fmtbuf	fb = { buf, len, 0 };
	int		t, n = 0;

	buf[0] = '\0';
	for (t = ARB_V_BOOL; t <= ARB_V_LIST + 1; t++) {
		/* none last: "a version or none" reads better. */
		int	tt = t <= ARB_V_LIST ? t : ARB_V_NONE;

		if ((mask & T(tt)) == 0)
			continue;
		if (n++ > 0)
			fmt_puts(&fb, " or ");
		fmt_puts(&fb, arb_vtype_name((enum arb_vtype)tt));
	}
}

/* ---- the compiled form */

enum node_kind {
	N_LIT,
	N_FACT,
	N_CALL,
	N_NOT,
	N_AND,
	N_OR,
	N_CMP,
};

enum cmp_op {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
};

static const char *const op_text[] = {
	"==", "!=", "<", "<=", ">", ">=", "in",
};

enum fact_id {
	F_OS_ID,
	F_OS_VERSION_ID,
	F_OS_ARCH,
	F_HOST_NAME,
	F_AGENT_GROUPS,
	F_SESSION_USERS,
	F_SESSION_IDLE,
	F_POWER_BATTERY,
};

static const struct {
	const char	*name;
	unsigned	 types;
} facts_tab[] = {
	[F_OS_ID] = { "os.id", T(ARB_V_STR) | T(ARB_V_NONE) },
	[F_OS_VERSION_ID] = { "os.version_id", T(ARB_V_STR) | T(ARB_V_NONE) },
	[F_OS_ARCH] = { "os.arch", T(ARB_V_STR) | T(ARB_V_NONE) },
	[F_HOST_NAME] = { "host.name", T(ARB_V_STR) | T(ARB_V_NONE) },
	[F_AGENT_GROUPS] = { "agent.groups", T(ARB_V_LIST) },
	[F_SESSION_USERS] = { "session.users", T(ARB_V_INT) | T(ARB_V_NONE) },
	[F_SESSION_IDLE] = { "session.idle", T(ARB_V_INT) | T(ARB_V_NONE) },
	[F_POWER_BATTERY] = { "power.battery", T(ARB_V_BOOL) },
};

enum func_id {
	FN_PKG,
	FN_VERSION,
	FN_FILE_EXISTS,
	FN_FILE_SHA256,
	FN_FILE_CONTAINS,
	FN_AGENT_PROP,
};

static const struct {
	const char	*name;
	int		 nargs;
	unsigned	 args;		/* types each argument may have */
	unsigned	 types;		/* result */
} funcs_tab[] = {
	[FN_PKG] = { "pkg", 1, T(ARB_V_STR),
	    T(ARB_V_VERSION) | T(ARB_V_NONE) },
	[FN_VERSION] = { "version", 1,
	    T(ARB_V_STR) | T(ARB_V_VERSION) | T(ARB_V_NONE),
	    T(ARB_V_VERSION) | T(ARB_V_NONE) },
	[FN_FILE_EXISTS] = { "file.exists", 1, T(ARB_V_STR), T(ARB_V_BOOL) },
	[FN_FILE_SHA256] = { "file.sha256", 1, T(ARB_V_STR),
	    T(ARB_V_STR) | T(ARB_V_NONE) },
	[FN_FILE_CONTAINS] = { "file.contains", 2, T(ARB_V_STR),
	    T(ARB_V_BOOL) },
	[FN_AGENT_PROP] = { "agent.prop", 1, T(ARB_V_STR),
	    T(ARB_V_STR) | T(ARB_V_NONE) },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct node {
	enum node_kind	 kind;
	int		 id;	/* enum cmp_op, fact_id or func_id */
	unsigned	 types;	/* static type set */
	int		 pos;	/* 1-based character position */
	int		 kid;	/* first operand, -1 if none */
	int		 last;	/* last operand, for appending */
	int		 next;	/* next operand of the parent, -1 if last */
	int		 nkids;
	struct arb_value lit;	/* N_LIT */
};

struct arb_expr {
	struct node	*nodes;
	int		 n;
	int		 root;
};

void
arb_expr_free(struct arb_expr *e)
{
	int	i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++)
		arb_value_clear(&e->nodes[i].lit);
	free(e->nodes);
	free(e);
}

/*
 * Whether comparison op applies to a value of type a and one of type b:
 * NULL if it does, else why not (a static string).
 */
static const char *
cmp_check(enum cmp_op op, enum arb_vtype a, enum arb_vtype b)
{
	if (op == OP_IN) {
		if (b == ARB_V_NONE ||
		    ((b == ARB_V_LIST || b == ARB_V_STR) &&
		    (a == ARB_V_STR || a == ARB_V_NONE)))
			return NULL;
		return "'in' needs a string on its left and a list or a "
		    "string on its right";
	}
	if (a == ARB_V_LIST || b == ARB_V_LIST)
		return "a list cannot be compared; use 'in'";
	if (a == ARB_V_NONE || b == ARB_V_NONE)
		return NULL;
	if ((a == ARB_V_VERSION && (b == ARB_V_VERSION || b == ARB_V_STR)) ||
	    (b == ARB_V_VERSION && a == ARB_V_STR))
		return NULL;
	if (a == b && (a == ARB_V_INT || a == ARB_V_STR))
		return NULL;
	if (a == ARB_V_BOOL && b == ARB_V_BOOL)
		return op == OP_EQ || op == OP_NE ? NULL :
		    "booleans have no order";
	return "cannot compare";	/* caller names the types */
}

/* ---- the parser */

enum tok {
	TK_END,
	TK_LP,
	TK_RP,
	TK_COMMA,
	TK_EQ,
	TK_NE,
	TK_LT,
	TK_LE,
	TK_GT,
	TK_GE,
	TK_AND,
	TK_OR,
	TK_NOT,
	TK_IN,
	TK_TRUE,
	TK_FALSE,
	TK_NONE,
	TK_IDENT,
	TK_STR,
	TK_INT,
};

struct parser {
	const char	*text;
	size_t		 len;
	size_t		 off;		/* next byte to lex */
	struct arb_expr	*e;
	int		 nest;
	char		*err;
	size_t		 errlen;
	int		 nomem;

	/* The current token. */
	enum tok	 tk;
	size_t		 tstart, tlen;
	char		*ts;		/* TK_STR: decoded, owned */
	int64_t		 ti;		/* TK_INT */
};

/* 1-based character position of byte offset off (UTF-8 aware). */
static int
char_pos(const char *text, size_t off)
{
	size_t	i;
	int	pos = 1;

	for (i = 0; i < off; i++)
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			pos++;
	return pos;
}

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (p->err != NULL && p->errlen > 0) {
		n = snprintf(p->err, p->errlen, "at %d: ",
		    char_pos(p->text, off));
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return ARB_EINVAL;
}

static int
lex_identc(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    (!first && c >= '0' && c <= '9');
}

/* A token's text for messages, quoted and shortened. */
static void
tok_desc(struct parser *p, char *buf, size_t len)
{
	switch (p->tk) {
	case TK_END:
		snprintf(buf, len, "the end");
		break;
	case TK_STR:
		snprintf(buf, len, "a string");
		break;
	case TK_INT:
		snprintf(buf, len, "an integer");
		break;
	default:
		snprintf(buf, len, "\"%.*s\"",
		    (int)(p->tlen > 32 ? 32 : p->tlen), p->text + p->tstart);
	}
}

static int
lex_string(struct parser *p)
{
	const char	*t = p->text;
	size_t		 i = p->off + 1, n = 0;
	char		*s;

	if ((s = malloc(p->len - p->off)) == NULL) {
		p->nomem = 1;
		return -ENOMEM;
	}
	for (;;) {
		if (i >= p->len) {
			free(s);
			return perr(p, p->off, "unterminated string");
		}
		if (t[i] == '"')
			break;
		if (t[i] == '\\') {
			switch (i + 1 < p->len ? t[i + 1] : '\0') {
			case '"':
			case '\\':
				s[n++] = t[i + 1];
				break;
			case 'n':
				s[n++] = '\n';
				break;
			case 't':
				s[n++] = '\t';
				break;
			case '\0':
				free(s);
				return perr(p, p->off, "unterminated string");
			default:
				free(s);
				return perr(p, i, "unknown escape \"\\%c\" "
				    "(use \\\", \\\\, \\n or \\t)", t[i + 1]);
			}
			i += 2;
			continue;
		}
		s[n++] = t[i++];
	}
	s[n] = '\0';
	p->tk = TK_STR;
	p->ts = s;
	p->off = i + 1;
	return 0;
}

/* Read the next token into p. */
static int
lex(struct parser *p)
{
	static const struct {
		const char	*text;
		enum tok	 tk;
	} puncts[] = {
		{ "==", TK_EQ }, { "!=", TK_NE }, { "<=", TK_LE },
		{ ">=", TK_GE }, { "&&", TK_AND }, { "||", TK_OR },
		{ "<", TK_LT }, { ">", TK_GT }, { "!", TK_NOT },
		{ "(", TK_LP }, { ")", TK_RP }, { ",", TK_COMMA },
	};
	const char	*t = p->text;
	size_t		 i, n;
	int		 c;
	uint64_t	 v;

	free(p->ts);
	p->ts = NULL;
	while (p->off < p->len && strchr(" \t\r\n", t[p->off]) != NULL)
		p->off++;
	p->tstart = p->off;
	if (p->off >= p->len) {
		p->tk = TK_END;
		p->tlen = 0;
		return 0;
	}
	c = (unsigned char)t[p->off];
	if (c == '"') {
		if (lex_string(p) != 0)
			return p->nomem ? -ENOMEM : ARB_EINVAL;
		p->tlen = p->off - p->tstart;
		return 0;
	}
	if (c >= '0' && c <= '9') {
		v = 0;
		for (i = p->off; i < p->len && t[i] >= '0' && t[i] <= '9';
		    i++) {
			if (v > ((uint64_t)INT64_MAX - (uint64_t)(t[i] - '0')) /
			    10)
				return perr(p, p->off, "integer out of range");
			v = v * 10 + (uint64_t)(t[i] - '0');
		}
		if (i < p->len && lex_identc((unsigned char)t[i], 0))
			return perr(p, p->off, "invalid number");
		p->tk = TK_INT;
		p->ti = (int64_t)v;
		p->tlen = i - p->off;
		p->off = i;
		return 0;
	}
	if (lex_identc(c, 1)) {
		/* name { "." name } */
		i = p->off;
		for (;;) {
			while (i < p->len && lex_identc((unsigned char)t[i], 0))
				i++;
			if (i + 1 < p->len && t[i] == '.' &&
			    lex_identc((unsigned char)t[i + 1], 1))
				i++;
			else
				break;
		}
		p->tlen = n = i - p->off;
		p->tk = TK_IDENT;
		if (n == 4 && memcmp(t + p->off, "true", 4) == 0)
			p->tk = TK_TRUE;
		else if (n == 5 && memcmp(t + p->off, "false", 5) == 0)
			p->tk = TK_FALSE;
		else if (n == 4 && memcmp(t + p->off, "none", 4) == 0)
			p->tk = TK_NONE;
		else if (n == 2 && memcmp(t + p->off, "in", 2) == 0)
			p->tk = TK_IN;
		p->off = i;
		return 0;
	}
	for (i = 0; i < NELEM(puncts); i++) {
		n = strlen(puncts[i].text);
		if (p->len - p->off >= n &&
		    memcmp(t + p->off, puncts[i].text, n) == 0) {
			p->tk = puncts[i].tk;
			p->tlen = n;
			p->off += n;
			return 0;
		}
	}
	if (c == '=')
		return perr(p, p->off, "expected '==', not '='");
	if (c == '&')
		return perr(p, p->off, "expected '&&', not '&'");
	if (c == '|')
		return perr(p, p->off, "expected '||', not '|'");
	if (c >= 0x20 && c < 0x7f)
		return perr(p, p->off, "unexpected character '%c'", c);
	return perr(p, p->off, "unexpected byte 0x%02x", c);
}

static int
node_new(struct parser *p, enum node_kind kind, size_t off, int *ip)
{
	struct arb_expr	*e = p->e;
	struct node	*nn;
	int		 cap;

	if (e->n >= ARB_EXPR_MAX_NODES)
		return perr(p, off, "expression has more than %d nodes",
		    ARB_EXPR_MAX_NODES);
	/* Grow by doubling: capacity is a power of two from 16. */
	if (e->n == 0 || (e->n >= 16 && (e->n & (e->n - 1)) == 0)) {
		cap = e->n == 0 ? 16 : e->n * 2;
		if ((nn = realloc(e->nodes, (size_t)cap * sizeof(*nn))) ==
		    NULL) {
			p->nomem = 1;
			return -ENOMEM;
		}
		e->nodes = nn;
	}
	nn = &e->nodes[e->n];
	memset(nn, 0, sizeof(*nn));
	nn->kind = kind;
	nn->pos = char_pos(p->text, off);
	nn->kid = nn->last = nn->next = -1;
	nn->lit.t = ARB_V_NONE;
	*ip = e->n++;
	return 0;
}

static void
node_add(struct parser *p, int parent, int kid)
{
	struct node	*n = &p->e->nodes[parent];

	if (n->kid == -1)
		n->kid = kid;
	else
		p->e->nodes[n->last].next = kid;
	n->last = kid;
	n->nkids++;
}

/* Error unless a node of type set have may be of a type in want. */
static int
need_types(struct parser *p, int idx, size_t off, unsigned want,
    const char *what)
{
	char	have[96];

	if ((p->e->nodes[idx].types & want) != 0)
		return 0;
	types_name(p->e->nodes[idx].types, have, sizeof(have));
	return perr(p, off, "%s needs %s, not %s", what,
	    want == T(ARB_V_BOOL) ? "a boolean" : "a string", have);
}

static int	parse_or(struct parser *, int *);

/* Literal arguments are checked now, so that the root refuses them. */
static int
check_literal_arg(struct parser *p, int fn, int argno, int arg, size_t off)
{
	const struct node	*a = &p->e->nodes[arg];
	const char		*s, *why;
	size_t			 i;

	if (a->kind != N_LIT || a->lit.t != ARB_V_STR)
		return 0;
	s = a->lit.s;
	switch (fn) {
	case FN_VERSION:
		if (!arb_version_valid(s))
			return perr(p, off, "invalid version \"%.64s\"", s);
		break;
	case FN_PKG:
		for (i = 0; s[i] != '\0' && s[i] != ':'; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') ||
			    (i > 0 && strchr("+-.", s[i]) != NULL)))
				break;
		if (i == 0 || (s[i] != '\0' && s[i] != ':') ||
		    (s[i] == ':' && s[i + 1] == '\0'))
			return perr(p, off, "invalid package name \"%.64s\"",
			    s);
		break;
	case FN_FILE_EXISTS:
	case FN_FILE_SHA256:
	case FN_FILE_CONTAINS:
		if (argno == 0 && arb_facts_path_ok(s, &why) != 0)
			return perr(p, off, "%s", why);
		break;
	}
	return 0;
}

static int
parse_call(struct parser *p, size_t noff, size_t nlen, int *ip)
{
	size_t	 aoff[8];
	char	 what[32], have[96];
	int	 fn, idx, arg, rv, nargs = 0;
	unsigned types;

	for (fn = 0; fn < (int)NELEM(funcs_tab); fn++)
		if (strlen(funcs_tab[fn].name) == nlen &&
		    memcmp(funcs_tab[fn].name, p->text + noff, nlen) == 0)
			break;
	if (fn == (int)NELEM(funcs_tab))
		return perr(p, noff, "unknown function \"%.*s\"", (int)nlen,
		    p->text + noff);
	if ((rv = node_new(p, N_CALL, noff, &idx)) != 0)
		return rv;
	p->e->nodes[idx].id = fn;
	if (++p->nest > ARB_EXPR_MAX_DEPTH)
		return perr(p, p->tstart, "expression nested deeper than %d "
		    "levels", ARB_EXPR_MAX_DEPTH);
	if ((rv = lex(p)) != 0)		/* past "(" */
		return rv;
	if (p->tk != TK_RP) {
		for (;;) {
			if (nargs < (int)NELEM(aoff))
				aoff[nargs] = p->tstart;
			if ((rv = parse_or(p, &arg)) != 0)
				return rv;
			node_add(p, idx, arg);
			nargs++;
			if (p->tk != TK_COMMA)
				break;
			if ((rv = lex(p)) != 0)
				return rv;
		}
	}
	if (p->tk != TK_RP)
		return perr(p, p->tstart, "expected ')' after arguments");
	p->nest--;
	if (nargs != funcs_tab[fn].nargs)
		return perr(p, noff, "%s() takes %d argument%s, not %d",
		    funcs_tab[fn].name, funcs_tab[fn].nargs,
		    funcs_tab[fn].nargs == 1 ? "" : "s", nargs);
	snprintf(what, sizeof(what), "%s()", funcs_tab[fn].name);
	types = funcs_tab[fn].types;
	for (arg = p->e->nodes[idx].kid, nargs = 0; arg != -1;
	    arg = p->e->nodes[arg].next, nargs++) {
		if (funcs_tab[fn].args == T(ARB_V_STR) &&
		    (rv = need_types(p, arg, aoff[nargs], T(ARB_V_STR),
		    what)) != 0)
			return rv;
		if ((p->e->nodes[arg].types & funcs_tab[fn].args) == 0) {
			types_name(p->e->nodes[arg].types, have, sizeof(have));
			return perr(p, aoff[nargs], "%s needs a string or a "
			    "version, not %s", what, have);
		}
		if ((rv = check_literal_arg(p, fn, nargs, arg,
		    aoff[nargs])) != 0)
			return rv;
		/* version(x) is none only when x may be. */
		if (fn == FN_VERSION &&
		    (p->e->nodes[arg].types & T(ARB_V_NONE)) == 0)
			types &= ~T(ARB_V_NONE);
	}
	p->e->nodes[idx].types = types;
	*ip = idx;
	return lex(p);		/* past ")" */
}

static int
parse_primary(struct parser *p, int *ip)
{
	struct node	*n;
	char		 found[48];
	size_t		 off = p->tstart, nlen;
	int		 idx, rv, f;

	switch (p->tk) {
	case TK_STR:
	case TK_INT:
	case TK_TRUE:
	case TK_FALSE:
	case TK_NONE:
		if ((rv = node_new(p, N_LIT, off, &idx)) != 0)
			return rv;
		n = &p->e->nodes[idx];
		switch (p->tk) {
		case TK_STR:
			n->lit.t = ARB_V_STR;
			n->lit.s = p->ts;
			p->ts = NULL;
			break;
		case TK_INT:
			n->lit.t = ARB_V_INT;
			n->lit.i = p->ti;
			break;
		case TK_NONE:
			n->lit.t = ARB_V_NONE;
			break;
		default:
			n->lit.t = ARB_V_BOOL;
			n->lit.b = p->tk == TK_TRUE;
		}
		n->types = T(n->lit.t);
		*ip = idx;
		return lex(p);
	case TK_LP:
		if (++p->nest > ARB_EXPR_MAX_DEPTH)
			return perr(p, off, "expression nested deeper than %d "
			    "levels", ARB_EXPR_MAX_DEPTH);
		if ((rv = lex(p)) != 0 || (rv = parse_or(p, ip)) != 0)
			return rv;
		if (p->tk != TK_RP)
			return perr(p, p->tstart, "expected ')'");
		p->nest--;
		return lex(p);
	case TK_IDENT:
		nlen = p->tlen;
		if ((rv = lex(p)) != 0)
			return rv;
		if (p->tk == TK_LP)
			return parse_call(p, off, nlen, ip);
		for (f = 0; f < (int)NELEM(facts_tab); f++)
			if (strlen(facts_tab[f].name) == nlen &&
			    memcmp(facts_tab[f].name, p->text + off, nlen) ==
			    0)
				break;
		if (f == (int)NELEM(facts_tab)) {
			for (f = 0; f < (int)NELEM(funcs_tab); f++)
				if (strlen(funcs_tab[f].name) == nlen &&
				    memcmp(funcs_tab[f].name, p->text + off,
				    nlen) == 0)
					return perr(p, off, "%s is a function: "
					    "expected '(' after it",
					    funcs_tab[f].name);
			return perr(p, off, "unknown fact \"%.*s\"", (int)nlen,
			    p->text + off);
		}
		if ((rv = node_new(p, N_FACT, off, &idx)) != 0)
			return rv;
		p->e->nodes[idx].id = f;
		p->e->nodes[idx].types = facts_tab[f].types;
		*ip = idx;
		return 0;
	case TK_END:
		return perr(p, off, "expected an expression");
	default:
		tok_desc(p, found, sizeof(found));
		return perr(p, off, "expected an expression, found %s", found);
	}
}

static int
parse_unary(struct parser *p, int *ip)
{
	size_t	off = p->tstart, aoff;
	int	idx, a, rv;

	if (p->tk != TK_NOT)
		return parse_primary(p, ip);
	if (++p->nest > ARB_EXPR_MAX_DEPTH)
		return perr(p, off, "expression nested deeper than %d levels",
		    ARB_EXPR_MAX_DEPTH);
	if ((rv = lex(p)) != 0)
		return rv;
	aoff = p->tstart;
	if ((rv = parse_unary(p, &a)) != 0 ||
	    (rv = need_types(p, a, aoff, T(ARB_V_BOOL), "'!'")) != 0 ||
	    (rv = node_new(p, N_NOT, off, &idx)) != 0)
		return rv;
	p->nest--;
	node_add(p, idx, a);
	p->e->nodes[idx].types = T(ARB_V_BOOL);
	*ip = idx;
	return 0;
}

static int
tok_cmp_op(enum tok tk)
{
	switch (tk) {
	case TK_EQ:
		return OP_EQ;
	case TK_NE:
		return OP_NE;
	case TK_LT:
		return OP_LT;
	case TK_LE:
		return OP_LE;
	case TK_GT:
		return OP_GT;
	case TK_GE:
		return OP_GE;
	case TK_IN:
		return OP_IN;
	default:
		return -1;
	}
}

/* Error unless some pair of types of a and b can be compared by op. */
static int
cmp_static(struct parser *p, int op, int a, int b, size_t off)
{
	const char	*why = "cannot compare";
	char		 ta[96], tb[96];
	unsigned	 ma = p->e->nodes[a].types, mb = p->e->nodes[b].types;
	int		 x, y;

	for (x = ARB_V_NONE; x <= ARB_V_LIST; x++)
		for (y = ARB_V_NONE; y <= ARB_V_LIST; y++)
			if ((ma & T(x)) && (mb & T(y))) {
				why = cmp_check(op, x, y);
				if (why == NULL)
					return 0;
			}
	types_name(ma, ta, sizeof(ta));
	types_name(mb, tb, sizeof(tb));
	return perr(p, off, "'%s' cannot compare %s with %s%s%s", op_text[op],
	    ta, tb, strcmp(why, "cannot compare") != 0 ? ": " : "",
	    strcmp(why, "cannot compare") != 0 ? why : "");
}

static int
parse_cmp(struct parser *p, int *ip)
{
	size_t	off;
	int	idx, a, b, op, rv;

	if ((rv = parse_unary(p, &a)) != 0)
		return rv;
	if ((op = tok_cmp_op(p->tk)) == -1) {
		*ip = a;
		return 0;
	}
	off = p->tstart;
	if ((rv = lex(p)) != 0 || (rv = parse_unary(p, &b)) != 0 ||
	    (rv = cmp_static(p, op, a, b, off)) != 0 ||
	    (rv = node_new(p, N_CMP, off, &idx)) != 0)
		return rv;
	p->e->nodes[idx].id = op;
	p->e->nodes[idx].types = T(ARB_V_BOOL);
	node_add(p, idx, a);
	node_add(p, idx, b);
	if (tok_cmp_op(p->tk) != -1)
		return perr(p, p->tstart, "comparisons do not chain; use "
		    "parentheses and '&&'");
	*ip = idx;
	return 0;
}

/* One level of && or ||: a single n-ary node for a chain. */
static int
parse_chain(struct parser *p, enum tok tk, int *ip)
{
	enum node_kind	 kind = tk == TK_AND ? N_AND : N_OR;
	const char	*what = tk == TK_AND ? "'&&'" : "'||'";
	size_t		 off, aoff;
	int		 idx, a, rv;

	aoff = p->tstart;
	if ((rv = tk == TK_AND ? parse_cmp(p, &a) :
	    parse_chain(p, TK_AND, &a)) != 0)
		return rv;
	if (p->tk != tk) {
		*ip = a;
		return 0;
	}
	off = p->tstart;
	if ((rv = need_types(p, a, aoff, T(ARB_V_BOOL), what)) != 0 ||
	    (rv = node_new(p, kind, off, &idx)) != 0)
		return rv;
	p->e->nodes[idx].types = T(ARB_V_BOOL);
	node_add(p, idx, a);
	while (p->tk == tk) {
		if ((rv = lex(p)) != 0)
			return rv;
		aoff = p->tstart;
		if ((rv = tk == TK_AND ? parse_cmp(p, &a) :
		    parse_chain(p, TK_AND, &a)) != 0 ||
		    (rv = need_types(p, a, aoff, T(ARB_V_BOOL), what)) != 0)
			return rv;
		node_add(p, idx, a);
	}
	*ip = idx;
	return 0;
}

static int
parse_or(struct parser *p, int *ip)
{
	return parse_chain(p, TK_OR, ip);
}

int
arb_expr_parse(const char *text, struct arb_expr **ep, char *err,
    size_t errlen)
{
	struct parser	 p;
	char		 found[48];
	int		 rv;

	memset(&p, 0, sizeof(p));
	p.text = text;
	p.err = err;
	p.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	p.len = strnlen(text, ARB_EXPR_MAX_LEN + 1);
	if (p.len > ARB_EXPR_MAX_LEN)
		return perr(&p, ARB_EXPR_MAX_LEN, "expression longer than %d "
		    "bytes", ARB_EXPR_MAX_LEN);
	if ((p.e = calloc(1, sizeof(*p.e))) == NULL)
		return -ENOMEM;
	if ((rv = lex(&p)) != 0 || (rv = parse_or(&p, &p.e->root)) != 0)
		goto fail;
	if (p.tk != TK_END) {
		tok_desc(&p, found, sizeof(found));
		rv = perr(&p, p.tstart, "expected an operator or the end, "
		    "found %s", found);
		goto fail;
	}
	*ep = p.e;
	return 0;
fail:
	free(p.ts);
	arb_expr_free(p.e);
	return p.nomem ? -ENOMEM : rv;
}

/* ---- the evaluator */

struct evalctx {
	const struct arb_expr	*e;
	struct arb_facts	*facts;
	char			*err;
	size_t			 errlen;
};

static int
eerr(struct evalctx *c, const struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
eerr(struct evalctx *c, const struct node *n, const char *fmt, ...)
{
	va_list	ap;
	int	k;

	if (c->err != NULL && c->errlen > 0) {
		k = snprintf(c->err, c->errlen, "at %d: ", n->pos);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return ARB_EINVAL;
}

static int	eval_node(struct evalctx *, int, struct arb_value *);

static int
set_str(struct arb_value *v, enum arb_vtype t, const char *s)
{
	if (s == NULL) {
		v->t = ARB_V_NONE;
		return 0;
	}
	if ((v->s = strdup(s)) == NULL)
		return -ENOMEM;
	v->t = t;
	return 0;
}

static int
eval_fact(struct evalctx *c, const struct node *n, struct arb_value *out)
{
	char *const	*g;
	const char	*s = NULL;
	size_t		 ng, i;
	int64_t		 num;
	int		 rv = 0, known;

	switch (n->id) {
	case F_OS_ID:
		rv = arb_facts_os(c->facts, "ID", &s);
		break;
	case F_OS_VERSION_ID:
		rv = arb_facts_os(c->facts, "VERSION_ID", &s);
		break;
	case F_OS_ARCH:
		rv = arb_facts_arch(c->facts, &s);
		break;
	case F_HOST_NAME:
		rv = arb_facts_hostname(c->facts, &s);
		break;
	case F_AGENT_GROUPS:
		arb_facts_groups(c->facts, &g, &ng);
		out->t = ARB_V_LIST;
		if (ng == 0)
			return 0;
		if ((out->list = calloc(ng, sizeof(char *))) == NULL)
			return -ENOMEM;
		for (i = 0; i < ng; i++) {
			if ((out->list[i] = strdup(g[i])) == NULL)
				return -ENOMEM;
			out->nlist = i + 1;
		}
		return 0;
	case F_SESSION_USERS:
	case F_SESSION_IDLE:
		rv = n->id == F_SESSION_USERS ?
		    arb_facts_session_users(c->facts, &num, &known) :
		    arb_facts_session_idle(c->facts, arb_clock_now(), &num,
		    &known);
		if (rv == 0) {
			out->t = known ? ARB_V_INT : ARB_V_NONE;
			out->i = num;
			return 0;
		}
		break;
	case F_POWER_BATTERY:
		if ((rv = arb_facts_power_battery(c->facts, &known)) == 0) {
			out->t = ARB_V_BOOL;
			out->b = known;
			return 0;
		}
		break;
	}
	if (rv == -ENOMEM)
		return rv;
	if (rv == ARB_EUNKNOWN) {	/* the endpoint's present state */
		(void)eerr(c, n, "%s: only the endpoint knows",
		    facts_tab[n->id].name);
		return ARB_EUNKNOWN;
	}
	if (rv != 0)
		return eerr(c, n, "%s: cannot read: %s", facts_tab[n->id].name,
		    arb_strerror(rv));
	return set_str(out, ARB_V_STR, s);
}

/* Message for a failed file function. */
static int
file_err(struct evalctx *c, const struct node *n, const char *path, int rv,
    uint64_t bytes_before)
{
	const char	*name = funcs_tab[n->id].name, *why;
	unsigned	 reads;
	uint64_t	 bytes;

	if (rv == -ENOMEM)
		return rv;
	if (rv == ARB_EUNKNOWN) {	/* facts from elsewhere: never guessed */
		(void)eerr(c, n, "%s(\"%.256s\"): only the endpoint knows",
		    name, path);
		return ARB_EUNKNOWN;
	}
	if (rv == ARB_EINVAL && arb_facts_path_ok(path, &why) != 0)
		return eerr(c, n, "%s: %s", name, why);
	if (rv == ARB_EINVAL)
		return eerr(c, n, "%s: \"%.256s\" is not a regular file", name,
		    path);
	if (rv == ARB_ETOOBIG) {
		arb_facts_budget(c->facts, &reads, &bytes);
		if (bytes == 0 && bytes_before > 0)
			return eerr(c, n, "%s: more than %llu MiB of files "
			    "read in one evaluation", name,
			    (unsigned long long)(ARB_FACTS_MAX_BYTES >> 20));
		return eerr(c, n, "%s: \"%.256s\" is longer than %llu MiB "
		    "and the text is not in its first %llu MiB", name, path,
		    (unsigned long long)(ARB_FACTS_CONTAINS_MAX >> 20),
		    (unsigned long long)(ARB_FACTS_CONTAINS_MAX >> 20));
	}
	return eerr(c, n, "%s: \"%.256s\": %s", name, path, arb_strerror(rv));
}

/* A function whose arguments have been evaluated into args. */
static int
eval_func(struct evalctx *c, const struct node *n, struct arb_value *args,
    struct arb_value *out)
{
	char		 hex[ARB_SHA256_HEX];
	const char	*s = NULL, *why;
	unsigned	 reads;
	uint64_t	 bytes;
	int		 i, rv, yes;

	for (i = 0; i < funcs_tab[n->id].nargs; i++)
		if ((T(args[i].t) & funcs_tab[n->id].args) == 0)
			return eerr(c, n, "%s() needs a string, not %s",
			    funcs_tab[n->id].name, arb_vtype_name(args[i].t));
	switch (n->id) {
	case FN_PKG:
		if ((rv = arb_facts_pkg(c->facts, args[0].s, &s)) != 0) {
			if (rv == -ENOMEM)
				return rv;
			return eerr(c, n, "pkg: cannot read the dpkg status: "
			    "%s", arb_strerror(rv));
		}
		return set_str(out, ARB_V_VERSION, s);
	case FN_VERSION:
		if (args[0].t == ARB_V_NONE)
			return 0;
		if (!arb_version_valid(args[0].s))
			return eerr(c, n, "invalid version \"%.64s\"",
			    args[0].s);
		return set_str(out, ARB_V_VERSION, args[0].s);
	case FN_AGENT_PROP:
		arb_facts_prop(c->facts, args[0].s, &s);
		return set_str(out, ARB_V_STR, s);
	}
	/* File functions. */
	if (arb_facts_path_ok(args[0].s, &why) != 0)
		return eerr(c, n, "%s: %s", funcs_tab[n->id].name, why);
	arb_facts_budget(c->facts, &reads, &bytes);
	if (reads == 0)
		return eerr(c, n, "%s: more than %d file reads in one "
		    "evaluation", funcs_tab[n->id].name, ARB_FACTS_MAX_READS);
	switch (n->id) {
	case FN_FILE_EXISTS:
		rv = arb_facts_file_exists(c->facts, args[0].s, &yes);
		if (rv == 0) {
			out->t = ARB_V_BOOL;
			out->b = yes;
		}
		break;
	case FN_FILE_SHA256:
		rv = arb_facts_file_sha256(c->facts, args[0].s, hex, &yes);
		if (rv == 0)
			rv = set_str(out, ARB_V_STR, yes ? hex : NULL);
		break;
	default:	/* FN_FILE_CONTAINS */
		rv = arb_facts_file_contains(c->facts, args[0].s, args[1].s,
		    strlen(args[1].s), &yes);
		if (rv == 0) {
			out->t = ARB_V_BOOL;
			out->b = yes;
		}
		break;
	}
	if (rv != 0)
		return file_err(c, n, args[0].s, rv, bytes);
	return 0;
}

static int
eval_call(struct evalctx *c, const struct node *n, struct arb_value *out)
{
	struct arb_value	args[2];
	int			i, k, rv = 0;

	memset(args, 0, sizeof(args));
	for (k = n->kid, i = 0; k != -1 && i < 2;
	    k = c->e->nodes[k].next, i++)
		if ((rv = eval_node(c, k, &args[i])) != 0)
			goto done;
	rv = eval_func(c, n, args, out);
done:
	arb_value_clear(&args[0]);
	arb_value_clear(&args[1]);
	return rv;
}

static int
eval_cmp(struct evalctx *c, const struct node *n, struct arb_value *a,
    struct arb_value *b, int *resp)
{
	const char	*why, *sa, *sb;
	size_t		 i;
	int		 cmp;

	if ((why = cmp_check(n->id, a->t, b->t)) != NULL) {
		if (strcmp(why, "cannot compare") == 0)
			return eerr(c, n, "cannot compare %s with %s",
			    arb_vtype_name(a->t), arb_vtype_name(b->t));
		return eerr(c, n, "'%s': %s", op_text[n->id], why);
	}
	*resp = 0;
	if (n->id == OP_IN) {
		if (a->t == ARB_V_NONE || b->t == ARB_V_NONE)
			return 0;
		if (b->t == ARB_V_STR) {
			*resp = strstr(b->s, a->s) != NULL;
			return 0;
		}
		for (i = 0; i < b->nlist; i++)
			if (strcmp(a->s, b->list[i]) == 0)
				*resp = 1;
		return 0;
	}
	if (a->t == ARB_V_NONE || b->t == ARB_V_NONE) {
		if (n->id == OP_EQ)
			*resp = a->t == b->t;
		else if (n->id == OP_NE)
			*resp = a->t != b->t;
		return 0;
	}
	if (a->t == ARB_V_VERSION || b->t == ARB_V_VERSION) {
		sa = a->s;
		sb = b->s;
		if (a->t == ARB_V_STR && !arb_version_valid(sa))
			return eerr(c, n, "\"%.64s\" is not a valid version",
			    sa);
		if (b->t == ARB_V_STR && !arb_version_valid(sb))
			return eerr(c, n, "\"%.64s\" is not a valid version",
			    sb);
		cmp = arb_version_cmp(sa, sb);
	} else if (a->t == ARB_V_INT)
		cmp = a->i < b->i ? -1 : a->i > b->i;
	else if (a->t == ARB_V_STR)
		cmp = strcmp(a->s, b->s);
	else
		cmp = a->b - b->b;
	switch (n->id) {
	case OP_EQ:
		*resp = cmp == 0;
		break;
	case OP_NE:
		*resp = cmp != 0;
		break;
	case OP_LT:
		*resp = cmp < 0;
		break;
	case OP_LE:
		*resp = cmp <= 0;
		break;
	case OP_GT:
		*resp = cmp > 0;
		break;
	case OP_GE:
		*resp = cmp >= 0;
		break;
	}
	return 0;
}

/* Evaluate an operand that must be a boolean. */
static int
eval_bool_kid(struct evalctx *c, const char *what, int k, int *bp)
{
	struct arb_value	v;
	int			rv;

	memset(&v, 0, sizeof(v));
	if ((rv = eval_node(c, k, &v)) != 0)
		return rv;
	if (v.t != ARB_V_BOOL) {
		rv = eerr(c, &c->e->nodes[k], "%s needs a boolean, not %s",
		    what, arb_vtype_name(v.t));
		arb_value_clear(&v);
		return rv;
	}
	*bp = v.b;
	return 0;
}

static int
eval_node(struct evalctx *c, int idx, struct arb_value *out)
{
	const struct node	*n = &c->e->nodes[idx];
	struct arb_value	 a, b;
	int			 k, rv, res;

	memset(out, 0, sizeof(*out));
	out->t = ARB_V_NONE;
	switch (n->kind) {
	case N_LIT:
		return value_copy(out, &n->lit);
	case N_FACT:
		rv = eval_fact(c, n, out);
		break;
	case N_CALL:
		rv = eval_call(c, n, out);
		break;
	case N_NOT:
		if ((rv = eval_bool_kid(c, "'!'", n->kid, &res)) != 0)
			break;
		out->t = ARB_V_BOOL;
		out->b = !res;
		break;
	case N_AND:
	case N_OR:
		/* Left to right; stop as soon as the outcome is known. */
		res = n->kind == N_AND;
		for (k = n->kid; k != -1; k = c->e->nodes[k].next) {
			if ((rv = eval_bool_kid(c, n->kind == N_AND ?
			    "'&&'" : "'||'", k, &res)) != 0)
				goto done;
			if (res != (n->kind == N_AND))
				break;
		}
		out->t = ARB_V_BOOL;
		out->b = res;
		rv = 0;
		break;
	case N_CMP:
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if ((rv = eval_node(c, n->kid, &a)) == 0 &&
		    (rv = eval_node(c, c->e->nodes[n->kid].next, &b)) == 0 &&
		    (rv = eval_cmp(c, n, &a, &b, &res)) == 0) {
			out->t = ARB_V_BOOL;
			out->b = res;
		}
		arb_value_clear(&a);
		arb_value_clear(&b);
		break;
	default:
		rv = ARB_EINVAL;
	}
done:
	if (rv != 0)
		arb_value_clear(out);
	return rv;
}

int
arb_expr_eval(const struct arb_expr *e, struct arb_facts *facts,
    struct arb_value *out, char *err, size_t errlen)
{
	struct evalctx	c;
	int		rv;

	c.e = e;
	c.facts = facts;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	arb_facts_begin(facts);
	if ((rv = eval_node(&c, e->root, out)) == -ENOMEM && err != NULL &&
	    errlen > 0)
		snprintf(err, errlen, "out of memory");
	return rv;
}

int
arb_expr_eval_bool(const struct arb_expr *e, struct arb_facts *facts,
    int *result, char *err, size_t errlen)
{
	struct arb_value	v;
	int			rv;

	if ((rv = arb_expr_eval(e, facts, &v, err, errlen)) != 0)
		return rv;
	if (v.t != ARB_V_BOOL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "expression is %s, not a boolean",
			    arb_vtype_name(v.t));
		arb_value_clear(&v);
		return ARB_EINVAL;
	}
	*result = v.b;
	return 0;
}
