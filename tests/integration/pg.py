"""pg.py - a private PostgreSQL server for one test (cluster mode, issue
5): initdb into a fresh directory, pg_ctl start on 127.0.0.1 with a port
the kernel handed out and a Unix socket in that directory, fsync off.
Unlike the shared server of tests/run-suite (pg_virtualenv), a test may
stop and start this one.  Under root every PostgreSQL program runs as the
postgres user (`runuser -u postgres --`), which owns the directory.

Nothing here sleeps for readiness: `pg_ctl -w` returns once the server
accepts connections (or fails), and stop() always runs at teardown.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import ecc

PG_TIMEOUT = 60          # pg_ctl -t, and every subprocess
DBNAME = "ecc"


class PostgresError(ecc.HarnessError):
    """PostgreSQL could not be set up or driven."""


def bindir():
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl."""
    def version(d):
        try:
            return int(Path(d).parent.name)
        except ValueError:
            return 0
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version,
                    reverse=True):
        if all(os.access(Path(d) / p, os.X_OK)
               for p in ("initdb", "pg_ctl", "postgres", "psql")):
            return Path(d)
    raise PostgresError(
        "no PostgreSQL server in /usr/lib/postgresql/*/bin (install "
        "postgresql; scripts/deps does)")


def free_port():
    """A TCP port on 127.0.0.1 the kernel handed out (bound, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """One PostgreSQL cluster below a private directory, and database
    `ecc` in it.  conninfo is what managers are given."""

    def __init__(self):
        self.bin = bindir()
        self.as_root = os.geteuid() == 0
        # Not below pytest's tmp_path: under root its parents are 0700
        # and the postgres user could not reach its data directory.  A
        # short path also keeps the socket name under its 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="ecc-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.sock.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self.port = None
        self.running = False

    # -- running PostgreSQL programs ---------------------------------------

    def _cmd(self, prog, *args):
        cmd = [str(self.bin / prog), *map(str, args)]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _env(self):
        # No PG* settings of the suite's shared server (pg_virtualenv).
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        env["TZ"] = "UTC"
        return env

    def run(self, prog, *args, check=True, timeout=PG_TIMEOUT, input=None):
        r = subprocess.run(self._cmd(prog, *args), capture_output=True,
                           text=True, errors="replace", env=self._env(),
                           cwd=str(self.root), timeout=timeout, input=input,
                           stdin=None if input is not None else
                           subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise PostgresError(
                f"{prog} {' '.join(map(str, args))} failed "
                f"({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                f"--- {self.log} ---\n{ecc.tail(self.log, 30)}")
        return r

    # -- life cycle ----------------------------------------------------------

    def init(self):
        self.run("initdb", "-A", "trust", "--no-sync", "-U", "postgres",
                 "-E", "UTF8", "--locale=C", "-D", self.data)
        return self

    def start(self):
        """pg_ctl -w start.  The first start picks a port; later ones
        (a test restarting the server) keep it, so conninfo holds."""
        attempts = 5 if self.port is None else 1
        for i in range(attempts):
            port = self.port or free_port()
            opts = (f"-c listen_addresses=127.0.0.1 -p {port} "
                    f"-k {self.sock} -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c max_connections=200")
            r = self.run("pg_ctl", "-w", "-t", PG_TIMEOUT, "-D", self.data,
                         "-l", self.log, "-o", opts, "start", check=False)
            if r.returncode == 0:
                self.port = port
                self.running = True
                return self
            # Another process took the port between free_port() and the
            # bind: try another one (first start only).
            if self.port is not None or i == attempts - 1 or \
                    "in use" not in ecc.tail(self.log, 20):
                raise PostgresError(
                    f"pg_ctl start failed ({r.returncode}):\n{r.stdout}\n"
                    f"{r.stderr}\n--- {self.log} ---\n"
                    f"{ecc.tail(self.log, 30)}")
        raise AssertionError("unreachable")

    def stop(self, mode="immediate"):
        """pg_ctl -m MODE stop (immediate: as if the server died)."""
        if not self.running:
            return
        self.run("pg_ctl", "-w", "-t", PG_TIMEOUT, "-D", self.data, "-m",
                 mode, "stop")
        self.running = False

    def create_db(self):
        self.psql(f"CREATE DATABASE {DBNAME}", db="postgres")
        return self

    def teardown(self):
        """Stop the server whatever state it is in, remove the directory."""
        try:
            if self.data.exists():
                self.run("pg_ctl", "-w", "-t", PG_TIMEOUT, "-D", self.data,
                         "-m", "immediate", "stop", check=False)
        finally:
            self.running = False
            shutil.rmtree(self.root, ignore_errors=True)

    # -- clients -------------------------------------------------------------

    @property
    def conninfo(self):
        return (f"host=127.0.0.1 port={self.port} dbname={DBNAME} "
                "user=postgres connect_timeout=5")

    def psql(self, sql, db=DBNAME):
        """Run `sql` with psql (unaligned, tuples only, '|' between
        fields); returns the rows as lists of strings."""
        r = self.run("psql", "-X", "-q", "-A", "-t", "-F", "|",
                     "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-p",
                     self.port, "-U", "postgres", "-d", db, "-c", sql)
        return [line.split("|") for line in r.stdout.splitlines() if line]

    def report(self, nlines=40):
        return f"--- {self.log} (tail) ---\n{ecc.tail(self.log, nlines)}"
