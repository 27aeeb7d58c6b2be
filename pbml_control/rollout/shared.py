"""A generation's parameter matrix in shared memory, so that chunks to process workers stay small.

Without it every chunk carries its genomes' rows pickled through a pipe: at population 1,024 with
a 256x256 network that is hundreds of MB per generation, copied twice (pickle, then the pipe).
With it the parent writes the matrix once per generation into one memory file, and a chunk
carries only where its rows lie (`SharedRows`: a few dozen bytes); the worker maps the file
copy-on-write and steps its rows in place, so they are not copied in the worker either.

The file is an anonymous memory file (`memfd_create`), not a name in /dev/shm: the kernel frees
it when the parent's descriptor and the last mapping are gone, so it cannot leak there -- not
after a worker crash, Ctrl-C, SIGTERM, nor even SIGKILL of the parent. Workers open it through
`/proc/<parent pid>/fd/<fd>` (same user) and map it read-only; the inode tells them it is still
the same file. It grows when a generation needs more room and is reused otherwise. The parent
rewrites it only between evaluations, when no worker holds a chunk (an abandoned evaluation's
workers are killed first), so a retried chunk reads its own generation: each generation's
number is written in the file's header and checked against the chunk's.

Where `memfd_create` or /proc is missing (not Linux), `ParamSegment.available()` is False and the
pool pickles the rows as before; where a worker may not open the parent's descriptor (a hardened
/proc), it says so (`SharingUnavailable`) and the pool falls back to pickling for good.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from dataclasses import replace

import numpy as np

from pbml_control.rollout.types import Chunk, SharedRows

#: Bytes before the matrix: the generation number (int64), padded to keep rows aligned.
HEADER = 64


class SharingUnavailable(OSError):
    """A worker cannot open the parent's memory file: the pool must pickle the rows instead."""


class StaleParameters(RuntimeError):
    """A chunk named a generation that is no longer in the memory file: a pool bug."""


class ParamSegment:
    """The parent's side: one memory file, rewritten with each generation's matrix."""

    def __init__(self) -> None:
        self._fd = os.memfd_create("pbml-params", os.MFD_CLOEXEC)
        self._inode = os.fstat(self._fd).st_ino
        self._map: mmap.mmap | None = None
        self._size = 0
        self.generation = 0
        self._matrix: np.ndarray | None = None

    @staticmethod
    def available() -> bool:
        """Whether this system has anonymous memory files that workers can open by /proc."""
        return hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd")

    def publish(self, params: np.ndarray) -> None:
        """Write a generation's (N, D) matrix; call only while no worker holds a chunk."""
        matrix = np.ascontiguousarray(params)
        self._reserve(HEADER + matrix.nbytes)
        self.generation += 1
        assert self._map is not None
        self._map[:8] = struct.pack("<q", self.generation)
        if matrix.nbytes:
            self._map[HEADER : HEADER + matrix.nbytes] = memoryview(matrix).cast("B")
        self._matrix = matrix

    def _reserve(self, size: int) -> None:
        if size <= self._size and self._map is not None:
            return
        size = max(size, self._size + self._size // 4)  # grow by at least a quarter
        size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
        if self._map is not None:
            self._map.close()
        os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._size = size

    def rows(self, start: int, stop: int) -> SharedRows:
        """The reference to rows [start, stop) of the published matrix."""
        assert self._matrix is not None, "publish a matrix first"
        row_bytes = self._matrix.strides[0] if self._matrix.ndim else 0
        return SharedRows(
            pid=os.getpid(),
            fd=self._fd,
            inode=self._inode,
            generation=self.generation,
            offset=HEADER + start * row_bytes,
            shape=(stop - start, *self._matrix.shape[1:]),
            dtype=self._matrix.dtype.str,
        )

    def share(self, chunk: Chunk) -> Chunk:
        """The chunk with a reference to its rows: it pickles without them."""
        return replace(chunk, shared=self.rows(chunk.start, chunk.start + len(chunk)))

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._matrix = None


class ParamReader:
    """A worker's side: the parent's memory file, opened on the first chunk that names it."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None
        self._map: mmap.mmap | None = None

    def resolve(self, chunk: Chunk) -> Chunk:
        """The chunk with its rows read from the memory file (unchanged if it carries them)."""
        ref = chunk.shared
        if ref is None:
            return chunk
        return replace(chunk, params=self.rows(ref), shared=None)

    def rows(self, ref: SharedRows) -> np.ndarray:
        dtype = np.dtype(ref.dtype)
        count = int(np.prod(ref.shape))
        end = ref.offset + count * dtype.itemsize
        key = (ref.pid, ref.fd, ref.inode)
        if self._map is None or self._key != key or len(self._map) < end:
            self._open(key)
        assert self._map is not None
        (generation,) = struct.unpack("<q", self._map[:8])
        if generation != ref.generation:
            raise StaleParameters(
                f"the chunk is of generation {ref.generation}, the memory file holds {generation}"
            )
        # A private (copy-on-write) mapping: writable rows without a copy, and a write would stay
        # in this worker. The parent rewrites the file only between evaluations.
        return np.frombuffer(self._map, dtype=dtype, count=count, offset=ref.offset).reshape(
            ref.shape
        )

    def _open(self, key: tuple[int, int, int]) -> None:
        self._map = None  # unmapped once the last rows of the old mapping are gone
        pid, fd, inode = key
        path = f"/proc/{pid}/fd/{fd}"
        try:
            handle = os.open(path, os.O_RDONLY)
        except OSError as err:
            raise SharingUnavailable(f"cannot open the parameter file {path}: {err}") from err
        try:
            if os.fstat(handle).st_ino != inode:
                raise StaleParameters(f"/proc/{pid}/fd/{fd} is no longer the parameter file")
            self._map = mmap.mmap(handle, 0, access=mmap.ACCESS_COPY)
        finally:
            os.close(handle)
        self._key = key

    def close(self) -> None:
        if self._map is not None:
            with contextlib.suppress(BufferError):  # rows still in use: unmapped when they go
                self._map.close()
            self._map = None
        self._key = None
