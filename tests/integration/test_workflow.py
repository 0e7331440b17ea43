"""test_workflow.py - the administrator's workflow of issue 3 item 4, end
to end with real eccfg and ecconfigd processes: checkout, edit, status,
diff, revert, delete, commit, pull, log, show, diff -r, cat -r, rollback,
put, clone, overlay."""

import json
import re

from ecc import (SCHEMAS, commit_lines, committed_revision, delete_change,
                 parse_status, tree_files, view_of, wc_files, write_change)

NODE_CONF = "mta1/ecelerity-node.conf"


def out(r):
    return r.stdout + r.stderr


def checkout(m, wc, view="default", rev=None):
    args = ["checkout"]
    args += ["--all"] if view == "all" else ["--subcluster", view]
    if rev is not None:
        args += ["-r", rev]
    r = m.eccfg_ok(*args, wc)
    return r


def status(m, wc):
    return parse_status(m.eccfg_ok("status", cwd=wc).stdout)


# -- checkout ---------------------------------------------------------------


def test_workflow__checkout_subcluster_has_node_layout(manager, tmp_path):
    wc = tmp_path / "wc"
    r = checkout(manager, wc)
    assert "Checked out revision 1." in r.stdout
    tree = manager.tree()
    expect = view_of(tree, "default")
    files = wc_files(wc)
    assert set(files) == set(expect)
    # the layout an MTA's search path expects
    for p in ("global/cluster.conf", "default/ecelerity-cluster.conf",
              "mgr1/ecelerity-node.conf", "mta1/ecelerity-node.conf",
              "mta2/ecelerity-node.conf"):
        assert p in files, p
    assert not any(p.startswith("default/default/") for p in files)
    for vp, f in expect.items():
        assert files[vp] == manager.file(f["path"]), vp
    meta = [p for p in wc.iterdir() if p.name.startswith(".")]
    assert len(meta) == 1 and meta[0].is_dir(), meta
    assert any(meta[0].rglob("*")), "empty metadata folder"
    assert status(manager, wc) == {}


def test_workflow__checkout_all_is_repository_layout(manager, tmp_path):
    wc = tmp_path / "all"
    checkout(manager, wc, "all")
    tree = tree_files(manager.tree())
    files = wc_files(wc)
    assert set(files) == set(tree)
    assert "default/default/ecelerity-cluster.conf" in files
    assert "default/mta1/ecelerity-node.conf" in files
    for p in tree:
        assert files[p] == manager.file(p), p


def test_workflow__checkout_older_revision_and_bad_target(manager, tmp_path):
    manager.commit_ok([write_change("global/ecelerity.conf", "# r2\n")])
    wc = tmp_path / "old"
    r = checkout(manager, wc, rev=1)
    assert "Checked out revision 1." in r.stdout
    assert (wc / "global/ecelerity.conf").read_bytes() == manager.file(
        "global/ecelerity.conf", rev=1)
    full = tmp_path / "full"
    full.mkdir()
    (full / "precious.txt").write_text("keep me\n")
    r = manager.eccfg("checkout", "--subcluster", "default", full)
    assert r.returncode != 0
    assert (full / "precious.txt").read_text() == "keep me\n"
    r = manager.eccfg("checkout", "--subcluster", "nosuch", tmp_path / "x")
    assert r.returncode != 0


# -- local changes ------------------------------------------------------------


