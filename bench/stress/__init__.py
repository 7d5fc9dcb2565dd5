"""Stress trials: framewatch under kills, contention and hostile input, judged pass/fail.

Each runs as ``python -m bench.stress.<name>`` and has a short CI variant in the tests:
``crash`` (SIGKILL at random moments, then the store checked against the expected set),
``contention`` (one writer, readers and a one-shot poll on one database), ``hardening``
(the SSRF guard, bombs, slow servers, XML attacks, the corpora) and ``fuzz_feeds``
(mutation fuzzing of the feed reader). Fixture webs come from ``tests.support.synthweb``,
hostile servers and inputs from ``tests.support.hostile``.
"""
