"""Arbor integration test harness.

Starts real arbor-root, arbor-relay and arbor-agent processes on 127.0.0.1
(or, given netns and host, inside a network namespace on its address), each with its own data directory and log file under one temporary directory,
and stops every one of them when the test ends (SIGTERM, then SIGKILL).
Every wait is bounded.  ARBOR_BUILD names the build directory;
ARBOR_TIMEOUT_SCALE stretches waits (sanitizer builds are slower).
"""

import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BUILD = os.environ.get("ARBOR_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
SCALE = float(os.environ.get("ARBOR_TIMEOUT_SCALE", "1"))

BIN = {
    "root": os.path.join(BUILD, "root", "arbor-root"),
    "relay": os.path.join(BUILD, "relay", "arbor-relay"),
    "agent": os.path.join(BUILD, "endpoint", "arbor-agent"),
    "ctl": os.path.join(BUILD, "root", "arborctl"),
    "forge": os.path.join(BUILD, "tests", "integration", "arbor-forge"),
}
IP = shutil.which("ip") or "/usr/sbin/ip"


class Failure(Exception):
    pass


SANITIZER = re.compile(r"(ERROR: (Address|Leak)Sanitizer.*|.*runtime error:.*)")


def http_request(url, method="GET", headers=None, data=None, ctx=None):
    """(status, headers, body) of one request, on a connection kept open
    until the answer is read, as Prometheus and browsers ask.  (A request
    that says "Connection: close", as urllib's do, makes nng 1.5.2's server
    close at once after the answer, and its TLS layer may then drop the
    answer's tail that it has not yet written: a known limit of that nng.)"""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                        timeout=10 * SCALE)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port,
                                       timeout=10 * SCALE)
    try:
        c.request(method, u.path + ("?" + u.query if u.query else ""),
                  body=data, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def wait_until(pred, timeout, what):
    """Poll pred every 20 ms until it is true or timeout (scaled) passes."""
    deadline = time.monotonic() + timeout * SCALE
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %.1f s waiting for %s" %
                          (timeout * SCALE, what))
        time.sleep(0.02)


