"""The root's HTTP JSON API: a real tree (root, relay, agents); every GET
under /api/v1/ answers the document arborctl ... --json prints for the
same question; paging and filters of /endpoints; refusals (unknown
paths, methods, bad parameters, long request lines) as JSON errors.
Tokens and roles (401, 403, 200), operator actions that land (a push the
agents act on, a pause arborctl shows), the audit trail naming the token
or the uid arborctl ran as, a revoked token refused, https:// with the
tree's certificates, and hostile requests (huge headers, bad tokens, bad
ids) the root outlives."""

import json
import http.client
import os
import pwd
import re
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from arbortest import BIN, Net, run, wait_until, Failure, SCALE, free_port, \
    http_request, sha256_hex
from test_reports import TOKEN, INSTALL, counts, fixture, publish_openssl, \
    status


def call(url, method="GET", headers=None, data=None, ctx=None):
    """(status, parsed JSON body, headers) of a request to url."""
    if method == "POST" and data is None:
        data = b""
    code, hdrs, body = http_request(url, method, headers, data, ctx)
    if code < 400 and not hdrs.get("Content-Type", "").startswith(
            "application/json"):
        raise Failure("%s: Content-Type %r" % (url, hdrs.get("Content-Type")))
    try:
        return code, json.loads(body.decode()), hdrs
    except ValueError:
        raise Failure("%s: %d, not JSON: %r" % (url, code, body))


def get(url, method="GET", headers=None, **kw):
    """(status, parsed JSON body) of a request to url."""
    code, doc, _ = call(url, method, headers, **kw)
    return code, doc


def bearer(token):
    return {"Authorization": "Bearer " + token}


def api_token(net, name, role):
    """A new API token, as arborctl prints it once."""
    out = net.ctl("api-token", "create", "--role", role, "--name",
                  name).stdout.strip()
    if not re.fullmatch(r"arb_[0-9a-f]{64}", out):
        raise Failure("api-token create printed %r" % out)
    return out


def ctl_json(net, *args):
    return json.loads(net.ctl(*args, "--json").stdout)


def same(net, url, *args, headers=None):
    """GET url must equal arborctl ARGS --json: asked again, bounded,
    while a report or a relay's information lands between the two."""
    last = []

    def equal():
        code, doc = get(url, headers=headers)
        last[:] = [code, doc, ctl_json(net, *args)]
        return code == 200 and last[1] == last[2]
    try:
        wait_until(equal, 10, "%s to equal arborctl %s --json" %
                   (url, " ".join(args)))
    except Failure:
        raise Failure("%s (%d): %r\narborctl %s --json: %r" %
                      (url, last[0], last[1], " ".join(args), last[2]))
    return last[1]


def tree(net, n, **conf):
    """A root serving the API, a relay, n agents (the first fails)."""
    url = "http://127.0.0.1:%d" % free_port()
    root = net.root(enroll_token=TOKEN, api_listen=url, **conf)
    root.api = url + "/api/v1"
    relay = net.relay([root], report_interval="200ms")
    agents = [net.agent([relay], facts_root=fixture(
        net, "debian12-old-openssl", fail=(i == 0)), enroll_token=TOKEN,
        report_delay="20ms") for i in range(n)]
    wait_until(lambda: status(net)["endpoints"] == n, 20,
               "every agent to enrol")
    return root, relay, agents


