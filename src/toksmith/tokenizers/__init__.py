"""Tokenizer adapters: every family loads into a `Tokenizer` with a byte-exact `Vocab`."""

from __future__ import annotations

from pathlib import Path

from toksmith.errors import TokenizerLoadError, ToksmithError
from toksmith.tokenizers.base import Tokenizer, check_reachable

__all__ = ["Tokenizer", "check_reachable", "load_tokenizer"]

_CACHE: dict[str, Tokenizer] = {}


def load_tokenizer(spec: str | Path, *, name: str | None = None, pattern: str | None = None) -> Tokenizer:
    """Load a tokenizer from a file, a directory or a short name.

    Args:
        spec: a `tokenizer.json`, a transformers model directory, a `.gguf` model, a SentencePiece
            `.model`, a tiktoken rank file (`.tiktoken`, with `pattern`), a registered tiktoken
            encoding (`tiktoken:o200k_base`), or a short name: `smollm2`, `gemma3`, `cl100k`.
        name: display name (defaults to the short name or file name).
        pattern: pre-tokenizer regex or preset (`cl100k`, `gpt2`) for tiktoken rank files.

    >>> tok = load_tokenizer("cl100k")
    >>> tok.encode("hello world")
    [15339, 1917]
    """
    key = f"{spec}|{name}|{pattern}"
    if key in _CACHE:
        return _CACHE[key]
    tok = _load(str(spec), name=name, pattern=pattern)
    _CACHE[key] = tok
    return tok


def _load(spec: str, *, name: str | None, pattern: str | None) -> Tokenizer:
    from toksmith.registry import SHORT_NAMES, packaged_gguf

    if spec in ("smollm2", "gemma3"):
        from toksmith.tokenizers.gguf import load_gguf_tokenizer

        try:
            path = packaged_gguf(spec)
        except ToksmithError as e:
            raise TokenizerLoadError(str(e)) from e
        return load_gguf_tokenizer(path, name=name or spec)
    if spec in ("cl100k", "cl100k_base", "o200k", "o200k_base", "gpt2-tiktoken") or spec.startswith("tiktoken:"):
        from toksmith.tokenizers.tiktoken_adapter import load_tiktoken_encoding

        enc = spec.removeprefix("tiktoken:")
        enc = {"cl100k": "cl100k_base", "o200k": "o200k_base", "gpt2-tiktoken": "gpt2"}.get(enc, enc)
        return load_tiktoken_encoding(enc, name=name or spec.removeprefix("tiktoken:"))
    path = Path(spec).expanduser()
    if path.is_dir():
        from toksmith.tokenizers.hf import load_hf_dir

        return load_hf_dir(path, name=name)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json":
            from toksmith.tokenizers.hf import load_tokenizer_json

            return load_tokenizer_json(path, name=name)
        if suffix == ".gguf":
            from toksmith.tokenizers.gguf import load_gguf_tokenizer

            return load_gguf_tokenizer(path, name=name)
        if suffix == ".model":
            from toksmith.tokenizers.spm import load_sentencepiece

            return load_sentencepiece(path, name=name)
        if suffix in (".tiktoken", ".bpe", ".ranks"):
            from toksmith.tokenizers.tiktoken_adapter import load_tiktoken_file

            return load_tiktoken_file(path, pattern=pattern or "cl100k", name=name)
        raise TokenizerLoadError(
            f"{path}: unknown tokenizer file type '{suffix}' (expected .json, .gguf, .model or .tiktoken)"
        )
    known = ", ".join(SHORT_NAMES)
    if path.suffix.lower() in (".json", ".gguf", ".model", ".tiktoken") or spec.startswith((".", "/", "~")):
        raise TokenizerLoadError(f"{path}: no such file")
    if "/" in spec and not spec.startswith((".", "/")):
        raise TokenizerLoadError(
            f"'{spec}': no such file or directory; hub ids need a local copy (this tool does not download); "
            f"short names: {known}"
        )
    raise TokenizerLoadError(f"'{spec}': no such file or directory, and not a short name ({known})")
