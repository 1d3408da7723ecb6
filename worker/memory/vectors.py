"""Embedding vectors: their on-disk form and an in-memory matrix for similarity search.

A vector is stored as a little-endian float32 BLOB (4 bytes per dimension). ``VectorMatrix``
holds every stored vector of one dimension as one unit-normalised numpy matrix, so a query
is one matrix-vector product plus a partial sort: at 100k × 384 that is ~150 MB of float32
and a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]

_FLOAT32_LE = np.dtype("<f4")


def encode_vector(vector: Sequence[float]) -> bytes:
    """float32 little-endian bytes; values outside float32 range become ±inf."""
    return np.asarray(vector, dtype=_FLOAT32_LE).tobytes()


def decode_vector(blob: bytes) -> list[float]:
    """The floats of ``encode_vector``; ``decode(encode(decode(b))) == decode(b)`` exactly."""
    return [float(x) for x in np.frombuffer(blob, dtype=_FLOAT32_LE)]


def _normalised(matrix: FloatMatrix) -> FloatMatrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # A zero vector stays zero (similarity 0 with everything) instead of becoming NaN.
    norms[norms == 0] = 1.0
    unit: FloatMatrix = (matrix / norms).astype(np.float32, copy=False)
    return unit


@dataclass(frozen=True, slots=True)
class VectorMatrix:
    """The stored vectors of one dimension, unit-normalised, with their memory ids."""

    ids: npt.NDArray[np.int64]
    unit_vectors: FloatMatrix
    dimension: int

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, bytes]], dimension: int) -> VectorMatrix:
        """Build from ``(id, blob)`` rows; blobs of another dimension are skipped."""
        width = dimension * _FLOAT32_LE.itemsize
        kept = [(memory_id, blob) for memory_id, blob in rows if len(blob) == width]
        ids = np.fromiter((memory_id for memory_id, _ in kept), dtype=np.int64, count=len(kept))
        if kept:
            raw = np.frombuffer(b"".join(blob for _, blob in kept), dtype=_FLOAT32_LE)
            matrix = _normalised(raw.reshape(len(kept), dimension).astype(np.float32))
        else:
            matrix = np.zeros((0, dimension), dtype=np.float32)
        return cls(ids=ids, unit_vectors=matrix, dimension=dimension)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def similarities(self, query: Sequence[float]) -> npt.NDArray[np.float32]:
        """Cosine similarity of ``query`` with every row (aligned with ``ids``)."""
        vector = np.asarray(query, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm == 0 or len(self) == 0:
            return np.zeros(len(self), dtype=np.float32)
        result: npt.NDArray[np.float32] = self.unit_vectors @ (vector / norm)
        return result

    def top(self, query: Sequence[float], k: int) -> list[tuple[int, float]]:
        """The ``k`` most similar ``(memory id, cosine)``, best first."""
        sims = self.similarities(query)
        if k <= 0 or sims.shape[0] == 0:
            return []
        k = min(k, sims.shape[0])
        best = np.argpartition(-sims, k - 1)[:k]
        best = best[np.argsort(-sims[best], kind="stable")]
        return [(int(self.ids[i]), float(sims[i])) for i in best]

    def cosine_of(self, query: Sequence[float], memory_ids: Iterable[int]) -> dict[int, float]:
        """Cosine similarity for the given ids that have a vector here."""
        wanted = np.fromiter(memory_ids, dtype=np.int64)
        if wanted.size == 0 or len(self) == 0:
            return {}
        mask = np.isin(self.ids, wanted)
        rows = np.nonzero(mask)[0]
        if rows.size == 0:
            return {}
        vector = np.asarray(query, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm == 0:
            return {int(self.ids[i]): 0.0 for i in rows}
        sims = self.unit_vectors[rows] @ (vector / norm)
        return {int(self.ids[i]): float(s) for i, s in zip(rows, sims, strict=True)}
