"""Endpoint certificates from enrolment: an agent with no certificate
makes its TLS key, enrols on the relay's enrolment address (where only the
relay is authenticated and nothing but enrolment is served), gets a
certificate the root's enrolment CA signed for its id, and only then
dials its relay with it; it renews at half the validity over its link;
the enrolment address refuses everything else; a restart keeps the
certificate."""

import os
import re
import stat
import subprocess

from arbortest import Net, free_port, run, wait_until, Failure
from test_reports import fixture, publish_openssl, counts, status, TOKEN


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True,
                          text=True, timeout=30)


def not_after(path):
    return openssl("x509", "-in", path, "-noout", "-enddate").stdout.strip()


def test_certificate_from_enrolment():
    with Net("enrolcert") as net:
        ca = net.ca()
        sub = os.path.join(net.dir, "enrolca")
        net.ctl("ca", "init", "--enrol", ca, sub)
        root = net.root(tls=True, enroll_token=TOKEN, enroll_ca=sub,
                        cert_valid="40s")
        eaddr = "tls+tcp://127.0.0.1:%d" % free_port()
        relay = net.relay([root], tls=True, enroll_svc=eaddr,
                          report_interval="300ms")
        relay.wait_log(r"enrolment only, no client certificate asked")
        d = os.path.join(net.dir, "laptop-tls")
        os.makedirs(d)
        crt, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        cafile = os.path.join(ca, "ca.crt")
        a = net.agent([relay], name="laptop",
                      facts_root=fixture(net, "debian12-old-openssl"),
                      enroll_token=TOKEN, report_delay="20ms",
                      tls_ca=cafile, tls_cert=crt, tls_key=key,
                      enroll_via="%s %s" % (eaddr, relay.tls_name))
        a.wait_log(r"no valid TLS certificate at .*: enrolling at", 20)
        a.wait_log(r"TLS certificate from the root, valid until", 30)
        a.wait_log(r"enrolled as ([0-9a-f]{32})", 30)
        epid = re.search(r"enrolled as ([0-9a-f]{32})", a.text()).group(1)
        if stat.S_IMODE(os.stat(key).st_mode) != 0o600:
            raise Failure("the TLS key is not mode 0600")
        subj = openssl("x509", "-in", crt, "-noout", "-subject", "-issuer")
        if "CN = %s" % epid not in subj.stdout or \
                "Arbor enrolment CA" not in subj.stdout:
            raise Failure("certificate not for %s from the enrolment CA: %s"
                          % (epid, subj.stdout))
        v = openssl("verify", "-CAfile", cafile, "-untrusted", crt, crt)
        if v.returncode != 0:
            raise Failure("the certificate does not chain to the CA: %s"
                          % (v.stdout + v.stderr))
        # The link works with it: a policy is fixed and reported.
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 1}, 60,
                   "the report over the certificate's link")

        # The enrolment address serves nothing else: an agent that uses it
        # as its relay, without a certificate, enrols, but its reports are
        # refused, it gets no head, and the relay's notifications need a
        # certificate.
        sneaky = net.agent(["%s %s %s" % (eaddr, relay.pub, relay.tls_name)],
                           name="sneaky", enroll_token=TOKEN, tls_ca=cafile)
        wait_until(lambda: sneaky.has_log(r"reports not taken by the "
                                          r"relay: permission refused"), 30,
                   "the enrolment address to refuse reports")
        wait_until(lambda: sneaky.has_log(r"tls: .*certificate required"),
                   30, "the relay's pub to refuse a child without one")
        if sneaky.has_log(r"head seq"):
            raise Failure("a head was served on the enrolment address")
        sneaky.stop()

        # Renewal at half of 40 s, over the link.
        first = not_after(crt)
        wait_until(lambda: a.has_log(r"asking for a new one"), 60,
                   "the agent to renew its certificate")
        wait_until(lambda: not_after(crt) != first, 30,
                   "a new certificate on disk")
        if len(re.findall(r"enrolling at", a.text())) != 1:
            raise Failure("the renewal went through first contact again")
        # New connections take the new certificate: a relay restart makes
        # the agent dial again, and its next report arrives.
        relay.restart()
        net.publish("after", 1, {"a.bin": os.urandom(1000)},
                    action="exit 0", applicability="true")
        wait_until(lambda: sum(counts(net, "after").values()) == 1, 60,
                   "a report after the renewal, over a new connection")
        # A restart keeps the certificate: no first contact again.
        a.restart()
        wait_until(lambda: len(re.findall(r"\) started", a.text())) == 2,
                   20, "the agent to start again")
        if len(re.findall(r"enrolling at", a.text())) != 1:
            raise Failure("a restart threw away a valid certificate")
        # A revoked endpoint's certificate is not renewed.
        net.ctl("endpoint", "revoke", epid, "--reason", "stolen")
        before = not_after(crt)
        wait_until(lambda: root.has_log(r"enrolment of %s .*refused: "
                                        r"endpoint revoked" % epid), 60,
                   "the root to refuse the revoked endpoint's renewal")
        if not_after(crt) != before:
            raise Failure("a revoked endpoint got a new certificate")


def test_no_enroll_ca():
    """A root without enroll_ca refuses an endpoint that asks for a
    certificate, and says why."""
    with Net("enrolcert-noca") as net:
        ca = net.ca()
        root = net.root(tls=True, enroll_token=TOKEN)
        eaddr = "tls+tcp://127.0.0.1:%d" % free_port()
        relay = net.relay([root], tls=True, enroll_svc=eaddr)
        d = os.path.join(net.dir, "a-tls")
        os.makedirs(d)
        net.agent([relay], name="a", enroll_token=TOKEN,
                  tls_ca=os.path.join(ca, "ca.crt"),
                  tls_cert=os.path.join(d, "tls.crt"),
                  tls_key=os.path.join(d, "tls.key"),
                  enroll_via="%s %s" % (eaddr, relay.tls_name))
        root.wait_log(r"asks for a TLS certificate, and no enroll_ca", 30)
        if status(net)["endpoints"] != 0:
            raise Failure("enrolled without the certificate it asked for")


if __name__ == "__main__":
    run([test_certificate_from_enrolment, test_no_enroll_ca])
