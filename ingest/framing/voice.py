"""Whose words a frame cue is in: the outlet's (``own``), a source's (``quoted``), or the
outlet's at arm's length (``distanced``).

Rules, applied to each cue occurrence in this order:

1. Inside quotation marks (any typography, see ``ingest.framing.sentences.find_quotes``):
   a quotation of more than ``SCARE_QUOTE_WORDS`` words is ``quoted``. A shorter one is
   a proper name and ignored when it is capitalised and not an utterance («Белавиа»,
   “Viasna”, but not “Hostages!”); otherwise it is ``quoted`` when someone speaks it
   (inside reported speech, or the sentence has a verb of saying: he called them
   “bandits”), ``distanced`` when it has no speaker or follows a scare marker
   (so-called «политзаключённые»). Known limit: a capitalised scare quote that opens a
   sentence («Вращающаяся дверь» …) reads as a name.
2. ``quoted``: a paragraph of dash speech (— …), a ``Speaker: …`` headline after the
   colon, indirect speech: the words after a verb of saying (said, заявил, сказаў,
   powiedział), the whole sentence for an attribution at its end (…, the ministry said /
   …, — заявил он) or a source marker anywhere (according to, по словам, паводле, zdaniem).
3. ``distanced``: right after a scare marker (so-called, так называемые, так званыя,
   якобы, rzekomy) without quotation marks.
4. ``own``: everything else — the outlet's narration and headline.

Language resources are cue patterns (``ingest.framing.codebook`` syntax) per language; a codebook
may extend them in its ``[languages.<code>]`` table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

from ingest.framing.sentences import Quote
from ingest.model.frames import Voice

SCARE_QUOTE_WORDS = 3
_POSTPOSED_CLAUSE_WORDS = 6  # "…, the human rights centre Viasna said"
_POSTPOSED_REST_WORDS = 5  # "… said on Friday in a statement"
_POSTPOSED_TAIL_WORDS = 6  # "…, said the ministry's spokesman"
_CLAUSE = re.compile(r"[,;:—–]")
_WORD = re.compile(r"\w+")
_DASHES = "—–―"
# a contrastive clause ends indirect speech: "they say X, but Y" - Y is narration again
_CONTRAST = re.compile(
    r"[,;]\s*(?:but|however|although|though|whereas|yet|но|однако|хотя|а|але|аднак|хоць"
    r"|ale|jednak|chociaż|choć|проте|однак|хоча)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LanguageResources:
    """Cue patterns for one language's speech and negation."""

    reporting: tuple[str, ...] = ()  # verbs of saying: what follows them is reported
    sources: tuple[str, ...] = ()  # "according to": the whole sentence is reported
    scare_markers: tuple[str, ...] = ()  # "so-called": the next words are distanced
    negators: tuple[str, ...] = ()  # "not", "не": a cue right after is negated
    transparent: tuple[str, ...] = ()  # may stand between a negator and its cue
    post_negators: tuple[str, ...] = ()  # "нет" after a cue negates it
    speaker_words: tuple[str, ...] = ()  # lowercase words allowed in "Speaker:" headlines
    rubrics: tuple[str, ...] = ()  # "Analysis:" headlines are not speakers

    def extended(self, other: LanguageResources) -> LanguageResources:
        """These resources with ``other``'s patterns added to each list."""
        return LanguageResources(
            **{f.name: (*getattr(self, f.name), *getattr(other, f.name)) for f in fields(self)}
        )


RESOURCE_KEYS = tuple(f.name for f in fields(LanguageResources))


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# words that open the speaker after an inverted verb of saying ("…, said the ministry")
_SPEAKER_START = frozenset(
    _w("the a an he she they он она они ён яна яны він вона вони on ona oni")
)


