"""Performance benchmarks: how fast framewatch is and what it costs, on this machine.

``harness`` runs them together behind ``python -m bench`` (``e2e``: framewatch end to end
on the synthetic web; ``baselines``: the library floor and a plain sequential script;
``report``: the printed table); the per-stage benchmarks also run on their own as
``python -m bench.perf.<name>``: ``dedup``, ``flags``, ``framing``, ``search``, ``crawl``
and ``service`` (the service's steady state). Fixture webs come from
``tests.support.synthweb``.
"""
