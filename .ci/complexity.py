"""Complexity gate: fail when a function's cyclomatic complexity (radon's count, which includes
boolean operators, unlike ruff's C901) is above the limit. Usage: python .ci/complexity.py [DIR ...]"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit

LIMIT = 15
DEFAULT = ("ta_envs", "baselines", "analysis", "benchmarks")


def over_limit(roots: list[str]) -> list[str]:
    """``path:line name (CC n)`` for every function or method above `LIMIT`."""
    found = []
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            for block in cc_visit(path.read_text()):
                blocks = [block, *getattr(block, "methods", [])]
                found += [f"{path}:{b.lineno} {b.name} (CC {b.complexity})" for b in blocks
                          if b.complexity > LIMIT]
    return found


if __name__ == "__main__":
    bad = over_limit(sys.argv[1:] or list(DEFAULT))
    for line in bad:
        print(line)
    print(f"{len(bad)} functions above cyclomatic complexity {LIMIT} (radon)")
    sys.exit(1 if bad else 0)