DEFAULT_RESOURCES: dict[str, LanguageResources] = {
    "en": LanguageResources(
        reporting=(*_w("""
            said says say saying told tells claimed claims claiming stated argued argues
            insisted insists accused accuses accusing called calls calling described describes
            describing denied denies rejected rejects warned warns added adds noted stressed
            stresses emphasised emphasized emphasises emphasizes asserted asserts wrote writes
            alleged alleges announced announces declared declares branded labelled labeled
            dubbed termed explained explains acknowledged admitted recalled reported confirmed
            commented urged believes maintains maintained insisting quoted quoting reporting
            warn claim argue insist accuse describe deny reject note stress emphasise emphasize
            assert allege announce declare explain believe maintain admit confirm urge add
            write report presented presents portrayed portrays depicted depicts hailed hails
            touted
            """), "in a statement"),
        sources=("according to", "in the words of", "in (his|her|their) words", "quoted by"),
        scare_markers=("so-called", "alleged*", "supposed*", "purported*", "self-styled"),
        negators=(*_w("""
            not no never neither nor none without isn't aren't wasn't weren't don't doesn't
            didn't cannot can't won't hasn't haven't
            """), "rather than", "instead of"),
        transparent=_w("""
            a an the any are is was were be been being really actually merely simply just
            longer considered regarded deemed seen recognised recognized as these those such
            all of them they genuine real true ever even more there can could will would should
            act acts sign gesture case matter question subject kind form
            """),
        speaker_words=_w("""
            president envoy minister spokesman spokeswoman spokesperson official officials
            leader ambassador ministry opposition activist analyst of the for us u s eu
            """),
        rubrics=_w("""
            analysis comment opinion explainer exclusive update live breaking video photo
            photos watch listen editorial review podcast timeline factbox column commentary
            feature investigation profile obituary letter view fact check
            """),
    ),
    "ru": LanguageResources(
        reporting=_w("""
            сказал* заявил* заявля* сообщил* сообща* отметил* отмеча* подчеркнул* подчеркива*
            считает считают считал* полагает полагают утвержда* назвал* называ* пояснил*
            добавил* рассказал* рассказыва* говор* обвинил* обвиня* настаива* заверил* заверя*
            напомнил* указал* констатировал* призвал* призыва* пишет пишут написал* передаёт
            цитиру* уточнил* объяснил* объясня* уверяет уверяют прокомментировал* ответил*
            охарактеризовал* характеризу* окрестил* именует именуют подтвердил* отрицает
            отрицают отрицал* объявил* убеждён* напомина* представил* представля* преподнос*
            изобража* предупредил* предупрежда*
            """),
        sources=("по (словам|мнению|данным|информации|оценкам|версии)", "как сообщ*", "согласно"),
        scare_markers=("так называем*", "якобы", "мним*", "пресловут*", "так именуем*"),
        negators=("не", "нет", "ни", "никак*", "ничего", "вместо", "без"),
        transparent=_w("""
            являются является являлись являлся был была были было будут есть это эти все
            всех всяких каких либо какие считаются считается признаны признаются никакие может
            могут могли быть будет акт актом акта жест жестом проявление проявлением признак
            предметом вопрос вопросом
            """),
        post_negators=("нет",),
        speaker_words=_w("""
            президент посол министр глава лидер спецпосланник посланник пресс секретарь мид
            представитель оппозиция правозащитник эксперт политолог по делам
            """),
        rubrics=_w("""
            комментарий анализ мнение колонка видео фото эксклюзив интервью разбор объясняем
            обзор репортаж расследование
            """),
    ),
    "be": LanguageResources(
        reporting=_w("""
            сказаў сказала сказалі заявіў заявіла заявілі заяўля* паведамі* паведамля*
            адзначы* адзнача* падкрэслі* лічыць лічаць назваў назвала назвалі называ* кажа
            кажуць казаў казала расказаў распавя* распавёў дадаў дадала сцвярджа* абвінава*
            заклікаў заклікала заклікалі заклікае піша пішуць напісаў тлумачы* растлумачы*
            патлумачы* нагадаў нагадала пацвердзі* адмаўля* перакананы нагадва* прадставі*
            прадстаўля* падносі* папярэдзі* папярэджва*
            """),
        sources=("паводле", "па (словах|даных|дадзеных|інфармацыі|ацэнках)", "на думку"),
        scare_markers=("так званы*", "гэтак званы*", "нібыта", "сумнавядом*"),
        negators=("не", "ні", "няма", "ніяк*", "нічога", "замест", "без"),
        transparent=_w("""
            з'яўляюцца з'яўляецца былі быў была было будуць ёсць гэта гэтыя усе ўсе усіх ўсіх
            ніякія лічацца лічыцца прызнаныя можа могуць быць будзе акт актам акта жэст жэстам
            праява праявай прадметам пытанне пытаннем
            """),
        post_negators=("няма",),
        speaker_words=_w("""
            прэзідэнт пасол міністр кіраўнік лідар пасланнік спецпасланнік прэс сакратар мзс
            прадстаўнік апазіцыя праваабаронца эксперт палітолаг
            """),
        rubrics=_w("каментар аналіз меркаванне калонка відэа фота інтэрв'ю агляд рэпартаж"),
    ),
    "uk": LanguageResources(
        reporting=_w("""
            сказав сказала сказали заявив заявила заявили заявля* повідоми* повідомля*
            зазначи* зазнача* наголоси* наголошу* вважає вважають назвав назвала назвали
            назива* каже кажуть розповів розповіла розповіли розповіда* додав додала стверджу*
            звинувачу* закликав закликала закликали закликає пише пишуть написав пояснив
            пояснила нагадав підкресли* підтверди* нагаду* представи* попередив попередила
            попередили попереджа*
            """),
        sources=("за (словами|даними|інформацією|оцінками)", "на думку", "згідно з"),
        scare_markers=("так зван*", "нібито", "горезвісн*"),
        negators=("не", "ні", "немає", "нема", "жодн*", "замість", "без"),
        transparent=_w("""
            є був була були було будуть це ці всі усі вважаються визнані може можуть бути акт
            актом жест жестом прояв проявом предметом питанням
            """),
        post_negators=("немає", "нема"),
        speaker_words=_w("президент посол міністр глава лідер посланник речник мзс"),
        rubrics=_w("коментар аналіз думка колонка відео фото інтерв'ю огляд репортаж"),
    ),
    "pl": LanguageResources(
        reporting=_w("""
            powiedział* mówi mówią mówił* stwierdził* stwierdza twierdzi* oświadczył* oświadcza
            podkreślił* podkreśla* dodał* dodaje przekazał* poinformował* informuje uważa*
            zaznaczył* zaznacza nazwał* nazywa* wezwał* wzywa* ocenił* ocenia napisał* pisze
            piszą przyznał* zapewnił* przekonuje oskarż* określił* zaprzecza* twierdz*
            przedstawi* ostrzegł* ostrzega*
            """),
        sources=("zdaniem", "według", "jak (podał*|poinformował*|przekazał*)"),
        scare_markers=("tak zwan*", "tzw", "rzekom*", "domniema*"),
        negators=("nie", "ani", "żadn*", "zamiast", "bez", "brak"),
        transparent=_w("""
            są był była byli było będą to ci te wszyscy jest uważani uznani ma mamy może mogą
            być akt aktem gest gestem przedmiotem
            """),
        speaker_words=_w("prezydent ambasador minister szef lider wysłannik rzecznik msz"),
        rubrics=_w("komentarz opinia analiza wideo zdjęcia wywiad felieton reportaż"),
    ),
}  # fmt: skip


