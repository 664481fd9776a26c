#!/usr/bin/env python3
"""Unmanaged machines with real processes: a machine that tries to enrol
through a relay with a wrong token shows in `arborctl unmanaged` (text and
--json) with the relay it reached and the reason, carried up with the
relay's report batches; once a machine from that address enrols, the
address is dropped from the list.  Machines that reach the root itself,
with no relay between, are listed by the root the same way: a refused
enrolment, a revoked endpoint that goes on polling; an enrolled one that
polls past the grace time is not listed."""

import json
import re
import time

from arbortest import Net, run, wait_until, Failure

TOKEN = "unmanaged-token"


def listed(net):
    return json.loads(net.ctl("unmanaged", "--json").stdout)["unmanaged"]


def test_refused_enrolment_listed_then_dropped():
    with Net("unmanaged") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root], report_interval="200ms")
        if listed(net):
            raise Failure("unmanaged before anything: %r" % listed(net))
        stray = net.agent([relay], name="stray", enroll_token="not-it",
                          report_delay="20ms")
        rows = wait_until(lambda: [r for r in listed(net)
                                   if r["reason"] == "enrol-refused"], 30,
                          "the refused enrolment in arborctl unmanaged")
        r = rows[0]
        if r["addr"] != "127.0.0.1" or r["count"] < 1 or \
                r["relay"] not in (relay.name, relay.svc) or \
                r["first_seen"] > r["last_seen"]:
            raise Failure("unmanaged row: %r" % r)
        text = net.ctl("unmanaged").stdout
        if "127.0.0.1" not in text or "enrol-refused" not in text:
            raise Failure("arborctl unmanaged:\n%s" % text)
        stray.stop()
        # A machine from that address enrols: it is managed now.
        net.agent([relay], name="good", enroll_token=TOKEN,
                  report_delay="20ms").wait_log(r"enrolled as", 30)
        wait_until(lambda: not [x for x in listed(net)
                                if x["addr"] == "127.0.0.1"], 30,
                   "the address to leave the list once it enrolled")


def test_direct_to_root():
    with Net("unmanaged-direct") as net:
        root = net.root(enroll_token=TOKEN, unmanaged_grace="1s")
        relay = net.relay([root], report_interval="200ms",
                          unmanaged_grace="1s")
        good = net.agent([root], name="good", enroll_token=TOKEN,
                         poll_interval="200ms", poll_jitter="0",
                         report_delay="20ms")
        below = net.agent([relay], name="below", enroll_token=TOKEN,
                          poll_interval="200ms", poll_jitter="0",
                          report_delay="20ms")
        good.wait_log(r"enrolled as ([0-9a-f]{32})", 30)
        below.wait_log(r"enrolled as ([0-9a-f]{32})", 30)
        epid = re.search(r"enrolled as ([0-9a-f]{32})", good.text()).group(1)
        # They poll for three times the grace, quiet: an enrolled endpoint
        # is managed however long it polls, at the root and at a relay.
        time.sleep(3)
        if listed(net):
            raise Failure("an enrolled endpoint polling the root is listed "
                          "as unmanaged: %r" % listed(net))
        net.agent([root], name="stray", enroll_token="not-it",
                  report_delay="20ms")
        rows = wait_until(lambda: [r for r in listed(net)
                                   if r["reason"] == "enrol-refused"], 30,
                          "the refused enrolment at the root listed")
        if rows[0]["addr"] != "127.0.0.1" or rows[0]["relay"] != "root":
            raise Failure("unmanaged row at the root: %r" % rows[0])
        # Revoked, it goes on polling: listed as revoked, with its id.
        net.ctl("endpoint", "revoke", epid, "--reason", "stolen")
        rows = wait_until(lambda: [r for r in listed(net)
                                   if r["reason"] == "revoked"], 30,
                          "the revoked endpoint's polls listed")
        if rows[0]["claimed"] != epid or rows[0]["relay"] != "root":
            raise Failure("revoked row: %r" % rows[0])


if __name__ == "__main__":
    run([test_refused_enrolment_listed_then_dropped, test_direct_to_root])
