"""test_api.py - every endpoint of proto/API.md against a live daemon, each
JSON reply validated against its schema in proto/: health, metrics,
revisions, diff, files, tree, commits, rollback, views, snapshots and
deltas, manifests, watch, subclusters."""

import hashlib
import io
import json
import re
import tarfile
import threading
import time

import pytest

from ecc import SCHEMAS, tree_files, view_of, write_change

ECC = "global/ecelerity.conf"


@pytest.fixture
def history(manager):
    """r2: modify ECC; r3: add an executable file; r4: delete mta2's node
    file; r5: add subcluster east; r6: a file in east only."""
    m = manager
    m.commit_ok([write_change(ECC, "# r2\n")], message="r2 modify")
    m.commit_ok([write_change("default/default/hook.sh", "#!/bin/sh\n",
                              mode="0755")], message="r3 add")
    m.commit_ok([{"path": "default/mta2/ecelerity-node.conf",
                  "action": "delete"}], message="r4 delete")
    m.api("POST", "/v1/subclusters", {"name": "east", "message": "r5 east"}
          ).ok("commit-result", status=201)
    m.commit_ok([write_change("east/default/only-east.conf", "east\n")],
                message="r6 east")
    assert m.head() == 6
    return m


def test_api__health_and_metrics(manager):
    r = manager.request("GET", "/v1/health")
    assert r.header("Content-Type").startswith("application/json")
    body = r.ok("health")
    assert body == {"status": "ok", "head": 1, "store": "file",
                    "version": body["version"]}
    manager.commit_ok([write_change(ECC, "# metrics\n")])
    r = manager.request("GET", "/metrics")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain")
    assert "version=0.0.4" in r.header("Content-Type")
    text = r.body.decode()
    for family in ("ecconfig_head_revision", "ecconfig_http_requests_total",
                   "ecconfig_commits_total", "ecconfig_commit_seconds",
                   "ecconfig_login_failures_total", "ecconfig_connections",
                   "ecconfig_snapshot_cache_bytes"):
        assert re.search(rf"^# TYPE {family} ", text, re.M), family
    assert re.search(r"^ecconfig_head_revision 2(\.0)?$", text, re.M), text
    assert re.search(r"^ecconfig_commit_seconds_bucket\{", text, re.M)
    assert re.search(r'^ecconfig_http_requests_total\{[^}]*code="200"',
                     text, re.M)
    assert re.search(r'^ecconfig_commits_total\{[^}]*\} [1-9]', text, re.M)


def test_api__revisions(history):
    m = history
    body = m.api("GET", "/v1/revisions").ok("revisions")
    assert body["head"] == 6
    revs = [e["revision"] for e in body["revisions"]]
    assert revs == sorted(revs, reverse=True)
    assert revs[:6] == [6, 5, 4, 3, 2, 1]
    assert body["revisions"][0]["message"] == "r6 east"
    assert all(e["author"] == "admin" for e in body["revisions"][:5])
    times = [e["time"] for e in body["revisions"][:6]]
    assert times == sorted(times, reverse=True)
    assert abs(times[0] - time.time()) < 600

    body = m.api("GET", "/v1/revisions?limit=2").ok("revisions")
    assert [e["revision"] for e in body["revisions"]] == [6, 5]
    body = m.api("GET", "/v1/revisions?limit=2&before=3").ok("revisions")
    assert [e["revision"] for e in body["revisions"]] == [3, 2]
    body = m.api("GET", f"/v1/revisions?path={ECC}").ok("revisions")
    assert [e["revision"] for e in body["revisions"]][:2] == [2, 1]
    assert 3 not in [e["revision"] for e in body["revisions"]]
    body = m.api("GET", "/v1/revisions?path=default/mta2").ok("revisions")
    assert [e["revision"] for e in body["revisions"]][0] == 4

    one = m.api("GET", "/v1/revisions/3").ok("revision")
    assert one["changes"] == [{"path": "default/default/hook.sh",
                               "action": "A"}]
    assert one["commit"] == [e for e in m.api("GET", "/v1/revisions").json()
                             ["revisions"] if e["revision"] == 3][0]["commit"]
    one = m.api("GET", "/v1/revisions/4").ok("revision")
    assert one["changes"] == [{"path": "default/mta2/ecelerity-node.conf",
                               "action": "D"}]
    m.api("GET", "/v1/revisions/7").error("not_found", status=404)
    zero = m.api("GET", "/v1/revisions/0").ok("revision")
    assert zero["changes"] == []


