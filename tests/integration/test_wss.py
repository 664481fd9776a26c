"""Roaming endpoints over wss://: a relay serves tls+tcp:// and wss:// on
the same sockets (svc and pub on one port, two paths); an agent on wss://
enrols, takes a push and reports; an agent whose list mixes a dead
tls+tcp:// relay and a wss:// one fails over to the wss:// one; a laptop
outside reaches the relay through an HTTPS reverse proxy (nginx, checking
the laptop's client certificate against Arbor's CA and presenting its own
to the relay); and a wss:// child without a client certificate gets no
link, nor a plain ws:// address off loopback a start."""

import os
import shutil
import subprocess

from arbortest import BIN, Net, free_port, run, wait_until, Failure
from test_reports import fixture, publish_openssl, counts, status, TOKEN

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log info;
events { worker_connections 64; }
http {
    access_log %(dir)s/access.log;
    client_body_temp_path %(dir)s/tmp;
    proxy_temp_path %(dir)s/tmp;
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s.crt;
        ssl_certificate_key %(cert)s.key;
        ssl_client_certificate %(ca)s;
        ssl_verify_client on;
        location / {
            proxy_pass https://127.0.0.1:%(up)d;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_ssl_certificate %(client)s.crt;
            proxy_ssl_certificate_key %(client)s.key;
            proxy_ssl_trusted_certificate %(ca)s;
            proxy_ssl_verify on;
            proxy_ssl_name %(upname)s;
            proxy_ssl_server_name on;
        }
    }
}
"""


def wss_relay(net, root, name="relay1"):
    """A TLS relay that also listens on wss:// (svc and pub on one port)."""
    wp = free_port()
    relay = net.relay([root], name=name, tls=True, start=False,
                      report_interval="300ms")
    relay.wss_port = wp
    relay.wss = "wss://127.0.0.1:%d/svc wss://127.0.0.1:%d/pub %s" % (
        wp, wp, relay.tls_name)
    svc = relay.svc
    pub = relay.pub
    relay.args = relay.args[:]
    for i, a in enumerate(relay.args):
        if a == "--svc":
            relay.args[i + 1] = "%s wss://127.0.0.1:%d/svc" % (svc, wp)
        elif a == "--pub":
            relay.args[i + 1] = "%s wss://127.0.0.1:%d/pub" % (pub, wp)
    relay.start()
    relay.wait_log(r"serving")
    return relay


def tls_agent(net, relays, name, **kw):
    c = net.tls_conf(name, "--client")
    c.update(kw)
    return net.agent(relays, name=name,
                     facts_root=fixture(net, "debian12-old-openssl"),
                     enroll_token=TOKEN, report_delay="20ms", **c)


def test_wss_agents():
    with Net("wss") as net:
        root = net.root(tls=True, enroll_token=TOKEN)
        relay = wss_relay(net, root)
        inside = tls_agent(net, [relay], "inside")
        roam = tls_agent(net, [relay.wss], "roaming")
        # A list that mixes a relay that is down (tls+tcp://) and the
        # wss:// one.
        dead = "tls+tcp://127.0.0.1:%d tls+tcp://127.0.0.1:%d %s" % (
            free_port(), free_port(), relay.tls_name)
        mixed = tls_agent(net, [dead, relay.wss], "mixed")
        wait_until(lambda: status(net)["endpoints"] == 3, 60,
                   "all three agents to enrol (one over wss://)")
        publish_openssl(net)
        wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 3}, 60,
                   "every report to reach the root, the wss:// ones too")
        data = os.urandom(3 * 1024 * 1024)
        sha = net.publish("urgent", 1, {"u.bin": data})["u.bin"]
        net.ctl("push", "urgent")
        wait_until(lambda: all(a.has_blob(sha)
                               for a in (inside, roam, mixed)), 60,
                   "the pushed 3 MiB blob on every agent")
        if not mixed.has_log(r"wss://"):
            raise Failure("the mixed agent never named its wss:// relay")


def test_wss_through_https_proxy():
    with Net("wss-proxy") as net:
        root = net.root(tls=True, enroll_token=TOKEN)
        relay = wss_relay(net, root)
        d = os.path.join(net.dir, "nginx")
        os.makedirs(os.path.join(d, "tmp"))
        port = free_port()
        conf = NGINX_CONF % {
            "dir": d, "port": port, "up": relay.wss_port,
            "cert": net.cert("dmz.arbor"),
            "client": net.cert("dmz-proxy", "--client"),
            "ca": os.path.join(net.ca(), "ca.crt"),
            "upname": relay.tls_name}
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)
        px = subprocess.Popen([NGINX, "-p", d + "/", "-c", d + "/nginx.conf",
                               "-e", d + "/error.log", "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            via = "wss://127.0.0.1:%d/svc wss://127.0.0.1:%d/pub dmz.arbor" % (
                port, port)
            laptop = tls_agent(net, [via], "laptop")
            wait_until(lambda: status(net)["endpoints"] == 1, 60,
                       "the laptop to enrol through the proxy")
            publish_openssl(net)
            wait_until(lambda: counts(net, "demo-openssl") == {"fixed": 1},
                       60, "the laptop's report through the proxy")
            data = os.urandom(200000)
            sha = net.publish("urgent", 1, {"u.bin": data})["u.bin"]
            net.ctl("push", "urgent")
            wait_until(lambda: laptop.has_blob(sha), 30,
                       "the pushed blob on the laptop, through the proxy")
            # Without a client certificate the proxy refuses the laptop.
            bare = net.agent([via], name="nocert", enroll_token=TOKEN,
                             tls_ca=os.path.join(net.ca(), "ca.crt"))
            try:
                wait_until(lambda: bare.has_log(r"timed out|cannot"), 30,
                           "the agent without a certificate to fail")
                if bare.has_log(r"enrolled"):
                    raise Failure("an agent without a certificate enrolled")
            finally:
                bare.stop()
            laptop.stop()
        finally:
            px.terminate()
            try:
                px.wait(10)
            except subprocess.TimeoutExpired:
                px.kill()
                px.wait()
        # nginx logs a WebSocket request when it ends.
        with open(os.path.join(d, "access.log")) as f:
            log = f.read()
        if "GET /svc" not in log or "GET /pub" not in log:
            raise Failure("the proxy did not carry both links: %r"
                          % log[-500:])


def test_wss_refusals():
    with Net("wss-refuse") as net:
        root = net.root(tls=True, enroll_token=TOKEN)
        relay = wss_relay(net, root)
        bare = net.agent([relay.wss], name="nocert", enroll_token=TOKEN,
                         tls_ca=os.path.join(net.ca(), "ca.crt"))
        wait_until(lambda: bare.has_log(r"timed out"), 30,
                   "the wss:// agent without a certificate to get no link")
        bare.stop()
        if status(net)["endpoints"] != 0:
            raise Failure("an agent without a client certificate enrolled")
        # Plain ws:// off loopback: refused at start, naming the rule.
        bad = net.relay([root], name="plainws", tls=True, start=False,
                        svc="ws://10.1.2.3:%d/svc" % free_port())
        bad.start()
        rc = bad.proc.wait(20)
        bad.proc = None
        if rc == 0 or not bad.has_log(r"plain ws:// off loopback"):
            raise Failure("plain ws:// off loopback not refused (rc %d): %s"
                          % (rc, bad.text()[-300:]))


if __name__ == "__main__":
    run([test_wss_agents, test_wss_through_https_proxy, test_wss_refusals])
