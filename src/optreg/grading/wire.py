"""What crosses the sandbox boundary: plain data, framed on a pipe.

Both sides use this module (the sandboxed worker gets its source text, it cannot import
optreg). A message is one JSON object, sent as an 8-byte big-endian length then UTF-8 JSON.
Values inside messages are encoded as:

* ``None``, ``bool``, ``int``, ``float`` (NaN and infinities allowed), ``str``: as themselves;
* ``list``: a JSON list; ``tuple``: ``{"t": [...]}``; ``dict``: ``{"d": [[key, value], ...]}``
  (keys: str, int, float, bool or None);
* a NumPy array of a numeric or boolean dtype: ``{"a": [dtype, shape, base64 bytes]}``; NumPy
  scalars become Python numbers;
* a NumPy ``Generator`` (PCG64): ``{"g": its bit generator's state}``;
* a function the grader serves: ``{"c": id}`` (only where the receiver accepts callbacks).

:func:`decode` is strict: anything else (another type, a wrong length, a deep nesting, an
object dtype, a frame over :data:`MAX_FRAME` bytes) raises :class:`WireError`, whose message
says what was wrong. Nothing is ever unpickled or evaluated.
"""

from __future__ import annotations

import base64
import json
import struct

import numpy as np

MAX_FRAME = 64 * 1024 * 1024
MAX_REPLY = 16 * 1024 * 1024  # the most a student's process may send in one message
MAX_CONTAINERS = 200_000  # JSON lists and objects in one message
MAX_DEPTH = 32
MAX_ELEMENTS = 20_000_000
DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    }
)
SCALARS = (type(None), bool, int, float, str)


class WireError(ValueError):
    """A value or a message that is not plain data of the allowed kinds."""


def _type_name(value) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def encode(value, callbacks: dict | None = None, _depth: int = 0):
    """``value`` as JSON-ready plain data (see the module docstring).

    ``callbacks``, if given, maps id -> function: callables are registered there and sent as
    ``{"c": id}``; otherwise a callable is an error."""
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if kind in SCALARS:
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.ndarray):
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        raise WireError(f"a NumPy scalar of dtype {value.dtype} is not a supported value")
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(np.asarray(value))
        if array.dtype.name not in DTYPES:
            raise WireError(
                f"an array of dtype {array.dtype} is not a supported value "
                "(numbers or booleans only)"
            )
        data = base64.b64encode(array.tobytes()).decode("ascii")
        return {"a": [array.dtype.name, list(array.shape), data]}
    if kind is list:
        return [encode(v, callbacks, _depth + 1) for v in value]
    if kind is tuple:
        return {"t": [encode(v, callbacks, _depth + 1) for v in value]}
    if kind is dict:
        items = []
        for key, item in value.items():
            if type(key) not in SCALARS:
                raise WireError(f"a dict key of type {_type_name(key)} is not supported")
            items.append([key, encode(item, callbacks, _depth + 1)])
        return {"d": items}
    if isinstance(value, np.random.Generator):
        if type(value.bit_generator) is not np.random.PCG64:
            raise WireError("only numpy Generators on PCG64 (np.random.default_rng) are supported")
        return {"g": value.bit_generator.state}
    if callbacks is not None and callable(value):
        key = len(callbacks)
        callbacks[key] = value
        return {"c": key}
    raise WireError(
        f"a value of type {_type_name(value)} is not supported (numbers, strings, "
        "NumPy arrays, and lists, tuples and dicts of those)"
    )


def _state(raw) -> dict:
    """A PCG64 state dict checked field by field (it is fed to NumPy)."""
    if type(raw) is not dict or set(raw) != {"bit_generator", "state", "has_uint32", "uinteger"}:
        raise WireError("malformed generator state")
    inner = raw["state"]
    if (
        raw["bit_generator"] != "PCG64"
        or type(inner) is not dict
        or set(inner) != {"state", "inc"}
        or not all(type(inner[k]) is int and 0 <= inner[k] < 2**128 for k in inner)
        or type(raw["has_uint32"]) is not int
        or type(raw["uinteger"]) is not int
        or not 0 <= raw["uinteger"] < 2**32
        or raw["has_uint32"] not in (0, 1)
    ):
        raise WireError("malformed generator state")
    return {
        "bit_generator": "PCG64",
        "state": dict(inner),
        "has_uint32": raw["has_uint32"],
        "uinteger": raw["uinteger"],
    }


