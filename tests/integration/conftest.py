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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for m in getattr(item, "_ecc_managers", []):
            rep.sections.append((f"ecconfigd in {m.root}", m.report()))


@pytest.fixture(scope="session")
def ecc_builddir():
    try:
        return ecc.builddir()
    except ecc.HarnessError as e:
        msg = str(e)
    pytest.fail(msg, pytrace=False)


@pytest.fixture
def manager_factory(request, tmp_path, ecc_builddir):
    """Make managers: factory(name="m", start=True, conf=None, nodes=...)
    runs eccfg init, applies `conf` (ecconfigd.conf options) and starts
    the daemon unless start=False."""
    managers = []
    request.node._ecc_managers = managers

    def make(name="m", start=True, conf=None, nodes=("mta1", "mta2")):
        m = ecc.Manager(tmp_path / name, ecc_builddir)
        managers.append(m)
        m.init(nodes=nodes)
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
