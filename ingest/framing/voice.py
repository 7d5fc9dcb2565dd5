"""Whose words a frame cue is in: the outlet's (``own``), a source's (``quoted``), or the
outlet's at arm's length (``distanced``), and who that source is as the text names it
(the ``speaker``: "the presidential press service", "State media"; "" when unnamed).

Rules, applied to each cue occurrence in this order:

1. Inside quotation marks (any typography, see ``ingest.framing.sentences.find_quotes``;
   also a quotation cut off or running on into the next paragraph, and one whose opening
   mark is missing): a quotation right after a scare marker is ``distanced``; one of more
   than ``SCARE_QUOTE_WORDS`` words is ``quoted`` when a speaker is in sight (an
   attribution, a verb of saying, or it reads as an utterance), else ``distanced``. A
   shorter one is a proper name and ignored when it is capitalised and not an utterance
   («Белавиа», “Viasna”, but not “Hostages!”; not in German, where nouns are capitalised);
   otherwise it is ``quoted`` when someone speaks it (he called them “bandits”) and
   ``distanced`` when it has no speaker or stands in a reported framing ("“humanism” in
   the official telling"). Known limit: a capitalised scare quote that opens a sentence
   («Вращающаяся дверь» …) reads as a name.
2. After a scare marker (so-called, так называемые, так званыя, якобы, rzekomy,
   angeblich) without quotation marks: ``distanced``.
3. Inside an attribution (``attributions``; direct speech first, else the innermost):
   ``quoted`` for speech — a paragraph of dash speech (— …), a ``Speaker: claim`` or
   ``claim — Speaker`` headline (and a live blog's "09:12 - Viasna: …" paragraph),
   indirect speech after a verb of saying (said, заявил, сказаў, powiedział, sakė,
   sagte), the speech before an attribution at its end ("…, the ministry said", "…, —
   заявил он", "“…,” said one of the freed men": the attribution phrase itself is the
   outlet's narration), a source marker anywhere (according to, по словам, паводле,
   zdaniem, pasak, laut), and grammar that marks reported speech (German Konjunktiv I:
   sei, habe, werde; мол, маўляў). ``distanced`` for a framing the outlet reports as
   someone else's without quoting it: a labelling verb (calls them, presents … as,
   называет, прадстаўляе … як, nazywa, vadina, bezeichnet … als, "what Minsk calls X")
   or a marker of another's version (in the official telling, по официальной версии,
   w oficjalnej narracji, pagal oficialiąją versiją).
4. ``own``: everything else — the outlet's narration and headline.

Speech runs on: a sentence that ends in someone's indirect speech carries it into the
next sentences of its paragraph that have no attribution of their own ("They were
convicted for grave crimes."), until the paragraph ends; Konjunktiv I carries the last
speaker across paragraphs. "He said" takes the speaker named last. A cue in what a verb
of denial rejects ("denies that …") is no use at all (``ingest.framing.detect``).

The word lists are cue patterns (``ingest.framing.codebook`` syntax) per language in
``ingest.framing.resources``; a codebook may extend them in its ``[languages.<code>]`` table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.framing.sentences import Quote
from ingest.framing.speakers import appositive, speaker_after, speaker_before
from ingest.model.frames import Voice


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SCARE_QUOTE_WORDS = 3
_POSTPOSED_CLAUSE_WORDS = 6  # "…, the human rights centre Viasna said"
_POSTPOSED_REST_WORDS = 5  # "… said on Friday in a statement"
_POSTPOSED_TAIL_WORDS = 6  # "…, said the ministry's spokesman"
_CLAUSE = re.compile(r"[,;:—–]")
_WORD = re.compile(r"\w+")
_DASHES = "—–―"
# a contrastive clause ends indirect speech: "they say X, but Y" - Y is narration again
CONTRAST = re.compile(
    r"[,;]\s*(?:but|however|although|though|whereas|yet|но|однако|хотя|а|але|аднак|хоць"
    r"|ale|jednak|chociaż|choć|lecz|проте|однак|хоча|bet|tačiau|aber|doch|jedoch|während)\b"
    r"|;",
    re.IGNORECASE,
)
# words that open the speaker after an inverted verb of saying ("…, said the ministry")
_SPEAKER_START = frozenset(
    _w("the a an he she they он она они ён яна яны він вона вони on ona oni er sie jis ji jie")
)
# words that open a clause of speech after a verb of saying ("says [they] are …")
_CLAUSE_OPENERS = frozenset(
    _w("""
    that they he she it we this these there что што що że kad dass они он она ён яна яны
    вони він вона oni on ona jie jis ji sie er es
