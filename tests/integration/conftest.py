"""conftest.py - pytest fixtures for the integration suite.

Binaries come from $ECC_BUILDDIR (required).  Every test gets its own
tmp_path; the `manager` fixture makes a data directory with `eccfg init`
and starts ecconfigd on 127.0.0.1 with a port the kernel picks.  Teardown
sends SIGTERM (SIGKILL after a grace period) and fails the test if the
daemon did not exit cleanly or a sanitizer reported anything.  When a test
fails, its report carries the tail of every daemon log it started.
"""

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ecc  # noqa: E402
import pg  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for m in getattr(item, "_ecc_managers", []):
            rep.sections.append((f"ecconfigd in {m.root}", m.report()))
        pg = getattr(item, "_ecc_postgres", None)
        if pg is not None:
            rep.sections.append((f"postgres in {pg.root}", pg.report()))


@pytest.fixture(scope="session")
def ecc_builddir():
    try:
        return ecc.builddir()
    except ecc.HarnessError as e:
        msg = str(e)
    pytest.fail(msg, pytrace=False)


@pytest.fixture
def manager_factory(request, tmp_path, ecc_builddir):
    """Make managers: factory(name="m", start=True, conf=None, nodes=...,
    hostname="mgr1", init_args=()) runs eccfg init (with `init_args`
    appended), applies `conf` (ecconfigd.conf options) and starts the
    daemon unless start=False."""
    managers = []
    request.node._ecc_managers = managers

    def make(name="m", start=True, conf=None, nodes=("mta1", "mta2"),
             hostname="mgr1", init_args=()):
        m = ecc.Manager(tmp_path / name, ecc_builddir)
        managers.append(m)
        m.init(nodes=nodes, hostname=hostname, extra=tuple(init_args))
        if conf:
            m.set_conf(**conf)
        if start:
            m.start()
        return m

    yield make

    problems = []
    for m in managers:
        try:
            rc = m.stop(signal.SIGTERM)
        except ecc.HarnessError as e:
            problems.append(f"{m.root}: {e}")
            continue
        if rc not in (None, 0):
            problems.append(f"{m.root}: ecconfigd exited with status {rc} "
                            "after SIGTERM (expected 0)")
        try:
            ecc.sanitizer_check(f"ecconfigd in {m.root}",
                                m.stderr_file.read_text(errors="replace"))
        except FileNotFoundError:
            pass
        except ecc.HarnessError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def manager(manager_factory):
    """A running manager: subcluster default with manager mgr1 and nodes
    mta1, mta2; revision 1 is the seeded layout."""
    return manager_factory()


@pytest.fixture
def schemas():
    return ecc.SCHEMAS


@pytest.fixture
def postgres(request):
    """A private PostgreSQL server (pg.py), running, with an empty
    database; the test may stop() and start() it.  Stopped and removed
    at teardown whatever happened."""
    try:
        server = pg.Postgres()
    except ecc.HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    request.node._ecc_postgres = server
    try:
        server.init().start().create_db()
        yield server
    finally:
        server.teardown()


@pytest.fixture
def cluster_factory(postgres, manager_factory, tmp_path):
    """Make cluster managers on `postgres`: factory(n) returns managers
    m1..mN, m1 made with `eccfg init --store postgresql`, the others
    with `eccfg init --join` and m1's CA; all started.  factory.add()
    joins one more.  Requested after `postgres`, so the managers stop
    before the database does."""
    made = []

    def add(start=True):
        k = len(made) + 1
        name = f"m{k}"
        if k == 1:
            args = ["--store", "postgresql", "--db-conninfo",
                    postgres.conninfo, "--manager-name", name]
            m = manager_factory(name, start=False, hostname=name,
                                init_args=args)
        else:
            first = made[0]
            args = ["--join", "--db-conninfo", postgres.conninfo,
                    "--ca-cert", first.ca, "--ca-key",
                    first.data / "ca.key", "--manager-name", name]
            m = manager_factory(name, start=False, nodes=(), hostname=name,
                                init_args=args)
        m.name = name
        made.append(m)
        if start:
            m.start()
        return m

    def make(n=3):
        return [add() for _ in range(n)]

    make.add = add
    make.managers = made
    return make
