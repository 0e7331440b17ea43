#!/usr/bin/env python3
"""bench_cluster.py - the client side of bench/run-cluster (cluster mode,
issue 5).  Talks to running managers over HTTPS, one kept-alive TLS
connection per client, and prints one line per figure:

  login     log in once, print the bearer token (tokens are shared by
            the managers of a cluster, but each manager learns of a new
            one by NOTIFY: run-cluster logs in to each manager itself)
  commits   N commits of one changed file per client, C clients per
            manager, started together (a barrier); per-commit latency
            median and p99, total throughput
  propagate commits through manager A, spaced; for each, the time from
            the commit's acknowledgement to B's GET /v1/health head
            reaching it (when --poll-health) and to the reload_command
            of a node following B appending it to a log
  heads     wait until managers have the same head, check its commit id
            (--show: print each one's head)
  fdatasync the cost of one 4 KiB write + fdatasync in a directory

Only the standard library.  Timings are wall clock: commit latency with
time.perf_counter(), acknowledgement-to-reload with time.time(), the
clock `date +%s.%N` in the reload command reads (CLOCK_REALTIME).
Percentiles as in bench_repo.c: the sample at round(p * (n - 1)) of the
sorted values (with 30 samples, p99 is the largest).
"""

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import socket
import ssl
import sys
import time


class BenchError(Exception):
    pass


def pct(values, p):
    v = sorted(values)
    return v[int(p * (len(v) - 1) + 0.5)]


def ms(x):
    return x * 1000.0


class Client:
    """One kept-alive HTTPS connection to a manager, with TCP_NODELAY (as
    any latency-minded client sets).  With `quickack`, TCP_QUICKACK is set
    after each request is sent, so that the reply's first segment is
    acknowledged at once: ecconfigd writes a reply as several TLS records
    (headers, body, final newline) on a socket without TCP_NODELAY, and
    Nagle then holds the later records until the client's delayed ACK
    (40 ms on Linux) comes.  quickack measures the daemon without that
    stall; the default measures what a plain client gets."""

    def __init__(self, server, ca, token=None, timeout=60, quickack=False):
        host, _, port = server.rpartition(":")
        self.server = server
        self.token = token
        self.quickack = quickack
        ctx = ssl.create_default_context(cafile=ca)
        self.conn = http.client.HTTPSConnection(host.strip("[]"), int(port),
                                                context=ctx, timeout=timeout)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method, path, body=None):
        h = {}
        if body is not None:
            h["Content-Type"] = "application/json"
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        self.conn.request(method, path, body=body, headers=h)
        if self.quickack:
            self.conn.sock.setsockopt(socket.IPPROTO_TCP,
                                      socket.TCP_QUICKACK, 1)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, r.headers, data

    def health(self):
        st, _, data = self.request("GET", "/v1/health")
        if st != 200:
            raise BenchError(f"{self.server}: GET /v1/health: {st} {data!r}")
        return json.loads(data)

    def close(self):
        self.conn.close()


def commit_seconds(server, ca):
    """(sum, count) of ecconfig_commit_seconds in the manager's /metrics:
    its own time from request to durable commit."""
    c = Client(server, ca, quickack=True)
    try:
        st, _, data = c.request("GET", "/metrics")
    finally:
        c.close()
    if st != 200:
        raise BenchError(f"{server}: GET /metrics: {st}")
    out = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("ecconfig_commit_seconds_sum",
                                            "ecconfig_commit_seconds_count"):
            out[parts[0]] = float(parts[1])
    return (out.get("ecconfig_commit_seconds_sum", 0.0),
            out.get("ecconfig_commit_seconds_count", 0.0))


def login(server, ca, user, password):
    c = Client(server, ca)
    body = json.dumps({"username": user, "password": password})
    try:
        for _ in range(50):
            st, h, data = c.request("POST", "/v1/login", body)
            wait = h.get("Retry-After")
            if st == 429 and wait and int(wait) <= 5:
                time.sleep(int(wait))
                continue
            break
        if st != 200:
            raise BenchError(f"{server}: login as {user}: {st} {data!r}")
        return json.loads(data)["token"]
    finally:
        c.close()


def commit_body(base, path, i, tag):
    content = f"# {tag}, commit {i}\nbench_value = {i}\n".encode()
    return json.dumps({
        "base": base, "message": f"{tag} {i}",
        "changes": [{"path": path, "action": "write",
                     "content": base64.b64encode(content).decode()}]})


def commit_once(c, body):
    """POST /v1/commits; returns the result (201 expected)."""
    st, _, data = c.request("POST", "/v1/commits", body)
    if st != 201:
        raise BenchError(f"{c.server}: POST /v1/commits: {st} "
                         f"{data[:300]!r}")
    return json.loads(data)


# -- commits -------------------------------------------------------------------


