"""test_cluster.py - cluster mode (issue 5) with real processes: several
ecconfigd managers sharing one private PostgreSQL server (pg.py, the
`postgres` and `cluster_factory` fixtures of conftest.py).  The first
manager is made by `eccfg init --store postgresql`, the others by
`eccfg init --join` with its CA.  Every revision is a row of
ecc_revisions; the tests check that commits through any manager land
once, in order, with the same commit ids everywhere, that races are
decided by the database, that a killed manager or a stopped database
loses nothing, that a wiped manager rebuilds itself, and that nodes,
accounts and enrollments are shared.

Every wait is a bounded poll (nodes.wait_for); no sleep stands in for
readiness."""

import hashlib
import http.client
import json
import shutil
import ssl
import subprocess
import threading
import time

import pytest

import ecc
from ecc import write_change
from nodes import Fleet, api_nodes, cert_request, wait_for

# How long a revision may take to reach every manager (NOTIFY, or the
# 5 s sync timer as a safety net).
PROPAGATION = 20.0
# How long managers may take to commit again once PostgreSQL is back
# (reconnect backoff is capped at 10 s).
RECOVERY = 40.0
# A revision announced by NOTIFY reaches the other managers in about
# 0.1 s; far less than this, which is under the sync timer's 5 s.
NOTIFIED = 2.0

NET_ERRORS = (OSError, ssl.SSLError, http.client.HTTPException)


# -- helpers ------------------------------------------------------------------


def revision_map(m):
    """[(revision, commit, author, time, message)] of manager m, oldest
    first (GET /v1/revisions, paged)."""
    out = []
    before = None
    while True:
        url = "/v1/revisions?limit=1000" + (
            f"&before={before}" if before is not None else "")
        body = m.api("GET", url).ok("revisions")
        entries = body["revisions"]
        out += [(e["revision"], e["commit"], e["author"], e["time"],
                 e["message"]) for e in entries]
        if not entries or entries[-1]["revision"] == 0:
            break
        before = entries[-1]["revision"] - 1
    out.reverse()
    return out


def commits_of(m):
    """{revision: commit id} of manager m."""
    return {r: c for r, c, *_ in revision_map(m)}


def db_revisions(postgres):
    """[(rev, commit_id, parent, manager)] of ecc_revisions, by rev."""
    rows = postgres.psql("SELECT rev, commit_id, coalesce(parent, ''), "
                         "manager FROM ecc_revisions ORDER BY rev")
    return [(int(r[0]), r[1].strip(), r[2].strip(), r[3]) for r in rows]


def git(m, *args):
    r = subprocess.run(["git", "-C", str(m.data / "repo.git"), *args],
                       capture_output=True, text=True,
                       env=ecc.child_env())
    assert r.returncode == 0, (f"git {' '.join(args)} in {m.root} failed:\n"
                               f"{r.stdout}{r.stderr}")
    return r.stdout


def main_ref(m):
    return git(m, "rev-parse", "refs/heads/main").strip()


def fsck(m):
    """git fsck --strict is clean; returns the revision count - 1."""
    git(m, "fsck", "--strict")
    return int(git(m, "rev-list", "--count", "refs/heads/main")) - 1


def heads(managers):
    return {m.name: m.head() for m in managers}


def wait_heads(managers, rev, timeout=PROPAGATION):
    """Every manager's head is `rev`."""
    return wait_for(lambda: all(m.head() == rev for m in managers),
                    timeout, f"every manager at r{rev}",
                    describe=lambda: json.dumps(heads(managers)))


def same_history(managers, postgres=None):
    """Every manager lists the same revisions with the same commit ids,
    authors, times and messages; their main refs are the head's commit;
    with `postgres`, ecc_revisions holds exactly those commits.
    Returns the common map."""
    first = revision_map(managers[0])
    revs = [r for r, *_ in first]
    assert revs == list(range(len(revs))), f"gaps in {revs}"
    for m in managers[1:]:
        other = revision_map(m)
        if other != first:
            a, b = dict((e[0], e) for e in first), dict((e[0], e)
                                                        for e in other)
            diff = [(r, a.get(r), b.get(r)) for r in sorted(set(a) | set(b))
                    if a.get(r) != b.get(r)]
            raise AssertionError(
                f"{m.name}'s history differs from {managers[0].name}'s at "
                f"{len(diff)} revision(s), first: {diff[:3]}")
    for m in managers:
        assert main_ref(m) == first[-1][1], (
            f"{m.name}: refs/heads/main is {main_ref(m)}, the head "
            f"r{first[-1][0]} is {first[-1][1]}")
    if postgres is not None:
        rows = db_revisions(postgres)
        assert [(r, c) for r, c, _, _ in rows] == \
            [(r, c) for r, c, *_ in first], (
                "ecc_revisions differs from the managers' history:\n"
                f"db {rows[-3:]}\nmanagers {first[-3:]}")
        # Each row's parent is the previous row's commit.
        for prev, row in zip(rows, rows[1:]):
            assert row[2] == prev[1], f"r{row[0]}: parent {row[2]!r}, " \
                f"r{prev[0]} is {prev[1]}"
    return first


def blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit(m, *changes, message="test commit"):
    return m.commit_ok(list(changes), message=message)


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
def fleet(cluster_factory, tmp_path):
    """Nodes of a test below tmp_path/nodes; followers stopped (and
    checked) at teardown."""
    # After cluster_factory: the followers stop before the managers.
    f = Fleet(tmp_path / "nodes")
    yield f
    f.stop_all()


# -- the tests ----------------------------------------------------------------


def test_cluster__managers_join(cluster_factory, postgres):
    ms = cluster_factory(3)
    for m in ms:
        h = m.request("GET", "/v1/health").ok("health")
        assert h["head"] == 1 and h["store"] == "postgresql", h
        assert m.conf_value("store") == "postgresql"
        assert m.conf_value("manager_name") == m.name
    same_history(ms, postgres)
    # r0 and r1 were published by the first manager's eccfg init.
    assert [(r, mgr) for r, _, _, mgr in db_revisions(postgres)] == \
        [(0, "m1"), (1, "m1")]
    # The managers record themselves in ecc_managers (start-up or sync).
    wait_for(lambda: sorted(r[0] for r in postgres.psql(
        "SELECT name FROM ecc_managers")) == ["m1", "m2", "m3"],
        PROPAGATION, "m1, m2 and m3 in ecc_managers",
        describe=lambda: str(postgres.psql("SELECT * FROM ecc_managers")))


def test_cluster__concurrent_commits(cluster_factory, postgres):
    ms = cluster_factory(3)
    n_commits, per_manager_threads = 300, 4
    for m in ms:
        m.token()
    results = {}                  # i -> (manager, status, body)
    lock = threading.Lock()
    workers = []
    for k, m in enumerate(ms):
        for t in range(per_manager_threads):
            slot = k * per_manager_threads + t
            workers.append((m, list(range(slot, n_commits,
                                          len(ms) * per_manager_threads))))

    def work(m, indices):
        for i in indices:
            try:
                r = m.commit([write_change(f"global/c{i}.conf",
                                           f"c = {i}\n")],
                             base=m.head(), message=f"c{i}")
                got = (m.name, r.status, r.json() if r.body else None)
            except Exception as e:          # noqa: BLE001 - reported below
                got = (m.name, None, repr(e))
            with lock:
                results[i] = got

    threads = [threading.Thread(target=work, args=w) for w in workers]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert not any(t.is_alive() for t in threads), "commit threads hung"
    elapsed = time.monotonic() - t0
    assert sorted(results) == list(range(n_commits))
    bad = {i: r for i, r in results.items() if r[1] != 201}
    assert not bad, (f"{len(bad)} of {n_commits} commits failed, e.g. "
                     f"{sorted(bad.items())[:5]}")
    by_rev = {r[2]["revision"]: i for i, r in results.items()}
    assert sorted(by_rev) == list(range(2, n_commits + 2)), (
        "revisions are not 2..301 exactly once: "
        f"{sorted(by_rev)[:5]}...{sorted(by_rev)[-5:]}")
    # Every manager took part.
    assert {r[0] for r in results.values()} == {"m1", "m2", "m3"}

    head = n_commits + 1
    wait_heads(ms, head)
    history = same_history(ms, postgres)
    for rev, commit_id, author, _t, message in history[2:]:
        i = by_rev[rev]
        assert message == f"c{i}" and author == "admin", (rev, message)
        assert commit_id == results[i][2]["commit"], rev
    # The head tree holds every file once, with its content.
    for m in ms:
        files = ecc.tree_files(m.tree())
        for i in range(n_commits):
            f = files.get(f"global/c{i}.conf")
            assert f and f["blob"] == blob_id(f"c = {i}\n".encode()), (
                m.name, i, f)
        assert fsck(m) == head
    print(f"{n_commits} commits through 3 managers in {elapsed:.1f}s")


