"""Rollout control with real processes: a maintenance window that excludes
now holds a policy (downloaded, waiting, with the reason and the next try)
and opens on time; a push overrides the window; a deadline overrides it;
a staged rollout whose pilot fails halts before any endpoint outside the
pilot starts; one whose pilot succeeds advances wave by wave to all;
silent endpoints trip the halt.  Time is the agents' own clock moved by
ARBOR_CLOCK_OFFSET, never hours of waiting."""

import json
import os
import re
import time

from arbortest import Net, run, wait_until, Failure

TOKEN = "rollout-token"


def facts(net, name):
    d = os.path.join(net.dir, "facts-" + name)
    os.makedirs(d, exist_ok=True)
    return d


def counts(net, pid):
    doc = json.loads(net.ctl("status", "--json", pid).stdout)
    for p in doc["policies"]:
        if p["id"] == pid:
            return {k: v for k, v in p["counts"].items() if v}
    return {}


def rollout(net, pid):
    return json.loads(net.ctl("rollout", "status", pid, "--json")
                      .stdout)[0]


def enrolled(net, n):
    wait_until(lambda: json.loads(net.ctl("status", "--json")
                                  .stdout)["endpoints"] == n, 60,
               "%d endpoints to enrol" % n)


def hhmm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def window_later(offset_to_open):
    """A window that opens offset_to_open seconds after the agent's clock
    reads now, when that clock is moved by the offset returned."""
    now = int(time.time())
    start = now + 5 * 3600
    start -= start % 60                 # a whole minute, hours ahead
    offset = start - now - offset_to_open
    return start, offset


def test_window_holds_then_opens():
    with Net("ro-window") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        start, offset = window_later(12)
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f, time_zone="UTC",
                          report_delay="20ms", enroll_token=TOKEN,
                          env={"ARBOR_CLOCK_OFFSET": str(offset)})
        net.publish("win", 1, {"w.bin": os.urandom(5000)},
                    applicability='!file.exists("/done")',
                    action='touch "$ARBOR_FACTS_ROOT/done"',
                    schedule={"windows": [{"from": hhmm(start),
                                           "to": hhmm(start + 3600)}]})
        agent.wait_log(r"policy win v1: waiting: window; next try "
                       r"\d{4}-\d\d-\d\dT" + hhmm(start), 20)
        if os.path.exists(os.path.join(f, "done")):
            raise Failure("the action ran outside its window")
        if "w.bin" not in agent.text() and not any(
                os.scandir(os.path.join(agent.dir, "blobs"))):
            raise Failure("the policy waits without its blob downloaded")
        wait_until(lambda: "window; next try" in net.ctl(
            "endpoints", "--json", "--policy", "win").stdout, 20,
            "the root to show why it waits")
        agent.wait_log(r"policy win v1: fixed", 60)
        if not os.path.exists(os.path.join(f, "done")):
            raise Failure("fixed without the action")


def test_push_overrides_window():
    with Net("ro-push") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        start, offset = window_later(3 * 3600)
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f, time_zone="UTC",
                          report_delay="20ms", enroll_token=TOKEN,
                          env={"ARBOR_CLOCK_OFFSET": str(offset)})
        net.publish("hot", 1, {},
                    applicability='!file.exists("/done")',
                    action='touch "$ARBOR_FACTS_ROOT/done"',
                    schedule={"windows": [{"from": hhmm(start),
                                           "to": hhmm(start + 60)}],
                              "spread": "2h"})
        agent.wait_log(r"policy hot v1: waiting: (window|spread)", 20)
        time.sleep(1)
        if os.path.exists(os.path.join(f, "done")):
            raise Failure("ran outside its window before the push")
        net.ctl("push", "hot")
        agent.wait_log(r"policy hot v1: fixed", 30)


def test_deadline_overrides_window():
    with Net("ro-deadline") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        start, offset = window_later(3 * 3600)
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f, time_zone="UTC",
                          report_delay="20ms", enroll_token=TOKEN,
                          env={"ARBOR_CLOCK_OFFSET": str(offset)})
        net.publish("due", 1, {},
                    applicability='!file.exists("/done")',
                    action='touch "$ARBOR_FACTS_ROOT/done"',
                    schedule={"windows": [{"from": hhmm(start),
                                           "to": hhmm(start + 60)}],
                              # Six seconds from now on the agent's clock.
                              "deadline": int(time.time()) + offset + 6})
        agent.wait_log(r"policy due v1: waiting: window", 20)
        if os.path.exists(os.path.join(f, "done")):
            raise Failure("ran before its deadline, outside its window")
        agent.wait_log(r"policy due v1: fixed", 60)


