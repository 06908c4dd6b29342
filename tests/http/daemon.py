"""scoped daemons of the tests' own, on free loopback ports with fresh data directories, and
the benchmark's workload generated in the background."""
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http import client as httpclient
from pathlib import Path

from client import Client, ScopeClient
from harness import SCOPE, SCOPED_BIN, TOOLS, Failure, check

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_running = set()   # every daemon started and not yet stopped, for the last-resort cleanup


def _die_with_parent():
    # a daemon must not outlive the test run, even when run.py is killed with SIGKILL
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.lru_cache(maxsize=None)
def has_accounts():
    """Whether this scoped has users and tokens (its usage lists `token create`)."""
    p = subprocess.run([str(SCOPED_BIN), "--help"], capture_output=True, text=True, timeout=60)
    return "token create" in p.stdout + p.stderr


class Daemon:
    """`scoped serve` on a free loopback port with a fresh data directory. Start it from the
    main thread only (the kernel kills it when the thread that started it ends)."""

    def __init__(self, workdir, scopes=(SCOPE,), public=False, config=None, data=None, token=None):
        """config: a scoped.conf for every command (a path, or its text); data: an existing data
        directory (a restored one, say), served as it is with token as the clients' token."""
        self.dir = Path(tempfile.mkdtemp(prefix="daemon-", dir=workdir))
        if isinstance(config, str):   # the text of a config; a Path names a file
            (self.dir / "scoped.conf").write_text(config)
            config = self.dir / "scoped.conf"
        self.data = Path(data) if data else self.dir / "data"
        self.rlimit_nofile = None   # a lower soft descriptor limit to start the daemon with
        self.log_path = self.dir / "scoped.log"
        self.proc = None
        self.port = None
        self.global_args = ["--config", str(config)] if config else []
        self.token = token
        if data:
            return
        for name in scopes:
            self.cli("scope", "create", name, *(["--public"] if public else []))
        # every client of the tests (Daemon.client) is a server admin, who may read and write
        # every scope (CONTRACT.md, Access)
        self.token = self.admin_token()

    def admin_token(self, user="tester"):
        """A token of a new server admin; None from a scoped without accounts (no `token`
        command), where anyone may read and write."""
        if not has_accounts():
            return None
        self.cli("user", "add", user, "--admin")
        token = self.cli("token", "create", user).stdout.strip()
        check(token and "\n" not in token, f"scoped token create printed {token!r}")
        return token

    def cli(self, *args, check_rc=True):
        p = subprocess.run([str(SCOPED_BIN), *self.global_args, "--data", str(self.data), *args],
                           capture_output=True, text=True, timeout=60)
        if check_rc and p.returncode != 0:
            raise Failure(f"scoped {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def start(self):
        for _attempt in range(5):
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(SCOPED_BIN), *self.global_args, "--data", str(self.data), "serve", "--listen",
                 f"127.0.0.1:{self.port}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=self._preexec)
            log.close()
            _running.add(self)
            if self._wait_healthy():
                return self
            self._reap()   # most likely the port was taken meanwhile: try another
        raise Failure(f"scoped serve did not come up; log:\n{self.log_tail()}")

    def _preexec(self):
        _die_with_parent()
        if self.rlimit_nofile:
            import resource
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.rlimit_nofile, hard))

    def _wait_healthy(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                conn = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def _reap(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        _running.discard(self)

    def stop(self, timeout=10):
        """SIGTERM, then the exit status; a daemon that does not stop cleanly is a failure."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is not None:
                raise Failure(f"scoped died during the test (exit {self.proc.returncode}); log:\n{self.log_tail()}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise Failure(f"scoped did not stop within {timeout} s of SIGTERM")
            if rc != 0:
                raise Failure(f"scoped exited {rc} on SIGTERM; log:\n{self.log_tail()}")
        finally:
            self._reap()
            self.proc = None   # stopped: a second stop (the case's cleanup) is a no-op

    def log_tail(self, lines=15):
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def client(self, token=None, **kw):
        return Client("127.0.0.1", self.port, token=token or self.token, **kw)

    def scope(self, name=SCOPE, **kw):
        return ScopeClient(self.client(**kw), name)


def stop_all_daemons():
    for d in list(_running):
        try:
            d._reap()
        except Exception:
            pass


class Workload:
    """mkscope.py's export of N components, generated once per run in the background."""

    def __init__(self, workdir, n=1000, seed=1, scope=SCOPE):
        self.dir = Path(workdir) / f"workload-{scope}-{n}-{seed}"
        self.args = [sys.executable, str(TOOLS / "mkscope.py"), "--scope", scope, "-n", str(n),
                     "--seed", str(seed), "-o", str(self.dir)]
        self.proc = None

    def start(self):
        if self.proc is None:
            self.log = open(str(self.dir) + ".log", "wb")
            self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        return self

    def wait(self, timeout=300):
        self.start()
        rc = self.proc.wait(timeout)
        self.log.close()
        check(rc == 0, f"mkscope.py failed (exit {rc}): {Path(str(self.dir) + '.log').read_text()[-500:]}")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def put_tar(self):
        return self.dir / "put.tar"

    def manifest(self):
        return json.loads((self.dir / "manifest.json").read_text())


def scratch_root():
    """Where the run's scratch directory goes: SCOPED_TEST_TMPDIR, else /dev/shm when it has a
    few GB free, else the system's temporary directory."""
    if os.environ.get("SCOPED_TEST_TMPDIR"):
        return os.environ["SCOPED_TEST_TMPDIR"]
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize > 4 << 30:
            return "/dev/shm"
    except OSError:
        pass
    return None


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)
