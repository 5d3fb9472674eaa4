"""The wire never executes what the child sends."""
from __future__ import annotations

import json
import socket
import struct

import numpy as np
import pytest

from grader import protocol


def pair():
    return socket.socketpair()


def test_roundtrip_of_plain_values_and_arrays():
    a, b = pair()
    values = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "s": "text", "n": None,
              "nested": [1, 2.5, {"k": np.int64(3)}], "inf": float("inf"), 7: "int key"}
    protocol.send(a, {"op": "t"}, values)
    header, out = protocol.recv(b)
    assert header == {"op": "t"}
    assert out["x"].dtype == np.float32 and out["x"].tolist() == values["x"].tolist()
    assert out["nested"][2]["k"] == 3 and out["inf"] == float("inf") and out[7] == "int key"


def test_pickled_arrays_are_refused():
    a, b = pair()
    import io
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    head = json.dumps({"values": {"__nd__": 0}}).encode()
    meta = json.dumps([len(buf.getvalue())]).encode()
    a.sendall(struct.pack(">II", len(head), len(meta)) + head + meta + buf.getvalue())
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b)


@pytest.mark.parametrize("raw", [
    struct.pack(">II", 1 << 30, 2),                      # absurd header size
    struct.pack(">II", 5, 2) + b"nope!" + b"[]",         # not JSON
    struct.pack(">II", 2, 4) + b"{}" + b"[-1]",          # negative blob size
    struct.pack(">II", 2, 2) + b"[]" + b"[]",            # a header that is not an object
])
def test_malformed_messages_are_protocol_errors(raw):
    a, b = pair()
    a.sendall(raw)
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b)


def test_unknown_objects_arrive_as_opaque_descriptions():
    class Weird:
        def __repr__(self):
            return "<weird " + "x" * 1000 + ">"

    a, b = pair()
    protocol.send(a, {}, {"w": Weird()})
    _, out = protocol.recv(b)
    assert isinstance(out["w"], protocol.Opaque) and out["w"].type == "Weird" and len(out["w"].repr) <= 300


def test_closed_peer_is_peer_gone():
    a, b = pair()
    a.close()
    with pytest.raises(protocol.PeerGone):
        protocol.recv(b)


def _frame(header: bytes, meta: bytes = b"[]", blobs: bytes = b"") -> bytes:
    return struct.pack(">II", len(header), len(meta)) + header + meta + blobs


@pytest.mark.parametrize("header", [
    b"[" * 100_000 + b"]" * 100_000,                               # nested past the parser's recursion
    json.dumps({"values": {"__dict__": 5}}).encode(),              # not a list of pairs
    json.dumps({"values": {"__dict__": [[{"__dict__": []}, 1]]}}).encode(),  # unhashable key
    json.dumps({"values": {"__float__": "nope"}}).encode(),
    json.dumps({"values": {"__int__": "9" * 10_000}}).encode(),
    json.dumps({"values": {"__nd__": 0}}).encode(),                # a blob that is not there
    json.dumps({"values": {"mystery": 1}}).encode(),               # unknown tag
    json.dumps({"values": eval("[" * 70 + "1" + "]" * 70)}).encode(),  # past decode's depth limit
])
def test_every_malformed_frame_is_a_protocol_error_never_a_crash(header):
    a, b = pair()
    a.sendall(_frame(header))
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b)


def test_a_blob_that_is_not_an_npy_array_is_a_protocol_error():
    a, b = pair()
    a.sendall(_frame(json.dumps({"values": {"__nd__": 0}}).encode(), b"[5]", b"junk!"))
    with pytest.raises(protocol.ProtocolError):
        protocol.recv(b)