def test_severity_deadline():
    """A policy that gives no deadline takes its severity's (critical 24h
    by default), signed into it: an agent whose clock is 25 hours past the
    publish runs it outside its window, while a low one (no deadline)
    waits, and a critical one under deadline_critical = 48h waits too."""
    with Net("ro-severity") as net:
        root = net.root(enroll_token=TOKEN)
        relay = net.relay([root])
        offset = 25 * 3600
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f, time_zone="UTC",
                          report_delay="20ms", enroll_token=TOKEN,
                          env={"ARBOR_CLOCK_OFFSET": str(offset)})
        shut = int(time.time()) + offset + 2 * 3600
        win = {"windows": [{"from": hhmm(shut), "to": hhmm(shut + 60)}]}
        for pid, sev in (("crit", "critical"), ("lowp", "low")):
            net.publish(pid, 1, {}, severity=sev, schedule=win,
                        applicability='!file.exists("/%s")' % pid,
                        action='touch "$ARBOR_FACTS_ROOT/%s"' % pid)
        agent.wait_log(r"policy crit v1: fixed", 30)
        agent.wait_log(r"policy lowp v1: waiting: window", 30)
        if os.path.exists(os.path.join(f, "lowp")):
            raise Failure("a low policy ran outside its window")
        root.stop()
        root.args += ["--deadline_critical", "48h"]
        root.start()
        wait_until(lambda: len(re.findall(r"serving .* control",
                                          root.text())) == 2, 10,
                   "the root serving again")
        net.publish("crit2", 1, {}, severity="critical", schedule=win,
                    applicability='!file.exists("/crit2")',
                    action='touch "$ARBOR_FACTS_ROOT/crit2"')
        agent.wait_log(r"policy crit2 v1: waiting: window", 30)


def fleet(net, n, **conf):
    root = net.root(enroll_token=TOKEN)
    relay = net.relay([root])
    agents = []
    for i in range(n):
        agents.append(net.agent([relay], facts_root=facts(net, "e%d" % i),
                                enroll_token=TOKEN, report_delay="20ms",
                                **conf))
    enrolled(net, n)
    return agents


def ran(net, n, mark):
    return [i for i in range(n)
            if os.path.exists(os.path.join(net.dir, "facts-e%d" % i, mark))]


def test_pilot_fails_halts():
    with Net("ro-halt") as net:
        n = 12
        agents = fleet(net, n)
        net.publish("bad", 1, {},
                    applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ran"; exit 1',
                    rollout={"waves": [
                        {"name": "pilot", "share": 33, "halt": 50},
                        {"name": "all", "share": 100}]})
        wait_until(lambda: rollout(net, "bad")["state"] == "halted", 60,
                   "the rollout to halt")
        st = rollout(net, "bad")
        if st["in"] != 4 or st["wave"] != 1:
            raise Failure("the pilot is not 4 endpoints in wave 1: %s" % st)
        if st["failed"] < 3:
            raise Failure("halted before the threshold: %s" % st)
        # Give the others time to act on a mistake, then look.
        time.sleep(3)
        if len(ran(net, n, "ran")) != rollout(net, "bad")["ran"]:
            raise Failure("an endpoint outside the pilot ran it: %s" %
                          ran(net, n, "ran"))
        if rollout(net, "bad")["outside_ran"] != 0:
            raise Failure("the root saw an endpoint outside the pilot run")
        c = counts(net, "bad")
        if c.get("waiting", 0) < n - 4:
            raise Failure("the others do not wait: %s" % c)
        # arborctl status shows the rollout: its wave and that it halted.
        text = net.ctl("status", "bad").stdout
        if not re.search(r"\n  rollout: wave 1 of 2 \(pilot, 33 %\): "
                         r"halted; 4 in, \d+ ok, [34] failed.*wave 1 "
                         r"\(pilot\)", text):
            raise Failure("status without the rollout:\n%s" % text)
        doc = json.loads(net.ctl("status", "--json").stdout)
        ro = {p["id"]: p.get("rollout") for p in doc["policies"]}
        if ro["bad"] is None or ro["bad"]["state"] != "halted" or \
                ro["bad"]["wave"] != 1 or ro["bad"]["name"] != "pilot":
            raise Failure("status --json rollout: %r" % ro)
        for a in agents:
            if not a.running():
                raise Failure("%s stopped" % a.name)