def test_cluster__overlapping_commits(cluster_factory, postgres):
    m1, m2 = cluster_factory(2)
    path = "global/same.conf"
    for m in (m1, m2):
        m.token()
    for rnd in range(6):
        base = m1.head()
        wait_heads((m1, m2), base)
        barrier = threading.Barrier(2)
        out = {}

        def send(m, content):
            barrier.wait(10)
            out[m.name] = (m.commit([write_change(path, content)],
                                    base=base, message=f"{m.name} {rnd}"),
                           content)

        threads = [threading.Thread(target=send, args=(m, f"{m.name} {rnd}\n"))
                   for m in (m1, m2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = sorted(r.status for r, _ in out.values())
        assert statuses == [201, 409], (
            f"round {rnd}: expected one 201 and one 409, got "
            f"{[(k, r.describe('')) for k, (r, _) in out.items()]}")
        winner = next(k for k, (r, _) in out.items() if r.status == 201)
        loser = next(k for k, (r, _) in out.items() if r.status == 409)
        err = out[loser][0].error("out_of_date", status=409)
        assert path in err.get("paths", []), err
        assert path in err["message"], err
        won = out[winner][0].ok("commit-result", status=201)
        assert won["revision"] == base + 1
        wait_heads((m1, m2), base + 1)
        for m in (m1, m2):
            assert m.file(path) == out[winner][1].encode(), (rnd, m.name)
    same_history((m1, m2), postgres)


def test_cluster__sigkill_during_commits(cluster_factory, postgres):
    m1, m2, m3 = cluster_factory(3)
    token = m1.token()
    acked = {}                    # revision -> (commit, name)
    lock = threading.Lock()
    stop = threading.Event()

    def burst(w):
        i = 0
        while not stop.is_set() and i < 500:
            name = f"k{w}-{i}"
            try:
                base = m1.request("GET", "/v1/health", timeout=10).json()[
                    "head"]
                r = m1.request("POST", "/v1/commits", {
                    "base": base, "message": name,
                    "changes": [write_change(f"global/{name}.conf",
                                             f"{name}\n")]},
                    token=token, timeout=30)
            except NET_ERRORS:
                return
            if r.status == 201:
                with lock:
                    acked[r.json()["revision"]] = (r.json()["commit"], name)
            i += 1

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acked) >= 8, 60, "8 commits through m1")
    finally:
        m1.kill9()
        stop.set()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads)

    # No half revision: the log has no gap, every acknowledged commit is
    # in it, and the survivors hold exactly the log.
    rows = db_revisions(postgres)
    dbhead = rows[-1][0]
    assert [r for r, *_ in rows] == list(range(dbhead + 1))
    in_db = {r: c for r, c, _, _ in rows}
    for rev, (commit_id, name) in acked.items():
        assert in_db.get(rev) == commit_id, (
            f"acknowledged r{rev} ({name}) is not in ecc_revisions")
    wait_heads((m2, m3), dbhead)
    history = same_history((m2, m3), postgres)
    for rev, (commit_id, name) in acked.items():
        assert history[rev][4] == name
        assert m2.file(f"global/{name}.conf") == f"{name}\n".encode()
    for m in (m2, m3):
        assert fsck(m) == dbhead

    # Commits go on through the survivors meanwhile.
    r = commit(m2, write_change("global/while-m1-down.conf", "x\n"))
    assert r["revision"] == dbhead + 1
    wait_heads((m2, m3), dbhead + 1)

    # The killed manager restarts and catches up before it serves.
    m1.start()
    assert m1.head() == dbhead + 1
    same_history((m1, m2, m3), postgres)
    assert fsck(m1) == dbhead + 1
    r = commit(m1, write_change("global/after-restart.conf", "y\n"))
    assert r["revision"] == dbhead + 2
    wait_heads((m1, m2, m3), dbhead + 2)
    same_history((m1, m2, m3), postgres)


