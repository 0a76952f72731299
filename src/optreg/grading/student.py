"""The grader's handle on one student's sandboxed process, and proxies for the student's functions.

:class:`StudentProcess` starts the worker of :mod:`optreg.grading.worker` (inside the sandbox
command prefix it is given), has it execute the student's code cells, then calls the
student's functions by name. Inputs go out and values come back as plain data
(:mod:`optreg.grading.wire`); every reply is decoded strictly, so what the grader compares is
always a fresh NumPy array, number, string, list, tuple or dict of its own, never an object of
the student's. Functions passed as arguments stay in the grader: the worker calls them back.

Time is bounded three ways: per cell, per call (the worker interrupts itself, and the grader
kills the whole sandbox if it does not answer shortly after), and in total per student. A cell
that hangs or kills the process is skipped and the process restarted without it (noted); a call
that hangs or kills it fails that check, and the next call restarts the process.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optreg.grading import wire

GRACE = 2.0  # seconds the worker has to report its own time limit before it is killed
OUTPUT_LIMIT = 4100  # characters of one cell's output kept (the worker keeps 4000 + a note)
MAX_CALLBACKS = 100_000


def worker_source() -> str:
    here = Path(__file__).parent
    return (here / "wire.py").read_text() + "\n" + (here / "worker.py").read_text()


class StudentFailure(AssertionError):
    """A call of the student's code that did not give a value (error, time limit, crash).

    ``str()`` is the full story (shown for visible tests: the student wrote those calls);
    :attr:`public` names what happened without anything the student's process wrote (an
    exception's text can carry the repr of hidden inputs): shown for hidden tests."""

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public if public is not None else message


def _exception_name(text: str) -> str:
    """The exception class name at the start of the worker's ``"Name: message"`` text, when it
    is one of Python's built-in exceptions: the student's process chooses any other name at run
    time (``type(f"lr{learning_rate}", (Exception,), {})``), so it could spell hidden inputs."""
    name = str(text).split(":", 1)[0].strip()
    known = getattr(builtins, name, None) if name.isidentifier() else None
    builtin = isinstance(known, type) and issubclass(known, BaseException)
    return name if builtin else "an exception"


class _Gone(Exception):
    """The worker stopped answering (died, hung, or broke the protocol)."""


@dataclass
class Call:
    """What the grader learned from one call, besides the returned value."""

    name: str
    params: list[str] = field(default_factory=list)
    shares_memory: bool = False  # the worker says: a returned array shares memory with an input
    output: str = ""
    after: list = field(default_factory=lambda: [[], {}])  # the worker says: args after the call


