"""The Debian packages: deploy/build-deb.sh builds them from a copy of the
tree into a temporary directory (the whole tree compiles once more: a few
minutes); lintian finds no error; each .deb holds what it should (programs,
man pages, conffiles in /etc/arbor, units, the sysusers file) with the
right modes; the packaged man pages format without a warning; the
packaged configuration files parse (only the keys left to the operator are
missing); and `systemd-analyze verify` passes on every unit, against the
unpacked packages.  Exits 77 when a tool is missing and cannot be
installed (not root)."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

from arbortest import Failure, SCALE

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = {"dpkg-buildpackage": "dpkg-dev", "dh": "debhelper",
         "lintian": "lintian", "systemd-analyze": "systemd",
         "fakeroot": "fakeroot", "man": "man-db"}

EXPECT = {
    "arbor-common": ["./usr/lib/sysusers.d/arbor-common.conf", "./etc/arbor/",
                     "./usr/share/doc/arbor-common/README.md.gz",
                     "./usr/share/doc/arbor-common/copyright",
                     "./usr/share/doc/arbor-common/examples/root.conf"],
    "arbor-root": ["./usr/bin/arbor-root", "./usr/bin/arborctl",
                   "./etc/arbor/root.conf",
                   "./lib/systemd/system/arbor-root.service",
                   "./usr/share/man/man8/arbor-root.8.gz",
                   "./usr/share/man/man8/arborctl.8.gz",
                   "./usr/share/man/man5/arbor-root.conf.5.gz"],
    "arbor-relay": ["./usr/bin/arbor-relay", "./etc/arbor/relay.conf",
                    "./lib/systemd/system/arbor-relay.service",
                    "./usr/share/man/man8/arbor-relay.8.gz",
                    "./usr/share/man/man5/arbor-relay.conf.5.gz"],
    "arbor-agent": ["./usr/bin/arbor-agent", "./etc/arbor/agent.conf",
                    "./lib/systemd/system/arbor-agent.service",
                    "./usr/share/man/man8/arbor-agent.8.gz",
                    "./usr/share/man/man5/arbor-agent.conf.5.gz"],
}
CONFFILES = {"arbor-root": "/etc/arbor/root.conf",
             "arbor-relay": "/etc/arbor/relay.conf",
             "arbor-agent": "/etc/arbor/agent.conf"}
# What the packaged configuration leaves to the operator.
MISSING = {"root": "key: required", "relay": "pubkey or trust_root",
           "agent": "relay: at least one required"}


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout * SCALE, **kw)


def tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing and os.getuid() == 0:
        run(["apt-get", "install", "-y", "-qq"] +
            sorted({TOOLS[t] for t in missing}), timeout=600,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("test_packages: skipped: %s missing (install %s as root)" %
              (", ".join(missing), " ".join(TOOLS[t] for t in missing)))
        sys.exit(77)


def contents(deb):
    p = run(["dpkg-deb", "-c", deb])
    if p.returncode != 0:
        raise Failure("dpkg-deb -c %s: %s" % (deb, p.stdout))
    files = {}
    for line in p.stdout.splitlines():
        f = line.split()
        files[f[5]] = (f[0], f[1])
    return files


def main():
    tools()
    work = tempfile.mkdtemp(prefix="arbor-packages-")
    try:
        check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("test_packages: ok")


def check(work):
    out = os.path.join(work, "out")
    p = run([os.path.join(TOP, "deploy", "build-deb.sh"), out], timeout=1500)
    if p.returncode != 0:
        raise Failure("build-deb.sh failed:\n%s" % p.stdout[-4000:])
    if os.path.exists(os.path.join(TOP, "debian", "changelog")):
        raise Failure("build-deb.sh wrote into the source tree")
    changes = glob.glob(os.path.join(out, "*.changes"))
    if len(changes) != 1:
        raise Failure("expected one .changes in %s" % out)

    p = run(["lintian", "--fail-on", "error", changes[0]], timeout=600)
    errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
    if p.returncode != 0 or errors:
        raise Failure("lintian: %s" % (errors or p.stdout[-2000:]))
    warnings = [l for l in p.stdout.splitlines() if l.startswith("W:")]
    print("lintian: no errors, %d warnings%s" %
          (len(warnings), "".join("\n  " + w for w in warnings)))

    root = os.path.join(work, "root")
    for pkg, want in EXPECT.items():
        debs = glob.glob(os.path.join(out, pkg + "_*.deb"))
        if len(debs) != 1:
            raise Failure("%s: no single .deb in %s" % (pkg, out))
        files = contents(debs[0])
        lost = [f for f in want if f not in files]
        if lost:
            raise Failure("%s lacks %s" % (pkg, lost))
        p = run(["dpkg-deb", "-f", debs[0], "Version"])
        print("%s %s: %d entries" % (pkg, p.stdout.strip(), len(files)))
        if pkg in CONFFILES:
            p = run(["dpkg-deb", "-I", debs[0], "conffiles"])
            if CONFFILES[pkg] not in p.stdout.split():
                raise Failure("%s: %s is not a conffile: %r" %
                              (pkg, CONFFILES[pkg], p.stdout))
        if run(["dpkg-deb", "-x", debs[0], root]).returncode != 0:
            raise Failure("dpkg-deb -x %s" % debs[0])
        deb_common = debs[0] if pkg == "arbor-common" else None
        if deb_common:
            p = run(["dpkg-deb", "-I", deb_common, "postinst"])
            if "systemd-sysusers" not in p.stdout:
                raise Failure("arbor-common's postinst does not run "
                              "systemd-sysusers")
    agent_conf = os.path.join(root, "etc", "arbor", "agent.conf")
    if os.stat(agent_conf).st_mode & 0o077:
        raise Failure("agent.conf is readable by others")
    with open(os.path.join(root, "usr", "lib", "sysusers.d",
                           "arbor-common.conf")) as f:
        if not any(l.split()[:2] == ["u", "arbor"] for l in f if l.strip()
                   and not l.startswith("#")):
            raise Failure("sysusers.d: no user arbor")

    # The packaged programs read the packaged configuration: every key
    # known, only what the operator must add missing.
    for d in ("root", "relay", "agent"):
        p = run([os.path.join(root, "usr", "bin", "arbor-" + d), "-n", "-c",
                 os.path.join(root, "etc", "arbor", d + ".conf")])
        if p.returncode == 0 or MISSING[d] not in p.stdout or \
                "did you mean" in p.stdout or "unknown" in p.stdout:
            raise Failure("arbor-%s -n on its packaged configuration: %s" %
                          (d, p.stdout))

    # The man pages format cleanly.
    for page in glob.glob(os.path.join(root, "usr", "share", "man", "man*",
                                       "*.gz")):
        p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                            "-Tutf8", "-Z", page],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, timeout=60 * SCALE,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        if p.returncode != 0 or p.stderr.strip():
            raise Failure("man %s: %s" % (page, p.stderr))

    # systemd-analyze verify against the unpacked packages (with the host's
    # own units beside them, for the targets they name), man pages found.
    units = os.path.join(root, "lib", "systemd", "system")
    ours = sorted(glob.glob(os.path.join(units, "arbor-*.service")))
    if len(ours) != 3:
        raise Failure("units: %r" % ours)
    for u in os.listdir("/lib/systemd/system"):
        src, dst = os.path.join("/lib/systemd/system", u), \
            os.path.join(units, u)
        if not os.path.lexists(dst):
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            elif os.path.isfile(src):
                shutil.copy(src, dst)
    p = run(["systemd-analyze", "verify", "--root=" + root] + ours,
            env=dict(os.environ,
                     MANPATH=os.path.join(root, "usr", "share", "man")))
    if p.returncode != 0 or p.stdout.strip():
        raise Failure("systemd-analyze verify: %s" % p.stdout)
    print("systemd-analyze verify: %s clean" %
          " ".join(os.path.basename(u) for u in ours))
    for u in ours:
        p = run(["systemd-analyze", "security", "--offline=yes",
                 "--root=" + root, u])
        last = p.stdout.strip().splitlines()[-1:] or ["?"]
        print("  " + last[0])


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL:", e)
        sys.exit(1)
