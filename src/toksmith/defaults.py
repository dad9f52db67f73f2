"""Every user-visible default, defined once: the library's signatures and the CLI's options read these.

Kept free of heavy imports so that `toksmith --help` can show them without loading torch.
"""

from __future__ import annotations

#: Pivot language of premiums and parity (an ISO 639-3 code, the stem of a parallel-corpus file).
PIVOT = "eng"

#: Sliding window and stride of bits-per-byte scoring, in tokens; every token is scored once, with at
#: least WINDOW - STRIDE tokens of context once the window slides.
WINDOW = 1024
STRIDE = 512

#: Floating-point type models are loaded in; the dtypes `load_lm` accepts.
DTYPE = "float32"
DTYPES = ("float32", "bfloat16", "float16")

#: Bytes per file scored byte by byte (ensembles a+b, --byte-level); None or 0: whole files. The batched
#: exact scoring costs ~5-10x the token-level and its memory stays flat per window (Gemma 3: 3.4-3.8 GB
#: on 20 KB, once phase A stopped duplicating candidate paths), so whole files are the default.
BYTE_LEVEL_MAX_BYTES: int | None = None

#: Guard of exact byte-level scoring: the token paths it builds (batched candidate nodes, or anchors the
#: byte-by-byte state creates) may not exceed this many per byte reached, counted from byte 64 on
#: (`TokenPathLimitError` otherwise). Prose, indented text and code need one to two per byte (Gemma 3, SmolLM2
#: and cl100k). Before the paths carried their pre-token states, SmolLM2 and cl100k grew exponentially on
#: indented lines (lookahead `\s+(?!\S)`: each pair canonical, the sequence not); this bound stopped that
#: within a second and still bounds memory on text nobody has tried.
BYTE_LEVEL_MAX_PATHS_PER_BYTE = 64

#: How a byte-level ensemble combines its members: "mixture" or "product".
ENSEMBLE_MODE = "mixture"
ENSEMBLE_MODES = ("mixture", "product")

#: Training: pairs seen fewer times are never merged; SuperBPE tokens span at most this many words.
MIN_FREQUENCY = 2
MAX_WORDS_PER_TOKEN = 4
