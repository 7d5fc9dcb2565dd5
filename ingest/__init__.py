"""framewatch: follow one news story across outlets and languages and see how it is framed.

The packages, in the order an item flows through them (each may import only the ones
listed after it; ``make test`` checks this with import-linter, see pyproject.toml):

* ``cli``, ``demo``, ``service``, ``web`` -- interfaces: the command line, the offline
  demo, the long-running service, the HTTP API and web page;
* ``sources`` -- where items come from: feed polls (conditional GET, parse, harvest) and
  site crawls (the Scrapy project in ``spiders/`` runs in child processes);
* ``pipeline`` -- the one path every item takes: extract, normalise, relevance, dedup,
  clusters, store (``pipeline.run.Pipeline``), with worker processes for the pure work;
* ``digest``, ``flags`` -- what is read off the stored timeline: daily digests, flags;
* ``framing``, ``fetch`` -- frames with voice and evidence; HTTP with hard limits;
* ``config`` -- the settings object and the built-in stories;
* ``storage`` (top-level package) -- SQLAlchemy models, queries, search;
* ``model`` -- the values every layer shares; imports nothing of ours.
"""

__version__ = "0.1.0"
