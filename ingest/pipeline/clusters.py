"""Event clusters, pure part: which articles report the same event (not copies of each other).

An article is described by its *event terms*: names, places, numbers and key words of its
headline and lead, folded, crudely stemmed (first six letters, which absorbs most Russian,
Belarusian and Polish case endings and English plurals) and transliterated from Cyrillic
to Latin so that «Лукашенко» and "Lukashenko", or «52» in any language, meet. Names and
places are also keyed by their transliteration-aware name key (``ingest.pipeline.names``:
Зянковіч, Зенькович, Zienkovich, Ziankovič are one term). Headline
terms weigh double, numbers and capitalised words (names, places) one and a half.

A new article joins the most similar cluster active within ``WINDOW`` of its time when the
cosine similarity reaches ``JOIN_THRESHOLD``; terms that most candidate clusters share (the
story's own vocabulary: Belarus, prisoners...) are down-weighted by an IDF computed over
those candidates, so what decides is what is particular to the event.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from ingest.model.clusters import ClusterCandidate, ClusterGrowth, ClusterState, EventTerms
from ingest.model.query import fold_text
from ingest.pipeline.names import name_key

WINDOW = timedelta(days=2)
ENTITY = "@"  # key prefix of entity terms (names, places, numbers)
JOIN_THRESHOLD = 0.22
CENTROID_TERMS = 60
LEAD_WORDS = 250
STEM_CHARS = 6

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CAPITALISED = re.compile(r"\b[A-ZА-ЯЁІЎЄЇҐ][\w'’-]+")
_SENTENCE_END = re.compile(r"[.!?\n]+")
# Spelling differences between English and transliterated Cyrillic names:
# Washington/Вашингтон, Lithuania/Литва, Tsikhanouski/Тихановский.
_PHONETIC = (("w", "v"), ("th", "t"), ("ph", "f"), ("kh", "h"), ("ts", "c"), ("y", "i"), ("j", "i"))
ENTITY_CHARS = 5
_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e",
    "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "",
    "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
})  # fmt: skip
# Function words of the covered languages that survive the length filter.
_STOP_WORDS = """
    about after against also among another because been before being between both could
    during each from have having here into itself just more most must other over said says
    same should since some such than that their them then there these they this those
    through under until very were what when where which while will with would your year
    years told last week first news according
    который которые которых которая было были будет этого этом этой также после более
    может могут чтобы когда только через своих свои всех который если между которого
    якія якiя быць было былі будзе таксама пасля каторы калі толькі праз сваіх усіх
    który które było były będzie także przez tylko swoich wszystkich między