def test_gets_equal_arborctl():
    with Net("api-gets") as net:
        root, relay, agents = tree(net, 3)
        base = root.api
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl").get("fixed", 0) +
                   counts(net, "demo-openssl").get("failed", 0) == 3, 30,
                   "every agent to report")
        same(net, base + "/status", "status")
        same(net, base + "/status?policy=demo-openssl", "status",
             "demo-openssl")
        same(net, base + "/policies", "catalog")
        same(net, base + "/tree", "tree")
        rows = same(net, base + "/endpoints", "endpoints")
        if len(rows) != 3:
            raise Failure("endpoints: %r" % rows)
        same(net, base + "/endpoints?policy=demo-openssl&state=failed",
             "endpoints", "--policy", "demo-openssl", "--state", "failed")
        same(net, base + "/rollouts", "rollout", "status")
        # Pages: the same rows, in the same order, two at a time.
        _, p1 = get(base + "/endpoints?per_page=2")
        _, p2 = get(base + "/endpoints?per_page=2&page=2")
        _, p3 = get(base + "/endpoints?per_page=2&page=3")
        if p1 + p2 != rows or p3 != []:
            raise Failure("pages: %r %r %r" % (p1, p2, p3))
        _, byrelay = get(base + "/endpoints?relay=" +
                         urllib.parse.quote(rows[0]["relay"]))
        _, none = get(base + "/endpoints?relay=nosuch")
        if byrelay != rows or none != []:
            raise Failure("relay filter: %r %r" % (byrelay, none))

        # Refusals: JSON errors with the right status; the root lives on.
        for path, code in [("/nosuch", 404), ("", 404),
                           ("/endpoints?state=bogus", 400),
                           ("/endpoints?page=0", 400),
                           ("/endpoints?per_page=1001", 400),
                           ("/endpoints?policy=%2e%00", 400),
                           ("/endpoints?policy=bad%zz", 400),
                           ("/status?policy=" + "x" * 200, 400),
                           ("/rollouts/../x", 404),
                           ("/status?" + "a" * 3000, 414)]:
            got, doc = get(base + path)
            if got != code or "error" not in doc:
                raise Failure("%s: %d %r, want %d" % (path, got, doc, code))
        got, doc = get(base + "/status", method="DELETE")
        if got != 405 or "error" not in doc:
            raise Failure("DELETE: %d %r" % (got, doc))
        if not root.running():
            raise Failure("the root died")
        same(net, base + "/tree", "tree")


def no_ms(doc):
    """A query's answer less its timing, which differs call to call."""
    doc.pop("ms", None)
    return doc


# The order an action's states come in, as the root accepts them.
LIFECYCLE = ["applicable", "downloading", "waiting", "running", "fixed",
             "failed"]


def detail_ok(doc):
    """An endpoint's detail: its history holds the states the root took
    for its policy (a relay forwards only the newest of those it holds),
    in order, ending in the state its row shows; its inventory's fields
    are there."""
    row = doc["policies"][0]
    seen = [x["state"] for x in doc["history"]
            if x["policy_id"] == row["policy_id"]]
    if not seen or seen[-1] != row["state"] or \
            row["state"] not in ("fixed", "failed") or \
            any(x not in LIFECYCLE for x in seen) or \
            [LIFECYCLE.index(x) for x in seen] != \
            sorted(LIFECYCLE.index(x) for x in seen) or \
            len(doc["history"]) > 32:
        raise Failure("history: %r, row %r" % (doc["history"], row))
    inv = doc["inventory"]
    if not inv.get("kernel") or inv.get("mem_bytes", 0) <= 0 or \
            inv.get("packages", 0) <= 0 or "package_list" in inv or \
            not isinstance(inv.get("mounts"), list):
        raise Failure("inventory: %r" % inv)


