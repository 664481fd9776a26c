"""Air-gapped sites: the root's catalog crosses on removable media
(arborctl export, arbor-relay --import), verified exactly as a parent's;
the site's reports come back (arbor-relay --export-reports, arborctl
import-reports) and are counted once; a tampered, cut, stale or unsigned
export is refused, naming the file, and the relay keeps what it had."""

import hashlib
import json
import os
import re
import shutil
import subprocess

from arbortest import Net, run, wait_until, Failure, BIN, SCALE, SANITIZER
from test_reports import fixture, counts, status, publish_openssl, TOKEN


def agent(net, relay, facts):
    return net.agent([relay], facts_root=facts, enroll_token=TOKEN,
                     report_delay="20ms")


def move(node, relay):
    """Restart an agent (keeping its key and enrolment) under relay."""
    node.stop()
    i = node.args.index("--relay")
    node.args[i + 1] = relay.address()
    node.start()
    node.wait_log(r"started")


def relay_run(gap, *extra):
    """Run the air-gapped relay once with extra words and return
    (rc, output) when it exits (a refused import exits 1)."""
    p = subprocess.run([BIN["relay"], "-d"] + gap.args + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60 * SCALE, text=True)
    m = SANITIZER.search(p.stdout)
    if m:
        raise Failure("%s: %s" % (gap.name, m.group(0)))
    return p.returncode, p.stdout


def import_at(gap, exp):
    """Stop the relay, start it with --import exp (it goes on serving)."""
    gap.stop()
    gap.args += ["--import", exp]
    gap.start()
    try:
        gap.wait_log(r"import: %s: (head seq \d+, |head seq \d+ is the "
                     r"one held)" % re.escape(exp), 30)
    finally:
        gap.args = gap.args[:-2]


def manifest(exp):
    """Rewrite MANIFEST for what exp holds now (a forger who rewrote it)."""
    lines = ["arbor-export 1\n"]
    for dp, _, fs in sorted(os.walk(exp)):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, exp)
            if rel == "MANIFEST":
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            lines.append("file %s %d %s\n" % (
                hashlib.sha256(data).hexdigest(), len(data), rel))
    text = "".join(lines)
    text += "end %s\n" % hashlib.sha256(text.encode()).hexdigest()
    with open(os.path.join(exp, "MANIFEST"), "w") as f:
        f.write(text)


def blob_file(exp):
    for dp, _, fs in os.walk(os.path.join(exp, "blobs")):
        for f in fs:
            return os.path.join(dp, f)
    raise Failure("no blob in the export")


def import_refused(net, gap, exp, want):
    gap.stop()
    rc, out = relay_run(gap, "--import", exp)
    if rc == 0 or not re.search(want, out):
        raise Failure("import of %s: rc %d, wanted %r in:\n%s" %
                      (exp, rc, want, out[-2000:]))


