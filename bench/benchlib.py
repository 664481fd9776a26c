"""Shared pieces of the Arbor benchmarks: a tree of real processes (the
integration tests' harness), swarms of simulated endpoints, the figures
read from /proc and from the root, and one JSON line per result."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.environ.setdefault("ARBOR_BUILD", os.path.join(REPO, "build"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import arbortest  # noqa: E402
from arbortest import Net, wait_until  # noqa: E402,F401

FIXTURES = os.path.join(REPO, "tests", "fixtures")
TOKEN = "bench-enrol-token"
NEEDS = 'pkg("openssl") < version("3.0.22-1~deb12u2")'


def build():
    """Build the programs into $ARBOR_BUILD (default build/)."""
    if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", REPO, "-B", BUILD,
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", BUILD, "-j%d" % os.cpu_count(),
                    "--target", "arbor-root", "arbor-relay", "arbor-agent",
                    "arborctl"], check=True, stdout=subprocess.DEVNULL)


def swarm(net, name, parent, n, need=100, **conf):
    """Start a swarm of n simulated endpoints under parent."""
    events = os.path.join(net.dir, name + ".events")
    args = ["--swarm", str(n), "--data_dir", os.path.join(net.dir, name),
            "--pubkey", net.pubkey, "--relay", parent.address(),
            "--enroll_token", TOKEN,
            "--facts_root", os.path.join(FIXTURES, "debian12-old-openssl"),
            "--swarm_fixed_root", os.path.join(FIXTURES, "debian12-patched"),
            "--swarm_need", str(need), "--swarm_events", events,
            "--node_id", name, "--poll_interval", "30m",
            "--poll_jitter", "5m", "--notify_jitter", "30s",
            "--timeout", "30s"]
    for k, v in conf.items():
        args += ["--" + k, str(v)]
    node = net._node("agent", name, args)
    node.events = events
    node.n = n
    node.start()
    return node


def events(nodes, what, policy=None):
    """Wall-clock ms of every event `what` in the swarms' event files."""
    out = []
    for nd in nodes:
        try:
            with open(nd.events) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 4 and p[1] == what and \
                            (policy is None or p[2] == policy):
                        out.append(int(p[0]))
        except FileNotFoundError:
            pass
    return sorted(out)


def made(nodes):
    """Reports made so far by all swarms (their last counter lines)."""
    total = 0
    for nd in nodes:
        last = 0
        try:
            with open(nd.events) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 4 and p[1] == "made":
                        last = int(p[3])
        except FileNotFoundError:
            pass
        total += last
    return total


def root(net, tls=False):
    """The root, with its control socket on loopback TCP: nng 1.5's ipc
    listener can stop accepting when a client gives up mid-handshake,
    which a root under a benchmark's load makes likely."""
    return net.root(enroll_token=TOKEN, control="tcp://127.0.0.1:%d" %
                    arbortest.free_port(), control_tcp="yes", tls=tls)


def status(net):
    """The root's status; a root busy with a wave may answer slowly."""
    for _ in range(10):
        p = net.ctl("status", "--json", check=False, timeout=120)
        if p.returncode == 0:
            return json.loads(p.stdout)
        time.sleep(1)
    raise arbortest.Failure("arborctl status: %s" % p.stderr)


def counts(st, pid):
    for p in st["policies"]:
        if p["id"] == pid:
            return p["counts"]
    return {}


def proc_kb(node, field):
    """VmHWM / VmRSS of a running node, in KiB."""
    try:
        with open("/proc/%d/status" % node.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, AttributeError):
        pass
    return 0


def cpu_seconds(node):
    """User + system CPU seconds a running node has used."""
    with open("/proc/%d/stat" % node.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile_s(times_ms, t0_ms, total, pct):
    """Seconds after t0 until pct % of total endpoints had the event."""
    need = max(1, -(-total * pct // 100))
    if len(times_ms) < need:
        return None
    return round((times_ms[need - 1] - t0_ms) / 1000.0, 3)


def now_ms():
    return int(time.time() * 1000)


def emit(obj):
    print(json.dumps(obj, sort_keys=False))
    sys.stdout.flush()


def machine():
    with open("/proc/cpuinfo") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f
                      if ln.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu": model}


def perf_start():
    """With ARBOR_BENCH_PERF=FILE, profile the whole machine (perf record
    -a -g) over the measured part of a benchmark."""
    out = os.environ.get("ARBOR_BENCH_PERF")
    if not out:
        return None
    p = subprocess.Popen(["perf", "record", "-F", "499", "-a", "-g", "-o",
                          out], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def perf_stop(p):
    if p is not None:
        p.send_signal(2)
        p.wait(60)
