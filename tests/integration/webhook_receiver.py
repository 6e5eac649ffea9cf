"""A real HTTP receiver for the webhooks integration tests: pytest-httpserver (werkzeug, threaded)
on 127.0.0.1, answering each path as the test scripts it and keeping every request received."""
from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()


@dataclass
class Script:
    """Answers of one path: ``answers`` first, one per request, then ``then`` forever."""

    answers: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    then: tuple[int, dict[str, str], str] = (200, {}, "ok")
    hold: threading.Event | None = None  # requests wait for it (a hanging endpoint)


class Receiver:
    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.scripts: dict[str, Script] = defaultdict(Script)
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.server.expect_request(re.compile(r"/.*")).respond_with_handler(self._handle)  # every path

    def start(self) -> Receiver:
        self.server.start()
        return self

    def stop(self) -> None:
        for script in self.scripts.values():
            if script.hold is not None:
                script.hold.set()
        self.server.clear()
        self.server.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def script(self, path: str, *answers: tuple[int, dict[str, str], str] | int,
               then: tuple[int, dict[str, str], str] | int = 200, hold: threading.Event | None = None) -> None:
        norm = [(a, {}, "") if isinstance(a, int) else a for a in answers]
        self.scripts[path] = Script(norm, (then, {}, "") if isinstance(then, int) else then, hold)

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def _handle(self, request: Request) -> Response:
        script = self.scripts[request.path]
        if script.hold is not None:
            script.hold.wait(10)
        with self.lock:
            self.requests.append(Received(request.path, {k.lower(): v for k, v in request.headers.items()},
                                          request.get_data(), time.monotonic()))
            code, headers, body = script.answers.pop(0) if script.answers else script.then
        return Response(body, status=code, headers=headers)
