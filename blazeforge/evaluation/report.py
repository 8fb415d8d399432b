"""The pieces of an evaluation's report.html: the page, its tables and the worst examples drawn.

figures = [worst_figure(run_dir, rank, image_bgr, "NME 0.041 · synthetic") for ...]
write_page(run_dir, "Pose landmarks: evaluation", table(summary_rows) + "".join(figures))
"""

from __future__ import annotations

import html
from pathlib import Path

import cv2

STYLE = (
    "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
    "figure{display:inline-block;margin:4px}"
)


def table(rows, header: tuple = ()) -> str:
    """A <table> of rows (tuples of cells, shown as text, escaped), under an optional header row."""
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def worst_figure(run_dir: Path, rank: int, image_bgr, caption: str) -> str:
    """Write run_dir/worst/RANK.png and return its <figure> with the caption (escaped)."""
    (run_dir / "worst").mkdir(parents=True, exist_ok=True)
    name = f"worst/{rank:02d}.png"
    cv2.imwrite(str(run_dir / name), image_bgr)
    return f'<figure><img src="{name}" width="256"><figcaption>{html.escape(caption)}</figcaption></figure>'


def write_page(run_dir: Path, title: str, body: str) -> Path:
    """run_dir/report.html: an <h1> title over `body` (HTML), in the shared style."""
    path = Path(run_dir) / "report.html"
    path.write_text(
        f'<!doctype html><meta charset="utf-8"><title>blazeforge: {html.escape(title)}</title>'
        f"<style>{STYLE}</style>\n<h1>{html.escape(title)}</h1>{body}\n"
    )
    return path
