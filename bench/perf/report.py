"""The readable table of ``python -m bench`` (the JSON report holds everything)."""

from __future__ import annotations

from typing import Any

from bench.perf.e2e import STAGE_ORDER


def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:44} {value:>14}  {note}"


def render(report: dict[str, Any]) -> str:
    return "\n".join([
        *_header(report), *_rates(report), *_plain_comparison(report), *_costs(report),
        *_stages(report["sqlite"]), *_targets(report["targets"]),
        *_issue_lines(report.get("issue_benchmarks") or {}),
    ])  # fmt: skip


def _header(report: dict[str, Any]) -> list[str]:
    m, web, latency = report["machine"], report["web"], report["plan"]["latency_ms"]
    return [
        f"framewatch benchmark — {m['cpu']}, {m['cores']} cores, Python {m['python']}",
        f"synthetic web: {web['feeds']} feeds, {web['pages']} pages "
        f"({web['mean_page_kb']} kB mean), {web['on_story_pages']} on-story, "
        f"{web['near_copies']} near copies, languages {web['languages']}",
        f"server latency {latency[0]:g}-{latency[1]:g}"
        f" ms per request; per core = articles per CPU-second of the measured process tree",
        "",
    ]


def _rates(report: dict[str, Any]) -> list[str]:
    """framewatch end to end (SQLite, PostgreSQL), the floor and the plain script."""
    main = report["sqlite"]
    load = main["load_average"]
    lines = [
        _row("framewatch end to end, SQLite (per core)", f"{report['e2e_articles_per_s']:.1f}/s",
             f"wall {report['e2e_wall_articles_per_s']:.1f}/s, {main['cores_used']} cores "
             f"used, load {load[0]}-{load[1]}"),
    ]  # fmt: skip
    if "postgresql" in report:
        pg = report["postgresql"]
        lines.append(_row(
            "framewatch end to end, PostgreSQL (per core)",
            f"{report['postgresql_e2e_articles_per_s']:.1f}/s",
            f"wall {report['postgresql_e2e_wall_articles_per_s']:.1f}/s, {pg['cores_used']} "
            f"cores used (server CPU not counted), load {pg['load_average'][0]}",
        ))  # fmt: skip
    floor, plain = report["floor"], report["plain"]
    return [
        *lines,
        _row("floor: feedparser + trafilatura (per core)",
             f"{report['floor_articles_per_s']:.1f}/s", f"load {floor['load_average'][0]}"),
        _row("framewatch / floor", f"{report['e2e_vs_floor']:.2f}", "target >= 0.70"),
        *_stage_floor(report),
        _row("plain sequential script (wall)", f"{report['plain_articles_per_s']:.1f}/s",
             f"{plain['pages']} pages; per core {report['plain_cpu_articles_per_s']:.1f}/s, "
             f"load {plain['load_average'][0]}"),
    ]  # fmt: skip


def _stage_floor(report: dict[str, Any]) -> list[str]:
    """The stage floor: every required stage's library on the same pages, one loop."""
    if report.get("stage_floor_articles_per_s") is None:
        return []
    stages = report["stage_floor_stages"]
    top = ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])[:4])
    return [
        _row("stage floor: every stage's library (per core)",
             f"{report['stage_floor_articles_per_s']:.1f}/s",
             f"{report['stage_floor_without_fetch_articles_per_s']:.1f}/s without the GET; "
             f"CPU s: {top}"),
        _row("framewatch / stage floor", f"{report['e2e_vs_stage_floor']:.2f}", "target >= 0.80"),
    ]  # fmt: skip


def _plain_comparison(report: dict[str, Any]) -> list[str]:
    """framewatch against the plain script, on the network-bound web when it was run."""
    if "network_bound" not in report:
        return [_row("framewatch / plain (wall)", f"{report['e2e_vs_plain']:.1f}x",
                     "target >= 5x (on a network-bound web)")]  # fmt: skip
    net = report["network_bound"]
    low, high = net["latency_ms"]
    return [
        _row("framewatch / plain (wall)", f"{report['e2e_vs_plain_fast_web']:.1f}x",
             "this web: both partly CPU-bound"),
        _row(f"network-bound web ({low:g}-{high:g} ms): framewatch",
             f"{net['e2e_wall_articles_per_s']:.1f}/s",
             f"wall, {net['e2e_cores_used']} cores used"),
        _row("network-bound web: plain script", f"{net['plain_wall_articles_per_s']:.1f}/s",
             "wall"),
        _row("framewatch / plain, network-bound (wall)", f"{report['e2e_vs_plain']:.1f}x",
             "target >= 5x"),
    ]  # fmt: skip


