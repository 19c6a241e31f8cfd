"""Find the line of a TOML document where a value (given by its path) is written.

tomllib returns plain data without positions; validation errors name a path such
as ``("pillars", 2, "topics", 0, "name")``. This module scans the text once and
records the line of every table header, key and array item, so errors can name
their line.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\")(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"))*)\s*="
)


def _split_key(raw: str) -> list[str]:
    return [part.strip().strip('"') for part in raw.split(".")]


def line_index(text: str) -> dict[Path, int]:
    """Map each path written in ``text`` to its 1-based line number."""
    index: dict[Path, int] = {}
    arrays: dict[Path, int] = {}
    current: Path = ()
    in_multiline: str | None = None
    open_array: Path | None = None
    item = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        stripped = line.strip()
        if open_array is not None:
            if stripped.startswith("{"):
                index.setdefault((*open_array, item), number)
                item += 1
            if stripped.startswith("]"):
                open_array = None
            continue
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            path: list[str | int] = []
            for name in names[:-1]:
                path.append(name)
                if tuple(path) in arrays:
                    path.append(arrays[tuple(path)])
            path.append(names[-1])
            if header.group(1) == "[[":
                key = tuple(path)
                arrays[key] = arrays.get(key, -1) + 1
                # a new parent item restarts the numbering of its children
                for other in list(arrays):
                    if len(other) > len(key) and other[: len(key)] == key:
                        del arrays[other]
                path.append(arrays[key])
            current = tuple(path)
            index.setdefault(current, number)
            continue
        key_match = _KEY.match(line)
        if key_match:
            where = (*current, *_split_key(key_match.group(1)))
            index.setdefault(where, number)
            rest = line[key_match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
            if rest.strip().startswith("[") and "]" not in rest:
                open_array, item = where, 0
    return index


def find_line(index: dict[Path, int], path: Path) -> int | None:
    """The line of ``path`` or of its closest written ancestor."""
    for end in range(len(path), 0, -1):
        line = index.get(tuple(path[:end]))
        if line is not None:
            return line
    return None