def generator(state: dict) -> np.random.Generator:
    bit = np.random.PCG64()
    bit.state = _state(state)
    return np.random.Generator(bit)


def _array(spec) -> np.ndarray:
    if type(spec) is not list or len(spec) != 3:
        raise WireError("malformed array")
    dtype, shape, data = spec
    if type(dtype) is not str or dtype not in DTYPES:
        raise WireError(f"array dtype {str(dtype)[:40]!r} is not allowed")
    if (
        type(shape) is not list
        or len(shape) > MAX_DEPTH
        or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)
    ):
        raise WireError("malformed array shape")
    count = 1
    for n in shape:
        count *= n
    if count > MAX_ELEMENTS or type(data) is not str:
        raise WireError("array too large or malformed")
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise WireError("malformed array data") from None
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise WireError(
            f"array data of {len(raw)} bytes does not fit shape {tuple(shape)} and dtype {dtype}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(obj, callback=None, _depth: int = 0):
    """The value encoded by :func:`encode`; raises :class:`WireError` on anything else.

    ``callback(id)``, if given, turns ``{"c": id}`` into a callable."""
    if _depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(obj)
    if kind in SCALARS:
        return obj
    if kind is list:
        return [decode(v, callback, _depth + 1) for v in obj]
    if kind is not dict or len(obj) != 1:
        raise WireError(f"malformed value of type {kind.__name__}")
    ((tag, body),) = obj.items()
    if tag == "a":
        return _array(body)
    if tag == "t" and type(body) is list:
        return tuple(decode(v, callback, _depth + 1) for v in body)
    if tag == "d" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in SCALARS:
                raise WireError("malformed dict")
            out[pair[0]] = decode(pair[1], callback, _depth + 1)
        return out
    if tag == "g":
        return generator(body)
    if tag == "c" and callback is not None and type(body) is int:
        return callback(body)
    raise WireError(f"unknown value tag {str(tag)[:20]!r}")


def send(stream, message: dict) -> None:
    """Write one framed message (``stream``: a binary file object)."""
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_FRAME:
        raise WireError(f"message of {len(data)} bytes exceeds {MAX_FRAME}")
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _structure(data: bytes) -> tuple[int, int]:
    """(nesting depth, number of lists and objects) of a JSON text, counted outside its
    strings without parsing it (vectorized: a hostile frame costs a few passes over bytes)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        return 0, 0
    quote = raw == 34
    if raw.tobytes().count(b"\\"):  # a quote preceded by an odd run of backslashes is text
        index = np.arange(raw.size, dtype=np.int32)
        last_plain = np.maximum.accumulate(np.where(raw == 92, np.int32(-1), index))
        run_before = np.zeros(raw.size, dtype=np.int32)
        run_before[1:] = index[:-1] - last_plain[:-1]
        del index, last_plain
        quote &= run_before % 2 == 0
        del run_before
    inside = np.cumsum(quote, dtype=np.int32) % 2 == 1
    inside &= ~quote
    opening = ((raw == 91) | (raw == 123)) & ~inside
    step = opening.astype(np.int8) - (((raw == 93) | (raw == 125)) & ~inside).astype(np.int8)
    del inside
    return int(np.cumsum(step, dtype=np.int32).max(initial=0)), int(opening.sum())


def parse_frame(data: bytes, max_size: int = MAX_FRAME) -> dict:
    """A received frame's message: a JSON object, or :class:`WireError` (also, before any
    parsing, for a frame over ``max_size`` bytes, nested deeper than :data:`MAX_DEPTH` + 4
    levels, or holding more than :data:`MAX_CONTAINERS` lists and objects)."""
    if len(data) > max_size:
        raise WireError(f"a message of {len(data)} bytes (at most {max_size})")
    depth, containers = _structure(data)
    if depth > MAX_DEPTH + 4:
        raise WireError(f"a message nested {depth} levels deep (at most {MAX_DEPTH + 4})")
    if containers > MAX_CONTAINERS:
        raise WireError(f"a message of {containers} lists and objects (at most {MAX_CONTAINERS})")
    try:
        message = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WireError("a message that is not valid JSON") from None
    if type(message) is not dict:
        raise WireError("a message that is not a JSON object")
    return message


def recv(stream) -> dict | None:
    """Read one framed message (blocking); None at end of stream."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack(">Q", header)
    if size > MAX_FRAME:
        raise WireError(f"message of {size} bytes exceeds {MAX_FRAME}")
    data = stream.read(size)
    if len(data) < size:
        return None
    return parse_frame(data)
