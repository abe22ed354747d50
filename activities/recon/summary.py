"""The run summary artifacts: a Markdown page for people and a CSV for tools."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from activities.models.recon import ReconReportResult
from activities.recon.contracts import SummaryInput

CSV_HEADER = ["report", "status", "matched", "missing", "extra", "changed", "changed_columns", "diff_uri", "note"]


def render_summary(request: SummaryInput, rows: Sequence[ReconReportResult]) -> tuple[str, str]:
    """(markdown, csv) of a run's per-report results."""
    different = [r for r in rows if r.status == "different"]
    skipped = [r for r in rows if r.status == "skipped"]
    lines = [
        f"# Reconciliation {request.run_id}",
        "",
        f"Client **{request.client_id}**: baseline **{request.baseline}** vs candidate **{request.candidate}**.",
        "",
        f"- Reports compared: {len(rows)}",
        f"- Matched: {sum(1 for r in rows if r.status == 'matched')}",
        f"- Different: {len(different)}",
        f"- Skipped by an operator: {len(skipped)}",
        "",
    ]
    if different:
        lines += [
            "## Differences",
            "",
            "| report | changed | missing | extra | columns | diff |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.report} | {r.changed_rows} | {r.missing_rows} | {r.extra_rows} | "
            f"{r.changed_columns or '-'} | {r.diff_uri or '-'} |"
            for r in different
        ]
        lines.append("")
    if skipped or request.notes:
        lines += ["## Skipped", ""]
        lines += [f"- report {r.report}: {r.note}" for r in skipped]
        lines += [f"- {note}" for note in request.notes]
        lines.append("")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                r.report,
                r.status,
                r.matched_rows,
                r.missing_rows,
                r.extra_rows,
                r.changed_rows,
                r.changed_columns,
                r.diff_uri or "",
                r.note or "",
            ]
        )
    return "\n".join(lines), buffer.getvalue()
