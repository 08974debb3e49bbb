"""The sentence vectors of a generation, read row by row from their .npy file.

A question reads a few hundred rows of a matrix that grows with the corpus (614 MB at 100,000 chunks). Loading it
whole costs that much memory in every reader; memory-mapping it costs nearly as much over a long run, because the
kernel maps the 64 KiB around every row read ("fault-around") and keeps them. Reading the rows asked for with
`os.pread` keeps a reader's memory flat.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np


class RowFile:
    """A read-only 2-D float32 .npy file whose rows are read on demand: `rows[i]`, `rows[[i, j]]`, `rows[array]`."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
            self._offset = fh.tell()
        if fortran or len(shape) != 2 or dtype != np.float32:
            raise ValueError(f"{path.name} is not a C-ordered float32 matrix")
        expected = self._offset + shape[0] * shape[1] * 4
        if os.path.getsize(path) != expected:
            raise ValueError(f"{path.name} holds {os.path.getsize(path)} bytes, not {expected}")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(np.float32)
        self._row_bytes = self.shape[1] * 4
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def _row(self, i: int) -> np.ndarray:
        if not -self.shape[0] <= i < self.shape[0]:
            raise IndexError(i)
        i %= self.shape[0]
        data = os.pread(self._fd, self._row_bytes, self._offset + i * self._row_bytes)
        return np.frombuffer(data, dtype=np.float32)

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, int | np.integer):
            return self._row(int(index))
        rows = np.asarray(index).reshape(-1)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        for k, i in enumerate(rows):
            out[k] = self._row(int(i))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole matrix (for a fit or a test, not for answering)."""
        whole = self[np.arange(self.shape[0])]
        return whole.astype(dtype) if dtype is not None else whole

    def close(self) -> None:
        """Release the file (also done when the object is collected)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


__all__ = ["RowFile"]
