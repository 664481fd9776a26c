"""Deferral on the endpoint with real processes: arbor-agent defer talks to
the running agent over DATA_DIR/control.sock (mode 0600); a deferred
policy waits (reason deferred, reported) past the opening of its window,
the deferral survives a restart, and clearing it lets the policy run.
Refusals: a critical policy (defer_critical 0), more than the severity
allows in all, past the deadline, an unknown policy, an overlong
request.  Time is the agent's own clock moved by ARBOR_CLOCK_OFFSET."""

import os
import socket
import stat
import subprocess
import time

from arbortest import Net, run, wait_until, Failure, BIN, SCALE

TOKEN = "defer-token"


def defer(agent, *words):
    p = subprocess.run([BIN["agent"]] + agent.args + list(words),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30 * SCALE)
    return p.returncode, p.stdout + p.stderr


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def test_defer():
    with Net("defer") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        now = int(time.time())
        start = now + 5 * 3600
        start -= start % 60
        offset = start - now - 20       # the window opens in 20 s
        f = os.path.join(net.dir, "facts")
        os.makedirs(f)
        agent = net.agent([relay], facts_root=f, time_zone="UTC",
                          report_delay="20ms", enroll_token=TOKEN,
                          env={"ARBOR_CLOCK_OFFSET": str(offset)})
        sock = os.path.join(agent.dir, "control.sock")
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        if mode != 0o600:
            raise Failure("control.sock is mode %o, not 0600" % mode)
        win = {"windows": [{"from": hhmm(start), "to": hhmm(start + 3600)}]}
        net.publish("later", 1, {},
                    applicability='!file.exists("/done")',
                    action='touch "$ARBOR_FACTS_ROOT/done"', schedule=win)
        net.publish("crit", 1, {}, severity="critical",
                    applicability='!file.exists("/crit")',
                    action='touch "$ARBOR_FACTS_ROOT/crit"', schedule=win)
        net.publish("due", 1, {}, severity="low",
                    applicability='!file.exists("/due")',
                    action='touch "$ARBOR_FACTS_ROOT/due"',
                    schedule=dict(win, deadline=time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 7200))))
        agent.wait_log(r"policy later v1: waiting: window", 20)
        agent.wait_log(r"policy due v1: waiting: window", 20)
        agent.wait_log(r"policy crit v1: waiting: window", 20)

        rc, out = defer(agent, "defer", "crit", "1h")
        if rc == 0 or "critical: it may not be deferred" not in out:
            raise Failure("critical deferred: %d %s" % (rc, out))
        rc, out = defer(agent, "defer", "later", "2d")
        if rc == 0 or "high: deferrals may hold it back 1d in all" not in out:
            raise Failure("deferred past the severity's limit: %s" % out)
        rc, out = defer(agent, "defer", "due", "3h")
        if rc == 0 or "deadline" not in out:
            raise Failure("deferred past the deadline: %s" % out)
        rc, out = defer(agent, "defer", "nosuch", "1h")
        if rc == 0 or "no such policy" not in out:
            raise Failure("an unknown policy: %s" % out)
        rc, out = defer(agent, "defer", "later", "soon")
        if rc == 0 or "DURATION" not in out:
            raise Failure("a bad duration: %s" % out)

        rc, out = defer(agent, "defer", "later", "12h")
        if rc != 0 or "later v1 deferred until" not in out:
            raise Failure("defer refused: %s" % out)
        agent.wait_log(r"policy later v1: waiting: deferred; next try", 10)
        # The limit counts from the first deferral: a day from a second
        # later is past it.
        time.sleep(1.1)
        rc, out = defer(agent, "defer", "later", "1d")
        if rc == 0 or "in all" not in out:
            raise Failure("the limit restarted with a second deferral")
        wait_until(lambda: "deferred; next try" in net.ctl(
            "endpoints", "--json", "--policy", "later").stdout, 20,
            "the root to show the deferral")

        # A request without an end is cut off, bounded.
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10 * SCALE)
            s.connect(sock)
            s.sendall(b"x" * 2000)
            got = s.recv(4096)
            if b"longer than 512 bytes" not in got:
                raise Failure("an overlong request: %r" % got)

        # The window opens: due runs, later stays deferred.
        agent.wait_log(r"policy due v1: fixed", 60)
        if os.path.exists(os.path.join(f, "done")):
            raise Failure("a deferred policy ran")
        agent.restart()
        wait_until(lambda: os.path.exists(sock), 10, "the control socket")
        rc, out = defer(agent, "deferrals")
        if rc != 0 or "later v1 high deferred until" not in out:
            raise Failure("the deferral did not survive a restart: %s" % out)
        time.sleep(2)
        if os.path.exists(os.path.join(f, "done")):
            raise Failure("a deferred policy ran after a restart")
        rc, out = defer(agent, "defer", "later", "0")
        if rc != 0 or "deferral cleared" not in out:
            raise Failure("clearing refused: %s" % out)
        agent.wait_log(r"policy later v1: fixed", 30)
        rc, out = defer(agent, "deferrals")
        if rc != 0 or "no policy is deferred" not in out:
            raise Failure("deferrals after clearing: %s" % out)
        rc, out = defer(agent, "defer", "later", "1h")
        if rc == 0 or "is fixed: nothing to defer" not in out:
            raise Failure("a fixed policy deferred: %s" % out)


if __name__ == "__main__":
    run([test_defer])
