"""Mutation fuzzing of the feed reader: no exception but ParseError ever leaves parse_feed.

    python -m bench.stress.fuzz_feeds               # 100,000 mutated feeds (about 10 minutes)
    python -m bench.stress.fuzz_feeds --count 3000 --seed 7

Seeds are the project's test feeds plus the real-world corpora (``../shared/corpora``, or
``$FRAMEWATCH_CORPORA``). Each input is a seed with one to three mutations: bit flips,
random bytes, truncation, splicing two feeds, invalid UTF-8, NUL bytes, huge attributes
and text, repeated regions, odd character references, a swapped charset and deep nesting.
Every parse is checked: ParseError or a ParsedFeed whose strings are valid UTF-8 without
NUL, within their caps, with http(s) links, in under 2 s. The run prints the inputs run,
the exceptions that escaped, the invariant violations and the slowest parse (CPU time,
which other processes on the machine cannot inflate, and wall time); it exits 1
if anything escaped or broke an invariant. ``--save DIR`` keeps the offending inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.model.errors import ParseError
from ingest.sources import feeds
from ingest.sources.feeds import ParsedFeed, parse_feed

ROOT = Path(__file__).resolve().parents[2]
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
MAX_PARSE_S = 2.0
URL = "http://example.org/feed.xml"
Mutator = Callable[[bytes, random.Random, list[bytes]], bytes]


def corpora_dir() -> Path:
    env = os.environ.get("FRAMEWATCH_CORPORA")
    return Path(env) if env else ROOT.parent / "shared" / "corpora"


def load_seeds(limit: int | None = None) -> list[bytes]:
    """The project's test feeds, then the corpora's (sorted, so a seed gives the same run)."""
    paths = sorted((ROOT / "tests" / "data").rglob("*.xml"))
    corpora = corpora_dir()
    if corpora.is_dir():
        paths += sorted(p for p in corpora.rglob("*") if p.suffix in FEED_SUFFIXES)
    seeds = [p.read_bytes() for p in paths[:limit] if p.is_file()]
    return [s for s in seeds if s.strip()]


def _at(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def _size(rng: random.Random, small: int, medium: int, large: int) -> int:
    """Mostly small, sometimes medium, rarely large: big inputs are slow to parse."""
    return rng.choices((small, medium, large), weights=(80, 17, 3))[0]


def bit_flips(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    out = bytearray(data)
    for _i in range(rng.randint(1, 16)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at + rng.randint(0, 64) :]


def truncate(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    return data[: _at(data, rng)]


def splice(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    other = rng.choice(seeds)
    return data[: _at(data, rng)] + other[_at(other, rng) :]


INVALID_UTF8 = b"\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xed\xa0\x80 \xf8\x88\x80\x80 \xff \xfe\xff".split()
INVALID_UTF8 += b"\xc0\xaf \xf4\x90\x80\x80 \xef\xbf\xbe \xc3".split()


def invalid_utf8(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    return data[:at] + b"".join(rng.choices(INVALID_UTF8, k=rng.randint(1, 8))) + data[at:]


def nul_bytes(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    return data[:at] + b"\x00" * rng.choice((1, 2, 7, 300)) + data[at:]


def huge_attribute(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    tag = data.find(b"<", _at(data, rng))
    end = data.find(b">", tag) if tag >= 0 else -1
    if end < 0:
        return data + b'<x a="' + b"A" * 100_000 + b'"/>'
    filler = rng.choice((b"A", b"&amp;", b"\xd0\x96", b"<", b"'"))
    value = filler * (_size(rng, 1_000, 50_000, 1_000_000) // len(filler))
    return data[:end] + b' huge="' + value + b'"' + data[end:]


def huge_text(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    chunk = rng.choice((b"word ", b"<b>", b"&lt;", b"]]>", b"\xd0\x96", b"<![CDATA["))
    return data[:at] + chunk * (_size(rng, 1_000, 100_000, 2_000_000) // len(chunk)) + data[at:]


def repeat_region(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    start = _at(data, rng)
    region = data[start : start + rng.randint(1, 400)]
    return data[:start] + region * _size(rng, 2, 100, 5_000) + data[start:]


CHAR_REFS = b"&#0; &#xD800; &#x110000; &#99999999999; &#x1F; &#65535; &#xDFFF; &#1;".split()
CHAR_REFS += b"&nbsp; &undefined; &#; &amp &#x7f; &lol; &#12 &#x; &#X41;".split()


def char_refs(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    return data[:at] + b"".join(rng.choices(CHAR_REFS, k=rng.randint(1, 10))) + data[at:]


CHARSETS = (b"utf-16", b"utf-32", b"utf-7", b"cp037", b"koi8-r", b"bogus", b"", b"x" * 300)


def charset_swap(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    charset = rng.choice(CHARSETS)
    at = data.find(b"encoding=")
    if at < 0:
        return b'<?xml version="1.0" encoding="' + charset + b'"?>' + data
    quote = data[at + 9 : at + 10]
    end = data.find(quote, at + 10)
    return data[: at + 10] + charset + data[end if end > 0 else at + 10 :]


def deep_nesting(data: bytes, rng: random.Random, _: list[bytes]) -> bytes:
    at = _at(data, rng)
    depth = _size(rng, 100, 5_000, 100_000)
    return data[:at] + b"<div>" * depth + b"x" + b"</div>" * (depth // 2) + data[at:]


MUTATORS: tuple[Mutator, ...] = (
    bit_flips,
    random_bytes,
    truncate,
    splice,
    invalid_utf8,
    nul_bytes,
    huge_attribute,
    huge_text,
    repeat_region,
    char_refs,
    charset_swap,
    deep_nesting,
)


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    for mutator in rng.choices(MUTATORS, k=rng.choice((1, 1, 2, 3))):
        data = mutator(data, rng, seeds)
    return data


@dataclass
class FuzzReport:
    inputs: int = 0
    parsed: int = 0
    rejected: int = 0
    feedparser_failures: int = 0  # feedparser raised; parse_feed turned it into ParseError
    escaped: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    slowest_s: float = 0.0  # wall clock: grows when other processes share the CPU
    slowest_cpu_s: float = 0.0  # this thread's CPU time: the parser's own work
    seconds: float = 0.0
    failures: list[bytes] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    slowest_input: bytes = b""

    def summary(self) -> str:
        return (
            f"fuzz: {self.inputs:,} mutated inputs in {self.seconds:.0f} s: "
            f"{self.parsed:,} parsed, {self.rejected:,} rejected with ParseError "
            f"({self.feedparser_failures} of them feedparser's own exceptions), "
            f"{len(self.escaped)} escaped exceptions, {len(self.violations)} invariant "
            f"violations, slowest parse {self.slowest_cpu_s:.3f} s CPU "
            f"({self.slowest_s:.3f} s wall; limit {MAX_PARSE_S:g} s)"
        )


def violations(feed: ParsedFeed) -> list[str]:
    """What is wrong with a parsed feed's strings (nothing, for a correct parser)."""
    problems = []
    fields: list[tuple[str, str | None, int]] = [("feed title", feed.title, feeds.MAX_TITLE_CHARS)]
    for e in feed.entries:
        fields += [("title", e.title, feeds.MAX_TITLE_CHARS), ("link", e.link, 4_000)]
        fields += [("summary", e.summary, feeds.MAX_SUMMARY_CHARS), ("guid", e.guid, 2_000)]
        fields += [("author", e.author, 500), ("language", e.language, 12)]
        if not e.link.startswith(("http://", "https://")):
            problems.append(f"link is not http(s): {e.link[:80]!r}")
    for name, value, limit in fields:
        if value is None:
            continue
        if "\x00" in value or len(value) > limit:
            problems.append(f"{name} has NUL or is over {limit} chars")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{name} is not valid UTF-8 (lone surrogate)")
    return problems


