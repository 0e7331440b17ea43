"""test_installer.py - the installer (issue 6) as an automation tool and an
operator drive it, with real processes only: unattended from an answers
file or flags with no terminal, interactively through a pty (pexpect),
into private trees (`--root`) so that nothing outside them is touched.

A database + manager machine is installed with its own PostgreSQL (data
directory and a free port in the tree), the ecconfigd it installed is
started with the command it printed and serves; an MTA node installed in
another tree bootstraps against it, and the `eccfg follow` it installed
applies a commit.  Bad answers (a multi-word or upper-case subcluster
name, a node name that does not resolve, a missing password without a
terminal) each get their message.

Node names must resolve (getent hosts): the tests use the names of
/etc/hosts and the host name, whichever resolve.
"""

import getpass
import io
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import ecc
import pg
from nodes import fingerprint, wait_for

SRC = Path(os.environ.get("ECC_SRCDIR", Path(__file__).resolve().parents[2]))
INSTALLER = SRC / "installer"
RUN_TIMEOUT = 120
NODE_RE = re.compile(r"[a-z0-9]([a-z0-9-]|\.[a-z0-9])*")


def resolvable_names():
    """Distinct node names that resolve here: the host name, then the
    names of /etc/hosts."""
    cands = [socket.gethostname().lower(), "localhost"]
    try:
        for line in Path("/etc/hosts").read_text().splitlines():
            cands += line.split("#")[0].split()[1:]
    except OSError:
        pass
    out = []
    for n in cands:
        n = n.lower()
        if n in out or not NODE_RE.fullmatch(n) or n in ("default", "global"):
            continue
        if subprocess.run(["getent", "hosts", n],
                          capture_output=True).returncode == 0:
            out.append(n)
    return out


NAMES = resolvable_names()


def names(n):
    if len(NAMES) < n:
        pytest.fail(f"this test needs {n} resolvable host names, found "
                    f"{NAMES} (add names to /etc/hosts)", pytrace=False)
    return NAMES[:n]


def make_root(prefix="ecc-inst-"):
    """A private tree for --root.  Not below pytest's tmp_path: under
    root its parents are 0700 and the postgres user must reach the
    database's data directory in the tree."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


def files_below(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


def run_installer(root, *args, build=True, timeout=RUN_TIMEOUT):
    """The installer with --root ROOT, stdin not a terminal."""
    cmd = [str(INSTALLER), "--root", str(root)]
    if build:
        cmd += ["--build-dir", str(ecc.builddir())]
    cmd += [str(a) for a in args]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace", timeout=timeout,
                       env=ecc.child_env(), start_new_session=True)
    ecc.sanitizer_check("installer " + " ".join(cmd[1:]), r.stderr)
    return r


def processes_below(root):
    """The command lines of running processes that name a path in
    `root` (what the installer must not leave behind, but PostgreSQL)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            args = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode(errors="replace") for a in args if a)
        if str(root) in line and "postgres" not in line:
            out.append(f"{p.name}: {line}")
    return out


def ok(r):
    assert r.returncode == 0, (
        f"installer exited {r.returncode}\n--- stdout ---\n{r.stdout}\n"
        f"--- stderr ---\n{r.stderr}")
    return r


def write_answers(path, answers):
    Path(path).write_text("# answers for the installer test\n" + "".join(
        f"{k} = {v}\n" for k, v in answers.items()))
    Path(path).chmod(0o600)
    return path


def shell_commands(out):
    """The commands the installer printed ("shell> CMD"), split."""
    return [shlex.split(m.group(1))
            for m in re.finditer(r"^  shell> (.*)$", out, re.M)]


def command_env(argv):
    """(env additions, argv) of a printed command: leading VAR=value."""
    env = {}
    while argv and re.fullmatch(r"[A-Z_]+=.*", argv[0]):
        k, _, v = argv[0].partition("=")
        env[k] = v
        argv = argv[1:]
    return env, argv