def is_dash_speech(paragraph: str) -> bool:
    """A paragraph of dialogue: it opens with a dash (— Мы никого не держим, — сказал он)."""
    return paragraph[:1] in _DASHES


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _postposed(text: str, start: int, end: int, verb: tuple[int, int]) -> bool:
    """Is the verb of saying an attribution after the speech ("…, the ministry said",
    "…, said Tomas Vaitkus", "…, — заявил он") rather than before it ("X said that …")?"""
    before = text[start : verb[0]]
    boundary = max(before.rfind(mark) for mark in ",;:—–")
    if boundary < 0 or _words(before[:boundary]) < 2:
        return False
    in_clause = _words(before[boundary + 1 :])
    rest = _words(text[verb[1] : end])
    if in_clause:  # "…, the ministry said (on Friday)."
        return in_clause <= _POSTPOSED_CLAUSE_WORDS and rest <= _POSTPOSED_REST_WORDS
    if before.rstrip().endswith(tuple(_DASHES)):  # "…, — заявил он"
        return True
    tail = _CLAUSE.split(text[verb[1] : end], maxsplit=1)[0]
    words = _WORD.findall(tail)
    if not words or len(words) > _POSTPOSED_TAIL_WORDS:
        return False
    return len(words) <= 2 or words[0][0].isupper() or words[0].casefold() in _SPEAKER_START


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
        if _postposed(text, start, end, verb):
            spans.append((start, end))
        else:
            contrast = _CONTRAST.search(text, verb[1], end)
            spans.append((verb[0], contrast.start() if contrast else end))
    return spans


