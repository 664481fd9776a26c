"""What an action can do to the agent that runs it: edit its staged blobs
(the blob store is untouched), escape into a session of its own (it is
killed on timeout all the same), outlive a kill -9 of the agent (the agent
restarted waits for it instead of starting it again), be waited for by a
SIGTERM to the agent alone (a systemd stop with KillMode=mixed: the agent
takes its result and stops then; a second signal stops at once and kills
it).  And what the agent
leaves behind: no staging directories, no blobs that no current policy
names."""

import json
import os
import signal
import socket
import time

from arbortest import Net, run, wait_until, Failure, SCALE


def facts(net, name):
    """An empty facts tree for one agent; actions leave their marks here."""
    d = os.path.join(net.dir, "facts-" + name)
    os.makedirs(d, exist_ok=True)
    return d


def read(path):
    with open(path, "rb") as f:
        return f.read()


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except FileNotFoundError:
        return False
    return st[st.rindex(")") + 2] != "Z"


def staging_entries(agent):
    d = os.path.join(agent.dir, "staging")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_staged_blob_edit_keeps_store():
    data = os.urandom(200000)
    with Net("act-copy") as net:
        root = net.root()
        relay = net.relay([root])
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f)
        # Overwrite the head of the staged blob in place (its size stays),
        # then append to it.
        shas = net.publish(
            "edit", 1, {"payload.bin": data},
            applicability='!file.exists("/edited")',
            action='printf CORRUPT | dd of=payload.bin conv=notrunc '
                   '2>/dev/null\necho tail >> payload.bin\n'
                   'touch "$ARBOR_FACTS_ROOT/edited"\n')
        agent.wait_log(r"policy edit v1: fixed", 20)
        sha = shas["payload.bin"]
        if not agent.has_blob(sha):
            raise Failure("the action changed the blob in the store")
        net.publish("reader", 1, {"payload.bin": data},
                    applicability='!file.exists("/read")',
                    action='cp payload.bin "$ARBOR_FACTS_ROOT/read"\n')
        agent.wait_log(r"policy reader v1: fixed", 20)
        if read(os.path.join(f, "read")) != data:
            raise Failure("the second policy got other bytes")
        if not agent.has_blob(sha):
            raise Failure("the blob in the store does not hash right")


def setsid_timeout(cgroup):
    with Net("act-setsid") as net:
        root = net.root()
        relay = net.relay([root])
        f = facts(net, "a")
        kw = {} if cgroup else {"action_cgroup": "false"}
        agent = net.agent([relay], facts_root=f, **kw)
        net.publish("escape", 1, {},
                    action='setsid sleep 1000 &\n'
                           'echo $! > "$ARBOR_FACTS_ROOT/child.pid"\n'
                           'sleep 1000\n',
                    timeout=1)
        agent.wait_log(r"policy escape v1: failed", 20)
        pid = int(read(os.path.join(f, "child.pid")))
        try:
            wait_until(lambda: not alive(pid), 5,
                       "the setsid child %d to be killed" % pid)
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        mode = "cgroup" if cgroup else "descendants"
        if not agent.has_log(r"actions are contained by " + mode):
            raise Failure("containment is not %s" % mode)


def test_setsid_child_killed_on_timeout_cgroup():
    if not os.access("/sys/fs/cgroup/unified", os.W_OK) and \
            not os.access("/sys/fs/cgroup", os.W_OK):
        print("     skipped: no writable cgroup v2 here")
        return
    setsid_timeout(True)


def test_setsid_child_killed_on_timeout_fallback():
    setsid_timeout(False)


