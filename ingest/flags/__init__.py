"""Flags for new framings, judged on the story's timeline: the rules (``rules``),
emerging phrases (``emerging``), a story's frames over time (``timeline``), and keeping
stored frames and flags up to date: refresh, rescore, promote (``refresh``).

May import: ``ingest.framing``, ``ingest.fetch``, ``ingest.config``, ``storage``,
``ingest.model``.
"""
