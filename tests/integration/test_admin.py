"""test_admin.py - subclusters (list, create from templates, copy, name
rules) and accounts (add, passwd, list, remove) through eccfg and the
API."""

import json

from ecc import (ADMIN_PASSWORD, SCHEMAS, committed_revision, tree_files,
                 write_change)


def out(r):
    return r.stdout + r.stderr


def folder(m, prefix, rev=None):
    return {p[len(prefix) + 1:]: f["blob"]
            for p, f in tree_files(m.tree(rev)).items()
            if p.startswith(prefix + "/")}


def subclusters_of(js):
    """The subcluster list in eccfg's --json output or the API body."""
    if isinstance(js, dict):
        js = js.get("subclusters", js)
    return {s["name"]: s for s in js}


# -- subclusters ---------------------------------------------------------------


def test_admin__subcluster_list(manager):
    body = manager.api("GET", "/v1/subclusters").ok("subclusters")
    assert body["revision"] == 1
    sc = subclusters_of(body)
    assert set(sc) == {"default"}
    assert sc["default"]["managers"] == ["mgr1"]
    assert sorted(sc["default"]["nodes"]) == ["mta1", "mta2"]

    r = manager.eccfg_ok("subcluster", "list")
    assert "default" in r.stdout
    r = manager.eccfg_ok("subcluster", "list", "--json")
    sc = subclusters_of(json.loads(r.stdout))
    assert sorted(sc["default"]["nodes"]) == ["mta1", "mta2"]


def test_admin__subcluster_create_and_copy(manager, tmp_path):
    templates = folder(manager, "global/templates/subcluster")
    assert templates, "eccfg init seeded no subcluster templates"

    r = manager.eccfg_ok("subcluster", "create", "east")
    assert manager.head() == 2
    assert committed_revision(r.stdout) in (None, 2)
    assert folder(manager, "east/default") == templates
    cluster_conf = manager.file("global/cluster.conf").decode()
    assert "[subcluster east]" in cluster_conf
    rev = manager.api("GET", "/v1/revisions/2").ok("revision")
    paths = {c["path"] for c in rev["changes"]}
    assert "global/cluster.conf" in paths
    assert all(p == "global/cluster.conf" or p.startswith("east/default/")
               for p in paths), paths
    sc = subclusters_of(manager.api("GET", "/v1/subclusters").ok(
        "subclusters"))
    assert set(sc) == {"default", "east"}
    assert sc["east"]["nodes"] == [] and sc["east"]["managers"] == []

    views = manager.api("GET", "/v1/views").ok("views")
    names = {v["name"]: v["revision"] for v in views["views"]}
    assert names.get("east") == 2 and names.get("all") == 2

    manager.eccfg_ok("subcluster", "copy", "default", "west")
    assert manager.head() == 3
    assert folder(manager, "west/default") == folder(manager,
                                                     "default/default")
    assert "[subcluster west]" in manager.file("global/cluster.conf").decode()

    wc = tmp_path / "east"
    manager.eccfg_ok("checkout", "--subcluster", "east", wc)
    assert (wc / "global/cluster.conf").exists()
    for name in templates:
        assert (wc / "default" / name).exists(), name

    # existing names are refused
    r = manager.eccfg("subcluster", "create", "east")
    assert r.returncode == 1
    r = manager.api("POST", "/v1/subclusters", {"name": "east"})
    r.error("exists", status=409)
    r = manager.api("POST", "/v1/subclusters", {"name": "north",
                                                "copy_from": "nosuch"})
    r.error("not_found", status=404)
    assert manager.head() == 3

    # through the API, with a copy source, validated result
    r = manager.api("POST", "/v1/subclusters", {
        "name": "south", "copy_from": "west", "message": "add south",
        "base": 3})
    res = r.ok("commit-result", status=201)
    assert res["revision"] == 4
    assert folder(manager, "south/default") == folder(manager, "west/default")


BAD_NAMES = ["East", "two words", "9lives", "a/b", "global", "all",
             "x" * 80, "dots.in.name"]
# global/ holds the shared files; "all" is the whole-repository view
RESERVED_NAMES = ("global", "all")


def test_admin__subcluster_bad_names(manager):
    failures = []
    for name in BAD_NAMES:
        try:
            r = manager.eccfg("subcluster", "create", name)
            assert r.returncode == 2, "eccfg accepted it"
            if name in RESERVED_NAMES:
                assert f"'{name}' is reserved" in r.stderr, out(r)
                assert "lower case" not in out(r), out(r)
            else:
                assert "lower case and one word" in out(r), out(r)
            assert r.stdout == "", r.stdout
            r = manager.eccfg("subcluster", "copy", name, "fresh")
            assert r.returncode == 2, "eccfg accepted it as SRC"
            r = manager.api("POST", "/v1/subclusters", {"name": name})
            err = r.error("invalid", status=400)
            if name in RESERVED_NAMES:
                assert "reserved" in err["message"], err
        except AssertionError as e:
            failures.append(f"{name!r}: {str(e)[:300]}")
    assert not failures, "\n".join(failures)
    assert manager.head() == 1


def test_admin__subcluster_all_refused_in_topology(manager):
    """[subcluster all] in global/cluster.conf is refused with its line:
    a node in it would be given the whole repository."""
    conf = manager.file("global/cluster.conf").decode()
    if not conf.endswith("\n"):
        conf += "\n"
    line = len(conf.splitlines()) + 2
    bad = conf + "\n[subcluster all]\nnodes = mta9\n"
    r = manager.commit([write_change("global/cluster.conf", bad),
                        write_change("all/default/a.conf", "x\n")])
    err = r.error("rejected", status=422)
    text = err["message"] + err.get("output", "")
    assert f"cluster.conf:{line}: 'all' is reserved" in text, err
    assert manager.head() == 1
    r = manager.eccfg("checkout", "--subcluster", "all",
                      manager.root / "wc")
    assert r.returncode == 2
    assert "reserved" in r.stderr and "--all" in r.stderr, out(r)


