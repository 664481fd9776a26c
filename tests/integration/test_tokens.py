"""Enrolment tokens and endpoint revocation: a token with two uses enrols
two agents and refuses the third, while the same key enrolling again
takes no use; an expired, a revoked and an unknown
token are refused, each counted by reason; the token's group reaches the
endpoint beside its own; no token is ever in the root's store in clear
nor on any command line.  A revoked endpoint's reports are refused and
counted while the others' are taken, its key cannot enrol again, and all
of it survives a restart of the root."""

import json
import os
import re
import shutil
import stat
import subprocess

from arbortest import BIN, Net, run, wait_until, Failure

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
NEEDS = ('os.id == "debian" && '
         'pkg("openssl") < version("3.0.22-1~deb12u2")')


def fixture(net, name):
    net.n += 1
    dst = os.path.join(net.dir, "facts-%d-%s" % (net.n, name))
    shutil.copytree(os.path.join(FIXTURES, name), dst)
    return dst


def status(net):
    return json.loads(net.ctl("status", "--json").stdout)


def tokens(net):
    return {t["id"]: t for t in
            json.loads(net.ctl("token", "list", "--json").stdout)}


def create(net, name, *opts):
    path = os.path.join(net.dir, name + ".token")
    p = net.ctl("token", "create", *opts, "--out", path)
    tid = p.stdout.strip()
    with open(path) as f:
        text = f.read().strip()
    if text in p.stdout or text in p.stderr or len(tid) != 16:
        raise Failure("token create printed %r" % p.stdout)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode != 0o600:
        raise Failure("%s: mode %o" % (path, mode))
    return tid, path, text


def agent(net, relay, token_file, **kw):
    return net.agent([relay], enroll_token_file=token_file,
                     facts_root=fixture(net, "debian12-patched"),
                     report_delay="20ms", **kw)


def argv_of(node):
    with open("/proc/%d/cmdline" % node.proc.pid, "rb") as f:
        return f.read().decode(errors="replace")


def refused(net, why):
    return status(net)["enrol_refused"].get(why, 0)


def test_tokens():
    with Net("tokens") as net:
        root = net.root()		# no enroll_token: stored tokens only
        relay = net.relay([root], report_interval="200ms")
        tid, path, text = create(net, "two", "--uses", "2", "--group",
                                 "lab")
        a1 = agent(net, relay, path, group="servers")
        a2 = agent(net, relay, path)
        wait_until(lambda: status(net)["endpoints"] == 2, 30,
                   "two agents to enrol with the token")
        a3 = agent(net, relay, path)
        a3.wait_log(r"enrolment refused: token used up", 20)
        root.wait_log(r"enrolment of [0-9a-f]+ .* refused: token used up")
        t = tokens(net)[tid]
        if (t["uses"], t["max_uses"], t["state"], t["groups"]) != \
                (2, 2, "used up", ["lab"]):
            raise Failure("token after two enrolments: %r" % t)
        line = [ln for ln in net.ctl("token", "list").stdout.splitlines()
                if ln.startswith(tid)]
        if len(line) != 1 or not all(w in line[0] for w in
                                     ("used up", "2/2", "never", "lab")):
            raise Failure("token list: %r" % line)
        if not re.search(r"enrolments refused: \d+ token used up",
                         net.ctl("status").stdout):
            raise Failure("status: %s" % net.ctl("status").stdout)
        if status(net)["endpoints"] != 2 or refused(net, "token used up") < 1:
            raise Failure("the third enrolled, or was not counted: %r" %
                          status(net))
        # The token's group beside the agent's own, in the inventory.
        def groups():
            return json.loads(net.ctl("query", "--json", "true", "--by",
                                      "group").stdout).get("by", {})
        wait_until(lambda: groups().get("lab") == 2 and
                   groups().get("servers") == 1, 20,
                   "the token's group at the root")

        # The same key again with the same token (its first reply lost,
        # say: here a fresh store beside a copy of a1's key) is let in,
        # used up as the token is, and takes no use.
        d = os.path.join(net.dir, "again")
        os.makedirs(d)
        shutil.copy2(os.path.join(a1.dir, "endpoint.key"), d)
        again = agent(net, relay, path, data_dir=d)
        again.wait_log(r"enrolled as", 20)
        if tokens(net)[tid]["uses"] != 2 or status(net)["endpoints"] != 2:
            raise Failure("enrolling again took a use: %r" %
                          tokens(net)[tid])
        again.stop()

        # Expired.
        eid, epath, etext = create(net, "short", "--expires", "2s")
        wait_until(lambda: tokens(net)[eid]["state"] == "expired", 10,
                   "the short token to expire")
        a4 = agent(net, relay, epath)
        a4.wait_log(r"enrolment refused: token expired", 20)
        # Revoked.
        rid, rpath, rtext = create(net, "revoked")
        net.ctl("token", "revoke", rid)
        if tokens(net)[rid]["state"] != "revoked":
            raise Failure("revoked token: %r" % tokens(net)[rid])
        a5 = agent(net, relay, rpath)
        a5.wait_log(r"enrolment refused: token revoked", 20)
        # Unknown: never created.
        upath = os.path.join(net.dir, "unknown.token")
        with open(upath, "w") as f:
            f.write("arbor-" + "ab" * 32 + "\n")
        a6 = agent(net, relay, upath)
        a6.wait_log(r"enrolment refused: unknown token", 20)
        st = status(net)
        for why in ("token expired", "token revoked", "unknown token"):
            if st["enrol_refused"].get(why, 0) < 1:
                raise Failure("%s not counted: %r" % (why, st))
        if st["endpoints"] != 2:
            raise Failure("a refused agent enrolled: %r" % st)
        if not root.has_log(r"refused: token expired") or \
                not root.has_log(r"refused: token revoked"):
            raise Failure("refusals not in the root's log")

        # Never in clear: not in the store, not on a command line.
        secrets = [text, etext, rtext]
        db = open(os.path.join(root.dir, "db", "data.mdb"), "rb").read()
        for s in secrets:
            if s.encode() in db:
                raise Failure("a token in clear in the root's store")
        for n in (a1, a2, a3, a4, a5, root, relay):
            cmd = argv_of(n)
            if any(s in cmd for s in secrets):
                raise Failure("a token on %s's command line" % n.name)
        listing = net.ctl("token", "list").stdout + \
            net.ctl("token", "list", "--json").stdout
        if any(s in listing for s in secrets) or tid not in listing:
            raise Failure("token list: %s" % listing)
        for n in (a3, a4, a5, a6):
            n.stop()

        # enroll_token_file: not beside enroll_token, not empty.
        empty = os.path.join(net.dir, "empty.token")
        open(empty, "w").close()
        base = [BIN["agent"], "-n", "--data_dir", os.path.join(net.dir, "x"),
                "--relay", relay.address()] + Net._conf(net._pin())
        for extra, want in (
                (["--enroll_token_file", path], "configuration OK"),
                (["--enroll_token_file", path, "--enroll_token", "abcdefgh"],
                 "enroll_token_file: not with enroll_token"),
                (["--enroll_token_file", empty], "empty"),
                (["--enroll_token_file", empty + ".none"],
                 "No such file")):
            p = subprocess.run(base + extra, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=30)
            if want not in p.stdout or \
                    (p.returncode == 0) != (want == "configuration OK"):
                raise Failure("agent -n %r: %d %s" % (extra, p.returncode,
                                                     p.stdout))


