"""MkDocs hook: publish ``benchmarks/results`` (figures and JSON) under ``results/files/`` and the
top-level CHANGELOG, so pages link the committed results without copying them into ``docs/``."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def on_files(files, config):  # noqa: D103 - the MkDocs hook signature
    results = ROOT / "benchmarks" / "results"
    for path in sorted(results.rglob("*")):
        if path.is_file() and path.suffix in (".png", ".json"):
            rel = path.relative_to(results).as_posix()
            files.append(File.generated(config, f"results/files/{rel}",
                                        abs_src_path=str(path)))
    files.append(File.generated(config, "changelog.md", abs_src_path=str(ROOT / "CHANGELOG.md")))
    return files


def on_page_markdown(markdown, page, config, files):  # noqa: D103 - the MkDocs hook signature
    """Replace ``<!-- table: NAME -->`` with the table of that name from ``benchmarks/tables.py``
    (the numbers come from the committed JSON; a missing file fails the build)."""
    import re
    import sys

    if "<!-- table:" not in markdown:
        return markdown
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tables
    from mkdocs.exceptions import PluginError

    def table(m: re.Match) -> str:
        try:
            return tables.render(m.group(1))
        except FileNotFoundError as e:  # a result not committed yet: one line, not a traceback
            raise PluginError(f"{page.file.src_path}: table {m.group(1)!r}: {e}") from None

    return re.sub(r"<!-- table: (\w+) -->", table, markdown)
