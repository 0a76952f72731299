"""A grading worker does not outlive the grader (red team, 2026-12-02, F10).

Workers run in a session of their own (``start_new_session``), so a ``kill -9`` of ``optreg
grade`` used to leave the current one grading on and writing into the course directory. Here
the worker's stdin is held open by the test, so only the death of its parent can end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# the grader: starts a worker as the runner does, but on a stdin whose write end the test holds
GRADER = """
import subprocess, sys, time
from pathlib import Path
from optreg.grading.runner import Worker

popen = subprocess.Popen
subprocess.Popen = lambda *args, **kwargs: popen(*args, **{**kwargs, "stdin": int(sys.argv[1])})
print(Worker(Path(sys.argv[2]))._start().pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie not yet reaped by init counts as gone
        return fh.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_worker_dies_with_a_killed_grader(tmp_path):
    read, write = os.pipe()
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER, str(read), str(tmp_path / "worker.log")],
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(read,),
    )
    worker = None
    try:
        worker = int(grader.stdout.readline())
        time.sleep(1)
        assert _alive(worker)  # it waits for tasks while the grader lives
        grader.send_signal(signal.SIGKILL)
        grader.wait(10)
        deadline = time.monotonic() + 30
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker), "the worker kept running after its grader was killed"
    finally:
        os.close(read)
        os.close(write)
        if grader.poll() is None:
            grader.kill()
        if worker is not None and _alive(worker):  # the orphan of a failed run
            os.kill(worker, signal.SIGKILL)
