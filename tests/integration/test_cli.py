"""test_cli.py - eccfg's command line: help for every subcommand, usage
errors, unique-prefix abbreviations, and the ways to give a password
(environment, --password-file, --credentials, refused without a
terminal)."""

import re

from ecc import (ADMIN_PASSWORD, Manager, committed_revision,
                 write_change)

COMMANDS = ["init", "checkout", "status", "diff", "revert", "delete",
            "commit", "pull", "resolve", "log", "show", "cat", "rollback",
            "put", "clone", "overlay", "subcluster", "user"]


def out(r):
    return r.stdout + r.stderr


def test_cli__help(tmp_path, ecc_builddir):
    m = Manager(tmp_path, ecc_builddir)
    r = m.eccfg("--help", server=False, user=None)
    assert r.returncode == 0
    for cmd in COMMANDS:
        assert re.search(rf"\b{cmd}\b", r.stdout), cmd
    failures = []
    for cmd in COMMANDS:
        r = m.eccfg(cmd, "--help", server=False, user=None)
        if r.returncode != 0 or "--help" not in r.stdout + r.stderr \
                or not re.search(r"usage", r.stdout, re.I):
            failures.append(f"{cmd}: rc={r.returncode} {out(r)[:200]!r}")
        r2 = m.eccfg("help", cmd, server=False, user=None)
        if r2.returncode != 0 or not r2.stdout.strip():
            failures.append(f"help {cmd}: rc={r2.returncode}")
    assert not failures, "\n".join(failures)
    r = m.eccfg("--version", server=False, user=None)
    assert r.returncode == 0 and re.search(r"\d+\.\d+", r.stdout)


def test_cli__usage_errors_exit_2(tmp_path, ecc_builddir):
    m = Manager(tmp_path, ecc_builddir)
    for args in (["nosuchcommand"], ["log", "--no-such-option"],
                 ["commit", "--json", "-m", "x"], ["log", "-n"]):
        r = m.eccfg(*args, server=False, user=None)
        assert r.returncode == 2, f"{args}: {r.returncode} {out(r)}"
        assert r.stderr.strip(), args
    r = m.eccfg(server=False, user=None)
    assert r.returncode == 2


def test_cli__passwords_and_abbreviations(manager, tmp_path):
    pwfile = tmp_path / "pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    r = manager.eccfg("log", "-n", "1", "--password-file", pwfile,
                      password="", env={"ECCFG_PASSWORD": None})
    assert r.returncode == 0, out(r)
    cred = tmp_path / "cred"
    cred.write_text(f"username = admin\npassword = {ADMIN_PASSWORD}\n")
    r = manager.eccfg("log", "-n", "1", "--credentials", cred, user=None)
    assert r.returncode == 0, out(r)
    # abbreviated long options
    r = manager.eccfg("log", "-n", "1", "--cred", cred, user=None)
    assert r.returncode == 0, out(r)
    r = manager.eccfg("log", "-n", "1", "--user", "admin", user=None,
                      env={"ECCFG_PASSWORD": ADMIN_PASSWORD})
    assert r.returncode == 0, out(r)
    # no password anywhere and no terminal: refused, naming the option
    r = manager.eccfg("log", user=None, env={"ECCFG_USERNAME": "admin"})
    assert r.returncode == 1
    assert "--password" in r.stderr, r.stderr


def test_cli__quiet(manager, tmp_path):
    src = tmp_path / "q.conf"
    src.write_text("q = 1\n")
    r = manager.eccfg_ok("put", "--quiet", src, "default/default/q.conf")
    assert r.stdout == ""
    assert committed_revision(r.stdout) is None
    assert manager.head() == 2


def test_cli__quiet_keeps_the_data(manager):
    """--quiet silences chatter, not what a command exists to print."""
    failures = []
    for args in (["log"], ["log", "-n", "1"], ["show", "1"],
                 ["cat", "global/cluster.conf"], ["subcluster", "list"],
                 ["user", "list"]):
        loud = manager.eccfg_ok(*args)
        quiet = manager.eccfg_ok(*args[:1], "-q", *args[1:])
        if not loud.stdout.strip() or quiet.stdout != loud.stdout:
            failures.append(f"{args}: {quiet.stdout[:200]!r} vs "
                            f"{loud.stdout[:200]!r}")
    assert not failures, "\n".join(failures)
    r = manager.eccfg_ok("log", "--quiet")
    assert re.search(r"^r1 \| admin \| ", r.stdout, re.M), r.stdout
    r = manager.eccfg_ok("show", "-q", "1")
    assert "Changed paths:" in r.stdout, r.stdout


def test_cli__absolute_repository_path_refused(manager, tmp_path):
    """A leading '/' is refused, not silently dropped: repository paths
    are relative (outside a checkout nothing maps an absolute one)."""
    src = tmp_path / "a.conf"
    src.write_text("a = 1\n")
    failures = []
    for args in (["put", src, "/global/a.conf"], ["put", src, "/global/"],
                 ["cat", "/global/cluster.conf"],
                 ["cat", "-r", "1", "//global/cluster.conf"],
                 ["log", "/global/cluster.conf"],
                 ["rollback", "1", "/global/cluster.conf", "-m", "x"],
                 ["clone", "/default/mta1", "default/mta3"],
                 ["overlay", "default/mta1", "/default/mta2"]):
        r = manager.eccfg(*args)
        if r.returncode != 2 or "absolute" not in r.stderr \
                or "relative" not in r.stderr or r.stdout:
            failures.append(f"{args}: rc={r.returncode} {out(r)[:300]!r}")
    assert not failures, "\n".join(failures)
    assert manager.head() == 1
    assert manager.file("global/a.conf") is None


def test_cli__nothing_said_before_a_refused_commit(manager):
    """The Adding/Copying lines of subcluster create and clone appear only
    once the server made the revision."""
    r = manager.eccfg("subcluster", "create", "default")
    assert r.returncode == 1, out(r)
    assert "exists" in r.stderr, out(r)
    assert r.stdout == "", r.stdout
    r = manager.eccfg("subcluster", "create", "east", "--copy-from",
                      "nosuch")
    assert r.returncode == 1, out(r)
    assert r.stdout == "", r.stdout
    # the topology has no subcluster "nosuch": the commit is rejected
    r = manager.eccfg("clone", "default/mta1", "nosuch/mta1")
    assert r.returncode == 1, out(r)
    assert r.stdout == "", r.stdout
    assert manager.head() == 1

    r = manager.eccfg_ok("subcluster", "create", "east")
    assert r.stdout.splitlines() == [
        "Adding east/default from the templates", "Committed revision 2."]
    manager.commit_ok([write_change("default/mta1/extra.conf", "x\n")])
    r = manager.eccfg_ok("clone", "default/mta1", "default/mta2")
    lines = r.stdout.splitlines()
    assert "Adding default/mta2/extra.conf" in lines, r.stdout
    assert lines[-1] == "Committed revision 4.", r.stdout
