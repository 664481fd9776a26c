"""Prometheus metrics: a real tree (root, relay, agents) scraped over real
HTTP on /metrics, each scrape and each agent's textfile checked by
promtool (Debian's prometheus package), and the values checked against
what happened: reports accepted equal arborctl status's, bytes served and
fetched equal the blob's size, refused reports counted by reason.  Also:
https:// with the node's certificate, the address rules, and hostile HTTP
that must not hurt the daemon."""

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from arbortest import Net, run, wait_until, Failure, BIN, SCALE, free_port, \
    http_request
from test_reports import TOKEN, fixture, publish_openssl, status

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
BLOB = 300000          # publish_openssl's payload.bin
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def promtool(text, what):
    """promtool check metrics must find nothing wrong with text."""
    if not os.path.exists(PROMTOOL):
        raise Failure("promtool not found: install Debian's prometheus "
                      "package (tests/run.sh does)")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30 * SCALE)
    if p.returncode != 0 or p.stdout.strip():
        raise Failure("promtool check metrics on %s (%d): %s" %
                      (what, p.returncode, p.stdout))


def parse(text):
    """{(name, ((label, value), ...)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Failure("not a sample line: %r" % line)
        labels = tuple(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(url, ctx=None):
    """GET url: the parsed samples, after promtool and the content type."""
    code, hdrs, body = http_request(url, ctx=ctx)
    if code != 200:
        raise Failure("%s: %d %r" % (url, code, body[:200]))
    ctype = hdrs.get("Content-Type", "")
    text = body.decode()
    if not ctype.startswith("text/plain; version=0.0.4"):
        raise Failure("%s: Content-Type %r" % (url, ctype))
    promtool(text, url)
    return parse(text)


def val(samples, name, **labels):
    key = (name, tuple(labels.items()))
    if key not in samples:
        raise Failure("no sample %s%r" % (name, labels))
    return samples[key]


def build_info(samples):
    """The one arbor_build_info sample: 1, with a version label."""
    v = [(k, x) for k, x in samples.items() if k[0] == "arbor_build_info"]
    if len(v) != 1 or v[0][1] != 1 or v[0][0][1][0][0] != "version" or \
            not v[0][0][1][0][1]:
        raise Failure("arbor_build_info: %r" % v)


def metrics_url():
    return "http://127.0.0.1:%d" % free_port()


def read_prom(path):
    """An agent's textfile, after promtool."""
    with open(path) as f:
        text = f.read()
    promtool(text, path)
    return parse(text)


