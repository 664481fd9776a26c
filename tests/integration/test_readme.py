"""README.md's "Running a tree by hand", run as it stands.

The shell block is taken from the README itself, so that the two cannot
drift apart, and run in one bash with real processes.  Only what a test
machine must change is substituted: /etc/arbor, /var/lib/arbor and the
install's DESTDIR go under a temporary directory, the fixed ports become
free ones and 0.0.0.0 becomes 127.0.0.1.  `cmake --install build` runs
for real (into that DESTDIR) and the commands that follow use the
installed programs on PATH.  Every process the block starts is stopped at
the end, whatever happens."""

import os
import re
import shutil
import signal
import subprocess
import tempfile

from arbortest import BUILD, SCALE, Failure, free_port, run

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "..", "..", "README.md")


def readme_block():
    """The first ```sh block of the section "Running a tree by hand"."""
    with open(README) as f:
        text = f.read()
    sec = text.index("## Running a tree by hand\n")
    end = text.index("\n## ", sec + 1)
    m = re.search(r"```sh\n(.*?)```", text[sec:end], re.S)
    if m is None:
        raise Failure("README: no sh block in \"Running a tree by hand\"")
    return m.group(1)


def substitute(block, tmp):
    for path in ("/etc/arbor", "/var/lib/arbor"):
        block = block.replace(path, tmp + path)
    for port in ("7101", "7102", "7201", "7202"):
        block = block.replace(":" + port, ":%d" % free_port())
    return block.replace("0.0.0.0", "127.0.0.1")


def test_readme_tree():
    tmp = tempfile.mkdtemp(prefix="arbor-readme-",
                           dir=os.environ.get("ARBOR_TEST_TMP"))
    src = os.path.join(tmp, "src")
    dest = os.path.join(tmp, "dest")
    os.makedirs(src)
    os.makedirs(os.path.join(tmp, "etc"))
    os.makedirs(os.path.join(tmp, "var", "lib"))
    # "cmake --install build" as written: build is the build tree here.
    os.symlink(os.path.abspath(BUILD), os.path.join(src, "build"))
    script = substitute(readme_block(), tmp)
    env = dict(os.environ, DESTDIR=dest,
               PATH=os.path.join(dest, "usr", "local", "bin") + ":" +
               os.environ["PATH"])
    log = os.path.join(tmp, "run.log")
    ok = False
    with open(log, "w") as out:
        p = subprocess.Popen(["bash", "-e", "-c", script], cwd=src, env=env,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            rc = p.wait(180 * SCALE)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            # Everything the block started, even if it stopped half way.
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            p.wait()
    try:
        with open(log) as f:
            text = f.read()
        if rc != 0:
            raise Failure("the README's block %s:\n%s" %
                          ("timed out" if rc is None else
                           "exited with %d" % rc, text[-6000:]))
        for want, what in (
                (r"hello-1 v1: 1 fixed .*; 1/1 done\n",
                 "status --watch at 1/1"),
                (r"hello-1 v1 .*fixed", "endpoints: the policy fixed"),
                (r"\n  campus-east ", "tree: the relay under the root"),
                (r"agent: policy hello-1 v1: fixed",
                 "the agent's log line")):
            if not re.search(want, text):
                raise Failure("no %s in:\n%s" % (what, text[-6000:]))
        bindir = os.path.join(dest, "usr", "local", "bin")
        for prog in ("arbor-root", "arbor-relay", "arbor-agent", "arborctl"):
            if not os.access(os.path.join(bindir, prog), os.X_OK):
                raise Failure("cmake --install did not install %s" % prog)
        ex = os.path.join(dest, "usr", "local", "share", "doc", "arbor",
                          "examples")
        for conf in ("root.conf", "relay.conf", "agent.conf"):
            if not os.path.exists(os.path.join(ex, conf)):
                raise Failure("cmake --install did not install %s" % conf)
        keys = os.path.join(tmp, "etc", "arbor", "keys")
        if os.stat(keys).st_mode & 0o777 != 0o700:
            raise Failure("keygen made %s mode %o" %
                          (keys, os.stat(keys).st_mode & 0o777))
        tok = os.path.join(tmp, "etc", "arbor", "enroll.conf")
        if os.stat(tok).st_mode & 0o077:
            raise Failure("the token file is readable by others")
        if not os.path.exists(os.path.join(tmp, "var", "lib", "arbor",
                                           "hello")):
            raise Failure("the policy's action did not run")
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run([test_readme_tree])
