"""Near-duplicate detection, pure part: shingles, MinHash signatures, LSH bands, the rule.

A wire report republished with a new headline, other boilerplate, a few sentences edited
or its second half cut is one piece of reporting. The rule, applied to the body text only
(headlines are rewritten freely, so they are left out):

* Texts are folded (case, accents, ё/е; Latin and Cyrillic alike) and cut into
  overlapping word 4-grams ("shingles"). Four words are long enough that two different
  reports of the same event rarely share many, short enough that editing one sentence in
  ten changes only a few percent of them.
* A text with fewer than ``MIN_SHINGLES`` distinct shingles (a two-line brief, an empty
  page) gets no signature and is never merged: there is too little text to tell a copy
  from two briefs that say the same thing.
* A pair is a near-duplicate when the estimated Jaccard similarity is at least
  ``JACCARD_THRESHOLD`` (0.5: a copy with 10-20 % of sentences edited or dropped keeps
  roughly 0.6-0.8 of its shingles; two reports sharing a long quote stay far below),
  or when the smaller text is at least ``CONTAINMENT_THRESHOLD`` (0.8) contained in the
  larger (a copy cut to its first half has Jaccard 0.5 at best but containment near 1).
  Containment only counts when the smaller text has at least ``MIN_CONTAINED_SHINGLES``
  shingles, so a long quote alone never makes an article a copy of the one it quotes.
* Candidates come from LSH banding: 42 bands of 3 rows over 126 permutations. A pair
  with Jaccard 0.5 shares a band with probability 0.996, at 0.2 with 0.29, at 0.1 with
  0.04; every candidate is then confirmed against the rule above.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from ingest.model.dedup import Signature
from ingest.model.query import word_tokens

SHINGLE_WORDS = 4
NUM_PERM = 126
BANDS = 42
ROWS = NUM_PERM // BANDS
SEED = 20250911  # fixed: signatures stored today must compare with those computed later
SCHEME = "affine32"  # datasketch's hashing scheme, pinned for the same reason
MIN_SHINGLES = 40
MIN_CONTAINED_SHINGLES = 120
JACCARD_THRESHOLD = 0.5
CONTAINMENT_THRESHOLD = 0.8


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float  # of the smaller text in the larger

    @property
    def is_duplicate(self) -> bool:
        return self.jaccard >= JACCARD_THRESHOLD or self.containment >= CONTAINMENT_THRESHOLD


def text_shingles(text: str) -> set[bytes]:
    """Distinct word 4-grams of the folded text."""
    words = word_tokens(text)
    if len(words) < SHINGLE_WORDS:
        return set()
    if any("'" in word for word in words):
        words = [w.replace("'", "") for w in words]
    encoded = [w.encode() for w in words]  # once per word, not once per shingle
    return {
        b" ".join(encoded[i : i + SHINGLE_WORDS]) for i in range(len(encoded) - SHINGLE_WORDS + 1)
    }


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # Building permutations is most of a small MinHash's cost; they depend only on SEED.
    from datasketch import MinHash  # imported on first use: it takes a second to load

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations  # type: ignore[no-any-return]


def make_signature(text: str) -> Signature | None:
    """MinHash of the text's shingles; None when the text is too short to judge."""
    shingles = text_shingles(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    from datasketch import MinHash

    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        permutations=_permutations(),
        scheme=SCHEME,
        hashfunc=zlib.crc32,  # a C builtin: hashing the shingles is most of the cost
    )
    minhash.update_batch(list(shingles))
    values = np.asarray(minhash.hashvalues, dtype=np.uint64)
    return Signature(values.tobytes(), len(shingles))


_BAND_BYTES = ROWS * 8
_BAND_HASH = hashlib.blake2b(digest_size=8, person=b"fw-lsh")  # copied: cheaper than a new one
_BAND_HASHES = struct.Struct(f"<{BANDS}q")


def band_hashes(signature: Signature) -> list[int]:
    """One signed 64-bit hash per LSH band (fits BIGINT on SQLite and PostgreSQL)."""
    raw = signature.hashvalues
    digests = []
    for start in range(0, BANDS * _BAND_BYTES, _BAND_BYTES):
        band = _BAND_HASH.copy()
        band.update(raw[start : start + _BAND_BYTES])
        digests.append(band.digest())
    return list(_BAND_HASHES.unpack(b"".join(digests)))


def compare(a: Signature, b: Signature) -> Similarity:
    """Estimated Jaccard, and containment of the smaller text derived from it."""
    jaccard = float(np.mean(a.values() == b.values()))
    smaller = min(a.shingles, b.shingles)
    if smaller < MIN_CONTAINED_SHINGLES:
        return Similarity(jaccard, 0.0)
    # |A ∩ B| = J / (1 + J) * (|A| + |B|), from J = |A ∩ B| / |A ∪ B|.
    intersection = jaccard / (1 + jaccard) * (a.shingles + b.shingles)
    return Similarity(jaccard, min(1.0, intersection / smaller))
