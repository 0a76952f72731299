"""The student's process: runs inside the sandbox, executes the notebook's code, serves calls.

Started by :class:`optreg.grading.student.StudentProcess` as ``python -I -c SOURCE`` where
SOURCE is :mod:`optreg.grading.wire` followed by this file (optreg itself is not visible in the
sandbox). It talks to the grader over its stdin/stdout pipes with framed messages; the file
descriptors 0, 1, 2 are then pointed at ``/dev/null`` so that the student's prints cannot reach
the pipe by accident, and Python-level output is captured per cell (capped) instead.

Requests (grader -> worker) and answers:

* ``{"op": "run", "cells": [[index, source], ...], "timeout": s}`` -> one
  ``{"op": "cell", "index", "output", "error"}`` per cell, in order;
* ``{"op": "call", "name", "args", "kwargs", "timeout"}`` -> ``{"op": "result", "value",
  "after", "shares", "params", "output"}``, or ``{"op": "result", "raised": text}``, or
  ``{"op": "result", "bad_value": text}``; while the call runs, the worker may ask
  ``{"op": "callback", "id", "args", "kwargs"}`` and gets ``{"op": "return", "value"}`` or
  ``{"op": "raise", "message"}``.

Everything here runs with the student's code in the same process: it is a convenience for an
honest submission, not a guard. The grader trusts none of it (see ``autograder/README.md``).
"""

try:  # outside the sandbox (linters, direct imports); inside, wire's source comes first
    from optreg.grading.wire import WireError, decode, encode, recv, send
except ImportError:
    pass

import builtins
import inspect
import io
import os
import signal
import sys

OUTPUT_LIMIT = 4000


class TimeLimit(BaseException):
    """Raised in the student's code when a cell or a call runs past its time limit."""


class Capture(io.TextIOBase):
    """A text stream keeping the first OUTPUT_LIMIT characters written to it."""

    def __init__(self) -> None:
        self.parts, self.size, self.dropped = [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = OUTPUT_LIMIT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        note = f"\n[{self.dropped} more characters not kept]\n" if self.dropped else ""
        return "".join(self.parts) + note


def _on_alarm(signum, frame):
    raise TimeLimit


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeLimit):
        return "TimeLimit: ran past the time limit"
    return f"{type(exc).__name__}: {exc}"[:1000]


def _arrays(value, found, depth=0):
    import numpy as np

    if depth > 32:
        return found
    if isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            _arrays(item, found, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _arrays(item, found, depth + 1)
    return found


def _shares(value, inputs) -> bool:
    import numpy as np

    given = _arrays(inputs, [])
    return any(np.may_share_memory(out, arg) for out in _arrays(value, []) for arg in given)


def _strip_magics(source: str) -> str:
    """IPython's ``%magic`` and ``!shell`` lines mean nothing here: comment them out."""
    return "\n".join(
        "# " + line if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    )


class Worker:
    def __init__(self) -> None:
        self.inp = os.fdopen(os.dup(0), "rb")
        self.out = os.fdopen(os.dup(1), "wb")
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        sys.stdin = open(os.devnull)  # noqa: SIM115
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        signal.signal(signal.SIGALRM, _on_alarm)

    def _timed(self, seconds, fn, *args, **kwargs):
        capture = Capture()
        sys.stdout = sys.stderr = capture
        signal.setitimer(signal.ITIMER_REAL, float(seconds))
        try:
            return fn(*args, **kwargs), None, capture
        except BaseException as exc:  # the student's error, reported as text
            return None, exc, capture
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__

    def run(self, message) -> None:
        for index, source in message["cells"]:
            try:
                code = compile(_strip_magics(source), f"<cell {index}>", "exec")
            except (SyntaxError, ValueError) as exc:
                send(
                    self.out, {"op": "cell", "index": index, "output": "", "error": _describe(exc)}
                )
                continue
            _, error, capture = self._timed(message["timeout"], exec, code, self.namespace)
            send(
                self.out,
                {
                    "op": "cell",
                    "index": index,
                    "output": capture.text(),
                    "error": None if error is None else _describe(error),
                },
            )

    def _callback(self, key):
        def callback(*args, **kwargs):
            try:
                request = {
                    "op": "callback",
                    "id": key,
                    "args": encode(list(args)),
                    "kwargs": encode(kwargs),
                }
            except WireError as exc:
                raise TypeError(f"cannot pass this to the grader's function: {exc}") from None
            send(self.out, request)
            reply = recv(self.inp)
            if reply is None:
                os._exit(0)
            if reply.get("op") == "raise":
                raise RuntimeError(str(reply.get("message")))
            return decode(reply.get("value"))

        return callback

    def call(self, message) -> None:
        name = message["name"]
        function = self.namespace.get(name)
        if not callable(function):
            send(self.out, {"op": "result", "raised": f"NameError: {name} is not defined"})
            return
        args = decode(message["args"], self._callback)
        kwargs = decode(message["kwargs"], self._callback)
        try:
            params = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            params = []
        value, error, capture = self._timed(message["timeout"], function, *args, **kwargs)
        if error is not None:
            send(self.out, {"op": "result", "raised": _describe(error)})
            return
        try:
            reply = {
                "op": "result",
                "value": encode(value),
                "after": encode([args, kwargs], {}),
                "shares": _shares(value, [args, kwargs]),
                "params": params,
                "output": capture.text(),
            }
        except WireError as exc:
            reply = {"op": "result", "bad_value": str(exc)}
        send(self.out, reply)

    def serve(self) -> None:
        while True:
            message = recv(self.inp)
            if message is None or message.get("op") == "exit":
                return
            getattr(self, message["op"])(message)


if __name__ == "__main__":
    Worker().serve()
