"""The root's web console in a real browser: a real tree (root, two relays
one under the other, agents, one of which fails), the console opened in
headless chromium (driven by playwright-core through tests/console/drive.js)
and every number and row it shows compared with arborctl ... --json: the
overview's counts, the relay tree, the endpoints of a policy (page by
page), the failures with their exit codes and output, an endpoint's page,
a query, a staged policy's wave.  Sign-in: with no token made (a viewer on
loopback), a refused token, an operator's (the buttons) and a viewer's
(none).  The operator presses pause: arborctl rollout status --json shows
the rollout paused, arborctl audit the pause under the operator's token.
The files are served with a strict Content-Security-Policy that stops an
injected script.  Screenshots of the main pages go to
BUILD/test-artifacts/console/.

Needs node, npm (or tests/console's node_modules in the build directory)
and /usr/bin/chromium; without them it exits 77."""

import filecmp
import json
import os
import select
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

from arbortest import BUILD, Net, run, wait_until, Failure, SCALE, free_port
from test_reports import TOKEN, fixture, publish_openssl, status, counts

HERE = os.path.dirname(os.path.abspath(__file__))
CONSOLE_SRC = os.path.join(HERE, "..", "console")
NODE_DIR = os.path.join(BUILD, "console-node")
ARTIFACTS = os.path.join(BUILD, "test-artifacts", "console")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WAIT_MS = int(15000 * SCALE)


def skip(why):
    print("skip: " + why)
    sys.stdout.flush()
    sys.exit(77)


def node_modules():
    """BUILD/console-node/node_modules with playwright-core, installed from
    tests/console's lock file (npm ci, from npm's cache when it can) when
    missing or older than the lock file; the node executable."""
    node = shutil.which("node")
    if node is None:
        skip("no node (apt-get install nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        skip("no %s (apt-get install chromium)" % CHROMIUM)
    lock = os.path.join(CONSOLE_SRC, "package-lock.json")
    have = os.path.join(NODE_DIR, "package-lock.json")
    mods = os.path.join(NODE_DIR, "node_modules", "playwright-core")
    if os.path.isdir(mods) and os.path.exists(have) and \
            filecmp.cmp(lock, have, shallow=False):
        return node
    npm = shutil.which("npm")
    if npm is None:
        skip("no npm to install playwright-core into %s" % NODE_DIR)
    os.makedirs(NODE_DIR, exist_ok=True)
    for f in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(CONSOLE_SRC, f),
                        os.path.join(NODE_DIR, f))
    p = subprocess.run([npm, "ci", "--prefer-offline", "--no-audit",
                        "--no-fund", "--ignore-scripts"], cwd=NODE_DIR,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    if p.returncode != 0 or not os.path.isdir(mods):
        os.unlink(have)
        skip("npm ci in %s failed (no registry or cache here?): %s" %
             (NODE_DIR, p.stdout[-800:]))
    return node


class Console:
    """One headless chromium page, driven a command at a time."""

    def __init__(self, node, logdir):
        env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR,
                                                      "node_modules"),
                   CHROMIUM=CHROMIUM)
        self.log = open(os.path.join(logdir, "drive.log"), "w")
        self.p = subprocess.Popen([node, os.path.join(CONSOLE_SRC,
                                                      "drive.js")],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.log,
                                  text=True, env=env)

    def __call__(self, op, **kw):
        kw["op"] = op
        kw.setdefault("timeout", WAIT_MS)
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        limit = kw["timeout"] / 1000.0 + 30 * SCALE
        r, _, _ = select.select([self.p.stdout], [], [], limit)
        line = self.p.stdout.readline() if r else ""
        if not line:
            raise Failure("console %s: no answer in %.0f s" % (op, limit))
        out = json.loads(line)
        if not out.pop("ok"):
            raise Failure("console %s %r: %s" % (op, kw, out["error"]))
        return out

    def goto(self, hash_, page):
        self("goto", hash=hash_, page=page)

    def rows(self, selector):
        return self("rows", selector=selector)["rows"]

    def shot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, name + ".png")
        self("shot", path=path)
        print("screenshot: " + path)
        return path

    def close(self):
        try:
            if self.p.poll() is None:
                self("close", timeout=10000)
                self.p.stdin.close()
                self.p.wait(timeout=30 * SCALE)
        except (Failure, OSError, subprocess.TimeoutExpired):
            pass
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.log.close()


