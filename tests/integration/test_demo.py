"""deploy/demo.sh --console, run as the README says (with this build):
after its summary it prints the console's URL and an operator token, the
console and an authorised API request answer, and Ctrl-C (SIGINT) stops
every process it started and removes its directory."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

from arbortest import BUILD, Failure, SCALE, http_request, run

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(HERE, "..", "..", "deploy", "demo.sh")


def alive_under(path):
    """Processes whose command line names path."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if path.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def test_demo_console():
    tmp = tempfile.mkdtemp(prefix="arbor-test-demo-")
    log = os.path.join(tmp, "demo.log")
    env = dict(os.environ, ARBOR_BUILD=BUILD, TMPDIR=tmp)
    with open(log, "wb") as lf:
        p = subprocess.Popen([DEMO, "--console"], stdout=lf,
                             stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 300 * SCALE
        text = ""
        while time.monotonic() < deadline and p.poll() is None:
            text = open(log, errors="replace").read()
            if "Ctrl-C stops everything" in text:
                break
            time.sleep(0.2)
        if "Ctrl-C stops everything" not in text:
            raise Failure("demo --console did not come up (rc %r):\n%s" %
                          (p.poll(), text[-3000:]))
        if not re.search(r"verified on (\d+)/\1 agents", text):
            raise Failure("no summary line:\n" + text[-2000:])
        url = re.search(r"web console: (http://127\.0\.0\.1:\d+)/",
                        text).group(1)
        tok = re.search(r"^\s+(arb_[0-9a-f]{64})$", text, re.M).group(1)
        st, _, body = http_request(url + "/")
        if st != 200 or b"<html" not in body.lower():
            raise Failure("console page: %d %r" % (st, body[:200]))
        st, _, body = http_request(url + "/api/v1/status", headers={
            "Authorization": "Bearer " + tok})
        if st != 200 or "endpoints" not in json.loads(body):
            raise Failure("status with the printed token: %d %r" %
                          (st, body[:200]))
        st, _, _ = http_request(url + "/api/v1/status")
        if st != 401:
            raise Failure("status without a token: %d, not 401" % st)
        print("     console at %s answered, with the token printed" % url)
        os.killpg(p.pid, signal.SIGINT)
        p.wait(60 * SCALE)
        left = [d for d in os.listdir(tmp) if d.startswith("arbor-demo.")]
        for _ in range(int(50 * SCALE)):
            if not alive_under(tmp):
                break
            time.sleep(0.2)
        if alive_under(tmp) or left:
            raise Failure("after Ctrl-C: processes %r, directories %r" %
                          (alive_under(tmp), left))
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        for pid in alive_under(tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    run([test_demo_console])
