"""gunicorn with the committed gunicorn.conf.py, as production runs it, for tests over real HTTP."""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.mail_servers import free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKERS = 2
# Only variables the test sets reach gunicorn: a developer's REDIS_URL or GUNICORN_CMD_ARGS
# would otherwise change what is served.
INHERITED_VARIABLES = ("PATH", "LANG", "LC_ALL", "TMPDIR")


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self):
        return self.body.decode()


class Gunicorn:
    def __init__(self, directory, env, extra_arguments=()):
        self.port = free_port()
        # A HOME of its own: gunicorn's control socket goes to ~/.gunicorn/gunicorn.ctl, shared by
        # every instance of one user.
        home = directory / "home"
        home.mkdir()
        self.stdout_path, self.stderr_path = directory / "stdout.log", directory / "stderr.log"
        env = {
            **{name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ},
            "HOME": str(home),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(WORKERS),
            "DJANGO_SECRET_KEY": "serving-test-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            **env,
        }
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *extra_arguments]
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603
                [*command, "config.wsgi"], cwd=PROJECT_DIR, env=env, stdout=stdout, stderr=stderr
            )
        try:
            self.wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def wait_until_answering(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.errors()}")
            try:
                self.get("/healthz")
            except OSError:
                time.sleep(0.05)
            else:
                return
        pytest.fail(f"gunicorn did not answer within 15 s:\n{self.errors()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, path, headers=None, method="GET"):
        """One request on a connection of its own, so the workers take turns answering."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers={"Connection": "close", **(headers or {})})
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get_from_every_worker(self, path, headers=None):
        """One GET of `path` answered by each worker: a list of WORKERS responses.

        A sync worker accepts one connection and serves it to the end, and the listening socket
        hands out connections in the order they were made. So WORKERS - 1 requests sent only up
        to their last header each hold the worker that accepted them, reading; a complete
        request after them can only be answered by the one worker left; then each held request
        is finished and answered by the worker holding it. Held connections last milliseconds,
        well inside gunicorn's worker timeout.

        Needs `%(p)s %(r)s` as the access log format: the pids there confirm that each worker
        answered one request.
        """
        tokens = [secrets.token_hex(6) for _ in range(WORKERS)]
        separator = "&" if "?" in path else "?"
        *held_requests, free_request = [
            self.request_bytes(f"{path}{separator}r={token}", headers) for token in tokens
        ]
        connections = []
        try:
            for request in held_requests:
                connections.append(self.connect())
                connections[-1].sendall(request[:-2])  # all but the blank line ending the headers
            connections.append(self.connect())
            connections[-1].sendall(free_request)
            responses = [read_response(connections[-1])]
            for held, request in zip(connections, held_requests, strict=False):
                held.sendall(request[-2:])
                responses.append(read_response(held))
        finally:
            for connection in connections:
                connection.close()
        pids = self.answered_by(tokens)
        assert len(set(pids.values())) == WORKERS, f"not one answer per worker: {pids}"
        return responses

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def request_bytes(self, path, headers=None):
        """A GET as http.client sends it, with `Connection: close`; `headers` replace its own."""
        fields = {"host": f"127.0.0.1:{self.port}", "accept-encoding": "identity"}
        fields |= {"connection": "close"} | {
            name.lower(): value for name, value in (headers or {}).items()
        }
        lines = [f"GET {path} HTTP/1.1", *(f"{name}: {value}" for name, value in fields.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def answered_by(self, tokens):
        """{token: pid of the worker that answered ?r=<token>}, once the access log has them all.

        Needs `%(p)s %(r)s` at the start of the access log format.
        """
        deadline = time.monotonic() + 5
        while True:
            pids = {
                token: int(pid)
                for pid, token in re.findall(r"<(\d+)> GET \S*[?&]r=(\w+) ", self.access_log())
            }
            if set(tokens) <= pids.keys():
                return {token: pids[token] for token in tokens}
            assert time.monotonic() < deadline, "requests missing from the access log"
            time.sleep(0.05)

    def access_log(self):
        return self.stdout_path.read_text()

    def errors(self):
        return self.stderr_path.read_text()[-3000:]

    def worker_pids(self):
        """The live processes the master forked."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            state, parent = fields[0], int(fields[1])
            if parent == self.process.pid and state != "Z":
                pids.add(int(stat.parent.name))
        return pids


def read_response(connection):
    response = http.client.HTTPResponse(connection, method="GET")
    response.begin()
    try:
        return Response(response.status, response.headers, response.read())
    finally:
        response.close()


def database_url(settings_dict):
    user = quote(settings_dict["USER"] or "", safe="")
    if settings_dict["PASSWORD"]:
        user += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
    return f"postgres://{user}@{host}/{settings_dict['NAME']}"
