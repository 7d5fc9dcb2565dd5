"""The HTTP API (``api``, response models in ``models``) and the server-rendered web
page (``pages``, templates in ``templates/``); reading user input into queries and
filters (``searching``).

May import: ``ingest.sources`` and everything below it, ``storage``.
"""
