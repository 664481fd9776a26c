"""What a newcomer meets in the first hour: commands that refuse what they
cannot do and say what they see.  Daemon command lines (stray words, keys
misspelt), arborctl's options and views (status --watch that ends, retired
policies, endpoints by policy, the tree by name), a rollback as urgent as a
push, relay info that stays quiet while nothing changes, and an agent that
says what it waits for."""

import json
import os
import re
import shutil
import subprocess
import time

from arbortest import BIN, Net, run, wait_until, Failure, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "debian12-old-openssl")


def proc(*args):
    return subprocess.run(list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=30)


def test_command_lines():
    with Net("first-cmdline") as net:
        # keygen makes a missing directory and its parents.
        keys = os.path.join(net.dir, "a", "b", "keys")
        net.ctl("keygen", keys)
        if os.stat(keys).st_mode & 0o777 != 0o700:
            raise Failure("keygen's directory is not 0700")
        base = [BIN["agent"], "--data_dir", os.path.join(net.dir, "ag"),
                "--pubkey", net.pubkey, "--relay",
                "tcp://127.0.0.1:1 tcp://127.0.0.1:2"]
        p = proc(*(base + ["--poll_interval", "5", "min", "-n"]))
        if p.returncode == 0 or '"min": not an option' not in p.stdout:
            raise Failure("a stray word was taken: %s" % p.stdout)
        p = proc(*(base + ["--pol_interval", "5", "-n"]))
        if not re.search(r"^\d{4}-\d\d-\d\dT\S+Z command line: "
                         r"--pol_interval: unknown option; did you mean "
                         r"--poll_interval\?$", p.stdout, re.M):
            raise Failure("no suggestion, or no timestamp: %s" % p.stdout)
        conf = os.path.join(net.dir, "a.conf")
        with open(conf, "w") as f:
            f.write("pol_interval = 5\n")
        p = proc(*(base + ["-c", conf, "-n"]))
        if "a.conf:1: pol_interval: unknown key; did you mean " \
                "poll_interval?" not in p.stdout:
            raise Failure("no suggestion for a file: %s" % p.stdout)

        root = net.root()
        # A policy without "blobs" is refused, and changes nothing.
        path, _ = net.policy_file("noblobs", 1, {})
        with open(path) as f:
            pol = json.load(f)
        del pol["blobs"]
        with open(path, "w") as f:
            json.dump(pol, f)
        p = net.ctl("publish", path, check=False)
        if p.returncode == 0 or 'missing field "blobs"' not in p.stderr:
            raise Failure("published without blobs: %s%s" %
                          (p.stdout, p.stderr))
        # Options after the command.
        p = subprocess.run([BIN["ctl"], "catalog", "-d", root.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        if p.returncode != 0 or "no head yet" not in p.stdout:
            raise Failure("catalog -d DIR: %s%s" % (p.stdout, p.stderr))
        net.publish("p", 1, {})
        net.ctl("retire", "p")
        out = net.ctl("catalog").stdout
        if not out.endswith("no policies\n"):
            raise Failure("an empty catalog says: %r" % out)


def test_operator_views():
    with Net("first-views") as net:
        facts = os.path.join(net.dir, "facts")
        shutil.copytree(FIXTURE, facts, symlinks=True)
        root = net.root(enroll_token="token-first-1")
        east = net.relay([root], name="east", notify_jitter="30s",
                         report_interval="500ms")
        lab = net.relay([east], name="lab", notify_jitter="30s",
                        report_interval="500ms")
        agent = net.agent([lab], name="ag", enroll_token="token-first-1",
                          facts_root=facts, notify_jitter="30s",
                          group="servers")

        # The tree: by name, indented by depth, the agent counted.
        def tree_ok():
            out = net.ctl("tree").stdout
            return (re.search(r"\n  east +\d", out) and
                    re.search(r"\n    lab +1 ", out)) and out
        wait_until(tree_ok, 15, "the tree to show lab under east")

        net.publish("p", 1, {}, applicability='!file.exists("/done")',
                    action='touch "$ARBOR_FACTS_ROOT/done"',
                    rollback='rm "$ARBOR_FACTS_ROOT/done"',
                    target={"groups": ["servers"]})
        net.ctl("push", "p")
        # --watch ends by itself once the targeted endpoint is final.
        w = net.ctl("status", "p", "--watch", "--timeout", "30", check=False)
        if w.returncode != 0 or "1/1 done" not in w.stdout:
            raise Failure("status --watch: %d %s%s" % (w.returncode, w.stdout,
                                                      w.stderr))
        out = net.ctl("status").stdout
        if not out.endswith("\n") or "messages from children" not in out:
            raise Failure("status says: %r" % out)
        # Endpoints without a filter: the policy and its state, and the
        # host name the facts say (web-01), not the node name (ag).
        out = net.ctl("endpoints").stdout
        if not re.search(r"web-01 +p v1 .* fixed", out):
            raise Failure("endpoints says: %s" % out)

        # Idle: relay info is not sent again and again.  First let the
        # receipts for the reports above come down both tiers (each tier
        # asks its parent at most every 5 s): then nothing moves.
        def batches():
            return json.loads(net.ctl("status", "--json").stdout)["batches"]
        last = [batches()]

        def settled():
            time.sleep(6)
            now = batches()
            same = now == last[0]
            last[0] = now
            return same
        wait_until(settled, 45, "the tree to settle")
        b0 = batches()
        time.sleep(12)
        b1 = json.loads(net.ctl("status", "--json").stdout)["batches"]
        if b1 - b0 > 1:
            raise Failure("%d messages in 12 idle seconds" % (b1 - b0))

        # A rollback is urgent: not held by 30 s of notify_jitter twice.
        t0 = time.monotonic()
        net.ctl("rollback", "p")
        agent.wait_log(r"policy p v1: rolled-back", 8)
        took = time.monotonic() - t0
        if took > 6:
            raise Failure("the rollback took %.1f s" % took)

        net.ctl("retire", "p")
        out = net.ctl("status").stdout
        if "p v1:" not in out or "(retired)" not in out:
            raise Failure("a retired policy is not marked: %s" % out)
        doc = json.loads(net.ctl("status", "--json").stdout)
        if not doc["policies"][0]["retired"]:
            raise Failure("--json does not say retired")


def test_agent_waits_for_relay():
    with Net("first-wait") as net:
        svc = "tcp://127.0.0.1:%d" % free_port()
        pub = "tcp://127.0.0.1:%d" % free_port()
        agent = net.agent(["%s %s" % (svc, pub)], timeout="1s",
                          enroll_token="token-first-2")
        agent.wait_log(r"agent: relay %s: no connection in 1 s .*still "
                       r"trying" % re.escape(svc), 10)
        agent.wait_log(r"agent: relay %s: enrolling again in [\d.]+ s" %
                       re.escape(svc), 15)
        if agent.has_log(r"agent: parent "):
            raise Failure("the agent calls its relay a parent")


if __name__ == "__main__":
    run([test_command_lines, test_operator_views, test_agent_waits_for_relay])
