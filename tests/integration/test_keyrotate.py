"""The publisher key under an offline trust root, with real running nodes.

Every node pins the trust-root public key.  `arborctl key rotate` signs
the next key statement and the root signs with the new key from then on:
relays and agents follow the chain on their next poll, one that slept
through two rotations walks it from the version it holds, and a restart
keeps it.  Then every bad statement is handed to a real node and refused
by name, with the node still at the version it held: at the root (an
older statement, a version that skips one, the same version with other
content, a broken link, one not signed by the trust root, one that names
a revoked key again, one that has expired), and at a relay from a hostile
parent (a skipped version, a fork, a head signed by a revoked key)."""

import json
import os
import re

from arbortest import Net, run, wait_until, Failure

TOKEN = "rotate-token"
POLL = {"poll_interval": "500ms", "poll_jitter": "100ms"}
RELAY = dict(POLL, report_interval="300ms")
AGENT = dict(POLL, report_delay="20ms", enroll_token=TOKEN)


def counts(net, pid):
    doc = json.loads(net.ctl("status", "--json", pid).stdout)
    for p in doc["policies"]:
        if p["id"] == pid:
            return {k: v for k, v in p["counts"].items() if v}
    return {}


def done(net, pid):
    """Endpoints that ran pid and reported it (the action is `true` on an
    applicability that stays true: each run ends failed, as reported)."""
    c = counts(net, pid)
    return c.get("fixed", 0) + c.get("failed", 0)


def wait_done(net, pid, n, timeout=60):
    wait_until(lambda: done(net, pid) == n, timeout,
               "%d endpoints to report %s (have %r)" % (n, pid,
                                                        counts(net, pid)))


def key_status(net):
    return json.loads(net.ctl("key", "status", "--json").stdout)


def new_key(net, name):
    d = os.path.join(net.dir, "keys-" + name)
    net.ctl("keygen", d)
    return os.path.join(d, "publisher.key")


def rotate(net, key, *opts):
    return net.ctl("key", "rotate", "--trust-key", net.trust_key,
                   "--key", key, *opts)


def test_rotation_follows_the_chain():
    with Net("rotate-chain") as net:
        net.trust_root()
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], **RELAY)
        awake = net.agent([relay], **AGENT)
        sleeper = net.agent([relay], **AGENT)

        # No statement yet: the root's key is named by none, so the tree
        # refuses its head.
        net.publish("p0", 1, {"a": b"zero"})
        relay.wait_log(r"relay: rejected head from .*: "
                       r"signed by a key that is not pinned", 15)
        if key_status(net)["version"] != 0:
            raise Failure("a statement before any rotation")

        out = rotate(net, net.key).stdout
        if not re.search(r"key statement 1: signing with", out):
            raise Failure("rotate said %r" % out)
        relay.wait_log(r"key statement 1 taken", 15)
        wait_done(net, "p0", 2)

        sleeper.stop()
        k2, k3 = new_key(net, "k2"), new_key(net, "k3")
        rotate(net, k2)
        net.publish("p2", 1, {"a": b"two"})
        wait_until(lambda: done(net, "p2") == 1, 60,
                   "the awake agent to run p2 (signed with k2)")
        # The first key is compromised: the next statement revokes it.
        rotate(net, k3, "--revoke", net.pubkey)
        st = key_status(net)
        if st["version"] != 3 or len(st["revoked"]) != 1:
            raise Failure("key status after two rotations: %r" % st)
        net.publish("p3", 1, {"a": b"three"})
        wait_until(lambda: done(net, "p3") == 1, 60,
                   "the awake agent to run p3 (signed with k3)")
        awake.wait_log(r"key statement 3 taken", 15)

        # Asleep through versions 2 and 3: it walks them, in order.
        sleeper.start()
        sleeper.wait_log(r"key statement 3 taken", 30)
        t = sleeper.text()
        if t.find("key statement 2 taken") > t.find("key statement 3 "
                                                      "taken"):
            raise Failure("sleeper did not take 2 before 3")
        wait_done(net, "p3", 2)

        # Restarts keep the chain and the key it names.
        relay.restart()
        root.restart()
        if not re.search(r"signing with .*keys-k3/publisher.key \(rotated\)",
                         root.since_start()):
            raise Failure("the restarted root does not sign with k3")
        net.publish("p4", 1, {"a": b"four"})
        wait_done(net, "p4", 2)
        if "rejected key statement" in relay.text() + awake.text() + \
                sleeper.text():
            raise Failure("an honest chain was refused somewhere")


def forge_stmt(net, name, version, keys, prev=None, revoke=(), trust=None,
               expired=False):
    out = os.path.join(net.dir, "stmt-%s" % name)
    args = ["keystmt", "--trust", trust or net.trust_key, "--version",
            version, "--out", out]
    for k in keys:
        args += ["--key", k]
    for k in revoke:
        args += ["--revoke", k]
    if prev:
        args += ["--prev", prev]
    if expired:
        args += ["--expired"]
    rc, text = net.forge_cmd(*args)
    if rc != 0:
        raise Failure("keystmt %s: %s" % (name, text))
    return out


