"""Small images for simulated users' photos (both stand-ins), and reading an image's size.

Telegram turns every photo into JPEG, so the stand-in makes real (if plain) baseline JPEG files:
a solid grey picture of the requested size, whose shade follows a seed so that different photos
have different bytes. PNG is available too. No imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

# Standard luminance DC table (ITU T.81, Annex K.3): code counts per length and symbols.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# The only AC symbol a flat picture needs is end-of-block.
_AC_BITS = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_AC_VALUES = (0x00,)


def make_jpeg(width: int = 320, height: int = 240, seed: int = 0) -> bytes:
    """A baseline greyscale JPEG of one flat shade."""
    _check_size(width, height)
    shade = 64 + (seed * 37) % 128
    dc_codes = _canonical_codes(_DC_BITS, _DC_VALUES)
    eob_code = _canonical_codes(_AC_BITS, _AC_VALUES)[0x00]
    writer = _BitWriter()
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    first_dc = 8 * (shade - 128)
    for index in range(blocks):
        difference = first_dc if index == 0 else 0
        category = abs(difference).bit_length()
        writer.write(*dc_codes[category])
        if category:
            bits = difference if difference > 0 else difference + (1 << category) - 1
            writer.write(bits, category)
        writer.write(*eob_code)
    scan = writer.finish()
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + b"\x01" * 64),
            _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
            _segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES)),
            _segment(0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALUES)),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            scan,
            b"\xff\xd9",
        ]
    )


def make_png(width: int = 320, height: int = 240, seed: int = 0) -> bytes:
    """An RGB PNG of one flat colour."""
    _check_size(width, height)
    colour = bytes(((seed * 53 + 40) % 256, (seed * 97 + 120) % 256, (seed * 29 + 200) % 256))
    row = b"\x00" + colour * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(row * height, 9)),
            _png_chunk(b"IEND", b""),
        ]
    )


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def image_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        is_frame = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)
        if is_frame and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + length
    return None


def _check_size(width: int, height: int) -> None:
    if not (1 <= width <= 10000 and 1 <= height <= 10000):
        raise ValueError("image width and height must be between 1 and 10000")


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def _canonical_codes(bits: Sequence[int], values: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Huffman codes (code, length) by symbol, built as JPEG decoders build them."""
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    symbols = iter(values)
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[next(symbols)] = (code, length)
            code += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self) -> None:
        self._out = bytearray()
        self._accumulator = 0
        self._count = 0

    def write(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self._accumulator = (self._accumulator << 1) | ((value >> shift) & 1)
            self._count += 1
            if self._count == 8:
                self._emit()

    def finish(self) -> bytes:
        while self._count:
            self.write(1, 1)  # pad the last byte with one-bits
        return bytes(self._out)

    def _emit(self) -> None:
        self._out.append(self._accumulator)
        if self._accumulator == 0xFF:
            self._out.append(0x00)  # byte stuffing
        self._accumulator = 0
        self._count = 0
