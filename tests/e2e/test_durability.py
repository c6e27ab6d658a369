"""The service database survives kill -9 at any moment: no committed change is lost."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from tests.conftest import Daemon

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from svcctl.mgr import Manager
    from svcctl.mgr.portable import PortableBackend
    m = Manager.connect(backend=PortableBackend.connect(home=Path(sys.argv[1])))
    i = 0
    while True:
        svc = m.create_service(f"dur{i}", f"/bin/true {i}", display_name=f"Durable {i}")
        svc.set_description(f"description {i}")
        svc.close()
        print(i, flush=True)  # acknowledged: both changes were committed
        i += 1
    """
)


def test_kill_9_loses_no_committed_change(tmp_path):
    d = Daemon(tmp_path / "home")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(d.home)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    acked: list[int] = []
    assert writer.stdout is not None
    deadline = time.monotonic() + 60
    while len(acked) < 150:  # read every line as it comes: a full pipe would stall the writer
        assert time.monotonic() < deadline, "150 commits"
        acked.append(int(writer.stdout.readline()))
    d.proc.send_signal(signal.SIGKILL)  # mid-stream: the writer is still creating
    d.proc.wait()
    rest, _ = writer.communicate(timeout=30)  # drains its output while it notices the daemon is gone
    acked += [int(line) for line in rest.split()]

    with sqlite3.connect(d.home / "services.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    d2 = Daemon(d.home)
    try:
        with d2.connect() as m:
            for i in acked:
                with m.open_service(f"dur{i}") as svc:
                    cfg = svc.config()
                    assert (cfg.binary_path, cfg.display_name) == (f"/bin/true {i}", f"Durable {i}")
                    assert svc.description() == f"description {i}"
    finally:
        assert d2.stop() == 0
