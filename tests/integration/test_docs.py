"""The manual pages render without warnings and document every option.

ecconfigd's option table is the source of truth (STYLE.md rule 19):
`ecconfigd --dump-config` lists every option, and each must appear in
ecconfigd.conf(5).  Every eccfg subcommand must appear in eccfg(1).
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(os.environ.get("ECC_SRCDIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ["ECC_BUILDDIR"]) if "ECC_BUILDDIR" in os.environ else None
PAGES = ["ecconfigd.8", "eccfg.1", "ecconfigd.conf.5", "cluster.boot.5",
         "ecconfig-installer.8"]


@pytest.mark.parametrize("page", PAGES)
def test_man_page_groff_clean(page):
    r = subprocess.run(["groff", "-ww", "-z", "-man", str(SRC / "doc" / page)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr


@pytest.mark.parametrize("page", PAGES)
def test_man_page_mandoc_lint(page):
    if not shutil.which("mandoc"):
        pytest.fail("mandoc is not installed (scripts/deps installs it)")
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                        str(SRC / "doc" / page)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_daemon_option_is_documented(tmp_path):
    assert BUILD, "ECC_BUILDDIR is not set"
    conf = tmp_path / "empty.conf"
    conf.write_text("")
    r = subprocess.run([str(BUILD / "daemon" / "ecconfigd"), "-c", str(conf),
                        "--dump-config"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = [m.group(1) for m in re.finditer(r"^([a-z_]+) = ", r.stdout, re.M)]
    assert len(names) >= 20, r.stdout
    page = (SRC / "doc" / "ecconfigd.conf.5").read_text()
    missing = [n for n in names if not re.search(r"^\.BR " + re.escape(n) + r" ",
                                                 page, re.M)]
    assert missing == [], "options missing from ecconfigd.conf(5): %s" % missing


def test_every_eccfg_command_is_documented():
    page = (SRC / "doc" / "eccfg.1").read_text()
    cmds = sorted(p.stem[len("cmd-"):] for p in (SRC / "eccfg").glob("cmd-*.c"))
    assert len(cmds) >= 18
    missing = [c for c in cmds if not re.search(r"^\.B " + re.escape(c) + r"\b",
                                                page, re.M)]
    assert missing == [], "commands missing from eccfg(1): %s" % missing


def test_sample_config_lists_every_option(tmp_path):
    """etc/ecconfigd.conf shows every option (commented out, at its
    default) and is itself a valid configuration."""
    assert BUILD, "ECC_BUILDDIR is not set"
    ecconfigd = str(BUILD / "daemon" / "ecconfigd")
    sample = SRC / "etc" / "ecconfigd.conf"
    r = subprocess.run([ecconfigd, "-c", str(sample), "--dump-config"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = re.findall(r"^([a-z_]+) = ", r.stdout, re.M)
    text = sample.read_text()
    missing = [n for n in names if not re.search(r"^#" + n + r" = ", text, re.M)]
    assert names and missing == [], "options missing from etc/ecconfigd.conf: %s" % missing


def test_every_boot_option_is_documented():
    """cluster.boot(5) documents every entry of lib/boot.c's option
    table (the table the parser and `eccfg bootstrap` use)."""
    table = (SRC / "lib" / "boot.c").read_text()
    names = re.findall(r"^\tOPT\(([a-z_]+),", table, re.M)
    assert len(names) >= 13, names
    page = (SRC / "doc" / "cluster.boot.5").read_text()
    missing = [n for n in names if not re.search(r"^\.BR " + re.escape(n) + r" ",
                                                 page, re.M)]
    assert missing == [], "options missing from cluster.boot(5): %s" % missing
