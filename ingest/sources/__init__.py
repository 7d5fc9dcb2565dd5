"""Where items come from, in flow order: feed parsing with bounded work (``feeds``,
``feedlimits``, ``xmlguard``), one feed's network side (``harvest``), a poll of all due
feeds that hands items to the pipeline and ends the batch (``poll``), and site crawls in
child processes (``crawl``; the spiders themselves are the ``spiders`` package).

May import: ``ingest.pipeline`` and everything below it, ``storage``.
"""
