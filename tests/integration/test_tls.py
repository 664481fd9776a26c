"""TLS on every link: a tree over tls+tcp:// publishes, pushes and reports
end to end (one agent on nng's mbedTLS engine, the rest on OpenSSL's); a child without a client certificate, with one from another
CA, with an expired one, or a parent whose certificate names another name,
gets no link; plain tcp:// off loopback is refused unless allowed."""

import os
import subprocess

from arbortest import BIN, Net, run, wait_until, Failure
from test_reports import fixture, publish_openssl, counts, status, TOKEN


def tls_agent(net, relay, name, facts, **kw):
    c = net.tls_conf(name, "--client")
    c.update(kw)
    return net.agent([relay], name=name, facts_root=facts,
                     enroll_token=TOKEN, report_delay="20ms", **c)


def test_tls_tree():
    with Net("tls-tree") as net:
        root = net.root(tls=True, enroll_token=TOKEN)
        relay = net.relay([root], tls=True, report_interval="300ms")
        if not relay.svc.startswith("tls+tcp://"):
            raise Failure("relay not on TLS: %s" % relay.svc)
        # One agent on nng's own TLS (mbedTLS) beside the OpenSSL engine
        # every other node uses: the two interoperate.
        agents = [tls_agent(net, relay, "ep%d" % i,
                            fixture(net, "debian12-old-openssl"),
                            **({"tls_engine": "mbedtls"} if i else {}))
                  for i in range(2)]
        wait_until(lambda: status(net)["endpoints"] == 2, 30,
                   "both agents to enrol over TLS")
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 2}, 60,
                   "both reports to reach the root over TLS")
        # A push crosses the same links.
        data = os.urandom(100000)
        sha = net.publish("urgent", 1, {"u.bin": data})["u.bin"]
        net.ctl("push", "urgent")
        wait_until(lambda: all(a.has_blob(sha) for a in agents), 30,
                   "the pushed blob on every agent")


def refused(net, relay, name, conf, pattern):
    """An agent with conf gets no link to relay: nothing enrols, and its
    log or the relay's shows the handshake failing."""
    a = net.agent([relay], name=name, enroll_token=TOKEN, **conf)
    try:
        a.wait_log(r"enrol|cannot|timed out", timeout=20)
        wait_until(lambda: a.has_log(pattern), 20,
                   "%s: %r in its log" % (name, pattern))
        if a.has_log(r"enrolled"):
            raise Failure("%s enrolled over a refused link" % name)
    finally:
        a.stop()


def test_tls_refusals():
    with Net("tls-refuse") as net:
        root = net.root(tls=True, enroll_token=TOKEN)
        relay = net.relay([root], tls=True)
        ca = os.path.join(net.ca(), "ca.crt")
        good = net.tls_conf("good", "--client")
        # Control: the same agent with a good certificate enrols.
        a = net.agent([relay], name="good", enroll_token=TOKEN, **good)
        wait_until(lambda: status(net)["endpoints"] == 1, 30,
                   "the good agent to enrol")
        a.stop()

        # No client certificate: the relay requires one.
        refused(net, relay, "nocert", {"tls_ca": ca}, r"timed out")
        # The relay says why, in OpenSSL's words.
        wait_until(lambda: relay.has_log(r"tls: handshake: .*certificate"),
                   20, "the relay to log the missing certificate")
        # A certificate from another CA.
        other = os.path.join(net.dir, "other-ca")
        net.ctl("ca", "init", other)
        o = net.cert("stranger", "--client", ca=other)
        refused(net, relay, "wrongca", {"tls_ca": ca, "tls_cert": o + ".crt",
                                        "tls_key": o + ".key"},
                r"timed out")
        # An expired certificate (valid for an hour, two days ago).
        e = net.cert("expired", "--client", "--backdate", "2d",
                     "--valid", "1h")
        out = subprocess.run(["openssl", "x509", "-in", e + ".crt",
                              "-noout", "-checkend", "0"],
                             stdout=subprocess.PIPE)
        if out.returncode == 0:
            raise Failure("the backdated certificate is still valid")
        refused(net, relay, "expired", {"tls_ca": ca, "tls_cert": e + ".crt",
                                        "tls_key": e + ".key"},
                r"timed out")
        wait_until(lambda: relay.has_log(r"peer certificate: certificate "
                                         r"has expired"), 20,
                   "the relay to log the expired certificate")
        # The parent's certificate does not carry the name expected.
        w = dict(good)
        bad = "%s %s wrong.arbor" % (relay.svc, relay.pub)
        a = net.agent([bad], name="wrongname", enroll_token=TOKEN, **w)
        try:
            a.wait_log(r"timed out", timeout=30)
            if a.has_log(r"enrolled"):
                raise Failure("enrolled with a parent of another name")
        finally:
            a.stop()
        if status(net)["endpoints"] != 1:
            raise Failure("a refused agent enrolled: %r" % status(net))


def test_plain_off_loopback():
    with Net("tls-plain") as net:
        net.root(tls=True)
        conf = os.path.join(net.dir, "relay.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\npubkey = %s\nsvc = tcp://0.0.0.0:1\n"
                    "pub = tcp://0.0.0.0:2\n"
                    "parent = tcp://10.9.9.9:1 tcp://10.9.9.9:2\n" %
                    (os.path.join(net.dir, "r"), net.pubkey))
        p = subprocess.run([BIN["relay"], "-n", "-c", conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        if p.returncode == 0 or "plain tcp:// off loopback" not in p.stdout:
            raise Failure("plain tcp:// off loopback accepted: %s" %
                          p.stdout)
        with open(conf, "a") as f:
            f.write("allow_plain = yes\n")
        p = subprocess.run([BIN["relay"], "-n", "-c", conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        if "plain tcp://" in p.stdout:
            raise Failure("allow_plain did not allow: %s" % p.stdout)


if __name__ == "__main__":
    run([test_tls_tree, test_tls_refusals, test_plain_off_loopback])