def commit_worker(server, ca, token, path, n, tag, quickack, barrier, out):
    try:
        c = Client(server, ca, token, quickack=quickack)
        # base = the head: the manager's at start, then each commit's own
        # revision (the head of this client's manager when it answered;
        # other clients' commits in between touch other paths).
        base = c.health()["head"]
        lat = []
        barrier.wait(120)
        start = time.perf_counter()
        for i in range(n):
            body = commit_body(base, path, i, tag)
            t0 = time.perf_counter()
            res = commit_once(c, body)
            lat.append(time.perf_counter() - t0)
            base = res["revision"]
        end = time.perf_counter()
        c.close()
        out.put(("ok", lat, start, end, base))
    except Exception as e:  # noqa: BLE001 - reported by the parent
        barrier.abort()
        out.put(("error", f"{server} {path}: {e!r}"))


def run_commits(a):
    ctx = multiprocessing.get_context("fork")
    tokens = a.token.split(",")
    if len(tokens) == 1:
        tokens = tokens * len(a.servers)
    jobs = []
    for k, server in enumerate(a.servers):
        for j in range(a.clients):
            jobs.append((server, tokens[k],
                         f"{a.prefix}-m{k + 1}-c{j + 1}.conf"))
    if a.total is not None:
        # Exactly `total` commits, spread over the clients.
        counts = [a.total // len(jobs) + (1 if i < a.total % len(jobs)
                                          else 0) for i in range(len(jobs))]
    else:
        counts = [a.n] * len(jobs)
    barrier = ctx.Barrier(len(jobs))
    q = ctx.Queue()
    procs = [ctx.Process(target=commit_worker,
                         args=(s, a.ca, t, p, cnt, a.label, a.quickack,
                               barrier, q))
             for (s, t, p), cnt in zip(jobs, counts)]
    before = [commit_seconds(s, a.ca) for s in a.servers]
    for p in procs:
        p.start()
    results = [q.get(timeout=a.timeout) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [r[1] for r in results if r[0] != "ok"]
    if errors:
        raise BenchError("; ".join(errors))
    after = [commit_seconds(s, a.ca) for s in a.servers]
    dsum = sum(x[0] - y[0] for x, y in zip(after, before))
    dcount = sum(x[1] - y[1] for x, y in zip(after, before))
    lat = [x for r in results for x in r[1]]
    start = min(r[2] for r in results)
    end = max(r[3] for r in results)
    total = len(lat)
    med, p99 = ms(pct(lat, 0.5)), ms(pct(lat, 0.99))
    server = f", server mean {ms(dsum / dcount):.2f} ms" if dcount else ""
    line = (f"{a.label:<46} median {med:7.2f} ms  p99 {p99:7.2f} ms"
            f"  ({total} commits, {total / (end - start):.1f}/s{server})")
    if a.versus:
        with open(a.versus) as f:
            v = json.load(f)
        line += (f"  [{med / v['median']:.2f}x / {p99 / v['p99']:.2f}x "
                 f"{v['label']}]")
    print(line, flush=True)
    if a.save:
        with open(a.save, "w") as f:
            json.dump({"label": a.short or a.label, "median": med,
                       "p99": p99, "throughput": total / (end - start)}, f)


# -- propagation ---------------------------------------------------------------


def reload_times(path):
    """{revision: time} from the reload command's log ("REV SECONDS")."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    try:
                        out[int(parts[0])] = float(parts[1])
                    except ValueError:
                        pass
    except FileNotFoundError:
        pass
    return out


def run_propagate(a):
    # quickack on both: the acknowledgement is the moment ecconfigd's
    # reply is complete, and a health poll is not held 40 ms (see Client).
    ca = Client(a.a, a.ca, a.token, quickack=True)
    cb = Client(a.b, a.ca, quickack=True) if a.poll_health else None
    base = ca.health()["head"]
    to_b, to_node, sent_to_ack = [], [], []
    last = 0.0
    for i in range(a.n):
        wait = last + a.spacing - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        last = time.monotonic()
        body = commit_body(base, a.path, i, a.label)
        t_sent = time.time()
        res = commit_once(ca, body)
        t_ack = time.time()
        rev = base = res["revision"]
        sent_to_ack.append(t_ack - t_sent)
        if cb is not None:
            deadline = time.monotonic() + a.timeout
            while cb.health()["head"] < rev:
                if time.monotonic() > deadline:
                    raise BenchError(f"{a.b} not at r{rev} after "
                                     f"{a.timeout:.0f} s")
                time.sleep(a.poll_interval)
            to_b.append(time.time() - t_ack)
        deadline = time.monotonic() + a.timeout
        while True:
            t = reload_times(a.reload_log).get(rev)
            if t is not None:
                to_node.append(t - t_ack)
                break
            if time.monotonic() > deadline:
                raise BenchError(f"the node did not reload r{rev} within "
                                 f"{a.timeout:.0f} s")
            time.sleep(0.002)
    ca.close()
    if cb is not None:
        cb.close()

    na, nb = a.names.split(",")

    def line(what, v):
        print(f"{what + a.suffix:<46} median {ms(pct(v, 0.5)):7.2f} ms  p99 "
              f"{ms(pct(v, 0.99)):7.2f} ms  ({len(v)} commits)", flush=True)

    line(f"commit sent -> ack on {na}", sent_to_ack)
    if to_b:
        line(f"ack on {na} -> {nb}'s /v1/health head", to_b)
    line(f"ack on {na} -> reload on {nb}'s node", to_node)


# -- heads ---------------------------------------------------------------------


def heads_of(clients):
    return [c.health()["head"] for c in clients]


def run_heads(a):
    """Wait until every manager's head is --rev (default: the highest
    any of them has), then check they name the same commit."""
    tokens = a.token.split(",")
    if len(tokens) == 1:
        tokens = tokens * len(a.servers)
    cs = [Client(s, a.ca, t, quickack=True)
          for s, t in zip(a.servers, tokens)]
    names = a.names.split(",") if a.names else a.servers
    if a.show:
        hs = heads_of(cs)
        print("heads: " + ", ".join(f"{n} r{h}" for n, h in zip(names, hs)),
              flush=True)
        return
    deadline = time.monotonic() + a.wait
    while True:
        hs = heads_of(cs)
        want = a.rev if a.rev is not None else max(hs)
        if all(h == want for h in hs):
            break
        if time.monotonic() > deadline:
            raise BenchError(f"heads {hs} after {a.wait:.0f} s "
                             f"(waiting for r{want})")
        time.sleep(0.02)
    ids = []
    for c in cs:
        st, _, data = c.request("GET", f"/v1/revisions/{want}")
        if st != 200:
            raise BenchError(f"{c.server}: GET /v1/revisions/{want}: {st} "
                             f"{data[:200]!r}")
        ids.append(json.loads(data)["commit"])
    for c in cs:
        c.close()
    if len(set(ids)) != 1:
        raise BenchError(f"r{want} is {ids} on {a.servers}")
    print(f"heads: {' '.join(names)} all at r{want}, commit {ids[0][:12]}",
          flush=True)


# -- fdatasync -----------------------------------------------------------------


def run_fdatasync(a):
    path = os.path.join(a.dir, "fdatasync.probe")
    block = os.urandom(4096)
    lat = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for i in range(a.n):
            t0 = time.perf_counter()
            os.pwrite(fd, block, (i % 256) * 4096)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    print(f"{'4 KiB write + fdatasync in the bench dir':<46} median "
          f"{ms(pct(lat, 0.5)):7.2f} ms  p99 {ms(pct(lat, 0.99)):7.2f} ms"
          f"  ({a.n} writes)", flush=True)


# -- main ----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(prog="bench_cluster.py")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("login")
    p.add_argument("--ca", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("server")

    p = sub.add_parser("commits")
    p.add_argument("--ca", required=True)
    p.add_argument("--token", required=True,
                   help="one token, or one per server, comma-separated")
    p.add_argument("-n", type=int, default=200, help="commits per client")
    p.add_argument("--total", type=int, help="commits in all, instead of -n")
    p.add_argument("-c", "--clients", type=int, default=1,
                   help="clients per server")
    p.add_argument("--prefix", default="default/default/bench")
    p.add_argument("--label", default="commit latency")
    p.add_argument("--short", help="name in a later comparison")
    p.add_argument("--save", help="write median/p99 to this JSON file")
    p.add_argument("--versus", help="compare with a --save file")
    p.add_argument("--quickack", action="store_true",
                   help="TCP_QUICKACK after each request (see Client)")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("servers", nargs="+")

    p = sub.add_parser("propagate")
    p.add_argument("--ca", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--a", required=True, help="the manager committed to")
    p.add_argument("--b", required=True, help="the manager the node follows")
    p.add_argument("--reload-log", required=True)
    p.add_argument("-n", type=int, default=30)
    p.add_argument("--spacing", type=float, default=0.3)
    p.add_argument("--path", default="default/default/propagate.conf")
    p.add_argument("--poll-health", action="store_true")
    p.add_argument("--poll-interval", type=float, default=0.001)
    p.add_argument("--label", default="propagation", help="commit message")
    p.add_argument("--names", default="A,B", help="A and B, for the output")
    p.add_argument("--suffix", default="", help="added to each figure's name")
    p.add_argument("--timeout", type=float, default=20)

    p = sub.add_parser("heads")
    p.add_argument("--ca", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--rev", type=int)
    p.add_argument("--wait", type=float, default=60)
    p.add_argument("--names", help="comma-separated, for the output")
    p.add_argument("--show", action="store_true",
                   help="only print each manager's head")
    p.add_argument("servers", nargs="+")

    p = sub.add_parser("fdatasync")
    p.add_argument("-n", type=int, default=200)
    p.add_argument("dir")

    a = ap.parse_args()
    try:
        if a.cmd == "login":
            pw = os.environ.get("ECC_BENCH_PASSWORD")
            if not pw:
                raise BenchError("ECC_BENCH_PASSWORD is not set")
            print(login(a.server, a.ca, a.user, pw))
        elif a.cmd == "commits":
            run_commits(a)
        elif a.cmd == "propagate":
            run_propagate(a)
        elif a.cmd == "heads":
            run_heads(a)
        else:
            run_fdatasync(a)
    except (BenchError, OSError, ssl.SSLError,
            http.client.HTTPException) as e:
        print(f"bench_cluster.py {a.cmd}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