_PORTS_GIVEN = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that
    this process has not handed out before (the kernel may give the same
    free port twice in a row, and a node's svc and pub would collide)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _PORTS_GIVEN:
            _PORTS_GIVEN.add(port)
            return port
    raise Failure("no fresh free port in 100 tries")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


class Node:
    """One running (or stopped) Arbor process."""

    def __init__(self, net, kind, name, args):
        self.net = net
        self.kind = kind
        self.name = name
        self.args = args
        self.dir = os.path.join(net.dir, name)
        self.log = os.path.join(net.dir, name + ".log")
        self.proc = None
        self.svc = self.pub = None
        self.env = None  # extra environment (a test clock: ARBOR_CLOCK...)
        self.tls_name = None    # the name its server certificate carries
        self.netns = None       # the network namespace it runs in
        self.mark = 0           # the log's size when it was last started

    def start(self):
        try:
            self.mark = os.path.getsize(self.log)
        except FileNotFoundError:
            self.mark = 0
        logf = open(self.log, "ab")
        # A daemon whose stderr is a file logs to syslog unless given -d;
        # the tests read its lines from this node's log file.
        fg = ["-d"] if self.kind in ("root", "relay", "agent") else []
        env = dict(os.environ, **self.env) if self.env else None
        # ip netns exec execs the daemon: the process is the daemon.
        pre = [IP, "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(pre + [BIN[self.kind]] + fg + self.args,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     cwd=self.net.dir, env=env)
        logf.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM, wait, SIGKILL if it does not go; returns the exit code.
        An agent waits for a running action at SIGTERM: a second one after
        a few seconds stops it at once."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                if self.kind == "agent":
                    try:
                        self.proc.wait(3 * SCALE)
                    except subprocess.TimeoutExpired:
                        self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("%s did not stop on SIGTERM" % self.name)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    # What a daemon logs once it serves (the root: its control socket too).
    READY = {"root": r"serving .* control", "relay": r"serving",
             "agent": r"\) started"}

    def restart(self, ready=True):
        """Stop and start again; by default wait until it serves again,
        judged by what it logged since this start (the log is kept)."""
        self.stop()
        self.start()
        if ready and self.kind in self.READY:
            self.wait_started(self.READY[self.kind])
        return self

    def since_start(self):
        """What it logged since it was last started."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.mark)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_started(self, pattern, timeout=10):
        """Wait for pattern among the lines logged since the last start."""
        return wait_until(lambda: re.search(pattern, self.since_start()),
                          timeout, "%s log since its start to match %r"
                          % (self.name, pattern))

    def text(self):
        try:
            with open(self.log, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def has_log(self, pattern):
        return re.search(pattern, self.text()) is not None

    def wait_log(self, pattern, timeout=10):
        return wait_until(lambda: re.search(pattern, self.text()), timeout,
                          "%s log to match %r" % (self.name, pattern))

    def blob_path(self, sha):
        return os.path.join(self.dir, "blobs", "sha256", sha[:2], sha)

    def has_blob(self, sha):
        """The blob is in place under its real name and hashes right."""
        p = self.blob_path(sha)
        try:
            with open(p, "rb") as f:
                return sha256_hex(f.read()) == sha
        except FileNotFoundError:
            return False

    def address(self):
        if self.tls_name:
            return "%s %s %s" % (self.svc, self.pub, self.tls_name)
        return "%s %s" % (self.svc, self.pub)


class Net:
    """A test's tree: keys, processes, policy files, all under one temp dir."""

    def __init__(self, name):
        self.name = name
        base = os.environ.get("ARBOR_TEST_TMP")
        self.dir = tempfile.mkdtemp(prefix="arbor-%s-" % name, dir=base)
        self.nodes = []
        self.keys = os.path.join(self.dir, "keys")
        self.ctl("keygen", self.keys)
        self.key = os.path.join(self.keys, "publisher.key")
        self.pubkey = os.path.join(self.keys, "publisher.pub")
        self.root_node = None
        self.n = 0
        self.trust_pub = self.trust_key = None

    def trust_root(self):
        """Pin a trust root instead of the publisher key on every node made
        from now on (the root signs with self.key once a key statement
        names it); returns the trust-root private key's path."""
        d = os.path.join(self.dir, "trust")
        self.ctl("keygen", "--trust-root", d)
        self.trust_key = os.path.join(d, "trust-root.key")
        self.trust_pub = os.path.join(d, "trust-root.pub")
        return self.trust_key

    def _pin(self):
        if self.trust_pub:
            return {"trust_root": self.trust_pub}
        return {"pubkey": self.pubkey}

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        errors = []
        for n in self.nodes:
            try:
                rc = n.stop()
                if rc not in (None, 0):
                    errors.append("%s exited with status %d" % (n.name, rc))
            except Failure as e:
                errors.append(str(e))
            # A sanitizer report anywhere in a log fails the test.
            m = SANITIZER.search(n.text())
            if m:
                errors.append("%s: %s" % (n.name, m.group(0)))
        if et is not None or errors:
            for n in self.nodes:
                sys.stderr.write("---- %s log (tail) ----\n" % n.name)
                sys.stderr.write(n.text()[-4000:])
            sys.stderr.write("test dir kept: %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors and et is None:
            raise Failure("; ".join(errors))
        return False

    def _node(self, kind, name, args):
        node = Node(self, kind, name, args)
        self.nodes.append(node)
        return node

    @staticmethod
    def _conf(conf):
        args = []
        for k, v in conf.items():
            if isinstance(v, (list, tuple)):
                for x in v:
                    args += ["--" + k, str(x)]
            else:
                args += ["--" + k, str(v)]
        return args

    def ca(self):
        """The tree's TLS certificate authority, made at first use."""
        d = os.path.join(self.dir, "ca")
        if not os.path.exists(os.path.join(d, "ca.crt")):
            self.ctl("ca", "init", d)
        return d

    def cert(self, name, *opts, ca=None):
        """Issue a key and certificate named name; returns the prefix of
        PREFIX.crt and PREFIX.key."""
        os.makedirs(os.path.join(self.dir, "certs"), exist_ok=True)
        out = os.path.join(self.dir, "certs", "%s-%d" % (name, free_port()))
        self.ctl("cert", "issue", "--ca", ca or self.ca(), "--name", name,
                 "--out", out, *opts)
        return out

    def tls_conf(self, name, *opts):
        """tls_* keys of a node whose certificate names name."""
        out = self.cert(name, *opts)
        return {"tls_ca": os.path.join(self.ca(), "ca.crt"),
                "tls_cert": out + ".crt", "tls_key": out + ".key"}

    @staticmethod
    def _addr(tls, host):
        return "%s://%s:%d" % ("tls+tcp" if tls else "tcp", host or "127.0.0.1",
                               free_port())

    def root(self, name="root", start=True, tls=False, netns=None, host=None,
             **conf):
        svc, pub = self._addr(tls, host), self._addr(tls, host)
        c = {"data_dir": os.path.join(self.dir, name), "key": self.key,
             "svc": svc, "pub": pub}
        if self.trust_pub:
            c["trust_root"] = self.trust_pub
        if tls:
            c.update(self.tls_conf(name + ".arbor"))
        c.update(conf)
        node = self._node("root", name, self._conf(c))
        node.svc, node.pub, node.netns = svc, pub, netns
        node.tls_name = name + ".arbor" if tls else None
        node.control = conf.get("control")
        self.root_node = node
        if start:
            node.start()
            node.wait_log(r"serving .* control")
        return node

    def relay(self, parents, name=None, start=True, tls=False, netns=None,
              host=None, **conf):
        self.n += 1
        name = name or "relay%d" % self.n
        svc, pub = self._addr(tls, host), self._addr(tls, host)
        c = {"data_dir": os.path.join(self.dir, name), **self._pin(),
             "svc": svc, "pub": pub,
             "parent": [p if isinstance(p, str) else p.address()
                        for p in parents],
             "poll_interval": "30s", "poll_jitter": "1s", "timeout": "3s",
             "node_id": name}
        if tls:
            c.update(self.tls_conf(name + ".arbor"))
        c.update(conf)
        node = self._node("relay", name, self._conf(c))
        node.svc, node.pub, node.netns = svc, pub, netns
        node.tls_name = name + ".arbor" if tls else None
        if start:
            node.start()
            node.wait_log(r"serving")
        return node

    def agent(self, relays, name=None, start=True, env=None, netns=None,
              **conf):
        self.n += 1
        name = name or "agent%d" % self.n
        c = {"data_dir": os.path.join(self.dir, name), **self._pin(),
             "relay": [r if isinstance(r, str) else r.address()
                       for r in relays],
             "poll_interval": "30s", "poll_jitter": "1s", "timeout": "3s",
             "notify_jitter": "100ms", "node_id": name}
        c.update(conf)
        node = self._node("agent", name, self._conf(c))
        node.env, node.netns = env, netns
        if start:
            node.start()
            node.wait_log(r"started")
        return node

    def ctl(self, *args, check=True, timeout=60):
        cmd = [BIN["ctl"]]
        root = self.__dict__.get("root_node")
        if args and args[0] not in ("keygen", "ca", "cert") and root:
            if getattr(root, "control", None):
                cmd += ["-s", root.control]
            else:
                cmd += ["-d", root.dir]
        cmd += list(args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout * SCALE,
                           text=True)
        if check and p.returncode != 0:
            raise Failure("arborctl %s failed (%d): %s%s" %
                          (" ".join(args), p.returncode, p.stdout,
                           p.stderr))
        return p

    def policy_file(self, pid, version, blobs, **fields):
        """Write a policy JSON and its blob files; returns (path, shas)."""
        d = os.path.join(self.dir, "policies", "%s-%d" % (pid, version))
        os.makedirs(d, exist_ok=True)
        refs, shas = [], {}
        for bname, data in blobs.items():
            with open(os.path.join(d, bname), "wb") as f:
                f.write(data)
            refs.append({"path": bname})
            shas[bname] = sha256_hex(data)
        pol = {"id": pid, "version": version, "title": "test " + pid,
               "severity": "high", "applicability": "true",
               "action": "true", "blobs": refs}
        pol.update(fields)
        path = os.path.join(d, "policy.json")
        with open(path, "w") as f:
            json.dump(pol, f)
        return path, shas

    def publish(self, pid, version, blobs, **fields):
        path, shas = self.policy_file(pid, version, blobs, **fields)
        self.ctl("publish", path)
        return shas

    def catalog(self):
        return json.loads(self.ctl("catalog", "--json").stdout)

    def head_seq(self):
        cat = self.catalog()
        return cat["head"]["seq"] if cat.get("head") else 0

    def other_key(self):
        """A second publisher key pair, one that no node pins; returns the
        private key's path."""
        d = os.path.join(self.dir, "other-keys")
        if not os.path.exists(os.path.join(d, "publisher.key")):
            self.ctl("keygen", d)
        return os.path.join(d, "publisher.key")

    def forge(self, mode, blob, name=None, start=True, seq=5, **opts):
        """An adversarial parent (arbor-forge serve) that serves one crafted
        catalog naming the file blob, broken as mode says."""
        self.n += 1
        name = name or "forge%d" % self.n
        svc = "tcp://127.0.0.1:%d" % free_port()
        pub = "tcp://127.0.0.1:%d" % free_port()
        c = {"svc": svc, "pub": pub, "key": self.key, "blob": blob,
             "mode": mode, "seq": seq}
        if mode == "unpinned" and "other-key" not in opts:
            c["other-key"] = self.other_key()
        c.update(opts)
        node = self._node("forge", name, ["serve"] + self._conf(c))
        node.svc, node.pub = svc, pub
        if start:
            node.start()
            node.wait_log(r"forge: serving")
        return node

    def forge_cmd(self, *args, timeout=30):
        """Run an arbor-forge client subcommand; returns (rc, stdout)."""
        p = subprocess.run([BIN["forge"]] + [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout * SCALE, text=True)
        return p.returncode, p.stdout.strip()


class DelayProxy:
    """TCP proxies on 127.0.0.1 in front of (host, port) targets: every
    chunk read is written to the other side delay seconds later, in order
    (with first_only, only each direction's first chunk of a connection:
    a slow handshake on a near path), listening on the ports given or on
    ports of the kernel's choosing.  Threads only; close() stops every
    socket and thread it made."""

    def __init__(self, targets, delay, first_only=False, ports=None):
        self.delay, self.first_only = delay, first_only
        self.stopping = False
        self.socks = []
        self.threads = []
        self.lock = threading.Lock()
        self.ports = []
        for target in targets:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", ports[len(self.ports)] if ports else 0))
            ls.listen(64)
            self.socks.append(ls)
            self.ports.append(ls.getsockname()[1])
            self._thread(self._accept, ls, target)

    def _thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        with self.lock:
            self.threads.append(t)
        t.start()

    def _keep(self, s):
        with self.lock:
            self.socks.append(s)

    def _accept(self, ls, target):
        while not self.stopping:
            r, _, _ = select.select([ls], [], [], 0.1)
            if not r:
                continue
            try:
                c, _ = ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(target, timeout=2)
            except OSError:
                c.close()
                continue
            self._keep(c)
            self._keep(u)
            self._thread(self._pump, c, u)
            self._thread(self._pump, u, c)

    def _pump(self, src, dst):
        """Read from src; write each chunk to dst DELAY after it came."""
        queue, cv = [], threading.Condition()
        done, seen = [], []

        def writer():
            while True:
                with cv:
                    while not queue and not done:
                        cv.wait(0.1)
                        if self.stopping:
                            return
                    if not queue:
                        break
                    due, data = queue.pop(0)
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    dst.sendall(data)
                except OSError:
                    return
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        self._thread(writer)
        while not self.stopping:
            try:
                r, _, _ = select.select([src], [], [], 0.1)
                if not r:
                    continue
                data = src.recv(65536)
            except (OSError, ValueError):
                data = b""
            with cv:
                if not data:
                    done.append(1)
                    cv.notify()
                    return
                late = self.delay
                if self.first_only and seen:
                    late = 0
                seen.append(1)
                queue.append((time.monotonic() + late, data))
                cv.notify()

    def close(self):
        self.stopping = True
        with self.lock:
            socks, threads = list(self.socks), list(self.threads)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        for t in threads:
            t.join(5)


def run(tests):
    """Run test functions in order; print a line per test; exit non-zero
    on the first failure."""
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            t()
        except Exception as e:  # noqa: BLE001 - report and fail
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
            sys.stdout.flush()
            sys.exit(1)
        print("ok   %s (%.1f s)" % (t.__name__, time.monotonic() - t0))
        sys.stdout.flush()
