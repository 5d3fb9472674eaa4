"""The wire between the grader and a sandboxed child: length-prefixed JSON headers
followed by raw `.npy` blobs. Never pickle: the parent parses with `json` and
`np.load(allow_pickle=False)`, so nothing the child sends can execute in the grader.

This module is imported on both sides of the trust boundary; it must stay free of
anything the student must not see (references, expected values)."""
from __future__ import annotations

import io
import json
from builtins import abs, all  # bound now: a submission that replaces builtins.* later cannot reach these
import math
import socket
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_HEADER = 16 << 20  # a header is metadata; anything bigger is an attack or a bug
MAX_BLOBS = 1 << 30  # arrays the child returns (10,000 x 10 logits is 400 kB)
MAX_REPR = 300


class ProtocolError(Exception):
    """The peer sent something that is not a well-formed message."""


class PeerGone(Exception):
    """The peer closed the channel (the child died, exited or was killed)."""


@dataclass(frozen=True)
class TensorMark:
    """A numpy array the child should materialise as a torch tensor."""

    array: np.ndarray
    requires_grad: bool = False


# -- encoding values -------------------------------------------------------------------


def encode(value: Any, blobs: list[bytes], _depth: int = 0) -> Any:
    """Turn a value into JSON-able data, appending array payloads to `blobs`."""
    if _depth > 50:
        return {"__type__": "too deep"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**62 else {"__int__": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, TensorMark):
        return {"__nd__": _add_blob(np.asarray(value.array), blobs), "tensor": True,
                "requires_grad": value.requires_grad}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [encode(v, blobs, _depth + 1) for v in value.tolist()]
        return {"__nd__": _add_blob(value, blobs)}
    if isinstance(value, np.generic):
        return encode(value.item(), blobs, _depth + 1)
    if isinstance(value, (list, tuple)):
        return [encode(v, blobs, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, blobs, _depth + 1), encode(v, blobs, _depth + 1)]
                             for k, v in list(value.items())[:10_000]]}
    tensor = _as_numpy_if_tensor(value)
    if tensor is not None:
        return {"__nd__": _add_blob(tensor, blobs), "tensor": True}
    return {"__type__": type(value).__name__, "repr": _safe_repr(value)}


def _as_numpy_if_tensor(value: Any) -> np.ndarray | None:
    mod = type(value).__module__ or ""
    if not mod.startswith("torch") or not hasattr(value, "detach"):
        return None
    t = value.detach().cpu()
    if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
        t = t.float()
    return t.numpy().copy()


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # student objects may have a broken __repr__
        text = f"<unrepresentable: {type(exc).__name__}>"
    return text[:MAX_REPR]


def _add_blob(array: np.ndarray, blobs: list[bytes]) -> int:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    blobs.append(buf.getvalue())
    return len(blobs) - 1


def decode(data: Any, blobs: list[bytes], *, make_tensor=None, _depth: int = 0) -> Any:
    """Inverse of `encode`. `make_tensor(array, requires_grad)` is given in the child only."""
    if _depth > 60:
        raise ProtocolError("nesting too deep")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, blobs, make_tensor=make_tensor, _depth=_depth + 1) for v in data]
    if not isinstance(data, dict):
        raise ProtocolError(f"unexpected {type(data).__name__}")
    if "__nd__" in data:
        array = _load_blob(blobs, data["__nd__"])
        if data.get("tensor") and make_tensor is not None:
            return make_tensor(array, bool(data.get("requires_grad")))
        return array
    if "__dict__" in data:
        return {_hashable(decode(k, blobs, make_tensor=make_tensor, _depth=_depth + 1)):
                decode(v, blobs, make_tensor=make_tensor, _depth=_depth + 1)
                for k, v in data["__dict__"]}
    if "__float__" in data:
        return float(data["__float__"])
    if "__int__" in data:
        return int(data["__int__"])
    if "__type__" in data:
        return Opaque(str(data["__type__"])[:100], str(data.get("repr", ""))[:MAX_REPR])
    raise ProtocolError("unknown value tag")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _load_blob(blobs: list[bytes], index: Any) -> np.ndarray:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise ProtocolError("bad blob index")
    return np.load(io.BytesIO(blobs[index]), allow_pickle=False)


@dataclass(frozen=True)
class Opaque:
    """A student object that has no wire form: only its type name and a short repr."""

    type: str
    repr: str

    def __str__(self) -> str:
        return f"<{self.type}>"


# -- framing -----------------------------------------------------------------------------


def send(sock: socket.socket, header: dict, values: dict | None = None) -> None:
    blobs: list[bytes] = []
    if values is not None:
        header = dict(header, values=encode(values, blobs))
    head = json.dumps(header, allow_nan=False).encode()
    sizes = [len(b) for b in blobs]
    meta = json.dumps(sizes).encode()
    sock.sendall(struct.pack(">II", len(head), len(meta)) + head + meta)
    for blob in blobs:
        sock.sendall(blob)


def recv(sock: socket.socket, *, make_tensor=None) -> tuple[dict, Any]:
    """Read one message: (header, decoded values or None)."""
    head_len, meta_len = struct.unpack(">II", _read_exact(sock, 8))
    if head_len > MAX_HEADER or meta_len > 1 << 20:
        raise ProtocolError("message header too large")
    try:
        header = json.loads(_read_exact(sock, head_len))
        sizes = json.loads(_read_exact(sock, meta_len))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise ProtocolError(f"malformed header: {type(exc).__name__}") from None
    if not isinstance(header, dict) or not isinstance(sizes, list):
        raise ProtocolError("malformed header")
    if not all(isinstance(s, int) and s >= 0 for s in sizes) or sum(sizes) > MAX_BLOBS:
        raise ProtocolError("payload too large")
    blobs = [_read_exact(sock, s) for s in sizes]
    values = None
    if "values" in header:
        try:
            values = decode(header.pop("values"), blobs, make_tensor=make_tensor)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                RecursionError, EOFError) as exc:
            raise ProtocolError(f"malformed payload: {type(exc).__name__}: {str(exc)[:200]}") from None
    return header, values


def _read_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            raise PeerGone("channel closed")
        chunks += chunk
    return bytes(chunks)
