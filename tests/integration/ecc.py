"""ecc.py - the integration suite's harness: a manager under test (eccfg
init + ecconfigd as real processes in a private directory), its HTTPS API
through http.client + ssl trusting only the cluster CA, the eccfg runner,
and the protocol schemas of proto/.

Nothing here sleeps for readiness: the daemon is started with
`listen = 127.0.0.1:0` and `--ready-file`, and the harness polls that file,
failing at once if the process died.
"""

import base64
import datetime
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import jsonschema

SRCDIR = Path(__file__).resolve().parents[2]
PROTO = SRCDIR / "proto"

ADMIN_PASSWORD = "admin-Pa55word"
SERVICE_PASSWORD = "service-Pa55word"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
RUN_TIMEOUT = 120.0

# Sanitizer reports in a process's stderr: a test fails when one appears.
SANITIZER_RE = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: |"
    r"WARNING: ThreadSanitizer|AddressSanitizer:DEADLYSIGNAL)")


class HarnessError(AssertionError):
    """A failure of the environment or of a process the harness drives."""


def builddir():
    """The build directory holding daemon/ecconfigd and eccfg/eccfg, from
    $ECC_BUILDDIR (required)."""
    d = os.environ.get("ECC_BUILDDIR")
    if not d:
        raise HarnessError(
            "ECC_BUILDDIR is not set: run the suite as "
            "`ECC_BUILDDIR=/path/to/build python3 -m pytest tests/integration`"
            " (the directory where `make` built daemon/ecconfigd and "
            "eccfg/eccfg)")
    d = Path(d).resolve()
    for prog in ("daemon/ecconfigd", "eccfg/eccfg"):
        if not os.access(d / prog, os.X_OK):
            raise HarnessError(f"ECC_BUILDDIR={d}: {prog} is missing or not "
                               "executable (run make there first)")
    return d


def sanitizer_check(what, text):
    """Fail when `text` (a process's stderr) holds a sanitizer report."""
    m = SANITIZER_RE.search(text or "")
    if m:
        start = max(0, m.start() - 200)
        raise HarnessError(f"{what}: sanitizer report:\n{text[start:start + 4000]}")


