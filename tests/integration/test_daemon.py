"""test_daemon.py - ecconfigd as a process: durability across kill -9,
refusal to start with bad certificates or no repository, `-t`,
`--dump-config`, the pid file, SIGHUP reload of config and certificates
without dropping connections, SIGTERM finishing in-flight commits."""

import datetime
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

from ecc import (HarnessError, child_env, committed_revision, make_cert,
                 ssl_context, tail, write_change)


def fsck(m):
    repo = m.data / "repo.git"
    r = subprocess.run(["git", "-C", str(repo), "fsck", "--strict"],
                       capture_output=True, text=True, env=child_env())
    assert r.returncode == 0, f"git fsck --strict failed:\n{r.stdout}{r.stderr}"
    r = subprocess.run(["git", "-C", str(repo), "rev-list", "--count",
                        "refs/heads/main"], capture_output=True, text=True,
                       env=child_env())
    assert r.returncode == 0, r.stderr
    return int(r.stdout) - 1          # r0 is the first commit


# -- durability ----------------------------------------------------------------


def test_daemon__kill9_right_after_ack_keeps_revision(manager):
    for i in range(3):
        res = manager.commit_ok([write_change(f"global/k{i}.conf",
                                              f"k = {i}\n")])
        manager.kill9()
        manager.start()
        assert manager.head() == res["revision"]
        info = manager.api("GET", f"/v1/revisions/{res['revision']}").ok(
            "revision")
        assert info["commit"] == res["commit"]
        assert manager.file(f"global/k{i}.conf") == f"k = {i}\n".encode()
    assert fsck(manager) == manager.head() == 4


def test_daemon__kill9_after_eccfg_commit(manager, tmp_path):
    wc = tmp_path / "wc"
    manager.eccfg_ok("checkout", "--subcluster", "default", wc)
    (wc / "global/ecelerity.conf").write_text("# durable\n")
    r = manager.eccfg_ok("commit", "-m", "durable", cwd=wc)
    rev = committed_revision(r.stdout)
    assert rev == 2
    manager.kill9()
    manager.start()
    assert manager.head() == 2
    assert manager.file("global/ecelerity.conf") == b"# durable\n"
    assert fsck(manager) == 2
    # the checkout carries on against the restarted daemon
    (wc / "global/ecelerity.conf").write_text("# after restart\n")
    r = manager.eccfg_ok("commit", "-m", "after", cwd=wc)
    assert committed_revision(r.stdout) == 3


def test_daemon__kill9_during_commit_burst(manager):
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()
    token = manager.token()

    def writer(w):
        i = 0
        while not stop.is_set():
            try:
                r = manager.request(
                    "POST", "/v1/commits",
                    {"base": 1, "message": f"w{w}-{i}", "changes": [
                        write_change(f"default/default/w{w}-{i}.conf",
                                     f"{w} {i}\n")]},
                    token=token, timeout=30)
            except (OSError, ssl.SSLError, ConnectionError):
                return
            except Exception:       # http.client's RemoteDisconnected etc.
                return
            if r.status == 201:
                with lock:
                    acked[r.json()["revision"]] = (r.json()["commit"],
                                                   f"w{w}-{i}")
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    manager.kill9()
    stop.set()
    for t in threads:
        t.join(60)
    assert len(acked) >= 12, "commits were too slow to test"
    manager.start()
    head = manager.head()
    assert head >= max(acked)
    for rev, (commit, name) in acked.items():
        info = manager.api("GET", f"/v1/revisions/{rev}").ok("revision")
        assert info["commit"] == commit
        assert info["message"] == name
        assert manager.file(f"default/default/{name}.conf") is not None
    assert fsck(manager) == head


def test_daemon__sigterm_finishes_in_flight_commits(manager):
    token = manager.token()
    results = {}

    def one(i):
        try:
            r = manager.request(
                "POST", "/v1/commits",
                {"base": 1, "message": f"t{i}", "changes": [
                    write_change(f"default/default/t{i}.conf", f"{i}\n")]},
                token=token, timeout=30)
            results[i] = r
        except Exception as e:      # refused after the listener closed
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not any(getattr(r, "status", 0) == 201 for r in results.values()) \
            and time.monotonic() < deadline:
        time.sleep(0.005)
    rc = manager.stop(signal.SIGTERM)
    for t in threads:
        t.join(60)
    assert rc == 0, f"exit status {rc} after SIGTERM"
    acked = {r.json()["revision"]: i for i, r in results.items()
             if getattr(r, "status", 0) == 201}
    for i, r in results.items():
        if hasattr(r, "status"):
            assert r.status in (201, 503), r.describe(f"commit {i}")
    manager.start()
    for rev, i in acked.items():
        info = manager.api("GET", f"/v1/revisions/{rev}").ok("revision")
        assert info["message"] == f"t{i}"
    assert fsck(manager) == manager.head()


# -- refusing to start ---------------------------------------------------------


