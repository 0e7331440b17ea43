"""test_nodes.py - node enrollment and identity on the manager (issue 4):
POST /v1/nodes/enroll signs a node's CSR, the node then authenticates with
its client certificate (mutual TLS), may read only its own subcluster's
view and report only its own status; GET /v1/nodes lists the fleet and
DELETE /v1/nodes/{name} revokes a node from its next request on."""

import http.client
import ssl
import subprocess

import pytest

import ecc
from ecc import write_change
from nodes import cert_request


def make_csr(tmp, node, subject=None):
    """A new P-256 key and a CSR (openssl req); returns (key path, CSR)."""
    key = tmp / f"{node}.key"
    csr = tmp / f"{node}.csr"
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
         "-out", str(csr), "-subj", subject or f"/CN={node}"],
        check=True, capture_output=True)
    return key, csr.read_text()


def enroll(m, node, csr, subcluster="default", user="admin", force=None):
    body = {"node": node, "subcluster": subcluster, "csr": csr}
    if force is not None:
        body["force"] = force
    return m.api("POST", "/v1/nodes/enroll", body, user=user)


def enroll_ok(m, tmp, node, subcluster="default", user="admin", force=None):
    """Enroll `node`; returns (cert path, key path, enrolled body)."""
    key, csr = make_csr(tmp, node)
    body = enroll(m, node, csr, subcluster, user, force).ok("enrolled", 201)
    cert = tmp / f"{node}.pem"
    cert.write_text(body["certificate"])
    return cert, key, body


def node_request(m, cert, key, method, path, body=None):
    """A request authenticated only by the client certificate."""
    return cert_request(m, cert, key, method, path, body)


def add_east(m, nodes="mta3"):
    """Subcluster east with `nodes`."""
    m.api("POST", "/v1/subclusters", {"name": "east"}).ok(
        "commit-result", 201)
    conf = m.file("global/cluster.conf").decode()
    conf = conf.replace("[subcluster east]\n",
                        f"[subcluster east]\nnodes = {nodes}\n")
    m.commit_ok([write_change("global/cluster.conf", conf)])


def test_nodes__enroll_admin_and_service(manager, tmp_path):
    cert, key, body = enroll_ok(manager, tmp_path, "mta1")
    assert body["node"] == "mta1" and body["subcluster"] == "default"
    assert body["ca"] == manager.ca.read_text()
    assert body["view_revision"] >= 1
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-serial",
                          "-in", str(cert)], check=True, capture_output=True,
                         text=True).stdout
    assert "CN = mta1" in out and "OU = default" in out, out
    serial = out.split("serial=")[1].strip().lower().lstrip("0")
    assert serial == body["serial"]
    subprocess.run(["openssl", "verify", "-CAfile", str(manager.ca),
                    str(cert)], check=True, capture_output=True)
    # The service account may enroll too.
    enroll_ok(manager, tmp_path, "mta2", user="service")
    nodes = manager.api("GET", "/v1/nodes", user="service").ok("nodes")
    assert [n["name"] for n in nodes["nodes"]] == ["mta1", "mta2"]
    assert all(n["applied_revision"] is None and n["stale"]
               for n in nodes["nodes"])


def test_nodes__enroll_refusals(manager, tmp_path):
    key, csr = make_csr(tmp_path, "mta9")
    err = enroll(manager, "mta9", csr).error("rejected", 422)
    assert "node mta9 is not in subcluster default (nodes: mta1, mta2)" \
        in err["message"], err
    enroll(manager, "mta1", csr, subcluster="nosuch").error("not_found",
                                                            404)
    enroll(manager, "mta1", "not a csr").error("invalid", 400)
    # Not without an account, nor by a node.
    manager.request("POST", "/v1/nodes/enroll",
                    {"node": "mta1", "subcluster": "default", "csr": csr}
                    ).error("unauthorized", 401)
    cert, key1, first = enroll_ok(manager, tmp_path, "mta1")
    node_request(manager, cert, key1, "POST", "/v1/nodes/enroll",
                 {"node": "mta2", "subcluster": "default", "csr": csr}
                 ).error("forbidden", 403)
    # Enrolled once: 409 unless forced; forcing revokes the old cert.
    err = enroll(manager, "mta1", csr).error("exists", 409)
    assert "mta1" in err["message"]
    assert node_request(manager, cert, key1, "GET",
                        "/v1/views/default/manifest").status == 200
    (tmp_path / "old").mkdir()
    cert2, key2, second = enroll_ok(manager, tmp_path / "old", "mta1",
                                    force=True)
    assert second["serial"] != first["serial"]
    err = node_request(manager, cert, key1, "GET",
                       "/v1/views/default/manifest").error(
        "unauthorized", 401)
    assert "revoked" in err["message"], err
    node_request(manager, cert2, key2, "GET",
                 "/v1/views/default/manifest").ok("manifest")