def check_one(body: bytes, report: FuzzReport) -> None:
    started, cpu_started = time.perf_counter(), time.thread_time()
    try:
        feed = parse_feed(body, URL)
    except ParseError as exc:
        report.rejected += 1
        if str(exc).startswith("feedparser failed"):
            report.feedparser_failures += 1
            cause = exc.__cause__
            report.causes.append(f"{type(cause).__name__}: {str(cause)[:120]}")
        problems: list[str] = []
    except Exception as exc:
        problems = [f"escaped {type(exc).__name__}: {str(exc)[:200]}"]
        report.escaped.append(problems[0])
    else:
        report.parsed += 1
        problems = violations(feed)
        report.violations += problems
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    report.slowest_s = max(report.slowest_s, elapsed)
    if cpu > report.slowest_cpu_s:
        report.slowest_cpu_s, report.slowest_input = cpu, body
    if cpu > MAX_PARSE_S:
        problems.append(f"parse took {cpu:.2f} s of CPU")
        report.violations.append(problems[-1])
    if problems:
        report.failures.append(body)
    report.inputs += 1


def run(count: int, seed: int, seeds: list[bytes], progress: bool = False) -> FuzzReport:
    rng = random.Random(seed)
    report = FuzzReport()
    started = time.monotonic()
    for index in range(count):
        check_one(mutate(rng.choice(seeds), rng, seeds), report)
        if progress and index % 10_000 == 9_999:
            report.seconds = time.monotonic() - started
            print(f"  {report.summary()}", file=sys.stderr, flush=True)
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stress.fuzz_feeds", description=__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="mutated inputs to run")
    parser.add_argument("--seed", type=int, default=1, help="random seed (runs repeat exactly)")
    parser.add_argument("--save", type=Path, help="write offending inputs to this folder")
    args = parser.parse_args(argv)
    seeds = load_seeds()
    print(f"fuzz: {len(seeds):,} seed feeds, seed {args.seed}", flush=True)
    report = run(args.count, args.seed, seeds, progress=True)
    print(report.summary())
    for problem in sorted(set(report.escaped + report.violations))[:20]:
        print(f"  - {problem}")
    if args.save and report.failures:
        args.save.mkdir(parents=True, exist_ok=True)
        for body in report.failures:
            (args.save / f"{hashlib.sha256(body).hexdigest()[:16]}.xml").write_bytes(body)
    return 1 if report.escaped or report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