def test_airgap_round_trip():
    with Net("airgap") as net:
        root = net.root(enroll_token=TOKEN)
        r1 = net.relay([root], report_interval="300ms")
        gap = net.relay([], name="gap", report_interval="300ms")
        # Enrolled through the connected site, then carried to the
        # air-gapped one (enrolment itself does not cross the gap).
        trees = [fixture(net, "debian12-old-openssl") for _ in range(4)]
        c1, a1, a2, a3 = [agent(net, r1, t) for t in trees]
        wait_until(lambda: status(net)["endpoints"] == 4, 30, "enrolment")
        move(a1, gap)
        move(a2, gap)
        a3.stop()

        shas = publish_openssl(net)
        sha = shas["payload.bin"]
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 1}, 30,
                   "the connected agent to be fixed")
        if a1.has_blob(sha) or gap.has_blob(sha):
            raise Failure("the air-gapped site got the patch without "
                          "an import")

        exp = os.path.join(net.dir, "export-1")
        out = net.ctl("export", exp).stdout
        if not re.search(r"exported head seq \d+: 1 policies", out):
            raise Failure("export said: %r" % out)
        p = net.ctl("export", exp, check=False)
        if p.returncode == 0 or "not empty" not in p.stderr:
            raise Failure("export over an export: %r" % p.stderr)
        import_at(gap, exp)
        wait_until(lambda: all(os.path.exists(os.path.join(t, "installed"))
                               for t in trees[1:3]), 30,
                   "the air-gapped agents to install the patch")

        # Their reports come back on the media, counted once.
        rep = os.path.join(net.dir, "reports-1")

        def carried():
            rc, out = relay_run(gap, "--export-reports", rep)
            if rc != 0:
                raise Failure("export-reports: %s" % out)
            net.ctl("import-reports", rep)
            return counts(net, "demo-openssl") == {"fixed": 3}
        wait_until(carried, 30, "the site's reports to reach the root")
        # A reports file cut or changed is refused whole.
        with open(rep, "rb") as f:
            good = f.read()
        for name, data in (("cut", good[:-7]),
                           ("changed", good[:40] + bytes([good[40] ^ 1]) +
                            good[41:])):
            f2 = os.path.join(net.dir, "reports-" + name)
            with open(f2, "wb") as f:
                f.write(data)
            p = net.ctl("import-reports", f2, check=False)
            if p.returncode == 0 or "nothing imported" not in p.stderr:
                raise Failure("import-reports %s: %r" % (name, p.stderr))
        before = status(net)
        p = net.ctl("import-reports", rep)
        if counts(net, "demo-openssl") != {"fixed": 3} or \
                status(net)["endpoints"] != before["endpoints"]:
            raise Failure("a second import changed the counts: %s" %
                          p.stdout)

        # An export of the same head again: nothing new, nothing lost.
        exp2 = os.path.join(net.dir, "export-2")
        net.ctl("export", exp2)
        import_at(gap, exp2)

        # A newer catalog on the media, first damaged in every way: each
        # refusal names the file, and the relay keeps what it had.
        seq = net.head_seq()
        shas2 = publish_openssl(net, version=2)
        exp3 = os.path.join(net.dir, "export-3")
        net.ctl("export", exp3)
        bad = os.path.join(net.dir, "bad")

        def copy(name):
            d = os.path.join(bad, name)
            shutil.copytree(exp3, d)
            return d
        d = copy("tampered-blob")
        with open(blob_file(d), "r+b") as f:
            f.seek(100)
            f.write(b"\xff\x00\xff")
        import_refused(net, gap, d, r"%s: does not hash to what the "
                       r"manifest says" % re.escape(blob_file(d)))
        manifest(d)             # a forger rewrites the manifest too
        import_refused(net, gap, d, r"%s: .*hash" % re.escape(blob_file(d)))
        d = copy("bad-signature")
        with open(os.path.join(d, "head.signed"), "r+b") as f:
            data = bytearray(f.read())
            data[10] ^= 0x40    # inside the signed body
            f.seek(0)
            f.write(data)
        manifest(d)
        import_refused(net, gap, d, r"head\.signed: .*signature")
        d = copy("cut")
        pdir = os.path.join(d, "policies")
        pol = os.path.join(pdir, os.listdir(pdir)[0])
        with open(pol, "r+b") as f:
            f.truncate(os.path.getsize(pol) // 2)
        import_refused(net, gap, d, r"%s: \d+ bytes, the manifest says" %
                       re.escape(pol))
        d = copy("no-manifest")
        os.unlink(os.path.join(d, "MANIFEST"))
        import_refused(net, gap, d, r"MANIFEST: .*written last")
        d = copy("missing-policy")
        pdir = os.path.join(d, "policies")
        os.unlink(os.path.join(pdir, os.listdir(pdir)[0]))
        manifest(d)
        import_refused(net, gap, d, r"policies/[0-9a-f]+\.signed: policy "
                       r"demo-openssl v2 missing")
        d = copy("mix-and-match")      # v1's signed policy under v2's name
        pdir = os.path.join(d, "policies")
        v2 = os.path.join(pdir, os.listdir(pdir)[0])
        v1dir = os.path.join(exp, "policies")
        shutil.copy(os.path.join(v1dir, os.listdir(v1dir)[0]), v2)
        manifest(d)
        import_refused(net, gap, d, r"%s: policy demo-openssl v2: .*not in "
                       r"the verified head" % re.escape(v2))
        if gap.has_blob(shas2["payload.bin"]):
            raise Failure("a refused import left its blob in the cache")
        gap.start()
        gap.wait_log(r"serving")
        move(a1, gap)
        if a1.has_log(r"demo-openssl v2"):
            raise Failure("a refused import reached an agent")

        # The good copy is taken; then the older export, a rollback, is
        # refused.
        import_at(gap, exp3)
        import_refused(net, gap, exp, r"head\.signed: older than the head "
                       r"held \(seq %d\)" % (seq + 1))

        # Still serving what it took: a third agent installs v2 from it.
        gap.start()
        gap.wait_log(r"serving")
        move(a3, gap)
        wait_until(lambda: a3.has_log(r"policy demo-openssl v2"), 30,
                   "the third agent to see v2 from the air-gapped relay")

        # The v2 reports wait in the site's spool; a copy goes on the
        # media, then the site is connected at last and its spool (kept,
        # not dropped at export) goes up over the network.  Neither the
        # network nor the file counts anything twice.
        rep3 = os.path.join(net.dir, "reports-3")

        def spooled():
            rc, out = relay_run(gap, "--export-reports", rep3)
            return rc == 0 and re.search(r": ([3-9]|\d\d+) reports", out)
        wait_until(spooled, 30, "the site's v2 reports in its spool")
        gap.stop()
        i = gap.args.index("--node_id")
        gap.args[i:i] = ["--parent", root.address()]
        gap.start()
        gap.wait_log(r"serving")
        want = {"fixed": 1, "not-applicable": 3}
        wait_until(lambda: counts(net, "demo-openssl") == want, 30,
                   "every endpoint's v2 report over the network")
        for f in (rep3, rep):
            out = net.ctl("import-reports", f).stdout
            if counts(net, "demo-openssl") != want:
                raise Failure("%s counted again: %r (%s)" % (
                    f, counts(net, "demo-openssl"), out))


if __name__ == "__main__":
    run([test_airgap_round_trip])