def test_nodes__node_reads_only_its_view(manager, tmp_path):
    add_east(manager)
    cert, key, _ = enroll_ok(manager, tmp_path, "mta1")
    r = node_request(manager, cert, key, "GET", "/v1/views/default/snapshot")
    assert r.status == 200, r.describe("own snapshot")
    node_request(manager, cert, key, "GET",
                 "/v1/views/default/manifest").ok("manifest")
    for path in ("/v1/views/east/snapshot", "/v1/views/east/manifest",
                 "/v1/views/all/manifest", "/v1/revisions", "/v1/tree",
                 "/v1/nodes", "/v1/views", "/v1/users"):
        err = node_request(manager, cert, key, "GET", path).error(
            "forbidden", 403)
        assert "mta1" in err["message"], err
    node_request(manager, cert, key, "GET", "/v1/health").ok("health")
    # An east node reads east only.
    c3, k3, body = enroll_ok(manager, tmp_path, "mta3", subcluster="east")
    assert body["subcluster"] == "east"
    node_request(manager, c3, k3, "GET", "/v1/views/east/manifest").ok(
        "manifest")
    node_request(manager, c3, k3, "GET", "/v1/views/default/manifest"
                 ).error("forbidden", 403)


def test_nodes__status_report(manager, tmp_path):
    cert, key, _ = enroll_ok(manager, tmp_path, "mta1")
    enroll_ok(manager, tmp_path, "mta2")
    head = manager.head()
    report = {"revision": head, "result": "ok", "message": "",
              "drift": ["default/ecelerity.conf"]}
    ecc.SCHEMAS.validate("node-status", report)
    r = node_request(manager, cert, key, "POST", "/v1/nodes/mta1/status",
                     report)
    assert r.status == 204, r.describe("status report")
    # Reporting as another node, or a bad result.
    node_request(manager, cert, key, "POST", "/v1/nodes/mta2/status",
                 report).error("forbidden", 403)
    node_request(manager, cert, key, "POST", "/v1/nodes/mta1/status",
                 dict(report, result="great")).error("invalid", 400)
    # An account cannot report for a node.
    manager.api("POST", "/v1/nodes/mta1/status", report).error(
        "forbidden", 403)
    body = manager.api("GET", "/v1/nodes").ok("nodes")
    assert body["head"] == head
    mta1 = [n for n in body["nodes"] if n["name"] == "mta1"][0]
    assert mta1["applied_revision"] == head
    assert mta1["result"] == "ok"
    assert mta1["last_contact"] is not None
    assert mta1["stale"] is False
    assert mta1["drift"] == ["default/ecelerity.conf"]
    mta2 = [n for n in body["nodes"] if n["name"] == "mta2"][0]
    assert mta2["result"] is None and mta2["stale"] is True
    # A commit to the node's view makes it stale until it reports again.
    manager.commit_ok([write_change("default/default/new.conf", "x\n")])
    body = manager.api("GET", "/v1/nodes?subcluster=default").ok("nodes")
    mta1 = [n for n in body["nodes"] if n["name"] == "mta1"][0]
    assert mta1["view_revision"] > head and mta1["stale"] is True
    assert manager.api("GET", "/v1/nodes?subcluster=east").ok(
        "nodes")["nodes"] == []


