"""The IDX codec: the binary format of the MNIST files (a big-endian header of dimensions, then uint8 values).

Shared by MNIST itself (pipeline.data.mnist) and QMNIST (pipeline.data.formats).
"""

from __future__ import annotations

import math
import struct

import numpy as np

from pipeline.data import DataError

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IDX_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode an IDX file (uint8 images or labels) from its raw bytes.

    Raises DataError naming `name` if the magic number is wrong (not IDX, values
    other than unsigned bytes, other than 1 or 3 dimensions), the header is short,
    or the payload is truncated or has trailing bytes.
    """
    if len(raw) < 8:
        raise DataError(f"{name}: file is {len(raw)} bytes, too short for an IDX header")
    magic = struct.unpack(">I", raw[:4])[0]
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero or type_code not in IDX_TYPES:
        raise DataError(f"{name}: not an MNIST IDX file (magic number 0x{magic:08x})")
    if type_code != 0x08:
        raise DataError(f"{name}: IDX values of type {IDX_TYPES[type_code]} (code 0x{type_code:02x}); "
                        "MNIST files hold unsigned bytes (0x08)")
    if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
        raise DataError(f"{name}: IDX array of {ndim} dimensions; MNIST files have 1 (labels) or 3 (images)")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{name}: truncated IDX header ({len(raw)} of {header_len} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    expected = header_len + math.prod(shape)  # Python ints: 2^31 x 2^31 x 4 does not wrap round to 0
    if len(raw) < expected:
        raise DataError(f"{name}: truncated, {len(raw)} bytes but the header promises {expected}")
    if len(raw) > expected:
        raise DataError(f"{name}: {len(raw) - expected} unexpected bytes after the data")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def to_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes: the inverse of `parse_idx`."""
    magic = 0x00000800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + np.ascontiguousarray(array, np.uint8).tobytes()

