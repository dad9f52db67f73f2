"""Hugging Face `tokenizers` adapter: tokenizer.json files and transformers model directories."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tokenizers

from toksmith.errors import TokenizerLoadError
from toksmith.tokenizers.base import Tokenizer, reachable_mask
from toksmith.vocab import (
    Role,
    TokenKind,
    Vocab,
    byte_level_decode,
    byte_level_encode,
    is_byte_piece,
    sentencepiece_piece_bytes,
)

__all__ = ["HFTokenizer", "guess_role", "light_spec", "load_hf_dir", "load_tokenizer_json"]

_ROLE_HINTS: tuple[tuple[Role, tuple[str, ...]], ...] = (
    (Role.BOS, ("<s>", "<bos>", "begin_of_text", "startoftext", "<|im_start|>")),
    (Role.EOS, ("</s>", "<eos>", "end_of_text", "endoftext", "<|im_end|>", "<|eot_id|>")),
    (Role.PAD, ("pad",)),
    (Role.UNK, ("unk",)),
    (Role.MASK, ("mask",)),
    (Role.SEP, ("[sep]",)),
    (Role.CLS, ("[cls]",)),
)


def guess_role(content: str) -> Role:
    """Role of a special token from its text, for files that do not declare roles."""
    low = content.lower()
    for role, hints in _ROLE_HINTS:
        if any(h in low for h in hints):
            return role
    return Role.CONTROL


def _family(spec: Mapping[str, Any]) -> str:
    model = spec.get("model", {})
    kind = model.get("type")
    blob = json.dumps([spec.get("pre_tokenizer"), spec.get("decoder"), spec.get("normalizer")])
    if kind == "WordPiece":
        return "wordpiece"
    if kind == "Unigram":
        return "unigram"
    if '"ByteLevel"' in blob:
        return "byte-level-bpe"
    if model.get("byte_fallback") or "\u2581" in blob or "Metaspace" in blob:
        return "sentencepiece"
    return "bpe"


class HFTokenizer(Tokenizer):
    """A tokenizer backed by Hugging Face `tokenizers` (Rust), with a byte-exact vocabulary."""

    def __init__(
        self,
        tok: tokenizers.Tokenizer,
        spec: Mapping[str, Any],
        *,
        name: str,
        roles: Mapping[int, Role] | None = None,
        source: str = "",
        vocab: Vocab | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self._tok = tok
        self._spec = spec
        self.family = _family(spec)
        norm = json.dumps(spec.get("normalizer"))
        pre = json.dumps(spec.get("pre_tokenizer"))
        self.adds_space_prefix = '"Prepend"' in norm or '"prepend_scheme": "always"' in pre or (
            '"add_prefix_space": true' in pre
        )
        # Special-token strings in input text are encoded as text (the metrics' policy).
        self._tok.encode_special_tokens = True
        # A vocabulary from the derived-value cache skips the slow part (reachability encodes every token).
        self._vocab = vocab if vocab is not None else self._build_vocab(roles or {})

    @property
    def vocab(self) -> Vocab:
        return self._vocab

    @property
    def backend(self) -> tokenizers.Tokenizer:
        """The underlying `tokenizers.Tokenizer`."""
        return self._tok

    def _build_vocab(self, roles: Mapping[int, Role]) -> Vocab:
        tok = self._tok
        n = tok.get_vocab_size(with_added_tokens=True)
        added = {a["id"]: a for a in self._spec.get("added_tokens", [])}
        if added:
            n = max(n, max(added) + 1)
        byte_fallback = bool(self._spec.get("model", {}).get("byte_fallback"))
        tokens: list[bytes] = []
        pieces: list[str] = []
        kinds: list[int] = []
        specials: dict[int, Role] = {}
        for i in range(n):
            a = added.get(i)
            piece = a["content"] if a else tok.id_to_token(i)
            if piece is None:
                tokens.append(b"")
                pieces.append("")
                kinds.append(TokenKind.UNUSED)
                continue
            pieces.append(piece)
            if a is not None and a.get("special"):
                tokens.append(piece.encode("utf-8"))
                kinds.append(TokenKind.SPECIAL)
                specials[i] = roles.get(i, guess_role(piece))
                continue
            if a is not None:
                tokens.append(piece.encode("utf-8"))
                kinds.append(TokenKind.USER)
                continue
            if i in roles:
                tokens.append(piece.encode("utf-8"))
                kinds.append(TokenKind.SPECIAL)
                specials[i] = roles[i]
                continue
            tokens.append(self._piece_bytes(piece, byte_fallback))
            is_byte = byte_fallback and is_byte_piece(piece)
            kinds.append(TokenKind.BYTE if is_byte else TokenKind.NORMAL)
        vocab = Vocab.build(tokens, pieces, kinds, specials, self.family, declared_size=n)
        return Vocab.build(tokens, pieces, kinds, specials, self.family, reachable=reachable_mask(self, vocab),
                           declared_size=n)

    def _piece_bytes(self, piece: str, byte_fallback: bool) -> bytes:
        if self.family == "byte-level-bpe":
            b = byte_level_decode(piece)
            return b if b is not None else piece.encode("utf-8")
        if self.family in ("sentencepiece", "unigram"):
            return sentencepiece_piece_bytes(piece, is_byte=byte_fallback or None)
        if self.family == "wordpiece":
            prefix = self._spec.get("model", {}).get("continuing_subword_prefix", "##")
            return piece[len(prefix):].encode() if piece.startswith(prefix) else piece.encode("utf-8")
        return piece.encode("utf-8")

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return self._tok.encode(text, add_special_tokens=add_special_tokens).ids

    def encode_batch(self, texts: Sequence[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        # encode_batch_fast (tokenizers >= 0.20) gives the same ids without tracking character offsets
        fast = getattr(self._tok, "encode_batch_fast", self._tok.encode_batch)
        return [e.ids for e in fast(list(texts), add_special_tokens=add_special_tokens)]

    def pretokenize(self, text: str) -> list[str] | None:
        pre = self._tok.pre_tokenizer
        if pre is None:
            return None
        norm = self._tok.normalizer
        s = norm.normalize_str(text) if norm is not None else text
        parts = [p for p, _ in pre.pre_tokenize_str(s)]
        if self.family == "byte-level-bpe":
            return [(byte_level_decode(p) or p.encode()).decode("utf-8", "replace") for p in parts]
        return [p.replace("\u2581", " ") for p in parts]

    def encode_token_bytes(self, data: bytes) -> list[int] | None:
        if self.family != "byte-level-bpe":
            return None
        return [t.id for t in self._tok.model.tokenize(byte_level_encode(data))]

    def _definition(self) -> str:
        spec = {k: v for k, v in self._spec.items() if k not in ("model", "added_tokens", "version")}
        return json.dumps(spec, sort_keys=True)


def light_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec without the model's vocab and merges: all `HFTokenizer` reads after construction."""
    out = dict(spec)
    out["model"] = {k: v for k, v in spec.get("model", {}).items() if k not in ("vocab", "merges")}
    return out


