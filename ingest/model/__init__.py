"""The values every layer shares, and nothing else: items between stages (``items``),
errors (``errors``), the story query language and text folding (``query``), and the value
records of frames (``frames``), flags (``flags``), near-duplicates (``dedup``), clusters
(``clusters``), digests (``digest``) and store outages (``outages``).

A leaf: imports nothing of framewatch (standard library and numpy only).
"""
