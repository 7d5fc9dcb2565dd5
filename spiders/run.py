"""One crawl process: ``python -m spiders.run --job FILE`` (started by :mod:`ingest.sources.crawl`).

The job file holds the validated settings and the sites to crawl, each with its source id
and stats file. Every site gets its own spider (its own crawler: downloader, politeness,
time limit, stats) in one Scrapy run, one reactor; they share the store, its writer
thread and its worker processes. The process exits when the last spider has closed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.config.settings import settings_from_mapping
from ingest.model.errors import FramewatchError
from ingest.sources.crawl import CrawlJob


def run_job(job: CrawlJob) -> None:
    from scrapy.crawler import CrawlerProcess

    from spiders.news import NewsSiteSpider
    from spiders.settings import crawl_settings, process_settings
    from spiders.store import CrawlStore

    settings = settings_from_mapping(job.settings, origin="crawl job")
    # the config file's place is not part of the dump; relative paths are resolved from it
    settings = settings.model_copy(update={"source_path": job.config_path})
    sites = [(settings.site(site.site), site) for site in job.sites]
    store = CrawlStore.open(settings, {site.site: site.source_id for site in job.sites})
    try:
        process = CrawlerProcess(process_settings(settings, job.log_level))
        for site, site_job in sites:
            own = crawl_settings(
                settings,
                site,
                store=store,
                refresh=job.refresh,
                stats_path=site_job.stats_path,
                time_limit_s=job.soft_limit_s,
                log_level=job.log_level,
            )
            crawler = process.create_crawler(NewsSiteSpider)  # the first installs the reactor
            crawler.settings.setdict(own, priority="spider")  # this site's, over the process's
            process.crawl(crawler)
        process.start()
    finally:
        try:
            store.finish()  # what was stored gets its flags, however the crawl ended
        finally:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.run", description=__doc__)
    parser.add_argument("--job", required=True, type=Path, help="the crawl job (JSON)")
    args = parser.parse_args(argv)
    try:
        run_job(CrawlJob.read(args.job))
    except FramewatchError as exc:
        print(f"framewatch crawl: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
