"""Lines are at most 120 characters (Swift and Python), enforced as a ratchet.

Files written before the rule have their count of longer lines recorded in
Tests/long-lines.txt; a file may only go down from its count (and is dropped
from the list when it reaches zero), and every other file must have none.
Regenerate the list after shortening lines with: python3 Tests/test_line_length.py --update
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "Tests" / "long-lines.txt"
LIMIT = 120


def tracked_sources() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.swift", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.splitlines() if (ROOT / p).is_file()]


def long_lines(path: str) -> list[int]:
    text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
    return [i for i, line in enumerate(text.split("\n"), 1) if len(line) > LIMIT]


def baseline() -> dict[str, int]:
    counts = {}
    for line in BASELINE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            count, path = line.split(maxsplit=1)
            counts[path] = int(count)
    return counts


def test_no_file_has_more_long_lines_than_before():
    allowed = baseline()
    worse = []
    for path in tracked_sources():
        lines = long_lines(path)
        if len(lines) > allowed.get(path, 0):
            worse.append(f"{path}: {len(lines)} lines over {LIMIT} characters (allowed {allowed.get(path, 0)}), "
                         f"at lines {lines[:10]}")
    assert not worse, "\n".join(worse)


def test_the_baseline_only_names_files_that_still_have_long_lines():
    stale = [f"{path} (listed {n}, has {len(long_lines(path)) if (ROOT / path).is_file() else 'no file'})"
             for path, n in baseline().items()
             if not (ROOT / path).is_file() or len(long_lines(path)) < n]
    assert not stale, "lower these counts in Tests/long-lines.txt (python3 Tests/test_line_length.py --update): " + \
        ", ".join(stale)


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    rows = sorted(((len(long_lines(p)), p) for p in tracked_sources()), key=lambda r: (-r[0], r[1]))
    BASELINE.write_text("# Lines over 120 characters per file, written before the rule; counts may only go down.\n"
                        + "".join(f"{n} {p}\n" for n, p in rows if n > 0))
