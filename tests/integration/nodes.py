"""nodes.py - MTA nodes for the integration suite (issue 4): a Node is a
cluster.boot, a configuration directory and a state directory below a
private root, driven with the real `eccfg bootstrap`, `pull`, `follow`,
`status` and `local` against a Manager (ecc.py).  eccfg runs through
Manager.eccfg, so every run gets the harness's environment and fails the
test on a sanitizer report; `eccfg follow` runs as a subprocess whose
stdout and stderr go to files, checked the same way when it stops.

Nothing here sleeps for readiness: wait_for() polls a predicate with a
bounded timeout.
"""

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import ecc

WAIT_TIMEOUT = 20.0
FOLLOW_STOP_TIMEOUT = 20.0


def wait_for(predicate, timeout=WAIT_TIMEOUT, what="condition",
             interval=0.05, describe=None):
    """Poll `predicate` until it returns a true value (returned) or
    `timeout` seconds pass (AssertionError naming `what`, with
    describe() when given)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            extra = ""
            if describe is not None:
                extra = "\n" + describe()
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


def dead_port():
    """A local TCP port with nothing listening: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fingerprint(pem_path):
    """The SHA-256 fingerprint of a PEM certificate, as openssl prints
    it (AA:BB:...)."""
    der = ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def cert_request(m, cert, key, method, path, body=None):
    """One HTTPS request to manager `m` authenticated only by the client
    certificate `cert`/`key` (a node's identity)."""
    ctx = ssl.create_default_context(cafile=str(m.ca))
    ctx.load_cert_chain(str(cert), str(key))
    conn = http.client.HTTPSConnection(m.host, m.port, context=ctx,
                                       timeout=30)
    try:
        return m.request(method, path, body, conn=conn)
    finally:
        conn.close()


def nodes_by_name(m):
    """{name: entry} of `eccfg nodes --json` as admin (schema nodes)."""
    r = m.eccfg_ok("nodes", "--json")
    body = ecc.SCHEMAS.validate("nodes", json.loads(r.stdout))
    return {n["name"]: n for n in body["nodes"]}


def api_nodes(m):
    """{name: entry} of GET /v1/nodes as admin (schema nodes); cheaper
    than `eccfg nodes --json` for polling."""
    body = m.api("GET", "/v1/nodes").ok("nodes")
    return {n["name"]: n for n in body["nodes"]}


def check_tree(tree):
    """Check that `tree` (a snapshot directory) holds exactly the files
    of its .ecconfig/manifest.json with their sizes, SHA-256s and modes;
    returns the manifest."""
    tree = Path(tree)
    manifest = json.loads((tree / ".ecconfig" / "manifest.json").read_text())
    want = {f["path"]: f for f in manifest["files"]}
    have = set()
    for p in tree.rglob("*"):
        rel = p.relative_to(tree).as_posix()
        if rel == ".ecconfig" or rel.startswith(".ecconfig/"):
            continue
        if p.is_dir() and not p.is_symlink():
            continue
        have.add(rel)
    assert have == set(want), (
        f"{tree}: files differ from the manifest: extra "
        f"{sorted(have - set(want))}, missing {sorted(set(want) - have)}")
    for rel, f in want.items():
        p = tree / rel
        data = p.read_bytes()
        assert len(data) == f["size"], f"{p}: size {len(data)} != {f['size']}"
        assert hashlib.sha256(data).hexdigest() == f["sha256"], (
            f"{p}: SHA-256 differs from the manifest")
        mode = oct(p.stat().st_mode & 0o777)[2:].rjust(4, "0")
        assert mode == f["mode"], f"{p}: mode {mode} != {f['mode']}"
    return manifest


