"""A publish reaches every agent under a depth-2 tree, verified at every
hop; a new version supersedes the old; retire removes a policy; refused
publishes change nothing."""

import os

from arbortest import Net, run, wait_until, Failure


def test_depth2_tree():
    with Net("publish") as net:
        root = net.root()
        r1 = net.relay([root])
        r2 = net.relay([root])
        r3 = net.relay([r1])            # tier 2
        agents = [net.agent([r]) for r in (r1, r2, r3, r3)]
        data = os.urandom(3 * 1024 * 1024 + 17)
        shas = net.publish("demo-1", 1, {"payload.bin": data})
        sha = shas["payload.bin"]
        wait_until(lambda: all(a.has_blob(sha) for a in agents), 20,
                   "every agent to hold the blob")
        for a in agents:
            a.wait_log(r"policy demo-1 v1: downloaded")
        # The relays cached it once, verified.
        for r in (r1, r3):
            if not r.has_blob(sha):
                raise Failure("%s did not cache the blob" % r.name)

        # Version 2 supersedes version 1.
        data2 = os.urandom(200000)
        sha2 = net.publish("demo-1", 2, {"payload.bin": data2})[
            "payload.bin"]
        wait_until(lambda: all(a.has_blob(sha2) for a in agents), 20,
                   "every agent to hold version 2")
        cat = net.catalog()
        if [(p["id"], p["version"]) for p in cat["policies"]] != \
                [("demo-1", 2)]:
            raise Failure("catalog after v2: %r" % cat["policies"])

        # Retire takes it out of the head everywhere.
        seq = net.head_seq()
        net.ctl("retire", "demo-1")
        for a in agents:
            a.wait_log(r"head seq %d: 0 policies" % (seq + 1))


def test_refused_publish_changes_nothing():
    with Net("refuse") as net:
        net.root()
        net.publish("p", 3, {"a.bin": b"x" * 1000})
        seq = net.head_seq()
        cases = []
        # Reused (old) version.
        path, _ = net.policy_file("p", 2, {"a.bin": b"y"})
        cases.append((path, r'field "version"'))
        path, _ = net.policy_file("p", 3, {"a.bin": b"z"})
        cases.append((path, r'field "version"'))
        # A blob file that does not exist.
        path, _ = net.policy_file("q", 1, {"b.bin": b"b"})
        os.unlink(os.path.join(os.path.dirname(path), "b.bin"))
        cases.append((path, r'field "blobs\[0\]\.path"'))
        # Bad severity, malformed JSON.
        path, _ = net.policy_file("r", 1, {}, severity="urgent")
        cases.append((path, r'field "severity"'))
        bad = os.path.join(net.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"id": "s", "version": 1,')
        cases.append((bad, r"bad.json:1:\d+"))
        for path, want in cases:
            p = net.ctl("publish", path, check=False)
            import re
            if p.returncode == 0 or not re.search(want, p.stderr):
                raise Failure("publish %s: rc %d, stderr %r (wanted %r)" %
                              (path, p.returncode, p.stderr, want))
        if net.head_seq() != seq:
            raise Failure("a refused publish changed the head")


if __name__ == "__main__":
    run([test_depth2_tree, test_refused_publish_changes_nothing])
