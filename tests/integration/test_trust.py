"""Every trust rule of the design, enforced by real running nodes.

Each attack hands the bad object, from arbor-forge acting as a parent, to a
relay (with an agent under it) and to an agent directly under the forge,
and shows that it is rejected (the rejection is logged at the relay and at
the direct agent), not cached (no head or blob in the relay's store or
blob directory), and not served (the agent under the relay never gets it,
and asking the relay for it gets nothing).  A control case with an honest
forge shows the same checks see acceptance, so the attack tests are not
vacuous.  Then: a blob damaged on disk in a relay's cache is caught and
healed, and malformed or oversized messages get an error reply (or a
dropped connection) while the node goes on serving.
"""

import os
import re

from arbortest import Net, run, wait_until, Failure, sha256_hex

HERE = os.path.dirname(os.path.abspath(__file__))
POLL = {"poll_interval": "500ms", "poll_jitter": "100ms"}
CHUNK = 1024 * 1024
WIRE_MAX = 1024 * 1024 + 64 * 1024     # ARB_WIRE_MAX in arbor/wire.h


def _codes():
    """ARB_E* name -> value, read from error.h so the test follows it."""
    path = os.path.join(HERE, "..", "..", "lib", "include", "arbor",
                        "error.h")
    with open(path) as f:
        names = re.findall(r"^\s*(ARB_E[A-Z]+)\s*[,=]", f.read(), re.M)
    return {n: -1000 + i for i, n in enumerate(names)}


E = _codes()

REASON = {
    "badsig": "bad signature",
    "unpinned": "signed by a key that is not pinned",
    "rollback": "rollback",
    "expired": r"expired \(freeze\)",
    "mixmatch": r"mix-and-match",
    "longblob": r"endless data",
    "badhash": "hash mismatch",
}


def count(node, pattern):
    return len(re.findall(pattern, node.text()))


def wait_count(node, pattern, n, timeout=15):
    wait_until(lambda: count(node, pattern) >= n, timeout,
               "%s to log %r %d times" % (node.name, pattern, n))


def forbid(node, pattern, why):
    m = re.search(pattern, node.text())
    if m:
        raise Failure("%s: %s: log has %r" % (node.name, why, m.group(0)))


def blob_files(node):
    """Every file in the node's blob directory (complete and partial)."""
    out = []
    for sub in ("sha256", "tmp"):
        for d, _, files in os.walk(os.path.join(node.dir, "blobs", sub)):
            out += [os.path.join(d, f) for f in files]
    return out


def no_blob(node, sha):
    """The blob is not in place, and no .part of it is left over.

    A complete blob appears only after it verified, so its absence holds at
    any instant.  A .part exists for a moment during each fetch attempt
    (the node keeps retrying the bad parent); one that rejection left
    behind would be there at every instant, so wait for an instant
    without one."""
    if os.path.exists(node.blob_path(sha)):
        raise Failure("%s cached the bad blob" % node.name)
    files = [f for f in blob_files(node) if "/sha256/" in f]
    if files:
        raise Failure("%s holds blob files %r" % (node.name, files))
    part = os.path.join(node.dir, "blobs", "tmp", sha + ".part")
    wait_until(lambda: not os.path.exists(part), 5,
               "%s to hold no %s" % (node.name, part))


def verbose_agent(net, parents, **conf):
    """An agent with -v: it logs every poll, so absence can be shown."""
    c = dict(POLL)
    c.update(conf)
    a = net.agent(parents, start=False, **c)
    a.args.append("-v")
    a.start()
    a.wait_log(r"started")
    return a


def forge_tree(net, mode, data, **opts):
    """forge(mode) <- relay <- agent_r, and forge <- agent_d."""
    path = os.path.join(net.dir, "payload-%s.bin" % mode)
    with open(path, "wb") as f:
        f.write(data)
    forge = net.forge(mode, path, **opts)
    relay = net.relay([forge], **POLL)
    agent_r = verbose_agent(net, [relay])
    agent_d = verbose_agent(net, [forge])
    return forge, relay, agent_r, agent_d