def test_endpoint_revoke():
    with Net("revoke") as net:
        root = net.root()
        relay = net.relay([root], report_interval="200ms")
        tid, path, _ = create(net, "fleet")
        agents = [agent(net, relay, path) for _ in range(3)]
        wait_until(lambda: status(net)["endpoints"] == 3, 30, "enrolment")
        ids = {}
        for a in agents:
            m = a.wait_log(r"enrolled as ([0-9a-f]+)")
            ids[a.name] = m.group(1)
        stolen = agents[0]
        # A prefix, as the views print it, is enough.
        p = net.ctl("endpoint", "revoke", ids[stolen.name][:12], "--reason",
                    "laptop stolen")
        if "revoked" not in p.stdout:
            raise Failure("endpoint revoke: %r" % p.stdout)
        eps = {e["endpoint_id"]: e for e in
               json.loads(net.ctl("endpoints", "--json").stdout)}
        e = eps[ids[stolen.name]]
        if not e["revoked"] or e["revoked_reason"] != "laptop stolen" or \
                any(eps[ids[a.name]]["revoked"] for a in agents[1:]):
            raise Failure("endpoints after revoke: %r" % eps)
        if "REVOKED" not in net.ctl("endpoints").stdout:
            raise Failure("the table does not show it revoked")

        def counts(pid):
            for p in status(net)["policies"]:
                if p["id"] == pid:
                    return {k: v for k, v in p["counts"].items() if v}
            return {}

        def revoked_rejects():
            return status(net)["rejected_by"].get("revoked", 0)

        net.publish("tok-openssl", 1, {"payload.bin": b"x" * 1000},
                    applicability=NEEDS, action="true")
        wait_until(lambda: counts("tok-openssl") == {"not-applicable": 2},
                   30, "the two others' reports")
        wait_until(lambda: revoked_rejects() >= 1, 20,
                   "the revoked endpoint's report refused, counted")
        root.wait_log(r"report from %s .* refused: the endpoint is revoked"
                      % ids[stolen.name])
        if not re.search(r"\(\d+ rejected: (.*, )?\d+ revoked",
                         net.ctl("status").stdout):
            raise Failure("status: %s" % net.ctl("status").stdout)
        # The root's signed receipt tells the agent; it stops resending.
        stolen.wait_log(r"the root revoked this endpoint", 20)

        # A restart of the root forgets none of it.
        before = revoked_rejects()
        root.restart()
        wait_until(lambda: len(re.findall(r"serving .* control",
                                          root.text())) == 2, 10,
                   "the root serving again")
        if revoked_rejects() != before:
            raise Failure("refusal counts lost in the restart")
        eps = {e["endpoint_id"]: e for e in
               json.loads(net.ctl("endpoints", "--json").stdout)}
        if not eps[ids[stolen.name]]["revoked"]:
            raise Failure("revocation lost in the restart")
        net.publish("tok-openssl", 2, {"payload.bin": b"y" * 1000},
                    applicability=NEEDS, action="true")
        wait_until(lambda: counts("tok-openssl") == {"not-applicable": 2},
                   30, "the two others' v2 reports after the restart")
        wait_until(lambda: revoked_rejects() > before, 20,
                   "the revoked endpoint refused after the restart")

        # Its key enrols no more, even with a good token.
        stolen.stop()
        d = os.path.join(net.dir, "thief")
        os.makedirs(d)
        shutil.copy2(os.path.join(stolen.dir, "endpoint.key"), d)
        thief = agent(net, relay, path, data_dir=d)
        thief.wait_log(r"enrolment refused: endpoint revoked", 20)
        if refused(net, "endpoint revoked") < 1:
            raise Failure("the refused enrolment was not counted")
        if tokens(net)[tid]["uses"] != 3:
            raise Failure("a refused enrolment took a use: %r" %
                          tokens(net)[tid])


if __name__ == "__main__":
    run([test_tokens, test_endpoint_revoke])
