"""Site-crawl throughput: framewatch's crawl against Scrapy, and many small sites at once.

    python -m bench.perf.crawl [--pages 1000] [--concurrency 16] [--sites 100] [--json PATH]

About 1,000 article pages of the synthetic news web (``tests.support.synthweb``: about
30 kB of HTML each, a 450-word body in one of five languages, mostly on the story, some
near copies) are served on 127.0.0.1 with a sitemap listing them all. Three crawls run in
the same run, each in its own process, all at the same concurrency with AutoThrottle off
and robots.txt obeyed:

* **bare Scrapy**: a trivial sitemap spider whose callback does nothing (download only);
* **Scrapy with the stages**: the same spider whose callback does every library stage of
  the stage floor (``bench.perf.baselines.StageFloor``: extraction, language, relevance,
  MinHash and LSH, framing, cluster terms, SQLite + FTS5), one process, one core;
* **framewatch**: the real path, ``ingest.sources.crawl.crawl_sites`` — the news spider,
  known-link lookups, the pipeline's pure part in its worker processes, dedup, clusters,
  frames and storage into a fresh SQLite file.

Then **many sites**: ``--sites`` small outlets (a listing page and ``--site-pages``
articles each, and a feed of the same articles), crawled by framewatch in one crawl (as
configured: AutoThrottle on) against polling their feeds (which fetches the same pages),
each into a fresh SQLite file, served without delay; then crawled again, unchanged.

Rates are pages per second between the spider opening and closing (process start-up is
reported apart). Extraction alone on one core is shown too, since it is where the time
goes. The machine's core count is printed: Scrapy's reactor and the pipeline's thread
share one Python process, so the framewatch rate is bound by one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.perf import many_sites
from tests.support import synthweb


def generate_site(root: Path, pages: int, seed: int = 7) -> list[Path]:
    """``pages`` article pages of the synthetic news web at ``/news/story-NNNNN.html``, and
    a sitemap listing them all."""
    files, paths = [], []
    for page in synthweb.make_pages(pages, seed):
        path = f"/news/story-{page.n:05d}.html"
        synthweb.write_files(root, {path: synthweb.render_page(page, path)})
        files.append(root / path.lstrip("/"))
        paths.append(path)
    synthweb.write_files(root, {"/sitemap.xml": synthweb.sitemap_xml(paths)})
    return files


# --- the bare spider (its own process: python -m bench.perf.crawl --bare URL) -----------


def run_bare(sitemap_url: str, concurrency: int, stats_path: Path, stages: bool = False) -> None:
    """The bare sitemap spider; ``stages``: its callback does the stage floor's work."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.http import Response
    from scrapy.spiders import SitemapSpider

    from bench.perf.baselines import StageFloor

    floor = StageFloor(str(stats_path.with_suffix(".db"))) if stages else None

    class BareSpider(SitemapSpider):
        name = "bare"

        def parse(self, response: Response) -> None:
            if floor is not None:
                floor.process(response.url, response.body)

    process = CrawlerProcess(
        {
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": True,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    timing: dict[str, float] = {}
    crawler = process.create_crawler(BareSpider)

    def opened() -> None:
        timing["opened"] = time.monotonic()

    def closed() -> None:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        pages = int(stats.get("response_received_count", 0))
        elapsed = time.monotonic() - timing["opened"]
        stored = floor.stored if floor is not None else 0
        if floor is not None:
            floor.db.commit()
        stats_path.write_text(
            json.dumps({"responses": pages, "elapsed_s": elapsed, "stored": stored})
        )

    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, sitemap_urls=[sitemap_url])
    process.start()


def bare_rate(
    sitemap_url: str, concurrency: int, workdir: Path, stages: bool = False
) -> dict[str, Any]:
    stats_path = workdir / ("stages.json" if stages else "bare.json")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "bench.perf.crawl", "--bare", sitemap_url,
         "--stats", str(stats_path), "--concurrency", str(concurrency),
         *(["--stages"] if stages else [])],
        check=True,
    )  # fmt: skip
    data = json.loads(stats_path.read_text())
    pages = data["responses"] - 2  # robots.txt and the sitemap
    return {"pages": pages, "seconds": data["elapsed_s"], "wall_s": time.monotonic() - started,
            "stored": data["stored"]}  # fmt: skip


