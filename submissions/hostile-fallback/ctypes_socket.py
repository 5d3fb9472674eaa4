"""Open a TCP socket with libc (the audit hook only sees socket.socket) and connect to a
loopback listener. Fallback result: socket() fails with EPERM (seccomp), no connection."""
import ctypes
import os
import socket
import struct

PORT = 0  # the test's listener
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
outcome = {"socket_errno": ctypes.get_errno() if fd < 0 else 0, "connected": False}
if fd >= 0:
    addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", PORT) + socket.inet_aton("127.0.0.1") + bytes(8)
    outcome["connected"] = libc.connect(fd, addr, len(addr)) == 0
