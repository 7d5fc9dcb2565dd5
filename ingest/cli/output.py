"""Machine-readable output: json, jsonl and csv writers over streams of records."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

MACHINE_FORMATS = ("json", "jsonl", "csv")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # nested values stay parseable
    return "" if value is None else value


def write_records(
    records: Iterable[dict[str, Any]], fmt: str, out: TextIO, fields: Sequence[str] = ()
) -> int:
    """Write records in ``fmt``; returns how many were written. Streams jsonl and csv."""
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "json":
        out.write("[")
        for record in records:
            out.write(("," if count else "") + "\n" + json.dumps(record, ensure_ascii=False))
            count += 1
        out.write("\n]\n")
    elif fmt == "csv":
        writer: csv.DictWriter[str] | None = None
        for record in records:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(fields or record.keys()))
                writer.writeheader()
            writer.writerow({k: _csv_cell(v) for k, v in record.items()})
            count += 1
        if writer is None and fields:
            csv.DictWriter(out, fieldnames=list(fields)).writeheader()
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(MACHINE_FORMATS)}")
    return count
