"""Seed 000's webmain.py: a small web app that is *not* a service, run as one with the wrapper.

    svcctl install webpy --stdout logs/out.log --stderr logs/err.log \
        --ready tcp:127.0.0.1:8080 -- python examples/webapp/webmain.py 8080
    svcctl start webpy && curl http://127.0.0.1:8080/

Like the seed's program it reads files relative to its working directory (templates/), which is
exactly what breaks when a service starts somewhere else: ``svcctl install`` makes the script's
directory the working directory, and ``svcctl debug webpy`` shows the failure if it is changed.
"""

from __future__ import annotations

import http.server
import sys
import time

with open("templates/index.html", encoding="utf-8") as f:  # relative, on purpose
    TEMPLATE = f.read()
STARTED = time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = TEMPLATE.replace("{uptime}", f"{time.time() - STARTED:.1f}").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"webmain listening on http://127.0.0.1:{port}/")  # stdout: the service's log
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # the wrapper's graceful stop is SIGINT (Ctrl+C)
        print("webmain stopping")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
