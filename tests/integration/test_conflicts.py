"""test_conflicts.py - several administrators at once: overlapping and
non-overlapping commits (eccfg and the API), pull with each conflict mode,
and many concurrent commits that must all land, serialized and whole."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecc import (committed_revision, parse_status, tree_files, write_change)

ECC = "global/ecelerity.conf"


def out(r):
    return r.stdout + r.stderr


def checkout(m, wc, **kw):
    m.eccfg_ok("checkout", "--subcluster", "default", wc, **kw)


@pytest.fixture
def alice(manager):
    """A second administrator."""
    r = manager.api("POST", "/v1/users", {"name": "alice",
                                          "password": "alice-Pa55word",
                                          "role": "admin"})
    r.ok("user", status=201)
    return ("alice", "alice-Pa55word")


# -- two administrators --------------------------------------------------------


def test_conflicts__overlapping_commit_refused_naming_paths(manager, alice,
                                                            tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    checkout(manager, a)
    checkout(manager, b, user=alice[0], password=alice[1])
    (a / ECC).write_text("# admin's version\n")
    (b / ECC).write_text("# alice's version\n")
    (b / "mta1/ecelerity-node.conf").write_text("# alice, no overlap\n")

    r = manager.eccfg_ok("commit", "-m", "admin", cwd=a)
    assert committed_revision(r.stdout) == 2
    r = manager.eccfg("commit", "-m", "alice", cwd=b, user=alice[0],
                      password=alice[1])
    assert r.returncode == 1, out(r)
    assert ECC in out(r)
    assert "pull" in out(r)
    assert committed_revision(r.stdout) is None
    assert manager.head() == 2
    # nothing half applied: alice's other file did not land
    assert manager.file("default/mta1/ecelerity-node.conf") == \
        manager.file("default/mta1/ecelerity-node.conf", rev=1)
    assert manager.file(ECC) == b"# admin's version\n"
    assert (b / ECC).read_text() == "# alice's version\n"
    assert manager.api("GET", "/v1/revisions/2").ok("revision")["author"] \
        == "admin"


def test_conflicts__non_overlapping_commits_both_land(manager, alice,
                                                      tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    checkout(manager, a)
    checkout(manager, b, user=alice[0], password=alice[1])
    (a / ECC).write_text("# admin\n")
    (b / "mta1/ecelerity-node.conf").write_text("# alice\n")
    r = manager.eccfg_ok("commit", "-m", "admin", cwd=a)
    assert committed_revision(r.stdout) == 2
    r = manager.eccfg_ok("commit", "-m", "alice", cwd=b, user=alice[0],
                         password=alice[1])
    assert committed_revision(r.stdout) == 3
    assert manager.file(ECC) == b"# admin\n"
    assert manager.file("default/mta1/ecelerity-node.conf") == b"# alice\n"
    rev3 = manager.api("GET", "/v1/revisions/3").ok("revision")
    assert rev3["author"] == "alice"
    assert rev3["changes"] == [{"path": "default/mta1/ecelerity-node.conf",
                                "action": "M"}]


def test_conflicts__api_409_lists_only_conflicting_paths(manager, schemas):
    manager.commit_ok([write_change(ECC, "# r2\n")], base=1)
    r = manager.commit([write_change(ECC, "# stale\n"),
                        write_change("default/default/fresh.conf", "x\n")],
                       base=1)
    err = r.error("out_of_date", status=409)
    assert err["paths"] == [ECC]
    assert ECC in err["message"]
    assert manager.head() == 2
    assert manager.file("default/default/fresh.conf") is None
    # the same change set based on the head lands
    res = manager.commit_ok([write_change(ECC, "# fresh\n"),
                             write_change("default/default/fresh.conf",
                                          "x\n")], base=2)
    assert res["revision"] == 3 and res["unchanged"] is False
    # a delete of a file changed after the base conflicts too
    r = manager.commit([{"path": ECC, "action": "delete"}], base=2)
    assert r.error("out_of_date", status=409)["paths"] == [ECC]
    # deleting a path that does not exist is 404
    r = manager.commit([{"path": "global/nosuch.conf", "action": "delete"}])
    r.error("not_found", status=404)
    # a change set that changes nothing: 200, head, unchanged
    r = manager.commit([write_change(ECC, "# fresh\n")])
    body = r.ok("commit-result", status=200)
    assert body["unchanged"] is True and body["revision"] == 3
    assert manager.head() == 3


# -- pull conflict modes -------------------------------------------------------


@pytest.fixture
def diverged(manager, tmp_path):
    """Checkout `a` committed r2 (ECC and mta2's node file); checkout `b`,
    still at r1, edited ECC locally.  Returns (a, b)."""
    a, b = tmp_path / "a", tmp_path / "b"
    checkout(manager, a)
    checkout(manager, b)
    (a / ECC).write_text("line 1\nincoming\nline 3\n")
    (a / "mta2/ecelerity-node.conf").write_text("# incoming, no overlap\n")
    r = manager.eccfg_ok("commit", "-m", "a", cwd=a)
    assert committed_revision(r.stdout) == 2
    (b / ECC).write_text("line 1\nlocal\nline 3\n")
    return a, b


def test_conflicts__pull_refuses_overlap_and_changes_nothing(manager,
                                                             diverged):
    _, b = diverged
    node2_before = (b / "mta2/ecelerity-node.conf").read_bytes()
    r = manager.eccfg("pull", cwd=b)
    assert r.returncode == 1, out(r)
    assert ECC in out(r)
    for flag in ("--mine", "--theirs", "--manual"):
        assert flag in out(r), out(r)
    assert (b / ECC).read_text() == "line 1\nlocal\nline 3\n"
    assert (b / "mta2/ecelerity-node.conf").read_bytes() == node2_before
    assert parse_status(manager.eccfg_ok("status", cwd=b).stdout) == {ECC: "M"}
    # still based on r1: a commit is out of date
    r = manager.eccfg("commit", "-m", "stale", cwd=b)
    assert r.returncode == 1 and ECC in out(r)


def test_conflicts__pull_mine(manager, diverged):
    _, b = diverged
    r = manager.eccfg_ok("pull", "--mine", cwd=b)
    assert "Updated to revision 2." in r.stdout
    assert (b / ECC).read_text() == "line 1\nlocal\nline 3\n"
    assert (b / "mta2/ecelerity-node.conf").read_text() == \
        "# incoming, no overlap\n"
    assert parse_status(manager.eccfg_ok("status", cwd=b).stdout) == {ECC: "M"}
    r = manager.eccfg_ok("commit", "-m", "mine wins", cwd=b)
    assert committed_revision(r.stdout) == 3
    assert manager.file(ECC) == b"line 1\nlocal\nline 3\n"


def test_conflicts__pull_theirs(manager, diverged):
    _, b = diverged
    r = manager.eccfg_ok("pull", "--theirs", cwd=b)
    assert "Updated to revision 2." in r.stdout
    assert (b / ECC).read_text() == "line 1\nincoming\nline 3\n"
    assert parse_status(manager.eccfg_ok("status", cwd=b).stdout) == {}
    r = manager.eccfg_ok("commit", "-m", "nothing", cwd=b)
    assert "Nothing to commit" in r.stdout
    assert manager.head() == 2


def test_conflicts__pull_manual_and_resolve(manager, diverged):
    _, b = diverged
    r = manager.eccfg("pull", "--manual", cwd=b)
    assert ECC in out(r)
    text = (b / ECC).read_text()
    assert re.search(r"^<<<<<<< ", text, re.M), text
    assert re.search(r"^=======$", text, re.M), text
    assert re.search(r"^>>>>>>> ", text, re.M), text
    assert "local" in text and "incoming" in text
    assert (b / "mta2/ecelerity-node.conf").read_text() == \
        "# incoming, no overlap\n"
    st = parse_status(manager.eccfg_ok("status", cwd=b).stdout)
    assert st == {ECC: "C"}, st

    r = manager.eccfg("resolve", ECC, cwd=b)
    assert r.returncode != 0, "resolve accepted a file with markers"
    assert parse_status(manager.eccfg_ok("status", cwd=b).stdout) == {ECC: "C"}

    (b / ECC).write_text("line 1\nmerged\nline 3\n")
    manager.eccfg_ok("resolve", ECC, cwd=b)
    assert parse_status(manager.eccfg_ok("status", cwd=b).stdout) == {ECC: "M"}
    r = manager.eccfg_ok("commit", "-m", "merged", cwd=b)
    assert committed_revision(r.stdout) == 3
    assert manager.file(ECC) == b"line 1\nmerged\nline 3\n"


# -- concurrency ---------------------------------------------------------------


def test_conflicts__concurrent_commits_all_land(manager):
    n = 20
    token = manager.token()
    barrier = threading.Barrier(n)

    def one(i):
        conn = manager.connection(timeout=60)
        try:
            barrier.wait(30)
            return manager.request(
                "POST", "/v1/commits",
                {"base": 1, "message": f"thread {i}",
                 "changes": [write_change(f"default/default/t{i}.conf",
                                          f"thread = {i}\n")]},
                token=token, conn=conn, timeout=60)
        finally:
            conn.close()

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    revs = {}
    for i, r in enumerate(results):
        body = r.ok("commit-result", status=201)
        assert body["unchanged"] is False
        revs[body["revision"]] = i
    assert sorted(revs) == list(range(2, 2 + n))
    assert manager.head() == 1 + n
    for rev, i in revs.items():
        info = manager.api("GET", f"/v1/revisions/{rev}").ok("revision")
        assert info["message"] == f"thread {i}"
        assert info["changes"] == [{"path": f"default/default/t{i}.conf",
                                    "action": "A"}]
    files = tree_files(manager.tree())
    for i in range(n):
        assert f"default/default/t{i}.conf" in files
        assert manager.file(f"default/default/t{i}.conf") == \
            f"thread = {i}\n".encode()


def test_conflicts__concurrent_overlapping_commits_one_wins(manager):
    n = 10
    token = manager.token()
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait(30)
        return manager.request(
            "POST", "/v1/commits",
            {"base": 1, "message": f"racer {i}",
             "changes": [write_change(ECC, f"racer = {i}\n")]},
            token=token, timeout=60)

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    won = [i for i, r in enumerate(results) if r.status == 201]
    assert len(won) == 1, [r.status for r in results]
    for i, r in enumerate(results):
        if i != won[0]:
            assert r.error("out_of_date", status=409)["paths"] == [ECC]
    assert manager.head() == 2
    assert manager.file(ECC) == f"racer = {won[0]}\n".encode()