def spawn(root, *args):
    """The installer on a pty (pexpect), --root ROOT; what it prints is
    kept in child.log for failure messages."""
    import pexpect
    argv = ["--root", str(root), "--build-dir", str(ecc.builddir()),
            *map(str, args)]
    child = pexpect.spawn(str(INSTALLER), argv, env=ecc.child_env(),
                          encoding="utf-8", timeout=60,
                          dimensions=(50, 200))
    child.log = io.StringIO()
    child.logfile_read = child.log
    return child


def expect(child, text):
    import pexpect
    try:
        child.expect_exact(text)
    except (pexpect.TIMEOUT, pexpect.EOF):
        raise AssertionError(f"expected {text!r}; the installer said:\n"
                             f"{child.log.getvalue()}") from None


def finish(child):
    import pexpect
    child.expect(pexpect.EOF, timeout=RUN_TIMEOUT)
    child.close()
    out = child.log.getvalue()
    ecc.sanitizer_check("installer (interactive)", out)
    return child.exitstatus, out


# ---------------------------------------------------------------------------
# A database + manager machine, installed once for the module


class Installed:
    """A tree the installer set up as a database + manager machine, its
    PostgreSQL and, once start() ran, the ecconfigd it installed."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.root = make_root()
        self.pg_port = pg.free_port()
        self.mgr, self.mta, self.east = names(3)
        self.answers = write_answers(self.tmp / "mgr.answers", {
            "roles": "manager database web",
            "hostname": self.mgr,
            "db_data_dir": "/db",
            "db_port": self.pg_port,
            "db_socket_dir": "/run/pg",
            "admin_password_file": self.pwfile("admin", ecc.ADMIN_PASSWORD),
            "service_password": ecc.SERVICE_PASSWORD,
            "subcluster_1": "default",
            "nodes_1": f"{self.mgr} {self.mta}",
            "subcluster_2": "east",
            "nodes_2": self.east,
            "listen": "127.0.0.1:0",
        })
        self.prefix = self.root / "usr/local"
        self.data = self.prefix / "var/lib/ecconfig"
        self.etc = self.prefix / "etc/ecconfig"
        self.db = self.root / "db"
        self.m = None
        self.result = None

    def pwfile(self, name, pw):
        p = self.tmp / f"{name}.pw"
        p.write_text(pw + "\n")
        p.chmod(0o600)
        return p

    def install(self):
        self.result = run_installer(self.root, "--answers", self.answers)
        return self.result

    def start(self):
        """Start ecconfigd with the command the installer printed."""
        cmds = [c for c in shell_commands(self.result.stdout)
                if any(a.endswith("/ecconfigd") for a in c)]
        assert len(cmds) == 1, self.result.stdout
        env, argv = command_env(cmds[0])
        m = ecc.Manager(self.tmp / "m")
        m.data = self.data
        m.conf = self.data / "ecconfigd.conf"
        m.ca = self.data / "ca.pem"
        launcher = ["env", *(f"{k}={v}" for k, v in env.items()), *argv]
        m.daemon_cmd = lambda *extra: [*launcher, "-d", "--ready-file",
                                       str(m.ready_file), *extra]
        self.m = m.start()
        return m

    def pg_ctl(self, *args):
        cmd = [str(pg.bindir() / "pg_ctl"), "-D", str(self.db), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)

    def psql(self, sql):
        cmd = [str(pg.bindir() / "psql"), "-X", "-q", "-A", "-t", "-h",
               str(self.root / "run/pg"), "-p", str(self.pg_port), "-U",
               "postgres" if os.geteuid() == 0 else getpass.getuser(),
               "-d", "ecconfig", "-c", sql]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    def teardown(self):
        problems = []
        if self.m is not None:
            try:
                rc = self.m.stop()
                if rc not in (None, 0):
                    problems.append(f"ecconfigd exited {rc} after SIGTERM")
                ecc.sanitizer_check("ecconfigd", self.m.stderr_file.read_text(
                    errors="replace") if self.m.stderr_file.exists() else "")
            except ecc.HarnessError as e:
                problems.append(str(e))
        if (self.db / "PG_VERSION").exists():
            self.pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        return problems


@pytest.fixture(scope="module")
def installed(tmp_path_factory, ecc_builddir):
    inst = Installed(tmp_path_factory.mktemp("installer"))
    try:
        ok(inst.install())
        # the ecconfigd it ran to add subcluster east is gone
        assert processes_below(inst.root) == []
        inst.start()
        yield inst
    finally:
        problems = inst.teardown()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# ---------------------------------------------------------------------------
# The script and its page


def test_installer__shellcheck():
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (scripts/deps installs it)")
    r = subprocess.run(["shellcheck", str(INSTALLER)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_installer__every_key_is_documented():
    r = subprocess.run([str(INSTALLER), "--list-keys"], capture_output=True,
                       text=True, check=True)
    keys = [line.split()[0] for line in r.stdout.splitlines() if line]
    assert len(keys) >= 30 and "admin_password" in keys, keys
    page = (SRC / "doc" / "ecconfig-installer.8").read_text()
    missing = []
    for k in keys:
        if k.endswith("_N"):
            pat = r"^\.BI " + re.escape(k[:-1]) + r" N$"
        else:
            pat = r"^\.B " + re.escape(k) + r"$"
        if not re.search(pat, page, re.M):
            missing.append(k)
    assert missing == [], f"keys missing from ecconfig-installer(8): {missing}"


# ---------------------------------------------------------------------------
# Unattended: database + manager, then an MTA node


def test_installer__database_manager_unattended(installed):
    out = installed.result.stdout
    root, data, etc = installed.root, installed.data, installed.etc
    # the binaries, the library, the services, with the tree's paths
    for rel in ("usr/local/bin/eccfg", "usr/local/sbin/ecconfigd",
                "usr/local/sbin/ecconfig-installer",
                "usr/local/lib/libecconfig.so.0",
                "usr/local/share/man/man8/ecconfig-installer.8",
                "etc/init.d/ecconfigd", "etc/init.d/ecconfig-postgresql"):
        assert (root / rel).exists(), rel
    unit = (installed.prefix / "lib/systemd/system/ecconfigd.service"
            ).read_text()
    assert f"ExecStart={root}/usr/local/sbin/ecconfigd" in unit, unit
    assert not re.search(r"%(bindir|sbindir|sysconfdir|localstatedir)%",
                         unit), unit
    # the database role: its password root-only, the schema made by init
    pw = etc / "db.password"
    st = pw.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert len(pw.read_text().strip()) >= 32
    assert "ecc_revisions" in installed.psql(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE 'ecc_%'")
    assert f"port {installed.pg_port}" in out, out
    # the manager: cluster store, both subclusters and their nodes
    conf = (data / "ecconfigd.conf").read_text()
    assert re.search(r"^store = postgresql$", conf, re.M), conf
    assert f"passfile={data}/db.pgpass" in conf
    m = installed.m
    topo = m.file("global/cluster.conf").decode()
    assert re.search(rf"\[subcluster default\]\nmanagers = {installed.mgr}\n"
                     rf"nodes = {installed.mta}\n", topo), topo
    assert f"[subcluster east]\nnodes = {installed.east}\n" in topo, topo
    assert "created subcluster east" in out
    # what it printed: the fingerprint, the command that starts the manager
    fp = re.search(r"^CA fingerprint \(SHA-256\): (\S+)$", out, re.M)
    assert fp and fp.group(1) == fingerprint(m.ca), out
    assert "web console is not available yet" in out
    assert m.request("GET", "/v1/health").ok("health")["head"] >= 3


def test_installer__database_services_check(installed):
    """The PostgreSQL service the installer writes: its SysV script passes
    shellcheck and answers status, its unit passes systemd-analyze
    verify but for the manual page, which is not installed."""
    script = installed.root / "etc/init.d/ecconfig-postgresql"
    unit = installed.prefix / "lib/systemd/system/ecconfig-postgresql.service"
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (scripts/deps installs it)")
    r = subprocess.run(["shellcheck", "-s", "sh", str(script)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(script), "status"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "server is running" in r.stdout, r
    text = unit.read_text()
    assert f"ExecStart={pg.bindir()}/postgres -D {installed.db}" in text
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is not installed (scripts/deps "
                    "installs systemd)")
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True)
    faults = [line for line in (r.stdout + r.stderr).splitlines()
              if line.strip() and "Command 'man " not in line]
    assert faults == [], "\n".join(faults)


def test_installer__rerun_keeps_what_is_installed(installed):
    m = installed.m
    head = m.head()
    pw = (installed.etc / "db.password").read_text()
    r = ok(run_installer(installed.root, "--answers", installed.answers))
    out = r.stdout
    assert "already holds a PostgreSQL cluster: it is kept" in out, out
    assert "already holds a manager: it is kept" in out, out
    assert "keeping the role ecconfig" in out
    assert "keeping the database ecconfig" in out
    assert re.search(r"keeping \S+/bin/eccfg \(unchanged\)", out), out
    assert (installed.etc / "db.password").read_text() == pw
    assert m.head() == head


def test_installer__mta_bootstraps_and_follows(installed, tmp_path):
    m = installed.m
    root = make_root("ecc-mta-")
    follow = None
    try:
        pw = tmp_path / "service.pw"
        pw.write_text(ecc.SERVICE_PASSWORD + "\n")
        r = ok(run_installer(
            root, "--roles", "mta", "--hostname", installed.mta,
            "--in-cluster", "yes", "--manager-host", m.server,
            "--mta-subcluster", "default", "--mta-username", "service",
            f"--mta-password-file={pw}", "--bootstrap-now", "yes",
            "--ca-fingerprint", fingerprint(m.ca)))
        etc = root / "usr/local/etc/ecconfig"
        boot = etc / "cluster.boot"
        assert boot.exists(), r.stdout
        assert (root / "usr/local/lib/systemd/system/eccfg-follow.service"
                ).exists()
        assert not (root / "usr/local/sbin/ecconfigd").exists()
        cmds = [c for c in shell_commands(r.stdout) if "follow" in c]
        assert len(cmds) == 1, r.stdout
        env, argv = command_env(cmds[0])
        assert argv[-2:] == ["--boot", str(boot)], argv
        conf = etc / "conf"
        start_rev = int(Path(os.readlink(conf)).name[1:])
        out = open(tmp_path / "follow.out", "wb")
        err = open(tmp_path / "follow.err", "wb")
        follow = subprocess.Popen(
            [*argv, "--wait", "2"], stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, env=ecc.child_env(env), start_new_session=True)
        out.close()
        err.close()

        def report():
            return (ecc.tail(tmp_path / "follow.out") + "\n" +
                    ecc.tail(tmp_path / "follow.err"))
        wait_for(lambda: "starting from revision" in
                 (tmp_path / "follow.out").read_text(), what="follow",
                 describe=report)
        rev = m.commit_ok([ecc.write_change("global/installer-test.conf",
                                            "# from the installer test\n")],
                          message="installer test")["revision"]
        assert rev > start_rev
        wait_for(lambda: os.readlink(conf).endswith(f"/r{rev}"),
                 what=f"the node on r{rev}", describe=report)
        assert (conf / "global/installer-test.conf").read_text() == \
            "# from the installer test\n"
        follow.send_signal(signal.SIGTERM)
        assert follow.wait(20) == 0, report()
        ecc.sanitizer_check("eccfg follow",
                            (tmp_path / "follow.err").read_text())
        follow = None
        # --uninstall: the binaries and the service go, the node's files stay
        r = ok(run_installer(root, "--uninstall", build=False))
        assert not (root / "usr/local/bin/eccfg").exists()
        assert not (root / "etc/init.d/eccfg-follow").exists()
        assert boot.exists() and os.path.islink(conf)
        assert f"{etc}" in r.stdout and "--purge" in r.stdout, r.stdout
        r = ok(run_installer(root, "--uninstall", "--purge", build=False))
        assert not etc.exists() and not (root / "usr/local/var/lib/eccfg"
                                         ).exists(), r.stdout
    finally:
        if follow is not None:
            follow.kill()
            follow.wait()
        shutil.rmtree(root, ignore_errors=True)


def test_installer__secondary_manager_joins(installed, tmp_path):
    root = make_root("ecc-mgr2-")
    m2 = None
    try:
        r = ok(run_installer(
            root, "--roles", "manager", "--hostname", installed.mta,
            "--first-manager", "no", "--db-host", "localhost",
            "--db-port", installed.pg_port,
            "--db-password-file", installed.etc / "db.password",
            "--ca-cert", installed.data / "ca.pem",
            "--ca-key", installed.data / "ca.key",
            "--listen", "127.0.0.1:0"))
        data = root / "usr/local/var/lib/ecconfig"
        conf = (data / "ecconfigd.conf").read_text()
        assert re.search(r"^store = postgresql$", conf, re.M), conf
        assert (data / "db.pgpass").stat().st_mode & 0o077 == 0
        cmds = [c for c in shell_commands(r.stdout)
                if any(a.endswith("/ecconfigd") for a in c)]
        env, argv = command_env(cmds[0])
        m2 = ecc.Manager(tmp_path / "m2")
        m2.ca = data / "ca.pem"
        launcher = ["env", *(f"{k}={v}" for k, v in env.items()), *argv]
        m2.daemon_cmd = lambda *extra: [*launcher, "-d", "--ready-file",
                                        str(m2.ready_file), *extra]
        m2.start()
        head = installed.m.head()
        wait_for(lambda: m2.head() == head, what="the joined manager's head")
    finally:
        if m2 is not None:
            rc = m2.stop()
            assert rc == 0, m2.report()
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Interactive (a pty)


def test_installer__interactive_manager(tmp_path):
    mgr, mta, east = names(3)
    root = make_root()
    try:
        c = spawn(root)
        expect(c, "secondary managers must not")
        expect(c, "Which roles should this machine carry: ")
        c.sendline("manager mailer")
        expect(c, 'Unknown role "mailer"')
        expect(c, "Which roles should this machine carry: ")
        c.sendline("manager web")
        expect(c, "This machine's node name (DNS-resolvable) [")
        c.sendline(mgr)
        expect(c, "Is this the first manager of the cluster [yes]: ")
        c.sendline("")
        expect(c, "Database host (empty: none, a standalone manager")
        c.sendline("")
        expect(c, "Password for the admin account: ")
        c.sendline("short")
        expect(c, "too short")
        expect(c, "Password for the admin account: ")
        c.sendline(ecc.ADMIN_PASSWORD)
        expect(c, "Again, to check: ")
        c.sendline(ecc.ADMIN_PASSWORD + "x")
        expect(c, "The two passwords differ")
        expect(c, "Password for the admin account: ")
        c.sendline(ecc.ADMIN_PASSWORD)
        expect(c, "Again, to check: ")
        c.sendline(ecc.ADMIN_PASSWORD)
        expect(c, "Password for the service account: ")
        c.sendline(ecc.SERVICE_PASSWORD)
        expect(c, "Again, to check: ")
        c.sendline(ecc.SERVICE_PASSWORD)
        expect(c, "Subcluster name [default]: ")
        c.sendline("default west")
        expect(c, 'the first word, "default", is taken as the subcluster '
               "name")
        expect(c, "Node name: ")
        c.sendline("x.invalid")
        expect(c, "That hostname is not DNS resolvable: x.invalid")
        expect(c, "Node name: ")
        c.sendline(f"{mgr} {mta}")
        expect(c, "Node name: ")
        c.sendline("")
        expect(c, "Another subcluster (empty when done): ")
        c.sendline("East")
        expect(c, "Subcluster names must be lower case: East")
        expect(c, "Another subcluster (empty when done): ")
        c.sendline("east")
        expect(c, "Node name: ")
        c.sendline(mta)
        expect(c, f"{mta} is already in subcluster default")
        expect(c, "Node name: ")
        c.sendline(east)
        expect(c, "Node name: ")
        c.sendline("")
        expect(c, "Another subcluster (empty when done): ")
        c.sendline("")
        status, out = finish(c)
        assert status == 0, out
        assert processes_below(root) == []
        # passwords are not echoed
        assert ecc.ADMIN_PASSWORD not in out and \
            ecc.SERVICE_PASSWORD not in out
        data = root / "usr/local/var/lib/ecconfig"
        conf = (data / "ecconfigd.conf").read_text()
        assert re.search(r"^store = file$", conf, re.M), conf
        topo = subprocess.run(
            ["git", "--git-dir", str(data / "repo.git"), "show",
             "HEAD:global/cluster.conf"], capture_output=True, text=True,
            check=True).stdout
        assert f"managers = {mgr}\nnodes = {mta}\n" in topo, topo
        assert f"[subcluster east]\nnodes = {east}\n" in topo, topo
        assert "web console is not available yet" in out
        assert re.search(r"shell> .*/sbin/ecconfigd -c \S+/ecconfigd.conf",
                         out), out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_installer__interactive_mta_without_bootstrap(tmp_path):
    _, mta = names(2)
    root = make_root()
    try:
        c = spawn(root)
        expect(c, "Which roles should this machine carry: ")
        c.sendline("mta")
        expect(c, "This machine's node name (DNS-resolvable) [")
        c.sendline(mta)
        expect(c, "Does this node belong to a cluster [yes]: ")
        c.sendline("maybe")
        expect(c, 'Answer yes or no (not "maybe")')
        expect(c, "Does this node belong to a cluster [yes]: ")
        c.sendline("y")
        expect(c, "Manager host (HOST[:PORT], several separated by commas): ")
        c.sendline("mgr.invalid:2027")
        expect(c, "That hostname is not DNS resolvable: mgr.invalid")
        expect(c, "Manager host (HOST[:PORT], several separated by commas): ")
        c.sendline("localhost:2027")
        expect(c, "Subcluster of this node (lower case, one word) "
               "[default]: ")
        c.sendline("Default")
        expect(c, "Subcluster names must be lower case: Default")
        expect(c, "[default]: ")
        c.sendline("")
        expect(c, "Account to enroll with (admin or service) [admin]: ")
        c.sendline("")
        expect(c, "Bootstrap now [yes]: ")
        c.sendline("no")
        status, out = finish(c)
        assert status == 0, out
        assert "Password" not in out, out
        cmds = [x for x in shell_commands(out) if "bootstrap" in x]
        assert len(cmds) == 1, out
        env, argv = command_env(cmds[0])
        etc = root / "usr/local/etc/ecconfig"
        assert argv[0] == str(root / "usr/local/bin/eccfg")
        assert argv[1:] == [
            "bootstrap", "--clustername", "default", "--node-name", mta,
            "--username", "admin", "--boot", str(etc / "cluster.boot"),
            "--conf-dir", str(etc / "conf"), "--state-dir",
            str(root / "usr/local/var/lib/eccfg"), "--ca-fingerprint",
            "SHA256-OF-THE-CLUSTER-CA", "localhost:2027"], argv
        assert env == {"LD_LIBRARY_PATH": str(root / "usr/local/lib")}
        assert "Before starting this node, enroll it" in out
        assert not (etc / "cluster.boot").exists()
        assert (root / "etc/init.d/eccfg-follow").exists()
        # the printed command is real: eccfg knows every option of it
        r = subprocess.run([*argv[:2], "--help"], capture_output=True,
                           text=True, env=ecc.child_env(env))
        for opt in argv[2:-1]:
            if opt.startswith("--"):
                assert opt in r.stdout, opt
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Unattended refusals: precise, and nothing changed


def base_answers(tmp_path, **over):
    mgr, mta = names(2)
    a = {"roles": "manager web", "hostname": mgr, "first_manager": "yes",
         "db_host": "", "admin_password": ecc.ADMIN_PASSWORD,
         "service_password": ecc.SERVICE_PASSWORD,
         "subcluster_1": "default", "nodes_1": f"{mgr} {mta}"}
    a.update(over)
    return write_answers(tmp_path / "a.answers",
                         {k: v for k, v in a.items() if v is not None})


def test_installer__missing_password_without_terminal(tmp_path):
    root = make_root()
    try:
        answers = base_answers(tmp_path, admin_password=None)
        r = run_installer(root, "--answers", answers)
        assert r.returncode == 2, r.stdout + r.stderr
        assert ("no answer for admin_password (the password of the admin "
                "account) and no terminal to ask: give \"admin_password = "
                "...\" in the answers file or --admin-password VALUE (or "
                "\"admin_password_file = FILE\", --admin-password-file FILE)"
                ) in r.stderr, r.stderr
        assert files_below(root) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("over,message", [
    ({"subcluster_1": "Default"},
     "a.answers:8: subcluster_1: Subcluster names must be lower case: "
     "Default"),
    ({"nodes_1": "{mgr} x.invalid"},
     "a.answers:9: nodes_1: That hostname is not DNS resolvable: x.invalid"),
    ({"hostname": "x.invalid"},
     "a.answers:3: hostname: That hostname is not DNS resolvable: x.invalid"),
    ({"roles": "manager mailer"},
     'a.answers:2: roles: Unknown role "mailer"'),
    ({"admin_password": "short"},
     "a.answers:6: admin_password: That password is too short"),
    ({"listen": "nowhere"}, 'listen: "nowhere" is not ADDR:PORT'),
    ({"first_manager": "no"},
     "secondary managers must not carry the database and web roles"),
    ({"bogus": "1"}, "a.answers:10: unknown key 'bogus'"),
], ids=["upper-case-subcluster", "unresolvable-node", "unresolvable-host",
        "unknown-role", "short-password", "bad-listen", "secondary-web",
        "unknown-key"])
def test_installer__bad_answers_are_refused(tmp_path, over, message):
    mgr = names(1)[0]
    over = {k: v.format(mgr=mgr) for k, v in over.items()}
    root = make_root()
    try:
        r = run_installer(root, "--answers", base_answers(tmp_path, **over))
        assert r.returncode == 2, r.stdout + r.stderr
        assert message in r.stderr, r.stderr
        assert files_below(root) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_installer__unreachable_database_directory(tmp_path):
    """Under root, PostgreSQL runs as postgres, which must reach the data
    directory: refused before anything is done."""
    if os.geteuid() != 0:
        pytest.skip("only root runs PostgreSQL as another user")
    closed = Path(tempfile.mkdtemp(prefix="ecc-closed-"))
    try:
        closed.chmod(0o700)
        root = closed / "r"
        r = run_installer(root, "--roles", "database", "--db-data-dir",
                          "/db", "--db-port", pg.free_port())
        assert r.returncode == 2, r.stdout + r.stderr
        assert (f"--db-data-dir: db_data_dir: the postgres user cannot "
                f"reach {closed}, so not {root}/db") in r.stderr, r.stderr
        assert not root.exists()
    finally:
        shutil.rmtree(closed, ignore_errors=True)


def test_installer__multi_word_subcluster_and_dry_run(tmp_path):
    root = make_root()
    try:
        answers = base_answers(tmp_path, subcluster_1="default west",
                               roles="manager database web",
                               db_data_dir="/db", db_host=None)
        r = ok(run_installer(root, "--answers", answers, "--dry-run"))
        out = r.stdout
        assert ('you entered more than one word, so the first word, '
                '"default", is taken as the subcluster name') in out, out
        assert "[dry-run]   creating a PostgreSQL cluster in " \
            f"{root}/db" in out, out
        assert re.search(r"\$ .*/initdb -D " + re.escape(f"{root}/db"), out)
        assert re.search(r"\$ \S+/bin/eccfg init --data-dir \S+ --hostname "
                         r"\S+ --subcluster default ", out), out
        assert "Dry run: nothing was changed." in out
        assert files_below(root) == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# Last: uninstalling the database + manager machine


def test_installer__uninstall_keeps_data_then_purge(installed):
    installed.m.stop()
    installed.m = None
    r = ok(run_installer(installed.root, "--uninstall", build=False))
    out = r.stdout
    assert not (installed.prefix / "sbin/ecconfigd").exists()
    assert not (installed.prefix / "lib/libecconfig.so.0").exists()
    assert not (installed.root / "etc/init.d/ecconfigd").exists()
    assert "stopping PostgreSQL" in out or "stopping ecconfig-postgresql" \
        in out, out
    assert installed.pg_ctl("status").returncode == 3, "PostgreSQL still runs"
    for kept in (installed.data / "repo.git", installed.etc / "db.password",
                 installed.db / "PG_VERSION"):
        assert kept.exists(), kept
    assert "Kept (data and configuration; --uninstall --purge removes them)" \
        in out, out
    r = ok(run_installer(installed.root, "--uninstall", "--purge",
                         build=False))
    assert not installed.data.exists() and not installed.db.exists(), r.stdout
    assert not installed.etc.exists()
