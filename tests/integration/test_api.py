"""The root's HTTP JSON API: a real tree (root, relay, agents); every GET
under /api/v1/ answers the document arborctl ... --json prints for the
same question; paging and filters of /endpoints; refusals (unknown
paths, methods, bad parameters, long request lines) as JSON errors."""

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from arbortest import BIN, Net, run, wait_until, Failure, SCALE, free_port
from test_reports import TOKEN, counts, fixture, publish_openssl, status


def get(url, method="GET", headers=None):
    """(status, parsed JSON body) of a request to url."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10 * SCALE) as r:
            if not r.headers.get("Content-Type", "").startswith(
                    "application/json"):
                raise Failure("%s: Content-Type %r" %
                              (url, r.headers.get("Content-Type")))
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        try:
            return e.code, json.loads(body)
        except ValueError:
            raise Failure("%s: %d, not JSON: %r" % (url, e.code, body))


def ctl_json(net, *args):
    return json.loads(net.ctl(*args, "--json").stdout)


def same(net, url, *args):
    """GET url must equal arborctl ARGS --json."""
    code, doc = get(url)
    want = ctl_json(net, *args)
    if code != 200 or doc != want:
        raise Failure("%s (%d): %r\narborctl %s --json: %r" %
                      (url, code, doc, " ".join(args), want))
    return doc


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


def test_loopback_only():
    """The API takes no tokens yet: an api_listen off loopback is refused
    (even with allow_plain), named; one on loopback is taken."""
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
    run([test_gets_equal_arborctl, test_loopback_only])