def restart_waits(cgroup):
    with Net("act-restart") as net:
        root = net.root()
        relay = net.relay([root])
        f = facts(net, "a")
        kw = {} if cgroup else {"action_cgroup": "false"}
        agent = net.agent([relay], name="agent", facts_root=f, **kw)
        net.publish("long", 1, {},
                    applicability='!file.exists("/done")',
                    action='echo run >> "$ARBOR_FACTS_ROOT/runs"\n'
                           'sleep 4\n'
                           'touch "$ARBOR_FACTS_ROOT/done"\n',
                    timeout=60)
        wait_until(lambda: os.path.exists(os.path.join(f, "runs")), 20,
                   "the action to start")
        agent.kill9()
        agent.start()
        agent.wait_log(r"policy long v1: fixed", 30)
        runs = read(os.path.join(f, "runs")).decode().split()
        if runs != ["run"]:
            raise Failure("the action ran %d times" % len(runs))
        if not agent.has_log(r"previous action .* still running"):
            raise Failure("the agent did not say it waits")
        if staging_entries(agent):
            raise Failure("staging left: %r" % staging_entries(agent))


def test_restart_waits_for_running_action():
    restart_waits(True)


def test_restart_waits_for_running_action_fallback():
    restart_waits(False)


def test_staging_removed():
    with Net("act-staging") as net:
        root = net.root()
        relay = net.relay([root])
        f = facts(net, "a")
        agent = net.agent([relay], name="agent", facts_root=f, start=False)
        junk = os.path.join(agent.dir, "staging", "old-v3")
        os.makedirs(os.path.join(junk, "sub"))
        with open(os.path.join(junk, "sub", "x"), "w") as fp:
            fp.write("left by a crash")
        agent.start()
        agent.wait_log(r"started")
        wait_until(lambda: not staging_entries(agent), 10,
                   "leftover staging to be removed at start")
        net.publish("ok", 1, {"a.bin": b"a" * 1000},
                    applicability='!file.exists("/ok")',
                    action='touch "$ARBOR_FACTS_ROOT/ok"\n')
        net.publish("bad", 1, {"b.bin": b"b" * 1000}, action='exit 7\n')
        agent.wait_log(r"policy ok v1: fixed", 20)
        agent.wait_log(r"policy bad v1: failed", 20)
        wait_until(lambda: not staging_entries(agent), 10,
                   "staging directories to be removed: %r" %
                   staging_entries(agent))


def test_old_blobs_collected():
    old, new, other = os.urandom(5000), os.urandom(6000), os.urandom(7000)
    with Net("act-gc") as net:
        root = net.root()
        relay = net.relay([root])
        f = facts(net, "a")
        agent = net.agent([relay], facts_root=f)
        s_other = net.publish("other", 1, {"o.bin": other},
                              applicability='!file.exists("/o")',
                              action='touch "$ARBOR_FACTS_ROOT/o"\n')
        agent.wait_log(r"policy other v1: fixed", 20)
        s_old = net.publish("app", 1, {"app.bin": old}, action='exit 1\n')
        agent.wait_log(r"policy app v1: failed", 20)
        if not agent.has_blob(s_old["app.bin"]):
            raise Failure("v1's blob is not there")
        s_new = net.publish("app", 2, {"app.bin": new},
                            applicability='!file.exists("/app")',
                            action='touch "$ARBOR_FACTS_ROOT/app"\n')
        agent.wait_log(r"policy app v2: fixed", 20)
        wait_until(lambda: not os.path.exists(
            agent.blob_path(s_old["app.bin"])), 10,
            "the old version's blob to be removed")
        for s in (s_new["app.bin"], s_other["o.bin"]):
            if not agent.has_blob(s):
                raise Failure("blob %s of a current policy removed" % s)
        # A restart keeps what current policies name.
        agent.restart()
        time.sleep(1)
        for s in (s_new["app.bin"], s_other["o.bin"]):
            if not agent.has_blob(s):
                raise Failure("blob %s removed after restart" % s)


