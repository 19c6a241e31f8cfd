"""The publication rule: no count in 1..k-1, and no hidden cell recoverable from the margins.

The attacker here is written independently of the rule: it enumerates every table of
non-negative integers that agrees with what was published (the visible cells and the
exact totals of each line) and looks at the values a hidden cell takes among them.
A second, stronger attacker also knows the rule itself: it keeps only the tables
that the rule would have published the same way.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmd_domain.publication import HIDDEN, crosstab, series

K = 5


def _assert_no_small(published: Sequence[object], k: int = K) -> None:
    for value in published:
        assert value == HIDDEN or (isinstance(value, int) and (value == 0 or value >= k)), value


def _fill(
    budget: list[int], slots: list[int], lines: list[list[int]], of_line: list[list[int]]
) -> Iterator[dict[int, int]]:
    """Every assignment of the hidden ``slots`` that meets each line's remaining ``budget``."""
    if not slots:
        if all(b == 0 for b in budget):
            yield {}
        return
    slot, rest = slots[0], slots[1:]
    cap = min(budget[line] for line in of_line[slot])
    for value in range(cap + 1):
        for line in of_line[slot]:
            budget[line] -= value
        # a line whose hidden slots are all assigned must be exactly met
        if all(budget[line] == 0 or any(s in rest for s in lines[line]) for line in of_line[slot]):
            for found in _fill(budget, rest, lines, of_line):
                yield {slot: value, **found}
        for line in of_line[slot]:
            budget[line] += value


def consistent_values(
    true: Sequence[int], published: Sequence[object], lines: list[list[int]]
) -> dict[int, set[int]]:
    """For each hidden cell, the values it takes over all tables that match the publication."""
    hidden = [i for i, v in enumerate(published) if v == HIDDEN]
    of_line: list[list[int]] = [[] for _ in true]
    for number, line in enumerate(lines):
        for cell in line:
            of_line[cell].append(number)
    budget = [
        sum(true[c] for c in line) - sum(int(published[c]) for c in line if c not in hidden)  # type: ignore[call-overload]
        for line in lines
    ]
    seen: dict[int, set[int]] = {i: set() for i in hidden}
    for found in _fill(budget, hidden, lines, of_line):
        for cell, value in found.items():
            seen[cell].add(value)
    return seen


def _grid_lines(rows: int, cols: int, *, with_rows: bool) -> list[list[int]]:
    lines = [[r * cols + c for r in range(rows)] for c in range(cols)]
    if with_rows:
        lines += [[r * cols + c for c in range(cols)] for r in range(rows)]
    return lines


def _check_hidden(true: Sequence[int], published: Sequence[object], lines: list[list[int]]) -> None:
    for cell, values in consistent_values(true, published, lines).items():
        line_totals = [sum(true[c] for c in line) for line in lines if cell in line]
        if min(line_totals) == 0:
            continue  # an empty line: the cell is 0 and nobody is behind it
        assert len(values) >= 2, (true, published, cell, values)
        if true[cell] < K:
            # a reserved cell under k might as well be empty: "reservado" never means "at least one"
            assert 0 in values, (true, published, cell, values)


def test_a_series_never_shows_a_count_under_k() -> None:
    assert series([2, 1, 0, 1], K) == [HIDDEN, HIDDEN, HIDDEN, HIDDEN]  # four people: all reserved
    assert series([0, 0, 0], K) == [0, 0, 0]
    assert series([12, 0, 7], K) == [12, 0, 7]
    published = series([30, 27, 1, 0], K)
    _assert_no_small(published)
    assert published[2] == HIDDEN and published.count(HIDDEN) >= 2
    assert series([40, 3, 9, 0], K)[0] == 40  # the smallest cell that suffices is reserved


def test_the_known_case_of_the_issue_cannot_be_recovered() -> None:
    # 57 participants: 30 women, 26 men, 1 non-binary person; nobody skipped
    true = [30, 26, 1, 0]
    published = series(true, K)
    values = consistent_values(true, published, [list(range(4))])
    assert len(values[2]) >= 2 and 0 in values[2]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 9), min_size=2, max_size=5))
def test_series_hidden_cells_are_never_pinned(true: list[int]) -> None:
    published = series(true, K)
    _assert_no_small(published)
    assert len(published) == len(true)
    for value, original in zip(published, true, strict=True):
        assert value in (HIDDEN, original)
    _check_hidden(true, published, [list(range(len(true)))])


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    st.integers(2, 3).flatmap(
        lambda rows: st.integers(2, 6 // rows).flatmap(
            lambda cols: st.tuples(
                st.just(rows),
                st.just(cols),
                st.lists(st.integers(0, 6), min_size=rows * cols, max_size=rows * cols),
            )
        )
    )
)
def test_crosstab_hidden_cells_are_never_pinned(shape: tuple[int, int, list[int]]) -> None:
    rows, cols, flat = shape
    cells = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
    published = [value for row in crosstab(cells, K) for value in row]
    _assert_no_small(published)
    # what is published: the cells and the column totals (proposals per pillar)
    _check_hidden(flat, published, _grid_lines(rows, cols, with_rows=False))
    # a row with a reserved cell has another one (a guard should row totals be published)
    for r in range(rows):
        reserved = [v for v in published[r * cols : (r + 1) * cols] if v == HIDDEN]
        visible = [
            c
            for c in range(cols)
            if published[r * cols + c] != HIDDEN
            and cells[r][c]
            and sum(cells[x][c] for x in range(rows))
        ]
        assert len(reserved) != 1 or not visible, (cells, published)


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    for cuts in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *cuts, total + parts - 1)
        yield tuple(edges[i + 1] - edges[i] - 1 for i in range(parts))


@pytest.mark.parametrize("parts", [3, 4])
def test_an_attacker_who_knows_the_rule_cannot_pin_a_series_cell(parts: int) -> None:
    for total in range(1, 16):
        outputs: dict[tuple[object, ...], list[tuple[int, ...]]] = defaultdict(list)
        for table in _compositions(total, parts):
            outputs[tuple(series(list(table), K))].append(table)
        for published, tables in outputs.items():
            for cell, value in enumerate(published):
                if value == HIDDEN:
                    assert len({t[cell] for t in tables}) >= 2, (total, published, tables)


def test_an_attacker_who_knows_the_rule_cannot_pin_a_crosstab_cell() -> None:
    rows, cols = 2, 3
    for total in range(1, 9):
        outputs: dict[tuple[object, ...], list[tuple[int, ...]]] = defaultdict(list)
        for flat in _compositions(total, rows * cols):
            cells = [list(flat[r * cols : (r + 1) * cols]) for r in range(rows)]
            published = tuple(v for row in crosstab(cells, K) for v in row)
            margins = tuple(sum(flat[r * cols + c] for r in range(rows)) for c in range(cols))
            outputs[(*published, *margins)].append(flat)
        for key, tables in outputs.items():
            margins = key[rows * cols :]
            for cell, value in enumerate(key[: rows * cols]):
                if value == HIDDEN and margins[cell % cols]:
                    assert len({t[cell] for t in tables}) >= 2, (key, tables)
