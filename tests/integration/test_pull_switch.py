"""test_pull_switch.py - a pull switches the checkout in place (issue 3):
the checkout's directory and the directories present in both revisions
keep their inodes, so a process whose cwd is inside sees the new files;
an interrupted switch (the test-only hook ECCFG_TEST_CRASH_AFTER=N makes
eccfg _exit(99) after N journal operations) is rolled forward by the next
eccfg command, never leaving a mix of the two revisions."""

import os
import subprocess
import sys

import pytest

from ecc import (child_env, delete_change, parse_status, view_of,
                 wc_files, write_change)

NODE_CONF = "mta1/ecelerity-node.conf"


def checkout(m, wc):
    return m.eccfg_ok("checkout", "--subcluster", "default", wc)


def status(m, wc):
    return parse_status(m.eccfg_ok("status", cwd=wc).stdout)


def advance(m):
    """r2 changes, adds (in a new directory) and removes files."""
    m.commit_ok([write_change("global/ecelerity.conf", "# r2 global\n"),
                 write_change("default/default/new/added.conf", "x = 2\n"),
                 delete_change("default/mta2/ecelerity-node.conf")],
                message="r2")


def expected(m):
    return {vp: m.file(f["path"])
            for vp, f in view_of(m.tree(), "default").items()}


def test_pull_switch__cwd_inside_sees_new_tree(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    ino_root = os.stat(wc).st_ino
    ino_global = os.stat(wc / "global").st_ino
    # a process sitting in the checkout, reading after the pull
    reader = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys\n"
         "sys.stdin.readline()\n"
         "print(os.getcwd())\n"
         "print(open('ecelerity.conf').read(), end='')\n"
         "print(sorted(os.listdir('..')))\n"],
        cwd=str(wc / "global"), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_env())
    try:
        advance(manager)
        r = manager.eccfg_ok("pull", cwd=wc / "global")
        assert "Updated to revision 2." in r.stdout, r.stdout
        assert "cd ." not in r.stdout + r.stderr
        out, err = reader.communicate("go\n", timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == str(wc / "global")
    assert lines[1] == "# r2 global"
    assert "default" in lines[2] and ".eccfg" in lines[2], lines[2]
    assert os.stat(wc).st_ino == ino_root
    assert os.stat(wc / "global").st_ino == ino_global
    assert wc_files(wc) == expected(manager)
    # nothing of the switch is left in the metadata
    meta = wc / ".eccfg"
    for name in ("next", "trash", "switch.json"):
        assert not (meta / name).exists(), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "wc"]
    assert status(manager, wc) == {}


def test_pull_switch__keeps_local_files(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    (wc / NODE_CONF).write_text("# local edit\n")
    (wc / "default/local-only.conf").write_text("mine\n")
    (wc / "emptydir").mkdir()
    advance(manager)
    manager.eccfg_ok("pull", cwd=wc)
    assert (wc / NODE_CONF).read_text() == "# local edit\n"
    assert (wc / "default/local-only.conf").read_text() == "mine\n"
    assert (wc / "emptydir").is_dir()
    assert (wc / "default/new/added.conf").read_text() == "x = 2\n"
    assert not (wc / "mta2/ecelerity-node.conf").exists()
    assert status(manager, wc) == {NODE_CONF: "M",
                                   "default/local-only.conf": "?"}


@pytest.mark.parametrize("after", [0, 1, 3, 5, 8, 1000])
def test_pull_switch__crash_rolls_forward(manager, tmp_path, after):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    old = wc_files(wc)
    (wc / "default/local-only.conf").write_text("mine\n")
    advance(manager)
    r = manager.eccfg("pull", cwd=wc,
                      env={"ECCFG_TEST_CRASH_AFTER": str(after)})
    journal = wc / ".eccfg/switch.json"
    if after < 1000:
        assert r.returncode == 99, r.stdout + r.stderr
        assert journal.exists()
    else:
        assert r.returncode == 0, r.stdout + r.stderr
    # the next command recovers: the complete new revision
    st = status(manager, wc)
    assert st == {"default/local-only.conf": "?"}, st
    assert not journal.exists()
    assert not (wc / ".eccfg/next").exists()
    assert not (wc / ".eccfg/trash").exists()
    files = wc_files(wc)
    files.pop("default/local-only.conf")
    assert files == expected(manager)
    assert files != old
    assert (wc / "default/local-only.conf").read_text() == "mine\n"
    meta = (wc / ".eccfg/meta.json").read_text()
    assert '"revision": 2' in meta, meta
    r = manager.eccfg_ok("pull", cwd=wc)
    assert "At revision 2." in r.stdout, r.stdout


def test_pull_switch__abandoned_build_keeps_old_tree(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    old = wc_files(wc)
    # a build that a crash interrupted before its journal was written
    nxt = wc / ".eccfg/next"
    (nxt / ".eccfg").mkdir(parents=True)
    (nxt / ".eccfg/pending").write_text("")
    (nxt / "global").mkdir()
    (nxt / "global/ecelerity.conf").write_text("half built\n")
    assert status(manager, wc) == {}
    assert not nxt.exists()
    assert wc_files(wc) == old
