"""The daily digest: what it shows (``views``), rendering to HTML, Markdown and Atom
(``render``, templates in ``templates/``), writing it on schedule (``job``) and mailing it
(``mail``).

May import: ``ingest.framing``, ``ingest.fetch``, ``ingest.config``, ``storage``,
``ingest.model``.
"""