def relay_head(net, relay):
    """What the relay serves as its head: 'seq N' or 'none CODE'."""
    rc, out = net.forge_cmd("head", relay.svc)
    if rc != 0:
        raise Failure("forge head %s: rc %d: %s" % (relay.svc, rc, out))
    return out


def refused_head_or_policy(mode):
    """A head or policy attack: nothing of it gets past the first node."""
    data = os.urandom(300000)
    sha = sha256_hex(data)
    with Net("trust-" + mode) as net:
        forge, relay, agent_r, agent_d = forge_tree(net, mode, data)
        what = "policy forged v1" if mode in ("mixmatch", "foreign") \
            else "head"
        reason = REASON["mixmatch" if mode == "foreign" else mode]
        pat = r"rejected %s from %s: .*%s" % (what, re.escape(forge.svc),
                                              reason)
        # Rejected, and again at every poll: the forge's notifications
        # make the relay poll each second, the direct agent every 500 ms.
        wait_count(relay, pat, 3)
        wait_count(agent_d, pat, 3)
        # The agent under the relay polled too, and found nothing to take.
        wait_count(agent_r, r"agent: get head: not found", 3)
        # Not cached, not served, not acted on.
        for n in (relay, agent_r, agent_d):
            forbid(n, r"head seq \d+", "took a head")
            forbid(n, r"downloaded|bytes verified", "took a blob")
            no_blob(n, sha)
        forbid(agent_r, r"rejected", "was handed the bad object")
        got = relay_head(net, relay)
        if got != "none %d" % E["ARB_ENOTFOUND"]:
            raise Failure("relay serves a head after rejecting it: %s" % got)
        rc, out = net.forge_cmd("chunk", relay.svc, sha, 0, len(data))
        if not out.startswith("error %d " % E["ARB_ENOTFOUND"]):
            raise Failure("relay serves the blob of a rejected %s: %s" %
                          (what, out))
        if "forge: policy" not in forge.text() and what != "head":
            raise Failure("the forge was never asked for the policy")


def test_control_good_forge():
    """An honest forge: the same checks do see acceptance, of chunks
    framed (as relays send them) and not (as an older parent does); the
    relay answers a client that does not ask for framing unframed."""
    for opts in ({}, {"unframed": 1}):
        good_forge(**opts)


def good_forge(**opts):
    data = os.urandom(CHUNK + 4321)        # two chunks
    sha = sha256_hex(data)
    with Net("trust-good") as net:
        forge, relay, agent_r, agent_d = forge_tree(net, "good", data,
                                                    **opts)
        for n in (relay, agent_r, agent_d):
            n.wait_log(r"head seq 5: 1 policies")
        for a in (agent_r, agent_d):
            a.wait_log(r"policy forged v1: downloaded, 1 blobs verified")
            if not a.has_blob(sha):
                raise Failure("%s lacks the blob" % a.name)
        if not relay.has_blob(sha):
            raise Failure("relay did not cache the blob")
        for n in (relay, agent_r, agent_d):
            forbid(n, r"rejected", "rejected an honest parent")
        if relay_head(net, relay) != "seq 5":
            raise Failure("relay head: %s" % relay_head(net, relay))
        rc, out = net.forge_cmd("chunk", relay.svc, sha, CHUNK, 4321)
        if out != "chunk 4321 sha256=%s" % sha256_hex(data[CHUNK:]):
            raise Failure("relay chunk: %s" % out)


def test_bad_signature():
    refused_head_or_policy("badsig")


def test_unpinned_key():
    refused_head_or_policy("unpinned")


def test_expired_head():
    refused_head_or_policy("expired")


def test_mix_and_match():
    refused_head_or_policy("mixmatch")


def test_foreign_policy():
    refused_head_or_policy("foreign")


