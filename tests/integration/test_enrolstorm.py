"""Enrolments through a relay when many endpoints enrol at once over a
slow path to the root.

A swarm of simulated endpoints (real agents in one process) enrols
through a relay whose parent link crosses a proxy that delays every read
(the root two loaded tiers away, say): each agent gives up on its request
long before the root's answer can come back, and asks again.  The relay
sends one enrolment per endpoint, at most a few dozen at a time, joins the
agents' repeated requests to it and answers the late ones with the root's
answer it keeps: every endpoint enrols and the root enrols each once.
Forged enrolments are refused by the relay itself, by name, and never
reach the root."""

import json
import re
import urllib.request

from arbortest import DelayProxy, Net, free_port, run, wait_until, Failure

TOKEN = "storm-token"
N = 200
DELAY = 1.0     # s, each way: the path's round trip is twice this


def metric(url, name):
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    m = re.search(r"^%s (\S+)$" % name, text, re.M)
    if m is None:
        raise Failure("no %s in %s" % (name, url))
    return float(m.group(1))


def test_storm_enrols_each_once():
    with Net("enrolstorm") as net:
        root = net.root(enroll_token=TOKEN)
        host, port = root.svc.split("//")[1].rsplit(":", 1)
        proxy = DelayProxy([(host, int(port))], DELAY)
        murl = "http://127.0.0.1:%d" % free_port()
        try:
            relay = net.relay(["tcp://127.0.0.1:%d %s" % (proxy.ports[0],
                                                          root.pub)],
                              timeout="10s", metrics_listen=murl)
            swarm = net._node("agent", "swarm", [
                "--swarm", str(N), "--data_dir", net.dir + "/swarm",
                "--pubkey", net.pubkey, "--relay", relay.address(),
                "--enroll_token", TOKEN, "--node_id", "swarm",
                "--poll_interval", "30m", "--poll_jitter", "1m",
                # Far shorter than the path's round trip.
                "--timeout", "500ms"])
            swarm.start()

            def enrolled():
                doc = json.loads(net.ctl("status", "--json").stdout)
                return doc["endpoints"]
            wait_until(lambda: enrolled() == N, 120,
                       "all %d endpoints to enrol (have %d)"
                       % (N, enrolled()))
            swarm.wait_log(r"swarm: all %d endpoints enrolled" % N, 60)
            took = len(re.findall(r"root: endpoint \S+ \(\S+\) enrolled",
                                  root.text()))
            if took != N:
                raise Failure("the root enrolled %d times for %d "
                              "endpoints" % (took, N))
            url = murl + "/metrics"
            again = metric(url, "arbor_enrolments_joined_total") + \
                metric(url, "arbor_enrolments_answered_total")
            if again == 0:
                raise Failure("no agent asked again: the test shows "
                              "nothing")

            # Forgeries: refused at the relay, by name; the root sees none.
            for lie, why in (("badsig", r"bad signature"),
                             ("otherid", r"not pinned")):
                rc, out = net.forge_cmd("enrol", relay.svc, TOKEN, lie)
                if rc != 0 or not re.search(r"enrol: error -?\d+ .*(%s)"
                                            % why, out):
                    raise Failure("forged enrolment (%s): %r" % (lie, out))
            if "enrolment refused" in root.text():
                raise Failure("a forged enrolment reached the root")
            relay.wait_log(r"relay: enrolment refused: ", 5)
            # An honest one still goes through.
            rc, out = net.forge_cmd("enrol", relay.svc, TOKEN, "good",
                                    timeout=60)
            if rc != 0 or "enrol: enrolled" not in out:
                raise Failure("an honest enrolment after the forgeries: "
                              "%r" % out)
            swarm.stop()
        finally:
            proxy.close()


if __name__ == "__main__":
    run([test_storm_enrols_each_once])
