"""Presenting results: the self-contained HTML report, its SVG charts, and terminal views."""

from toksmith.report.boundaries import boundary_sample as boundary_sample
from toksmith.report.boundaries import segment_tokens as segment_tokens
from toksmith.report.boundaries import token_bytes as token_bytes
from toksmith.report.html import render_report as render_report
from toksmith.report.html import write_report as write_report
from toksmith.report.terminal import render_inspect as render_inspect

__all__ = [
    "boundary_sample",
    "render_inspect",
    "render_report",
    "segment_tokens",
    "token_bytes",
    "write_report",
]
