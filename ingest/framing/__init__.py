"""Framing: which of a codebook's frames an article uses, in whose voice, with evidence.
Text units (``sentences``), each language's speech words (``resources``), who speaks
(``speakers``), voice rules (``voice``), speech as the reading goes on (``speech``),
codebooks (``codebook``, the built-in ones in ``codebooks/``), detection (``detect``),
own-voice phrases (``phrases``) and one story's reading of an article, stored by
``reading.frame_article``.

May import: ``ingest.config``, ``storage``, ``ingest.model``.
"""