""")
)
# "About the pardon, the press service reported": the topic before the verb is its speech
_ABOUT = frozenset(_w("about о об про пра аб apie über"))
_AS = frozenset(_w("as как як jako kaip als dar"))
_AFTER_QUOTE = re.compile(r"[»”\"“‘’]\s*[,—–-]*\s*$")  # a verb right after a quotation
_LABEL_WORDS = 6  # a labelling verb without "as" reaches this many words: "calls them X"
# words that open "what X calls Y": the labelling then reaches only the next few words
_WHAT = frozenset(_w("what что то што те що co ką was"))


def is_dash_speech(paragraph: str) -> bool:
    """A paragraph of dialogue: it opens with a dash (— Мы никого не держим, — сказал он)."""
    return paragraph[:1] in _DASHES


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _postposed(text: str, start: int, end: int, verb: tuple[int, int]) -> int:
    """Where the speech ends when the verb of saying is an attribution after it ("…, the
    ministry said", "…, said Tomas Vaitkus", "…, — заявил он"): the offset of the clause
    mark before the attribution; -1 when the verb comes before the speech ("X said …")."""
    before = text[start : verb[0]]
    boundary = max(before.rfind(mark) for mark in ",;:—–")
    if boundary < 0 or _words(before[:boundary]) < 2 or before[boundary] == ";":
        return -1
    mark = start + boundary
    while mark > start and text[mark - 1] in " ,—–":
        mark -= 1  # "…», — заявил он": the speech ends before ", —"
    in_clause = _words(before[boundary + 1 :])
    rest = _words(text[verb[1] : end])
    if in_clause:  # "…, the ministry said (on Friday)."
        after = _WORD.search(text, verb[1], end)
        adverbial = (  # "…, X said [on Friday]", not "…; X says they are …"
            after is None
            or after.group().casefold() not in _CLAUSE_OPENERS
            or text[verb[1] : end].lstrip()[:1] in ",;:—–"
        )
        ok = in_clause <= _POSTPOSED_CLAUSE_WORDS and rest <= _POSTPOSED_REST_WORDS and adverbial
        return mark if ok else -1
    if before.rstrip().endswith(tuple(_DASHES)) or _AFTER_QUOTE.search(before):
        return mark  # "…, — заявил он", "“…,” said one of the freed men"
    if appositive(before[:boundary]):  # "Natallia, a Viasna volunteer, said the …"
        return -1
    parts = _CLAUSE.split(text[verb[1] : end], maxsplit=1)
    words = _WORD.findall(parts[0])
    if not words or len(words) > _POSTPOSED_TAIL_WORDS:
        return -1
    if len(words) <= 2 or words[0][0].isupper() or words[0].casefold() in _SPEAKER_START:
        return mark
    if len(parts) == 1 and len(words) <= 4:  # "…, сообщила пресс-служба президента."
        return mark
    return -1


def reported_spans(
    text: str,
    sentence: tuple[int, int],
    verbs: Sequence[tuple[int, int]],
    sources: Sequence[tuple[int, int]],
) -> list[tuple[int, int]]:
    """The parts of a sentence in indirect speech, from where its verbs of saying and
    source markers stand (character spans within ``text``): the whole sentence for a
    source marker or an attribution after the speech; else from the verb to the end of
    the sentence or to a contrastive clause ("…, but …")."""
    start, end = sentence
    if sources:
        return [sentence]
    spans = []
    for verb in verbs:
        if _postposed(text, start, end, verb) >= 0:
            spans.append((start, end))
        else:
            contrast = CONTRAST.search(text, verb[1], end)
            spans.append((verb[0], contrast.start() if contrast else end))
    return spans


@dataclass(frozen=True)
class Attribution:
    """A stretch of a sentence in someone else's words (``quoted``) or framing
    (``distanced``), with who that is as the text names it ("" if it does not)."""

    start: int
    end: int
    voice: Voice
    speaker: str
    framing: bool = False  # a reported framing ("in the official telling"): a quotation
    # inside it is the outlet's scare quote, not the speaker's words
    direct: bool = False  # direct speech (dash speech, a Speaker: headline): it holds
    # whatever verbs stand inside it


def _saying(text: str, sentence: tuple[int, int], verb: tuple[int, int]) -> list[Attribution]:
    start, end = sentence
    mark = _postposed(text, start, end, verb)
    if mark >= 0:
        name = speaker_before(text, mark + 1, verb[0]) or speaker_after(text, verb[1], end)
        found = [Attribution(start, mark, "quoted", name)]
        colon = text.find(":", verb[1], end)  # "…, the minister stressed: Belarusians …"
        return [*found, Attribution(colon, end, "quoted", name)] if colon >= 0 else found
    first = _WORD.search(text, start, verb[0])
    if first and first.group().casefold() in _ABOUT:  # "Об/Про/Apie помиловании сообщила …"
        return [Attribution(start, end, "quoted", speaker_after(text, verb[1], end))]
    contrast = CONTRAST.search(text, verb[1], end)
    stop = contrast.start() if contrast else end
    return [Attribution(verb[0], stop, "quoted", speaker_before(text, start, verb[0]))]


def _labelling(text: str, sentence: tuple[int, int], verb: tuple[int, int]) -> Attribution:
    start, end = sentence
    name = speaker_before(text, start, verb[0])
    clause = re.split(r"[,;:—–(]", text[start : verb[0]])[-1].split()
    if clause and clause[0].casefold() in _WHAT:  # "what Minsk calls humanism"
        words = list(_WORD.finditer(text, verb[1], end))[:3]
        return Attribution(verb[0], words[-1].end() if words else verb[1], "distanced", name)
    contrast = CONTRAST.search(text, verb[1], end)
    stop = contrast.start() if contrast else end
    words = list(_WORD.finditer(text, verb[0], stop))
    colon = text.find(":", verb[1], stop)
    if colon >= 0:  # "call it a revolving door: some leave, others take their place"
        return Attribution(verb[0], stop, "distanced", name)
    if len(words) > _LABEL_WORDS + 1 and not any(
        w.group().casefold() in _AS for w in words[: _LABEL_WORDS + 3]
    ):  # "calls them X" reaches a few words; "describes … as X" the whole clause
        stop = words[_LABEL_WORDS].end()
    return Attribution(verb[0], stop, "distanced", name)


def _labels_as(text: str, verb: tuple[int, int], end: int) -> bool:
    """Does "as" follow the verb in its clause (described … as, представил … как)?"""
    clause = re.split(r"[,;:—–(]", text[verb[1] : end], maxsplit=1)[0]
    return any(w.casefold() in _AS for w in _WORD.findall(clause)[: _LABEL_WORDS + 2])


def attributions(
    text: str,
    sentence: tuple[int, int],
    found: dict[str, list[tuple[int, int]]],
) -> list[Attribution]:
    """The attributed stretches of one sentence from the speech words found in it
    (character spans by kind: reporting, labelling, sources, framings, reportive)."""
    start, end = sentence
    result: list[Attribution] = []
    for marker in found.get("framings", ()):
        name = speaker_before(text, start, marker[0])
        result.append(Attribution(start, end, "distanced", name, framing=True))
    if result:  # "in the official version, …": the whole sentence, whoever speaks in it
        return result
    for marker in found.get("sources", ()):
        name = speaker_after(text, marker[1], end)
        result.append(Attribution(start, end, "quoted", name))
    labels = list(found.get("labelling", []))
    for verb in found.get("reporting", ()):
        if any(a <= verb[0] < b for a, b in labels):
            continue
        if _labels_as(text, verb, end):  # "described them as bandits"
            labels.append(verb)
        else:
            result += _saying(text, sentence, verb)
    result += [_labelling(text, sentence, verb) for verb in labels]
    return result


def headline_speaker_end(title: str, speaker_words: frozenset[str], rubrics: frozenset[str]) -> int:
    """Where the speech of a ``Speaker: …`` headline starts, or -1 for other headlines.

    The part before the colon must be one to four words, each capitalised or a role word
    (envoy, министр), with no digits, no "and"/"&"/commas (two subjects) and no rubric.
    """
    colon = title.find(":")
    if colon <= 0:
        return -1
    prefix = title[:colon]
    return colon + 1 if _is_speaker(prefix, speaker_words, rubrics) else -1


def _is_speaker(prefix: str, speaker_words: frozenset[str], rubrics: frozenset[str]) -> bool:
    words = _WORD.findall(prefix)
    if not 1 <= len(words) <= 4 or re.search(r"[\d&,;?!]", prefix):
        return False
    folded = [w.casefold().replace("ў", "у") for w in words]
    if folded[0] in rubrics or not (words[0][0].isupper() or folded[0] in speaker_words):
        return False
    return all(w[0].isupper() or f in speaker_words for w, f in zip(words, folded, strict=True))


def headline_speaker(
    title: str, speaker_words: frozenset[str], rubrics: frozenset[str]
) -> Attribution | None:
    """The speech of a ``Speaker: claim`` or ``claim — Speaker`` headline, or None."""
    colon = headline_speaker_end(title, speaker_words, rubrics)
    if colon > 0:
        return Attribution(colon, len(title), "quoted", title[: colon - 1].strip(), direct=True)
    dash = max(title.rfind(f" {d} ") for d in (*_DASHES, "-"))
    if dash > 0 and _words(title[:dash]) >= 2:
        suffix = title[dash + 3 :].strip()
        if _is_speaker(suffix, speaker_words, rubrics):
            return Attribution(0, dash, "quoted", suffix, direct=True)
    return None


@dataclass(frozen=True)
class SpeechContext:
    """What one sentence says about speech (character offsets within its paragraph)."""

    text: str  # the paragraph
    sentence: tuple[int, int]
    quotes: tuple[Quote, ...]  # the paragraph's quotations
    reported: tuple[Attribution, ...]  # indirect speech, labelling, dash/headline speech
    speaker: str | None  # the sentence names a speaker ("" unnamed), or None: it does not
    scare_ends: tuple[int, ...]  # where scare markers end
    capitalised_nouns: bool = False  # German: a capitalised quotation is no sign of a name


def _after_scare_marker(ctx: SpeechContext, position: int) -> bool:
    return any(
        end <= position and not ctx.text[end:position].strip(" \"'«„“‘") for end in ctx.scare_ends
    )


def _is_name(ctx: SpeechContext, quote: Quote) -> bool:
    """A capitalised short quotation is a name («Белавиа», „Вясна“), not a scare quote;
    one ending in punctuation is an utterance (“Hostages!”)."""
    inner = ctx.text[quote.start + 1 : quote.end - 1].rstrip()
    if ctx.capitalised_nouns and quote.words == 1:
        return False
    return inner[:1].isupper() and not inner.endswith((".", "!", "?", "…", ","))


def _covering(ctx: SpeechContext, start: int) -> Attribution | None:
    """The attribution over ``start``: direct speech first, else the innermost one (the
    one that begins last)."""
    inside = [a for a in ctx.reported if a.start <= start < a.end]
    return max(inside, key=lambda a: (a.direct, a.start)) if inside else None


def _quote_voice(ctx: SpeechContext, start: int, end: int) -> tuple[Voice, str] | None:
    inside = [q for q in ctx.quotes if q.contains(start, end)]
    if not inside:
        return None
    around = _covering(ctx, start)
    speaker = around.speaker if around is not None else ctx.speaker or ""
    innermost = inside[-1]
    if _after_scare_marker(ctx, innermost.start):
        return "distanced", ""
    if any(q.words > SCARE_QUOTE_WORDS for q in inside):
        spoken = around is not None or ctx.speaker is not None or _is_utterance(ctx, innermost)
        return ("quoted", speaker) if spoken else ("distanced", "")
    if _is_name(ctx, innermost):
        return None
    if around is not None:
        return ("distanced", around.speaker) if around.framing else ("quoted", around.speaker)
    return ("quoted", speaker) if ctx.speaker is not None else ("distanced", "")


def _is_utterance(ctx: SpeechContext, quote: Quote) -> bool:
    """A quotation that reads as a whole utterance: it ends in sentence punctuation, or
    runs past the paragraph's edge (a cut or multi-paragraph quotation)."""
    inner = ctx.text[max(quote.start + 1, 0) : quote.end - 1].rstrip()
    after = ctx.text[quote.end : quote.end + 3].lstrip(" ")
    return (
        quote.start < 0
        or quote.end > len(ctx.text)
        or inner.endswith((".", "!", "?", "…", ","))
        or after[:1] in (".", ":", "—", "–")
    )


def classify_voice(ctx: SpeechContext, start: int, end: int) -> tuple[Voice, str]:
    """The voice of the cue at ``text[start:end]`` and whose words or framing it is
    ("" when the text does not say; see the module docstring)."""
    voice = _quote_voice(ctx, start, end)
    if voice is not None:
        return voice
    if _after_scare_marker(ctx, start):
        return "distanced", ""
    around = _covering(ctx, start)
    if around is not None:
        return around.voice, around.speaker
    return "own", ""
