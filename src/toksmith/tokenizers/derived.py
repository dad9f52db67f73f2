"""The on-disk cache of what a tokenizer derives from its source: vocabulary, merges and reachability.

Deriving the byte-exact `Vocab` (and, for GGUF, the merges implied by SentencePiece scores) takes
seconds for a 262k vocabulary, most of it the reachability check that encodes every token. Those
values depend only on the source file and on the code that derives them, so they are stored through
`toksmith.cache` (plain numpy arrays, atomic writes, sha256-verified on load) under a key made of:

- the source's content hash (sha256 of the file; for files over `_DIRECT_HASH_BYTES` the hash is
  computed once and remembered per (path, size, mtime, inode), so a changed file is hashed again),
- the hash of the adapter modules' own source code (`code_version`), so any change to how a
  vocabulary, merges or reachability are derived invalidates every entry instead of serving stale
  values.

`TOKSMITH_CACHE=off` turns the cache off; every value is then recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

import numpy as np

from toksmith.cache import cached_arrays, file_sha256
from toksmith.vocab import Role, Vocab

__all__ = ["array_text", "code_version", "content_key", "entry_key", "text_array", "vocab_from_arrays",
           "vocab_to_arrays"]

_DIRECT_HASH_BYTES = 64 << 20
#: Modules whose code defines a derived value; utf8.py (byte-fallback rules) counts when present.
_DERIVATION_MODULES = ("vocab.py", "utf8.py", "tokenizers/base.py", "tokenizers/hf.py", "tokenizers/gguf.py",
                       "tokenizers/gguf_meta.py", "tokenizers/spm.py", "tokenizers/tiktoken_adapter.py",
                       "tokenizers/derived.py")
_ROLES = tuple(Role)


@cache
def code_version() -> str:
    """sha256 (16 hex) of the source of every module that derives a cached value."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _DERIVATION_MODULES:
        p = root / rel
        h.update(rel.encode() + b"\0")
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def content_key(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes; for big files remembered per (path, size, mtime_ns, inode)."""
    p = Path(path).resolve()
    st = p.stat()
    if st.st_size <= _DIRECT_HASH_BYTES:
        return file_sha256(p)
    identity = f"{p}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"

    def digest() -> dict[str, np.ndarray]:
        return {"sha256": np.frombuffer(file_sha256(p).encode(), dtype=np.uint8)}

    return bytes(cached_arrays("file-sha256", identity, digest)["sha256"]).decode()


def _pack(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in items], out=offsets[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), offsets


def _unpack(buf: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    data = buf.tobytes()
    o = offsets.tolist()
    return [data[o[i]:o[i + 1]] for i in range(len(o) - 1)]


def vocab_to_arrays(v: Vocab) -> dict[str, np.ndarray]:
    """A `Vocab` as plain arrays (no pickles): token bytes, piece text, kinds, reachability, roles."""
    tok_buf, tok_off = _pack(list(v.tokens))
    text = "".join(v.pieces)
    piece_off = np.zeros(len(v.pieces) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in v.pieces], out=piece_off[1:])
    ids = sorted(v.specials)
    return {
        "tok_buf": tok_buf, "tok_off": tok_off,
        "piece_buf": np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8), "piece_off": piece_off,
        "kinds": np.asarray(v.kinds, dtype=np.uint8), "reachable": np.asarray(v.reachable, dtype=bool),
        "special_ids": np.asarray(ids, dtype=np.int64),
        "special_roles": np.asarray([_ROLES.index(v.specials[i]) for i in ids], dtype=np.uint8),
        "meta": np.frombuffer(json.dumps({"family": v.family, "declared_size": v.declared_size}).encode(),
                              dtype=np.uint8),
    }


def vocab_from_arrays(a: dict[str, np.ndarray]) -> Vocab:
    """The `Vocab` stored by `vocab_to_arrays` (identical tokens, kinds, roles and reachability)."""
    tokens = _unpack(a["tok_buf"], a["tok_off"])
    text = a["piece_buf"].tobytes().decode("utf-8", "surrogatepass")
    o = a["piece_off"].tolist()
    pieces = tuple(text[o[i]:o[i + 1]] for i in range(len(o) - 1))
    meta = json.loads(a["meta"].tobytes())
    specials = {int(i): _ROLES[int(r)] for i, r in zip(a["special_ids"].tolist(), a["special_roles"].tolist(),
                                                          strict=True)}
    return Vocab(tuple(tokens), pieces, np.array(a["kinds"], dtype=np.uint8), specials,
                 np.array(a["reachable"], dtype=bool), meta["family"], meta["declared_size"])


def text_array(s: str) -> np.ndarray:
    """A string as a uint8 array (how text rides in a cache entry)."""
    return np.frombuffer(s.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def array_text(a: np.ndarray) -> str:
    return a.tobytes().decode("utf-8", "surrogatepass")


def entry_key(*parts: str) -> str:
    """A cache key from the content parts plus the code version."""
    return "|".join((*parts, code_version()))

