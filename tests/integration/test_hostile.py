"""What a hostile endpoint or child can do to the nodes above it: each test
hands a real root or relay the input an attacker would send, and checks
that it is refused, costs bounded resources and loses nothing already
accepted."""

import json
import os
import signal
import subprocess

from arbortest import Net, run, wait_until, Failure, BIN, free_port

TOKEN = "enrol-secret-1"


def test_report_with_a_state_that_does_not_exist():
    """An enrolled endpoint signs reports whose state is past the last one
    that exists; the root refuses each, stays up, and its counts hold only
    real states.  (The root once stored such a report and then used its
    state as an index into the counts: a heap overflow.)"""
    with Net("hostile-state") as net:
        root = net.root(enroll_token=TOKEN)
        rc, out = net.forge_cmd("endpoint", root.svc, TOKEN,
                                "20", "1", "31", "6", "13")
        lines = out.splitlines()
        if rc != 0 or len(lines) != 6 or "enrolled" not in lines[0]:
            raise Failure("forge endpoint: rc %d: %s" % (rc, out))
        want = ["report state 20: accepted 0 rejected 1",
                "report state 1: accepted 1 rejected 0",
                "report state 31: accepted 0 rejected 1",
                "report state 6: accepted 1 rejected 0",
                "report state 13: accepted 0 rejected 1"]
        if lines[1:] != want:
            raise Failure("root answered %r, wanted %r" % (lines[1:], want))
        root.wait_log(r"report via direct refused: malformed message "
                      r"\(a state that does not exist")
        s = json.loads(net.ctl("status", "--json", "forged").stdout)
        counts = {k: v for p in s["policies"] if p["id"] == "forged"
                  for k, v in p["counts"].items() if v}
        if counts != {"fixed": 1}:
            raise Failure("counts after hostile reports: %r" % counts)
        if not root.running():
            raise Failure("root died")


def test_control_socket_is_local():
    """Whoever reaches the control socket can publish what every agent
    runs as root: the root refuses any control address but ipc://, and
    TCP only on loopback when control_tcp says so."""
    with Net("hostile-control") as net:
        port = free_port()
        base = [BIN["root"], "-n", "--data_dir", os.path.join(net.dir, "r"),
                "--key", net.key, "--svc", "tcp://127.0.0.1:%d" % port,
                "--pub", "tcp://127.0.0.1:%d" % (port + 1)]
        cases = [
            ([], 0, "configuration OK"),
            (["--control", "ipc://%s/c.sock" % net.dir], 0,
             "configuration OK"),
            (["--control", "tcp://0.0.0.0:%d" % port], 1,
             "only ipc:// addresses"),
            (["--control", "tcp://127.0.0.1:%d" % port], 1,
             "control_tcp yes allows loopback"),
            (["--control", "tcp://0.0.0.0:%d" % port, "--control_tcp",
              "yes"], 1, "only tcp://127.0.0.1:PORT"),
            (["--control", "tcp://127.0.0.1:%d" % port, "--control_tcp",
              "yes"], 0, "any local user can publish"),
        ]
        for extra, rc, text in cases:
            p = subprocess.run(base + extra, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            if p.returncode != rc or text not in p.stdout:
                raise Failure("root %s: rc %d, wanted %d and %r: %s" %
                              (" ".join(extra), p.returncode, rc, text,
                               p.stdout.strip()))


def test_no_action_from_an_expired_head():
    """A parent that stops renewing the catalog (here the root, stopped)
    leaves the endpoint holding a head that expires while a download is
    still going on: when the blobs are in, the agent starts nothing and
    reports why; once a current head arrives it acts, by itself."""
    with Net("hostile-freeze") as net:
        root = net.root(enroll_token=TOKEN, head_ttl="4s")
        relay = net.relay([root])
        facts = os.path.join(net.dir, "facts")
        os.makedirs(facts)
        agent = net.agent([relay], enroll_token=TOKEN, facts_root=facts,
                          fetch_rate="1M", report_delay="20ms")
        wait_until(lambda: json.loads(net.ctl("status", "--json").stdout)
                   ["endpoints"] == 1, 10, "enrolment")
        sha = net.publish("p", 1, {"a.bin": os.urandom(6500000)},
                          applicability='!file.exists("/done")',
                          action='touch "$ARBOR_FACTS_ROOT/done"')["a.bin"]
        seq = net.head_seq()
        wait_until(lambda: relay.has_blob(sha), 10, "the relay's copy")
        root.proc.send_signal(signal.SIGSTOP)
        try:
            agent.wait_log(r"policy p v1: waiting: stale catalog: head "
                           r"seq %d expired" % seq, 20)
            if agent.has_log(r"policy p v1: action exited") or \
                    os.path.exists(os.path.join(facts, "done")):
                raise Failure("the action ran from an expired head")
        finally:
            root.proc.send_signal(signal.SIGCONT)
        agent.wait_log(r"policy p v1: action exited 0", 20)
        wait_until(lambda: os.path.exists(os.path.join(facts, "done")), 5,
                   "the action's mark")


def test_root_parses_applicability():
    """arborctl checks a policy's expression, but the root must not rely
    on it: a Publish sent straight to the control socket with one that
    does not parse is refused, naming the field and the position."""
    with Net("hostile-expr") as net:
        root = net.root()
        control = "ipc://%s/control.sock" % root.dir
        rc, out = net.forge_cmd("publish", control, "bad", "pkg(\"x\" <")
        if rc != 0 or not out.startswith("error") or \
                '"applicability"' not in out:
            raise Failure("root took an expression that does not parse: "
                          "%s" % out)
        if net.head_seq() != 0:
            raise Failure("a head was signed for it")
        rc, out = net.forge_cmd("publish", control, "good", "true")
        if rc != 0 or out != "published seq 1":
            raise Failure("root refused a good raw publish: %s" % out)


if __name__ == "__main__":
    run([test_report_with_a_state_that_does_not_exist,
         test_control_socket_is_local,
         test_no_action_from_an_expired_head,
         test_root_parses_applicability])