def test_api__diff(history):
    m = history
    body = m.api("GET", "/v1/diff?from=1&to=2").ok("diff")
    assert (body["from"], body["to"]) == (1, 2)
    assert body["changes"] == [{"path": ECC, "action": "M"}]
    assert body["patch"].startswith("diff --git a/global/ecelerity.conf")
    assert "+# r2" in body["patch"]
    body = m.api("GET", "/v1/diff").ok("diff")
    assert (body["from"], body["to"]) == (5, 6)
    body = m.api("GET", "/v1/diff?to=4").ok("diff")
    assert (body["from"], body["to"]) == (3, 4)
    body = m.api("GET", "/v1/diff?from=1&to=6&path=default").ok("diff")
    assert {(c["path"], c["action"]) for c in body["changes"]} == {
        ("default/default/hook.sh", "A"),
        ("default/mta2/ecelerity-node.conf", "D")}
    body = m.api("GET", "/v1/diff?from=3&to=3").ok("diff")
    assert body["changes"] == [] and body["patch"] == ""
    m.api("GET", "/v1/diff?from=1&to=99").error("not_found", status=404)


def test_api__files_and_tree(history):
    m = history
    tree = m.api("GET", "/v1/tree").ok("tree")
    assert tree["revision"] == 6
    files = tree_files(tree)
    assert files["default/default/hook.sh"]["mode"] == "0755"
    assert files[ECC]["mode"] == "0644"
    assert files[ECC]["size"] == len(b"# r2\n")
    assert "default/mta2/ecelerity-node.conf" not in files
    assert [f["path"] for f in tree["files"]] == sorted(files)

    r = m.api("GET", f"/v1/files/{ECC}")
    assert r.status == 200 and r.body == b"# r2\n"
    assert r.header("Content-Type").startswith("application/octet-stream")
    assert r.header("X-Ecconfig-Revision") == "6"
    assert r.header("X-Ecconfig-Mode") == "0644"
    assert r.header("ETag") == f'"{files[ECC]["blob"]}"'
    r = m.api("GET", "/v1/files/default/default/hook.sh")
    assert r.header("X-Ecconfig-Mode") == "0755"
    r = m.api("GET", f"/v1/files/{ECC}?rev=1")
    assert r.status == 200 and r.body != b"# r2\n"
    assert r.header("X-Ecconfig-Revision") == "1"
    old = tree_files(m.api("GET", "/v1/tree?rev=1").ok("tree"))
    assert hashlib.sha1(b"blob %d\0" % len(r.body) + r.body).hexdigest() == \
        old[ECC]["blob"]
    m.api("GET", "/v1/files/default/mta2/ecelerity-node.conf").error(
        "not_found", status=404)
    r = m.api("GET", "/v1/files/default/mta2/ecelerity-node.conf?rev=3")
    assert r.status == 200
    m.api("GET", "/v1/files/global/cluster.conf?rev=0").error(
        "not_found", status=404)

    sub = m.api("GET", "/v1/tree?path=default/default").ok("tree")
    assert sub["files"] and all(f["path"].startswith("default/default/")
                                for f in sub["files"])
    assert m.api("GET", "/v1/tree?rev=0").ok("tree")["files"] == []
    m.api("GET", "/v1/tree?rev=99").error("not_found", status=404)
    # a file name that needs percent-encoding in the URL
    m.commit_ok([write_change("global/with space+plus.conf", "sp\n")])
    r = m.api("GET", "/v1/files/global/with%20space%2Bplus.conf")
    assert r.status == 200 and r.body == b"sp\n"


