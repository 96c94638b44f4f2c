"""Real processes for the tests that need them: gunicorn app servers, queue workers, a Redis
and a PostgreSQL of the test's own, a local SMS gateway, and a browser-like HTTP client.

Every wait is bounded: a loop polls an observable condition (a port answering, a row
changing) with a deadline and fails with what it saw, never sleeps to hide a race.
"""

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(os.listdir("/usr/lib/postgresql"))[-1]
        if os.path.isdir("/usr/lib/postgresql")
        else ""
    )
    / "bin"
)
POLL_SECONDS = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition: Callable[[], object], limit: float = 30.0):
    """Poll `condition` until it returns something true (returned) or `limit` seconds pass
    (AssertionError naming `what`). Polling, not sleeping: the answer is the condition."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {limit}s")
        time.sleep(POLL_SECONDS)


def database_url(settings_dict: dict | None = None) -> str:
    """The URL of the database the test runs on (pytest-django's test_<name>)."""
    db = settings_dict or connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "")
    password = ":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def signing_key(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def portal_environment(tmp_path: Path, **overrides: str) -> dict:
    """The environment of a portal process for a test: the test settings, the test's
    database, a signing key of its own, SMS written to tmp_path/sms.jsonl."""
    key = tmp_path / "signing-key.pem"
    if not key.exists():
        signing_key(key)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
        "DATABASE_URL": database_url(),
        "KYVS_SMS_BACKEND": "file",
        "KYVS_SMS_FILE": str(tmp_path / "sms.jsonl"),
        "KYVS_SIGNING_KEY_FILE": str(key),
        "KYVS_SIGNING_KEY_GENERATE": "false",
        "KYVS_LOG_FORMAT": "json",
        **overrides,
    }


class Process:
    """A child process whose output goes to a file (a pipe nobody reads would block it)."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name, self.args, self.env, self.log = name, args, env, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye, as when a machine or an OOM killer takes it."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class AppServer(Process):
    """gunicorn with one sync worker on a free loopback port."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "gunicorn", "kyvs.wsgi:application"]
        args += ["--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--chdir", str(ROOT)]
        super().__init__("gunicorn", args, env, log)

    def start(self) -> "AppServer":
        super().start()
        wait_until_serving(self, self.url)
        return self


def wait_until_serving(process: Process, url: str) -> None:
    """Wait until `url`/healthz answers 200; fail with the process's output if it exits."""

    def serving():
        if not process.alive():
            raise AssertionError(f"{process.name} exited: {process.output()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                return response.status == 200
        except OSError:  # refused, reset or timed out while the worker boots
            return False

    wait_for(f"{process.name} answering {url}/healthz", serving)


class QueueWorker(Process):
    """`manage.py run_worker`: the task queue's worker."""

    def __init__(self, env: dict, log: Path):
        args = [sys.executable, "manage.py", "run_worker", "--interval", "0.1"]
        super().__init__("worker", args, env, log)


class Redis(Process):
    """A redis-server of the test's own on a free loopback port; it keeps nothing on disk, so
    a restart starts empty, as a Redis restarted without persistence does."""

    def __init__(self, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
        args += ["--save", "", "--appendonly", "no"]
        super().__init__("redis", args, dict(os.environ), log)

    def start(self) -> "Redis":
        super().start()
        wait_for(f"redis on {self.port}", lambda: _answers(self.port))
        return self


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb into a temporary folder owned by the
    postgres user, as PostgreSQL refuses to run as root), on a free loopback port, that the
    test can stop and start. `destroy` stops it and removes the folder."""

    def __init__(self):
        # Under /tmp itself: the postgres user cannot enter the test's own (root's) folder.
        self.folder = Path(tempfile.mkdtemp(prefix="kyvs-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/kyvs"

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check and result.returncode:
            raise AssertionError(f"{' '.join(args)} failed: {result.stderr[-2000:]}")
        return result

    def create(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"
        )
        self.start()
        self._as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "kyvs"
        )
        return self

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "postgres.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(self.folder, ignore_errors=True)


class Gateway:
    """A local SMS gateway. Every request is recorded; one that `hold` covers is answered
    only once `release()` is called (or after `delay` seconds), as a slow or hung gateway."""

    def __init__(self, delay: float | None = None):
        self.requests: list[dict] = []
        self.received = threading.Event()
        self.answered = threading.Event()
        self.released = threading.Event()
        self.hold = 0  # how many of the next requests to hold
        self.delay = delay
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append(body)
                gateway.received.set()
                if gateway.hold:
                    gateway.hold -= 1
                    gateway.released.wait(gateway.delay or 60)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}')
                gateway.answered.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def codes(self) -> list[str]:
        return [re.search(r"\b(\d{6})\b", r["text"]).group(1) for r in self.requests]

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser: cookies kept, redirects not followed."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, url: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=headers or {})
        try:
            response = self.opener.open(request, timeout=20)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            response = error
        with response:
            return response.status, response.headers, response.read().decode()

    def csrf_token(self, url: str) -> str:
        status, _, page = self.request(url)
        assert status == 200, page[:500]
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post_form(self, page_url: str, data: dict, action: str | None = None):
        token = self.csrf_token(page_url)
        return self.request(action or page_url, {"csrfmiddlewaretoken": token, **data})


def sms_sent(tmp_path: Path) -> list[dict]:
    path = tmp_path / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
