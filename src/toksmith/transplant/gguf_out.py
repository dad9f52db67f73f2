"""Writing a transplanted model as GGUF (gguf's writer), with the new tokenizer's metadata.

The base model's GGUF file gives the architecture metadata and every tensor but the embeddings, which
are copied byte for byte (quantised tensors stay quantised); `token_embd.weight` (and `output.weight`
when the model is untied) are written as float32 rows of the new vocabulary. The `tokenizer.ggml.*`
metadata is the new tokenizer's: copied verbatim when it was itself read from a GGUF file, else built
from its tokenizer.json (byte-level BPE only: tokens, token types, merges, and the `pre` name whose
regex equals the tokenizer's split regex).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toksmith.tokenizers import Tokenizer
from toksmith.transplant.matching import TransplantError
from toksmith.vocab import Role

if TYPE_CHECKING:
    from toksmith.transplant.api import TransplantResult

__all__ = ["gguf_tokenizer_metadata", "write_gguf"]

_ROLE_KEYS = ((Role.BOS, "tokenizer.ggml.bos_token_id"), (Role.EOS, "tokenizer.ggml.eos_token_id"),
              (Role.UNK, "tokenizer.ggml.unknown_token_id"), (Role.PAD, "tokenizer.ggml.padding_token_id"))


def _fields(path: str) -> Any:
    import gguf

    return gguf.GGUFReader(path)


def gguf_tokenizer_metadata(tok: Tokenizer) -> list[tuple[str, Any, Any, Any]]:
    """(key, value, value type, array subtype) of the `tokenizer.ggml.*` metadata describing `tok`."""
    import gguf

    T = gguf.GGUFValueType
    src = str(getattr(tok, "source", "") or "")
    if src.endswith(".gguf") and Path(src).is_file():
        out = []
        for f in _fields(src).fields.values():
            if f.name.startswith("tokenizer."):
                vt = f.types[0]
                out.append((f.name, f.contents(), vt, f.types[-1] if vt == T.ARRAY else None))
        return out
    if getattr(tok, "family", None) != "byte-level-bpe" or not hasattr(tok, "backend"):
        raise TransplantError(f"{tok.name}: --gguf supports byte-level BPE tokenizers or ones read from a GGUF file")
    from toksmith.tokenizers.gguf import GGUF_PRE_TOKENIZERS

    spec = json.loads(tok.backend.to_str())
    pre_spec = json.dumps(spec.get("pre_tokenizer"), sort_keys=True)
    pre = next((name for name, p in GGUF_PRE_TOKENIZERS.items() if json.dumps(p, sort_keys=True) == pre_spec), None)
    if pre is None:
        raise TransplantError(f"{tok.name}: its pre-tokenizer has no GGUF name (known: "
                              f"{', '.join(sorted(GGUF_PRE_TOKENIZERS))}); cannot write --gguf")
    v = tok.vocab
    pieces = [tok.backend.id_to_token(i) or v.pieces[i] for i in range(v.size)]
    added = {a["id"]: a for a in spec.get("added_tokens", [])}
    types = [3 if i in v.specials else 4 if i in added else 1 for i in range(v.size)]
    merges = [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in spec["model"]["merges"]]
    out = [("tokenizer.ggml.model", "gpt2", T.STRING, None), ("tokenizer.ggml.pre", pre, T.STRING, None),
           ("tokenizer.ggml.tokens", pieces, T.ARRAY, T.STRING),
           ("tokenizer.ggml.token_type", types, T.ARRAY, T.INT32),
           ("tokenizer.ggml.merges", merges, T.ARRAY, T.STRING)]
    for role, key in _ROLE_KEYS:
        i = v.special_id(role)
        if i is not None:
            out.append((key, i, T.UINT32, None))
    return out


def write_gguf(result: TransplantResult, path: str | Path) -> Path:
    """Write `result` as a GGUF file at `path` (atomically: a temporary name, then a rename)."""
    import gguf
    import numpy as np

    src = result.base_source
    if not src.endswith(".gguf") or not Path(src).is_file():
        raise TransplantError(f"--gguf needs a GGUF base model (its tensor layout is reused); the base was {src!r}")
    reader = _fields(src)
    arch = reader.fields["general.architecture"].contents()
    meta = gguf_tokenizer_metadata(result.lm.tokenizer)
    model = result.lm.model
    emb = model.get_input_embeddings().weight.detach().float().numpy()
    head = model.get_output_embeddings().weight
    untied = head.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    replaced = {"token_embd.weight": emb}
    names = {t.name for t in reader.tensors}
    if untied or "output.weight" in names:
        replaced["output.weight"] = head.detach().float().numpy()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        vocab_key = f"{arch}.vocab_size"
        for f in reader.fields.values():
            if f.name == "general.architecture" or f.name.startswith(("GGUF.", "tokenizer.")) or f.name == vocab_key:
                continue
            vt = f.types[0]
            writer.add_key_value(f.name, f.contents(), vt, sub_type=f.types[-1] if vt == gguf.GGUFValueType.ARRAY
                                 else None)
        writer.add_key_value(vocab_key, int(emb.shape[0]), gguf.GGUFValueType.UINT32)
        for key, value, vt, sub in meta:
            writer.add_key_value(key, value, vt, sub_type=sub)
        for t in reader.tensors:
            if t.name in replaced:
                a = np.ascontiguousarray(replaced[t.name], dtype=np.float32)
                writer.add_tensor_info(t.name, a.shape, a.dtype, a.nbytes, gguf.GGMLQuantizationType.F32)
            else:
                writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in reader.tensors:
            data = np.ascontiguousarray(replaced[t.name], dtype=np.float32) if t.name in replaced else t.data
            writer.write_tensor_data(data, tensor_endianess=reader.endianess)
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return path
