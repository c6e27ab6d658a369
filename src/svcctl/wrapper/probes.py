"""Readiness and health probes: is the wrapped program actually serving?

A probe is written ``tcp:HOST:PORT`` (a connection is accepted), ``http://HOST:PORT/PATH`` (a
GET answers 2xx or 3xx) or ``cmd:COMMAND`` (the command exits 0). HTTPS is a ``cmd:`` probe
(``cmd:curl -fsS https://...``): the daemon does not load OpenSSL for the sake of a probe. Each attempt has its own
timeout, so a hung program fails the probe instead of hanging the service.
"""

from __future__ import annotations

import asyncio
import shlex

from ..errors import ERROR_INVALID_PARAMETER, ScmError

ATTEMPT_TIMEOUT_S = 2.0


class Probe:
    def __init__(self, spec: str) -> None:
        self.spec = spec.strip()
        kind, _, rest = self.spec.partition(":")
        self.kind = kind.lower()
        if self.kind == "tcp":
            host, _, port = rest.rpartition(":")
            if not host or not port.isdigit():
                raise ScmError(ERROR_INVALID_PARAMETER, f"probe {spec!r}: tcp:HOST:PORT")
            self.host, self.port = host.strip("[]"), int(port)
        elif self.kind == "http":
            import urllib.parse  # only when an http probe is configured

            url = urllib.parse.urlsplit(self.spec)
            if not url.hostname:
                raise ScmError(ERROR_INVALID_PARAMETER, f"probe {spec!r}: http://HOST:PORT/PATH")
            self.host = url.hostname
            self.port = url.port or 80
            self.path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        elif self.kind == "cmd":
            self.argv = shlex.split(rest)
            if not self.argv:
                raise ScmError(ERROR_INVALID_PARAMETER, f"probe {spec!r}: cmd:COMMAND")
        else:
            raise ScmError(ERROR_INVALID_PARAMETER, f"probe {spec!r}: tcp:, http:// or cmd: (for https: "
                                                    "cmd:curl -fsS URL)")

    async def check(self, cwd: str, env: dict[str, str]) -> str | None:
        """One attempt: None when it passed, else what went wrong."""
        try:
            return await asyncio.wait_for(self._attempt(cwd, env), ATTEMPT_TIMEOUT_S)
        except TimeoutError:
            return f"{self.spec}: no answer within {ATTEMPT_TIMEOUT_S:g} s"
        except OSError as exc:
            return f"{self.spec}: {exc.strerror or exc}"

    async def _attempt(self, cwd: str, env: dict[str, str]) -> str | None:
        if self.kind == "cmd":
            proc = await asyncio.create_subprocess_exec(
                *self.argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                code = await proc.wait()
            except asyncio.CancelledError:
                proc.kill()
                raise
            return None if code == 0 else f"{self.spec}: exit code {code}"
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            if self.kind == "tcp":
                return None
            host = f"{self.host}:{self.port}"
            writer.write(f"GET {self.path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: svcctl-probe\r\n\r\n".encode())
            await writer.drain()
            line = await reader.readline()
            parts = line.split()
            if len(parts) >= 2 and parts[1][:1] in (b"2", b"3"):
                return None
            return f"{self.spec}: answered {line.decode('latin-1').strip() or 'nothing'}"
        finally:
            writer.close()
