"""Helpers the tests share (not test files): fixture webs, corpora and hostile inputs.

- ``synthweb``: the synthetic news web (articles in five languages, pages, feeds,
  sitemaps, a server in its own process), also what the benchmarks in ``bench`` read;
- ``hostile``: address forms, a canary listener, a socket spy, bombs, XML attacks and
  misbehaving server routes (also used by ``bench.stress.hardening``);
- ``crawlsite``: the crawl fixture site (``tests/data/crawlsite``) and its bad routes;
- ``search_corpus``, ``digest_coverage``, ``phrase_month``: known stored coverage for
  the search and API, digest, and emerging-phrase tests.
"""
