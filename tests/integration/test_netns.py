"""Across sites, for real: the root, two sites each with a relay and agents,
every host in a network namespace of its own on an address of 10.77/16,
joined through a namespace that is the WAN (a bridge), every link
tls+tcp://.  A push during which one site's uplink is cut (ip link set
down, on the WAN's side) reaches the other site at once; the relay there,
whose first parent is the cut site's relay, moves to its second (the root)
and says how long that took; when the link returns the cut site converges
too and its reports reach the root exactly once.  Every process and every
namespace (with its links) the test makes is gone when it ends, and
namespaces a crashed earlier run left behind are removed.

Needs root and iproute2; where namespaces cannot be made it says SKIP and
why, and exits 77 (ctest counts the test as skipped)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

from arbortest import IP, Net, run, wait_until, Failure
from test_reports import fixture, status, counts, TOKEN, NEEDS, INSTALL, \
    ROLLBACK

PREFIX = "arbns"
SKIP = 77


def ip(*args, check=True):
    p = subprocess.run([IP] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if check and p.returncode != 0:
        raise Failure("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def ours():
    """Namespaces named by this test: {name: pid of the run that made it}."""
    p = ip("netns", "list", check=False)
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"(%s(\d+)-\S+)" % PREFIX, line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def remove_leftovers():
    """Namespaces of an earlier run of this test that is gone."""
    for name, pid in ours().items():
        try:
            os.kill(pid, 0)
            continue            # that run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        # What that run started in it is still running: stop it first.
        pids = [int(x) for x in
                ip("netns", "pids", name, check=False).stdout.split()]
        print("     removing namespace %s left by an earlier run%s" %
              (name, " and its processes %s" % pids if pids else ""))
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        ip("netns", "del", name, check=False)


def unavailable():
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root"
    if not os.access(IP, os.X_OK):
        return "no ip (iproute2) command"
    probe = "%s%d-probe" % (PREFIX, os.getpid())
    p = ip("netns", "add", probe, check=False)
    if p.returncode != 0:
        return "ip netns add: %s" % p.stderr.strip()
    ip("netns", "del", probe, check=False)
    return None


class Sites:
    """The namespaces and veth pairs of the test, removed on close."""

    def __init__(self):
        self.made = []
        self.tag = "%s%d" % (PREFIX, os.getpid())

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close()
        return False

    def ns(self, role):
        name = "%s-%s" % (self.tag, role)
        ip("netns", "add", name)
        self.made.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    @staticmethod
    def veth(a, adev, b, bdev):
        """A veth pair: adev in namespace a, bdev in b."""
        ip("-n", a, "link", "add", adev, "type", "veth", "peer", "name",
           bdev, "netns", b)

    @staticmethod
    def up(ns, dev, cidr=None, master=None):
        if cidr:
            ip("-n", ns, "addr", "add", cidr, "dev", dev)
        if master:
            ip("-n", ns, "link", "set", dev, "master", master)
        ip("-n", ns, "link", "set", dev, "up")

    def close(self):
        # A veth pair goes with either of its namespaces.
        for name in reversed(self.made):
            ip("netns", "del", name, check=False)
        self.made = []
        left = [n for n in ours() if n.startswith(self.tag + "-")]
        if left:
            raise Failure("namespaces left behind: %s" % ", ".join(left))


def build(s):
    """WAN: a bridge with a port per host on 10.77.0.0/24.  Root at .1;
    site a's relay at .11, with its LAN 10.77.1.0/24 to its agents' host;
    site b's relay at .12, LAN 10.77.2.0/24.  An agent host reaches its
    relay's WAN address through the relay (its default route), so every
    node has one address its children name."""
    wan = s.ns("wan")
    ip("-n", wan, "link", "add", "br0", "type", "bridge")
    s.up(wan, "br0")
    hosts = {"root": s.ns("root")}
    s.veth(wan, "w-root", hosts["root"], "up0")
    s.up(wan, "w-root", master="br0")
    s.up(hosts["root"], "up0", "10.77.0.1/24")
    for i, site in enumerate(("a", "b"), 1):
        relay, agents = s.ns("relay-" + site), s.ns("agents-" + site)
        hosts["relay-" + site], hosts["agents-" + site] = relay, agents
        s.veth(wan, "w-" + site, relay, "up0")
        s.up(wan, "w-" + site, master="br0")
        s.up(relay, "up0", "10.77.0.%d/24" % (10 + i))
        s.veth(relay, "lan0", agents, "eth0")
        s.up(relay, "lan0", "10.77.%d.1/24" % i)
        s.up(agents, "eth0", "10.77.%d.2/24" % i)
        ip("-n", agents, "route", "add", "default", "via",
           "10.77.%d.1" % i)
    return wan, hosts


def tls_agent(net, relay, name, ns):
    return net.agent([relay], name=name, netns=ns,
                     facts_root=fixture(net, "debian12-old-openssl"),
                     enroll_token=TOKEN, report_delay="20ms",
                     **net.tls_conf(name, "--client"))


def installs(agent):
    return len(re.findall(r"policy demo-openssl v1: fixed", agent.text()))


def test_sites_cut_and_failover():
    with Sites() as s, Net("netns") as net:
        wan, h = build(s)
        root = net.root(tls=True, netns=h["root"], host="10.77.0.1",
                        enroll_token=TOKEN)
        quick = dict(timeout="1s", poll_interval="1s", poll_jitter="100ms",
                     report_interval="300ms")
        # Site a's relay fetches at 1 MB/s: the push is under way for
        # seconds, and the cut falls in the middle of it.
        ra = net.relay([root], name="relay-a", tls=True,
                       netns=h["relay-a"], host="10.77.0.11",
                       fetch_rate="1M", **quick)
        # Site b's relay: first the relay of site a, then the root.
        rb = net.relay([ra, root], name="relay-b", tls=True,
                       netns=h["relay-b"], host="10.77.0.12", **quick)
        for n in (root, ra, rb):
            if not n.svc.startswith("tls+tcp://10.77."):
                raise Failure("%s not on TLS on its address: %s" %
                              (n.name, n.svc))
        site = {"a": [tls_agent(net, ra, "a%d" % i, h["agents-a"])
                      for i in range(2)],
                "b": [tls_agent(net, rb, "b%d" % i, h["agents-b"])
                      for i in range(2)]}
        every = site["a"] + site["b"]
        rb.wait_log(r"relay: parent %s\n" % re.escape(ra.svc), 20)
        wait_until(lambda: status(net)["endpoints"] == 4, 60,
                   "the four agents to enrol across the WAN over TLS")

        sha = net.publish("demo-openssl", 1,
                          {"payload.bin": os.urandom(4 << 20)},
                          applicability=NEEDS, action=INSTALL,
                          rollback=ROLLBACK, timeout=20)["payload.bin"]
        net.ctl("push", "demo-openssl")
        seq = net.head_seq()
        ra.wait_log(r"relay: head seq %d: " % seq, 20)
        # Cut site a's uplink: its port on the WAN goes down.
        mark = len(rb.text())
        ip("-n", wan, "link", "set", "w-a", "down")
        t_cut = time.monotonic()
        if ra.has_blob(sha):
            raise Failure("site a had the whole blob before the cut: the "
                          "cut did not fall in the push")
        moved = r"relay: parent %s\n" % re.escape(root.svc)
        wait_until(lambda: re.search(moved, rb.text()[mark:]), 30,
                   "relay-b to move from relay-a (cut) to the root")
        t_moved = time.monotonic() - t_cut
        print("     (relay-b moved to its second parent %.1f s after the "
              "cut)" % t_moved)
        sys.stdout.flush()
        wait_until(lambda: all(a.has_blob(sha) for a in site["b"]), 60,
                   "site b's agents to get the push through the root")
        wait_until(lambda: counts(net, "demo-openssl").get("fixed") == 2,
                   60, "site b's reports at the root")
        if ra.has_blob(sha) or any(a.has_blob(sha) for a in site["a"]):
            raise Failure("site a got the blob through a cut uplink")

        ip("-n", wan, "link", "set", "w-a", "up")
        t_up = time.monotonic()
        wait_until(lambda: all(a.has_blob(sha) for a in site["a"]), 90,
                   "site a's agents to converge once the link is back")
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 4}, 60,
                   "every report at the root")
        print("     (site a converged %.1f s after the link came back)" %
              (time.monotonic() - t_up))
        # Exactly once: a few report intervals later, still four
        # endpoints, each once and fixed, and each installed once.
        time.sleep(2)
        st = status(net)
        if st["endpoints"] != 4 or \
                counts(net, "demo-openssl") != {"fixed": 4}:
            raise Failure("root counts after settling: %r" % st)
        eps = json.loads(net.ctl("endpoints", "--policy", "demo-openssl",
                                 "--json").stdout)
        ids = [e["endpoint_id"] for e in eps]
        if len(eps) != 4 or len(set(ids)) != 4:
            raise Failure("endpoints at the root: %r" % eps)
        for a in every:
            if installs(a) != 1:
                raise Failure("%s installed %d times" % (a.name,
                                                         installs(a)))
        if rb.has_log(r"rejected") or ra.has_log(r"rejected"):
            raise Failure("a relay rejected something")


if __name__ == "__main__":
    why = unavailable()
    if why:
        print("SKIP test_netns: network namespaces cannot be made here: %s"
              % why)
        sys.exit(SKIP)
    remove_leftovers()
    run([test_sites_cut_and_failover])
