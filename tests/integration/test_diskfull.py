"""A relay whose disk fills up: the download that cannot fit fails with
its reason, which reaches the root as the endpoints' state
download-failed; the agents retry with a back-off, not every two seconds
for ever; and an emergency patch pushed meanwhile still lands.  The
relay's data directory is a small tmpfs the test mounts (it needs the
right to mount: without it the test says SKIP and why)."""

import json
import os
import re
import subprocess
import tempfile
import time

from arbortest import Net, run, wait_until, Failure

TOKEN = "enrol-secret-1"
MIB = 1 << 20


def mount_small(path, size):
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise Failure("cannot mount a small tmpfs for the relay: %s" %
                      p.stdout.strip())


def can_mount():
    """Whether this process may mount a tmpfs (root with the right to);
    the reason if not."""
    d = tempfile.mkdtemp(prefix="arbor-mount-")
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m",
                            "tmpfs", d], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            return p.stdout.strip() or "mount failed"
        subprocess.run(["umount", d])
        return None
    finally:
        os.rmdir(d)


def counts(net, pid):
    s = json.loads(net.ctl("status", "--json", pid).stdout)
    for p in s["policies"]:
        if p["id"] == pid:
            return {k: v for k, v in p["counts"].items() if v}
    return {}


def test_relay_disk_full():
    with Net("diskfull") as net:
        disk = os.path.join(net.dir, "relay-disk")
        mount_small(disk, "6m")
        try:
            root = net.root(enroll_token=TOKEN)
            relay = net.relay([root], data_dir=os.path.join(disk, "r"),
                              map_size="2M")
            facts = os.path.join(net.dir, "facts")
            os.makedirs(facts)
            agent = net.agent([relay], enroll_token=TOKEN,
                              facts_root=facts, report_delay="20ms")
            wait_until(lambda: json.loads(net.ctl("status", "--json")
                                          .stdout)["endpoints"] == 1, 10,
                       "enrolment")
            t0 = time.monotonic()
            big = net.publish("big", 1, {"big.bin": os.urandom(12 * MIB)},
                              applicability='!file.exists("/big")',
                              action='touch "$ARBOR_FACTS_ROOT/big"')
            hexid = big["big.bin"][:12]
            wait_until(lambda: counts(net, "big") ==
                       {"download-failed": 1}, 60,
                       "the root to hear that the download failed")
            detail = json.loads(net.ctl("endpoints", "--json", "--policy", "big")
                                .stdout)
            if "No space left" not in json.dumps(detail):
                raise Failure("the reason is not named: %s" % detail)

            net.publish("hot", 1, {"hot.bin": os.urandom(100000)},
                        applicability='!file.exists("/hot")',
                        action='touch "$ARBOR_FACTS_ROOT/hot"')
            net.ctl("push", "hot")
            wait_until(lambda: counts(net, "hot") == {"fixed": 1}, 20,
                       "the pushed patch to land beside the stuck one")

            # Retries back off (2 s, 4 s, 8 s...): in 20 s a handful, not
            # one every two seconds for ever.
            time.sleep(max(0, 20 - (time.monotonic() - t0)))
            tries = len(re.findall(r"agent: blob %s: fetch failed" % hexid,
                                   agent.text()))
            if not 2 <= tries <= 6:
                raise Failure("%d attempts at the big blob in 20 s" % tries)
            if not relay.has_log(r"blob %s: fetch failed \(\d+ in a "
                                 r"row\): No space left" % hexid):
                raise Failure("the relay did not say why, or back off")
            print("     (%d attempts at the blob that cannot fit in 20 s)"
                  % tries)
        finally:
            for n in net.nodes:
                n.stop()
            subprocess.run(["umount", "-l", disk])


def main():
    why = can_mount()
    if why is not None:
        # Without the right to mount, there is no small disk to fill.
        print("SKIP test_relay_disk_full: cannot mount a tmpfs here (%s)"
              % why)
        return
    run([test_relay_disk_full])


if __name__ == "__main__":
    main()
