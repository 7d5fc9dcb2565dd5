"""framewatch's benchmarks and stress trials (not shipped; run from the project folder).

- ``python -m bench [--quick] [--json PATH]``: the benchmark harness, every performance
  figure in one run and one report (``bench/__main__.py``);
- ``bench.perf``: the performance benchmarks, each also run on its own as
  ``python -m bench.perf.<name>``;
- ``bench.stress``: the reliability trials (crash safety, contention, hostile inputs,
  fuzzing), each run as ``python -m bench.stress.<name>``.

The synthetic news web they all read, and the hostile servers and inputs, live in
``tests.support`` (``synthweb``, ``hostile``), shared with the tests.
"""