def child_env(extra=None):
    """The environment for every child process: no inherited eccfg
    settings, no libpq settings (tests/run-suite runs under pg_virtualenv,
    whose PGPASSWORD would override a test's own passfile; every test
    names its database explicitly), sanitizer options that report and
    continue."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ECCFG_") and not k.startswith("ECC_")
           and not k.startswith("PG")
           and k not in ("NOTIFY_SOCKET",)}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["LC_ALL"] = "C"
    env["TZ"] = "UTC"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


def tail(path, nlines=60):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        return f"({path}: {e})"
    return "\n".join(lines[-nlines:])


# ---------------------------------------------------------------------------
# Schemas


class Schemas:
    """proto/*.schema.json, by name ("error", "commit-result", ...)."""

    def __init__(self, proto=PROTO):
        self.proto = Path(proto)
        self.schemas = {}
        for p in sorted(self.proto.glob("*.schema.json")):
            self.schemas[p.name[:-len(".schema.json")]] = json.loads(
                p.read_text())

    def names(self):
        return sorted(self.schemas)

    def validator(self, name):
        schema = self.schemas[name]
        cls = jsonschema.validators.validator_for(schema)
        return cls(schema, format_checker=jsonschema.FormatChecker())

    def validate(self, name, instance):
        """Raise AssertionError naming the schema and the first error."""
        errors = sorted(self.validator(name).iter_errors(instance),
                        key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(x) for x in e.path) or "(top)"
            raise AssertionError(
                f"{name}.schema.json: at {where}: {e.message}\n"
                f"instance: {json.dumps(instance)[:2000]}")
        return instance


SCHEMAS = Schemas()


# ---------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # http.client.HTTPMessage
        self.body = body                # bytes

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(
                f"HTTP {self.status}: body is not JSON ({e}): "
                f"{self.body[:500]!r}") from None

    def error(self, code=None, status=None):
        """Check this is an error reply (schema error) and return its
        inner object; optionally check the code and status."""
        if status is not None:
            assert self.status == status, self.describe(f"expected {status}")
        ctype = self.header("Content-Type") or ""
        assert ctype.startswith("application/json"), self.describe(
            "error reply without a JSON content type")
        body = SCHEMAS.validate("error", self.json())
        if code is not None:
            assert body["error"]["code"] == code, self.describe(
                f"expected error code {code}")
        return body["error"]

    def ok(self, schema=None, status=200):
        """Check the status, validate the JSON body, return it."""
        assert self.status == status, self.describe(f"expected {status}")
        if schema is None:
            return None
        return SCHEMAS.validate(schema, self.json())

    def describe(self, what):
        return (f"{what}; got HTTP {self.status} {self.reason}: "
                f"{self.body[:800]!r}")

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def ssl_context(cafile):
    """A client context trusting only `cafile` (None: the system store)."""
    if cafile is None:
        ctx = ssl.create_default_context()
    else:
        ctx = ssl.create_default_context(cafile=str(cafile))
    return ctx


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def write_change(path, content, mode=None):
    c = {"path": path, "action": "write", "content": b64(content)}
    if mode:
        c["mode"] = mode
    return c


def delete_change(path):
    return {"path": path, "action": "delete"}


# ---------------------------------------------------------------------------
# eccfg output parsing


STATUS_RE = re.compile(r"^([MAD?!C])\s+(\S.*)$")


def parse_status(text):
    """{path: letter} from `eccfg status` output."""
    out = {}
    for line in text.splitlines():
        m = STATUS_RE.match(line.rstrip())
        if m:
            out[m.group(2)] = m.group(1)
    return out


def committed_revision(text):
    """N from "Committed revision N.", or None."""
    m = re.search(r"^Committed revision (\d+)\.$", text, re.M)
    return int(m.group(1)) if m else None


def commit_lines(text):
    """[(verb, path)] from the Subversion-style commit output."""
    return [(m.group(1), m.group(2)) for m in re.finditer(
        r"^(Sending|Adding|Deleting)\s+(\S.*?)\s*$", text, re.M)]


def tree_files(tree_body):
    return {f["path"]: f for f in tree_body["files"]}


# ---------------------------------------------------------------------------
# The manager under test


class Manager:
    """One manager: a data directory made by `eccfg init` and an ecconfigd
    process serving it.  Everything lives below `root`."""

    def __init__(self, root, bdir=None):
        self.root = Path(root)
        self.bdir = bdir or builddir()
        self.ecconfigd_bin = self.bdir / "daemon" / "ecconfigd"
        self.eccfg_bin = self.bdir / "eccfg" / "eccfg"
        self.data = self.root / "data"
        self.conf = self.data / "ecconfigd.conf"
        self.ca = self.data / "ca.pem"
        self.log_file = self.root / "ecconfigd.log"
        self.stderr_file = self.root / "ecconfigd.stderr"
        self.ready_file = self.root / "ecconfigd.ready"
        self.home = self.root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.host = None
        self.port = None
        self.exit_codes = []          # statuses of finished daemons
        self.tokens = {}
        self.init_result = None

    # -- setup -------------------------------------------------------------

    def init(self, nodes=("mta1", "mta2"), hostname="mgr1", extra=()):
        """Run `eccfg init` and point logging at files under root."""
        args = ["init", "--data-dir", str(self.data), "--hostname", hostname]
        for n in nodes:
            args += ["--node", n]
        args += ["--listen", "127.0.0.1:0", *extra]
        r = self.eccfg(*args, server=False, env={
            "ECCFG_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ECCFG_SERVICE_PASSWORD": SERVICE_PASSWORD})
        self.init_result = r
        if r.returncode != 0:
            raise HarnessError(
                f"eccfg init failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        for f in (self.conf, self.ca, self.data / "repo.git"):
            if not f.exists():
                raise HarnessError(f"eccfg init did not create {f}")
        self.set_conf(log_target="file", log_file=str(self.log_file),
                      log_level="7")
        return r

    def set_conf(self, **options):
        """Set options in ecconfigd.conf: replace the active line, else
        a commented-out one, else append."""
        text = self.conf.read_text()
        for key, value in options.items():
            line = f"{key} = {value}"
            active = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=.*$", re.M)
            commented = re.compile(
                rf"^[ \t]*#[ \t]*{re.escape(key)}[ \t]*=.*$", re.M)
            if active.search(text):
                text = active.sub(lambda _m: line, text, count=1)
            elif commented.search(text):
                text = commented.sub(lambda _m: line, text, count=1)
            else:
                if not text.endswith("\n"):
                    text += "\n"
                text += line + "\n"
        self.conf.write_text(text)

    def conf_value(self, key):
        m = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=[ \t]*(.*?)[ \t]*$",
                      self.conf.read_text(), re.M)
        return m.group(1).strip('"') if m else None

    # -- process control ---------------------------------------------------

    def daemon_cmd(self, *extra):
        return [str(self.ecconfigd_bin), "-c", str(self.conf), "--foreground",
                "--log-level", "7", "--ready-file", str(self.ready_file),
                *extra]

    def start(self):
        """Start ecconfigd and wait until it serves (ready file)."""
        if self.proc is not None and self.proc.poll() is None:
            raise HarnessError("ecconfigd already running")
        try:
            self.ready_file.unlink()
        except FileNotFoundError:
            pass
        err = open(self.stderr_file, "ab")
        try:
            self.proc = subprocess.Popen(
                self.daemon_cmd(), stdin=subprocess.DEVNULL, stdout=err,
                stderr=err, cwd=self.root, env=child_env(
                    {"HOME": str(self.home)}),
                start_new_session=True)
        finally:
            err.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.exit_codes.append(rc)
                self.proc = None
                raise HarnessError(
                    f"ecconfigd exited with status {rc} before it was ready\n"
                    f"--- stderr ---\n{tail(self.stderr_file)}\n"
                    f"--- log ---\n{tail(self.log_file)}")
            try:
                text = self.ready_file.read_text()
            except FileNotFoundError:
                text = ""
            if text.endswith("\n"):
                break
            if time.monotonic() > deadline:
                self.kill9()
                raise HarnessError(
                    f"ecconfigd not ready after {READY_TIMEOUT:.0f}s "
                    f"(no {self.ready_file})\n{tail(self.log_file)}")
            time.sleep(0.02)
        addr = text.strip()
        host, _, port = addr.rpartition(":")
        if not port.isdigit():
            raise HarnessError(f"bad ready file content {text!r}")
        self.host = host.strip("[]")
        self.port = int(port)
        self.tokens = {}
        return self

    def run_daemon(self, *args, timeout=30):
        """Run ecconfigd to completion with other options (e.g. -t, or a
        start that must fail)."""
        return subprocess.run(
            [str(self.ecconfigd_bin), *args], stdin=subprocess.DEVNULL,
            capture_output=True, text=True, errors="replace", cwd=self.root,
            env=child_env({"HOME": str(self.home)}), timeout=timeout,
            start_new_session=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        """Stop the daemon; SIGKILL if it does not exit in time.  Returns
        its exit status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = self.proc.returncode
                self.exit_codes.append(rc)
                self.proc = None
                raise HarnessError(
                    f"ecconfigd did not exit within {STOP_TIMEOUT:.0f}s "
                    f"of {signal.Signals(sig).name}; killed")
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.exit_codes.append(self.proc.returncode)
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def report(self, nlines=60):
        """The tails of the daemon's log and stderr, for failure reports."""
        return (f"--- {self.log_file} (tail) ---\n{tail(self.log_file, nlines)}"
                f"\n--- {self.stderr_file} (tail) ---\n"
                f"{tail(self.stderr_file, nlines)}")

    # -- eccfg ---------------------------------------------------------------

    @property
    def server(self):
        return f"{self.host}:{self.port}"

    def eccfg(self, *args, input=None, env=None, cwd=None, user="admin",
              password=None, server=True, timeout=RUN_TIMEOUT):
        """Run eccfg ARGS with --server/--ca and the credentials of `user`
        in the environment.  Returns the CompletedProcess (text)."""
        args = [str(a) for a in args]
        if server and args:
            # after the command words ("subcluster list", "user add")
            n = 2 if args[0] in ("subcluster", "user") and len(args) > 1 else 1
            args = args[:n] + ["--server", self.server, "--ca",
                               str(self.ca)] + args[n:]
        e = {"HOME": str(self.home), "USER": user}
        if user is not None:
            e["ECCFG_USERNAME"] = user
            pw = password
            if pw is None:
                pw = {"admin": ADMIN_PASSWORD,
                      "service": SERVICE_PASSWORD}.get(user)
            if pw is not None:
                e["ECCFG_PASSWORD"] = pw
        if env:
            e.update(env)
        r = subprocess.run(
            [str(self.eccfg_bin), *args],
            input=input, stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True, text=True, errors="replace",
            cwd=str(cwd or self.root), env=child_env(e), timeout=timeout,
            start_new_session=True)
        sanitizer_check("eccfg " + " ".join(args), r.stderr)
        return r

    def eccfg_ok(self, *args, **kw):
        r = self.eccfg(*args, **kw)
        assert r.returncode == 0, (
            f"eccfg {' '.join(map(str, args))} failed ({r.returncode}):\n"
            f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    # -- HTTPS ---------------------------------------------------------------

    def connection(self, cafile="default", timeout=30):
        ctx = ssl_context(self.ca if cafile == "default" else cafile)
        return http.client.HTTPSConnection(self.host, self.port, context=ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None,
                conn=None, timeout=30):
        """One HTTPS request.  `body`: bytes/str sent as is, anything else
        as JSON.  Returns a Response."""
        h = {}
        if isinstance(body, (bytes, bytearray, str)):
            data = body.encode() if isinstance(body, str) else bytes(body)
            h["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        else:
            data = None
        if token:
            h["Authorization"] = f"Bearer {token}"
        if headers:
            h.update(headers)
        own = conn is None
        c = conn or self.connection(timeout=timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            resp = Response(r.status, r.reason, r.headers, r.read())
        finally:
            if own:
                c.close()
        return resp

    def login(self, user="admin", password=None):
        """POST /v1/login; returns the validated token body."""
        if password is None:
            password = {"admin": ADMIN_PASSWORD,
                        "service": SERVICE_PASSWORD}[user]
        # A manager checking other logins answers 429 with a short
        # Retry-After (at most one check per reader is queued).
        for _ in range(50):
            r = self.request("POST", "/v1/login",
                             {"username": user, "password": password})
            wait = r.header("Retry-After")
            if r.status != 429 or not wait or int(wait) > 5:
                break
            time.sleep(int(wait))
        return r.ok("token")

    def token(self, user="admin", password=None):
        if user not in self.tokens:
            self.tokens[user] = self.login(user, password)["token"]
        return self.tokens[user]

    def api(self, method, path, body=None, user="admin", **kw):
        """A request authenticated as `user` (cached token)."""
        return self.request(method, path, body,
                            token=self.token(user) if user else None, **kw)

    # -- convenience ---------------------------------------------------------

    def head(self):
        return self.request("GET", "/v1/health").ok("health")["head"]

    def tree(self, rev=None, path=None):
        q = []
        if rev is not None:
            q.append(f"rev={rev}")
        if path:
            q.append(f"path={path}")
        return self.api("GET", "/v1/tree" + ("?" + "&".join(q) if q else "")
                        ).ok("tree")

    def file(self, path, rev=None):
        """Bytes of a repository file, or None when absent (404)."""
        url = "/v1/files/" + path + (f"?rev={rev}" if rev is not None else "")
        r = self.api("GET", url)
        if r.status == 404:
            r.error("not_found")
            return None
        assert r.status == 200, r.describe("GET " + url)
        return r.body

    def commit(self, changes, base=None, message="test commit", user="admin"):
        """POST /v1/commits; returns the Response (not checked)."""
        if base is None:
            base = self.head()
        return self.api("POST", "/v1/commits",
                        {"base": base, "message": message,
                         "changes": changes}, user=user)

    def commit_ok(self, changes, base=None, message="test commit"):
        r = self.commit(changes, base, message)
        return r.ok("commit-result", status=201)


# ---------------------------------------------------------------------------
# Certificates made at test time (python3-cryptography)


def make_cert(cert_path, key_path, ca_cert_path=None, ca_key_path=None,
              cn="mgr1", sans=("localhost", "127.0.0.1"), not_before=None,
              not_after=None, is_ca=False):
    """Write an ECDSA P-256 certificate and key.  Signed by the given CA,
    or self-signed when none.  Times are datetimes (UTC)."""
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.utcnow()
    not_before = not_before or now - datetime.timedelta(hours=1)
    not_after = not_after or now + datetime.timedelta(days=365)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    if ca_cert_path:
        ca_cert = x509.load_pem_x509_certificate(Path(ca_cert_path).read_bytes())
        ca_key = serialization.load_pem_private_key(
            Path(ca_key_path).read_bytes(), password=None)
        issuer = ca_cert.subject
    else:
        ca_key = key
        issuer = subject
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after))
    if is_ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                            critical=True)
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        names = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    Path(cert_path).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(key_path).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    os.chmod(key_path, 0o600)


def plain_http_probe(host, port, timeout=10):
    """Send a plain-text HTTP request to a TLS port; return the bytes the
    server sent back before closing (or timing out)."""
    got = b""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
                if len(got) > 65536:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    return got


# ---------------------------------------------------------------------------
# Checkouts and views


def wc_files(root):
    """{relative path: bytes} of a checkout, without its top-level hidden
    metadata folder."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0].startswith("."):
            continue
        if p.is_file():
            out[rel.as_posix()] = p.read_bytes()
    return out


def view_path(view, repo_path):
    """The view path of a repository path, or None when outside the view
    (view.h: global/ stays, S/x becomes x)."""
    if view == "all":
        return repo_path
    first, _, rest = repo_path.partition("/")
    if first == "global":
        return repo_path
    if first == view and rest:
        return rest
    return None


def view_of(tree_body, view):
    """{view path: tree entry} of the view in a /v1/tree body."""
    out = {}
    for f in tree_body["files"]:
        vp = view_path(view, f["path"])
        if vp is not None:
            out[vp] = f
    return out
