"""Whole-process latency of CLI calls (issue 3), side by side in one run, printed as Markdown.

    .venv/bin/python bench/bench_cli.py [--rounds N] [--no-wait-quiet] [--supervisor-venv DIR]

Against one private daemon (temporary SVCCTL_HOME, bench/common.py) running one native service
(bench/native_service.py, RUNNING), each round runs every command below once, to completion,
in a rotating order (round-robin, so drift and other load hit all commands alike):

* ``python -c pass``, the same interpreter: the floor of any Python CLI;
* ``svcctl query NAME`` (target: median <= 25 ms), and for information ``svcctl qc NAME`` and
  ``svcctl list``, run through the installed ``svcctl`` console script;
* ``supervisorctl -c CONF status NAME`` against a real supervisord managing one program
  (``sleep 1000``), with a private config and unix socket in a temporary directory;
* ``svcctl query NAME`` with the bytecode settings of the calling environment (diagnostic);
* ``python -c 'import ...; os._exit(0)'`` of exactly the modules ``svcctl query`` loads (found
  with ``-X importtime``), which runs nothing and exits as the CLI does: splits the query into
  start-up + imports and the rest (connecting, the requests, printing) (diagnostic).

supervisor is not a dependency of svcctl: it is installed on first use into its own venv
(``python -m venv DIR && DIR/bin/pip install supervisor``, default
``~/.cache/svcctl-bench/supervisor-venv``) and reused afterwards.

Wall time is measured around ``subprocess.run`` (fork, exec, run, exit, reap); CPU is the
child's own user + system time. Every child but the diagnostic one uses a private bytecode cache,
as bench_foundation.py does. The daemon and supervisord are stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    SUPERVISORD_HEADER,
    Daemon,
    Interference,
    bytecode_situation,
    machine,
    native_binpath,
    private_bytecode_cache,
    source_revision,
    wait_quiet,
)

from svcctl.types import State

QUERY_TARGET_MS = 25.0
NAME = "benchsvc"
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svcctl-bench" / "supervisor-venv"
#: Written into the venv once supervisor is installed: a venv without it is rebuilt.
MARKER = ".svcctl-bench-complete"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- supervisor ------------------------------------------------------------------------------------


def ensure_supervisor(venv: Path) -> str:
    """Install supervisor into ``venv`` unless a complete install is there; return its version."""
    py = venv / "bin" / "python"
    ok = (venv / MARKER).exists() and all((venv / "bin" / b).exists() for b in ("supervisord", "supervisorctl"))
    if not ok:
        log(f"installing supervisor into {venv} (python -m venv, pip install supervisor)")
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        for cmd in ([sys.executable, "-m", "venv", str(venv)], [str(venv / "bin" / "pip"), "install", "supervisor"]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if r.returncode:
                raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        (venv / MARKER).write_text("supervisor installed by bench/bench_cli.py\n")
    else:
        log(f"reusing supervisor in {venv}")
    r = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m, platform; "
         "print(m.version('supervisor'), platform.python_version())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    version, pyver = r.stdout.split()
    return f"supervisor {version} (Python {pyver}, venv {venv})"


SUPERVISORD_CONF = SUPERVISORD_HEADER + """
[program:{name}]
command=sleep 1000
autostart=true
startsecs=1
stopsignal=TERM
"""


@contextlib.contextmanager
def supervisord(venv: Path, timeout: float = 30.0) -> Iterator[list[str]]:
    """A supervisord with a private config managing ``sleep 1000`` as NAME; yields the
    ``supervisorctl status NAME`` command line once it answers RUNNING. Stopped with SIGTERM."""
    tmp = Path(tempfile.mkdtemp(prefix="svcctl-bench-sup-"))
    conf = tmp / "supervisord.conf"
    conf.write_text(SUPERVISORD_CONF.format(dir=tmp, name=NAME))
    ctl = [str(venv / "bin" / "supervisorctl"), "-c", str(conf)]
    out = open(tmp / "supervisord.stdout", "wb")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [str(venv / "bin" / "supervisord"), "-n", "-c", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    child_pid = 0
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"supervisord exited ({proc.returncode}): {(tmp / 'supervisord.stdout').read_text()}"
                )
            r = subprocess.run([*ctl, "status", NAME], capture_output=True, text=True)
            if r.returncode == 0 and "RUNNING" in r.stdout:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"supervisord not RUNNING {NAME} after {timeout:.0f} s: {r.stdout}{r.stderr}")
            time.sleep(0.1)
        pid = subprocess.run([*ctl, "pid", NAME], capture_output=True, text=True).stdout.strip()
        child_pid = int(pid) if pid.isdigit() else 0
        yield [*ctl, "status", NAME]
    finally:
        proc.terminate()  # supervisord stops its programs, then exits
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if child_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child_pid, signal.SIGKILL)  # only if supervisord left it behind
        out.close()
        shutil.rmtree(tmp, ignore_errors=True)


# --- timing ----------------------------------------------------------------------------------------


class Cmd:
    def __init__(self, label: str, argv: list[str], env: dict[str, str], expect: str) -> None:
        self.label, self.argv, self.env, self.expect = label, argv, env, expect
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, record: bool = True) -> None:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(self.argv, env=self.env, capture_output=True, text=True)
        t1 = time.perf_counter()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0 or self.expect not in r.stdout:
            raise RuntimeError(f"{self.label}: exit {r.returncode}, expected {self.expect!r}:\n{r.stdout}{r.stderr}")
        if record:
            self.wall.append((t1 - t0) * 1000)
            self.cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8]


class Imports:
    """``-X importtime`` (PYTHONPROFILEIMPORTTIME) of one command, run ``runs`` times: the median
    total of its top-level imports (ms; the instrumentation inflates it), the three largest, and
    every top-level module in import order (importing these again loads all that the command did).
    """

    def __init__(self, argv: list[str], env: dict[str, str], runs: int = 5) -> None:
        totals: list[float] = []
        rows: list[tuple[str, float]] = []
        for _ in range(runs):
            rows = top_level_imports(argv, env)
            totals.append(sum(ms for _, ms in rows))
        self.total = statistics.median(totals)
        self.top = sorted(rows, key=lambda x: -x[1])[:3]
        self.modules = [mod for mod, _ in rows]

    def __str__(self) -> str:
        return f"{self.total:.1f} (largest: " + ", ".join(f"`{mod}` {ms:.1f}" for mod, ms in self.top) + ")"


def top_level_imports(argv: list[str], env: dict[str, str]) -> list[tuple[str, float]]:
    """(module, cumulative ms) of every import made at top level (not nested in another import)."""
    r = subprocess.run(argv, env=dict(env, PYTHONPROFILEIMPORTTIME="1"), capture_output=True, text=True, check=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cum, mod = line.split("|")
        if not mod.startswith("  "):  # top level: " module" (one leading space)
            rows.append((mod.strip(), int(cum) / 1000))
    return rows


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=60, help="rounds of every command (default 60)")
    p.add_argument("--supervisor-venv", type=Path, default=DEFAULT_VENV, help=f"default {DEFAULT_VENV}")
    p.add_argument("--no-wait-quiet", action="store_true", help="do not wait for an idle machine first")
    a = p.parse_args(argv)

    svcctl = Path(sys.executable).parent / "svcctl"
    if not svcctl.exists():
        found = shutil.which("svcctl")
        if not found:
            raise SystemExit("no svcctl console script next to this interpreter or on PATH")
        svcctl = Path(found)
    sup_desc = ensure_supervisor(a.supervisor_venv)
    log(sup_desc)

    m = machine()
    log(f"machine: {m['nproc']} CPUs, {m['python']}")
    quiet = "did not wait for an idle machine" if a.no_wait_quiet else wait_quiet()
    log(quiet)
    t_all = time.perf_counter()
    interference = Interference()
    revision = source_revision()
    env_desc = bytecode_situation()
    caller_env = dict(os.environ)
    log(f"svcctl {revision}; bytecode in the calling environment: {env_desc}")

    with contextlib.ExitStack() as stack:
        stack.enter_context(private_bytecode_cache())
        d = stack.enter_context(Daemon())
        mgr = stack.enter_context(d.connect())
        svc = stack.enter_context(mgr.create_service(NAME, native_binpath()))
        svc.start()
        if svc.wait(State.RUNNING, 30).state is not State.RUNNING:
            raise RuntimeError(f"{NAME} did not reach RUNNING")
        sup_status = stack.enter_context(supervisord(a.supervisor_venv))
        log(f"daemon (pid {d.pid}) and supervisord both run {NAME}")

        env = dict(os.environ, SVCCTL_HOME=str(d.home))
        env_asis = dict(caller_env, SVCCTL_HOME=str(d.home))
        q = [str(svcctl), "query", NAME]
        cmds = [
            Cmd("`python -c pass`", [sys.executable, "-c", "pass"], env, ""),
            Cmd(f"`svcctl query {NAME}`", q, env, "RUNNING"),
            Cmd(f"`supervisorctl status {NAME}`", sup_status, env, "RUNNING"),
            Cmd(f"`svcctl qc {NAME}`", [str(svcctl), "qc", NAME], env, "BINARY_PATH_NAME"),
            Cmd("`svcctl list`", [str(svcctl), "list"], env, NAME),
            Cmd(f"`svcctl query {NAME}`, bytecode as in the calling environment", q, env_asis, "RUNNING"),
        ]
        log("warming up (3 runs each, not timed)")
        for _ in range(3):
            for c in cmds:
                c.run(record=False)
        log("diagnostic: -X importtime")
        imp_pass = Imports([sys.executable, "-c", "pass"], env)
        imp_svcctl = Imports(q, env)
        imp_sup = Imports(sup_status, env)
        # Decomposition: the interpreter plus exactly the imports of `svcctl query`, and nothing run;
        # it leaves through os._exit as the svcctl console script does (no interpreter teardown).
        startup = set(imp_pass.modules)
        query_mods = [mod for mod in imp_svcctl.modules if mod not in startup]
        only_imports = Cmd(
            "`python -c 'import …; os._exit(0)'`: the modules `svcctl query` loads, nothing run",
            [sys.executable, "-c", f"import {', '.join(query_mods)}\nimport os\nos._exit(0)"],
            env,
            "",
        )
        for _ in range(3):
            only_imports.run(record=False)
        cmds.append(only_imports)
        log(f"{a.rounds} rounds of {len(cmds)} commands, interleaved")
        for i in range(a.rounds):
            k = i % len(cmds)
            for c in cmds[k:] + cmds[:k]:
                c.run()
    elapsed = time.perf_counter() - t_all
    noise = interference.report()
    log(noise)

    base = statistics.median(cmds[0].wall)
    query_med = statistics.median(cmds[1].wall)

    def row(c: Cmd, target: str = "", verdict: str = "") -> str:
        med = statistics.median(c.wall)
        return (
            f"| {c.label} | {med:.1f} | {p90(c.wall):.1f} | {min(c.wall):.1f} | {statistics.median(c.cpu):.1f} "
            f"| {med / base:.2f}x | {target} | {verdict} |"
        )

    met = query_med <= QUERY_TARGET_MS
    lines = [
        f"Run {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['mem']} RAM, Linux {m['kernel']}, {m['python']}.",
        f"svcctl {revision}; {sup_desc}.",
        f"{a.rounds} rounds, each running every command once in rotating order; children use a private .pyc "
        f"cache except in the row 'bytecode as in the calling environment' ({env_desc}). "
        f"Total benchmark time {elapsed:.0f} s.",
        f"Load: {quiet}; {noise}.",
        "",
        "| Command (run to exit) | median (ms) | p90 (ms) | min (ms) | CPU, median (ms) | median / `python -c pass` "
        "| Target | Verdict |",
        "|---|---|---|---|---|---|---|---|",
        row(cmds[0]),
        row(cmds[1], f"median <= {QUERY_TARGET_MS:.0f} ms", "**met**" if met else "**missed**"),
        row(cmds[2], "comparison"),
        row(cmds[3], "–"),
        row(cmds[4], "–"),
        row(cmds[5], "diagnostic"),
        row(cmds[6], "diagnostic"),
        "",
        f"`svcctl query` / `supervisorctl status`, medians: {query_med / statistics.median(cmds[2].wall):.2f}x.",
        "",
        "Imports per call (`-X importtime`, sum of top-level cumulative times, median of 5 runs, ms):",
        "",
        "| Command | Imports (ms) |",
        "|---|---|",
        f"| `python -c pass` | {imp_pass} |",
        f"| `svcctl query {NAME}` | {imp_svcctl} |",
        f"| `supervisorctl status {NAME}` | {imp_sup} |",
        "",
        f"Modules `svcctl query` imports beyond interpreter start-up (top level, in order): "
        f"{', '.join(f'`{mod}`' for mod in query_mods)}.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
