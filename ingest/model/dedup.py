"""A near-duplicate signature as stored and compared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Signature:
    """A text's MinHash values and how many distinct shingles it had."""

    hashvalues: bytes
    shingles: int

    def values(self) -> np.ndarray:
        return np.frombuffer(self.hashvalues, dtype=np.uint64)