def test_rollback():
    data = os.urandom(200000)
    with Net("trust-rollback") as net:
        forge, relay, agent_r, agent_d = forge_tree(net, "good", data,
                                                    seq=10)
        for n in (relay, agent_r, agent_d):
            n.wait_log(r"head seq 10: 1 policies")
        # The same parent, on the same addresses, now offers seq 5.
        forge.stop()
        i = forge.args.index("--seq")
        forge.args[i + 1] = "5"
        forge.start()
        wait_count(forge, r"forge: serving .* head seq 5", 1)
        pat = r"rejected head from %s: rollback" % re.escape(forge.svc)
        # Three rejections at the relay span at least 1 s of 500 ms polls:
        # time for the agent under it to have polled twice.  A poll that
        # finds the seq it holds logs nothing, so that is all we can show.
        wait_count(relay, pat, 3)
        wait_count(agent_d, pat, 3)
        for n in (relay, agent_r, agent_d):
            forbid(n, r"head seq 5", "went back to seq 5")
        forbid(agent_r, r"rejected", "was handed the old head")
        if relay_head(net, relay) != "seq 10":
            raise Failure("relay head after rollback: %s" %
                          relay_head(net, relay))


def refused_blob(mode, size, reason, code, **opts):
    """A blob attack: head and policy are genuine, the bytes are not.  The
    forge frames its chunks as a relay does (the bytes after the
    envelope), or with unframed=1 sends them inside it, as an older
    parent would."""
    data = os.urandom(size)
    sha = sha256_hex(data)
    with Net("trust-%s-%d" % (mode, size)) as net:
        forge, relay, agent_r, agent_d = forge_tree(net, mode, data, **opts)
        for n in (relay, agent_r, agent_d):
            n.wait_log(r"head seq 5: 1 policies")
        short = sha[:12]
        # The relay fetches only for a child that asks: agent_r asks, the
        # relay rejects what the forge sends and tells agent_r why; each
        # retry of agent_r (every 2 s) makes the relay try again.
        pat = r"%%s: rejected blob %s from %%s: .*%s" % (short, reason)
        wait_count(relay, pat % ("relay", re.escape(forge.svc)), 2)
        wait_count(agent_d, pat % ("agent", re.escape(forge.svc)), 2)
        # agent_r hears the relay's verdict, reason and all.
        wait_count(agent_r, pat % ("agent", re.escape(relay.svc)), 2)
        for n in (relay, agent_r, agent_d):
            forbid(n, r"downloaded|bytes verified", "took the bad blob")
            no_blob(n, sha)
        rc, out = net.forge_cmd("chunk", relay.svc, sha, 0,
                                min(size, CHUNK))
        # Asked again, the relay fetches again, rejects again, and says so.
        if not out.startswith("error %d " % E[code]):
            raise Failure("relay serves the bad blob: %s" % out)


def test_endless_data():
    """Each chunk is 4096 bytes longer than asked for, and the last one
    claims a total past the declared size."""
    refused_blob("longblob", 300000, REASON["longblob"], "ARB_ETOOLONG")


def test_endless_data_full_chunk():
    """The same on full 1 MiB chunks: the reply carries more than any
    chunk may, which the wire decoder already calls endless data."""
    refused_blob("longblob", 2 * CHUNK + 999, REASON["longblob"],
                 "ARB_ETOOLONG")


def test_bad_hash():
    """The middle byte flipped: every chunk is the size asked for, so only
    the hash of the whole catches it."""
    refused_blob("badhash", 2 * CHUNK + 999, REASON["badhash"],
                 "ARB_EBADHASH")


def test_unframed_attacks():
    """The same lies from a parent that does not frame its chunks."""
    refused_blob("longblob", 300000, REASON["longblob"], "ARB_ETOOLONG",
                 unframed=1)
    refused_blob("longblob", 2 * CHUNK + 999, REASON["longblob"],
                 "ARB_ETOOLONG", unframed=1)
    refused_blob("badhash", 2 * CHUNK + 999, REASON["badhash"],
                 "ARB_EBADHASH", unframed=1)


