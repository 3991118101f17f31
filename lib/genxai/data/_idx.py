"""Reader and writer for the IDX format of (Fashion-)MNIST (LeCun et al.).

Hand-written because it is 30 lines and the libraries that read it (torchvision,
python-mnist) either cannot be installed beside our torch or download on import.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    path = Path(path)
    with _open(path) as fh:
        header = fh.read(4)
        if len(header) != 4 or header[0] != 0 or header[1] != 0 or header[2] not in _DTYPES:
            raise ValueError(f"{path} is not an IDX file (bad magic number {header!r})")
        ndim = header[3]
        shape = struct.unpack(f">{ndim}I", fh.read(4 * ndim))
        data = np.frombuffer(fh.read(), dtype=_DTYPES[header[2]])
    expected = int(np.prod(shape))
    if data.size != expected:
        raise ValueError(f"{path} is truncated: header says {shape} ({expected} values), found {data.size}")
    return data.reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as IDX (gzip-compressed when the name ends in .gz)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path


def find_idx(folder: Path, stem: str) -> Path | None:
    """``train-images-idx3-ubyte`` or its ``.gz``, also with torchvision's ``-`` vs ``.`` naming."""
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        candidate = folder / name
        if candidate.exists():
            return candidate
    return None