def test_tree_metrics():
    """Publish a policy that two agents need (one fails) and one does not;
    the counters of root, relay and agents say what happened."""
    with Net("metrics-tree") as net:
        rurl, lurl = metrics_url(), metrics_url()
        root = net.root(enroll_token=TOKEN, metrics_listen=rurl)
        relay = net.relay([root], report_interval="300ms",
                          metrics_listen=lurl)
        prom = os.path.join(net.dir, "textfile")
        os.makedirs(prom)
        kinds = [("debian12-old-openssl", False),
                 ("debian12-old-openssl", True),
                 ("debian12-patched", False)]
        agents = []
        for i, (k, fail) in enumerate(kinds):
            agents.append(net.agent(
                [relay], facts_root=fixture(net, k, fail=fail),
                enroll_token=TOKEN, report_delay="20ms",
                metrics_file=os.path.join(prom, "agent%d.prom" % i),
                metrics_interval="200ms"))
        wait_until(lambda: status(net)["endpoints"] == 3, 20,
                   "every agent to enrol")
        before = val(scrape(rurl + "/metrics"), "arbor_reports_accepted_total")

        publish_openssl(net)
        want = {"fixed": 1, "failed": 1, "not-applicable": 1}

        def counts():
            for p in status(net, "demo-openssl")["policies"]:
                if p["id"] == "demo-openssl":
                    return {k: v for k, v in p["counts"].items() if v}
            return {}
        wait_until(lambda: counts() == want, 40, "the counts %r" % want)
        # The relay's spool empties once the root took every report.
        wait_until(lambda: val(scrape(lurl + "/metrics"),
                               "arbor_spool_reports") == 0, 20,
                   "the relay's spool to empty")

        st = status(net)
        r = scrape(rurl + "/metrics")
        if val(r, "arbor_reports_accepted_total") != st["accepted"]:
            raise Failure("accepted: metrics %r, status %r" %
                          (val(r, "arbor_reports_accepted_total"),
                           st["accepted"]))
        if not val(r, "arbor_reports_accepted_total") > before:
            raise Failure("accepted did not move from %r" % before)
        if val(r, "arbor_report_batches_total") != st["batches"] or \
                val(r, "arbor_reports_received_total") != st["reports"]:
            raise Failure("batches/reports differ from status %r" % st)
        for state, n in (("fixed", 1), ("failed", 1), ("not-applicable", 1),
                         ("running", 0)):
            got = val(r, "arbor_policy_endpoints", policy="demo-openssl",
                      state=state)
            if got != n:
                raise Failure("root: %s endpoints %r, wanted %d" %
                              (state, got, n))
        if val(r, "arbor_endpoints") != 3 or val(r, "arbor_children") != 1:
            raise Failure("root: endpoints %r children %r" %
                          (val(r, "arbor_endpoints"),
                           val(r, "arbor_children")))
        seq = net.head_seq()
        if val(r, "arbor_head_seq") != seq:
            raise Failure("root head seq %r, catalog %r" %
                          (val(r, "arbor_head_seq"), seq))
        if val(r, "arbor_served_bytes_total") < BLOB:
            raise Failure("root served %r bytes" %
                          val(r, "arbor_served_bytes_total"))
        build_info(r)
        for reason in ("malformed", "not_enrolled", "bad_signature",
                       "stale", "unverified", "revoked"):
            val(r, "arbor_reports_rejected_total", reason=reason)
        for reason in ("token_unknown", "token_expired", "token_used_up",
                       "token_revoked", "endpoint_revoked", "invalid"):
            val(r, "arbor_enrolments_refused_total", reason=reason)
        # No endpoint id anywhere in a label.
        for a in agents:
            eid = re.search(r"agent: \S+ \(([0-9a-f]+)\) started", a.text())
            if eid and any(eid.group(1) in v for k in r for _, v in k[1]):
                raise Failure("an endpoint id in a label")

        l = scrape(lurl + "/metrics")
        if val(l, "arbor_fetched_bytes_total") != BLOB or \
                val(l, "arbor_upstream_fetches_total") < 1:
            raise Failure("relay fetched %r bytes in %r fetches" %
                          (val(l, "arbor_fetched_bytes_total"),
                           val(l, "arbor_upstream_fetches_total")))
        if val(l, "arbor_served_bytes_total") < 2 * BLOB:
            raise Failure("relay served %r bytes to two agents" %
                          val(l, "arbor_served_bytes_total"))
        if val(l, "arbor_cache_bytes") != BLOB or \
                val(l, "arbor_cache_blobs") != 1:
            raise Failure("relay cache %r bytes, %r blobs" %
                          (val(l, "arbor_cache_bytes"),
                           val(l, "arbor_cache_blobs")))
        if val(l, "arbor_cache_misses_total") < 1 or \
                val(l, "arbor_cache_hits_total") < 1:
            raise Failure("relay cache hits %r misses %r" %
                          (val(l, "arbor_cache_hits_total"),
                           val(l, "arbor_cache_misses_total")))
        if val(l, "arbor_children") != 3:
            raise Failure("relay children %r" % val(l, "arbor_children"))
        # The tree at the root says what the relay served and fetched,
        # and, once it is idle, that it serves nothing now.
        def tree_entry():
            t = json.loads(net.ctl("tree", "--json").stdout)["relays"]
            return [(r["served_bytes"], r["fetched_bytes"],
                     r["served_bytes_per_s"]) for r in t
                    if r["node_id"] == relay.name]
        wait_until(lambda: tree_entry() == [
            (val(l, "arbor_served_bytes_total"), BLOB, 0)], 20,
            "arborctl tree --json to say the relay's bytes: %r" %
            (val(l, "arbor_served_bytes_total"),))
        for kind in ("chunk", "reports", "head", "enrol"):
            if val(l, "arbor_requests_total", kind=kind) < 1:
                raise Failure("relay: no %s request counted" % kind)
        if val(l, "arbor_batches_up_total") < 1 or \
                val(l, "arbor_reports_up_total") < 3 or \
                val(l, "arbor_reports_in_total") < 3:
            raise Failure("relay: batches up %r, reports up %r, in %r" %
                          (val(l, "arbor_batches_up_total"),
                           val(l, "arbor_reports_up_total"),
                           val(l, "arbor_reports_in_total")))
        if val(l, "arbor_head_seq") != seq:
            raise Failure("relay head seq %r, root %r" %
                          (val(l, "arbor_head_seq"), seq))
        if val(l, "arbor_parent_head_seq") != seq or \
                val(l, "arbor_head_lag_seq") != 0:
            raise Failure("relay: parent head seq %r, lag %r; root %r" %
                          (val(l, "arbor_parent_head_seq"),
                           val(l, "arbor_head_lag_seq"), seq))
        # Every byte the relay holds came from the root (a chunk asked
        # again after a timeout is served twice, fetched once).
        if val(r, "arbor_served_bytes_total") < \
                val(l, "arbor_fetched_bytes_total"):
            raise Failure("root served %r, relay fetched %r" %
                          (val(r, "arbor_served_bytes_total"),
                           val(l, "arbor_fetched_bytes_total")))

        # The agents' textfiles, rewritten every 200 ms.
        def agent_file(i, pred):
            path = os.path.join(prom, "agent%d.prom" % i)
            return wait_until(lambda: os.path.exists(path) and
                              pred(read_prom(path)) and read_prom(path),
                              20, "agent%d's metrics file" % i)
        now = time.time()
        a0 = agent_file(0, lambda s: val(s, "arbor_agent_policies",
                                         state="fixed") == 1)
        if val(a0, "arbor_agent_download_bytes_total") != BLOB or \
                val(a0, "arbor_agent_action_failures_total") != 0:
            raise Failure("agent0: %r" % a0)
        last = val(a0, "arbor_agent_last_report_timestamp_seconds")
        if not now - 60 < last < now + 60:
            raise Failure("agent0: last report at %r, now %r" % (last, now))
        a1 = agent_file(1, lambda s: val(s, "arbor_agent_policies",
                                         state="failed") == 1)
        if val(a1, "arbor_agent_action_failures_total") != 1:
            raise Failure("agent1: %r" % a1)
        a2 = agent_file(2, lambda s: val(s, "arbor_agent_policies",
                                         state="not-applicable") == 1)
        if val(a2, "arbor_agent_download_bytes_total") != 0:
            raise Failure("agent2 downloaded: %r" % a2)
        build_info(a2)
        # Written by rename: only the .prom files are there.
        names = sorted(os.listdir(prom))
        if names != ["agent0.prom", "agent1.prom", "agent2.prom"]:
            raise Failure("textfile directory: %r" % names)


