"""Pictures of a task run, one column per step: a text timeline (``ansi``) and an RGB frame
(``rgb_array``) of symbols, Θ, targets, actions and TD/TI marks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: A per-step column: a sequence or a 1-D array.
Column = Sequence[Any] | np.ndarray


def timeline(
    symbols: Sequence[str],
    targets: Column,
    time_dependent: Column,
    actions: Column | None = None,
    theta: Column | None = None,
    start: int = 0,
    width: int = 100,
) -> str:
    """Rows ``t``, ``input``, ``Θ``, ``target``, ``action`` and ``TD/TI`` (``D`` = time-dependent,
    ``.`` = time-independent); wrapped every ``width`` characters. ``start`` numbers the first step."""
    rows = _timeline_rows(symbols, targets, time_dependent, actions, theta, start)
    names = [n for n, _ in rows]
    cols = [list(col) for col in zip(*(cells for _, cells in rows))]
    head = max(len(n) for n in names) + 1
    lines: list[str] = []
    for chunk in _wrap(cols, width - head):
        for r, n in enumerate(names):
            cells = "".join(c[r].rjust(max(len(x) for x in c) + 1) for c in chunk)
            lines.append(n.ljust(head) + cells)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _timeline_rows(symbols: Sequence[str], targets: Column, time_dependent: Column,
                   actions: Column | None, theta: Column | None, start: int
                   ) -> list[tuple[str, list[str]]]:
    """`timeline`'s rows as ``(name, cells)``, one cell per step."""
    n = len(symbols)
    rows = [("t", [str(start + i) for i in range(n)]),
            ("input", ["φ" if s == "null" else str(s) for s in symbols])]
    if theta is not None:
        rows.append(("Θ", ["-" if theta[i] < 0 else str(theta[i]) for i in range(n)]))
    rows.append(("target", [_fmt(targets[i]) for i in range(n)]))
    if actions is not None:
        rows.append(("action", [_fmt(actions[i]) for i in range(n)]))
    rows.append(("TD/TI", ["D" if time_dependent[i] else "." for i in range(n)]))
    return rows


def _wrap(cols: list[list[str]], room: int) -> list[list[list[str]]]:
    """Columns grouped greedily into chunks whose padded widths fit in ``room`` characters (a
    chunk holds at least one column)."""
    chunks: list[list[list[str]]] = [[]]
    used = 0
    for column in cols:
        w = max(len(c) for c in column) + 1
        if chunks[-1] and used + w > room:
            chunks.append([])
            used = 0
        chunks[-1].append(column)
        used += w
    return chunks


def _fmt(v: Any) -> str:
    if hasattr(v, "__len__") and not isinstance(v, str):
        return "".join(str(int(x)) for x in v)
    return str(int(v)) if v is not None else "?"


#: Colours (RGB) for symbols and output classes, cycled; white background, grey for "none".
PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
                    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
                    [188, 189, 34], [23, 190, 207]], dtype=np.uint8)
_NONE = np.array([235, 235, 235], dtype=np.uint8)
_MISS = np.array([0, 0, 0], dtype=np.uint8)


#: A 3 x 5 pixel font for the row labels (only the letters they use).
_GLYPHS = {
    "A": ("010", "101", "111", "101", "101"), "C": ("011", "100", "100", "100", "011"),
    "D": ("110", "101", "101", "101", "110"), "G": ("011", "100", "101", "101", "011"),
    "H": ("101", "101", "111", "101", "101"), "I": ("111", "010", "010", "010", "111"),
    "N": ("110", "101", "101", "101", "101"), "T": ("111", "010", "010", "010", "010"),
    "O": ("010", "101", "101", "101", "010"), "U": ("101", "101", "101", "101", "111"),
    "P": ("110", "101", "110", "100", "100"),
}
#: The legend: one label per row, top to bottom.
ROW_LABELS = ("IN", "TH", "OUT", "ACT", "TD")
LEGEND_WIDTH = 16


def _label(img: np.ndarray, y: int, text: str) -> None:
    """Draw ``text`` in the 3 x 5 font at row ``y`` of the legend margin (dark grey pixels)."""
    x = 1
    for ch in text:
        for r, bits in enumerate(_GLYPHS[ch]):
            for c, b in enumerate(bits):
                if b == "1":
                    img[y + r, x + c] = 70
        x += 4


def frame(
    symbols: Column,
    classes: Column,
    time_dependent: Column,
    actions: Column | None = None,
    theta: Column | None = None,
    window: int = 48,
    cell: int = 8,
) -> np.ndarray:
    """An ``[H, W, 3]`` uint8 picture of the last ``window`` steps, drawn with NumPy alone.

    One column per step (``cell`` pixels wide); rows top to bottom: the input symbol (one colour
    per symbol), Θ (dark when 1, light when 0, grey when undefined), the target class, the action
    (its class colour, black when it has no class; grey before it is taken) and a TD marker (dark
    for time-dependent steps). Rows are separated by 2 white pixels; a left margin of
    ``LEGEND_WIDTH`` pixels names the rows (IN, TH for Θ, OUT for the target, ACT, TD); the frame
    size is fixed.
    """
    rows = 5
    H, W = rows * (cell + 2) + 2, window * cell
    full = np.full((H, LEGEND_WIDTH + W, 3), 255, dtype=np.uint8)
    for r, text in enumerate(ROW_LABELS):  # the legend: each row's name in the left margin
        _label(full, 2 + r * (cell + 2) + max(0, (cell - 5) // 2), text)
    img = full[:, LEGEND_WIDTH:]
    n = min(len(symbols), window)
    lo = len(symbols) - n

    def paint(r: int, col: int, rgb: np.ndarray) -> None:
        y = 2 + r * (cell + 2)
        img[y : y + cell, col * cell : (col + 1) * cell - 1] = rgb

    for j in range(n):
        i = lo + j
        paint(0, j, PALETTE[int(symbols[i]) % len(PALETTE)])
        th = -1 if theta is None else int(theta[i])
        paint(1, j, _NONE if th < 0 else np.array([60, 60, 60] if th else [200, 200, 200],
                                                  dtype=np.uint8))
        paint(2, j, PALETTE[int(classes[i]) % len(PALETTE)])
        a = None if actions is None else actions[i]
        paint(3, j, _NONE if a is None else (_MISS if int(a) < 0 else
                                              PALETTE[int(a) % len(PALETTE)]))
        paint(4, j, np.array([60, 60, 60] if time_dependent[i] else [235, 235, 235],
                             dtype=np.uint8))
    return full
