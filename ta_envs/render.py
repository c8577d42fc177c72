"""Text timelines of a task run: symbols, targets, (actions,) and TD/TI marks, one column per step."""

from __future__ import annotations

from collections.abc import Sequence


def timeline(
    symbols: Sequence[str],
    targets: Sequence[object],
    time_dependent: Sequence[bool],
    actions: Sequence[object] | None = None,
    theta: Sequence[int] | None = None,
    start: int = 0,
    width: int = 100,
) -> str:
    """Rows ``t``, ``input``, ``Θ``, ``target``, ``action`` and ``TD/TI`` (``D`` = time-dependent,
    ``.`` = time-independent); wrapped every ``width`` characters. ``start`` numbers the first step."""
    cols: list[list[str]] = []
    for i, s in enumerate(symbols):
        col = [str(start + i), "φ" if s == "null" else str(s)]
        if theta is not None:
            col.append("-" if theta[i] < 0 else str(theta[i]))
        col.append(_fmt(targets[i]))
        if actions is not None:
            col.append(_fmt(actions[i]))
        col.append("D" if time_dependent[i] else ".")
        cols.append(col)
    names = ["t", "input"] + (["Θ"] if theta is not None else []) + ["target"]
    names += (["action"] if actions is not None else []) + ["TD/TI"]
    head = max(len(n) for n in names) + 1
    lines: list[str] = []
    chunk: list[list[str]] = []
    used = head
    for col in cols + [None]:  # type: ignore[list-item]
        w = 0 if col is None else max(len(c) for c in col) + 1
        if col is None or (chunk and used + w > width):
            for r, n in enumerate(names):
                cells = "".join(c[r].rjust(max(len(x) for x in c) + 1) for c in chunk)
                lines.append(n.ljust(head) + cells)
            lines.append("")
            chunk, used = [], head
        if col is not None:
            chunk.append(col)
            used += w
    return "\n".join(lines).rstrip() + "\n"


def _fmt(v: object) -> str:
    if hasattr(v, "__len__") and not isinstance(v, str):
        return "".join(str(int(x)) for x in v)  # type: ignore[union-attr]
    return str(int(v)) if v is not None else "?"  # type: ignore[call-overload]
