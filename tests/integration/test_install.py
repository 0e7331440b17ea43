"""`make install DESTDIR=...` installs the programs, the library with its
headers and pkg-config file, the manual pages, the service definitions
and the sample configuration, and the installed header is usable."""
import os
import subprocess
from pathlib import Path

BUILD = Path(os.environ["ECC_BUILDDIR"])

EXPECTED = [
    "bin/eccfg", "sbin/ecconfigd", "lib/pkgconfig/ecconfig.pc",
    "include/ecconfig/ecconfig.h", "share/man/man1/eccfg.1",
    "share/man/man8/ecconfigd.8", "share/man/man5/ecconfigd.conf.5",
    "share/man/man5/cluster.boot.5", "lib/systemd/system/ecconfigd.service",
    "lib/systemd/system/eccfg-follow.service", "etc/init.d/ecconfigd",
    "etc/init.d/eccfg-follow", "etc/ecconfig/ecconfigd.conf.example",
    "sbin/ecconfig-installer", "share/man/man8/ecconfig-installer.8",
    "share/ecconfig/init/ecconfigd.service.in",
]


def prefix_of():
    for line in (BUILD / "Makefile").read_text().splitlines():
        if line.startswith("prefix = "):
            return line.split("=", 1)[1].strip()
    raise AssertionError("no prefix in the build's Makefile")


def test_install__destdir(tmp_path):
    dest = tmp_path / "root"
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}"],
                       cwd=BUILD, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    root = dest / prefix_of().lstrip("/")
    missing = [p for p in EXPECTED if not (root / p).exists()]
    assert missing == [], missing
    assert os.access(root / "bin/eccfg", os.X_OK)
    assert os.access(root / "etc/init.d/ecconfigd", os.X_OK)
    assert list((root / "lib").glob("libecconfig.so*")), "no shared library"
    # The unit and scripts name the installed paths.
    unit = (root / "lib/systemd/system/ecconfigd.service").read_text()
    assert f"ExecStart={prefix_of()}/sbin/ecconfigd" in unit, unit
    # pkg-config finds the library and its header compiles.
    env = dict(os.environ, PKG_CONFIG_SYSROOT_DIR=str(dest),
               PKG_CONFIG_PATH=str(root / "lib/pkgconfig"))
    r = subprocess.run(["pkg-config", "--cflags", "--libs", "ecconfig"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    flags = r.stdout.split()
    assert "-lecconfig" in flags, flags
    src = tmp_path / "use.c"
    src.write_text('#include <ecconfig.h>\n'
                   'int main(void) { return ecc_repo_head(0) == 0; }\n')
    r = subprocess.run(["cc", "-fsyntax-only", "-Wall", "-Werror",
                        *[f for f in flags if f.startswith("-I")],
                        *subprocess.run(["pkg-config", "--cflags",
                                         "libgit2", "jansson", "libpq",
                                         "libevent"], capture_output=True,
                                        text=True).stdout.split(),
                        str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The pages render without warnings where they are installed.
    for page in root.glob("share/man/man*/*"):
        r = subprocess.run(["groff", "-ww", "-z", "-man", str(page)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
