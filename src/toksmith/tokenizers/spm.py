"""SentencePiece `.model` adapter (Unigram or BPE models, byte fallback, dummy prefix)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toksmith.errors import TokenizerLoadError
from toksmith.tokenizers.base import Tokenizer, reachable_mask
from toksmith.tokenizers.hf import guess_role
from toksmith.vocab import Role, TokenKind, Vocab, sentencepiece_piece_bytes

__all__ = ["SentencePieceTokenizer", "load_sentencepiece"]


class SentencePieceTokenizer(Tokenizer):
    """A tokenizer backed by the `sentencepiece` library."""

    def __init__(self, sp: object, *, name: str, source: str = "", vocab: Vocab | None = None) -> None:
        self._sp = sp
        self.name = name
        self.source = source
        first = sp.encode("a", out_type=str)
        self.adds_space_prefix = bool(first) and first[0].startswith("\u2581")
        if vocab is not None:  # from the derived-value cache
            self._vocab = vocab
            return
        n = sp.get_piece_size()
        tokens: list[bytes] = []
        pieces: list[str] = []
        kinds: list[int] = []
        specials: dict[int, Role] = {}
        roles = {sp.bos_id(): Role.BOS, sp.eos_id(): Role.EOS, sp.pad_id(): Role.PAD, sp.unk_id(): Role.UNK}
        for i in range(n):
            piece = sp.id_to_piece(i)
            pieces.append(piece)
            if sp.is_control(i) or sp.is_unknown(i):
                tokens.append(piece.encode("utf-8"))
                kinds.append(TokenKind.SPECIAL)
                specials[i] = roles.get(i, guess_role(piece))
            elif sp.is_unused(i):
                tokens.append(piece.encode("utf-8"))
                kinds.append(TokenKind.UNUSED)
            elif sp.is_byte(i):
                tokens.append(sentencepiece_piece_bytes(piece, is_byte=True))
                kinds.append(TokenKind.BYTE)
            else:
                tokens.append(sentencepiece_piece_bytes(piece, is_byte=False))
                kinds.append(TokenKind.NORMAL)
        family = "sentencepiece"
        v = Vocab.build(tokens, pieces, kinds, specials, family, declared_size=n)
        self._vocab = Vocab.build(tokens, pieces, kinds, specials, family, reachable=reachable_mask(self, v),
                                  declared_size=n)

    @property
    def vocab(self) -> Vocab:
        return self._vocab

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return self.encode_batch([text], add_special_tokens=add_special_tokens)[0]

    def encode_batch(self, texts: Sequence[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        return self._sp.encode(list(texts), add_bos=add_special_tokens)

    def _definition(self) -> str:
        return f"sentencepiece:{self._sp.serialized_model_proto().hex()[:4096]}"


def load_sentencepiece(path: str | Path, *, name: str | None = None) -> SentencePieceTokenizer:
    """Load a SentencePiece `.model` file."""
    import sentencepiece as spm

    path = Path(path)
    if not path.is_file():
        raise TokenizerLoadError(f"{path}: no such SentencePiece model file")
    from toksmith.cache import load_arrays, store_arrays
    from toksmith.tokenizers.derived import content_key, entry_key, vocab_from_arrays, vocab_to_arrays

    sp = spm.SentencePieceProcessor()
    try:
        sp.Load(str(path))
    except (OSError, RuntimeError) as e:
        raise TokenizerLoadError(f"{path}: not a valid SentencePiece model ({e})") from e
    key = entry_key(content_key(path))
    hit = load_arrays("spm-tokenizer", key)
    if hit is not None:
        out = SentencePieceTokenizer(sp, name=name or path.stem, source=str(path), vocab=vocab_from_arrays(hit))
    else:
        out = SentencePieceTokenizer(sp, name=name or path.stem, source=str(path))
        store_arrays("spm-tokenizer", key, vocab_to_arrays(out.vocab))
    out.source_key = key
    return out
