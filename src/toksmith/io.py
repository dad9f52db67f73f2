"""Atomic file output: every file toksmith writes appears whole or not at all.

A reader (or a crashed run) never sees a half-written report, tokenizer or JSON file: the data goes to a
temporary file in the destination's directory, is fsync'ed, and is renamed over the target with
`os.replace`, which is atomic on POSIX and Windows when both names are on the same filesystem.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from toksmith.errors import ToksmithError

__all__ = ["atomic_write_bytes", "atomic_write_text", "ensure_dir"]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path.

    The parent directory must exist (else ToksmithError naming the path). On any error the temporary
    file is removed and an existing file at `path` is left untouched.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> atomic_write_bytes(p, b"abc").read_bytes()
    b'abc'
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise ToksmithError(f"{target}: cannot write here ({e.strerror or e})") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the permissions an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(directory)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (UTF-8 by default, newlines written as given); returns the path.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> atomic_write_text(p, "héllo\\n").read_bytes()
    b'h\\xc3\\xa9llo\\n'
    """
    return atomic_write_bytes(path, text.encode(encoding))


def ensure_dir(path: str | os.PathLike[str]) -> Path:
    """Create the output directory `path` (and parents); one ToksmithError naming it when that fails."""
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ToksmithError(f"{target}: cannot create the output directory ({e.strerror or e})") from e
    return target


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; not supported on every platform, so failures are ignored."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