def test_api__rollback(history):
    m = history
    body = {"revision": 1, "paths": [ECC], "message": "ecc back to r1"}
    SCHEMAS.validate("rollback", body)
    res = m.api("POST", "/v1/rollback", body).ok("commit-result", status=201)
    assert res["revision"] == 7 and not res["unchanged"]
    assert m.file(ECC) == m.file(ECC, rev=1)
    res = m.api("POST", "/v1/rollback", body).ok("commit-result", status=200)
    assert res["unchanged"] and res["revision"] == 7
    res = m.api("POST", "/v1/rollback", {"revision": 1, "message": "all"}
                ).ok("commit-result", status=201)
    assert {f["path"]: f["blob"] for f in m.tree(8)["files"]} == \
        {f["path"]: f["blob"] for f in m.tree(1)["files"]}
    m.api("POST", "/v1/rollback", {"revision": 99, "message": "x"}).error(
        "not_found", status=404)
    m.api("POST", "/v1/rollback", {"revision": 1, "paths": ["../x"],
                                   "message": "x"}).error("invalid",
                                                          status=400)


def test_api__views(history):
    m = history
    body = m.api("GET", "/v1/views").ok("views")
    views = {v["name"]: v["revision"] for v in body["views"]}
    assert body["head"] == 6
    assert views == {"all": 6, "default": 5, "east": 6}
    m.commit_ok([write_change("global/shared.conf", "g\n")])
    views = {v["name"]: v["revision"] for v in
             m.api("GET", "/v1/views").ok("views")["views"]}
    assert views == {"all": 7, "default": 7, "east": 7}


def read_tar(data):
    tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    members = tf.getmembers()
    out = {}
    for mem in members:
        assert mem.isfile(), f"{mem.name} is not a regular file"
        out[mem.name] = tf.extractfile(mem).read()
    return [mem.name for mem in members], out


def check_manifest_matches(manifest, files):
    for f in manifest["files"]:
        if f["path"] in files:
            data = files[f["path"]]
            assert f["size"] == len(data)
            assert f["sha256"] == hashlib.sha256(data).hexdigest()


def test_api__snapshot_and_manifest(history):
    m = history
    r = m.api("GET", "/v1/views/default/snapshot")
    assert r.status == 200, r.describe("snapshot")
    assert r.header("Content-Type").startswith("application/x-tar")
    assert r.header("X-Ecconfig-Revision") == "6"
    assert r.header("X-Ecconfig-View-Revision") == "5"
    etag = r.header("ETag")
    assert etag in ('"default-6"', '"default-5"'), etag
    names, files = read_tar(r.body)
    assert names[0] == ".ecconfig/manifest.json"
    manifest = SCHEMAS.validate("manifest", json.loads(files.pop(names[0])))
    assert manifest["view"] == "default" and "since" not in manifest
    assert manifest["revision"] in (5, 6)
    expect = view_of(m.tree(), "default")
    assert set(files) == set(expect)
    assert [f["path"] for f in manifest["files"]] == sorted(expect)
    assert "hook.sh" not in files and "default/hook.sh" in files
    assert not any(p.startswith("east/") or "only-east" in p for p in files)
    check_manifest_matches(manifest, files)
    assert {f["path"]: f["mode"] for f in manifest["files"]}[
        "default/hook.sh"] == "0755"

    r2 = m.api("GET", "/v1/views/default/snapshot",
               headers={"If-None-Match": etag})
    assert r2.status == 304 and r2.body == b""

    alone = m.api("GET", "/v1/views/default/manifest").ok("manifest")
    assert alone == manifest

    r = m.api("GET", "/v1/views/all/snapshot?rev=3")
    assert r.status == 200
    names, files = read_tar(r.body)
    manifest = SCHEMAS.validate("manifest", json.loads(files.pop(names[0])))
    assert set(files) == set(tree_files(m.tree(3)))
    m.api("GET", "/v1/views/nosuch/snapshot").error("not_found", status=404)
    m.api("GET", "/v1/views/nosuch/manifest").error("not_found", status=404)