def start_must_fail(m):
    """Run ecconfigd in the foreground where it must refuse to start;
    returns stderr + the log's tail."""
    ready = m.root / "refused.ready"
    try:
        r = m.run_daemon("-c", m.conf, "--foreground", "--ready-file", ready,
                         timeout=20)
    except subprocess.TimeoutExpired:
        raise HarnessError("ecconfigd started where it had to refuse")
    assert r.returncode != 0
    assert not ready.exists()
    return r.stderr + r.stdout + "\n" + tail(m.log_file, 20)


def test_daemon__refuses_missing_certificate(manager_factory):
    m = manager_factory(start=False)
    os.rename(m.data / "server.pem", m.data / "server.pem.away")
    msg = start_must_fail(m)
    assert "server.pem" in msg, msg
    os.rename(m.data / "server.pem.away", m.data / "server.pem")
    os.rename(m.data / "server.key", m.data / "server.key.away")
    msg = start_must_fail(m)
    assert "server.key" in msg, msg
    os.rename(m.data / "server.key.away", m.data / "server.key")
    m.start()


def test_daemon__refuses_expired_certificate(manager_factory):
    m = manager_factory(start=False)
    make_cert(m.data / "server.pem", m.data / "server.key",
              m.data / "ca.pem", m.data / "ca.key",
              sans=("mgr1", "localhost", "127.0.0.1", "::1"),
              not_before=datetime.datetime(2020, 1, 1),
              not_after=datetime.datetime(2020, 6, 1))
    msg = start_must_fail(m)
    assert "server.pem" in msg and re.search(r"expired", msg, re.I), msg
    r = m.run_daemon("-t", "-c", m.conf)
    assert r.returncode != 0
    assert "server.pem" in r.stdout + r.stderr


def test_daemon__refuses_mismatched_key(manager_factory, tmp_path):
    m = manager_factory(start=False)
    make_cert(tmp_path / "other.pem", tmp_path / "other.key",
              m.data / "ca.pem", m.data / "ca.key")
    os.replace(tmp_path / "other.key", m.data / "server.key")
    msg = start_must_fail(m)
    assert re.search(r"server\.(pem|key)", msg) and \
        re.search(r"match", msg, re.I), msg


def test_daemon__refuses_missing_repository(manager_factory):
    m = manager_factory(start=False)
    os.rename(m.data / "repo.git", m.data / "repo.away")
    msg = start_must_fail(m)
    assert "eccfg init" in msg, msg


def test_daemon__warns_when_certificate_expires_soon(manager_factory):
    m = manager_factory(start=False)
    now = datetime.datetime.utcnow()
    make_cert(m.data / "server.pem", m.data / "server.key",
              m.data / "ca.pem", m.data / "ca.key",
              sans=("mgr1", "localhost", "127.0.0.1", "::1"),
              not_after=now + datetime.timedelta(days=10))
    m.start()
    m.request("GET", "/v1/health").ok("health")
    log = m.log_file.read_text(errors="replace")
    assert re.search(r"\[warning\].*server\.pem.*expir", log, re.I), \
        tail(m.log_file)


def test_daemon__quiet_log_in_normal_operation(manager, tmp_path):
    """Nothing at warning or above while nothing is wrong."""
    wc = tmp_path / "wc"
    manager.eccfg_ok("checkout", "--subcluster", "default", wc)
    (wc / "global/ecelerity.conf").write_text("# quiet\n")
    manager.eccfg_ok("commit", "-m", "quiet", cwd=wc)
    manager.eccfg_ok("log")
    manager.eccfg_ok("pull", cwd=wc)
    manager.api("GET", "/v1/views/default/snapshot")
    assert manager.stop() == 0
    loud = [line for line in manager.log_file.read_text(
        errors="replace").splitlines()
        if re.search(r"\[(warning|err|crit|alert|emerg)\]", line)]
    assert loud == [], "\n".join(loud)


# -- options -------------------------------------------------------------------


def test_daemon__check_config(manager_factory):
    m = manager_factory(start=False)
    r = m.run_daemon("-t", "-c", m.conf)
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout + r.stderr

    good = m.conf.read_text()
    lines = good.splitlines()
    m.conf.write_text(good + ("" if good.endswith("\n") else "\n")
                      + "no_such_option = 1\n")
    r = m.run_daemon("-t", "-c", m.conf)
    assert r.returncode != 0
    msg = r.stdout + r.stderr
    assert f"ecconfigd.conf:{len(lines) + 1}" in msg, msg
    assert "no_such_option" in msg

    m.conf.write_text(good)
    m.set_conf(token_ttl="banana")
    n = next(i for i, line in enumerate(m.conf.read_text().splitlines(), 1)
             if line.startswith("token_ttl"))
    r = m.run_daemon("-t", "-c", m.conf)
    assert r.returncode != 0
    assert f"ecconfigd.conf:{n}" in r.stdout + r.stderr

    # a bad listen names its line like every other option
    for bad in ("2027", "127.0.0.1:99999", "[::1:2027", "host:port"):
        m.conf.write_text(good)
        m.set_conf(listen=bad)
        n = next(i for i, line in
                 enumerate(m.conf.read_text().splitlines(), 1)
                 if line.startswith("listen"))
        r = m.run_daemon("-t", "-c", m.conf)
        msg = r.stdout + r.stderr
        assert r.returncode != 0, msg
        assert f"ecconfigd.conf:{n}: option 'listen': '{bad}'" in msg, msg
        assert "configuration OK" not in msg

    r = m.run_daemon("-t", "-c", m.root / "nosuch.conf")
    assert r.returncode != 0
    assert "nosuch.conf" in r.stdout + r.stderr

    m.conf.write_text(good)
    r = m.run_daemon("--dump-config", "-c", m.conf)
    assert r.returncode == 0
    for key in ("listen", "data_dir", "token_ttl", "max_body"):
        assert re.search(rf"^#?\s*{key}\s*=", r.stdout, re.M), key
    r = m.run_daemon("--version")
    assert r.returncode == 0 and re.search(r"\d+\.\d+", r.stdout)
    r = m.run_daemon("--no-such-flag")
    assert r.returncode != 0