def _costs(report: dict[str, Any]) -> list[str]:
    """Idle polls and re-polls, memory, database size."""
    lines = [
        _row("idle poll, all 304 (CPU per feed)", f"{report['idle_cpu_ms_per_feed']:.2f} ms",
             f"target < 5 ms, {report['sqlite']['idle_cycles']} cycles"),
        _row("re-poll, nothing new: framewatch (wall/feed)",
             f"{report['idle_wall_ms_per_feed']:.1f} ms",
             f"conditional GET, concurrent; CPU {report['idle_cpu_ms_per_feed']:.2f} ms"),
        _row("re-poll, nothing new: plain (wall/feed)",
             f"{report['plain_repoll_wall_ms_per_feed']:.1f} ms",
             f"GET + parse, sequential; CPU {report['plain_repoll_cpu_ms_per_feed']:.2f} ms"),
        _row("peak resident memory (framewatch)", f"{report['peak_rss_mb']:.0f} MB"),
        _row("database per 1,000 articles, SQLite", f"{report['db_mb_per_1000_articles']} MB"),
    ]  # fmt: skip
    if "postgresql" in report:
        lines.append(_row("database per 1,000 articles, PostgreSQL",
                          f"{report['postgresql_db_mb_per_1000_articles']} MB"))  # fmt: skip
    return lines


def _stages(main: dict[str, Any]) -> list[str]:
    """CPU seconds per stage of the SQLite run."""
    lines = ["", f"  CPU seconds per stage (SQLite run, {main['entries']} articles; stored "
             f"{main['stored']} of {main['on_story_served']} on-story served):"]  # fmt: skip
    total = main["cpu_s"]
    for stage in STAGE_ORDER:
        seconds = main["stages"].get(stage, 0.0)
        per = 1000 * seconds / max(1, main["entries"])
        lines.append(f"    {stage:12} {seconds:8.2f} s {100 * seconds / total:5.1f} %  "
                     f"{per:6.2f} ms/article")  # fmt: skip
    lines.append(f"    {'total':12} {total:8.2f} s")
    return lines


def _targets(targets: dict[str, Any]) -> list[str]:
    lines = ["", "  targets:"]
    for name, target in targets.items():
        verdict = "met" if target["met"] else "MISSED"
        why = "" if target["met"] or "held_back_by" not in target else (
            f" — held back by {target['held_back_by']}")  # fmt: skip
        lines.append(f"    {name:22} {target['value']!s:>8} ({target['target']}): {verdict}{why}")
    return lines


def _issue_lines(issue: dict[str, Any]) -> list[str]:
    if not issue:
        return []
    lines = ["", "  per-issue benchmarks:"]
    d, f, s, c = (issue.get(k, {}) for k in ("dedup", "framing", "search", "crawl"))
    if d and "error" not in d:
        lines.append(f"    dedup: {d['articles']} articles, {d['articles_per_s_last_slice']:.0f}"
                     f"/s per core (last 1,000), {d['near_duplicates_found']} copies found, "
                     f"peak {d['peak_rss_mb']} MB, load {d['load_average'][0]}")  # fmt: skip
    if f and "error" not in f:
        lines.append(f"    framing: {f['articles_per_s']:.0f} articles/s on one core "
                     f"({f['mean_words']:.0f} words), load {f['load_average'][0]}")  # fmt: skip
    if s and "error" not in s:
        for key, value in s.items():
            if isinstance(value, dict) and "overall" in value:
                o = value["overall"]
                lines.append(f"    search {key}: p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms "
                             f"(load {value['load_average']:.1f})")  # fmt: skip
    if c and "error" not in c:
        lines.append(f"    crawl: {c['pages']} pages, bare Scrapy "
                     f"{c['bare_scrapy']['pages_per_s']:.0f}/s, Scrapy with the stages "
                     f"{c['scrapy_stages']['pages_per_s']:.1f}/s, framewatch "
                     f"{c['framewatch']['pages_per_s']:.1f}/s (vs bare {c['ratio']:.3f}, vs "
                     f"stages {c['crawl_vs_scrapy_stages']:.3f}), "
                     f"load {c['load_average'][0]}")  # fmt: skip
        if c.get("many_sites"):
            from bench.perf.many_sites import describe

            lines.append(f"    {describe(c['many_sites'])}")
    for name, value in issue.items():
        if isinstance(value, dict) and "error" in value:
            lines.append(f"    {name}: FAILED — {value['error'].splitlines()[0][:200]}")
    return lines
