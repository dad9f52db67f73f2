"""A fast, strict reader for the metadata section of a GGUF file (the `tokenizer.ggml.*` keys).

It reads only the key/value header, never the tensors, so a 262k-token vocabulary loads in well under
a second (gguf.GGUFReader maps and parses every field as numpy parts, which takes tens of seconds).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from toksmith.errors import TokenizerLoadError

__all__ = ["read_gguf_metadata"]

_MAGIC = b"GGUF"
# GGUF value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array,
# 10 u64, 11 i64, 12 f64.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_MAX_STRING = 1 << 24
_MAX_ARRAY = 1 << 28


class _Reader:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f = f
        self.path = path

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise TokenizerLoadError(f"{self.path}: truncated GGUF header at byte {self.f.tell()}")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > _MAX_STRING:
            raise TokenizerLoadError(f"{self.path}: corrupt GGUF string length {n} at byte {self.f.tell() - 8}")
        try:
            return self.read(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise TokenizerLoadError(f"{self.path}: GGUF string is not UTF-8 near byte {self.f.tell()}") from e

    def value(self, vtype: int) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype = self.unpack("<I")
            n = self.unpack("<Q")
            if n > _MAX_ARRAY:
                raise TokenizerLoadError(f"{self.path}: corrupt GGUF array length {n}")
            if etype == 8:
                return [self.string() for _ in range(n)]
            if etype in _SCALAR:
                fmt = _SCALAR[etype]
                size = struct.calcsize(fmt)
                return list(struct.unpack(f"<{n}{fmt[1]}", self.read(size * n)))
            return [self.value(etype) for _ in range(n)]
        raise TokenizerLoadError(f"{self.path}: unknown GGUF value type {vtype} at byte {self.f.tell() - 4}")


def read_gguf_metadata(path: str | Path, *, prefixes: tuple[str, ...] | None = None) -> dict[str, Any]:
    """All metadata key/values of a GGUF file (or those whose key starts with one of `prefixes`).

    Raises TokenizerLoadError naming the file and offset for a file that is not GGUF or is truncated.
    """
    path = Path(path)
    try:
        f = path.open("rb")
    except OSError as e:
        raise TokenizerLoadError(f"{path}: cannot open GGUF file ({e.strerror})") from e
    with f:
        r = _Reader(f, path)
        magic = f.read(4)
        if magic != _MAGIC:
            raise TokenizerLoadError(f"{path}: not a GGUF file (magic {magic!r}, expected b'GGUF')")
        version = r.unpack("<I")
        if version not in (2, 3):
            raise TokenizerLoadError(f"{path}: unsupported GGUF version {version} (supported: 2, 3)")
        r.unpack("<Q")  # tensor count
        n_kv = r.unpack("<Q")
        if n_kv > 1 << 20:
            raise TokenizerLoadError(f"{path}: corrupt GGUF header ({n_kv} metadata keys)")
        out: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            vtype = r.unpack("<I")
            value = r.value(vtype)
            if prefixes is None or key.startswith(prefixes):
                out[key] = value
        return out
