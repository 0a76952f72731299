"""The class summary: score distribution per question, as a table (Markdown and CSV) and a plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from optreg.grading.runner import write_atomic


def question_table(rows: list[dict], max_points: dict[str, float]) -> list[dict]:
    """Per question: points, students, mean score, and how many got full, partial, zero."""
    table = []
    graded = rows
    for question, points in max_points.items():
        scores = [float(r.get("cells", {}).get(question, 0.0)) for r in graded]
        n = len(scores)
        table.append(
            {
                "question": question,
                "points": points,
                "students": n,
                "mean": sum(scores) / n if n else 0.0,
                "full": sum(s >= points for s in scores),
                "partial": sum(0 < s < points for s in scores),
                "zero": sum(s <= 0 for s in scores),
            }
        )
    totals = [float(r["score"]) for r in graded]
    total_points = sum(max_points.values())
    table.append(
        {
            "question": "TOTAL",
            "points": total_points,
            "students": len(totals),
            "mean": sum(totals) / len(totals) if totals else 0.0,
            "full": sum(t >= total_points for t in totals),
            "partial": sum(0 < t < total_points for t in totals),
            "zero": sum(t <= 0 for t in totals),
        }
    )
    return table


def write_summary(out: Path, rows: list[dict], max_points: dict[str, float]) -> None:
    """Write ``summary.csv``, ``summary.md`` and ``summary.png`` into ``out``."""
    table = question_table(rows, max_points)
    columns = ["question", "points", "students", "mean", "full", "partial", "zero"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in table:
        writer.writerow({**entry, "mean": f"{entry['mean']:.3f}"})
    write_atomic(out / "summary.csv", buffer.getvalue())
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    lines = [
        f"# Grading summary: {rows[0]['assignment'] if rows else ''}",
        "",
        "Students: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "",
        "| question | points | mean | full | partial | zero |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in table:
        lines.append(
            f"| {e['question']} | {e['points']:g} | {e['mean']:.2f} | {e['full']} | "
            f"{e['partial']} | {e['zero']} |"
        )
    lines += ["", "![score distribution per question](summary.png)", ""]
    write_atomic(out / "summary.md", "\n".join(lines))
    _plot(out / "summary.png", rows, table)


def _plot(path: Path, rows: list[dict], table: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = [e for e in table if e["question"] != "TOTAL"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(questions) + 2.5))
    names = [e["question"] for e in questions]
    zero = [e["zero"] for e in questions]
    partial = [e["partial"] for e in questions]
    full = [e["full"] for e in questions]
    left.barh(names, zero, color="#d62728", label="0")
    left.barh(names, partial, left=zero, color="#ff7f0e", label="partial")
    left.barh(
        names,
        full,
        left=[z + p for z, p in zip(zero, partial, strict=True)],
        color="#2ca02c",
        label="full",
    )
    left.invert_yaxis()
    left.set_xlabel("students")
    left.set_title("score per question")
    left.legend(loc="lower right")
    total = table[-1]["points"]
    right.hist([float(r["score"]) for r in rows], bins=20, range=(0, max(total, 1)))
    right.set_xlabel(f"total score (out of {total:g})")
    right.set_ylabel("students")
    right.set_title("total score")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)