def test_nodes__delete_revokes(manager, tmp_path):
    cert, key, _ = enroll_ok(manager, tmp_path, "mta1")
    conn_ctx = ssl.create_default_context(cafile=str(manager.ca))
    conn_ctx.load_cert_chain(str(cert), str(key))
    conn = http.client.HTTPSConnection(manager.host, manager.port,
                                       context=conn_ctx, timeout=30)
    try:
        manager.request("GET", "/v1/views/default/manifest",
                        conn=conn).ok("manifest")
        manager.api("DELETE", "/v1/nodes/mta1", user="service").error(
            "forbidden", 403)
        r = manager.api("DELETE", "/v1/nodes/mta1")
        assert r.status == 204, r.describe("delete")
        # Refused from the next request on, even on the same connection.
        err = manager.request("GET", "/v1/views/default/manifest",
                              conn=conn).error("unauthorized", 401)
        assert "mta1 is not enrolled" in err["message"], err
    finally:
        conn.close()
    node_request(manager, cert, key, "GET", "/v1/health").ok("health")
    manager.api("DELETE", "/v1/nodes/mta1").error("not_found", 404)
    assert manager.api("GET", "/v1/nodes").ok("nodes")["nodes"] == []


def test_nodes__survive_restart(manager, tmp_path):
    cert, key, _ = enroll_ok(manager, tmp_path, "mta1")
    assert oct((manager.data / "nodes.json").stat().st_mode & 0o777) == \
        "0o600"
    manager.restart()
    node_request(manager, cert, key, "GET",
                 "/v1/views/default/manifest").ok("manifest")


def test_nodes__foreign_ca_refused(manager, tmp_path):
    ca = tmp_path / "other-ca.pem"
    ca_key = tmp_path / "other-ca.key"
    ecc.make_cert(ca, ca_key, cn="Other CA", is_ca=True)
    key, csr = make_csr(tmp_path, "mta1", subject="/CN=mta1/OU=default")
    cert = tmp_path / "forged.pem"
    subprocess.run(["openssl", "x509", "-req", "-in", "/dev/stdin",
                    "-CA", str(ca), "-CAkey", str(ca_key), "-days", "30",
                    "-set_serial", "1234", "-out", str(cert)],
                   input=csr, text=True, check=True, capture_output=True)
    # The genuine mta1 is enrolled; the forged certificate must not pass.
    (tmp_path / "real").mkdir()
    enroll_ok(manager, tmp_path / "real", "mta1")
    try:
        r = node_request(manager, cert, key, "GET",
                         "/v1/views/default/manifest")
    except (ssl.SSLError, ConnectionError, OSError):
        return          # refused during the handshake
    r.error("unauthorized", 401)


def test_nodes__snapshot_pacing(manager_factory, tmp_path):
    """Beyond snapshot_rate a second, snapshot requests get 429 with a
    Retry-After of 1..3 s (a herd is spread out), counted in /metrics;
    watches and manifests are not paced."""
    m = manager_factory(conf={"snapshot_rate": "2"})
    cert, key, _ = enroll_ok(m, tmp_path, "mta1")
    statuses, retry = [], []
    for _ in range(6):
        r = node_request(m, cert, key, "GET", "/v1/views/default/snapshot")
        statuses.append(r.status)
        if r.status == 429:
            retry.append(r.header("Retry-After"))
            r.error("try_again", 429)
    # The six requests fall in one or two seconds: at most 4 served.
    assert statuses.count(200) <= 4 and statuses.count(429) >= 2, statuses
    assert all(v in ("1", "2", "3") for v in retry), retry
    node_request(m, cert, key, "GET", "/v1/views/default/manifest").ok(
        "manifest")
    node_request(m, cert, key, "GET",
                 "/v1/views/default/watch?since=0&wait=0").ok("watch")
    metrics = m.request("GET", "/metrics").body.decode()
    paced = [line for line in metrics.splitlines()
             if line.startswith("ecconfig_snapshots_paced_total ")]
    assert paced and int(paced[0].split()[1]) == statuses.count(429), paced


def test_nodes__watch_wait_zero(manager, tmp_path):
    """wait=0 answers at once with the view's revision."""
    cert, key, _ = enroll_ok(manager, tmp_path, "mta1")
    head = manager.head()
    body = node_request(manager, cert, key, "GET",
                        f"/v1/views/default/watch?since={head}&wait=0"
                        ).ok("watch")
    assert body["changed"] is False and body["revision"] <= head
    body = node_request(manager, cert, key, "GET",
                        "/v1/views/default/watch?since=0&wait=0").ok("watch")
    assert body["changed"] is True and body["revision"] >= 1
