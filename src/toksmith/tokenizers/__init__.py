"""Tokenizer adapters: every family loads into a `Tokenizer` with a byte-exact `Vocab`."""

from __future__ import annotations

from pathlib import Path

from toksmith.errors import TokenizerLoadError, ToksmithError
from toksmith.tokenizers.base import Tokenizer, reachable_mask

__all__ = ["Tokenizer", "reachable_mask", "load_tokenizer"]

_CACHE: dict[str, Tokenizer] = {}


def load_tokenizer(spec: str | Path, *, name: str | None = None, pattern: str | None = None,
                   revision: str | None = None) -> Tokenizer:
    """Load a tokenizer from a file, a directory, a short name or a Hugging Face Hub id.

    Args:
        spec: a `tokenizer.json`, a transformers model directory, a `.gguf` model, a SentencePiece
            `.model`, a tiktoken rank file (`.tiktoken`, with `pattern`), a registered tiktoken
            encoding (`tiktoken:o200k_base`), a short name (`smollm2`, `gemma3`, `cl100k`), or a Hub
            id (`org/name`, `org/name@revision`): the Hub cache first, then only the tokenizer files
            are fetched (see `toksmith.hub`). A local path always wins over an id spelled the same.
        name: display name (defaults to the short name, the file name or the Hub id).
        pattern: pre-tokenizer regex or preset (`cl100k`, `gpt2`) for tiktoken rank files.
        revision: branch, tag or commit for a Hub id without `@revision` (default "main").

    Derived values (vocabulary, merges, reachability) are cached on disk, so a second load of the
    same file is fast (see `toksmith.tokenizers.derived`).

    >>> tok = load_tokenizer("cl100k")
    >>> tok.encode("hello world")
    [15339, 1917]
    """
    key = f"{spec}|{name}|{pattern}|{revision}"
    if key in _CACHE:
        return _CACHE[key]
    tok = _load(str(spec), name=name, pattern=pattern, revision=revision)
    # how to load it again elsewhere (a Ray worker), checked there against `fingerprint`
    tok.load_args = {"spec": str(spec), "name": name, "pattern": pattern, "revision": revision}
    _CACHE[key] = tok
    return tok


def _load(spec: str, *, name: str | None, pattern: str | None, revision: str | None) -> Tokenizer:
    from toksmith.hub import is_hub_id
    from toksmith.packaged import PACKAGED, packaged_gguf, tiktoken_encoding

    entry = PACKAGED.get(spec)
    if entry is not None and entry.source == "gguf":
        from toksmith.tokenizers.gguf import load_gguf_tokenizer

        try:
            path = packaged_gguf(spec)
        except ToksmithError as e:
            raise TokenizerLoadError(str(e)) from e
        return load_gguf_tokenizer(path, name=name or spec)
    enc = tiktoken_encoding(spec)
    if enc is not None:
        from toksmith.tokenizers.tiktoken_adapter import load_tiktoken_encoding

        return load_tiktoken_encoding(enc, name=name or spec.removeprefix("tiktoken:"))
    path = Path(spec).expanduser()
    if path.exists():
        return _load_path(path, name=name, pattern=pattern)
    if is_hub_id(spec):
        from toksmith.hub import resolve_hub_id

        snapshot = resolve_hub_id(spec, revision=revision, kind="tokenizer")
        if not any(snapshot.iterdir()):
            raise TokenizerLoadError(f"'{spec}': the repository has no tokenizer files (tokenizer.json, "
                                     "tokenizer.model, *.tiktoken)")
        return _load_path(snapshot, name=name or spec, pattern=pattern)
    known = ", ".join(PACKAGED)
    if path.suffix.lower() in (".json", ".gguf", ".model", ".tiktoken") or spec.startswith((".", "/", "~")):
        raise TokenizerLoadError(f"{path}: no such file")
    raise TokenizerLoadError(f"'{spec}': no such file or directory, not a short name ({known}) and not a Hub id "
                             "(org/name)")


def _load_path(path: Path, *, name: str | None, pattern: str | None) -> Tokenizer:
    if path.is_dir():
        from toksmith.tokenizers.hf import load_hf_dir

        tiktoken_files = sorted(path.glob("*.tiktoken"))
        if tiktoken_files and not (path / "tokenizer.json").is_file() and not (path / "tokenizer.model").is_file():
            from toksmith.tokenizers.tiktoken_adapter import load_tiktoken_file

            return load_tiktoken_file(tiktoken_files[0], pattern=pattern or "cl100k", name=name or path.name)
        return load_hf_dir(path, name=name)
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