def test_cluster__database_outage(cluster_factory, postgres):
    ms = cluster_factory(3)
    m1, m2, m3 = ms
    before = commit(m1, write_change("global/a.conf", "a = 1\n"))["revision"]
    wait_heads(ms, before)
    for m in ms:
        m.token()
    ref_before = {m.name: main_ref(m) for m in ms}

    # A watch on m2 waiting for the next revision, across the outage.
    watched = {}

    def watch():
        try:
            watched["r"] = m2.api(
                "GET", f"/v1/views/default/watch?since={before}&wait=55",
                timeout=90)
        except NET_ERRORS as e:
            watched["e"] = e

    wt = threading.Thread(target=watch)
    wt.start()

    postgres.stop()
    try:
        for k, m in enumerate(ms):
            r = m.commit([write_change(f"global/down{k}.conf", "no\n")],
                         base=before)
            err = r.error("unavailable", status=503)
            assert "database" in err["message"].lower(), err
        # Reads, snapshots and watches go on.
        for m in ms:
            t0 = time.monotonic()
            assert m.head() == before
            body = m.api("GET", "/v1/revisions?limit=5").ok("revisions")
            assert body["head"] == before
            assert m.file("global/a.conf") == b"a = 1\n"
            r = m.api("GET", "/v1/views/default/snapshot")
            assert r.status == 200, r.describe("snapshot")
            assert r.header("X-Ecconfig-Revision") == str(before)
            w = m.api("GET", f"/v1/views/default/watch?since={before - 1}"
                      "&wait=5").ok("watch")
            assert w["changed"] is True and w["revision"] == before, w
            w = m.api("GET", f"/v1/views/default/watch?since={before}"
                      "&wait=1").ok("watch")
            assert w["changed"] is False, w
            assert time.monotonic() - t0 < 10, f"{m.name}: reads stalled"
            assert main_ref(m) == ref_before[m.name], (
                f"{m.name}'s branch moved during the outage")
    finally:
        postgres.start()

    # Every manager commits again within a bounded time.
    landed = {}
    for k, m in enumerate(ms):
        def try_commit():
            r = m.commit([write_change(f"global/up{k}.conf", f"{k}\n")])
            if r.status == 201:
                return r.ok("commit-result", status=201)
            r.error("unavailable", status=503)
            return None
        landed[m.name] = wait_for(try_commit, RECOVERY,
                                  f"a commit through {m.name} after the "
                                  "database came back", interval=0.2)
    # Each manager's loop connection is back (GET /v1/managers is asked
    # on it, after the LISTENs it re-issues), so notifications flow
    # again: commits reach every manager well within the 5 s sync timer.
    for m in ms:
        wait_for(lambda: m.api("GET", "/v1/managers").status == 200,
                 RECOVERY, f"{m.name}'s loop back on the database",
                 interval=0.2)
    for k, m in enumerate(ms):
        r = commit(m, write_change(f"global/notified{k}.conf", f"{k}\n"))
        wait_heads(ms, r["revision"], timeout=NOTIFIED)
    last = commit(m3, write_change("global/after.conf", "after\n"))
    wait_heads(ms, last["revision"], timeout=NOTIFIED)
    history = same_history(ms, postgres)
    for name, res in landed.items():
        assert history[res["revision"]][1] == res["commit"], name
    # The audit trail lost none of the commits made once it was back.
    audit = [d for (d,) in postgres.psql(
        "SELECT detail FROM ecc_audit WHERE action = 'commit'")]
    for res in [*landed.values(), last]:
        tag = f"r{res['revision']} {res['commit'][:12]}"
        assert any(d.startswith(tag + ":") for d in audit), (
            f"no audit record of {tag}: {audit}")
    for m in ms:
        assert m.file("global/after.conf") == b"after\n"
        # Nothing of the refused commits survived.
        for k in range(len(ms)):
            assert m.file(f"global/down{k}.conf") is None, (m.name, k)
    # The watch held across the outage and saw a revision made after it.
    wt.join(90)
    assert not wt.is_alive()
    assert "e" not in watched, watched
    w = watched["r"].ok("watch")
    assert w["changed"] is True and w["revision"] > before, w


def test_cluster__wiped_repository_rebuilds(cluster_factory, postgres):
    ms = cluster_factory(3)
    m1, m2, m3 = ms
    for k in range(4):
        # Each commit through another manager, once all hold the last.
        r = commit(ms[k % 3], write_change(f"global/w{k}.conf", f"{k}\n"),
                   write_change("default/default/shared.conf", f"v{k}\n"))
        wait_heads(ms, r["revision"])
    assert r["revision"] == 5
    m2.stop()
    shutil.rmtree(m2.data / "repo.git")
    # More history while it is down.
    commit(m1, write_change("global/w-down.conf", "down\n"))
    wait_heads((m1, m3), 6)
    commit(m3, ecc.delete_change("global/w0.conf"))
    wait_heads((m1, m3), 7)
    m2.start()
    assert m2.head() == 7
    assert (m2.data / "repo.git").is_dir()
    history = same_history(ms, postgres)
    assert len(history) == 8
    assert m2.tree() == m1.tree()
    assert m2.file("default/default/shared.conf") == b"v3\n"
    assert m2.file("global/w0.conf") is None
    assert fsck(m2) == 7
    # And it commits.
    r = commit(m2, write_change("global/w-rebuilt.conf", "ok\n"))
    wait_heads(ms, r["revision"])
    same_history(ms, postgres)