class StudentProcess:
    """One student's worker (see the module docstring)."""

    def __init__(
        self,
        cells: list[str],
        prefix: list[str] | None = None,
        *,
        cell_timeout: float = 30,
        call_timeout: float = 30,
        budget: float = 600,
        python: str = sys.executable,
        labels: list[int] | None = None,
    ):
        self.cells, self.prefix, self.python = list(cells), list(prefix or []), python
        self.labels = list(labels) if labels is not None else list(range(1, len(cells) + 1))
        self.cell_timeout, self.call_timeout = cell_timeout, call_timeout
        self.deadline = time.monotonic() + budget
        self.proc: subprocess.Popen | None = None
        self.buffer = bytearray()
        self.skipped: dict[int, str] = {}
        self.results: dict[int, tuple[str, str | None]] = {}
        self.notes: list[str] = []
        self.starts = 0

    # -- process and pipe -------------------------------------------------------------------
    def _spawn(self) -> None:
        self.stop()
        self.starts += 1
        self.proc = subprocess.Popen(
            [*self.prefix, self.python, "-I", "-c", worker_source()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            bufsize=0,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.buffer = bytearray()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap and, with it, its PID namespace
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.proc = None

    def _limit(self, seconds: float) -> float:
        return min(time.monotonic() + seconds, self.deadline)

    def _send(self, message: dict, deadline: float) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        data = struct.pack(">Q", len(data)) + data
        fd = self.proc.stdin.fileno()
        while data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise _Gone("did not read its input in time")
            try:
                data = data[os.write(fd, data) :]
            except (BrokenPipeError, OSError):
                raise _Gone("stopped") from None

    def _receive(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while True:
            if len(self.buffer) >= 8:
                (size,) = struct.unpack(">Q", self.buffer[:8])
                if size > wire.MAX_REPLY:  # refused before reading it
                    raise _Gone(f"sent a message of {size} bytes (at most {wire.MAX_REPLY})")
                if len(self.buffer) >= 8 + size:
                    frame = bytes(self.buffer[8 : 8 + size])
                    del self.buffer[: 8 + size]
                    try:
                        return wire.parse_frame(frame, wire.MAX_REPLY)
                    except wire.WireError as exc:
                        raise _Gone(f"sent {exc}") from None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _Gone("time limit")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise _Gone("died")
            self.buffer += chunk

    # -- running the notebook's cells --------------------------------------------------------
    def start(self) -> None:
        """Run the cells (restarting without any cell that hangs or kills the process)."""
        while True:
            if time.monotonic() >= self.deadline:
                raise StudentFailure("the time budget for this submission is spent")
            todo = [i for i in range(len(self.cells)) if i not in self.skipped]
            self._spawn()
            current = None
            try:
                self._send(
                    {
                        "op": "run",
                        "cells": [[i, self.cells[i]] for i in todo],
                        "timeout": self.cell_timeout,
                    },
                    self._limit(30),
                )
                for index in todo:
                    current = index
                    reply = self._receive(self._limit(self.cell_timeout + GRACE))
                    if reply.get("op") != "cell" or reply.get("index") != index:
                        raise _Gone("broke the protocol")
                    output, error = reply.get("output"), reply.get("error")
                    self.results[index] = (  # the worker caps these; a lying one is capped here
                        output[:OUTPUT_LIMIT] if type(output) is str else "",
                        error[:1000] if type(error) is str else None if error is None else "?",
                    )
                    note = (
                        f"cell {self.labels[index]} ran past the time limit: stopped, the "
                        "next cells were run"
                    )
                    if (
                        type(error) is str
                        and error.startswith("TimeLimit")
                        and (note not in self.notes)
                    ):
                        self.notes.append(note)
                return
            except _Gone as gone:
                self.stop()
                why = {
                    "time limit": "ran past the time limit",
                    "died": "stopped the student's process (a crash, exit() or the memory limit)",
                }.get(str(gone), f"stopped the student's process ({gone})")
                if current is None:
                    raise StudentFailure(
                        f"the student's process could not start ({gone})"
                    ) from None
                self.skipped[current] = why
                self.notes.append(
                    f"cell {self.labels[current]} {why}: skipped, the rest was run without it"
                )

    # -- calling the student's functions -----------------------------------------------------
    def call(self, name: str, args: tuple, kwargs: dict) -> tuple[object, list, Call]:
        """(returned value, [args, kwargs] as the worker saw them after the call, Call)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        callbacks: dict = {}
        try:
            request = {
                "op": "call",
                "name": name,
                "args": wire.encode(list(args), callbacks),
                "kwargs": wire.encode(kwargs, callbacks),
                "timeout": self.call_timeout,
            }
        except wire.WireError as exc:
            raise TypeError(f"hidden test passes an unsupported value: {exc}") from None
        deadline = self._limit(self.call_timeout + GRACE)
        served = 0
        try:
            self._send(request, deadline)
            while True:
                reply = self._receive(deadline)
                if reply.get("op") != "callback":
                    break
                served += 1
                if served > MAX_CALLBACKS:
                    raise _Gone("called back too often")
                self._send(self._serve(callbacks, reply), deadline)
        except _Gone as gone:
            self.stop()
            if str(gone) == "time limit":
                raise StudentFailure(
                    f"{name} did not return within {self.call_timeout:g} s"
                ) from None
            why = "a crash, exit() or the memory limit" if str(gone) == "died" else gone
            raise StudentFailure(
                f"{name} stopped the student's process ({why})",
                f"{name} stopped the student's process",
            ) from None
        return self._result(name, reply)

    @staticmethod
    def _serve(callbacks: dict, request: dict) -> dict:
        function = callbacks.get(request.get("id")) if type(request.get("id")) is int else None
        if function is None:
            return {"op": "raise", "message": "no such function"}
        try:
            args = wire.decode(request.get("args"))
            kwargs = wire.decode(request.get("kwargs"))
            if type(args) is not list or type(kwargs) is not dict:
                raise wire.WireError("malformed call")
            return {"op": "return", "value": wire.encode(function(*args, **kwargs))}
        except Exception as exc:  # reported to the student's code as its callee's error
            return {"op": "raise", "message": f"{type(exc).__name__}: {exc}"[:500]}

    @staticmethod
    def _result(name: str, reply: dict) -> tuple[object, list, Call]:
        if reply.get("op") != "result":
            raise StudentFailure(f"{name}: the student's process broke the protocol")
        if "raised" in reply:
            raise StudentFailure(
                f"{name} raised {str(reply['raised'])[:500]}",
                f"{name} raised {_exception_name(reply['raised'])}",
            )
        if "bad_value" in reply:
            raise StudentFailure(
                f"{name} returned {str(reply['bad_value'])[:500]}",
                f"{name} returned a value that is not plain data",
            )
        try:
            value = wire.decode(reply.get("value"))
            after = wire.decode(reply.get("after"), callback=lambda key: None)
        except wire.WireError as exc:
            raise StudentFailure(
                f"{name} returned {exc}", f"{name} returned a value that is not plain data"
            ) from None
        params = reply.get("params")
        params = (
            [p for p in params if type(p) is str and p.isidentifier() and len(p) <= 40]
            if type(params) is list
            else []
        )
        output = reply.get("output") if type(reply.get("output")) is str else ""
        if type(after) is not list or len(after) != 2:
            after = [[], {}]
        call = Call(name, params, reply.get("shares") is True, output[:4000], after)
        return value, after, call

    def close(self) -> None:
        self.stop()


def advance_generators(original, new) -> None:
    """Give a ``Generator`` the grader passed the state the student's code left it in (drawing
    from it is its purpose). Nothing else the worker reports is ever written into the grader's
    arguments: they stay the pristine inputs the references are computed from."""
    if isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
        original.bit_generator.state = new.bit_generator.state


class Function:
    """A student's function, called in the student's process: ``student.adam_step(...)``."""

    def __init__(self, process: StudentProcess, name: str, student: Student):
        self.process, self.name, self.student = process, name, student

    def __call__(self, *args, **kwargs):
        value, (after_args, after_kwargs), call = self.process.call(self.name, args, kwargs)
        for original, new in zip(
            args, after_args if type(after_args) is list else [], strict=False
        ):
            advance_generators(original, new)
        for key, new in after_kwargs.items() if type(after_kwargs) is dict else []:
            if key in kwargs:
                advance_generators(kwargs[key], new)
        self.student.last = call
        return value

    def __repr__(self) -> str:
        return f"<the student's {self.name}>"


class Student:
    """The student's functions by name: ``student.sgd_step(theta, grad, 0.1)``; ``student.last``
    describes the latest call (:class:`Call`)."""

    def __init__(self, process: StudentProcess):
        self._process = process
        self.last = Call("")

    def __getattr__(self, name: str) -> Function:
        if name.startswith("_"):
            raise AttributeError(name)
        return Function(self._process, name, self)