def test_more_gets_equal_arborctl():
    """endpoints/ID, endpoints?group=, query, compliance, exposure and
    unmanaged answer what arborctl prints with --json."""
    with Net("api-gets2") as net:
        url = "http://127.0.0.1:%d" % free_port()
        root = net.root(enroll_token=TOKEN, api_listen=url)
        base = url + "/api/v1"
        relay = net.relay([root], report_interval="200ms")
        agents = [net.agent([relay], facts_root=fixture(
            net, "debian12-old-openssl", fail=(i == 0)), enroll_token=TOKEN,
            report_delay="20ms", group=g)
            for i, g in enumerate([["web"], ["web", "db"], []])]
        wait_until(lambda: ctl_json(net, "query", "true")["matched"] == 3,
                   30, "every inventory at the root")
        publish_openssl(net, cves=["CVE-2026-1111"], cvss=9.8)
        wait_until(lambda: sum(counts(net, "demo-openssl").values()) == 3,
                   30, "every agent to report")
        net.ctl("baseline", "set", "base", "--target", "all", "--policy",
                "demo-openssl")
        view = api_token(net, "v", "viewer")
        h = bearer(view)
        for e in ctl_json(net, "endpoints"):
            doc = same(net, base + "/endpoints/" + e["endpoint_id"],
                       "endpoint", "show", e["endpoint_id"], headers=h)
            if doc["policies"][0]["policy_id"] != "demo-openssl" or \
                    doc["inventory"]["os"] == "":
                raise Failure("endpoint show: %r" % doc)
            detail_ok(doc)
            pk = same(net, base + "/endpoints/" + e["endpoint_id"] +
                      "?packages=1", "endpoint", "show", e["endpoint_id"],
                      "--packages", headers=h)
            names = [x["name"] for x in pk["inventory"]["package_list"]]
            if "openssl" not in names or len(names) != \
                    pk["inventory"]["packages"]:
                raise Failure("endpoint show --packages: %r" % names)
        text = net.ctl("endpoint", "show", e["endpoint_id"]).stdout
        for word in ("history", "kernel", "demo-openssl", "memory"):
            if word not in text:
                raise Failure("endpoint show: no %s in %r" % (word, text))
        web = same(net, base + "/endpoints?group=web", "endpoints",
                   "--group", "web", headers=h)
        if len(web) != 2:
            raise Failure("group web: %r" % web)
        same(net, base + "/endpoints?group=db&policy=demo-openssl",
             "endpoints", "--group", "db", "--policy", "demo-openssl",
             headers=h)
        if get(base + "/endpoints?group=nosuch", headers=h)[1] != []:
            raise Failure("group nosuch not empty")
        for expr in ['file.exists("/etc/hostname")', 'os.id == "debian"',
                     "true"]:
            code, doc = get(base + "/query?expr=" +
                            urllib.parse.quote(expr), headers=h)
            want = ctl_json(net, "query", expr)
            if code != 200 or no_ms(doc) != no_ms(want):
                raise Failure("query %s: %d %r\n%r" % (expr, code, doc,
                                                        want))
        same(net, base + "/compliance", "compliance", headers=h)
        same(net, base + "/compliance?baseline=base", "compliance", "base",
             headers=h)
        exp = same(net, base + "/exposure", "exposure", headers=h)
        if exp["cves"][0]["cve"] != "CVE-2026-1111":
            raise Failure("exposure: %r" % exp)
        same(net, base + "/exposure?cve=CVE-2026-1111", "exposure",
             "CVE-2026-1111", headers=h)
        same(net, base + "/unmanaged", "unmanaged", headers=h)
        for path, code in [("/endpoints/0123456789abcdef", 404),
                           ("/endpoints/../x", 404),
                           ("/endpoints/" + "a" * 200, 404),
                           ("/query", 400), ("/query?expr=", 400),
                           ("/query?expr=%28%28", 400),
                           ("/query?expr=" + "(" * 1500, 400),
                           ("/compliance?baseline=a%20b", 400),
                           ("/compliance?baseline=nosuch", 404),
                           ("/exposure?cve=" + "C" * 100, 400),
                           ("/endpoints?group=", 400)]:
            got, doc = get(base + path, headers=h)
            if got != code or "error" not in doc:
                raise Failure("%s: %d %r, want %d" % (path, got, doc, code))
        if not root.running():
            raise Failure("the root died")


