"""The publication rule: what of a count of people may leave the staff area.

Every breakdown of the public figures (the dashboard and its charts, the JSON API,
the open data, the staff's ``/estadisticas`` that may be forwarded) goes through
``series`` (a one-way breakdown whose total is published exactly) or ``crosstab``
(a two-way table whose column totals are published). Totals are never touched.

The rule, for a threshold ``k`` (``limits.small_cell_k``):

1. a line (a series, a row or a column of a table) whose total is between 1 and
   k-1 is reserved whole: every cell of it, zeros included, is published as
   ``HIDDEN``;
2. otherwise every cell between 1 and k-1 is reserved;
3. more cells are reserved (complementary suppression: the smallest non-zero cell
   of the line first) until, given the visible cells and the exact total of every
   line, (a) the reserved cells of each line hold together at least k people,
   (b) no reserved cell can be narrowed to a single value and (c) a reserved cell
   under k could as well be 0, so "reservado" never tells "at least one person".

A line whose total is 0 is published as zeros (nobody is behind it). Condition 3 is
checked exactly: the published cells and the line totals define a transportation
polytope, and the least and greatest value of each reserved cell come from a
maximum flow through the other reserved cells (``_bounds``). Tables of counters
are small (tens of cells), so this costs microseconds to milliseconds.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

HIDDEN = "reservado"
Published = int | str
_FREE = ("free",)  # the end of a cell whose other line total is not published


@dataclass(frozen=True)
class _Cell:
    value: int
    a: Hashable  # the line whose total is known
    b: Hashable  # the other line (known too in a table), or _FREE


def series(counts: Sequence[int], k: int) -> list[Published]:
    """A one-way breakdown (cells summing to a published total) with the rule applied."""
    cells = [_Cell(int(v), "line", _FREE) for v in counts]
    hidden = _protect(cells, k)
    return [HIDDEN if i in hidden else int(v) for i, v in enumerate(counts)]


def crosstab(cells: Sequence[Sequence[int]], k: int) -> list[list[Published]]:
    """A two-way table with the rule applied against its published column totals.

    Only the column totals are published (proposals per pillar) and the rows are not
    constrained by anything published, so each column is protected as a series.
    Then, as a guard should row totals ever be published, a row with a single
    reserved cell gets a second one (its smallest non-zero visible cell).
    """
    width = len(cells[0]) if cells else 0
    columns = [[_Cell(int(row[c]), "line", _FREE) for row in cells] for c in range(width)]
    totals = [sum(cell.value for cell in column) for column in columns]
    hidden: set[tuple[int, int]] = set()
    changed = set(range(width))
    while changed:
        for c in changed:
            forced = {r for r, col in hidden if col == c}
            hidden.update((r, c) for r in _protect(columns[c], k, forced))
        changed = set()
        for r, row in enumerate(cells):
            if sum((r, c) in hidden for c in range(width)) != 1:
                continue
            visible = [
                c for c in range(width) if (r, c) not in hidden and int(row[c]) and totals[c]
            ]
            if visible:
                least = min(int(row[c]) for c in visible)
                added = {c for c in visible if int(row[c]) == least}
                hidden.update((r, c) for c in added)
                changed |= added
    return [
        [HIDDEN if (r, c) in hidden else int(value) for c, value in enumerate(row)]
        for r, row in enumerate(cells)
    ]


def _lines(cells: Sequence[_Cell]) -> dict[Hashable, list[int]]:
    lines: dict[Hashable, list[int]] = defaultdict(list)
    for index, cell in enumerate(cells):
        lines[cell.a].append(index)
        if cell.b != _FREE:
            lines[cell.b].append(index)
    return lines


def _protect(cells: Sequence[_Cell], k: int, forced: set[int] | None = None) -> set[int]:
    """The indices of the cells to reserve (``forced``: reserved for another reason)."""
    view = _View(cells)
    hidden = {i for i, cell in enumerate(cells) if 0 < cell.value < k} | (forced or set())
    for name, members in view.lines.items():
        if 0 < view.totals[name] < k:
            hidden.update(members)
    while hidden:
        wanted = view.violation(hidden, k)
        if wanted is None:
            break
        # a cell of an empty line is 0 whatever is published: never worth reserving
        extra = _complement(cells, hidden, view.usable, wanted)
        if not extra:
            break  # everything that could help is already reserved
        hidden.update(extra)
    return hidden


class _View:
    """The cells of a table with the line totals of one model."""

    def __init__(self, cells: Sequence[_Cell]):
        self.cells = cells
        self.lines = _lines(cells)
        self.totals = {n: sum(cells[i].value for i in m) for n, m in self.lines.items()}
        self.usable = {i for i in range(len(cells)) if self._alive(i)}

    def _alive(self, index: int) -> bool:
        cell = self.cells[index]
        return all(self.totals[n] for n in (cell.a, cell.b) if n in self.totals)

    def violation(self, hidden: set[int], k: int) -> list[int] | None:
        """The cells of the lines where a complement is needed, or None when safe."""
        cells = self.cells
        for name, members in self.lines.items():
            reserved = [i for i in members if i in hidden]
            if reserved and self.totals[name] >= k and sum(cells[i].value for i in reserved) < k:
                return members
        bounds = _bounds(cells, hidden, k)
        for index in sorted(hidden):
            if not self._alive(index):
                continue
            low, high = bounds[index]
            if low == high or (cells[index].value < k and low > 0):
                cell = cells[index]
                return sorted(set(self.lines[cell.a]) | set(self.lines.get(cell.b, [])))
        return None


def _complement(
    cells: Sequence[_Cell], hidden: set[int], usable: set[int], near: list[int]
) -> list[int]:
    """The next cells to reserve: on the lines at fault if possible, smallest non-zero first.

    Cells tied with the chosen one are reserved with it: which of two equal cells was
    picked would otherwise tell an observer who knows this rule which one it was.
    """
    for pool in (near, range(len(cells))):
        candidates = [i for i in pool if i not in hidden and i in usable]
        if candidates:
            best = min(candidates, key=lambda i: (cells[i].value == 0, cells[i].value, i))
            return [i for i in candidates if cells[i].value == cells[best].value]
    return []


def _bounds(cells: Sequence[_Cell], hidden: set[int], k: int) -> dict[int, tuple[int, int]]:
    """The least and greatest value of each reserved cell, given everything else published.

    Each cell is an edge between its two lines. Raising a reserved cell by one must be
    compensated along an alternating cycle of reserved cells (or a path to a line with
    no published total): a flow from its second end back to its first, through edges
    that may grow (a -> b) or shrink by at most their value (b -> a). The attacker is
    assumed to know which reserved cells are under k (they cannot grow past k-1):
    stronger than what the marker tells, since every reserved cell looks the same.
    """
    result = {}
    for index in hidden:
        cell = cells[index]
        others = [cells[i] for i in hidden if i != index]
        ceiling = k - 1 - cell.value if cell.value < k else None
        up = _max_flow(others, k, source=cell.b, sink=cell.a, limit=ceiling)
        down = _max_flow(others, k, source=cell.a, sink=cell.b, limit=cell.value)
        result[index] = (cell.value - down, cell.value + up)
    return result


def _max_flow(
    edges: Sequence[_Cell], k: int, *, source: Hashable, sink: Hashable, limit: int | None
) -> int:
    """Edmonds-Karp over the residual graph of ``edges`` (small graphs only), up to ``limit``."""
    if source == sink or limit == 0:
        return 0
    unbounded = sum(e.value for e in edges) + (limit or 0) + 1  # more than any flow carries
    capacity: dict[Hashable, dict[Hashable, int]] = defaultdict(lambda: defaultdict(int))
    for edge in edges:
        capacity[edge.a][edge.b] += k - 1 - edge.value if edge.value < k else unbounded
        capacity[edge.b][edge.a] += edge.value
    flow = 0
    while limit is None or flow < limit:
        parents: dict[Hashable, Hashable] = {source: source}
        queue = deque([source])
        while queue and sink not in parents:
            node = queue.popleft()
            for nxt, room in capacity[node].items():
                if room > 0 and nxt not in parents:
                    parents[nxt] = node
                    queue.append(nxt)
        if sink not in parents:
            break
        path, node = [], sink
        while node != source:
            path.append((parents[node], node))
            node = parents[node]
        push = min(capacity[u][v] for u, v in path)
        if limit is not None:
            push = min(push, limit - flow)
        for u, v in path:
            capacity[u][v] -= push
            capacity[v][u] += push
        flow += push
    return flow
