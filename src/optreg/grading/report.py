"""The class summary: score distribution per question, as a table (Markdown and CSV) and a plot,
and how many students made each named mistake (:mod:`optreg.grading.diagnose`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from optreg.grading.runner import write_atomic
from optreg.grading.submissions import csv_cell


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


def mistake_table(rows: list[dict]) -> list[dict]:
    """Per named mistake: its function and title, the students who made it, in which
    questions; most frequent first. A row's ``mistakes`` is {question: [{id, function,
    title}, ...]} (what the grader named in its failed cells)."""
    found: dict[str, dict] = {}
    for row in rows:
        for question, named in (row.get("mistakes") or {}).items():
            for mistake in named:
                entry = found.setdefault(
                    mistake["id"],
                    {**mistake, "students": set(), "questions": set()},
                )
                entry["students"].add(row["student_id"])
                entry["questions"].add(question)
    table = [
        {**e, "students": len(e["students"]), "questions": sorted(e["questions"])}
        for e in found.values()
    ]
    return sorted(table, key=lambda e: (-e["students"], e["id"]))


def _mistakes_per_question(rows: list[dict]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        for question, named in (row.get("mistakes") or {}).items():
            for mistake in named:
                per = counts.setdefault(question, {})
                per[mistake["id"]] = per.get(mistake["id"], 0) + 1
    return counts


def write_summary(out: Path, rows: list[dict], max_points: dict[str, float]) -> None:
    """Write ``summary.csv``, ``summary.md``, ``summary.png`` and ``mistakes.csv`` into
    ``out``."""
    table = question_table(rows, max_points)
    mistakes = mistake_table(rows)
    per_question = _mistakes_per_question(rows)
    columns = ["question", "points", "students", "mean", "full", "partial", "zero"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in table:
        row = {**entry, "mean": f"{entry['mean']:.3f}"}
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    write_atomic(out / "summary.csv", buffer.getvalue())
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    lines = [
        f"# Grading summary: {rows[0]['assignment'] if rows else ''}",
        "",
        "Students: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "",
        "| question | points | mean | full | partial | zero | named mistakes (students) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for e in table:
        named = ", ".join(
            f"{m} ({n})" for m, n in sorted(per_question.get(e["question"], {}).items())
        )
        lines.append(
            f"| {e['question']} | {e['points']:g} | {e['mean']:.2f} | {e['full']} | "
            f"{e['partial']} | {e['zero']} | {named} |"
        )
    lines += ["", "## Named mistakes", ""]
    if mistakes:
        lines += [
            "How many students' code matched each known mistake (the feedback explains it to "
            "them); the most frequent are the misconceptions to revisit.",
            "",
            "| mistake | function | what | students | questions |",
            "|---|---|---|---:|---|",
        ]
        lines += [
            f"| {m['id']} | {m['function']} | {m['title']} | {m['students']} | "
            f"{', '.join(m['questions'])} |"
            for m in mistakes
        ]
    else:
        lines.append("No failed test matched a named mistake.")
    lines += ["", "![score distribution per question](summary.png)", ""]
    write_atomic(out / "summary.md", "\n".join(lines))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["mistake", "function", "title", "students", "questions"])
    for m in mistakes:
        cells = [m["id"], m["function"], m["title"], m["students"], " ".join(m["questions"])]
        writer.writerow([csv_cell(c) for c in cells])
    write_atomic(out / "mistakes.csv", buffer.getvalue())
    _plot(out / "summary.png", rows, table, mistakes)


def _plot(path: Path, rows: list[dict], table: list[dict], mistakes: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = [e for e in table if e["question"] != "TOTAL"]
    top, bottom = 0.45 * len(questions) + 2.5, 0.4 * max(len(mistakes), 1) + 1.5
    fig, axes = plt.subplot_mosaic(
        [["left", "right"], ["named", "named"]],
        figsize=(12, top + bottom),
        height_ratios=[top, bottom],
    )
    left, right, named = axes["left"], axes["right"], axes["named"]
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
    if mistakes:
        labels = [f"{m['function']}: {m['title']}" for m in mistakes]  # the full width
        named.barh(labels, [m["students"] for m in mistakes], color="#9467bd")
        named.invert_yaxis()
        named.set_xlabel("students")
        named.xaxis.get_major_locator().set_params(integer=True)
    else:
        named.text(0.5, 0.5, "no named mistakes", ha="center", va="center")
        named.set_axis_off()
    named.set_title("named mistakes (students whose code matched each)")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    tmp.replace(path)
