"""test_follow.py - the MTA node side end to end (issue 4), with real
processes only: `eccfg bootstrap` enrolls a node and installs its view as
CONF_DIR -> STATE/snapshots/rN, `eccfg follow` keeps it at the head of
its view (check and reload commands, autoupdate, local edits, manager
restarts and fail-over), `eccfg pull`, `status` and `local` act on it by
hand, and `eccfg nodes` shows the fleet as the manager sees it.  A
test-only hook (ECCFG_TEST_PAUSE_AT / ECCFG_TEST_PAUSE_FILE) stops an
apply between two steps so it can be killed there."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from ecc import delete_change, write_change
from nodes import (Fleet, api_nodes, cert_request, check_tree, dead_port, fingerprint,
                   nodes_by_name, wait_for)

GLOBAL = "global/ecelerity.conf"

# Propagation of a commit to a follower must take at most this long.
PROPAGATION = 20.0


@pytest.fixture
def fleet(manager_factory, tmp_path):
    """The nodes of a test, below tmp_path/nodes/NAME; their followers
    are stopped (and checked) at teardown."""
    # Depends on manager_factory: torn down before the managers are.
    f = Fleet(tmp_path / "nodes")
    yield f
    f.stop_all()


def commit(m, *changes, message="test commit"):
    """Commit `changes`; returns the new revision."""
    return m.commit_ok(list(changes), message=message)["revision"]


def add_east(m, nodes="mta3"):
    """Subcluster east listing `nodes` in the topology, with a folder of
    its own for mta3."""
    m.api("POST", "/v1/subclusters", {"name": "east"}).ok(
        "commit-result", 201)
    conf = m.file("global/cluster.conf").decode()
    assert "[subcluster east]\n" in conf, conf
    conf = conf.replace("[subcluster east]\n",
                        f"[subcluster east]\nnodes = {nodes}\n")
    return commit(m, write_change("global/cluster.conf", conf),
                  write_change("east/mta3/ecelerity-node.conf",
                               "# mta3\n"))


def view_revision(m, view):
    views = m.api("GET", "/v1/views").json()["views"]
    return [v["revision"] for v in views if v["name"] == view][0]


def read(node, path):
    return (node.conf / path).read_text()


def cmd_log(path):
    """Lines "REV TREE PWD" a logging check/reload command appended."""
    try:
        return [ln.split() for ln in Path(path).read_text().splitlines()]
    except FileNotFoundError:
        return []


def logging_command(log, then="true"):
    """A shell command that logs $ECCONFIG_REVISION, $ECCONFIG_TREE and
    its working directory to `log`, then runs `then`."""
    return (f'echo "$ECCONFIG_REVISION $ECCONFIG_TREE $(pwd -P)" >> {log}; '
            f'{then}')


def pull_killed_at(node, step, tmp):
    """Run `eccfg pull` on `node` until its apply pauses at `step` (the
    test hook), then SIGKILL it there."""
    pause = tmp / f"paused-{step}"
    with open(tmp / f"pull-{step}.out", "wb") as out, \
            open(tmp / f"pull-{step}.err", "wb") as err:
        p = node.popen("pull", env={"ECCFG_TEST_PAUSE_AT": step,
                                    "ECCFG_TEST_PAUSE_FILE": str(pause)},
                       stdout=out, stderr=err)
    try:
        wait_for(lambda: pause.exists() or p.poll() is not None, 30,
                 f"the pull to pause at {step}")
        assert p.poll() is None, (
            f"pull exited {p.returncode} instead of pausing at {step}: "
            + (tmp / f"pull-{step}.err").read_text())
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------


def test_follow__bootstrap_three_nodes(manager, fleet):
    add_east(manager)
    n1 = fleet.node(manager, "mta1")
    n2 = fleet.node(manager, "mta2")
    n3 = fleet.node(manager, "mta3", "east")
    vdefault = view_revision(manager, "default")
    veast = view_revision(manager, "east")
    for n, view, vrev in ((n1, "default", vdefault), (n2, "default",
                                                      vdefault),
                          (n3, "east", veast)):
        r = n.bootstrap_ok()
        assert f"Enrolled {n.name} in subcluster {view} with " \
            f"{manager.server}; wrote {n.boot}." in r.stdout, r.stdout
        assert f"{n.conf}: applied revision {vrev}." in r.stdout, r.stdout
        # CONF_DIR is a symlink to the complete tree of that revision.
        assert n.conf.is_symlink()
        assert Path(os.readlink(n.conf)) == n.state / "snapshots" / \
            f"r{vrev}"
        assert n.revision() == vrev
        manifest = check_tree(n.conf)
        assert manifest["view"] == view and manifest["revision"] == vrev
        top = sorted(p.name for p in n.conf.iterdir())
        assert {"global", "default", ".ecconfig"} <= set(top), top
        assert n.leftovers() == []
        assert n.kept() == [vrev]
        for f in ("node.key", "node.pem", "ca.pem"):
            assert (n.state / f).is_file(), f
        assert oct((n.state / "node.key").stat().st_mode & 0o777) == "0o600"
        assert read(n, GLOBAL).encode() == manager.file(GLOBAL)
    # Node folders: a default node gets the default subcluster's, the east
    # node east's.
    assert (n1.conf / "mta1").is_dir() and (n1.conf / "mta2").is_dir()
    assert read(n1, "default/ecelerity-cluster.conf").encode() == \
        manager.file("default/default/ecelerity-cluster.conf")
    assert read(n3, "mta3/ecelerity-node.conf") == "# mta3\n"
    assert not (n3.conf / "mta1").exists()
    assert read(n3, "default/ecelerity-cluster.conf").encode() == \
        manager.file("east/default/ecelerity-cluster.conf")

    fleet_view = nodes_by_name(manager)
    assert sorted(fleet_view) == ["mta1", "mta2", "mta3"]
    for n, view, vrev in ((n1, "default", vdefault), (n2, "default",
                                                      vdefault),
                          (n3, "east", veast)):
        e = fleet_view[n.name]
        assert e["subcluster"] == view, e
        assert e["applied_revision"] == vrev, e
        assert e["view_revision"] == vrev, e
        assert e["result"] == "ok" and e["stale"] is False, e
        assert e["drift"] == [], e
    text = manager.eccfg_ok("nodes").stdout
    for n in (n1, n2, n3):
        assert any(line.split()[:2] == [n.name, n.subcluster]
                   for line in text.splitlines()), text


def test_follow__commits_reach_their_views(manager, fleet):
    add_east(manager)
    n1 = fleet.enrolled(manager, "mta1")
    n2 = fleet.enrolled(manager, "mta2")
    n3 = fleet.enrolled(manager, "mta3", "east")
    start = manager.head()
    nodes = (n1, n2, n3)
    for n in nodes:
        n.start_follow(wait=5)
    for n in nodes:
        assert f"{n.conf}: starting from revision {start}" in \
            n.follow_stdout()

    # A commit to global/ reaches every node.
    t0 = time.monotonic()
    g = commit(manager, write_change(GLOBAL, "# r-global\n"))
    for n in nodes:
        n.wait_revision(g, timeout=PROPAGATION)
        assert read(n, GLOBAL) == "# r-global\n"
        check_tree(n.conf)
    assert time.monotonic() - t0 < PROPAGATION
    for n in nodes:
        n.wait_reported(applied_revision=g, result="ok", stale=False)

    # A commit to east/ reaches the east node only.
    e = commit(manager, write_change("east/default/east-only.conf",
                                     "east = 1\n"))
    n3.wait_revision(e, timeout=PROPAGATION)
    assert read(n3, "default/east-only.conf") == "east = 1\n"
    n3.wait_reported(applied_revision=e, result="ok", stale=False)
    assert view_revision(manager, "default") == g
    fleet_view = nodes_by_name(manager)
    for n in (n1, n2):
        assert n.revision() == g
        assert not (n.conf / "default/east-only.conf").exists()
        ent = fleet_view[n.name]
        assert ent["applied_revision"] == g and ent["view_revision"] == g, \
            ent
        assert ent["stale"] is False, ent
    for n in nodes:
        assert n.following(), n.follow_report()
        assert n.leftovers() == []


def test_follow__bootstrap_refusals(manager, fleet):
    # A node the subcluster does not list: nothing is written.
    n9 = fleet.node(manager, "mta9")
    r = n9.bootstrap()
    assert r.returncode != 0, r.stdout
    assert "node mta9 is not listed in subcluster default of the topology " \
        "(nodes: mta1, mta2)" in r.stderr, r.stderr
    assert not n9.boot.exists() and not os.path.lexists(n9.conf)
    assert not (n9.state / "node.key").exists()
    # An unknown subcluster.
    r = n9.bootstrap(name="mta1", subcluster="nosuch")
    assert r.returncode != 0
    assert "no subcluster nosuch" in r.stderr and "default" in r.stderr, \
        r.stderr
    assert not n9.boot.exists()

    # The CA pinned by its fingerprint.
    n1 = fleet.node(manager, "mta1")
    n1.bootstrap_ok(trust="fingerprint")
    old_cert = (n1.state / "node.pem").read_bytes()
    old_key = (n1.state / "node.key").read_bytes()
    (n1.root / "old.pem").write_bytes(old_cert)
    (n1.root / "old.key").write_bytes(old_key)
    os.chmod(n1.root / "old.key", 0o600)
    boot_before = n1.boot.read_text()

    # Bootstrapped already: refused without --force, nothing changed.
    r = n1.bootstrap()
    assert r.returncode != 0
    assert "already bootstrapped" in r.stderr and "--force" in r.stderr, \
        r.stderr
    assert (n1.state / "node.pem").read_bytes() == old_cert
    assert n1.boot.read_text() == boot_before
    # The same node from another cluster.boot: the manager refuses (409).
    again = fleet.node(manager, "mta1", dirname="mta1-again")
    r = again.bootstrap()
    assert r.returncode != 0
    assert "--force" in r.stderr, r.stderr
    assert not again.boot.exists() and not os.path.lexists(again.conf)

    # --force enrolls again; the old certificate is refused from then on.
    n1.bootstrap_ok("--force")
    assert (n1.state / "node.pem").read_bytes() != old_cert
    assert (n1.state / "node.key").read_bytes() != old_key
    err = cert_request(manager, n1.root / "old.pem", n1.root / "old.key",
                       "GET", "/v1/views/default/manifest").error(
        "unauthorized", 401)
    assert "revoked" in err["message"], err
    cert_request(manager, n1.state / "node.pem", n1.state / "node.key",
                 "GET", "/v1/views/default/manifest").ok("manifest")
    n1.eccfg_ok("pull")

    # No CA to trust and no terminal to confirm one on.
    n2 = fleet.node(manager, "mta2")
    r = n2.bootstrap(trust=None)
    assert r.returncode != 0
    assert "--ca-fingerprint" in r.stderr, r.stderr
    assert not n2.boot.exists() and not (n2.state / "node.key").exists()
    # A fingerprint that is not the manager's CA's.
    wrong = ":".join(["AB"] * 32)
    r = n2.bootstrap(trust=wrong)
    assert r.returncode != 0, r.stdout
    assert "fingerprint" in r.stderr.lower(), r.stderr
    assert not n2.boot.exists() and not (n2.state / "node.key").exists()
    assert "mta2" not in nodes_by_name(manager)
    # The right one, typed in lower case without colons.
    n2.bootstrap_ok(trust=fingerprint(manager.ca).replace(":", "").lower())
    assert n2.revision() == manager.head()


def test_follow__node_identity_limits(manager, fleet):
    add_east(manager)
    n1 = fleet.enrolled(manager, "mta1")
    n3 = fleet.enrolled(manager, "mta3", "east")
    cert, key = n1.state / "node.pem", n1.state / "node.key"
    for path in ("/v1/views/east/manifest", "/v1/views/east/snapshot",
                 "/v1/views/east/watch?since=0&wait=0"):
        err = cert_request(manager, cert, key, "GET", path).error(
            "forbidden", 403)
        assert "mta1" in err["message"], err
    report = {"revision": n1.revision(), "result": "ok", "message": "",
              "drift": []}
    for other in ("mta2", "mta3"):
        cert_request(manager, cert, key, "POST", f"/v1/nodes/{other}/status",
                     report).error("forbidden", 403)
    r = cert_request(manager, cert, key, "POST", "/v1/nodes/mta1/status",
                     report)
    assert r.status == 204, r.describe("own report")

    # Removed: the node's next pull is refused.
    before = n1.revision()
    r = manager.eccfg_ok("nodes", "remove", "mta1")
    assert "Removed node mta1" in r.stdout, r.stdout
    assert "mta1" not in nodes_by_name(manager)
    commit(manager, write_change(GLOBAL, "# after the removal\n"))
    r = n1.eccfg("pull")
    assert r.returncode != 0, r.stdout
    low = r.stderr.lower()
    assert "not enrolled" in low or "revoked" in low or \
        "unauthorized" in low, r.stderr
    assert n1.revision() == before
    assert read(n1, GLOBAL) != "# after the removal\n"
    # status says so, not that the manager is unreachable.
    st = n1.eccfg_ok("status").stdout
    assert "manager refused this node (node mta1 is not enrolled)" in st, st
    assert "unreachable" not in st, st
    # The other node carries on.
    n3.eccfg_ok("pull")
    assert read(n3, GLOBAL) == "# after the removal\n"


def test_follow__check_command_failure(manager, fleet, tmp_path):
    n1 = fleet.enrolled(manager, "mta1", "default", "--check-command",
                        "test ! -e global/bad.conf")
    start = n1.revision()
    n1.start_follow(wait=2)
    n1.wait_reported(applied_revision=start, result="ok")

    bad = commit(manager, write_change("global/bad.conf", "bad\n"))
    e = n1.wait_reported(result="check_failed")
    assert e["applied_revision"] == start and e["stale"] is True, e
    assert n1.revision() == start
    assert not (n1.conf / "global/bad.conf").exists()
    assert bad not in n1.kept()
    assert n1.leftovers() == []
    e = nodes_by_name(manager)["mta1"]
    assert e["result"] == "check_failed" and e["applied_revision"] == start
    assert "check_command failed" in n1.follow_err.read_text(), \
        n1.follow_report()
    # By hand too: refused, exit 1, the old tree stays.
    r = n1.eccfg("pull")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"check_command failed (exit 1); kept revision {start}" in \
        r.stderr, r.stderr
    assert n1.revision() == start

    good = commit(manager, delete_change("global/bad.conf"),
                  write_change(GLOBAL, "# good\n"))
    n1.wait_revision(good, timeout=PROPAGATION)
    assert read(n1, GLOBAL) == "# good\n"
    assert not (n1.conf / "global/bad.conf").exists()
    check_tree(n1.conf)
    n1.wait_reported(applied_revision=good, result="ok", stale=False)

    # A tree that a crash left in place before its check is checked
    # before it is ever switched to.
    n1.stop_follow()
    bad2 = commit(manager, write_change("global/bad.conf", "bad again\n"))
    pull_killed_at(n1, "renamed", tmp_path)
    assert n1.revision() == good
    r = n1.eccfg("pull")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"check_command failed (exit 1); kept revision {good}" in \
        r.stderr, r.stderr
    assert n1.revision() == good and bad2 > good
    assert not (n1.conf / "global/bad.conf").exists()
    assert nodes_by_name(manager)["mta1"]["result"] == "check_failed"


def test_follow__reload_command_failure(manager, fleet, tmp_path):
    log = tmp_path / "reload.log"
    n1 = fleet.enrolled(manager, "mta1", "default", "--reload-command",
                        logging_command(log, "echo reloading >&2; "
                                        "! grep -rqs FAIL global"))
    start = n1.revision()
    # The first tree was reloaded, run in the tree with the variables.
    assert cmd_log(log) == [[str(start), str(n1.tree(start)),
                             str(n1.tree(start))]]
    n1.start_follow(wait=2)
    n1.wait_reported(applied_revision=start, result="ok")

    bad = commit(manager, write_change(GLOBAL, "# FAIL\n"))
    e = n1.wait_reported(result="reload_failed")
    assert e["applied_revision"] == start, e
    assert "reloading" in e["message"], e
    assert n1.revision() == start
    assert read(n1, GLOBAL) != "# FAIL\n"
    check_tree(n1.conf)
    # Reloaded in the new tree, which failed, then in the old one again.
    assert cmd_log(log)[1:] == [
        [str(bad), str(n1.tree(bad)), str(n1.tree(bad))],
        [str(start), str(n1.tree(start)), str(n1.tree(start))]], \
        cmd_log(log)
    assert "reload_command failed" in n1.follow_err.read_text(), \
        n1.follow_report()
    assert nodes_by_name(manager)["mta1"]["result"] == "reload_failed"
    # A pull by hand tries again (and fails again): the tree the MTA
    # refused is not switched in without a reload.
    r = n1.eccfg("pull")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "reload_command failed" in r.stderr, r.stderr
    assert n1.revision() == start
    assert cmd_log(log)[-1][0] == str(start), cmd_log(log)

    good = commit(manager, write_change(GLOBAL, "# fixed\n"))
    n1.wait_revision(good, timeout=PROPAGATION)
    n1.wait_reported(applied_revision=good, result="ok")
    assert cmd_log(log)[-1] == [str(good), str(n1.tree(good)),
                                str(n1.tree(good))], cmd_log(log)


def test_follow__autoupdate_modes(manager, fleet):
    off = fleet.enrolled(manager, "mta1", "default", "--autoupdate", "false")
    ifu = fleet.enrolled(manager, "mta2", "default", "--autoupdate",
                         "ifunchanged")
    start = manager.head()
    for n in (off, ifu):
        n.start_follow(wait=2)
        n.wait_reported(applied_revision=start, result="ok")

    r1 = commit(manager, write_change(GLOBAL, "# r1\n"))
    # ifunchanged without edits: applied.
    ifu.wait_revision(r1, timeout=PROPAGATION)
    ifu.wait_reported(applied_revision=r1, result="ok")
    # false: reported, not applied.
    e = off.wait_reported(result="disabled")
    assert e["applied_revision"] == start and e["stale"] is True, e
    assert off.revision() == start

    # A follower that does not apply still long-polls between rounds
    # (three rounds with --wait 1 take at least two seconds).
    t0 = time.monotonic()
    r = off.eccfg("follow", "--wait", "1", "--exit-after", "3")
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert elapsed >= 1.8, f"3 rounds took {elapsed:.2f}s: a busy loop"
    assert off.revision() == start

    # ifunchanged with a file edited by hand: not applied.
    node_conf = ifu.conf / "mta2/ecelerity-node.conf"
    original = node_conf.read_text()
    node_conf.write_text(original + "# edited by hand\n")
    r2 = commit(manager, write_change(GLOBAL, "# r2\n"))
    e = ifu.wait_reported(result="local_edits")
    assert e["applied_revision"] == r1, e
    assert e["drift"] == ["mta2/ecelerity-node.conf"], e
    assert ifu.revision() == r1
    assert read(ifu, GLOBAL) == "# r1\n"
    wait_for(lambda: "not applied while files are edited by hand" in
             ifu.follow_stdout(), 10, "the local_edits message",
             describe=ifu.follow_report)
    # Not a busy loop either: at most about one round per --wait.
    t0 = time.monotonic()
    n0 = ifu.follow_stdout().count("edited by hand")
    wait_for(lambda: time.monotonic() - t0 >= 3, 5, "3 s")
    rounds = ifu.follow_stdout().count("edited by hand") - n0
    assert rounds <= 4, f"{rounds} local_edits rounds in 3 s"
    # The edit undone: the next round applies.
    node_conf.write_text(original)
    ifu.wait_revision(r2, timeout=PROPAGATION)
    ifu.wait_reported(applied_revision=r2, result="ok")

    # `eccfg pull` applies whatever autoupdate says.
    r = off.eccfg_ok("pull")
    assert f"applied revision {r2} (was r{start})" in r.stdout, r.stdout
    assert off.revision() == r2 and read(off, GLOBAL) == "# r2\n"
    off.wait_reported(applied_revision=r2, result="ok")


def test_follow__local_edits(manager, fleet):
    n1 = fleet.enrolled(manager, "mta1")
    n2 = fleet.enrolled(manager, "mta2")
    start = n1.revision()
    n1.start_follow(wait=2)
    n1.wait_reported(applied_revision=start, result="ok")

    # An edit the commit does not touch is carried into the new tree.
    (n1.conf / "mta1/ecelerity-node.conf").write_text("# mta1 by hand\n")
    a = commit(manager, write_change(GLOBAL, "# a\n"))
    n1.wait_revision(a, timeout=PROPAGATION)
    assert read(n1, GLOBAL) == "# a\n"
    assert read(n1, "mta1/ecelerity-node.conf") == "# mta1 by hand\n"
    wait_for(lambda: "kept local edit: mta1/ecelerity-node.conf" in
             n1.follow_stdout(), 10, "the kept-edit line",
             describe=n1.follow_report)
    e = n1.wait_reported(applied_revision=a, result="ok")
    assert e["drift"] == ["mta1/ecelerity-node.conf"], e

    # An edit to a file the commit changes holds the update.
    (n1.conf / GLOBAL).write_text("# global by hand\n")
    b = commit(manager, write_change(GLOBAL, "# b\n"))
    e = n1.wait_reported(result="held")
    assert e["applied_revision"] == a, e
    assert n1.revision() == a
    assert read(n1, GLOBAL) == "# global by hand\n"
    r = n1.eccfg("pull")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "C  global/ecelerity.conf" in r.stderr, r.stderr
    assert "--mine" in r.stderr and "--theirs" in r.stderr, r.stderr
    assert n1.revision() == a
    # --theirs takes the incoming files (every local edit is dropped).
    r = n1.eccfg_ok("pull", "--theirs")
    assert n1.revision() == b
    assert read(n1, GLOBAL) == "# b\n"
    assert read(n1, "mta1/ecelerity-node.conf").encode() == \
        manager.file("default/mta1/ecelerity-node.conf")
    check_tree(n1.conf)
    n1.wait_reported(applied_revision=b, result="ok", drift=[])

    # --mine keeps the local file.
    (n2.conf / GLOBAL).write_text("# mine\n")
    r = n2.eccfg("pull")
    assert r.returncode == 1 and "C  global/ecelerity.conf" in r.stderr, \
        r.stdout + r.stderr
    assert n2.revision() == start
    r = n2.eccfg_ok("pull", "--mine")
    assert n2.revision() == b
    assert read(n2, GLOBAL) == "# mine\n"
    assert "kept local edit: global/ecelerity.conf" in r.stdout, r.stdout
    st = n2.eccfg_ok("status").stdout
    assert "M       global/ecelerity.conf" in st, st
    e = nodes_by_name(manager)["mta2"]
    assert e["applied_revision"] == b and e["drift"] == [GLOBAL], e


def test_follow__manager_restart(manager, fleet):
    n1 = fleet.enrolled(manager, "mta1")
    start = n1.revision()
    n1.start_follow(wait=2)
    n1.wait_reported(applied_revision=start, result="ok")
    port = manager.port
    assert manager.stop(signal.SIGTERM) == 0
    # The follower notices and keeps serving its tree.
    wait_for(lambda: "retrying in" in n1.follow_err.read_text(), 15,
             "the follower's retry warning", describe=n1.follow_report)
    assert n1.following() and n1.revision() == start
    # Same port again: the node's cluster.boot names it.
    manager.set_conf(listen=f"127.0.0.1:{port}")
    manager.start()
    assert manager.port == port
    # Its first report after the outage says how stale it was.
    e = wait_for(lambda: (lambda e: e if e and "no manager for" in
                          e["message"] else None)(
        api_nodes(manager).get("mta1")), PROPAGATION + 35,
        "the report after the outage", describe=n1.follow_report)
    assert f"served r{start} meanwhile" in e["message"], e
    r = commit(manager, write_change(GLOBAL, "# after the restart\n"))
    n1.wait_revision(r, timeout=PROPAGATION + 10)
    assert read(n1, GLOBAL) == "# after the restart\n"
    n1.wait_reported(applied_revision=r, result="ok")
    assert n1.following()


def test_follow__fail_over(manager, fleet):
    dead = dead_port()
    repo = f"127.0.0.1:{dead},{manager.server}"
    n1 = fleet.node(manager, "mta1")
    r = n1.bootstrap_ok(repo=repo)
    assert n1.revision() == manager.head(), r.stdout + r.stderr
    assert f"repo = {repo}" in n1.boot.read_text() or \
        f'repo = "{repo}"' in n1.boot.read_text()
    r1 = commit(manager, write_change(GLOBAL, "# r1\n"))
    r = n1.eccfg_ok("pull")
    assert n1.revision() == r1, r.stdout + r.stderr
    st = n1.eccfg_ok("status").stdout
    assert f"view head: r{r1} ({manager.server})" in st, st
    n1.start_follow(wait=2)
    n1.wait_reported(applied_revision=r1, result="ok")
    r2 = commit(manager, write_change(GLOBAL, "# r2\n"))
    n1.wait_revision(r2, timeout=PROPAGATION)
    n1.wait_reported(applied_revision=r2, result="ok")


STEPS = ("built", "synced", "renamed", "checked", "linked", "switched",
         "reloaded")
# Where CONF_DIR is after a crash at each step (apply.h's order).
SWITCHED_AT = {"switched", "reloaded"}


@pytest.mark.parametrize("step", STEPS)
def test_follow__crash_during_apply(manager, fleet, tmp_path, step):
    checks, reloads = tmp_path / "check.log", tmp_path / "reload.log"
    n1 = fleet.enrolled(manager, "mta1", "default",
                        "--check-command", logging_command(checks),
                        "--reload-command", logging_command(reloads))
    old = n1.revision()
    new = commit(manager, write_change(GLOBAL, "# new\n"),
                 write_change("default/default/sub/added.conf", "x = 1\n"),
                 delete_change("default/mta2/ecelerity-node.conf"))
    pull_killed_at(n1, step, tmp_path)
    # Killed where it was asked to stop ...
    assert n1.leftovers() == {"built": [f"r{new}.tmp"],
                              "synced": [f"r{new}.tmp"],
                              "linked": ["conf.tmp"]}.get(step, []), \
        n1.leftovers()
    assert (new in n1.kept()) == (step not in ("built", "synced")), \
        n1.kept()
    # ... on one complete tree, old or new.
    rev = n1.revision()
    assert rev == (new if step in SWITCHED_AT else old), rev
    assert n1.conf.is_symlink()
    manifest = check_tree(n1.conf)
    assert manifest["revision"] == rev

    # The next pull recovers and ends on the new revision, checked and
    # reloaded.
    r = n1.eccfg_ok("pull")
    assert n1.revision() == new, r.stdout + r.stderr
    manifest = check_tree(n1.conf)
    assert manifest["revision"] == new
    assert n1.leftovers() == []
    assert read(n1, GLOBAL) == "# new\n"
    assert read(n1, "default/sub/added.conf") == "x = 1\n"
    assert not (n1.conf / "mta2/ecelerity-node.conf").exists()
    assert str(new) in [ln[0] for ln in cmd_log(checks)], cmd_log(checks)
    assert cmd_log(reloads)[-1][0] == str(new), cmd_log(reloads)
    e = nodes_by_name(manager)["mta1"]
    assert e["applied_revision"] == new and e["result"] == "ok", e


def test_follow__local_rollback_and_status(manager, fleet, tmp_path):
    reloads = tmp_path / "reload.log"
    n1 = fleet.enrolled(manager, "mta1", "default", "--reload-command",
                        logging_command(reloads))
    r0 = n1.revision()
    r1 = commit(manager, write_change(GLOBAL, "# r1\n"))
    n1.eccfg_ok("pull")
    r2 = commit(manager, write_change(GLOBAL, "# r2\n"))
    n1.eccfg_ok("pull")
    assert n1.revision() == r2
    r = n1.eccfg_ok("local", "list")
    assert r.stdout.splitlines() == [f"* r{r2}", f"  r{r1}", f"  r{r0}"], \
        r.stdout
    listed = json.loads(n1.eccfg_ok("local", "list", "--json").stdout)
    assert listed == [{"revision": r2, "current": True},
                      {"revision": r1, "current": False},
                      {"revision": r0, "current": False}], listed

    # status with the manager up: revision, view head, drift.
    (n1.conf / "mta1/ecelerity-node.conf").write_text("# by hand\n")
    (n1.conf / "default/extra.conf").write_text("extra\n")
    (n1.conf / "mta2/ecelerity-node.conf").unlink()
    st = n1.eccfg_ok("status").stdout
    assert "node mta1, subcluster default" in st, st
    assert f"{n1.conf} is at revision {r2}" in st, st
    assert f"view head: r{r2} ({manager.server})" in st, st
    assert "M       mta1/ecelerity-node.conf" in st, st
    assert "?       default/extra.conf" in st, st
    assert "!       mta2/ecelerity-node.conf" in st, st
    doc = json.loads(n1.eccfg_ok("status", "--json").stdout)
    assert doc["revision"] == r2 and doc["view_revision"] == r2, doc
    assert doc["reachable"] is True, doc
    assert {(f["path"], f["status"]) for f in doc["files"]} == {
        ("mta1/ecelerity-node.conf", "M"), ("default/extra.conf", "?"),
        ("mta2/ecelerity-node.conf", "!")}, doc

    # The manager down: rollback, pull -r of a kept tree and status work.
    assert manager.stop(signal.SIGTERM) == 0
    r = n1.eccfg_ok("local", "rollback", str(r0))
    assert f"switched to revision {r0}" in r.stdout, r.stdout
    assert n1.revision() == r0
    assert read(n1, GLOBAL).encode() == (n1.tree(r0) / GLOBAL).read_bytes()
    assert cmd_log(reloads)[-1][0] == str(r0), cmd_log(reloads)
    r = n1.eccfg_ok("local", "list")
    assert f"* r{r0}" in r.stdout.splitlines(), r.stdout
    r = n1.eccfg("local", "rollback", "99")
    assert r.returncode != 0 and "not kept" in r.stderr, r.stderr
    assert n1.revision() == r0

    r = n1.eccfg_ok("pull", "-r", str(r1))
    assert n1.revision() == r1, r.stdout + r.stderr
    assert read(n1, GLOBAL) == "# r1\n"
    assert cmd_log(reloads)[-1][0] == str(r1), cmd_log(reloads)
    assert n1.leftovers() == []

    st = n1.eccfg_ok("status").stdout
    assert f"{n1.conf} is at revision {r1}" in st, st
    assert "manager unreachable" in st, st
    assert f"view head then r{r2}" in st, st
    doc = json.loads(n1.eccfg_ok("status", "--json").stdout)
    assert doc["reachable"] is False and doc["unreachable"], doc
    assert doc["revision"] == r1 and doc["view_revision"] == r2, doc
    # The hand edits stayed in the tree they were made in.
    assert (n1.tree(r2) / "mta1/ecelerity-node.conf").read_text() == \
        "# by hand\n"