def test_endpoint_history():
    """An agent straight below the root: each state it reports reaches
    the root, and the endpoint's history holds them in order."""
    with Net("api-history") as net:
        url = "http://127.0.0.1:%d" % free_port()
        root = net.root(enroll_token=TOKEN, api_listen=url)
        net.agent([root], facts_root=fixture(
            net, "debian12-old-openssl"), enroll_token=TOKEN,
            report_delay="20ms")
        wait_until(lambda: ctl_json(net, "query", "true")["matched"] == 1,
                   30, "the inventory at the root")
        # An action that takes a second: its running state is sent first.
        publish_openssl(net, action="sleep 1\n" + INSTALL)
        wait_until(lambda: counts(net, "demo-openssl").get("fixed") == 1,
                   30, "the agent to report fixed")
        eid = ctl_json(net, "endpoints")[0]["endpoint_id"]
        doc = same(net, url + "/api/v1/endpoints/" + eid, "endpoint",
                   "show", eid)
        detail_ok(doc)
        seen = [x["state"] for x in doc["history"]]
        if "running" not in seen or seen[-1] != "fixed":
            raise Failure("history: %r, want running before fixed" % seen)
        print("history: %s" % " -> ".join(seen))
        code, _ = get(url + "/api/v1/endpoints/" + "0" * 32)
        if code != 404:
            raise Failure("unknown id: %d" % code)


def unauthorized(url, headers=None, method="GET", why=None):
    """A 401 with WWW-Authenticate: Bearer and a JSON error."""
    code, doc, h = call(url, method, headers)
    if code != 401 or "error" not in doc or not h.get(
            "WWW-Authenticate", "").startswith("Bearer"):
        raise Failure("%s %s: want 401 with a Bearer challenge: %d %r %r" %
                      (method, url, code, doc, dict(h)))
    if why and why not in doc["error"]:
        raise Failure("%s: error %r, want %r" % (url, doc["error"], why))


