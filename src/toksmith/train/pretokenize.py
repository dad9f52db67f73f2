"""Pre-tokenizers for training: preset regexes, number modes, and their Hugging Face JSON form.

A pre-tokenizer is two `Split` steps with behaviour "Isolated" (matches and the gaps between them both
become pieces), exactly as `tokenizers` runs them: first the number-mode split, then the main regex
on each piece. `Pretokenizer.split` is the pure-Python reference (the `regex` module); the compiled
counter in `toksmith._native._bpe` reproduces the presets by hand-written matchers and is tested
against it.

>>> Pretokenizer.from_options("gpt2", numbers="r2l3").split("in 1234567 ways")
['in', ' ', '1', '234', '567', ' ways']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import regex

from toksmith.errors import TrainingError

__all__ = [
    "NUMBER_MODES",
    "PRESETS",
    "Pretokenizer",
    "char_table",
    "split_isolated",
]

_CONTRACTIONS = r"'s|'t|'re|'ve|'m|'ll|'d"

#: Preset name -> regex (the same string goes into tokenizer.json and into the `regex` module).
PRESETS: dict[str, str] = {
    "gpt2": _CONTRACTIONS + r"| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    # cl100k_base, also Llama 3's pre-tokenizer
    "cl100k": r"(?i:" + _CONTRACTIONS + r")|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    "o200k": r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:"
    + _CONTRACTIONS + r")?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:"
    + _CONTRACTIONS + r")?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    # SuperBPE stage 2: isolates digit groups, runs of 2+ punctuation/symbols (with one leading space) and
    # runs of several whitespace characters (all but the last); single spaces, single punctuation and
    # single newlines stay inside a chunk, so tokens can span words.
    "superbpe-stage2": r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}|\s+(?=\s)",
}

#: Presets whose regex matches every character (no gaps), so `findall` alone gives the pieces.
_FULL_COVERAGE = frozenset({"gpt2", "cl100k", "o200k"})

#: Number mode -> the Split regex run before the main one.
NUMBER_MODES: dict[str, str] = {
    "single": r"\p{N}",
    "l2r3": r"\p{N}{1,3}",
    "r2l3": r"\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))",
}


def split_isolated(pattern: regex.Pattern[str], text: str) -> list[str]:
    """`tokenizers`' Split with behaviour "Isolated": every non-empty match and every gap is a piece."""
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        s, e = m.span()
        if s == e:
            continue
        if last < s:
            out.append(text[last:s])
        out.append(text[s:e])
        last = e
    if last < len(text):
        out.append(text[last:])
    return out


@dataclass(frozen=True)
class Pretokenizer:
    """A number-mode split followed by a main regex split, both "Isolated".

    Attributes:
        pattern: the main regex.
        preset: its preset name, or None for a custom regex.
        numbers: None (the regex's own number handling), "single", "l2r3" or "r2l3".
    """

    pattern: str
    preset: str | None = None
    numbers: str | None = None

    @classmethod
    def from_options(cls, preset: str | None = "cl100k", *, regex_pattern: str | None = None,
                     numbers: str | None = None) -> Pretokenizer:
        """Validate a preset name or a custom regex and a number mode."""
        if numbers in ("", "none"):
            numbers = None
        if numbers is not None and numbers not in NUMBER_MODES:
            raise TrainingError(f"unknown number mode '{numbers}' (choose from: none, {', '.join(NUMBER_MODES)})")
        if regex_pattern is not None:
            try:
                regex.compile(regex_pattern)
            except regex.error as e:
                raise TrainingError(f"custom pre-tokenizer regex does not compile: {e}") from e
            return cls(regex_pattern, None, numbers)
        if preset not in PRESETS:
            raise TrainingError(f"unknown preset '{preset}' (choose from: {', '.join(PRESETS)})")
        return cls(PRESETS[preset], preset, numbers)

    @property
    def name(self) -> str:
        base = self.preset or "custom"
        return f"{base}+{self.numbers}" if self.numbers else base

    @property
    def compiled(self) -> regex.Pattern[str]:
        return _compile(self.pattern)

    def split(self, text: str) -> list[str]:
        """The pieces `tokenizers` produces for `text` (reference implementation)."""
        main = _compile(self.pattern)
        pieces = split_isolated(_compile(NUMBER_MODES[self.numbers]), text) if self.numbers else [text]
        out: list[str] = []
        full = self.preset in _FULL_COVERAGE
        for p in pieces:
            out.extend(main.findall(p) if full else split_isolated(main, p))
        return out

    def splits_on_whitespace(self) -> bool:
        """Whether single spaces and newlines between words always end a piece (bounds distinct pieces)."""
        probe = "the quick brown fox\njumps over the lazy dog, again and again"
        for piece in self.split(probe):
            core = piece.strip()
            if any(c.isspace() for c in core):
                return False
        return True

    def hf_json(self) -> dict[str, Any]:
        """The `pre_tokenizer` object of tokenizer.json (ByteLevel without its own regex at the end)."""
        steps: list[dict[str, Any]] = []
        if self.numbers:
            steps.append(_split_json(NUMBER_MODES[self.numbers]))
        steps.append(_split_json(self.pattern))
        steps.append({"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False})
        return {"type": "Sequence", "pretokenizers": steps}


def _split_json(pattern: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


@cache
def _compile(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


@cache
def char_table() -> bytes:
    """Per-code-point class flags for the compiled matchers, computed with the `regex` module itself.

    Bits: 1 = \\p{L}, 2 = \\p{N}, 4 = \\s, 8 = [\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}], 16 = [\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}].
    Surrogates (never in valid UTF-8) get 0.
    """
    import numpy as np

    table = np.zeros(0x110000, dtype=np.uint8)
    classes = [(bit, regex.compile(pat)) for bit, pat in (
        (1, r"\p{L}+"), (2, r"\p{N}+"), (4, r"\s+"), (8, r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"),
        (16, r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"))]
    block = 0x10000
    for lo in range(0, 0x110000, block):
        codes = np.arange(lo, lo + block, dtype="<u4")
        codes[(codes >= 0xD800) & (codes < 0xE000)] = 0
        chars = codes.tobytes().decode("utf-32-le")
        for bit, pat in classes:
            for m in pat.finditer(chars):
                table[lo + m.start():lo + m.end()] |= bit
    table[0xD800:0xE000] = 0
    return table.tobytes()
