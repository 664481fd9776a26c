"""systemd's notification protocol, as the packaged units use it
(Type=notify, WatchdogSec=): arbor-root, arbor-relay and arbor-agent started
with NOTIFY_SOCKET naming a unix datagram socket the test binds (a path, and
an @abstract name) and WATCHDOG_USEC set send READY=1 once they serve (the
svc port accepts by then), WATCHDOG=1 at half of WATCHDOG_USEC, and
STOPPING=1 on SIGTERM.  WATCHDOG_PID naming another process means no
watchdog; a NOTIFY_SOCKET that is not absolute is refused with a line and
the daemon runs on.  With JOURNAL_STREAM naming its stderr, a daemon's lines
carry a <N> priority and no timestamp of their own."""

import os
import re
import socket
import sys
import time

from arbortest import Net, wait_until, Failure, SCALE

WATCHDOG_USEC = 200000          # WATCHDOG=1 every 100 ms


class Listener:
    """A bound AF_UNIX datagram socket and the messages that reached it."""

    def __init__(self, address, env_value):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)
        self.env_value = env_value
        self.got = []

    def drain(self):
        while True:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.got

    def count(self, msg):
        return sum(1 for m in self.drain() if m == msg)

    def close(self):
        self.sock.close()


def svc_accepts(node):
    host, port = re.match(r"tcp://([^:]+):(\d+)", node.svc).groups()
    with socket.create_connection((host, int(port)), timeout=2):
        return True


def check_daemon(node, lis, listening=True):
    """READY=1 first, the port open by then, then watchdog pings, then
    STOPPING=1 at SIGTERM."""
    node.env = {"NOTIFY_SOCKET": lis.env_value,
                "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    node.start()
    wait_until(lambda: lis.count("READY=1") == 1, 15,
               "%s: READY=1" % node.name)
    if lis.got[0] != "READY=1":
        raise Failure("%s: first message %r, not READY=1" %
                      (node.name, lis.got[0]))
    if listening:
        svc_accepts(node)
    t0 = time.monotonic()
    wait_until(lambda: lis.count("WATCHDOG=1") >= 5, 10,
               "%s: five WATCHDOG=1" % node.name)
    took = time.monotonic() - t0
    # Five pings at 100 ms: not much faster than 0.4 s (half, not a tenth).
    if took < 0.35:
        raise Failure("%s: five WATCHDOG=1 in %.2f s, faster than half of "
                      "WATCHDOG_USEC" % (node.name, took))
    rc = node.stop()
    if rc != 0:
        raise Failure("%s exited %s" % (node.name, rc))
    if lis.count("STOPPING=1") != 1:
        raise Failure("%s: no STOPPING=1 at SIGTERM: %r" %
                      (node.name, lis.got[-3:]))
    bad = [m for m in lis.got
           if m not in ("READY=1", "WATCHDOG=1", "STOPPING=1")]
    if bad:
        raise Failure("%s: unexpected messages %r" % (node.name, bad))
    print("%s: READY=1, %d WATCHDOG=1 (5 in %.2f s), STOPPING=1" %
          (node.name, lis.count("WATCHDOG=1"), took))


def main():
    with Net("notify") as net:
        d = net.dir
        # A path socket for the root.
        lis = Listener(os.path.join(d, "notify-root"),
                       os.path.join(d, "notify-root"))
        root = net.root(start=False)
        check_daemon(root, lis)
        lis.close()
        root.start()
        root.wait_log(r"serving .* control")

        # An abstract socket for the relay.
        name = "arbor-notify-%d" % os.getpid()
        lis = Listener("\0" + name, "@" + name)
        relay = net.relay([root], start=False)
        check_daemon(relay, lis)
        lis.close()
        relay.start()
        relay.wait_log(r"serving")

        lis = Listener(os.path.join(d, "notify-agent"),
                       os.path.join(d, "notify-agent"))
        agent = net.agent([relay], start=False)
        check_daemon(agent, lis, listening=False)
        lis.close()

        # WATCHDOG_PID of another process: READY=1, but no watchdog.
        lis = Listener(os.path.join(d, "notify-pid"),
                       os.path.join(d, "notify-pid"))
        agent.env = {"NOTIFY_SOCKET": lis.env_value,
                     "WATCHDOG_USEC": str(WATCHDOG_USEC),
                     "WATCHDOG_PID": "1"}
        agent.start()
        wait_until(lambda: lis.count("READY=1") == 1, 15,
                   "agent: READY=1 with WATCHDOG_PID=1")
        time.sleep(0.5 * SCALE)
        if lis.count("WATCHDOG=1") != 0:
            raise Failure("agent: WATCHDOG=1 although WATCHDOG_PID is "
                          "another process")
        agent.stop()
        lis.close()

        # A relative NOTIFY_SOCKET: said so, and the agent runs on.
        agent.env = {"NOTIFY_SOCKET": "notify-relative"}
        agent.start()
        agent.wait_log(r"NOTIFY_SOCKET notify-relative: not an absolute")
        agent.wait_log(r"started")
        if not agent.running():
            raise Failure("agent stopped after a bad NOTIFY_SOCKET")
        agent.stop()

        # Journal lines: "<6>relay: ..." without a timestamp.
        relay.stop()
        open(relay.log, "ab").close()
        st = os.stat(relay.log)
        before = len(relay.text())
        relay.env = {"JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
        relay.start()
        relay.wait_log(r"<6>relay: relay\d+ serving")
        relay.stop()
        lines = [l for l in relay.text()[before:].splitlines() if l]
        stamped = [l for l in lines if re.match(r"\d{4}-\d\d-\d\dT", l)]
        unprefixed = [l for l in lines if not re.match(r"<[0-7]>", l)]
        if stamped or unprefixed:
            raise Failure("journal lines with timestamps or without a "
                          "priority: %r" % (stamped + unprefixed)[:3])
        print("journal: %d lines, each <N>-prefixed, none stamped" %
              len(lines))
    print("test_notify: ok")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL:", e)
        sys.exit(1)
