#!/usr/bin/env python3
"""Draws media/icon.png (128x128): a cartridge whose label is rows of keys and values.

Plain Python (zlib + struct), so that the icon is reproducible without an image library:
    python3 scripts/icon.py media/icon.png
"""
import struct
import sys
import zlib

N = 128
BG, BODY, EDGE, LABEL = (0x1b, 0x2b, 0x45), (0xf2, 0xa9, 0x00), (0xc4, 0x86, 0x00), (0x25, 0x3b, 0x5e)
KEY, VAL = (0x6c, 0xc4, 0xff), (0xb8, 0xf2, 0x9b)


def inside_round(x, y, x0, y0, x1, y1, r):
    if not (x0 <= x < x1 and y0 <= y < y1):
        return False
    cx = min(max(x, x0 + r), x1 - 1 - r)
    cy = min(max(y, y0 + r), y1 - 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(x, y):
    if not inside_round(x, y, 0, 0, N, N, 22):
        return (0, 0, 0, 0)
    c = BG
    # the cartridge: a body with a notch at the top right and contacts at the bottom
    if inside_round(x, y, 24, 18, 104, 112, 8) and not (x >= 88 and y < 34):
        c = BODY
        if 30 <= x < 98 and 102 <= y < 112 and (x - 30) % 8 < 5:
            c = EDGE
        # the label: rows of keys and values (a KV cache)
        if 34 <= x < 94 and 32 <= y < 94:
            c = LABEL
            row, col = (y - 36) // 9, (x - 38) // 9
            if 0 <= row < 6 and 0 <= col < 6 and (y - 36) % 9 < 6 and (x - 38) % 9 < 6:
                c = KEY if col < 3 else VAL
    return c + (255,)


def png(path):
    raw = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(N)) for y in range(N))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    png(sys.argv[1] if len(sys.argv) > 1 else "media/icon.png")
