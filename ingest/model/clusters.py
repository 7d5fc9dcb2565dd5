"""An article's event terms and a cluster as candidates are read back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EventTerms:
    weights: dict[str, float]  # unit length
    surface: dict[str, str]  # term -> a word as it was written, for labels


@dataclass(frozen=True)
class ClusterCandidate:
    id: int
    centroid: Mapping[str, float]


@dataclass(frozen=True)
class ClusterState:
    """A stored cluster as its growth needs it: the centroid and how many members made it."""

    id: int
    centroid: Mapping[str, float]
    article_count: int


@dataclass(frozen=True)
class ClusterGrowth:
    """A cluster after one more member, computed by the clusters stage, for the store."""

    story: str
    title: str  # names the cluster when it is new or the article is its earliest report
    when: datetime
    centroid: Mapping[str, float]
    top_terms: tuple[str, ...]
