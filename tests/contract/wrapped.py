"""A plain program (not a service) for the wrapper tests: ``wrapped.py STATE_DIR BEHAVIOUR [ARGS]``.

It records what it sees and does as JSON lines in ``STATE_DIR/log`` (pid, cwd, environment,
signals) so tests judge the wrapper by the program's own observations. Behaviours:

  run                 print a line to stdout and one to stderr, then sleep until signalled
  env                 record cwd and environment, then run
  exit CODE           write "failing with CODE" to stderr and exit with CODE
  serve PORT [DELAY]  sleep DELAY s, then answer HTTP on 127.0.0.1:PORT
  tree                start a child and a setsid'd grandchild (double fork) that ignore SIGINT
                      and SIGTERM, record their pids, and ignore SIGINT/SIGTERM itself
  stubborn SECONDS    ignore SIGINT; exit 0 on SIGTERM after SECONDS
  spew MIB            write MIB MiB to stdout in 64 KiB blocks, then run
  lines N             write N numbered lines to stdout, then run
  tick                write a line to stdout every 0.2 s
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

STATE, BEHAVIOUR, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]


def record(**fields: object) -> None:
    fields.setdefault("pid", os.getpid())
    with open(os.path.join(STATE, "log"), "a") as f:
        f.write(json.dumps(fields) + "\n")


def on_signal(sig: int, _frame: object) -> None:
    record(event="signal", sig=sig)
    sys.exit(0)


def idle() -> None:
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while True:
        time.sleep(3600)


def ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def tree() -> None:
    ignore_signals()
    child = os.fork()
    if child == 0:
        ignore_signals()
        if os.fork() == 0:  # the classic daemon: a new session, its parent gone
            os.setsid()
            if os.fork() == 0:
                record(event="grandchild")
                while True:
                    time.sleep(3600)
            os._exit(0)
        record(event="child")
        while True:
            time.sleep(3600)
    record(event="parent", child=child)
    while True:
        time.sleep(3600)


def main() -> None:
    record(event="start", cwd=os.getcwd(), argv=sys.argv[1:])
    if BEHAVIOUR == "run":
        print("hello on stdout")
        print("hello on stderr", file=sys.stderr)
        idle()
    elif BEHAVIOUR == "env":
        record(event="env", cwd=os.getcwd(), env=dict(os.environ))
        idle()
    elif BEHAVIOUR == "exit":
        print(f"failing with {ARGS[0]}", file=sys.stderr)
        sys.exit(int(ARGS[0]))
    elif BEHAVIOUR == "serve":
        import http.server

        time.sleep(float(ARGS[1]) if len(ARGS) > 1 else 0)
        server = http.server.HTTPServer(("127.0.0.1", int(ARGS[0])), http.server.SimpleHTTPRequestHandler)
        record(event="listening")
        signal.signal(signal.SIGINT, on_signal)
        server.serve_forever()
    elif BEHAVIOUR == "tree":
        tree()
    elif BEHAVIOUR == "stubborn":
        signal.signal(signal.SIGINT, lambda s, f: record(event="signal", sig=s))

        def late_exit(sig: int, _frame: object) -> None:
            record(event="signal", sig=sig)
            time.sleep(float(ARGS[0]))
            sys.exit(0)

        signal.signal(signal.SIGTERM, late_exit)
        while True:
            time.sleep(3600)
    elif BEHAVIOUR == "spew":
        block = b"x" * 65535 + b"\n"
        for _ in range(int(ARGS[0]) * 16):
            sys.stdout.buffer.write(block)
        sys.stdout.flush()
        record(event="spewed")
        idle()
    elif BEHAVIOUR == "tick":
        signal.signal(signal.SIGINT, on_signal)
        i = 0
        while True:
            print(f"tick {i}", flush=True)
            i += 1
            time.sleep(0.2)
    elif BEHAVIOUR == "lines":
        for i in range(int(ARGS[0])):
            print(f"line {i}", flush=True)
        record(event="written")
        idle()


if __name__ == "__main__":
    main()