def test_tokens_roles_actions():
    """No token: loopback GETs only.  With tokens: 401 without or with a
    bad or revoked one, 403 for a viewer's POST or audit, 200 for the
    right role; a push through the API lands at the agents; every action
    is in the audit trail with the token's name."""
    with Net("api-tokens") as net:
        root, relay, agents = tree(net, 2)
        base = root.api
        # No token yet: GETs on loopback, no actions.
        if get(base + "/status")[0] != 200:
            raise Failure("no tokens: GET refused")
        unauthorized(base + "/policies/demo-openssl/push", method="POST",
                     why="operator")
        unauthorized(base + "/audit", why="operator")

        view = api_token(net, "dash", "viewer")
        ops = api_token(net, "ops-ci", "operator")
        p = net.ctl("api-token", "create", "--role", "viewer", "--name",
                    "dash", check=False)
        if p.returncode == 0 or "exists" not in p.stderr:
            raise Failure("a second token named dash: %r" % p.stderr)
        p = net.ctl("api-token", "create", "--role", "root", "--name",
                    "x", check=False)
        if p.returncode != 2:
            raise Failure("role root taken: %r" % p.stderr)

        # Every request needs a token now.
        unauthorized(base + "/status", why="needs a token")
        for h in ["Bearer", "Bearer ", "Basic " + ops[4:], "bearer",
                  "Bearer " + ops[:-1], "Bearer " + ops + "0",
                  "Bearer " + ops.upper(), "Bearer arb_" + "0" * 64,
                  "Bearer " + ops.replace("arb_", "arb-"),
                  "Bearer " + ops + " x"]:
            unauthorized(base + "/status", {"Authorization": h})
        # nng drops a connection whose header holds a tab or 8-bit bytes.
        for h in ["Bearer\t" + ops, "Bearer " + "\u00e9" * 68]:
            try:
                unauthorized(base + "/status", {"Authorization": h})
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                pass
        same(net, base + "/status", "status", headers=bearer(view))
        same(net, base + "/tree", "tree", headers=bearer(ops))
        # Case of the scheme and spaces around the token do not matter.
        if get(base + "/tree", headers={"Authorization": "bearer  " +
                                        view + " "})[0] != 200:
            raise Failure("bearer in lower case refused")

        publish_openssl(net)
        wait_until(lambda: sum(counts(net, "demo-openssl").values()) == 2,
                   30, "every agent to report")
        code, doc = get(base + "/policies/demo-openssl/push", "POST",
                        bearer(view))
        if code != 403 or "operator" not in doc.get("error", ""):
            raise Failure("viewer push: %d %r" % (code, doc))
        code, doc = get(base + "/audit", headers=bearer(view))
        if code != 403:
            raise Failure("viewer audit: %d %r" % (code, doc))

        # The operator's push: the head marks it urgent, the agents act.
        seq = net.head_seq()
        code, doc = get(base + "/policies/demo-openssl/push", "POST",
                        bearer(ops))
        if code != 200 or not doc.get("ok") or doc["seq"] <= seq or \
                doc["policy"] != "demo-openssl" or doc["action"] != "push":
            raise Failure("push: %d %r" % (code, doc))
        cat = ctl_json(net, "catalog")
        if not [p for p in cat["policies"] if p["id"] == "demo-openssl" and
                p["urgent"]]:
            raise Failure("push: not urgent in the catalog: %r" % cat)
        wait_until(lambda: all(a.has_log(r"head seq %d:" % doc["seq"])
                               for a in agents), 20,
                   "every agent to hear the pushed head")
        if counts(net, "demo-openssl").get("fixed", 0) + \
                counts(net, "demo-openssl").get("failed", 0) != 2:
            raise Failure("agents' reports: %r" %
                          counts(net, "demo-openssl"))
        # Refused actions: no such policy, action, id; a body too large.
        for path, code in [("/policies/nosuch/push", 404),
                           ("/policies/demo-openssl/explode", 404),
                           ("/policies/../push", 404),
                           ("/policies/" + "x" * 300 + "/push", 404),
                           ("/policies/a%00b/push", 404),
                           ("/rollouts/nosuch/pause", 404),
                           ("/rollouts/demo-openssl/stop", 404),
                           ("/status", 404)]:
            got, d = get(base + path, "POST", bearer(ops))
            if got != code or "error" not in d:
                raise Failure("POST %s: %d %r, want %d" % (path, got, d,
                                                           code))
        got, d = get(base + "/policies/demo-openssl/push", "POST",
                     bearer(ops), data=b"x" * 5000)
        if got != 413:
            raise Failure("a 5000-byte body: %d %r" % (got, d))
        if get(base + "/policies/demo-openssl/push")[0] != 401:
            raise Failure("GET of an action without a token answered")
        if get(base + "/policies/demo-openssl/push",
               headers=bearer(ops))[0] != 404:
            raise Failure("GET of an action answered")

        # The audit trail: the operator's actions, newest first, named.
        audit = same(net, base + "/audit", "audit", headers=bearer(ops))
        pushes = [a for a in audit if a["action"] == "push" and
                  a["target"] == "demo-openssl" and a["status"] == 200]
        if len(pushes) != 1 or pushes[0]["token"] != "ops-ci" or \
                pushes[0]["role"] != "operator":
            raise Failure("audit: %r" % audit)
        if not [a for a in audit if a["target"] == "nosuch" and
                a["status"] == 404 and a["token"] == "ops-ci"]:
            raise Failure("audit: the refused push is missing: %r" % audit)
        made = [a["target"] for a in audit if a["action"] ==
                "api-token create" and a["status"] == 200]
        if sorted(made) != ["dash", "ops-ci"]:
            raise Failure("audit: token creation: %r" % audit)
        if audit != sorted(audit, key=lambda a: -a["time_ms"]):
            raise Failure("audit not newest first: %r" % audit)
        if not root.has_log(r"audit: ops-ci \(operator\): push "
                            r"demo-openssl: 200"):
            raise Failure("no log line for the push")

        # The list: names, roles, last use; never a hash or the token.
        out = net.ctl("api-token", "list", "--json").stdout
        if ops[4:] in out or view[4:] in out:
            raise Failure("api-token list shows a token")
        toks = {t["name"]: t for t in json.loads(out)}
        if toks["dash"]["role"] != "viewer" or toks["ops-ci"]["role"] != \
                "operator" or toks["ops-ci"]["last_used"] <= 0:
            raise Failure("api-token list: %r" % toks)
        if "dash" not in net.ctl("api-token", "list").stdout:
            raise Failure("api-token list (text)")

        # Revoked: refused at once, and the name may be taken again.
        net.ctl("api-token", "revoke", "dash")
        unauthorized(base + "/status", bearer(view), why="revoked")
        if json.loads(net.ctl("api-token", "list", "--json").stdout)[0][
                "state"] != "revoked":
            raise Failure("revoked token not listed as revoked")
        p = net.ctl("api-token", "revoke", "nosuch", check=False)
        if p.returncode == 0:
            raise Failure("revoke of no token succeeded")
        view2 = api_token(net, "dash", "viewer")
        if get(base + "/status", headers=bearer(view2))[0] != 200:
            raise Failure("the new dash token refused")
        unauthorized(base + "/status", bearer(view))
        # After a restart the tokens hold.
        root.restart()
        wait_until(lambda: get_or_none(base + "/tree", bearer(ops)) == 200,
                   10, "the API after a restart")
        unauthorized(base + "/tree", bearer(view))
        if not root.running():
            raise Failure("the root died")