def load_tokenizer_json(
    path: str | Path, *, name: str | None = None, roles: Mapping[int, Role] | None = None
) -> HFTokenizer:
    """Load a `tokenizer.json` file (its derived vocabulary is cached on disk, see `tokenizers.derived`)."""
    return _load_json(Path(path), name=name or Path(path).parent.name or Path(path).stem, roles=roles)


def _load_json(path: Path, *, name: str, roles: Mapping[int, Role] | None = None,
               config_dir: Path | None = None) -> HFTokenizer:
    """A tokenizer.json, with roles given or read from `config_dir`'s tokenizer configs."""
    from toksmith.cache import load_arrays, store_arrays
    from toksmith.tokenizers.derived import array_text, content_key, entry_key, text_array, vocab_from_arrays

    try:
        text = path.read_text(encoding="utf-8")
        tok = tokenizers.Tokenizer.from_str(text)
    except FileNotFoundError as e:
        raise TokenizerLoadError(f"{path}: no such tokenizer file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise TokenizerLoadError(f"{path}: not a readable tokenizer.json ({e})") from e
    except Exception as e:  # tokenizers raises a bare Exception for malformed specs
        raise TokenizerLoadError(f"{path}: tokenizers cannot load this file: {e}") from e
    if config_dir is not None:
        roles = _config_roles(config_dir, tok)
    source = str(config_dir if config_dir is not None and roles else path)
    role_key = json.dumps(sorted((int(i), str(r)) for i, r in (roles or {}).items()))
    key = entry_key(content_key(path), role_key)
    hit = load_arrays("hf-tokenizer", key)
    if hit is not None:
        out = HFTokenizer(tok, json.loads(array_text(hit["light"])), name=name, roles=roles, source=source,
                          vocab=vocab_from_arrays(hit))
        out.source_key = key
        return out
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        raise TokenizerLoadError(f"{path}: not a readable tokenizer.json ({e})") from e
    out = HFTokenizer(tok, spec, name=name, roles=roles, source=source)
    from toksmith.tokenizers.derived import vocab_to_arrays

    store_arrays("hf-tokenizer", key, {**vocab_to_arrays(out.vocab), "light": text_array(json.dumps(light_spec(spec)))})
    out.source_key = key
    return out


def _config_roles(directory: Path, tok: tokenizers.Tokenizer) -> dict[int, Role]:
    """Special-token roles declared in tokenizer_config.json / special_tokens_map.json."""
    roles: dict[int, Role] = {}
    for fname in ("special_tokens_map.json", "tokenizer_config.json"):
        p = directory / fname
        if not p.is_file():
            continue
        try:
            cfg = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise TokenizerLoadError(f"{p}: not valid JSON ({e})") from e
        for key, role in (("bos_token", Role.BOS), ("eos_token", Role.EOS), ("pad_token", Role.PAD),
                          ("unk_token", Role.UNK), ("mask_token", Role.MASK), ("sep_token", Role.SEP),
                          ("cls_token", Role.CLS)):
            val = cfg.get(key)
            if isinstance(val, dict):
                val = val.get("content")
            if isinstance(val, str):
                tid = tok.token_to_id(val)
                if tid is not None:
                    roles.setdefault(tid, role)
    return roles


def load_hf_dir(directory: str | Path, *, name: str | None = None) -> Tokenizer:
    """Load the tokenizer of a transformers model directory (tokenizer.json, else a SentencePiece model)."""
    d = Path(directory)
    tj = d / "tokenizer.json"
    if tj.is_file():
        return _load_json(tj, name=name or d.name, config_dir=d)
    spm = d / "tokenizer.model"
    if spm.is_file():
        from toksmith.tokenizers.spm import load_sentencepiece

        return load_sentencepiece(spm, name=name or d.name)
    ggufs = sorted(d.glob("*.gguf"))
    if ggufs:
        from toksmith.tokenizers.gguf import load_gguf_tokenizer

        return load_gguf_tokenizer(ggufs[0], name=name or d.name)
    raise TokenizerLoadError(f"{d}: no tokenizer.json, tokenizer.model or .gguf in this directory")
