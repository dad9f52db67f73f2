"""An on-disk cache of derived data (tokenizer merges, reachability, canonical derivations).

Entries are keyed by a hash of what defines them (a source file's sha256, a vocabulary fingerprint),
stored as `.npz` archives of plain numpy arrays (never pickles: `allow_pickle=False` on load), written
atomically, and verified on load by a sha256 of the archive kept in a small JSON sidecar. A corrupt,
truncated or foreign entry is ignored and rebuilt, never trusted.

The cache lives in `$TOKSMITH_CACHE`, else `$XDG_CACHE_HOME/toksmith`, else `~/.cache/toksmith`.
`TOKSMITH_CACHE=off` disables it (every value is recomputed).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from toksmith.io import atomic_write_bytes, atomic_write_text

__all__ = ["FORMAT_VERSION", "cache_dir", "cached_arrays", "file_sha256", "load_arrays", "store_arrays"]

#: Bump when the layout of any cached value changes: old entries then miss instead of misleading.
FORMAT_VERSION = 1


def cache_dir() -> Path | None:
    """The cache directory (created on first use), or None when caching is off or impossible."""
    env = os.environ.get("TOKSMITH_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "none", ""):
        return None
    if env:
        root = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME")
        root = (Path(base) if base else Path.home() / ".cache") / "toksmith"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return root


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _paths(kind: str, key: str) -> tuple[Path, Path] | None:
    root = cache_dir()
    if root is None:
        return None
    name = hashlib.sha256(f"{kind}\0{key}\0v{FORMAT_VERSION}".encode()).hexdigest()[:32]
    return root / f"{kind}-{name}.npz", root / f"{kind}-{name}.json"


def load_arrays(kind: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under (kind, key), or None when absent, stale or corrupt."""
    paths = _paths(kind, key)
    if paths is None:
        return None
    data_path, meta_path = paths
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("kind") != kind or meta.get("key") != key or meta.get("version") != FORMAT_VERSION:
        return None
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        return None
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except (OSError, ValueError):
        return None


def store_arrays(kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Store arrays under (kind, key) atomically; silently skipped when the cache is off or unwritable."""
    paths = _paths(kind, key)
    if paths is None:
        return
    data_path, meta_path = paths
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    blob = buf.getvalue()
    meta = {"kind": kind, "key": key, "version": FORMAT_VERSION, "sha256": hashlib.sha256(blob).hexdigest()}
    try:
        atomic_write_bytes(data_path, blob)
        atomic_write_text(meta_path, json.dumps(meta) + "\n")
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only a slower run
        return


def cached_arrays(kind: str, key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Load (kind, key) from the cache, else `build()` it, store it and return it.

    >>> import os, tempfile
    >>> os.environ["TOKSMITH_CACHE"] = tempfile.mkdtemp()
    >>> cached_arrays("demo", "k", lambda: {"x": np.arange(3)})["x"].tolist()
    [0, 1, 2]
    >>> cached_arrays("demo", "k", lambda: {"x": np.zeros(1)})["x"].tolist()  # served from disk
    [0, 1, 2]
    """
    hit = load_arrays(kind, key)
    if hit is not None:
        return hit
    arrays = build()
    store_arrays(kind, key, arrays)
    return arrays
