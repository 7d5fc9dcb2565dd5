"""framewatch: follow one news story across outlets and languages and see how it is framed."""

__version__ = "0.1.0"