def get_or_none(url, headers):
    try:
        return get(url, headers=headers)[0]
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return None


def test_pause_via_api():
    """POST rollouts/ID/pause: arborctl rollout status shows it paused,
    and resume takes it back; both in the audit trail."""
    with Net("api-pause") as net:
        root, relay, agents = tree(net, 2)
        ops = api_token(net, "ops", "operator")
        base = root.api
        net.publish("staged", 1, {}, applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ok"',
                    rollout={"waves": [
                        {"name": "pilot", "share": 50, "soak": "1h"},
                        {"name": "all", "share": 100}]})

        def state():
            for ro in ctl_json(net, "rollout", "status"):
                if ro.get("id", ro.get("policy")) == "staged":
                    return ro["state"]
            return None
        wait_until(lambda: state() is not None, 10, "the rollout")
        code, doc = get(base + "/rollouts/staged/pause", "POST",
                        bearer(ops))
        if code != 200 or not isinstance(doc, list):
            raise Failure("pause: %d %r" % (code, doc))
        if state() != "paused":
            raise Failure("after pause: %r" % ctl_json(net, "rollout",
                                                       "status"))
        same(net, base + "/rollouts", "rollout", "status",
             headers=bearer(ops))
        code, doc = get(base + "/rollouts/staged/resume", "POST",
                        bearer(ops))
        if code != 200 or state() == "paused":
            raise Failure("resume: %d %r %r" % (code, doc, state()))
        acts = [(a["action"], a["target"], a["token"]) for a in
                ctl_json(net, "audit")]
        if acts[:2] != [("resume", "staged", "ops"),
                        ("pause", "staged", "ops")]:
            raise Failure("audit: %r" % acts)


def local_who():
    """Who an arborctl run as this test's user is in the audit trail."""
    try:
        return "uid %d (%s)" % (os.getuid(), pwd.getpwuid(os.getuid())[0])
    except KeyError:
        return "uid %d" % os.getuid()


