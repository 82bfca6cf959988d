"""The IDX codec: the binary format of the MNIST files (a big-endian header of dimensions, then uint8 values).

Shared by MNIST itself (pipeline.data.mnist) and QMNIST (pipeline.data.formats).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from pipeline.data import DataError

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode an IDX file (uint8 images or labels) from its raw bytes.

    Raises DataError naming `name` if the magic number is wrong, the header is
    short, or the payload is truncated or has trailing bytes.
    """
    if len(raw) < 8:
        raise DataError(f"{name}: file is {len(raw)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
        raise DataError(f"{name}: not an MNIST IDX file (magic number 0x{magic:08x})")
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} of {header_len} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected = header_len + int(np.prod(shape))
    if len(raw) < expected:
        raise DataError(f"{name}: truncated, {len(raw)} bytes but the header promises {expected}")
    if len(raw) > expected:
        raise DataError(f"{name}: {len(raw) - expected} unexpected bytes after the data")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def to_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes: the inverse of `parse_idx`."""
    magic = 0x00000800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + np.ascontiguousarray(array, np.uint8).tobytes()


def read_maybe_gzip(path: Path) -> bytes:
    """The bytes of `path`, gunzipped if they start with the gzip magic number."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"{path}: broken gzip data ({err})") from None
    return raw
