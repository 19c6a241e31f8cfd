"""Run the benchmarks and write ``docs/benchmarks.md``.

Usage: ``python -m bench [NAME ...]`` (``make bench`` runs them all). Each module
``bench/bench_<name>.py`` exposes ``run() -> str`` returning a Markdown section with
its figures; sections of benchmarks not run this time are kept from the previous file,
and so is everything after the ``<!-- history -->`` line at its end (earlier runs and
their reading, written by hand), word for word.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "benchmarks.md"
MARK = re.compile(r"^<!-- bench:(\w+) -->$", re.M)
HISTORY = "<!-- history -->"


def available() -> list[str]:
    """Names of the benchmark modules in ``bench/``."""
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def _previous() -> tuple[str, str]:
    """The current ``docs/benchmarks.md``: its runs' part and its hand-written part."""
    if not OUTPUT.exists():
        return "", ""
    runs, _, kept = OUTPUT.read_text("utf-8").partition(f"\n{HISTORY}\n")
    return runs, kept.strip()


def kept_part() -> str:
    """What follows ``HISTORY`` in the current file (empty when nothing does)."""
    return _previous()[1]


def previous_sections() -> dict[str, str]:
    """The sections of the current ``docs/benchmarks.md``, by benchmark name."""
    text = _previous()[0]
    marks = list(MARK.finditer(text))
    sections = {}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        sections[mark.group(1)] = text[mark.end() : end].strip()
    return sections


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default) and rewrite the report."""
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"Unknown benchmarks: {', '.join(unknown)}. Available: {', '.join(available())}")
        return 2
    sections = previous_sections()
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        section = module.run()
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        took = time.perf_counter() - started
        sections[name] = f"{section.strip()}\n\n_Measured {stamp}, {took:.0f} s._"
        print(section, flush=True)
    OUTPUT.write_text(render(sections, kept_part()), "utf-8")
    print(f"Wrote {OUTPUT.relative_to(ROOT)}")
    return 0


def render(sections: dict[str, str], kept: str) -> str:
    """The whole file: the header, the sections by name, then the hand-written part."""
    header = (
        "# Benchmarks\n\n"
        "Written by `make bench` (`python -m bench`). Every figure compares the product "
        "with a bare baseline started in the same run on the same machine, so the ratios "
        "are what matters; absolute numbers depend on the machine.\n\n"
        f"Machine of the last run: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs.\n"
    )
    body = "\n\n".join(f"<!-- bench:{name} -->\n{sections[name]}" for name in sorted(sections))
    tail = f"\n{HISTORY}\n{kept}\n" if kept else ""
    return f"{header}\n{body}\n{tail}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
