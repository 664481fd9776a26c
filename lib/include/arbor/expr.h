/*
 * The applicability language: a small, safe expression language that the
 * root parses when a policy is published (so that one that does not parse
 * is refused there) and the agent evaluates against its facts.
 *
 *	os.id == "debian" && pkg("openssl") < version("3.0.22-1~deb12u2")
 *	file.exists("/opt/app/bin/app") &&
 *	    file.sha256("/opt/app/bin/app") != "ab12..."
 *
 * Grammar (EBNF; blanks are space, tab, CR and LF between tokens):
 *
 *	expr	= and { "||" and } ;
 *	and	= cmp { "&&" cmp } ;
 *	cmp	= unary [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" )
 *		  unary ] ;			(comparisons do not chain)
 *	unary	= "!" unary | primary ;
 *	primary	= string | integer | "true" | "false" | "none"
 *		| fact | func "(" [ expr { "," expr } ] ")"
 *		| "(" expr ")" ;
 *	fact	= "os.id" | "os.version_id" | "os.arch" | "host.name"
 *		| "agent.groups" ;
 *	func	= "pkg" | "version" | "file.exists" | "file.sha256"
 *		| "file.contains" | "agent.prop" ;
 *	string	= '"' { any byte but '"' and '\' | '\"' | '\\' | '\n'
 *		| '\t' } '"' ;
 *	integer	= digit { digit } ;		(0 to 2^63 - 1)
 *
 * "!" binds tighter than comparisons, as in C: write !(a == b).
 *
 * Types and values: none, boolean, integer, string, version, list.
 *
 *	os.id, os.version_id, os.arch, host.name   string, or none if absent
 *	agent.groups		list of strings (the agent's groups)
 *	agent.prop(k)		string, or none when the agent lacks property k
 *	pkg(name)		version installed, or none if not installed;
 *				name may be "name:arch" (see arb_facts_pkg)
 *	version(s)		s as a version (none stays none)
 *	file.exists(p)		boolean
 *	file.sha256(p)		lower-case hex string, or none if no such file
 *	file.contains(p, s)	boolean: the file holds the bytes of s (a file
 *				that does not exist holds nothing)
 *
 * Comparisons:
 *  - none equals only none; ==/!= with none compare "is it none", and
 *    every ordering comparison (< <= > >=) involving none is false.  So
 *    pkg("x") < version("1") is false when x is not installed: "not
 *    installed" is not older.  Write pkg("x") == none to ask for that.
 *  - when one side is a version, the other (a version, or a string that
 *    is converted and must be a valid version) is compared as dpkg
 *    compares versions: epochs, "~" and all (arbor/version.h).
 *  - integer with integer numerically; string with string bytewise;
 *    boolean with boolean for == and != only.  Anything else (a string
 *    with an integer, a list with anything) is a type error.
 *  - x in list: x is one of the list's strings; "sub" in "string": a
 *    substring.  none on either side of "in" is false.
 *  - && and || take booleans and short-circuit, left to right: an operand
 *    after the outcome is known is not evaluated (nor its files read).
 *  - ! takes a boolean.
 * Type errors that the parser can prove (an operand that can never have
 * a right type, such as !pkg("x") or true < false) are parse errors;
 * others are evaluation errors.  An evaluation error means "cannot
 * evaluate", never false.
 *
 * Bounds: the text is at most ARB_EXPR_MAX_LEN bytes, nested at most
 * ARB_EXPR_MAX_DEPTH deep (parentheses, calls, "!"), with at most
 * ARB_EXPR_MAX_NODES nodes.  One evaluation performs at most
 * ARB_FACTS_MAX_READS file functions reading at most ARB_FACTS_MAX_BYTES
 * bytes (file.contains at most ARB_FACTS_CONTAINS_MAX of a file).  Paths
 * must be absolute, without "." or ".." components, and resolve inside the
 * facts' root.  Nothing ever runs a program.
 */
#ifndef ARBOR_EXPR_H
#define ARBOR_EXPR_H

#include <stddef.h>
#include <stdint.h>

#define ARB_EXPR_MAX_LEN	4096
#define ARB_EXPR_MAX_DEPTH	64
#define ARB_EXPR_MAX_NODES	1024

struct arb_facts;

/* A compiled expression (immutable: one may be evaluated concurrently). */
struct arb_expr;

enum arb_vtype {
	ARB_V_NONE,
	ARB_V_BOOL,
	ARB_V_INT,
	ARB_V_STR,
	ARB_V_VERSION,	/* s holds the version text */
	ARB_V_LIST,	/* list of nlist strings */
};

/* A value; it owns s and list (and its strings). */
struct arb_value {
	enum arb_vtype	  t;
	int		  b;
	int64_t		  i;
	char		 *s;
	char		**list;
	size_t		  nlist;
};

/*
 * Parse text.  Returns 0 and *ep (free with arb_expr_free), or ARB_EINVAL
 * with a message in err naming the 1-based character position and what
 * was expected, e.g. "at 14: expected ')' after arguments", or -ENOMEM.
 * Unknown facts and functions, wrong argument counts, invalid literal
 * versions, package names and paths, provable type errors and breached
 * limits are all parse errors.  err may be NULL.
 */
int	arb_expr_parse(const char *text, struct arb_expr **ep, char *err,
	    size_t errlen);

/* Free a compiled expression.  NULL is a no-op. */
void	arb_expr_free(struct arb_expr *e);

/*
 * Evaluate e against facts (which must stay valid during the call; its
 * per-evaluation budget is reset first).  Returns 0 and *out (the caller
 * owns it: arb_value_clear), or ARB_EINVAL with err saying why it cannot
 * be evaluated, e.g. "at 9: cannot compare a string with an integer",
 * "at 1: file.sha256: more than 64 MiB of files read in one evaluation",
 * or -ENOMEM.  With facts from a view (arb_facts_new_view, the root's
 * stored inventories) a file function that must be evaluated returns
 * ARB_EUNKNOWN ("at 1: file.exists(\"/x\"): only the endpoint knows"):
 * the answer is unknown, neither true nor false.  On failure *out is none.
 */
int	arb_expr_eval(const struct arb_expr *e, struct arb_facts *facts,
	    struct arb_value *out, char *err, size_t errlen);

/*
 * Evaluate e as a condition: *result = 0 or 1.  Like arb_expr_eval, and
 * also ARB_EINVAL ("expression is a string, not a boolean") when the value
 * is not a boolean.
 */
int	arb_expr_eval_bool(const struct arb_expr *e, struct arb_facts *facts,
	    int *result, char *err, size_t errlen);

/* Free what v owns and make it none. */
void	arb_value_clear(struct arb_value *v);

/*
 * Print v for people: true, 42, "text", version("1:2.3-4"), none,
 * ["a", "b"].  Truncated to fit len bytes (NUL-terminated when len > 0).
 */
void	arb_value_format(const struct arb_value *v, char *buf, size_t len);

/* "none", "a boolean", "an integer", "a string", "a version", "a list". */
const char *arb_vtype_name(enum arb_vtype t);

#endif