def test_rejected_by_reason():
    """Reports the root refuses are counted by reason: a hostile endpoint's
    reports with states that do not exist are malformed."""
    with Net("metrics-reject") as net:
        url = metrics_url()
        root = net.root(enroll_token=TOKEN, metrics_listen=url)
        rc, out = net.forge_cmd("endpoint", root.svc, TOKEN,
                                "20", "1", "31", "6", "13")
        if rc != 0:
            raise Failure("forge endpoint: rc %d: %s" % (rc, out))
        r = scrape(url + "/metrics")
        st = status(net)
        if val(r, "arbor_reports_rejected_total", reason="malformed") != 3:
            raise Failure("malformed: %r" % r)
        if sum(v for k, v in r.items()
               if k[0] == "arbor_reports_rejected_total") != st["rejected"]:
            raise Failure("rejected by reason do not add up to %r" %
                          st["rejected"])
        if val(r, "arbor_reports_accepted_total") != st["accepted"] or \
                st["accepted"] != 2:
            raise Failure("accepted %r, status %r" %
                          (val(r, "arbor_reports_accepted_total"), st))
        if val(r, "arbor_policy_endpoints", policy="forged",
               state="fixed") != 1:
            raise Failure("forged fixed: %r" % r)


def test_https():
    """https:// serves with the root's certificate; a plain request to it
    gets nothing, and is counted as a refused handshake, as is a plain
    connection to the root's tls+tcp:// service."""
    with Net("metrics-https") as net:
        port = free_port()
        root = net.root(tls=True, enroll_token=TOKEN,
                        metrics_listen="https://127.0.0.1:%d" % port)
        ctx = ssl.create_default_context(
            cafile=os.path.join(net.ca(), "ca.crt"))
        ctx.check_hostname = False     # the certificate names root.arbor
        r = scrape("https://127.0.0.1:%d/metrics" % port, ctx)
        val(r, "arbor_head_seq")
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                   timeout=5 * SCALE).read()
            raise Failure("plain http:// answered on the https:// port")
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            if isinstance(e, Failure):
                raise
        def refused():
            return val(scrape("https://127.0.0.1:%d/metrics" % port, ctx),
                       "arbor_tls_handshakes_refused_total")
        # The client may see its failure before the root counts it.
        wait_until(lambda: refused() >= 1, 20,
                   "the plain request counted as refused")
        before = refused()
        host, svc_port = root.svc.rsplit("/", 1)[1].split(":")
        with socket.create_connection((host, int(svc_port)),
                                      timeout=5 * SCALE) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\0" * 512)
            try:
                s.recv(64)
            except OSError:
                pass
        wait_until(lambda: refused() > before, 20,
                   "the plain connection to tls+tcp:// counted")
        if not root.running():
            raise Failure("root died")


