"""One crawl process: ``python -m spiders.run --job FILE`` (started by :mod:`ingest.sources.crawl`).

The job file holds the validated settings, the site's name and its source id. The process
crawls that one site and exits; its stats go to the job's stats file.
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
    from spiders.settings import crawl_settings
    from spiders.store import CrawlStore

    settings = settings_from_mapping(job.settings, origin="crawl job")
    # the config file's place is not part of the dump; relative paths are resolved from it
    settings = settings.model_copy(update={"source_path": job.config_path})
    site = settings.site(job.site)
    store = CrawlStore.open(settings, job.source_id)
    try:
        process = CrawlerProcess(
            crawl_settings(
                settings,
                site,
                store=store,
                refresh=job.refresh,
                stats_path=job.stats_path,
                time_limit_s=job.soft_limit_s,
                log_level=job.log_level,
            )
        )
        process.crawl(NewsSiteSpider)
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