def test_daemon__default_pid_file_in_data_dir(manager):
    """With pid_file unset, the pid file is DATA/ecconfigd.pid."""
    pid_file = manager.data / "ecconfigd.pid"
    assert pid_file.read_text().strip() == str(manager.proc.pid)
    assert manager.stop() == 0
    assert not pid_file.exists(), "pid file left after a clean exit"


def test_daemon__pid_file(manager_factory):
    m = manager_factory(start=False)
    pid_file = m.root / "ecconfigd.pid"
    m.set_conf(pid_file=str(pid_file))
    m.start()
    assert pid_file.read_text().strip() == str(m.proc.pid)
    ready = m.root / "second.ready"
    try:
        r = m.run_daemon("-c", m.conf, "--foreground", "--ready-file", ready,
                         timeout=20)
    except subprocess.TimeoutExpired:
        raise HarnessError("a second ecconfigd started on the same pid file")
    assert r.returncode != 0
    assert not ready.exists()
    assert str(m.proc.pid) in r.stderr + tail(m.log_file, 10)
    m.request("GET", "/v1/health").ok("health")
    # a stale pid file (kill -9) does not stop a restart
    m.kill9()
    assert pid_file.exists()
    m.start()
    assert pid_file.read_text().strip() == str(m.proc.pid)
    assert m.stop() == 0
    assert not pid_file.exists(), "pid file left after a clean exit"


# -- signals -------------------------------------------------------------------


def peer_cert(m):
    ctx = ssl_context(m.ca)
    with socket.create_connection((m.host, m.port), 10) as s:
        with ctx.wrap_socket(s, server_hostname=m.host) as t:
            return t.getpeercert(binary_form=True)


def test_daemon__sighup_reloads_and_keeps_serving(manager):
    conn = manager.connection()
    r = manager.request("GET", "/v1/health", conn=conn)
    r.ok("health")
    old_der = conn.sock.getpeercert(binary_form=True)
    assert peer_cert(manager) == old_der

    # a new server certificate and a new token lifetime
    make_cert(manager.root / "new.pem", manager.root / "new.key",
              manager.data / "ca.pem", manager.data / "ca.key",
              sans=("mgr1", "localhost", "127.0.0.1", "::1"))
    os.replace(manager.root / "new.key", manager.data / "server.key")
    os.replace(manager.root / "new.pem", manager.data / "server.pem")
    new_der = ssl.PEM_cert_to_DER_cert((manager.data / "server.pem")
                                       .read_text())
    manager.set_conf(token_ttl="120")
    manager.send_signal(signal.SIGHUP)

    deadline = time.monotonic() + 15
    while peer_cert(manager) != new_der:
        assert manager.alive(), "ecconfigd died on SIGHUP"
        assert time.monotonic() < deadline, "new certificate not served"
        time.sleep(0.05)
    while manager.login()["expires_in"] != 120:
        assert time.monotonic() < deadline, "token_ttl not reloaded"
        time.sleep(0.05)

    # the connection opened before the reload still works
    r = manager.request("GET", "/v1/health", conn=conn)
    r.ok("health")
    assert conn.sock.getpeercert(binary_form=True) == old_der
    conn.close()
    manager.tokens = {}
    manager.commit_ok([write_change("global/after-hup.conf", "x\n")])

    # a broken config on SIGHUP is refused; the daemon keeps its old one
    good = manager.conf.read_text()
    manager.conf.write_text(good + "this is not a config line\n")
    offset = manager.log_file.stat().st_size
    manager.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not re.search(r"reload|SIGHUP",
                        manager.log_file.read_bytes()[offset:].decode(
                            errors="replace"), re.I):
        assert time.monotonic() < deadline, "no log line about the reload"
        time.sleep(0.05)
    assert manager.alive()
    manager.request("GET", "/v1/health").ok("health")
    assert manager.login()["expires_in"] == 120
    manager.conf.write_text(good)
