"""test_audit.py - the audit trail: every commit, rollback, subcluster
creation, account and node change is recorded with the account, the
client address and the time (file store: DATA_DIR/audit.log), GET
/v1/audit lists it newest first for admins only, and `eccfg audit` shows
it."""

import json
import subprocess
import time

from ecc import write_change


def entries(m, query=""):
    return m.api("GET", "/v1/audit" + query).ok("audit")["entries"]


def test_audit__records_every_change(manager, tmp_path):
    m = manager
    start = int(time.time()) - 1
    r1 = m.commit_ok([write_change("global/a.conf", "a = 1\n")])["revision"]
    m.api("POST", "/v1/rollback", {"revision": 1, "message": "undo"}).ok(
        "commit-result", 201)
    m.api("POST", "/v1/subclusters", {"name": "east"}).ok(
        "commit-result", 201)
    m.api("POST", "/v1/users", {"name": "alice", "password": "alice-pw-1",
                                "role": "admin"}).ok("user", 201)
    assert m.api("PUT", "/v1/users/alice/password",
                 {"password": "alice-pw-2"}).status == 204
    assert m.api("DELETE", "/v1/users/alice").status == 204
    key = tmp_path / "mta1.key"
    csr = subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
         "-subj", "/CN=mta1"], check=True, capture_output=True,
        text=True).stdout
    m.api("POST", "/v1/nodes/enroll", {"node": "mta1", "subcluster":
                                       "default", "csr": csr},
          user="service").ok("enrolled", 201)
    assert m.api("DELETE", "/v1/nodes/mta1").status == 204
    # An unchanged commit and a refused one leave no entry.
    m.commit_ok([write_change("default/default/x.conf", "x\n")])
    before = len(entries(m))
    m.api("POST", "/v1/commits", {"base": r1, "message": "stale", "changes":
          [write_change("global/a.conf", "b\n")]}).error("out_of_date", 409)
    assert len(entries(m)) == before

    got = entries(m)
    actions = [e["action"] for e in got]
    assert actions == ["commit", "node.remove", "node.enroll",
                       "user.remove", "user.passwd", "user.add",
                       "subcluster.create", "rollback", "commit"], actions
    ids = [e["id"] for e in got]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert all(e["time"] >= start and e["address"].startswith("127.0.0.1")
               for e in got), got
    assert got[-1]["account"] == "admin"
    assert got[-1]["detail"].startswith(f"r{r1} "), got[-1]
    assert "global/a.conf" in got[-1]["detail"]
    enroll = got[2]
    assert enroll["account"] == "service" and "mta1" in enroll["detail"]
    assert "east" in got[6]["detail"] and "alice" in got[5]["detail"]
    # Paging: the two entries older than the third newest.
    older = entries(m, f"?limit=2&before={ids[2]}")
    assert [e["id"] for e in older] == ids[3:5]
    # Durable: one JSON object a line in the data directory, kept across
    # a restart.
    lines = (m.data / "audit.log").read_text().splitlines()
    assert [json.loads(line)["action"] for line in lines] == actions[::-1]
    m.restart()
    m.commit_ok([write_change("global/b.conf", "b\n")])
    after = entries(m)
    assert after[0]["action"] == "commit" and after[0]["id"] == ids[0] + 1


def test_audit__admin_only_and_eccfg(manager):
    m = manager
    m.commit_ok([write_change("global/a.conf", "a = 1\n")])
    m.api("GET", "/v1/audit", user="service").error("forbidden", 403)
    m.api("GET", "/v1/audit?limit=0").error("invalid", 400)
    r = m.eccfg("audit", "-n", "5")
    assert r.returncode == 0, r.stderr
    assert "commit" in r.stdout and "admin" in r.stdout, r.stdout
    r = m.eccfg("audit", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["entries"][0]["action"] == "commit"
