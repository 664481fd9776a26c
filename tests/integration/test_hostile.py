"""What a hostile endpoint or child can do to the nodes above it: each test
hands a real root or relay the input an attacker would send, and checks
that it is refused, costs bounded resources and loses nothing already
accepted."""

import json
import os
import subprocess

from arbortest import Net, run, Failure, BIN, free_port

TOKEN = "enrol-secret-1"


def test_report_with_a_state_that_does_not_exist():
    """An enrolled endpoint signs reports whose state is past the last one
    that exists; the root refuses each, stays up, and its counts hold only
    real states.  (The root once stored such a report and then used its
    state as an index into the counts: a heap overflow.)"""
    with Net("hostile-state") as net:
        root = net.root(enroll_token=TOKEN)
        rc, out = net.forge_cmd("endpoint", root.svc, TOKEN,
                                "20", "1", "31", "6", "11")
        lines = out.splitlines()
        if rc != 0 or len(lines) != 6 or "enrolled" not in lines[0]:
            raise Failure("forge endpoint: rc %d: %s" % (rc, out))
        want = ["report state 20: accepted 0 rejected 1",
                "report state 1: accepted 1 rejected 0",
                "report state 31: accepted 0 rejected 1",
                "report state 6: accepted 1 rejected 0",
                "report state 11: accepted 0 rejected 1"]
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


if __name__ == "__main__":
    run([test_report_with_a_state_that_does_not_exist,
         test_control_socket_is_local])
