#!/usr/bin/env python3
"""Writes kaya's golden log files (tests/golden/*.wal).

Run only on purpose, after a deliberate format change:

    python3 tests/golden/make_golden.py

It rewrites every .wal file next to this script; review the diff before committing.
The files are the reference for the record format v1 (docs/format.md): the C++ codec
must reproduce them byte for byte. This script shares no code with kaya on purpose
(stdlib only, its own CRC32C), so that a bug in the C++ codec cannot also be in the
files it is checked against.
"""

import os
import struct

MAGIC = 0x4B415941
VERSION = 1
HEADER_LEN = 40
PUT, DELETE, NOOP, BYTES = 1, 2, 3, 4
# magic, version, header_len, flags, type, lsn, sequence, payload_len, header CRC,
# payload CRC; little-endian, no padding.
HEADER = struct.Struct("<IHHHHQQIII")
assert HEADER.size == HEADER_LEN
HEADER_CRC_OFFSET = 32


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def put_payload(key, value):
    return struct.pack("<II", len(key), len(value)) + key + value


def delete_payload(key):
    return struct.pack("<I", len(key)) + key


def record(rtype, lsn, payload, version=VERSION):
    """One record; the header CRC covers the header with its own field zeroed."""
    header = HEADER.pack(MAGIC, version, HEADER_LEN, 0, rtype, lsn, lsn, len(payload), 0,
                         crc32c(payload))
    header_crc = struct.pack("<I", crc32c(header))
    header = header[:HEADER_CRC_OFFSET] + header_crc + header[HEADER_CRC_OFFSET + 4:]
    return header + payload


def main():
    put = record(PUT, 1, put_payload(b"user:1", b"Ada"))
    delete = record(DELETE, 2, delete_payload(b"user:2"))
    noop = record(NOOP, 3, b"")
    assert len(put) == 57  # the example in SPEC.md
    valid = put + delete + noop

    # "KAYA" in big-endian byte order: the magic a wrong-endian writer would produce.
    bad_magic = b"KAYA" + valid[4:]
    # Version 9 with a correct header CRC, so the version check is what fails.
    bad_version = record(PUT, 1, put_payload(b"user:1", b"Ada"), version=9) + delete + noop
    # The last payload byte in the file is the Delete's last key byte (the Noop after it
    # has no payload); flipping it leaves the Delete's headers intact.
    last = len(put) + len(delete) - 1
    bad_payload_crc = valid[:last] + bytes([valid[last] ^ 0xFF]) + valid[last + 1:]
    # A write torn inside the Delete: its header plus 4 of its 10 payload bytes.
    torn = put + delete[:HEADER_LEN + 4]
    data = bytes([0x00, 0x01, 0x02, 0xFF]) + b"kaya"
    bytes_wal = record(BYTES, 1, data)

    out_dir = os.path.dirname(os.path.abspath(__file__))
    files = {
        "valid.wal": valid,
        "bad_magic.wal": bad_magic,
        "bad_version.wal": bad_version,
        "bad_payload_crc.wal": bad_payload_crc,
        "torn.wal": torn,
        "bytes.wal": bytes_wal,
    }
    for name, content in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(content)
        print(f"{name}: {len(content)} bytes")


if __name__ == "__main__":
    main()
