"""Finding WFDB records: record paths from files, lists of them and directories."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_SIGNAL_EXTENSIONS = (".hea", ".dat", ".mat")


def _record_base(path: str) -> str:
    """A record path without its ``.hea``/``.dat``/``.mat`` extension."""
    root, ext = os.path.splitext(path)
    return root if ext.lower() in _SIGNAL_EXTENSIONS else path


def _find_records(source: Any, pattern: str | None) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        items: Iterable[Any] = [source]
    elif isinstance(source, Iterable):
        items = list(source)
        if not items:
            raise ValueError("No WFDB records given: the list of paths is empty.")
    else:
        raise ValueError(
            "paths_or_directory must be a directory, a record path or a list of them, "
            f"got {type(source).__name__}."
        )
    paths: list[str] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ValueError(f"Record paths must be strings or os.PathLike, got {item!r}.")
        item = os.fspath(item)
        if os.path.isdir(item):
            found = _scan_directory(item, pattern or "*.hea")
            if not found:
                raise ValueError(
                    f"No WFDB records ({pattern or '*.hea'} header files) found in directory "
                    f"{os.path.abspath(item)}."
                )
            paths.extend(found)
        else:
            paths.append(os.path.abspath(_record_base(item)))
    return paths


def _scan_directory(directory: str, pattern: str) -> list[str]:
    """Record paths (without extension) of the headers under ``directory``, sorted.

    Headers of multi-segment records name their segments; those segment headers
    (and the layout segment) are read as part of their record, not on their own.
    """
    headers = sorted(str(p) for p in Path(directory).rglob(pattern) if p.is_file())
    headers = [h for h in headers if h.lower().endswith(".hea")]
    segments: set[str] = set()
    for header in headers:
        lines = _header_lines(header, max_bytes=1 << 16)
        if not lines:
            continue
        first = lines[0].split()
        if first and "/" in first[0]:  # "name/n_segments": a multi-segment record
            folder = os.path.dirname(header)
            for line in lines[1:]:
                seg = line.split()[0] if line.split() else ""
                if seg and seg != "~":
                    segments.add(os.path.abspath(os.path.join(folder, seg)))
    records = [os.path.abspath(h[:-4]) for h in headers]
    return [r for r in records if r not in segments]


def _header_lines(header: str, max_bytes: int | None = None) -> list[str]:
    """Non-empty, non-comment lines of a header file ([] when unreadable)."""
    try:
        with open(header, encoding="latin-1") as f:
            text = f.read(max_bytes) if max_bytes else f.read()
    except OSError:
        return []
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