def notify_socket(net):
    """A unix datagram socket standing for systemd's NOTIFY_SOCKET."""
    path = os.path.join(net.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock, path


def notified(sock, got):
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


def test_sigterm_lets_action_end():
    """systemd's KillMode=mixed sends SIGTERM to the agent alone: the
    running action is neither killed nor left behind.  The agent starts
    nothing more, says STOPPING=1 and how long it may take, lets the action
    end, takes its result and stops; the next start reports it.  A second
    SIGTERM stops at once and kills the action."""
    with Net("act-drain") as net:
        root = net.root(enroll_token="drain-token")
        relay = net.relay([root], report_interval="200ms")
        f = facts(net, "a")
        sock, path = notify_socket(net)
        agent = net.agent([relay], name="agent", facts_root=f,
                          enroll_token="drain-token", report_delay="20ms",
                          env={"NOTIFY_SOCKET": path})
        got = []
        try:
            net.publish("long", 1, {},
                        applicability='!file.exists("/done")',
                        action='echo run >> "$ARBOR_FACTS_ROOT/runs"\n'
                               'sleep 3\n'
                               'touch "$ARBOR_FACTS_ROOT/done"\n',
                        timeout=60)
            wait_until(lambda: os.path.exists(os.path.join(f, "runs")), 20,
                       "the action to start")
            t0 = time.monotonic()
            os.kill(agent.proc.pid, signal.SIGTERM)   # the agent alone
            agent.wait_log(r"signal 15: stopping once the action of policy "
                           r"long ends")
            rc = agent.proc.wait(30 * SCALE)
            took = time.monotonic() - t0
            agent.proc = None
            if rc != 0:
                raise Failure("the agent exited %d" % rc)
            if not os.path.exists(os.path.join(f, "done")):
                raise Failure("the agent stopped before its action ended")
            if not agent.has_log(r"policy long v1: fixed"):
                raise Failure("the action's result was not taken")
            if agent.has_log(r"killed by signal"):
                raise Failure("the action was killed")
            print("     SIGTERM during a 3 s action: agent stopped %.1f s "
                  "later, the action done" % took)
            msgs = notified(sock, got)
            ext = [m for m in msgs if m.startswith("EXTEND_TIMEOUT_USEC=")]
            if "STOPPING=1" not in msgs or len(ext) != 1:
                raise Failure("notifications: %r" % msgs)
            usec = int(ext[0].split("=", 1)[1])
            if not 55e6 <= usec <= 91e6:
                raise Failure("EXTEND_TIMEOUT_USEC %d: not the action's "
                              "time left (~60 s) and the slack" % usec)

            # The next start sends what the last one took.
            agent.start()
            wait_until(lambda: [r.get("state") for r in json.loads(
                net.ctl("endpoints", "--policy", "long", "--json").stdout)]
                == ["fixed"], 20, "the root to hold long fixed")
            runs = read(os.path.join(f, "runs")).decode().split()
            if runs != ["run"]:
                raise Failure("the action ran %d times" % len(runs))

            # A second signal does not wait.
            net.publish("longer", 1, {},
                        applicability='!file.exists("/done2")',
                        action='echo $$ > "$ARBOR_FACTS_ROOT/pid"\n'
                               'sleep 60\n'
                               'touch "$ARBOR_FACTS_ROOT/done2"\n',
                        timeout=120)
            wait_until(lambda: os.path.exists(os.path.join(f, "pid")), 20,
                       "the second action to start")
            pid = int(read(os.path.join(f, "pid")))
            os.kill(agent.proc.pid, signal.SIGTERM)
            agent.wait_log(r"stopping once the action of policy longer")
            if agent.proc.poll() is not None:
                raise Failure("the agent did not wait for the action")
            os.kill(agent.proc.pid, signal.SIGTERM)
            agent.proc.wait(15 * SCALE)
            agent.proc = None
            agent.wait_log(r"signal 15 again: stopping now; the action of "
                           r"policy longer is killed")
            wait_until(lambda: not alive(pid), 10, "the action killed")
            print("     a second SIGTERM: the agent stopped, its action killed")
        finally:
            sock.close()


if __name__ == "__main__":
    run([test_staged_blob_edit_keeps_store,
         test_setsid_child_killed_on_timeout_cgroup,
         test_setsid_child_killed_on_timeout_fallback,
         test_restart_waits_for_running_action,
         test_restart_waits_for_running_action_fallback,
         test_sigterm_lets_action_end,
         test_staging_removed,
         test_old_blobs_collected])