def framewatch_rate(base: str, pages: int, concurrency: int, workdir: Path) -> dict[str, Any]:
    from ingest.config.settings import settings_from_mapping
    from ingest.sources.crawl import crawl_sites
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    settings = settings_from_mapping(
        {
            "database": {"url": f"sqlite:///{workdir / 'bench.db'}"},
            "fetch": {"allow_private_addresses": True, "concurrency": concurrency},
            "crawl": {"autothrottle": False, "time_limit": "30m"},
            "sites": [
                {
                    "name": "bench-daily",
                    "sitemap_urls": [f"{base}/sitemap.xml"],
                    "article_pattern": r"/news/story-\d+\.html$",
                    "max_pages": pages + 10,
                }
            ],
        }
    )
    engine = make_engine(settings.database.url)
    migrate.upgrade(engine)
    cpu0 = _children_cpu()
    [report] = crawl_sites(settings, make_session_factory(engine))
    cpu = _children_cpu() - cpu0
    engine.dispose()
    if report.status != "finished":
        raise SystemExit(f"framewatch crawl {report.status}: {report.stop_reason}")
    return {
        "pages": report.pages - 1,  # the sitemap
        "seconds": report.spider_ms / 1000,
        "wall_s": report.duration_ms / 1000,
        "new_articles": report.new_articles,
        "errors": report.errors,
        "cpu_s": round(cpu, 3),  # the crawl process and its workers
    }


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def extraction_rate(files: list[Path], limit: int = 300) -> float:
    from ingest.pipeline.extract import extract_article

    sample = [f.read_bytes() for f in files[:limit]]
    extract_article(sample[0], "http://127.0.0.1/warm-up")
    started = time.perf_counter()
    for n, body in enumerate(sample):
        extract_article(body, f"http://127.0.0.1/news/story-{n:05d}.html")
    return len(sample) / (time.perf_counter() - started)


def run(pages: int, concurrency: int, sites: int = 100, site_pages: int = 5) -> dict[str, Any]:
    from ingest.demo.webfixture import FixtureServer

    with tempfile.TemporaryDirectory(prefix="framewatch-bench-") as tmp:
        work = Path(tmp)
        files = generate_site(work / "site", pages)
        with FixtureServer(work / "site") as server:
            sitemap = f"{server.base_url}/sitemap.xml"
            bare = bare_rate(sitemap, concurrency, work)
            stages = bare_rate(sitemap, concurrency, work, stages=True)
            framewatch = framewatch_rate(server.base_url, pages, concurrency, work)
        extract = extraction_rate(files)
        many = many_sites.run(work, sites, site_pages) if sites else None
    for result in (bare, stages, framewatch):
        result["pages_per_s"] = result["pages"] / result["seconds"]
    return {
        "pages": pages,
        "concurrency": concurrency,
        "cpu_cores": os.cpu_count(),
        "bare_scrapy": bare,
        "scrapy_stages": stages,
        "framewatch": framewatch,
        "extraction_only_pages_per_s": extract,
        "ratio": framewatch["pages_per_s"] / bare["pages_per_s"],
        "crawl_pages_per_s": round(framewatch["pages_per_s"], 2),
        "crawl_vs_scrapy_stages": round(framewatch["pages_per_s"] / stages["pages_per_s"], 3),
        "many_sites": many,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"crawl benchmark: {result['pages']} article pages on 127.0.0.1, "
        f"{result['concurrency']} concurrent requests, {result['cpu_cores']} CPU cores"
    )
    print(f"{'':34}{'pages':>7}{'seconds':>10}{'pages/s':>10}{'wall s':>9}")
    for label, key in (("bare Scrapy (download only)", "bare_scrapy"),
                       ("framewatch (extract + store)", "framewatch")):  # fmt: skip
        r = result[key]
        print(f"{label:34}{r['pages']:>7}{r['seconds']:>10.2f}{r['pages_per_s']:>10.1f}"
              f"{r['wall_s']:>9.1f}")  # fmt: skip
    r = result["scrapy_stages"]
    print(f"{'Scrapy with the stages':34}{r['pages']:>7}{r['seconds']:>10.2f}"
          f"{r['pages_per_s']:>10.1f}{r['wall_s']:>9.1f}")  # fmt: skip
    print(f"{'ratio framewatch / bare':34}{'':27}{result['ratio']:>10.3f}")
    print(f"{'ratio framewatch / Scrapy + stages':34}{'':27}"
          f"{result['crawl_vs_scrapy_stages']:>10.3f}")  # fmt: skip
    print(f"{'extraction alone, one core':34}{'':17}{result['extraction_only_pages_per_s']:>10.1f}")
    print(f"framewatch stored {result['framewatch']['new_articles']} new articles; "
          f"problems: {result['framewatch']['errors'] or 'none'}")  # fmt: skip
    if many := result.get("many_sites"):
        print(many_sites.describe(many))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sites", type=int, default=100, help="many-sites crawl (0: skip)")
    parser.add_argument("--site-pages", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--bare", help=argparse.SUPPRESS)  # internal: the bare spider process
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(args.bare, args.concurrency, args.stats, args.stages)
        return
    result = run(args.pages, args.concurrency, args.sites, args.site_pages)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
