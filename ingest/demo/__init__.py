"""`framewatch demo`: the bundled offline sample news web (``data/``), the static
loopback server that serves it (``webfixture``, also used by tests and benchmarks) and
the demo run (``run``).

May import: ``ingest.service``, ``ingest.web`` and everything below them.
"""
