"""Writing a transplanted model as a Hugging Face directory that `transformers` loads unchanged.

The directory holds `model.safetensors`, `config.json` (new vocabulary size and special-token ids),
`generation_config.json`, and the new tokenizer's `tokenizer.json` + `tokenizer_config.json` (+
`special_tokens_map.json`), plus `transplant.json` (what was done). It is built in a temporary directory
beside OUT and renamed into place, so an interrupted run leaves no half-written OUT.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toksmith.io import atomic_write_text
from toksmith.tokenizers import Tokenizer
from toksmith.transplant.matching import TransplantError
from toksmith.vocab import Role

if TYPE_CHECKING:
    from toksmith.transplant.api import TransplantResult

__all__ = ["save_transplant", "tokenizer_files"]

_ROLE_KEYS = ((Role.BOS, "bos_token"), (Role.EOS, "eos_token"), (Role.UNK, "unk_token"), (Role.PAD, "pad_token"),
              (Role.MASK, "mask_token"), (Role.SEP, "sep_token"), (Role.CLS, "cls_token"))


def tokenizer_files(tok: Tokenizer) -> dict[str, str]:
    """tokenizer.json, tokenizer_config.json and special_tokens_map.json texts for `tok`."""
    if hasattr(tok, "tokenizer_json"):
        tj = tok.tokenizer_json()
    elif hasattr(tok, "backend"):
        tj = tok.backend.to_str(pretty=True)
    else:
        raise TransplantError(f"{tok.name}: writing tokenizer files for a {type(tok).__name__} is not supported "
                              "(give the tokenizer as a tokenizer.json or transformers directory)")
    v = tok.vocab
    roles = {}
    for role, key in _ROLE_KEYS:
        i = v.special_id(role)
        if i is not None:
            roles[key] = v.pieces[i]
    spec = json.loads(tj)
    added = {str(a["id"]): {k: a.get(k, False) for k in ("content", "lstrip", "normalized", "rstrip", "single_word",
                                                            "special")}
             for a in spec.get("added_tokens", [])}
    cfg: dict[str, Any] = {"added_tokens_decoder": added, **roles, "clean_up_tokenization_spaces": False,
                           "model_max_length": 1 << 60, "tokenizer_class": "PreTrainedTokenizerFast"}
    return {"tokenizer.json": tj, "tokenizer_config.json": json.dumps(cfg, ensure_ascii=False, indent=2) + "\n",
            "special_tokens_map.json": json.dumps(roles, ensure_ascii=False, indent=2) + "\n"}


def _clean_config(model: Any) -> None:
    """Drop what transformers refuses to save or would misread (a GGUF file's quantisation record)."""
    for cfg in {id(c): c for c in (model.config, getattr(model.config, "get_text_config", lambda: None)())
                if c is not None}.values():
        if hasattr(cfg, "quantization_config"):
            with contextlib.suppress(AttributeError):
                delattr(cfg, "quantization_config")
    for attr in ("is_quantized", "hf_quantizer", "quantization_method"):
        if getattr(model, attr, None):
            with contextlib.suppress(AttributeError):
                setattr(model, attr, None if attr != "is_quantized" else False)


def save_transplant(result: TransplantResult, out: str | Path, *, gguf: bool = False, force: bool = False) -> Path:
    """Write `result` as a transformers directory at `out` (and `model.gguf` inside it with `gguf`)."""
    target = Path(out)
    if target.exists() and not force:
        raise TransplantError(f"{target}: already exists (pass --force to replace it)")
    if target.exists() and not target.is_dir():
        raise TransplantError(f"{target}: exists and is not a directory")
    files = tokenizer_files(result.lm.tokenizer)
    parent = target.parent if str(target.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as e:
        raise TransplantError(f"{target}: cannot write here ({e.strerror or e})") from e
    try:
        model = result.lm.model
        _clean_config(model)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        model.save_pretrained(str(tmp), safe_serialization=True)
        for name, text in files.items():
            atomic_write_text(tmp / name, text)
        atomic_write_text(tmp / "transplant.json", json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        if gguf:
            from toksmith.transplant.gguf_out import write_gguf

            write_gguf(result, tmp / "model.gguf")
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