def http(url, method="GET", token=None):
    """(status, headers, body) of a request to url."""
    h = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(url, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10 * SCALE) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def ctl_json(net, *args):
    return json.loads(net.ctl(*args, "--json").stdout)


def tokens(net):
    """An operator's token and a viewer's, made with arborctl."""
    got = []
    for role in ("operator", "viewer"):
        p = net.ctl("api-token", "create", "--role", role, "--name",
                    "console-" + role)
        got.append(p.stdout.strip().splitlines()[-1].split()[-1])
    return tuple(got)


def same(what, shown, want):
    if shown != want:
        raise Failure("%s: the console shows %r, arborctl --json says %r" %
                      (what, shown, want))


def agree(what, both, timeout=12):
    """Until both() gives (shown, want) equal, bounded: a report that
    lands between the page's drawing and arborctl's answer is on the page
    at its next redraw."""
    last = []

    def ok():
        last[:] = both()
        return last[0] == last[1]
    try:
        wait_until(ok, timeout, what)
    except Failure:
        same(what, *last)


def endpoint_rows(rows):
    return sorted((r["row"], r["state"], int(r["exit"])) for r in rows)


def ctl_rows(doc):
    return sorted((e["endpoint_id"] + "/" + e["policy_id"], e["state"],
                   e["exit_code"]) for e in doc)


