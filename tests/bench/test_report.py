"""``python -m bench`` rewrites ``docs/benchmarks.md``: the runs' sections, and what is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.__main__ as report

PREVIOUS = """# Benchmarks

Header of the last run.

<!-- bench:alpha -->
## Alpha

old alpha figures

<!-- bench:beta -->
## Beta

beta figures

<!-- history -->
## Earlier runs

| run | ratio |
|---|---|
| 1 | 1.5× |
"""


@pytest.fixture
def output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "benchmarks.md"
    path.write_text(PREVIOUS, "utf-8")
    monkeypatch.setattr(report, "OUTPUT", path)
    return path


def test_the_sections_of_the_last_runs_are_read_without_the_hand_written_part(
    output: Path,
) -> None:
    assert report.previous_sections() == {
        "alpha": "## Alpha\n\nold alpha figures",
        "beta": "## Beta\n\nbeta figures",
    }
    assert report.kept_part() == "## Earlier runs\n\n| run | ratio |\n|---|---|\n| 1 | 1.5× |"


def test_a_new_run_replaces_its_section_and_keeps_the_others_and_the_hand_written_part(
    output: Path,
) -> None:
    sections = report.previous_sections()
    sections["alpha"] = "## Alpha\n\nnew alpha figures"
    text = report.render(sections, report.kept_part())
    output.write_text(text, "utf-8")

    assert "new alpha figures" in text and "old alpha figures" not in text
    assert report.previous_sections()["beta"] == "## Beta\n\nbeta figures"
    assert report.kept_part() == "## Earlier runs\n\n| run | ratio |\n|---|---|\n| 1 | 1.5× |"
    assert text.index("<!-- bench:beta -->") < text.index("<!-- history -->")


def test_without_a_hand_written_part_nothing_is_added(output: Path) -> None:
    output.write_text(PREVIOUS.split("<!-- history -->")[0], "utf-8")
    assert report.kept_part() == ""
    assert "<!-- history -->" not in report.render(report.previous_sections(), "")
