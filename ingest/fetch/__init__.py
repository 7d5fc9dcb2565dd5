"""HTTP fetching with hard limits (``client``): the SSRF guard and total deadline on the
socket (``netguard``), bounded decompression (``decoding``).

May import: ``ingest.config``, ``ingest.model``.
"""
