"""Writing trained tokenizers as Hugging Face files: tokenizer.json and tokenizer_config.json.

The JSON text is a pure function of its inputs (fixed key order, vocabulary sorted by id), so the same
training run gives the same files byte for byte; files are written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from toksmith.errors import TokenizerLoadError, TrainingError
from toksmith.io import atomic_write_text
from toksmith.vocab import byte_level_decode, byte_level_encode

__all__ = ["added_token", "bpe_tokenizer_json", "read_bpe_json", "tokenizer_config", "write_hf_files"]


def added_token(content: str, token_id: int, *, special: bool = True) -> dict[str, Any]:
    """One entry of tokenizer.json's `added_tokens`."""
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def bpe_tokenizer_json(
    vocab: Mapping[bytes, int],
    merges: Sequence[tuple[bytes, bytes]],
    added_tokens: Sequence[Mapping[str, Any]],
    pre_tokenizer: Mapping[str, Any],
) -> str:
    """tokenizer.json text of a byte-level BPE: Split pre-tokenizer(s), ByteLevel without regex, pair merges.

    `ignore_merges` is false, so every word is encoded by applying merges by rank (the reference encoder).
    """
    model_vocab: dict[str, int] = {}
    for tok in added_tokens:
        model_vocab[tok["content"]] = tok["id"]
    for data, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        piece = byte_level_encode(data)
        if piece in model_vocab:
            raise TrainingError(f"special token '{piece}' has the same text as a learned token")
        model_vocab[piece] = i
    ids = list(model_vocab.values())
    if len(set(ids)) != len(ids):
        raise TrainingError("two tokens share one id in the trained vocabulary")
    spec = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [dict(t) for t in sorted(added_tokens, key=lambda t: t["id"])],
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": dict(sorted(model_vocab.items(), key=lambda kv: kv[1])),
            "merges": [[byte_level_encode(a), byte_level_encode(b)] for a, b in merges],
        },
    }
    return json.dumps(spec, ensure_ascii=False, indent=2) + "\n"


def tokenizer_config(added_tokens: Sequence[Mapping[str, Any]], *, bos: str | None, eos: str | None,
                     extra: Mapping[str, Any] | None = None) -> str:
    """tokenizer_config.json for `transformers.PreTrainedTokenizerFast` / `AutoTokenizer`."""
    cfg: dict[str, Any] = {
        "added_tokens_decoder": {
            str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for t in sorted(added_tokens, key=lambda t: t["id"])
        },
        "bos_token": bos,
        "eos_token": eos,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1 << 60,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    if extra:
        cfg.update(extra)
    return json.dumps(cfg, ensure_ascii=False, indent=2) + "\n"


def write_hf_files(out_dir: str | Path, tokenizer_json: str, config_json: str) -> list[Path]:
    """Create `out_dir` and write both files atomically; a TrainingError names an unwritable directory."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return [atomic_write_text(out / "tokenizer.json", tokenizer_json),
                atomic_write_text(out / "tokenizer_config.json", config_json)]
    except OSError as e:
        raise TrainingError(f"{out}: cannot write the tokenizer files ({e.strerror or e})") from e


def read_bpe_json(path: str | Path) -> tuple[dict[bytes, int], list[tuple[bytes, bytes]], list[dict[str, Any]]]:
    """(vocab bytes -> id, merges as byte pairs, added_tokens) of a byte-level BPE tokenizer.json."""
    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.json"
    try:
        spec = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerLoadError(f"{p}: cannot read a tokenizer.json ({e})") from e
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise TrainingError(f"{p}: only byte-level BPE tokenizers can be extended (model.type is "
                            f"{model.get('type')!r})")
    added = [dict(t) for t in spec.get("added_tokens") or []]
    added_ids = {t["id"] for t in added}
    vocab: dict[bytes, int] = {}
    for piece, i in model.get("vocab", {}).items():
        if i in added_ids:
            continue
        data = byte_level_decode(piece)
        if data is None:
            raise TrainingError(f"{p}: vocabulary entry {piece!r} is not byte-level BPE (GPT-2 alphabet)")
        vocab.setdefault(data, i)
    merges: list[tuple[bytes, bytes]] = []
    for k, m in enumerate(model.get("merges", [])):
        parts = m.split(" ") if isinstance(m, str) else list(m)
        a = byte_level_decode(parts[0]) if len(parts) == 2 else None
        b = byte_level_decode(parts[1]) if len(parts) == 2 else None
        if a is None or b is None:
            raise TrainingError(f"{p}: merge {k} ({m!r}) is not a pair of byte-level tokens")
        merges.append((a, b))
    return vocab, merges, added