def test_corrupt_cache_heals():
    with Net("trust-corrupt") as net:
        root = net.root()
        relay = net.relay([root])
        agent1 = net.agent([relay])
        data = os.urandom(3 * CHUNK + 17)
        sha = net.publish("big", 1, {"payload.bin": data})["payload.bin"]
        wait_until(lambda: agent1.has_blob(sha), 20, "agent1 to hold it")
        if not relay.has_blob(sha):
            raise Failure("relay did not cache the blob")
        # Damage one byte of chunk 1 of the relay's cached copy.
        p = relay.blob_path(sha)
        mode = os.stat(p).st_mode
        os.chmod(p, mode | 0o200)
        with open(p, "r+b") as f:
            f.seek(CHUNK + CHUNK // 2)
            b = f.read(1)
            f.seek(CHUNK + CHUNK // 2)
            f.write(bytes([b[0] ^ 0x40]))
        os.chmod(p, mode)
        if relay.has_blob(sha):
            raise Failure("the damage did not take")
        agent2 = net.agent([relay])
        relay.wait_log(r"blob %s: chunk 1 damaged on disk; dropping it and "
                       r"fetching it again" % sha[:12])
        wait_until(lambda: agent2.has_blob(sha), 20, "agent2 to hold it")
        wait_until(lambda: relay.has_blob(sha), 10,
                   "the relay's copy to hash right again")
        # Fetched twice: once at first, once to heal.
        wait_count(relay, r"relay: blob %s: %d bytes verified" %
                   (sha[:12], len(data)), 2)
        agent2.wait_log(r"policy big v1: downloaded, 1 blobs verified")
        forbid(agent2, r"rejected|fetch failed", "was handed bad bytes")
        if count(agent2, r"blob %s: \d+ bytes verified" % sha[:12]) != 1:
            raise Failure("agent2 verified the blob more than once")


def test_malformed_and_oversized():
    with Net("trust-malformed") as net:
        root = net.root()
        relay = net.relay([root])
        agent0 = net.agent([relay])
        observed = []
        cases = [
            ("garbage", ["--garbage", 5000]),
            ("over-limit", ["--oversize", WIRE_MAX + 1000]),
            ("8MiB", ["--oversize", 8 * CHUNK]),
        ]
        for i, (name, args) in enumerate(cases):
            for target in (relay, root):
                rc, out = net.forge_cmd("send", target.svc, *args)
                observed.append("%s -> %s: %s" % (name, target.name, out))
                if name == "garbage":
                    ok = rc == 0 and out.startswith(
                        "error %d " % E["ARB_EPROTO"])
                elif name == "over-limit":
                    # Under nng's receive limit (ARB_WIRE_MAX + 4096),
                    # over ours: the node reads it and answers.
                    ok = rc == 0 and out.startswith(
                        "error %d " % E["ARB_ETOOBIG"])
                else:
                    # Over nng's receive limit: the connection is dropped
                    # before the node sees a message.
                    ok = rc == 2 and out.startswith("noreply")
                if not ok:
                    raise Failure("%s to %s: rc %d: %s" %
                                  (name, target.name, rc, out))
                if not target.running():
                    raise Failure("%s died of %s" % (target.name, name))
            # The node goes on serving everyone: a new policy still reaches
            # a new agent and the old one.
            sha = net.publish("after-%d" % i, 1,
                              {"p.bin": os.urandom(5000 + i)})["p.bin"]
            fresh = net.agent([relay])
            wait_until(lambda: fresh.has_blob(sha) and agent0.has_blob(sha),
                       20, "agents to get the policy published after %s" %
                       name)
        relay.wait_log(r"malformed request \(5000 bytes\): malformed")
        relay.wait_log(r"malformed request \(%d bytes\): message too large" %
                       (WIRE_MAX + 1000))
        for line in observed:
            print("     " + line)


if __name__ == "__main__":
    run([test_control_good_forge, test_bad_signature, test_unpinned_key,
         test_expired_head, test_mix_and_match, test_foreign_policy,
         test_rollback, test_endless_data, test_endless_data_full_chunk,
         test_bad_hash, test_unframed_attacks, test_corrupt_cache_heals,
         test_malformed_and_oversized])
