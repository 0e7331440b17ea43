"""The service definitions made from init/*.in: the SysV scripts pass
shellcheck and answer start/stop/status, the systemd unit passes
`systemd-analyze verify` but for what only an installed system has (the
binary at its installed path, the manual pages)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BUILD = Path(os.environ["ECC_BUILDDIR"])

# What verify says about an uninstalled tree; anything else is a fault.
NOT_INSTALLED = re.compile(r"is not executable: No such file|Command 'man ")


@pytest.mark.parametrize("name", ["eccfg-follow", "ecconfigd"])
def test_init__sysv_script_shellcheck(name):
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (scripts/deps installs it)")
    script = BUILD / "init" / name
    assert os.access(script, os.X_OK), script
    r = subprocess.run(["shellcheck", "-s", "sh", str(script)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_init__sysv_script_usage_and_missing_boot(tmp_path):
    script = BUILD / "init" / "eccfg-follow"
    r = subprocess.run([str(script)], capture_output=True, text=True)
    assert r.returncode == 2 and "usage:" in r.stderr
    # A copy pointing at a cluster.boot that does not exist refuses to
    # start and says what to do.
    text = script.read_text()
    text = re.sub(r"^BOOT=.*$", f"BOOT={tmp_path}/cluster.boot", text,
                  flags=re.M)
    text = re.sub(r"^PIDFILE=.*$", f"PIDFILE={tmp_path}/f.pid", text,
                  flags=re.M)
    copy = tmp_path / "eccfg-follow"
    copy.write_text(text)
    copy.chmod(0o755)
    r = subprocess.run([str(copy), "start"], capture_output=True, text=True)
    assert r.returncode == 6 and "eccfg bootstrap" in r.stderr, r.stderr
    r = subprocess.run([str(copy), "status"], capture_output=True, text=True)
    assert r.returncode == 3 and "not running" in r.stdout


@pytest.mark.parametrize("name,keys", [
    ("eccfg-follow.service", ("NoNewPrivileges=yes", "ProtectSystem=strict",
                              "Restart=always")),
    ("ecconfigd.service", ("NoNewPrivileges=yes", "ProtectSystem=strict",
                           "PrivateTmp=yes", "User=ecconfig", "Type=notify",
                           "ExecReload=/bin/kill -HUP $MAINPID")),
])
def test_init__systemd_unit_verifies(name, keys):
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is not installed (scripts/deps "
                    "installs systemd)")
    unit = BUILD / "init" / name
    text = unit.read_text()
    for key in keys:
        assert key in text, key
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True)
    faults = [line for line in (r.stdout + r.stderr).splitlines()
              if line.strip() and not NOT_INSTALLED.search(line)]
    assert faults == [], "\n".join(faults)


def test_init__ecconfigd_script_drives_the_daemon(manager_factory, tmp_path):
    """/etc/init.d/ecconfigd status|stop|start|reload on a real manager:
    a copy of the script pointed at the test's data directory."""
    m = manager_factory()
    script = BUILD / "init" / "ecconfigd"
    text = script.read_text()
    text = re.sub(r"^EXEC=.*$", f"EXEC={BUILD}/daemon/ecconfigd", text,
                  flags=re.M)
    text = re.sub(r"^CONF=%?.*lib/ecconfig/ecconfigd.conf$",
                  f"CONF={m.conf}", text, flags=re.M)
    text = re.sub(r"^BOOT=.*$", f"BOOT={tmp_path}/none.boot", text,
                  flags=re.M)
    text = re.sub(r"^RUNAS=.*$", "RUNAS=nobody-here", text, flags=re.M)
    copy = tmp_path / "ecconfigd"
    copy.write_text(text)
    copy.chmod(0o755)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")

    def run(*args):
        return subprocess.run([str(copy), *args], capture_output=True,
                              text=True, env=env, timeout=180)

    r = run("status")
    assert r.returncode == 0 and "is running" in r.stdout, r.stdout
    assert run("reload").returncode == 0
    r = run("stop")
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
    r = run("status")
    assert r.returncode == 3, r.stdout
    r = run("start")
    assert r.returncode == 0 and "started" in r.stdout, r.stdout + r.stderr
    assert run("status").returncode == 0
    r = run("stop")
    assert r.returncode == 0 and "stopped" in r.stdout, r.stdout + r.stderr
