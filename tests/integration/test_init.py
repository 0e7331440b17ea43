"""The service definitions made from init/*.in: the SysV script passes
shellcheck and answers start/stop/status, the systemd unit passes
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


def test_init__sysv_script_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is not installed (scripts/deps installs it)")
    script = BUILD / "init" / "eccfg-follow"
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


def test_init__systemd_unit_verifies():
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze is not installed (scripts/deps "
                    "installs systemd)")
    unit = BUILD / "init" / "eccfg-follow.service"
    text = unit.read_text()
    for key in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                "Restart=always"):
        assert key in text, key
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True)
    faults = [line for line in (r.stdout + r.stderr).splitlines()
              if line.strip() and not NOT_INSTALLED.search(line)]
    assert faults == [], "\n".join(faults)
