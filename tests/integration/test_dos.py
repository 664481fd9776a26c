"""Denial of service by a hostile child: each test hands a real root or
relay what a child that wants to stop the tree would send (relay info that
grows or pins, a connection that never reads, node ids without end, a
spool filled up, bad signatures by the thousand, messages that inflate
when unpacked) and checks that everyone else is still served."""

import json
import os
import re
import subprocess
import time

from arbortest import Net, run, wait_until, Failure, BIN, SCALE

TOKEN = "enrol-secret-1"


def status(net):
    return json.loads(net.ctl("status", "--json").stdout)


def forged_fixed(net):
    s = json.loads(net.ctl("status", "--json", "forged").stdout)
    return sum(p["counts"].get("fixed", 0) for p in s["policies"]
               if p["id"] == "forged")


def tree(net, timeout=10):
    """arborctl tree --json, which must answer within timeout seconds."""
    t0 = time.monotonic()
    try:
        p = net.ctl("tree", "--json", timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise Failure("arborctl tree did not answer in %d s" % timeout)
    if p.returncode != 0:
        raise Failure("arborctl tree failed after %.1f s: %s" %
                      (time.monotonic() - t0, p.stderr.strip()))
    return json.loads(p.stdout)


def vm_hwm_kib(node):
    with open("/proc/%d/status" % node.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise Failure("no VmHWM for %s" % node.name)


def test_relay_info_at_a_relay():
    """Two batches whose relay info carries 64 KiB parents once grew the
    relay's map of relays below past what one upward batch may hold, and
    the subtree stopped reporting.  Now the relay refuses them and its
    reports keep reaching the root."""
    with Net("dos-relayinfo-relay") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], name="relay1", report_interval="200ms")
        for tag in ("a", "b"):
            rc, out = net.forge_cmd("relays", relay.svc, "big", tag)
            if rc != 0:
                raise Failure("forge relays: %d %s" % (rc, out))
        rc, out = net.forge_cmd("endpoint", relay.svc, TOKEN, "6")
        if rc != 0 or "accepted 1" not in out:
            raise Failure("report through the relay: %d %s" % (rc, out))
        wait_until(lambda: forged_fixed(net) == 1, 10,
                   "the report at the root")
        if relay.has_log(r"parent did not take the batch"):
            raise Failure("the relay's batches were refused upward")
        t = tree(net)
        if [r["node_id"] for r in t["relays"]] != ["relay1"]:
            raise Failure("tree: %r" % t["relays"])


def test_relay_info_at_the_root():
    """At the root: relay info with 64 KiB parents, a relay pinned at
    INT64_MAX by another child, a batch of hundreds of relays.  arborctl
    tree answers at once, before and after a restart of the root, and the
    real relay's entry is its own."""
    with Net("dos-relayinfo-root") as net:
        root = net.root(enroll_token=TOKEN)
        net.relay([root], name="relay1", report_interval="200ms")
        wait_until(lambda: [r for r in tree(net)["relays"]
                            if r["node_id"] == "relay1"], 15,
                   "relay1 in the tree")
        for args in (("big", "a"), ("big", "b"), ("pin", "evil"),
                     ("many", "m")):
            rc, out = net.forge_cmd("relays", root.svc, *args)
            if rc != 0:
                raise Failure("forge relays %s: %d %s" % (args, rc, out))
        for when in ("before", "after"):
            if when == "after":
                root.restart()
                wait_until(lambda: len(re.findall(r"serving .* control",
                                                  root.text())) == 2, 10,
                           "the root serving again")
            t = tree(net)
            now = time.time()
            byid = {r["node_id"]: r for r in t["relays"]}
            r1 = byid.get("relay1")
            if r1 is None or abs(r1["last_contact"] - now) > 60 or \
                    r1["parent"] != root.svc:
                raise Failure("%s restart: relay1 is %r" % (when, r1))
            future = [r["node_id"] for r in t["relays"]
                      if r["last_contact"] > now + 60]
            if future:
                raise Failure("%s restart: dated in the future: %r" %
                              (when, future[:5]))
            if any(len(r["parent"]) > 256 for r in t["relays"]):
                raise Failure("%s restart: a 64 KiB parent was kept" % when)
        # relay1 goes on reporting over the pin.
        time.sleep(1)
        r1 = [r for r in tree(net)["relays"] if r["node_id"] == "relay1"][0]
        if r1["head_seq"] > 1000:
            raise Failure("relay1 pinned: %r" % r1)


