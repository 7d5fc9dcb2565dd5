"""The one path every item takes, in flow order: article extraction (``extract``), URL
identity (``urls``), normalisation (``normalize``), story relevance (``relevance``), the
pure part computed ahead of the writer (``prepare``, in worker processes: ``workers``,
``warmup``), near-duplicates (``dedup``) and event clusters (``clusters``), and the run
object that stores an item and ends a batch (``run.Pipeline``).

May import: ``ingest.flags``, ``ingest.digest``, ``ingest.framing``, ``ingest.fetch``,
``ingest.config``, ``storage``, ``ingest.model``.
"""