class Node:
    """One MTA node below `root`: ROOT/cluster.boot, ROOT/conf (the
    configuration directory, a symlink), ROOT/state."""

    def __init__(self, manager, root, name, subcluster="default"):
        self.m = manager
        self.root = Path(root)
        self.name = name
        self.subcluster = subcluster
        self.boot = self.root / "cluster.boot"
        self.conf = self.root / "conf"
        self.state = self.root / "state"
        self.snapshots = self.state / "snapshots"
        self.home = self.root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.follow_proc = None
        self.follow_out = self.root / "follow.stdout"
        self.follow_err = self.root / "follow.stderr"
        self.follow_codes = []

    # -- eccfg -------------------------------------------------------------

    def env(self, extra=None):
        e = {"HOME": str(self.home), "ECCFG_BOOT": str(self.boot)}
        if extra:
            e.update(extra)
        return e

    def bootstrap(self, *extra, repo=None, trust="ca", name=None,
                  subcluster=None, env=None):
        """Run `eccfg bootstrap` as admin for this node (not checked).
        trust: "ca" (--ca), "fingerprint" (--ca-fingerprint of the
        manager's CA), None (neither), or a fingerprint string."""
        args = ["bootstrap", "--clustername", subcluster or self.subcluster,
                "--node-name", name or self.name, "--boot", self.boot,
                "--conf-dir", self.conf, "--state-dir", self.state]
        if trust == "ca":
            args += ["--ca", self.m.ca]
        elif trust == "fingerprint":
            args += ["--ca-fingerprint", fingerprint(self.m.ca)]
        elif trust is not None:
            args += ["--ca-fingerprint", trust]
        args += [*extra, repo or self.m.server]
        e = {"HOME": str(self.home)}
        if env:
            e.update(env)
        return self.m.eccfg(*args, server=False, env=e, cwd=self.root)

    def bootstrap_ok(self, *extra, **kw):
        r = self.bootstrap(*extra, **kw)
        assert r.returncode == 0, (
            f"bootstrap of {self.name} failed ({r.returncode}):\n"
            f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def eccfg(self, *args, env=None, timeout=ecc.RUN_TIMEOUT):
        """Run eccfg ARGS as this node ($ECCFG_BOOT, no account)."""
        return self.m.eccfg(*args, server=False, user=None,
                            env=self.env(env), cwd=self.root,
                            timeout=timeout)

    def eccfg_ok(self, *args, **kw):
        r = self.eccfg(*args, **kw)
        assert r.returncode == 0, (
            f"{self.name}: eccfg {' '.join(map(str, args))} failed "
            f"({r.returncode}):\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def popen(self, *args, env=None, stdout=None, stderr=None):
        """Start eccfg ARGS as this node in the background."""
        return subprocess.Popen(
            [str(self.m.eccfg_bin), *map(str, args)],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            cwd=str(self.root), env=ecc.child_env(self.env(env)),
            start_new_session=True)

    # -- follow ------------------------------------------------------------

    def start_follow(self, wait=2, env=None, ready=True):
        """Start `eccfg follow --wait WAIT`; with `ready`, wait until it
        says which revision it starts from (it has opened the node)."""
        if self.following():
            raise ecc.HarnessError(f"{self.name}: follow already running")
        before = self.follow_stdout().count("starting from revision")
        with open(self.follow_out, "ab") as out, \
                open(self.follow_err, "ab") as err:
            self.follow_proc = self.popen("follow", "--wait", wait,
                                          env=env, stdout=out, stderr=err)
        if ready:
            def started():
                if self.follow_proc.poll() is not None:
                    raise ecc.HarnessError(
                        f"{self.name}: eccfg follow exited "
                        f"{self.follow_proc.returncode}\n"
                        f"{self.follow_report()}")
                return self.follow_stdout().count(
                    "starting from revision") > before
            wait_for(started, WAIT_TIMEOUT, f"{self.name}'s follower to "
                     "start", describe=self.follow_report)
        return self.follow_proc

    def following(self):
        return self.follow_proc is not None and \
            self.follow_proc.poll() is None

    def stop_follow(self, check=True):
        """SIGTERM the follower and wait for it; with `check`, fail
        unless it exited 0 without a sanitizer report."""
        p = self.follow_proc
        if p is None:
            return None
        self.follow_proc = None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(FOLLOW_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise ecc.HarnessError(
                    f"{self.name}: eccfg follow did not exit within "
                    f"{FOLLOW_STOP_TIMEOUT:.0f}s of SIGTERM; killed\n"
                    f"{self.follow_report()}")
        self.follow_codes.append(p.returncode)
        if check:
            ecc.sanitizer_check(f"{self.name}: eccfg follow",
                                self.follow_err.read_text(errors="replace"))
            assert p.returncode == 0, (
                f"{self.name}: eccfg follow exited {p.returncode}\n"
                f"{self.follow_report()}")
        return p.returncode

    def follow_report(self, nlines=40):
        return (f"--- {self.follow_out} ---\n"
                f"{ecc.tail(self.follow_out, nlines)}\n"
                f"--- {self.follow_err} ---\n"
                f"{ecc.tail(self.follow_err, nlines)}")

    def follow_stdout(self):
        try:
            return self.follow_out.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- the configuration directory ----------------------------------------

    def revision(self):
        """The revision CONF_DIR points to (snapshots/rN), or None."""
        try:
            target = os.readlink(self.conf)
        except (FileNotFoundError, OSError):
            return None
        m = re.fullmatch(r"r(\d+)", Path(target).name)
        return int(m.group(1)) if m else None

    def tree(self, rev=None):
        """The snapshot directory of `rev` (default: the current one)."""
        if rev is None:
            rev = self.revision()
        return self.snapshots / f"r{rev}"

    def kept(self):
        """Revisions of the complete trees in STATE/snapshots."""
        out = []
        if self.snapshots.is_dir():
            for p in self.snapshots.iterdir():
                m = re.fullmatch(r"r(\d+)", p.name)
                if m and (p / ".ecconfig" / "manifest.json").exists():
                    out.append(int(m.group(1)))
        return sorted(out)

    def leftovers(self):
        """Names of interrupted-apply leftovers: snapshots/ *.tmp and
        CONF_DIR.tmp."""
        out = []
        if self.snapshots.is_dir():
            out += [p.name for p in self.snapshots.iterdir()
                    if p.name.endswith(".tmp")]
        tmp = self.conf.with_name(self.conf.name + ".tmp")
        if os.path.lexists(tmp):
            out.append(tmp.name)
        return sorted(out)

    def wait_revision(self, rev, timeout=WAIT_TIMEOUT):
        return wait_for(lambda: self.revision() == rev, timeout,
                        f"{self.name}'s conf dir on r{rev} "
                        f"(now r{self.revision()})",
                        describe=self.follow_report)

    def wait_reported(self, timeout=WAIT_TIMEOUT, **want):
        """Wait until the manager's entry for this node (GET /v1/nodes)
        has the values of `want` (e.g. applied_revision=3, result="ok");
        returns the entry."""
        def check():
            e = api_nodes(self.m).get(self.name)
            if e and all(e.get(k) == v for k, v in want.items()):
                return e
            return None
        return wait_for(check, timeout, f"{self.name} reported {want}",
                        describe=lambda: (
                            json.dumps(api_nodes(self.m).get(self.name))
                            + "\n" + self.follow_report()))


class Fleet:
    """The nodes of a test, below ROOT/NAME; stop_all() stops their
    followers (and checks them) at teardown."""

    def __init__(self, root):
        self.root = Path(root)
        self.nodes = []

    def node(self, m, name, subcluster="default", dirname=None):
        n = Node(m, self.root / (dirname or name), name, subcluster)
        self.nodes.append(n)
        return n

    def enrolled(self, m, name, subcluster="default", *extra, **kw):
        n = self.node(m, name, subcluster)
        n.bootstrap_ok(*extra, **kw)
        return n

    def stop_all(self):
        """Stop every follower; fail the test (after stopping all of
        them) if any did not exit cleanly."""
        problems = []
        for n in self.nodes:
            try:
                n.stop_follow()
            except AssertionError as e:
                problems.append(str(e))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
