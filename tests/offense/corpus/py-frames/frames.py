"""Telemetry frames: a batch of readings packed into one binary message for the collector.

A message is a header (magic, record count), then each reading as a fixed record (sensor id,
value, name length) followed by the sensor's name in UTF-8.
"""

import struct

HEADER = struct.Struct("<4sI")
RECORD = struct.Struct("<IdH")
MAGIC = b"TLM1"


def encode(readings):
    """The message for `readings`, a list of (sensor id, value, name)."""
    body = b""
    for sensor, value, name in readings:
        raw = name.encode()
        body += RECORD.pack(sensor, value, len(raw))
        body += raw
    return HEADER.pack(MAGIC, len(readings)) + body


def decode(message):
    """The readings of a message made by `encode`."""
    magic, count = HEADER.unpack_from(message, 0)
    if magic != MAGIC:
        raise ValueError(f"not a telemetry frame: {magic!r}")
    at = HEADER.size
    readings = []
    for _ in range(count):
        sensor, value, size = RECORD.unpack_from(message, at)
        at += RECORD.size
        readings.append((sensor, value, message[at:at + size].decode()))
        at += size
    return readings


def readings(n, seed):
    """`n` readings of made-up sensors, the same for the same seed."""
    out = []
    state = seed
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append((i, (state >> 11) / 2**53 * 100.0, f"rack{state % 97}/sensor-{i}"))
    return out