def test_api__delta(history):
    m = history
    r = m.api("GET", "/v1/views/default/snapshot?since=1&rev=4")
    assert r.status == 200, r.describe("delta")
    assert r.header("ETag") == '"default-1-4"'
    names, files = read_tar(r.body)
    assert names[0] == ".ecconfig/manifest.json"
    manifest = SCHEMAS.validate("manifest", json.loads(files.pop(names[0])))
    assert manifest["since"] == 1 and manifest["revision"] == 4
    assert set(files) == {ECC, "default/hook.sh"}
    assert manifest["deleted"] == ["mta2/ecelerity-node.conf"]
    assert {f["path"] for f in manifest["files"]} == set(
        view_of(m.tree(4), "default"))
    check_manifest_matches(manifest, files)
    r2 = m.api("GET", "/v1/views/default/snapshot?since=1&rev=4",
               headers={"If-None-Match": '"default-1-4"'})
    assert r2.status == 304


def test_api__watch(history):
    m = history
    start = time.monotonic()
    body = m.api("GET", "/v1/views/default/watch?since=5&wait=1").ok("watch")
    assert body == {"view": "default", "revision": 5, "head": 6,
                    "changed": False}
    assert time.monotonic() - start >= 0.9
    body = m.api("GET", "/v1/views/default/watch?since=3&wait=30").ok("watch")
    assert body["changed"] is True and body["revision"] == 5

    got = {}

    def watch():
        got["r"] = m.api("GET", "/v1/views/default/watch?since=5&wait=30",
                         timeout=60)

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.3)       # let the watch park; correctness does not depend on it
    m.commit_ok([write_change("east/default/east2.conf", "x\n")])
    m.commit_ok([write_change("default/default/wake.conf", "x\n")])
    t.join(30)
    assert not t.is_alive(), "watch not woken by a commit to its view"
    body = got["r"].ok("watch")
    assert body["changed"] is True and body["revision"] == 8
    m.api("GET", "/v1/views/default/watch?since=x&wait=1").error(
        "invalid", status=400)
    m.api("GET", "/v1/views/nosuch/watch?since=1&wait=1").error(
        "not_found", status=404)


def test_api__subclusters(history):
    body = history.api("GET", "/v1/subclusters").ok("subclusters")
    names = {s["name"]: s for s in body["subclusters"]}
    assert set(names) == {"default", "east"}
    assert body["revision"] == 6
    r = history.api("POST", "/v1/subclusters", {"name": "Bad"})
    r.error("invalid", status=400)


CHECK_SCRIPT = """#!/bin/sh
# check_command for the tests: refuse trees holding FORBIDDEN, hang on SLOW
test -n "$ECCONFIG_TREE" || { echo "ECCONFIG_TREE is not set"; exit 2; }
test "$(pwd)" = "$ECCONFIG_TREE" || { echo "cwd is not the tree"; exit 2; }
if grep -rq SLOW .; then sleep 60; fi
if grep -rl FORBIDDEN .; then echo "policy: FORBIDDEN found"; exit 1; fi
test -f global/cluster.conf || { echo "tree incomplete"; exit 3; }
exit 0
"""


def test_api__check_command(manager_factory, tmp_path):
    script = tmp_path / "check.sh"
    script.write_text(CHECK_SCRIPT)
    script.chmod(0o755)
    m = manager_factory(conf={"check_command": f"{script}",
                              "check_timeout": "3s"})
    res = m.commit_ok([write_change("default/default/ok.conf", "fine\n")])
    assert res["revision"] == 2
    r = m.commit([write_change("default/default/bad.conf",
                               "FORBIDDEN = 1\n")])
    err = r.error("rejected", status=422)
    assert "policy: FORBIDDEN found" in err["output"], err
    assert "bad.conf" in err["output"], err
    assert m.head() == 2
    start = time.monotonic()
    r = m.commit([write_change("default/default/slow.conf", "SLOW\n")])
    r.error("rejected", status=422)
    assert time.monotonic() - start < 30
    assert m.head() == 2
    # the daemon serves while and after a check runs
    m.request("GET", "/v1/health").ok("health")
    res = m.commit_ok([write_change("default/default/ok2.conf", "fine\n")])
    assert res["revision"] == 3
