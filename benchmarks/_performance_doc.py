"""The prose of docs/PERFORMANCE.md around the measured table (filled in below)."""

from __future__ import annotations


def render_doc(table: str, details: dict[str, list[str]], env: str, total: float) -> str:
    parts = [f"# Performance\n\n{env}; run took {total:.0f} s\n\n{table}\n"]
    for name, lines in details.items():
        parts.append(f"## {name}\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)
