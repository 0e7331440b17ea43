"""test_cli.py - eccfg's command line: help for every subcommand, usage
errors, unique-prefix abbreviations, and the ways to give a password
(environment, --password-file, --credentials, refused without a
terminal)."""

import re

from ecc import ADMIN_PASSWORD, Manager, committed_revision

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