def test_arborctl_audit():
    """arborctl's actions on the control socket are in the audit trail,
    each once, under the uid the test runs as (role local), with their
    target and status, refusals too; reads and a blob's chunks are not;
    an action through the API is recorded once, under its token; an
    enrolment token is named by its id, never by its secret."""
    with Net("api-audit") as net:
        url = "http://127.0.0.1:%d" % free_port()
        root = net.root(api_listen=url)
        who = local_who()
        net.publish("audited", 1, {"payload.bin": os.urandom(300000)})
        p = net.ctl("publish", os.path.join(net.dir, "policies",
                                            "audited-1", "policy.json"),
                    check=False)
        if p.returncode != 1 or "not newer" not in p.stderr:
            raise Failure("publish of v1 again: %r" % p.stderr)
        net.ctl("push", "audited")
        if net.ctl("push", "nosuch", check=False).returncode != 1:
            raise Failure("push of no policy succeeded")
        net.publish("staged", 1, {}, rollout={"waves": [
            {"name": "pilot", "share": 50, "soak": "1h"},
            {"name": "all", "share": 100}]})
        wait_until(lambda: [r for r in ctl_json(net, "rollout", "status")
                            if r.get("id", r.get("policy")) == "staged"],
                   10, "the rollout")
        net.ctl("rollout", "pause", "staged")
        out = os.path.join(net.dir, "enrol.token")
        tid = net.ctl("token", "create", "--group", "lab", "--out",
                      out).stdout.strip()
        with open(out) as f:
            secret = f.read().strip()
        net.ctl("endpoint", "lock", "--group", "lab", "--reason", "audit")
        ops = api_token(net, "ops", "operator")
        code, doc = get(url + "/api/v1/policies/audited/retire", "POST",
                        bearer(ops))
        if code != 200:
            raise Failure("retire through the API: %d %r" % (code, doc))
        # Reads leave nothing.
        for args in (["catalog"], ["status"], ["token", "list"],
                     ["rollout", "status"], ["audit"]):
            net.ctl(*args)
        # What does not decode (garbage, an id of 300 bytes, a publish
        # that names no policy) is refused and not recorded; a rollout
        # operation that is none decodes, is refused, and is recorded
        # under a word that says so.
        control = "ipc://%s/control.sock" % root.dir
        rc, out = net.forge_cmd("send", control, "--garbage", 5000)
        if rc != 0 or not out.startswith("error "):
            raise Failure("garbage to the control socket: %d %s" % (rc, out))
        for name, body in (("long-push", b"\x92\x02\xaf\x02\x0a\xac\x02" +
                            b"x" * 300), ("no-policy", b"\x82\x02\x00"),
                           ("rollout-op", b"\xc2\x0c\x12\x0a\x06staged"
                            b"\x12\x08Stop Now")):
            path = os.path.join(net.dir, name)
            with open(path, "wb") as f:
                f.write(b"\x08\x01" + body)     # version 1, then the body
            rc, out = net.forge_cmd("send", control, "--file", path)
            if rc != 0 or not out.startswith("error "):
                raise Failure("%s to the control socket: %d %s" %
                              (name, rc, out))

        text = net.ctl("audit", "--json").stdout
        audit = json.loads(text)
        got = sorted((a["action"], a["target"], a["status"], a["token"],
                      a["role"]) for a in audit)

        def mine(act, tgt, st):
            return (act, tgt, st, who, "local")
        want = sorted([mine("publish", "audited", 200),
                       mine("publish", "audited", 400),
                       mine("push", "audited", 200),
                       mine("push", "nosuch", 404),
                       mine("publish", "staged", 200),
                       mine("rollout pause", "staged", 200),
                       mine("token create", tid, 200),
                       mine("endpoint lock", "group:lab", 200),
                       mine("api-token create", "ops", 200),
                       mine("rollout ?", "staged", 400),
                       ("retire", "audited", 200, "ops", "operator")])
        if got != want:
            raise Failure("audit:\n%s\nwant:\n%s" % (
                "\n".join(map(repr, got)), "\n".join(map(repr, want))))
        detail = {(a["action"], a["status"]): a["detail"] for a in audit}
        if detail[("publish", 400)].find("not newer") < 0 or \
                detail[("push", 404)].find("no current policy") < 0 or \
                detail[("api-token create", 200)] != "role operator" or \
                detail[("token create", 200)] != "groups lab" or \
                detail[("endpoint lock", 200)] != "audit":
            raise Failure("audit details: %r" % detail)
        if not [a for a in audit if a["action"] == "publish" and
                a["target"] == "audited" and a["detail"] == "v1: published"]:
            raise Failure("the publish's detail: %r" % audit)
        # The secret, its hash and the API token are nowhere in it.
        table = net.ctl("audit").stdout
        for s in (secret, secret[6:], sha256_hex(secret.encode()), ops,
                  ops[4:]):
            if s in text or s in table:
                raise Failure("the audit trail shows a secret: %r" % s)
        if who not in table or not root.has_log(
                r"audit: %s \(local\): push nosuch: 404" % re.escape(who)):
            raise Failure("arborctl audit or the log lacks who: %s" % table)