def check_conf(kind, conf, extra):
    """Run the daemon with -n and conf plus extra; (rc, output)."""
    args = [BIN[kind], "-n"]
    for k, v in list(conf.items()) + list(extra.items()):
        args += ["--" + k, v]
    p = subprocess.run(args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       timeout=30 * SCALE)
    return p.returncode, p.stdout


def test_address_rules():
    """Plain http:// only on loopback unless allow_plain; https:// needs
    the node's certificate; an address is http(s)://HOST:PORT."""
    with Net("metrics-conf") as net:
        root = {"data_dir": os.path.join(net.dir, "r"), "key": net.key,
                "svc": "tcp://127.0.0.1:1", "pub": "tcp://127.0.0.1:2"}
        relay = {"data_dir": os.path.join(net.dir, "l"),
                 "pubkey": net.pubkey, "svc": "tcp://127.0.0.1:3",
                 "pub": "tcp://127.0.0.1:4",
                 "parent": "tcp://127.0.0.1:1 tcp://127.0.0.1:2"}
        cases = [
            ({"metrics_listen": "http://10.1.2.3:9101"},
             "plain http:// off loopback"),
            ({"metrics_listen": "http://0.0.0.0:9101"},
             "plain http:// off loopback"),
            ({"metrics_listen": "https://127.0.0.1:9101"},
             "https:// needs tls_cert and tls_key"),
            ({"metrics_listen": "http://127.0.0.1:9101/metrics"},
             "HOST:PORT and no path"),
            ({"metrics_listen": "ftp://127.0.0.1:9101"},
             "not http://HOST:PORT"),
        ]
        for kind, conf in (("root", root), ("relay", relay)):
            for extra, msg in cases:
                rc, out = check_conf(kind, conf, extra)
                if rc == 0 or "metrics_listen" not in out or msg not in out:
                    raise Failure("%s %r: rc %d: %s" % (kind, extra, rc, out))
            for extra in ({"metrics_listen": "http://127.0.0.1:9101"},
                          {"metrics_listen": "http://[::1]:9101"},
                          {"metrics_listen": "http://10.1.2.3:9101",
                           "allow_plain": "yes"}):
                rc, out = check_conf(kind, conf, extra)
                if rc != 0:
                    raise Failure("%s %r refused: %s" % (kind, extra, out))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def send_raw(port, data, read=True):
    """Send data on a fresh connection; what comes back (b"" if closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * SCALE)
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            return b""          # the server closed on us: fine
        if read:
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    got += b
                    if b"\r\n\r\n" in got and len(got) > 12:
                        break
            except OSError:
                pass
    finally:
        s.close()
    return got


def test_hostile_http():
    """Malformed, oversized and idle HTTP requests are refused or dropped;
    the daemon's memory stays bounded and it goes on serving metrics."""
    with Net("metrics-hostile") as net:
        port = free_port()
        url = "http://127.0.0.1:%d" % port
        root = net.root(enroll_token=TOKEN, metrics_listen=url)
        scrape(url + "/metrics")
        rss0 = rss_kib(root.proc.pid)

        def status_of(resp):
            m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
            return int(m.group(1)) if m else None
        cases = [
            (b"\x00\xff\xfe garbage\r\n\r\n", (None, 400)),
            (b"GET /metrics HTTP/1.1\r\n\r\n", (400,)),        # no Host
            (b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", (505,)),
            (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", (404,)),
            (b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 2\r\n\r\nab", (405,)),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 100000000\r\n\r\n", (400,)),
            (b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: -1\r\n\r\n", (400,)),
            (b"GET /" + b"a" * 2000000 + b" HTTP/1.1\r\n\r\n", (None, 400)),
        ]
        for data, ok in cases:
            got = status_of(send_raw(port, data))
            if got not in ok:
                raise Failure("%r...: status %r, wanted one of %r" %
                              (data[:40], got, ok))
        # Headers without end: the connection is dropped, nothing kept.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        sent, dropped = 0, False
        try:
            while sent < 50 * 1024 * 1024:
                s.sendall(b"X-%d: %s\r\n" % (sent, b"v" * 100))
                sent += 110
        except OSError:
            dropped = True
        s.close()
        if not dropped:
            raise Failure("50 MiB of headers taken")
        # Idle and half-sent connections, then a real scrape.
        idle = []
        for i in range(200):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                c.sendall(b"GET /metrics HTTP/1.1\r\nHo")
            idle.append(c)
        r = scrape(url + "/metrics")
        val(r, "arbor_head_seq")
        for c in idle:
            c.close()
        # Many requests at once on one connection each, all answered.
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
                 for _ in range(100)]
        for c in socks:
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
        answered = 0
        for c in socks:
            got = b""
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    got += b
            except OSError:
                pass
            c.close()
            if status_of(got) in (200, 503):
                answered += 1
        if answered != len(socks):
            raise Failure("%d of %d requests answered" %
                          (answered, len(socks)))
        grown = rss_kib(root.proc.pid) - rss0
        if grown > 64 * 1024:
            raise Failure("root grew by %d KiB" % grown)
        scrape(url + "/metrics")
        if not root.running():
            raise Failure("root died")
        # It stops at once with connections open, one mid-request.
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10)
                for _ in range(20)]
        idle[0].sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        rc = root.stop()
        for c in idle:
            c.close()
        if rc != 0 or time.monotonic() - t0 > 10 * SCALE:
            raise Failure("root stopped with %r after %.1f s" %
                          (rc, time.monotonic() - t0))


if __name__ == "__main__":
    run([test_tree_metrics, test_rejected_by_reason, test_https,
         test_address_rules, test_hostile_http])