def test_admin__topology_rules_checked_at_commit(manager):
    """A commit making a node a member of two subclusters is refused."""
    conf = manager.file("global/cluster.conf").decode()
    bad = conf + "\n[subcluster other]\nnodes = mta1\n"
    r = manager.commit([write_change("global/cluster.conf", bad)])
    err = r.error("rejected", status=422)
    assert "mta1" in err["output"] + err["message"]
    r = manager.commit([write_change("nosuch/default/a.conf", "x\n")])
    r.error("rejected", status=422)
    r = manager.commit([write_change("default/stranger/a.conf", "x\n")])
    r.error("rejected", status=422)
    assert manager.head() == 1


# -- users ---------------------------------------------------------------------


def login_status(m, user, password):
    return m.request("POST", "/v1/login", {"username": user,
                                           "password": password}).status


def test_admin__user_lifecycle(manager):
    r = manager.eccfg_ok("user", "add", "alice", "--role", "admin",
                         env={"ECCFG_NEW_PASSWORD": "alice-Pa55word"})
    r = manager.eccfg_ok("user", "list")
    for name in ("admin", "service", "alice"):
        assert name in r.stdout
    r = manager.eccfg_ok("user", "list", "--json")
    assert "alice" in r.stdout
    json.loads(r.stdout)

    tok = manager.login("alice", "alice-Pa55word")
    assert tok["role"] == "admin"
    old_token = tok["token"]
    manager.eccfg_ok("log", "-n", "1", user="alice",
                     password="alice-Pa55word")

    manager.eccfg_ok("user", "passwd", "alice",
                     env={"ECCFG_NEW_PASSWORD": "alice-N3wword"})
    assert login_status(manager, "alice", "alice-Pa55word") == 401
    assert login_status(manager, "alice", "alice-N3wword") == 200
    manager.request("GET", "/v1/revisions", token=old_token).error(
        "unauthorized", status=401)

    manager.eccfg_ok("user", "add", "bob", "--role", "service",
                     env={"ECCFG_NEW_PASSWORD": "bob-Pa55word"})
    bob = manager.login("bob", "bob-Pa55word")
    assert bob["role"] == "service"
    manager.request("POST", "/v1/commits", {"base": 1, "message": "m",
                                            "changes": []},
                    token=bob["token"]).error("forbidden", status=403)

    alice_token = manager.login("alice", "alice-N3wword")["token"]
    manager.eccfg_ok("user", "remove", "alice")
    assert login_status(manager, "alice", "alice-N3wword") == 401
    manager.request("GET", "/v1/revisions", token=alice_token).error(
        "unauthorized", status=401)
    r = manager.eccfg_ok("user", "list")
    assert "alice" not in r.stdout

    r = manager.eccfg("user", "add", "carol",
                      env={"ECCFG_NEW_PASSWORD": "short"})
    assert r.returncode != 0
    r = manager.eccfg("user", "add", "Bad Name",
                      env={"ECCFG_NEW_PASSWORD": "long-enough-1"})
    assert r.returncode != 0
    r = manager.eccfg("user", "add", "dave")      # no password, no terminal
    assert r.returncode != 0
    r = manager.eccfg("user", "remove", "nosuch")
    assert r.returncode != 0


def test_admin__users_api(manager):
    body = manager.api("GET", "/v1/users").ok("users")
    assert {u["name"]: u["role"] for u in body["users"]} == {
        "admin": "admin", "service": "service"}
    r = manager.api("POST", "/v1/users", {"name": "alice",
                                          "password": "alice-Pa55word",
                                          "role": "admin"})
    u = r.ok("user", status=201)
    assert u["name"] == "alice" and u["role"] == "admin"
    manager.api("POST", "/v1/users", {"name": "alice",
                                      "password": "alice-Pa55word",
                                      "role": "admin"}).error(
        "exists", status=409)
    manager.api("POST", "/v1/users", {"name": "Bad Name",
                                      "password": "long-enough-1",
                                      "role": "admin"}).error(
        "invalid", status=400)
    manager.api("POST", "/v1/users", {"name": "eve", "password": "1234567",
                                      "role": "admin"}).error(
        "invalid", status=400)
    manager.api("POST", "/v1/users", {"name": "eve",
                                      "password": "long-enough-1",
                                      "role": "root"}).error(
        "invalid", status=400)
    raw = manager.api("GET", "/v1/users").body.decode()
    assert "scrypt" not in raw and "pbkdf2" not in raw.lower()
    assert "hash" not in raw and "Pa55word" not in raw

    # a user may change their own password; the service may not change others'
    svc = manager.login("service")["token"]
    r = manager.request("PUT", "/v1/users/service/password",
                        {"password": "service-N3wword"}, token=svc)
    assert r.status == 204, r.describe("own password")
    assert login_status(manager, "service", "service-N3wword") == 200
    manager.api("PUT", "/v1/users/alice/password", {"password": "short"}
                ).error("invalid", status=400)
    manager.api("PUT", "/v1/users/nosuch/password",
                {"password": "long-enough-1"}).error("not_found", status=404)

    manager.api("DELETE", "/v1/users/nosuch").error("not_found", status=404)
    r = manager.api("DELETE", "/v1/users/alice")
    assert r.status == 204, r.describe("delete alice")
    manager.api("DELETE", "/v1/users/admin").error("forbidden", status=403)
    assert login_status(manager, "admin", ADMIN_PASSWORD) == 200
    SCHEMAS.validate("users", manager.api("GET", "/v1/users").json())
