"""Faster greedy decoding without training: Token Recycling, suffix drafts, and both in one tree.

`generate(lm, prompt, max_new_tokens=..., method=...)` is the entry point; the pieces (adjacency
matrix, templates, suffix automaton, draft trees, tree verification) are importable on their own.
torch is imported only when a model runs.
"""

from toksmith.decoding.adjacency import AdjacencyMatrix as AdjacencyMatrix
from toksmith.decoding.api import CPU_DEFAULTS as CPU_DEFAULTS
from toksmith.decoding.api import DEFAULTS as DEFAULTS
from toksmith.decoding.api import GPU_DEFAULTS as GPU_DEFAULTS
from toksmith.decoding.api import METHODS as METHODS
from toksmith.decoding.api import DecodeResult as DecodeResult
from toksmith.decoding.api import DecodeStats as DecodeStats
from toksmith.decoding.api import device_defaults as device_defaults
from toksmith.decoding.api import generate as generate
from toksmith.decoding.draft import DraftTree as DraftTree
from toksmith.decoding.draft import build_draft as build_draft
from toksmith.decoding.suffix import SuffixAutomaton as SuffixAutomaton
from toksmith.decoding.suffix import SuffixDrafter as SuffixDrafter
from toksmith.decoding.suffix import longest_earlier_match as longest_earlier_match
from toksmith.decoding.templates import TEMPLATES as TEMPLATES
from toksmith.decoding.templates import Template as Template
from toksmith.decoding.templates import load_template as load_template
from toksmith.decoding.templates import template_from_counts as template_from_counts
from toksmith.decoding.templates import template_from_gains as template_from_gains
from toksmith.decoding.templates import template_from_widths as template_from_widths

__all__ = ["CPU_DEFAULTS", "DEFAULTS", "GPU_DEFAULTS", "METHODS", "TEMPLATES", "AdjacencyMatrix", "DecodeResult",
           "DecodeStats", "DraftTree", "SuffixAutomaton", "SuffixDrafter", "Template", "build_draft",
           "device_defaults", "generate", "load_template", "longest_earlier_match", "template_from_counts",
           "template_from_gains", "template_from_widths"]