def test_root_refuses_bad_statements():
    with Net("rotate-refuse") as net:
        net.trust_root()
        control = "ipc://%s/c.sock" % net.dir
        net.root(control=control)
        k2 = new_key(net, "k2")
        other_trust = os.path.join(net.dir, "other-trust")
        net.ctl("keygen", "--trust-root", other_trust)
        other_trust = os.path.join(other_trust, "trust-root.key")

        v1 = forge_stmt(net, "v1", 1, [net.pubkey])
        v2 = forge_stmt(net, "v2", 2, [k2], prev=v1, revoke=[net.pubkey])

        def send(stmt, key):
            rc, text = net.forge_cmd("rotate", control, stmt, key)
            if rc != 0:
                raise Failure("forge rotate: rc %d %s" % (rc, text))
            return text

        for stmt, key in ((v1, net.key), (v2, k2)):
            text = send(stmt, key)
            if not text.startswith("done"):
                raise Failure("an honest statement refused: %s" % text)

        bad = {
            "older": (v1, net.key, "older than the one held"),
            "gap": (forge_stmt(net, "gap", 4, [k2], prev=v2), k2,
                    "skips a version"),
            "fork": (forge_stmt(net, "fork", 2, [k2], prev=v1), k2,
                     "same version, other content"),
            "link": (forge_stmt(net, "link", 3, [k2], prev=v1), k2,
                     "same version, other content"),
            "untrusted": (forge_stmt(net, "untrusted", 3, [k2], prev=v2,
                                     trust=other_trust), k2,
                          "not pinned"),
            "revoked": (forge_stmt(net, "revoked", 3, [net.pubkey, k2],
                                   prev=v2, revoke=[net.pubkey]), k2,
                        "revoked"),
            "dropped": (forge_stmt(net, "dropped", 3, [k2], prev=v2), k2,
                        "revoked"),
            "expired": (forge_stmt(net, "expired", 3, [k2], prev=v2,
                                   revoke=[net.pubkey], expired=True), k2,
                        "expired"),
        }
        for name, (stmt, key, why) in bad.items():
            text = send(stmt, key)
            if not text.startswith("error") or why not in text:
                raise Failure("%s statement: wanted an error naming %r, "
                              "got %r" % (name, why, text))
            st = key_status(net)
            if st["version"] != 2:
                raise Failure("%s statement moved the root to %r" %
                              (name, st))
        # Still signing, with the key statement 2 names.
        net.publish("after", 1, {"a": b"still"})


def test_relay_refuses_bad_chains():
    """A relay that holds the honest chain (versions 1 and 2, the first
    key revoked) is moved under hostile parents that serve a chain with a
    gap, a fork of version 2, and a head signed by the revoked key; each
    is refused by name and nothing it serves changes."""
    with Net("rotate-relay") as net:
        net.trust_root()
        root = net.root()
        relay = net.relay([root], **POLL)
        k2 = new_key(net, "k2")
        rotate(net, net.key)
        net.publish("honest", 1, {"a": b"honest"})
        relay.wait_log(r"relay: head seq \d+: 1 policies", 15)
        rotate(net, k2, "--revoke", net.pubkey)
        relay.wait_log(r"key statement 2 taken", 15)
        relay.stop()

        blob = os.path.join(net.dir, "forged-blob")
        with open(blob, "wb") as f:
            f.write(b"forged")
        x = new_key(net, "x")
        v1 = forge_stmt(net, "v1", 1, [net.pubkey])
        gap = forge_stmt(net, "gap", 4, [x], prev=v1)
        fork = forge_stmt(net, "fork", 2, [x], prev=v1)
        cases = [
            ("gap", x, [gap], "skips a version"),
            ("fork", x, [fork], "same version, other content"),
            ("revoked", net.key, [v1], "signed by a revoked key"),
        ]
        for name, key, stmts, why in cases:
            forge = net.forge("good", blob, name="forge-" + name, seq=999,
                              key=key, keys=stmts)
            bad = net.relay([forge], name="relay-" + name,
                            data_dir=relay.args[relay.args.index(
                                "--data_dir") + 1], **POLL)
            bad.wait_log(re.escape(why), 15)
            bad.wait_log(r"rejected head from", 15)
            if re.search(r"head seq 999", bad.text()):
                raise Failure("%s: the forged head was taken" % name)
            bad.stop()
            forge.stop()
        # The honest relay, back under the root, still holds version 2.
        relay.start()
        relay.wait_log(r"serving")
        net.publish("later", 1, {"a": b"later"})
        wait_until(lambda: len(re.findall(r"relay: head seq \d+: 2 "
                                          r"policies", relay.text())) > 0,
                   30, "the relay to take the root's next head")
        if "rejected key statement" in relay.text().split("serving")[-1]:
            raise Failure("the honest chain refused after the attacks")


if __name__ == "__main__":
    run([test_rotation_follows_the_chain, test_root_refuses_bad_statements,
         test_relay_refuses_bad_chains])