def headline_speaker_end(title: str, speaker_words: frozenset[str], rubrics: frozenset[str]) -> int:
    """Where the speech of a ``Speaker: …`` headline starts, or -1 for other headlines.

    The part before the colon must be one to four words, each capitalised or a role word
    (envoy, министр), with no digits, no "and"/"&"/commas (two subjects) and no rubric.
    """
    colon = title.find(":")
    if colon <= 0:
        return -1
    prefix = title[:colon]
    words = _WORD.findall(prefix)
    if not 1 <= len(words) <= 4 or re.search(r"[\d&,;?!]", prefix):
        return -1
    folded = [w.casefold().replace("ў", "у") for w in words]
    if folded[0] in rubrics or not words[0][0].isupper():
        return -1
    if all(w[0].isupper() or f in speaker_words for w, f in zip(words, folded, strict=True)):
        return colon + 1
    return -1


@dataclass(frozen=True)
class SpeechContext:
    """What one sentence says about speech (character offsets within its paragraph)."""

    text: str  # the paragraph
    sentence: tuple[int, int]
    quotes: tuple[Quote, ...]  # the paragraph's quotations
    reported: tuple[tuple[int, int], ...]  # indirect/dash/headline speech
    has_speaker: bool  # the sentence has a verb of saying or a source marker
    scare_ends: tuple[int, ...]  # where scare markers end


def _after_scare_marker(ctx: SpeechContext, position: int) -> bool:
    return any(
        end <= position and not ctx.text[end:position].strip(" \"'«„“‘") for end in ctx.scare_ends
    )


def _is_name(ctx: SpeechContext, quote: Quote) -> bool:
    """A capitalised short quotation is a name («Белавиа», „Вясна“), not a scare quote;
    one ending in punctuation is an utterance (“Hostages!”)."""
    inner = ctx.text[quote.start + 1 : quote.end - 1].rstrip()
    return inner[:1].isupper() and not inner.endswith((".", "!", "?", "…", ","))


def _quote_voice(ctx: SpeechContext, start: int, end: int) -> Voice | None:
    inside = [q for q in ctx.quotes if q.contains(start, end)]
    if not inside:
        return None
    if any(q.words > SCARE_QUOTE_WORDS for q in inside):
        return "quoted"
    innermost = inside[-1]
    if _is_name(ctx, innermost):
        return None
    if any(s <= start < e for s, e in ctx.reported):
        return "quoted"
    if _after_scare_marker(ctx, innermost.start):
        return "distanced"
    return "quoted" if ctx.has_speaker else "distanced"


def classify_voice(ctx: SpeechContext, start: int, end: int) -> Voice:
    """The voice of the cue at ``text[start:end]`` (see the module docstring)."""
    voice = _quote_voice(ctx, start, end)
    if voice is not None:
        return voice
    if any(s <= start < e for s, e in ctx.reported):
        return "quoted"
    if _after_scare_marker(ctx, start):
        return "distanced"
    return "own"
