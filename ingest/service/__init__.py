"""`framewatch run`: the scheduler service (``runner``), its single-instance lock
(``lock``), metrics and health endpoint (``metrics``) and logging set-up (``logs``).

May import: ``ingest.sources`` and everything below it, ``storage``.
"""