"""


_STOP = frozenset(fold_text(word) for word in _STOP_WORDS.split())


def _term(token: str) -> str:
    return token.translate(_TRANSLIT)[:STEM_CHARS]


def _entity(token: str, written: str | None = None, language: str | None = None) -> str:
    """The entity key of a number, or of a name (``written`` as in the text): its
    transliteration-aware key (``ingest.pipeline.names``), so that Зянковіч, Зенькович,
    Zienkovich and Ziankovič are one term."""
    if written is not None:
        key = name_key(written, language)
        if len(key) >= 2:
            return ENTITY + key
    key = token.translate(_TRANSLIT)
    for spelled, spoken in _PHONETIC:
        key = key.replace(spelled, spoken)
    return ENTITY + key[:ENTITY_CHARS]


def _names(text: str) -> dict[str, str]:
    """Capitalised words that do not start a sentence: names and places, mostly; folded,
    with the word as written."""
    found: dict[str, str] = {}
    for sentence in _SENTENCE_END.split(text):
        words = _CAPITALISED.findall(sentence)
        first = _CAPITALISED.match(sentence.strip())
        # a sentence opening with a quote mark or a number: its first word counts too
        for word in words[1:] if first is not None else words[:1] + words[1:]:
            found.setdefault(fold_text(word), word)
    return found


def event_terms(title: str, text: str, language: str | None = None) -> EventTerms:
    """Weighted, unit-length event terms of an article's headline and lead."""
    lead = " ".join(text.split()[:LEAD_WORDS])
    names = _names(f"{title}\n{lead}")
    capitalised = {_term(name) for name in names}
    counts: dict[str, float] = {}
    surface: dict[str, str] = {}
    for weight, part in ((2.0, title), (1.0, lead)):
        for token in _TOKEN.findall(fold_text(part)):
            if token.isdigit():
                if len(token) >= 2:
                    counts[token] = counts.get(token, 0.0) + weight * 1.5
                    surface.setdefault(token, token)
            elif len(token) >= 4 and token not in _STOP:
                counts[_term(token)] = counts.get(_term(token), 0.0) + weight
                surface.setdefault(_term(token), token)
    weights = {
        term: (1 + math.log(n)) * (1.5 if term in capitalised else 1.0)
        for term, n in counts.items()
    }
    top = _unit(_top(weights, CENTROID_TERMS))
    # Names, places and numbers again under an entity key: they are what a Russian and an
    # English report of the same event share, so they are also compared on their own.
    entities: dict[str, float] = {}
    for token in names.keys() | {t for t in counts if t.isdigit()}:
        key = _entity(token, names.get(token), language)
        entities[key] = entities.get(key, 0.0) + weights.get(_term(token), 1.0)
        surface.setdefault(key, token)
    top.update(_unit(_top(entities, CENTROID_TERMS // 2)))
    return EventTerms(top, {t: surface[t] for t in top})


def _top(weights: Mapping[str, float], n: int) -> dict[str, float]:
    return dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def _unit(weights: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}


_UNSEEN_IDF = 1.0 + math.log(2)  # the IDF weight of a term no candidate has


def _idf(candidates: Sequence[ClusterCandidate]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for candidate in candidates:
        df.update(candidate.centroid.keys())
    total = len(candidates) + 1
    # One logarithm per distinct document frequency, not per term: most terms share one.
    weight = {n: math.log((1 + total) / (1 + n)) + 1 for n in set(df.values())}
    return {term: weight[n] for term, n in df.items()}


def cosine(a: Mapping[str, float], b: Mapping[str, float], idf: Mapping[str, float]) -> float:
    """IDF-weighted cosine, taken over all terms and over entities alone; the larger wins."""

    def weighted(v: Mapping[str, float], entities: bool) -> dict[str, float]:
        return _unit({
            t: w * idf.get(t, _UNSEEN_IDF)
            for t, w in v.items()
            if t.startswith(ENTITY) == entities
        })  # fmt: skip

    scores = []
    for entities in (False, True):
        wa, wb = weighted(a, entities), weighted(b, entities)
        scores.append(sum(w * wb.get(t, 0.0) for t, w in wa.items()))
    return max(scores)


def best_cluster(
    terms: Mapping[str, float], candidates: Sequence[ClusterCandidate]
) -> tuple[int | None, float]:
    """The candidate to join (None: start a new cluster) and its similarity."""
    if not terms or not candidates:
        return None, 0.0
    idf = _idf(candidates)
    article = _Weighted(terms, idf)  # the same for every candidate: weighted once
    scored = [(article.cosine(c.centroid), -c.id, c.id) for c in candidates]
    score, _, best = max(scored)
    return (best, score) if score >= JOIN_THRESHOLD else (None, score)


class _Weighted:
    """An article's IDF-weighted unit vectors (all terms, entities alone), for scoring many
    candidates. ``cosine`` returns exactly what :func:`cosine` does, with the same float
    operations in the same order, but touches a candidate's terms only to take the norm
    of a part it shares a term with: terms it does not share added exact zeros."""

    def __init__(self, terms: Mapping[str, float], idf: Mapping[str, float]) -> None:
        self.idf = idf
        self.parts = [
            _unit({t: w * idf.get(t, _UNSEEN_IDF) for t, w in terms.items()
                   if t.startswith(ENTITY) == entities})
            for entities in (False, True)
        ]  # fmt: skip

    def cosine(self, centroid: Mapping[str, float]) -> float:
        idf, scores = self.idf, []
        for entities, part in zip((False, True), self.parts, strict=True):
            shared = [(t, w) for t, w in part.items() if t in centroid]
            if not shared:
                scores.append(0.0)
                continue
            norm = math.sqrt(sum(
                x * x for x in (w * idf.get(t, _UNSEEN_IDF) for t, w in centroid.items()
                                if t.startswith(ENTITY) == entities)
            ))  # fmt: skip
            scores.append(
                sum(w * (centroid[t] * idf.get(t, _UNSEEN_IDF) / norm) for t, w in shared)
                if norm
                else 0.0
            )
        return max(scores)


def merge_centroid(
    centroid: Mapping[str, float], terms: Mapping[str, float], members: int
) -> dict[str, float]:
    """Running mean of the members' term vectors, trimmed to the top terms."""
    merged = {t: w * members for t, w in centroid.items()}
    for t, w in terms.items():
        merged[t] = merged.get(t, 0.0) + w
    return _top({t: w / (members + 1) for t, w in merged.items()}, CENTROID_TERMS)


def top_terms(centroid: Mapping[str, float], n: int = 6) -> list[str]:
    words = [t for t in centroid if not t.startswith(ENTITY)]
    return sorted(words, key=lambda t: (-centroid[t], t))[:n]


def grow_terms(
    state: ClusterState | None, title: str, when: datetime, story: str, terms: EventTerms
) -> ClusterGrowth:
    """The cluster's centroid and labels once an article with ``terms`` joins it (a new
    cluster when ``state`` is None)."""
    centroid = merge_centroid(state.centroid if state else {}, terms.weights,
                              state.article_count if state else 0)  # fmt: skip
    labels = tuple(terms.surface.get(t, t) for t in top_terms(centroid))
    return ClusterGrowth(story, title, when, centroid, labels)
