"""Who speaks: the speaker a sentence names before or after its verb of saying, as
the text names it ("the presidential press service", "Natallia, a Viasna volunteer"), with
function words trimmed off its edges; a pronoun ("he said") names nobody, and the
caller takes the speaker named last (``ingest.framing.detect``)."""

from __future__ import annotations

import re


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORD = re.compile(r"\w+")
_SPEAKER_WORDS = 6
_AND = frozenset(_w("and и і та i oraz ir und sowie"))
# function words trimmed off the edges of a speaker's name
_SPEAKER_TRIM = frozenset(
    _w("""
    that what which who and but as while also then later on in at of on to by in ў у в
    что то как і и а но что што що як яку co że jak i oraz kad kaip ir dass wie und aber
    said told according that это однако аднак але но jednak
""")
)
# words that open a clause, not an apposition ("Analysts believe, that Lukashenko …")
_CLAUSE_WORDS = frozenset(
    _w("that which who что который которые што які що który że kad dass welche")
)
# a speaker's name starts after these ("… as campaigners [warn]", "When Donald Trump …")
_SUBORDINATORS = frozenset(
    _w("as while when after because but since although though как когда пока якія як калі")
)
# and ends before these ("Rights groups have [called]", "The EU has not [recognised]")
_AUXILIARIES = frozenset(
    _w("""
    have has had was were is are will would also repeatedly not never already were quick
    did does do can could may might must shall should уже ужо также таксама снова зноў
    вновь ізноў традиционно традыцыйна тоже ещё же вже також знову już także też znów
    jau taip pat bereits schon auch erneut
""")
)
# pronouns: the speaker is the one named earlier in the article
PRONOUNS = frozenset(
    _w("""
    he she they it we i him her them он она они оно ён яна яны яно він вона вони воно on
    ona oni one jis ji jie er sie es wir who which которые которая который которого кто
    якія які яка хто котрі котрий który która którzy kuris kuri kurie welche
""")
)


def appositive(before: str) -> bool:
    """Is ``before`` a name and an appositive ("Natallia, a Viasna volunteer") rather
    than speech?"""
    pieces = before.split(",")
    if len(pieces) != 2:
        return False
    name, apposition = _WORD.findall(pieces[0]), _WORD.findall(pieces[1])
    return (
        0 < len(name) <= 3
        and apposition[:1] != []
        and apposition[0].casefold() not in _CLAUSE_WORDS
        and name[0][0].isupper()
        and 0 < len(apposition) <= _SPEAKER_WORDS
        and apposition[0][0].islower()
    )


def _clean_speaker(words: list[str]) -> str:
    folded = [w.casefold().strip("«»„“”\"'.,") for w in words]
    cut = [i for i, w in enumerate(folded) if w in _SUBORDINATORS]
    if cut:  # "Belarus frees three as campaigners [warn]": the subject after "as"
        words, folded = words[cut[-1] + 1 :], folded[cut[-1] + 1 :]
    aux = next((i for i, w in enumerate(folded) if w in _AUXILIARIES), None)
    if aux:  # "Rights groups have [called]", "Campaigners were quick [to warn]"
        words = words[:aux]
    while words and words[0].casefold().strip("«»„“”\"'") in _SPEAKER_TRIM:
        words = words[1:]
    while words and words[-1].casefold().strip("«»„“”\"'.,") in _SPEAKER_TRIM:
        words = words[:-1]
    name = " ".join(words[-_SPEAKER_WORDS:]).strip(" ,;:—–\"'«»„“”()")
    return "" if name.casefold() in PRONOUNS else name


def speaker_before(text: str, lo: int, at: int) -> str:
    """The speaker named in the clause that ends at ``at`` ("… the ministry [said]");
    "" after a conjunction ("… and [thanked]": the subject named before)."""
    clauses = [c for c in re.split(r"[,;:—–()«»„“”\"]", text[lo:at]) if c.strip()]
    words = clauses[-1].split() if clauses else []
    if len(clauses) >= 2 and appositive(",".join(clauses[-2:])):  # "Natallia, a volunteer"
        words = f"{clauses[-2].strip()},{clauses[-1]}".split()
    if words and words[-1].casefold() in _AND:
        return ""
    return _clean_speaker(words)


def speaker_after(text: str, at: int, hi: int) -> str:
    """The speaker named right after ``at`` ("[according to] Viasna, …"): up to the next
    clause mark; a capitalised name ends at the first lowercase word after it ("Według
    Wiasny liczba …": Wiasny)."""
    clause = re.split(r"[,;:—–()«»„“”\".!?]", text[at:hi])[0]
    words = clause.split()[:_SPEAKER_WORDS]
    if words and words[0][:1].isupper():
        lower = next((i for i, w in enumerate(words) if w[:1].islower()), len(words))
        words = words[:lower]
    return _clean_speaker(words)