def test_https():
    """api_listen https:// with the root's certificate, tokens over TLS;
    plain http:// to it gets nothing; plain http:// off loopback is
    refused at start, allow_plain or not."""
    with Net("api-https") as net:
        port = free_port()
        url = "https://127.0.0.1:%d/api/v1" % port
        root = net.root(tls=True, enroll_token=TOKEN,
                        api_listen="https://127.0.0.1:%d" % port)
        ctx = ssl.create_default_context(
            cafile=os.path.join(net.ca(), "ca.crt"))
        ctx.check_hostname = False     # the certificate names root.arbor
        ops = api_token(net, "ops", "operator")
        code, doc, _ = call(url + "/tree", headers=bearer(ops), ctx=ctx)
        if code != 200 or doc != ctl_json(net, "tree"):
            raise Failure("https tree: %d %r" % (code, doc))
        code, doc, h = call(url + "/tree", ctx=ctx)
        if code != 401 or "Bearer" not in h.get("WWW-Authenticate", ""):
            raise Failure("https without a token: %d %r" % (code, doc))
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/api/v1/tree" % port,
                                   timeout=5 * SCALE).read()
            raise Failure("plain http:// answered on the https:// port")
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            if isinstance(e, Failure):
                raise
        if not root.running():
            raise Failure("the root died")


def test_hostile_http():
    """Huge headers, a huge token, garbage request lines, many requests
    with bad tokens: refused, and the root serves the next request."""
    with Net("api-hostile") as net:
        url = "http://127.0.0.1:%d" % free_port()
        root = net.root(enroll_token=TOKEN, api_listen=url)
        ops = api_token(net, "ops", "operator")
        host, port = url[7:].split(":")
        for raw in [b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n"
                    b"Authorization: Bearer " + b"a" * 100000 + b"\r\n\r\n",
                    b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n" +
                    b"X-Junk: y\r\n" * 5000 + b"\r\n",
                    b"POST /api/v1/policies/x/push HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 99999999999\r\n\r\n",
                    b"\x00\xff\r\n\r\n",
                    b"GET /api/v1/status HTTP/1.1\r\nAuthorization: Bearer "
                    b"arb_\x00" + b"0" * 63 + b"\r\n\r\n"]:
            with socket.create_connection((host, int(port)),
                                          timeout=5 * SCALE) as s:
                try:
                    s.sendall(raw)
                    s.recv(4096)
                except OSError:
                    pass
        for i in range(50):
            code, _ = get(url + "/api/v1/status",
                          headers={"Authorization": "Bearer arb_%064x" % i})
            if code != 401:
                raise Failure("a guessed token: %d" % code)
        same(net, url + "/api/v1/tree", "tree", headers=bearer(ops))
        if not root.running():
            raise Failure("the root died")


def test_loopback_only():
    """Plain http:// off loopback is refused (even with allow_plain: the
    tokens would cross the network in clear), named; on loopback it is
    taken."""
    with Net("api-conf") as net:
        port = free_port()
        base = [BIN["root"], "-n", "--data_dir", os.path.join(net.dir, "r"),
                "--key", net.key, "--svc", "tcp://127.0.0.1:%d" % port,
                "--pub", "tcp://127.0.0.1:%d" % (port + 1)]
        for url, rc in (("http://192.0.2.1:9102", 1),
                        ("http://0.0.0.0:9102", 1),
                        ("http://127.0.0.1:9102", 0)):
            p = subprocess.run(base + ["--api_listen", url, "--allow_plain",
                                       "yes"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            if p.returncode != rc or (rc and "loopback only" not in
                                      p.stdout):
                raise Failure("api_listen %s: rc %d: %s" %
                              (url, p.returncode, p.stdout))


if __name__ == "__main__":
    run([test_gets_equal_arborctl, test_more_gets_equal_arborctl,
         test_endpoint_history,
         test_tokens_roles_actions,
         test_pause_via_api, test_arborctl_audit, test_https,
         test_hostile_http,
         test_loopback_only])
