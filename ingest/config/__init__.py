"""Configuration: the one typed, frozen settings object loaded from TOML (``settings``),
the built-in stories' queries (``stories``), and the edits the tool makes to a config file
itself (``edit``).

May import: ``ingest.model``.
"""