def test_pilot_succeeds_advances():
    with Net("ro-advance") as net:
        n = 6
        fleet(net, n)
        net.publish("good", 1, {},
                    applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ok"',
                    rollout={"waves": [
                        {"name": "pilot", "share": 34, "halt": 0,
                         "soak": "1s"},
                        {"name": "half", "share": 67, "soak": "1s"},
                        {"name": "all", "share": 100}]})
        seen = set()

        def done():
            st = rollout(net, "good")
            seen.add((st["wave"], len(ran(net, n, "ok"))))
            return st["state"] == "complete" and st["ok"] == n
        wait_until(done, 90, "the rollout to reach every endpoint")
        if counts(net, "good") != {"fixed": n}:
            raise Failure("not all fixed: %s" % counts(net, "good"))
        # Wave by wave: wave 1 never saw more than its share fixed.
        for wave, k in seen:
            if wave == 1 and k > 3:     # ceil(6 * 34 / 100)
                raise Failure("wave 1 reached %d endpoints" % k)


def test_silent_trips_halt():
    with Net("ro-silent") as net:
        n = 4
        fleet(net, n)
        net.publish("hang", 1, {},
                    applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ran"; sleep 120',
                    timeout=300,
                    rollout={"silent": "3s", "waves": [
                        {"name": "pilot", "share": 50, "halt_count": 2},
                        {"share": 100}]})
        wait_until(lambda: rollout(net, "hang")["state"] == "halted", 60,
                   "silent endpoints to halt the rollout")
        st = rollout(net, "hang")
        if st["silent"] < 2 or st["failed"] != 0:
            raise Failure("not halted for silence: %s" % st)
        if st["outside_ran"] != 0:
            raise Failure("an endpoint outside the pilot ran it")


def test_retry_failed():
    """A pilot that failed halts; once the cause is fixed, `rollout
    retry-failed` lets the failed endpoints run it again (and only them,
    once each), and the rollout goes on to every endpoint."""
    with Net("ro-retry") as net:
        n = 6
        fleet(net, n)
        net.publish("flaky", 1, {},
                    applicability='!file.exists("/ok")',
                    action='echo x >> "$ARBOR_FACTS_ROOT/runs"; '
                           'test -e "$ARBOR_FACTS_ROOT/cured" && '
                           'touch "$ARBOR_FACTS_ROOT/ok"',
                    rollout={"waves": [
                        {"name": "pilot", "share": 50, "halt": 50,
                         "soak": "1s"},
                        {"name": "all", "share": 100}]})
        wait_until(lambda: rollout(net, "flaky")["state"] == "halted", 60,
                   "the rollout to halt")
        pilot = ran(net, n, "runs")
        if len(pilot) != 3:
            raise Failure("the pilot is not 3 endpoints: %s" % pilot)
        p = net.ctl("rollout", "retry-failed", "nosuch", check=False)
        if p.returncode != 1:
            raise Failure("retry-failed of no rollout: %r" % p.stderr)
        for i in range(n):
            open(os.path.join(net.dir, "facts-e%d" % i, "cured"), "w").close()
        net.ctl("rollout", "retry-failed", "flaky")

        def done():
            st = rollout(net, "flaky")
            return st["state"] == "complete" and st["ok"] == n
        wait_until(done, 90, "the retried rollout to reach every endpoint")
        if counts(net, "flaky") != {"fixed": n}:
            raise Failure("not all fixed: %s" % counts(net, "flaky"))
        for i in range(n):
            with open(os.path.join(net.dir, "facts-e%d" % i, "runs")) as f:
                runs = len(f.read().split())
            if runs != (2 if i in pilot else 1):
                raise Failure("e%d ran it %d times" % (i, runs))


if __name__ == "__main__":
    run([test_window_holds_then_opens,
         test_push_overrides_window,
         test_deadline_overrides_window,
         test_severity_deadline,
         test_pilot_fails_halts,
         test_pilot_succeeds_advances,
         test_silent_trips_halt,
         test_retry_failed])