def test_workflow__status_diff_revert(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    eccf = wc / "global/ecelerity.conf"
    original = eccf.read_bytes()
    eccf.write_bytes(original + b"# edited by the test\n")
    (wc / "default/new.conf").write_text("new = 1\n")
    node2 = wc / "mta2/ecelerity-node.conf"
    node2_orig = node2.read_bytes()
    node2.unlink()

    st = status(manager, wc)
    assert st.get("global/ecelerity.conf") == "M", st
    assert st.get("default/new.conf") == "?", st
    assert st.get("mta2/ecelerity-node.conf") in ("!", "D"), st
    assert len(st) == 3, st

    r = manager.eccfg_ok("status", "--json", cwd=wc)
    js = json.loads(r.stdout)
    assert "global/ecelerity.conf" in json.dumps(js)

    r = manager.eccfg_ok("diff", cwd=wc)
    assert "global/ecelerity.conf" in r.stdout
    assert re.search(r"^\+# edited by the test$", r.stdout, re.M), r.stdout
    r = manager.eccfg_ok("diff", "global/ecelerity.conf", cwd=wc)
    assert "+# edited by the test" in r.stdout
    assert "mta2" not in r.stdout

    manager.eccfg_ok("revert", "global/ecelerity.conf", cwd=wc)
    assert eccf.read_bytes() == original
    manager.eccfg_ok("revert", "mta2/ecelerity-node.conf", cwd=wc)
    assert node2.read_bytes() == node2_orig
    assert status(manager, wc) == {"default/new.conf": "?"}
    r = manager.eccfg_ok("diff", "global/ecelerity.conf", cwd=wc)
    assert "+# edited" not in r.stdout
    # nothing reached the server
    assert manager.head() == 1


def test_workflow__commit_asks_for_flags_without_terminal(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    (wc / "global/ecelerity.conf").write_text("# rewritten\nlimit = 2\n")
    (wc / "default/new.conf").write_text("new = 1\n")
    (wc / NODE_CONF).unlink()

    r = manager.eccfg("commit", "-m", "no flags", cwd=wc)
    assert r.returncode != 0
    assert "--add-all" in out(r), out(r)
    assert manager.head() == 1

    r = manager.eccfg("commit", "--add-all", "-m", "only add-all", cwd=wc)
    assert r.returncode != 0
    assert "--delete-all" in out(r), out(r)
    assert manager.head() == 1

    r = manager.eccfg_ok("commit", "--add-all", "--delete-all", "-m",
                         "first change", cwd=wc)
    lines = set(commit_lines(r.stdout))
    assert lines == {("Sending", "global/ecelerity.conf"),
                     ("Adding", "default/new.conf"),
                     ("Deleting", NODE_CONF)}, r.stdout
    assert committed_revision(r.stdout) == 2
    assert manager.head() == 2
    assert manager.file("default/default/new.conf") == b"new = 1\n"
    assert manager.file("default/mta1/ecelerity-node.conf") is None
    assert manager.file("global/ecelerity.conf") == b"# rewritten\nlimit = 2\n"
    rev = manager.api("GET", "/v1/revisions/2").ok("revision")
    assert rev["author"] == "admin"
    assert rev["message"] == "first change"
    assert {(c["path"], c["action"]) for c in rev["changes"]} == {
        ("global/ecelerity.conf", "M"), ("default/default/new.conf", "A"),
        ("default/mta1/ecelerity-node.conf", "D")}

    assert status(manager, wc) == {}
    r = manager.eccfg_ok("commit", "-m", "again", cwd=wc)
    assert "Nothing to commit" in r.stdout
    assert committed_revision(r.stdout) is None
    assert manager.head() == 2


def test_workflow__commit_abbreviated_options(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    (wc / "default/abbr.conf").write_text("a = 1\n")
    r = manager.eccfg_ok("commit", "--add", "-m", "abbreviated", cwd=wc)
    assert committed_revision(r.stdout) == 2
    assert ("Adding", "default/abbr.conf") in commit_lines(r.stdout)


def test_workflow__delete_file_and_folder(manager, tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    (wc / "default/extra").mkdir()
    (wc / "default/extra/a.conf").write_text("a\n")
    (wc / "default/extra/b.conf").write_text("b\n")
    r = manager.eccfg_ok("commit", "--add-all", "-m", "extra", cwd=wc)
    assert committed_revision(r.stdout) == 2

    node2 = wc / "mta2/ecelerity-node.conf"
    keep = node2.read_bytes()
    manager.eccfg_ok("delete", "mta2/ecelerity-node.conf", cwd=wc)
    assert not node2.exists()
    assert status(manager, wc) == {"mta2/ecelerity-node.conf": "D"}
    manager.eccfg_ok("revert", "mta2/ecelerity-node.conf", cwd=wc)
    assert node2.read_bytes() == keep
    assert status(manager, wc) == {}

    manager.eccfg_ok("delete", "default/extra", cwd=wc)
    assert not (wc / "default/extra/a.conf").exists()
    assert status(manager, wc) == {"default/extra/a.conf": "D",
                                   "default/extra/b.conf": "D"}
    r = manager.eccfg_ok("commit", "-m", "drop extra", cwd=wc)
    assert set(commit_lines(r.stdout)) == {
        ("Deleting", "default/extra/a.conf"),
        ("Deleting", "default/extra/b.conf")}, r.stdout
    assert committed_revision(r.stdout) == 3
    assert manager.file("default/default/extra/a.conf") is None
    assert manager.file("default/default/extra/b.conf") is None
    assert manager.file("default/mta2/ecelerity-node.conf") == keep


def test_workflow__pull_brings_head_and_keeps_local_edits(manager, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    checkout(manager, a)
    checkout(manager, b)
    (a / "global/ecelerity.conf").write_text("# from a\n")
    (a / "default/added.conf").write_text("added = 1\n")
    (a / "mta2/ecelerity-node.conf").unlink()
    r = manager.eccfg_ok("commit", "--add-all", "--delete-all", "-m", "a",
                         cwd=a)
    assert committed_revision(r.stdout) == 2

    (b / NODE_CONF).write_text("# local edit in b\n")
    (b / "default/local-only.conf").write_text("mine\n")
    r = manager.eccfg_ok("pull", cwd=b)
    assert "Updated to revision 2." in r.stdout, r.stdout
    assert re.search(r"^U\s+global/ecelerity.conf$", r.stdout, re.M), r.stdout
    assert re.search(r"^A\s+default/added.conf$", r.stdout, re.M), r.stdout
    assert re.search(r"^D\s+mta2/ecelerity-node.conf$", r.stdout, re.M), \
        r.stdout
    assert (b / "global/ecelerity.conf").read_text() == "# from a\n"
    assert (b / "default/added.conf").read_text() == "added = 1\n"
    assert not (b / "mta2/ecelerity-node.conf").exists()
    assert (b / NODE_CONF).read_text() == "# local edit in b\n"
    assert (b / "default/local-only.conf").read_text() == "mine\n"
    assert status(manager, b) == {NODE_CONF: "M",
                                  "default/local-only.conf": "?"}
    # no leftovers of the atomic switch beside the checkout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "m"]

    r = manager.eccfg_ok("pull", cwd=b)
    assert "At revision 2." in r.stdout, r.stdout
    r = manager.eccfg_ok("commit", "--add-all", "-m", "b", cwd=b)
    assert committed_revision(r.stdout) == 3
    assert manager.file("default/mta1/ecelerity-node.conf") == \
        b"# local edit in b\n"
    assert manager.file("global/ecelerity.conf") == b"# from a\n"


# -- history ------------------------------------------------------------------


def make_history(m):
    """r2: change global/ecelerity.conf; r3: add default/default/limits.conf."""
    m.commit_ok([write_change("global/ecelerity.conf",
                              "# global\nmax_outbound = 2000\n")],
                message="raise limits")
    m.commit_ok([write_change("default/default/limits.conf", "limit = 5\n")],
                message="add limits")


def test_workflow__log_show(manager, tmp_path):
    make_history(manager)
    r = manager.eccfg_ok("log")
    text = r.stdout
    for n, msg in ((3, "add limits"), (2, "raise limits")):
        assert re.search(rf"^r{n} \| admin \| ", text, re.M), text
        assert msg in text
    assert re.search(r"^r1 \| ", text, re.M), text
    assert text.index("r3 |") < text.index("r2 |") < text.index("r1 |")
    assert "------------" in text

    r = manager.eccfg_ok("log", "-n", "1")
    assert re.search(r"^r3 \| ", r.stdout, re.M)
    assert not re.search(r"^r2 \| ", r.stdout, re.M), r.stdout

    r = manager.eccfg_ok("log", "global/ecelerity.conf")
    assert re.search(r"^r2 \| ", r.stdout, re.M), r.stdout
    assert not re.search(r"^r3 \| ", r.stdout, re.M), r.stdout

    r = manager.eccfg_ok("log", "--json")
    js = json.loads(r.stdout)
    SCHEMAS.validate("revisions", js)
    assert js["head"] == 3
    assert [e["revision"] for e in js["revisions"]][:3] == [3, 2, 1]

    r = manager.eccfg_ok("show", "2")
    assert "raise limits" in r.stdout
    assert "admin" in r.stdout
    assert re.search(r"^\s*M\s+global/ecelerity.conf\s*$", r.stdout, re.M), \
        r.stdout
    assert "limits.conf" not in r.stdout
    r = manager.eccfg_ok("show", "3", "--json")
    js = SCHEMAS.validate("revision", json.loads(r.stdout))
    assert js["changes"] == [{"path": "default/default/limits.conf",
                              "action": "A"}]
    r = manager.eccfg("show", "99")
    assert r.returncode != 0
    assert r.stderr.strip(), "no error message"


def test_workflow__diff_r_and_cat_r(manager, tmp_path):
    old = manager.file("global/ecelerity.conf", rev=1)
    make_history(manager)
    wc = tmp_path / "wc"
    checkout(manager, wc)

    r = manager.eccfg_ok("diff", "-r", "1:2", cwd=wc)
    assert "global/ecelerity.conf" in r.stdout
    assert re.search(r"^\+max_outbound = 2000$", r.stdout, re.M), r.stdout
    removed = [line[1:] for line in r.stdout.splitlines()
               if line.startswith("-") and not line.startswith("---")]
    assert removed and all(x.encode() in old for x in removed), r.stdout

    r = manager.eccfg_ok("diff", "-r", "1:3", "global/ecelerity.conf", cwd=wc)
    assert "max_outbound = 2000" in r.stdout
    assert "limits.conf" not in r.stdout
    r = manager.eccfg_ok("diff", "-r", "2:3", cwd=wc)
    assert "limit = 5" in r.stdout
    assert "max_outbound" not in r.stdout

    r = manager.eccfg_ok("cat", "-r", "1", "global/ecelerity.conf")
    assert r.stdout.encode() == old
    r = manager.eccfg_ok("cat", "-r", "2", "global/ecelerity.conf")
    assert r.stdout == "# global\nmax_outbound = 2000\n"
    r = manager.eccfg_ok("cat", "default/default/limits.conf")
    assert r.stdout == "limit = 5\n"
    r = manager.eccfg("cat", "-r", "2", "default/default/limits.conf")
    assert r.returncode != 0
    assert r.stdout == ""


# -- rollback -----------------------------------------------------------------


def test_workflow__rollback_whole_tree_and_one_path(manager):
    manager.commit_ok([write_change("global/ecelerity.conf", "# r2\n"),
                       write_change("default/default/a.conf", "a = 2\n")])
    manager.commit_ok([write_change("default/mta1/ecelerity-node.conf",
                                    "# r3\n"),
                       write_change("default/default/a.conf", "a = 3\n")])
    t1 = {p: f["blob"] for p, f in tree_files(manager.tree(1)).items()}
    t3 = {p: f["blob"] for p, f in tree_files(manager.tree(3)).items()}

    r = manager.eccfg_ok("rollback", "1", "-m", "back to r1")
    assert committed_revision(r.stdout) == 4
    t4 = {p: f["blob"] for p, f in tree_files(manager.tree(4)).items()}
    assert t4 == t1
    log = manager.api("GET", "/v1/revisions").ok("revisions")
    assert [e["revision"] for e in log["revisions"]][:4] == [4, 3, 2, 1]
    assert log["revisions"][0]["message"] == "back to r1"

    r = manager.eccfg_ok("rollback", "3", "default/default/a.conf",
                         "-m", "a back to r3")
    assert committed_revision(r.stdout) == 5
    t5 = {p: f["blob"] for p, f in tree_files(manager.tree(5)).items()}
    expect = dict(t1)
    expect["default/default/a.conf"] = t3["default/default/a.conf"]
    assert t5 == expect
    rev = manager.api("GET", "/v1/revisions/5").ok("revision")
    assert rev["changes"] == [{"path": "default/default/a.conf",
                               "action": "A"}]

    r = manager.eccfg_ok("rollback", "5", "-m", "nothing")
    assert "Nothing to commit" in r.stdout
    assert manager.head() == 5
    r = manager.eccfg("rollback", "99", "-m", "no such revision")
    assert r.returncode != 0
    assert manager.head() == 5


# -- put, clone, overlay ------------------------------------------------------


def test_workflow__put(manager, tmp_path):
    src = tmp_path / "extra.conf"
    src.write_text("x = 1\n")
    r = manager.eccfg_ok("put", src, "default/mta1/extra.conf")
    assert ("Adding", "default/mta1/extra.conf") in commit_lines(r.stdout)
    assert committed_revision(r.stdout) == 2
    assert manager.file("default/mta1/extra.conf") == b"x = 1\n"

    r = manager.eccfg_ok("put", src, "default/mta1/extra.conf")
    assert committed_revision(r.stdout) is None
    assert manager.head() == 2

    src.write_text("x = 2\n")
    r = manager.eccfg_ok("put", src, "default/mta1/extra.conf")
    assert ("Sending", "default/mta1/extra.conf") in commit_lines(r.stdout)
    assert committed_revision(r.stdout) == 3
    assert manager.file("default/mta1/extra.conf") == b"x = 2\n"

    r = manager.eccfg("put", tmp_path / "missing", "default/mta1/m.conf")
    assert r.returncode != 0
    r = manager.eccfg("put", src, "../outside.conf")
    assert r.returncode != 0
    assert manager.head() == 3


def folder(m, prefix):
    return {p[len(prefix) + 1:]: f["blob"]
            for p, f in tree_files(m.tree()).items()
            if p.startswith(prefix + "/")}


def test_workflow__clone_and_overlay(manager):
    manager.commit_ok([
        write_change("default/mta1/extra.conf", "src extra\n"),
        write_change("default/mta1/shared.conf", "src shared\n"),
        write_change("default/mta2/shared.conf", "dst shared\n"),
        write_change("default/mta2/only-dst.conf", "dst only\n")])
    assert manager.head() == 2

    r = manager.eccfg_ok("overlay", "default/mta1", "default/mta2")
    assert committed_revision(r.stdout) == 3
    mta1, mta2 = folder(manager, "default/mta1"), folder(manager, "default/mta2")
    for name, blob in mta1.items():
        assert mta2.get(name) == blob, name
    assert "only-dst.conf" in mta2
    assert manager.file("default/mta2/shared.conf") == b"src shared\n"

    before = folder(manager, "default/mta2")
    src = folder(manager, "default/mta1")
    expect = {("default/mta2/" + n, "D") for n in before if n not in src}
    expect |= {("default/mta2/" + n, "M") for n in before
               if n in src and src[n] != before[n]}
    expect |= {("default/mta2/" + n, "A") for n in src if n not in before}
    r = manager.eccfg_ok("clone", "default/mta1", "default/mta2")
    assert committed_revision(r.stdout) == 4
    assert folder(manager, "default/mta2") == folder(manager, "default/mta1")
    assert manager.file("default/mta2/only-dst.conf") is None
    rev = manager.api("GET", "/v1/revisions/4").ok("revision")
    assert {(c["path"], c["action"]) for c in rev["changes"]} == expect

    r = manager.eccfg_ok("clone", "default/mta1", "default/mta2")
    assert committed_revision(r.stdout) is None
    assert manager.head() == 4

    r = manager.eccfg("clone", "default/nosuch", "default/mta2")
    assert r.returncode != 0
    assert manager.head() == 4

    r = manager.eccfg_ok("clone", "default/mta1", "default/mgr1")
    assert folder(manager, "default/mgr1") == folder(manager, "default/mta1")


def test_workflow__commit_then_delete_via_api_shows_in_checkout(manager,
                                                                tmp_path):
    wc = tmp_path / "wc"
    checkout(manager, wc)
    manager.commit_ok([delete_change("default/mta2/ecelerity-node.conf")])
    manager.eccfg_ok("pull", cwd=wc)
    assert not (wc / "mta2/ecelerity-node.conf").exists()
    assert status(manager, wc) == {}


# -- history by view path -----------------------------------------------------


def log_revisions(text):
    return [int(n) for n in re.findall(r"^r(\d+) \| ", text, re.M)]


def test_workflow__history_by_view_path_in_subcluster_checkout(manager,
                                                               tmp_path):
    """Inside a --subcluster checkout, log, cat and rollback take the view
    paths the checkout shows (default/a.conf is default/default/a.conf),
    as diff -r does."""
    manager.commit_ok([write_change("default/default/a.conf", "a = 2\n")],
                      message="a two")
    manager.commit_ok([write_change("default/default/a.conf", "a = 3\n")],
                      message="a three")
    manager.commit_ok([write_change("global/ecelerity.conf", "# r4\n"),
                       write_change("default/mta1/n.conf", "n = 4\n")],
                      message="global four")
    wc = tmp_path / "wc"
    checkout(manager, wc)
    assert (wc / "default/a.conf").read_text() == "a = 3\n"

    r = manager.eccfg_ok("log", "default/a.conf", cwd=wc)
    assert log_revisions(r.stdout) == [3, 2], r.stdout
    # relative to the current directory, or absolute
    r = manager.eccfg_ok("log", "a.conf", cwd=wc / "default")
    assert log_revisions(r.stdout) == [3, 2], r.stdout
    r = manager.eccfg_ok("log", wc / "default/a.conf")
    assert log_revisions(r.stdout) == [3, 2], r.stdout
    # the view's folders: a node's, default/, global/
    r = manager.eccfg_ok("log", "mta1", cwd=wc)
    assert log_revisions(r.stdout) == [4, 1], r.stdout
    r = manager.eccfg_ok("log", "default", cwd=wc)
    assert log_revisions(r.stdout) == [3, 2, 1], r.stdout
    r = manager.eccfg_ok("log", "global/ecelerity.conf", cwd=wc)
    assert log_revisions(r.stdout) == [4, 1], r.stdout
    # the top of the checkout is global/ and default/ at once
    r = manager.eccfg("log", ".", cwd=wc)
    assert r.returncode == 2, out(r)
    assert "global" in r.stderr and "one" in r.stderr, out(r)
    r = manager.eccfg("log", tmp_path, cwd=wc)
    assert r.returncode != 0 and "outside the checkout" in r.stderr, out(r)

    r = manager.eccfg_ok("cat", "-r", "2", "default/a.conf", cwd=wc)
    assert r.stdout == "a = 2\n"
    r = manager.eccfg_ok("cat", "a.conf", cwd=wc / "default")
    assert r.stdout == "a = 3\n"
    r = manager.eccfg_ok("cat", "-r", "4", "mta1/n.conf", cwd=wc)
    assert r.stdout == "n = 4\n"
    r = manager.eccfg_ok("cat", "-r", "1", wc / "global/ecelerity.conf")
    assert r.stdout.encode() == manager.file("global/ecelerity.conf", rev=1)
    r = manager.eccfg("cat", "-r", "1", "default/a.conf", cwd=wc)
    assert r.returncode != 0 and r.stdout == "", out(r)

    r = manager.eccfg_ok("rollback", "2", "default/a.conf", "-m",
                         "a back to r2", cwd=wc)
    assert committed_revision(r.stdout) == 5, r.stdout
    rev = manager.api("GET", "/v1/revisions/5").ok("revision")
    assert rev["changes"] == [{"path": "default/default/a.conf",
                               "action": "M"}]
    assert manager.file("global/ecelerity.conf") == b"# r4\n"

    # several operands, and the top: global/ and this subcluster
    r = manager.eccfg_ok("rollback", "3", "a.conf", "../mta1/n.conf",
                         "-m", "two paths", cwd=wc / "default")
    assert committed_revision(r.stdout) == 6, r.stdout
    rev = manager.api("GET", "/v1/revisions/6").ok("revision")
    assert {(c["path"], c["action"]) for c in rev["changes"]} == {
        ("default/default/a.conf", "M"), ("default/mta1/n.conf", "D")}
    # the top stands for global/ and this subcluster, not the others
    manager.api("POST", "/v1/subclusters", {
        "name": "east", "message": "east"}).ok("commit-result", status=201)
    manager.commit_ok([write_change("default/default/a.conf", "a = 8\n"),
                       write_change("global/ecelerity.conf", "# r8\n"),
                       write_change("east/default/e.conf", "e = 8\n")])
    assert manager.head() == 8
    r = manager.eccfg_ok("rollback", "7", ".", "-m", "view back to r7",
                         cwd=wc)
    assert committed_revision(r.stdout) == 9, r.stdout
    rev = manager.api("GET", "/v1/revisions/9").ok("revision")
    assert {(c["path"], c["action"]) for c in rev["changes"]} == {
        ("default/default/a.conf", "M"), ("global/ecelerity.conf", "M")}
    assert manager.file("east/default/e.conf") == b"e = 8\n"