def test_connection_that_never_reads():
    """One connection sends 300 GetChunk and never reads a reply: it may
    hold only some of the root's contexts, so GetHead from anyone else is
    still answered."""
    with Net("dos-flood") as net:
        root = net.root()
        sha = net.publish("p", 1, {"a.bin": os.urandom(2 << 20)})["a.bin"]
        flood = subprocess.Popen([BIN["forge"], "flood", root.svc, sha,
                                  str(1 << 20), "300", "25"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            line = flood.stdout.readline().strip()
            if not line.startswith("sent "):
                raise Failure("flood: %r" % line)
            time.sleep(1)
            for i in range(3):
                t0 = time.monotonic()
                rc, out = net.forge_cmd("head", root.svc)
                if not out.startswith("seq "):
                    raise Failure("GetHead %d during the flood: %s "
                                  "(%.1f s)" % (i, out,
                                                time.monotonic() - t0))
        finally:
            flood.kill()
            flood.wait()
        root.wait_log(r"requests in flight: refusing more")


def test_children_map_is_bounded():
    """GetHead from ever new node ids: the relay remembers children_max of
    them and no more, and says so."""
    with Net("dos-children") as net:
        root = net.root()
        relay = net.relay([root], name="relay1", children_max="50",
                          report_interval="200ms")
        rc, out = net.forge_cmd("heads", relay.svc, "300", timeout=120)
        if out != "answered 300":
            raise Failure("heads: %s" % out)
        relay.wait_log(r"50 children heard from; flood-\d+ is not counted")
        wait_until(lambda: [r for r in tree(net)["relays"]
                            if r["node_id"] == "relay1" and
                            r["children"] == 50], 15,
                   "relay1 counting 50 children")


def test_spool_is_bounded():
    """A relay whose parent takes nothing (a long report_interval here)
    takes spool_max reports and then refuses batches with a clear error;
    what it acknowledged reaches the root later, all of it."""
    with Net("dos-spool") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], name="relay1", spool_max="3",
                          report_interval="1h", report_max="1000000")
        outs = [net.forge_cmd("endpoint", relay.svc, TOKEN, "6")[1]
                for _ in range(5)]
        took = [o for o in outs if "accepted 1 rejected 0" in o]
        full = [o for o in outs if "spool full" in o]
        if len(took) != 3 or len(full) != 2:
            raise Failure("spool_max 3: %r" % outs)
        relay.wait_log(r"spool full \(3 reports")
        relay.stop()
        i = relay.args.index("--report_interval")
        relay.args[i + 1] = "200ms"
        relay.start()
        wait_until(lambda: forged_fixed(net) == 3, 15,
                   "the 3 acknowledged reports at the root")


def test_bad_signatures_are_capped():
    """A batch of thousands of reports whose signatures fail costs the
    root a bounded number of verifications; the rest are refused
    unverified, counted, and logged."""
    with Net("dos-badsig") as net:
        root = net.root(enroll_token=TOKEN)
        rc, out = net.forge_cmd("badsig", root.svc, TOKEN, "7000")
        line = out.splitlines()[-1] if out else ""
        if not line.startswith("accepted 0 rejected 7000 in "):
            raise Failure("badsig: %d %s" % (rc, out))
        ms = int(line.split()[-2])
        print("     root answered 7000 bad signatures in %d ms" % ms)
        root.wait_log(r"32 bad signatures; the other 6968 reports "
                      r"refused unverified")
        if status(net)["rejected"] != 7000:
            raise Failure("rejected: %r" % status(net))
        if ms > 400 * SCALE:
            raise Failure("the root took %d ms" % ms)


def test_inflating_message():
    """A 1 MiB ReportBatch of empty entries (two bytes each) once made
    protobuf-c allocate tens of MiB before any count was checked; now the
    unpack stops at its budget."""
    with Net("dos-inflate") as net:
        root = net.root()
        before = vm_hwm_kib(root)
        rc, out = net.forge_cmd("inflate", root.svc, str(1 << 20))
        after = vm_hwm_kib(root)
        print("     root peak RSS %d KiB -> %d KiB (+%d KiB) for a 1 MiB "
              "message: %s" % (before, after, after - before, out))
        if not out.startswith("error"):
            raise Failure("inflate: %d %s" % (rc, out))
        if after - before > 12 * 1024:
            raise Failure("peak RSS grew by %d KiB" % (after - before))
        rc, out = net.forge_cmd("head", root.svc)
        if rc != 0:
            raise Failure("root after the message: %s" % out)


if __name__ == "__main__":
    run([test_relay_info_at_a_relay,
         test_relay_info_at_the_root,
         test_connection_that_never_reads,
         test_children_map_is_bounded,
         test_spool_is_bounded,
         test_bad_signatures_are_capped,
         test_inflating_message])
