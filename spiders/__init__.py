"""framewatch's Scrapy project: site crawls for outlets without usable feeds.

A crawl runs in its own process (``python -m spiders.run``, started by
:mod:`ingest.sources.crawl`), every site of it at once with its own spider, with settings
taken from framewatch's config:

- :mod:`spiders.news` — the config-driven news-site spider (listings, pagination, sitemaps);
- :mod:`spiders.links` and :mod:`spiders.sitemaps` — pure link and sitemap reading;
- :mod:`spiders.middlewares` — the SSRF guard and retries with backoff;
- :mod:`spiders.pipelines` — hands every page to :meth:`ingest.pipeline.run.Pipeline.ingest`;
- :mod:`spiders.store` — the crawl's door to the database (one writer thread) and to the
  pipeline's worker processes;
- :mod:`spiders.extensions` — writes the run's stats for the parent to record.

Spiders never write to the database themselves: pages become items, and items go
through the ingest pipeline like every feed entry does.
"""