def test_console():
    node = node_modules()
    with Net("console") as net:
        url = "http://127.0.0.1:%d" % free_port()
        root = net.root(enroll_token=TOKEN, api_listen=url)
        relay1 = net.relay([root], report_interval="200ms")
        relay2 = net.relay([relay1], report_interval="200ms")
        for i in range(4):
            net.agent([relay1 if i < 2 else relay2],
                      facts_root=fixture(net, "debian12-old-openssl",
                                         fail=(i == 0)),
                      enroll_token=TOKEN, report_delay="20ms")
        wait_until(lambda: status(net)["endpoints"] == 4, 30,
                   "every agent to enrol")
        publish_openssl(net)
        wait_until(lambda: sum(counts(net, "demo-openssl").values()) == 4 and
                   "running" not in counts(net, "demo-openssl"), 40,
                   "every agent to report demo-openssl")
        # Staged: the pilot (one endpoint of four) soaks for an hour.
        net.publish("waved", 1, {}, applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ok"',
                    rollout={"waves": [
                        {"name": "pilot", "share": 25, "soak": "1h"},
                        {"name": "all", "share": 100}]})
        wait_until(lambda: ctl_json(net, "rollout", "status", "waved")[0]
                   ["ok"] == 1, 40, "the pilot of waved to report")
        wait_until(lambda: counts(net, "waved").get("waiting") == 3, 20,
                   "the rest of waved to wait")

        # The files: index.html at / and /console/, types, the CSP.
        for path, ctype in (("/", "text/html"), ("/console/", "text/html"),
                            ("/console/app.js", "text/javascript"),
                            ("/console/style.css", "text/css"),
                            ("/console/favicon.svg", "image/svg+xml")):
            code, hdr, body = http(url + path)
            if code != 200 or not hdr["Content-Type"].startswith(ctype) or \
                    "default-src 'none'" not in \
                    hdr.get("Content-Security-Policy", "") or not body:
                raise Failure("GET %s: %d %s %r" % (path, code, dict(hdr),
                                                    body[:80]))
        for path in ("/console/nosuch.js", "/console/../root.c"):
            code, _, _ = http(url + path)
            if code != 404:
                raise Failure("GET %s: %d, want 404" % (path, code))

        c = Console(node, net.dir)
        try:
            opened = c("open", url=url + "/", timeout=WAIT_MS * 2)
            if "script-src 'self'" not in \
                    opened["headers"].get("content-security-policy", ""):
                raise Failure("open: headers %r" % opened["headers"])
            c("wait", selector="#login")
            c.shot("login")
            # No token made yet: on loopback anyone reads, nobody acts.
            who = c("login", token="no-token-yet")["who"]
            if who != "viewer":
                raise Failure("with no token made, signed in as %r" % who)
            operator, viewer = tokens(net)
            c("click", selector="#logout")
            c("wait", selector="#login")
            # A token the root did not make: refused, said, not kept.
            c("fill", selector="#token", value="bogus-token")
            c("click", selector="#login button[type=submit]")
            wait_until(lambda: "refused" in c(
                "text", selector="#login-error")["text"], 10,
                "the console to say the token was refused")
            if c("storage")["session"] != "{}":
                raise Failure("a refused token kept: %r" % c("storage"))
            token = operator
            who = c("login", token=token)["who"]
            if who != "operator":
                raise Failure("signed in with the operator's token as %r" %
                              who)
            store = c("storage")
            if json.loads(store["session"]).get("arbor.token") != token or \
                    store["local"] != "{}":
                raise Failure("the token kept where? %r" % store)

            # Overview: the root's totals and each policy's counts.
            def overview():
                shown = {r["status"]: r["text"] for r in
                         c.rows("#page [data-status]")}
                st = status(net)
                keys = ("endpoints", "head_seq", "accepted", "rejected")
                shown_c, want_c = [], []
                for p in st["policies"]:
                    cells = {r["count"]: int(r["text"]) for r in c.rows(
                        '#page tr[data-policy="%s"] td[data-count]' %
                        p["id"])}
                    shown_c.append((p["id"], {k: v for k, v in
                                              cells.items() if v}))
                    want_c.append((p["id"], {k: v for k, v in
                                             p["counts"].items() if v}))
                return (([shown.get(k) for k in keys], shown_c),
                        ([str(st[k]) for k in keys], want_c))
            agree("overview: totals and counts", overview)
            # While waved's endpoints wait, the overview redraws each second.
            c("redraw", timeout=int(2500 * SCALE))
            c.shot("overview")

            # The relay tree: every relay, its parent, children and lag;
            # relay2 drawn under relay1.
            c.goto("#/tree", "tree")
            tr = ctl_json(net, "tree")
            same("tree rows", sorted((r["row"], r["parent"],
                                      int(r["children"]), int(r["lag"]))
                                     for r in c.rows("#page tr[data-row]")),
                 sorted((r["node_id"], r["parent_id"], r["children"],
                         r["lag"]) for r in tr["relays"]))
            if not c.rows('li[data-relay="relay1"] > ul > '
                          'li[data-relay="relay2"]'):
                raise Failure("relay2 is not drawn under relay1")
            # The bytes each relay served, as arborctl says (the page
            # redraws every 2 s; a relay's entry comes each interval).
            agree("tree: bytes served", lambda: (
                sorted((r["row"], int(r["served"]))
                       for r in c.rows("#page tr[data-row]")),
                sorted((r["node_id"], r["served_bytes"])
                       for r in ctl_json(net, "tree")["relays"])))
            wait_until(lambda: any(r["served_bytes"] > 0 for r in
                                   ctl_json(net, "tree")["relays"]), 20,
                       "a relay's tree entry to count the bytes it served")
            c.shot("tree")

            # Endpoints of a policy (the search page's list).
            c.goto("#/search?policy=demo-openssl&state=", "search")
            same("endpoints of demo-openssl",
                 endpoint_rows(c.rows("#page tr[data-row]")),
                 ctl_rows(ctl_json(net, "endpoints", "--policy",
                                   "demo-openssl")))
            c.shot("endpoints")
            c.goto("#/search?policy=demo-openssl&state=&page=2", "search")
            if c.rows("#page tr[data-row]") or c.rows("[data-next]"):
                raise Failure("page 2 of 4 rows is not empty")

            # Failures: the failed endpoint, its exit code, its output.
            c.goto("#/failures", "failures")
            failed = ctl_json(net, "endpoints", "--state", "failed")
            same("failures", endpoint_rows(c.rows("#page tr[data-row]")),
                 ctl_rows(failed))
            text = c("text", selector="#page table")["text"]
            if "disk full" not in text or len(failed) != 1 or \
                    failed[0]["exit_code"] != 3:
                raise Failure("failures: %r; %r" % (text, failed))
            c.shot("failures")

            # One endpoint's page, reached from the failures' link.
            eid = failed[0]["endpoint_id"]
            c.goto("#/endpoint/" + eid, "endpoint")
            same("endpoint " + eid,
                 endpoint_rows(c.rows("#page tr[data-row]")),
                 ctl_rows(ctl_json(net, "endpoint", "show", eid)
                          ["policies"]))
            same("history of " + eid,
                 sorted((r["history"], r["state"], int(r["exit"]))
                        for r in c.rows("#page tr[data-history]")),
                 sorted((h["policy_id"] + "/" + str(h["at"]), h["state"],
                         h["exit_code"]) for h in ctl_json(
                             net, "endpoint", "show", eid)["history"]))
            if not c.rows("#page tr[data-history]") or \
                    not c.rows("#page [data-inventory]"):
                raise Failure("endpoint page: no history or inventory")
            c.shot("endpoint")

            # Search by query: as arborctl query; a bad expression named.
            expr = 'os.id == "debian"'
            c.goto("#/search?expr=" + urllib.request.quote(expr), "search")
            q = ctl_json(net, "query", expr)
            same("query matched", [r["matched"] for r in
                                   c.rows("#page [data-matched]")],
                 [str(q["matched"])])
            same("query rows", sorted(r["row"] for r in
                                      c.rows("#page tr[data-row]")),
                 sorted(m["endpoint"] for m in q["matches"]))
            c.shot("search")
            c.goto("#/search?expr=" + urllib.request.quote("os.id =="),
                   "search")
            err = c("text", selector="#error")["text"]
            if " 400 " not in err:
                raise Failure("a bad expression: %r" % err)

            # Policies: waved's rollout as arborctl shows it, the buttons.
            c.goto("#/policies", "policies")
            ro = ctl_json(net, "rollout", "status", "waved")[0]
            w = c.rows('[data-rollout="waved"]')
            same("waved's rollout", [(r["rolloutState"], int(r["wave"]),
                                      int(r["waves"])) for r in w],
                 [(ro["state"], ro["wave"], ro["waves"])])
            ops = {r["op"] for r in c.rows(
                'section[data-policy="waved"] button[data-op]')}
            if not {"push", "pause", "resume", "advance", "retire",
                    "rollback"} <= ops:
                raise Failure("operator buttons: %r" % ops)
            c.shot("policies")

            # Pause from the console, seen by arborctl.
            c("click", selector='section[data-policy="waved"] '
              'button[data-op="pause"]')
            wait_until(lambda: ctl_json(net, "rollout", "status", "waved")
                       [0]["state"] == "paused", 20,
                       "arborctl to show waved paused")
            wait_until(lambda: [r["rolloutState"] for r in c.rows(
                '[data-rollout="waved"]')] == ["paused"], 20,
                "the console to show waved paused")
            c.shot("paused")
            # In the audit trail: the pause, and nothing of the console's
            # asking which role a token has.
            audit = ctl_json(net, "audit")
            mine = [(a["action"], a["target"], a["status"]) for a in audit
                    if a["token"].startswith("console-")]
            if mine != [("pause", "waved", 200)]:
                raise Failure("the console's audit records: %r" % audit)

            # A viewer's token: the same pages, no buttons.
            c("click", selector="#logout")
            c("wait", selector="#login")
            c("login", token=viewer, page="policies")
            if c("text", selector="#who")["text"] != "viewer" or \
                    c.rows("button[data-op]"):
                raise Failure("a viewer is shown operator buttons")

            # Nothing went wrong in the page; an injected script is
            # refused by the Content-Security-Policy.
            errs = c("errors")["errors"]
            bad = [e for e in errs if e.startswith("exception:") or
                   "Content Security Policy" in e]
            if bad:
                raise Failure("page errors: %r" % bad)
            if c("inject")["ran"]:
                raise Failure("an inline script ran despite the CSP")
            if not any("Content Security Policy" in e
                       for e in c("errors")["errors"]):
                raise Failure("the CSP refusal was not reported")
        finally:
            c.close()


if __name__ == "__main__":
    run([test_console])