def test_cluster__nodes_follow_different_managers(cluster_factory, fleet,
                                                  postgres):
    m1, m2, m3 = cluster_factory(3)
    n1 = fleet.node(m1, "mta1")
    n2 = fleet.node(m2, "mta2")
    # mta1 follows m1, and may fail over to m2.
    n1.bootstrap_ok(repo=f"{m1.server},{m2.server}")
    n2.bootstrap_ok()
    start = m1.head()
    for n in (n1, n2):
        assert n.revision() == start
        n.start_follow(wait=2)
    # Both enrollments are in the shared store: m3 lists both nodes.
    wait_for(lambda: {"mta1", "mta2"} <= set(api_nodes(m3)), PROPAGATION,
             "m3 listing mta1 and mta2",
             describe=lambda: json.dumps(api_nodes(m3)))
    assert sorted(r[0] for r in postgres.psql(
        "SELECT name FROM ecc_nodes")) == ["mta1", "mta2"]
    for k in range(3):
        rev = commit(m3, write_change("global/ecelerity.conf",
                                      f"# through m3, {k}\n"))["revision"]
        for n in (n1, n2):
            n.wait_revision(rev, timeout=PROPAGATION)
            manifest = json.loads(
                (n.conf / ".ecconfig" / "manifest.json").read_text())
            assert manifest["revision"] == rev, manifest
            assert (n.conf / "global/ecelerity.conf").read_text() == \
                f"# through m3, {k}\n"
    for n in (n1, n2):
        assert n.following(), n.follow_report()

    # m1 dies: its node fails over to m2 and keeps following.
    m1.kill9()
    rev = commit(m3, write_change("global/ecelerity.conf",
                                  "# m1 is gone\n"))["revision"]
    for n in (n1, n2):
        n.wait_revision(rev, timeout=PROPAGATION + 10)
        assert (n.conf / "global/ecelerity.conf").read_text() == \
            "# m1 is gone\n"
        assert n.following(), n.follow_report()


def test_cluster__accounts_and_nodes_are_shared(cluster_factory, fleet,
                                                postgres):
    m1, m2, m3 = cluster_factory(3)
    pw = "alice-Pa55word"
    r = m1.api("POST", "/v1/users",
               {"name": "alice", "password": pw, "role": "admin"})
    assert r.status == 201, r.describe("POST /v1/users")

    def users(m):
        return {u["name"] for u in m.api("GET", "/v1/users").ok(
            "users")["users"]}

    for m in (m2, m3):
        wait_for(lambda: "alice" in users(m), PROPAGATION,
                 f"{m.name} knowing alice (added on m1)",
                 describe=lambda: str(users(m)))
    tok = m2.login("alice", pw)
    assert tok["username"] == "alice" and tok["role"] == "admin", tok
    r = m2.request("POST", "/v1/commits", {
        "base": m2.head(), "message": "by alice",
        "changes": [write_change("global/alice.conf", "alice\n")]},
        token=tok["token"])
    res = r.ok("commit-result", status=201)
    wait_heads((m1, m2, m3), res["revision"])
    assert revision_map(m1)[-1][2] == "alice"

    # Removed on m3: m1 and m2 forget her too.
    r = m3.api("DELETE", "/v1/users/alice")
    assert r.status == 204, r.describe("DELETE /v1/users/alice")
    for m in (m1, m2):
        wait_for(lambda: "alice" not in users(m), PROPAGATION,
                 f"{m.name} forgetting alice (removed on m3)")
    r = m2.request("POST", "/v1/login", {"username": "alice",
                                         "password": pw})
    r.error("unauthorized", status=401)

    # A node enrolled on m1 reads its view from m2 with its certificate.
    n1 = fleet.node(m1, "mta1")
    n1.bootstrap_ok()
    cert, key = n1.state / "node.pem", n1.state / "node.key"
    wait_for(lambda: "mta1" in api_nodes(m2), PROPAGATION,
             "m2 listing mta1 (enrolled on m1)")
    r = cert_request(m2, cert, key, "GET", "/v1/views/default/manifest")
    manifest = r.ok("manifest")
    assert manifest["revision"] == n1.revision(), manifest
    r = cert_request(m3, cert, key, "GET", "/v1/views/default/snapshot")
    assert r.status == 200, r.describe("snapshot from m3")
    # And it reports its status there.
    r = cert_request(m2, cert, key, "POST", "/v1/nodes/mta1/status", {
        "revision": n1.revision(), "result": "ok", "message": "",
        "drift": []})
    assert r.status == 204, r.describe("status to m2")
