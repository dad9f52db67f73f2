"""Streaming corpora: text, JSON Lines and Parquet files (optionally .gz/.zst), and parallel corpora.

Everything is streamed, never loaded whole. A document is one line of a text file (blank lines are
kept with the line before them, so the documents of a file concatenate back to the file exactly; a
line longer than `MAX_DOC_BYTES` is cut at a character boundary), one record of a JSON Lines file, or
one row of a Parquet file. Invalid UTF-8 stops with an error naming the file and byte offset, or with
`errors="replace"` becomes U+FFFD and is counted in `Corpus.replaced`.

Line endings are measured as read (`newlines="keep"`): a CRLF file counts its `\r` bytes, so bytes per
token differ from what the same text gives after a text-mode read. Every CRLF is counted into the
corpus fingerprint (`crlf`) so reports can warn; `newlines="lf"` turns each CRLF into LF before measuring.
"""

from __future__ import annotations

import glob as globlib
import gzip
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from toksmith.errors import CorpusError

__all__ = ["Corpus", "Document", "ParallelCorpus", "crlf_warning", "read_corpus", "read_files", "read_parallel",
           "resolve_paths"]

TEXT_SUFFIXES = (".txt", ".text", ".md")
SUFFIXES = TEXT_SUFFIXES + (".jsonl", ".json", ".parquet")
COMPRESSED = (".gz", ".zst")
MAX_DOC_BYTES = 1 << 20
#: How line endings are treated: "keep" measures raw bytes (the default), "lf" turns CRLF into LF.
NEWLINES = ("keep", "lf")


@dataclass(frozen=True)
class Document:
    """One unit of text with where it came from (`source`, byte `offset`) and its language if known."""

    text: str
    source: str
    lang: str | None = None
    offset: int = 0


def _kind(path: Path) -> tuple[str, str | None]:
    """(format, compression) of a corpus file from its suffixes."""
    suffixes = [s.lower() for s in path.suffixes]
    comp = suffixes[-1] if suffixes and suffixes[-1] in COMPRESSED else None
    base = suffixes[-2] if comp and len(suffixes) >= 2 else (suffixes[-1] if suffixes and not comp else "")
    if base in (".jsonl", ".json"):
        return "jsonl", comp
    if base == ".parquet":
        if comp:
            raise CorpusError(f"{path}: compressed Parquet is not supported (Parquet compresses internally)")
        return "parquet", None
    return "text", comp


def resolve_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """Expand files, directories (recursively, supported suffixes only) and globs, sorted and de-duplicated."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        s = str(p)
        if any(c in s for c in "*?["):
            matches = sorted(globlib.glob(s, recursive=True))
            if not matches:
                raise CorpusError(f"{s}: glob matches no file")
            out.extend(Path(m) for m in matches if Path(m).is_file())
            continue
        path = Path(s).expanduser()
        if path.is_dir():
            found = sorted(
                f for f in path.rglob("*")
                if f.is_file() and not f.name.startswith(".") and _supported(f)
            )
            if not found:
                raise CorpusError(f"{path}: directory holds no .txt, .jsonl or .parquet file")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise CorpusError(f"{path}: no such file or directory")
    seen: set[Path] = set()
    unique = [p for p in out if not (p in seen or seen.add(p))]
    if not unique:
        raise CorpusError("no corpus files given")
    return unique


def _supported(f: Path) -> bool:
    name = f.name.lower()
    for c in ("",) + COMPRESSED:
        if any(name.endswith(s + c) for s in SUFFIXES):
            return True
    return False


def _open_binary(path: Path, comp: str | None) -> BinaryIO:
    try:
        if comp == ".gz":
            return gzip.open(path, "rb")
        if comp == ".zst":
            import zstandard

            raw = path.open("rb")
            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
        return path.open("rb")
    except OSError as e:
        raise CorpusError(f"{path}: cannot open ({e.strerror or e})") from e


class Corpus:
    """A re-iterable stream of `Document`s from one or more files.

    Args:
        files: resolved corpus files.
        field: the JSON Lines field or Parquet column that holds the text.
        errors: "strict" (invalid UTF-8 is an error naming file and offset) or "replace".
        lang: language code attached to every document.
        newlines: "keep" (raw bytes, CRLF counted as two bytes) or "lf" (CRLF becomes LF).
    """

    def __init__(self, files: Sequence[Path], *, field: str = "text", errors: str = "strict",
                 lang: str | None = None, newlines: str = "keep") -> None:
        if errors not in ("strict", "replace"):
            raise CorpusError(f"errors must be 'strict' or 'replace', not '{errors}'")
        if newlines not in NEWLINES:
            raise CorpusError(f"newlines must be 'keep' or 'lf', not '{newlines}'")
        self.newlines = newlines
        self.files = list(files)
        self.field = field
        self.errors = errors
        self.lang = lang
        #: invalid UTF-8 sequences replaced by U+FFFD during the last full pass (errors="replace")
        self.replaced = 0
        self._hashes: dict[str, str] = {}
        #: CRLF line endings per file, counted in the text as read (before any normalisation)
        self._crlf: dict[str, int] = {}

    def __iter__(self) -> Iterator[Document]:
        self.replaced = 0
        lf = self.newlines == "lf"
        for path in self.files:
            crlf = 0
            for doc in self._read_file(path):
                n = doc.text.count("\r\n")
                if n:
                    crlf += n
                    if lf:
                        doc = Document(doc.text.replace("\r\n", "\n"), doc.source, doc.lang, doc.offset)
                yield doc
            self._crlf[str(path)] = crlf

    def texts(self) -> Iterator[str]:
        """Only the text of each document."""
        for d in self:
            yield d.text

    def _decode(self, raw: bytes, path: Path, offset: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.errors == "strict":
                raise CorpusError(
                    f"{path}: invalid UTF-8 at byte offset {offset + e.start} "
                    f"(byte 0x{raw[e.start]:02X}); use --errors replace to go on"
                ) from None
        parts: list[str] = []
        pos = 0
        while True:
            try:
                parts.append(raw[pos:].decode("utf-8"))
                break
            except UnicodeDecodeError as e:
                parts.append(raw[pos:pos + e.start].decode("utf-8"))
                parts.append("\ufffd")
                self.replaced += 1
                pos += e.end
        return "".join(parts)

    def _read_file(self, path: Path) -> Iterator[Document]:
        fmt, comp = _kind(path)
        if fmt == "parquet":
            yield from self._read_parquet(path)
            return
        h = hashlib.sha256()
        with _open_binary(path, comp) as f:
            try:
                if fmt == "jsonl":
                    yield from self._read_jsonl(f, path, h)
                else:
                    yield from self._read_text(f, path, h)
            except (OSError, EOFError) as e:
                raise CorpusError(f"{path}: read failed, corrupt or truncated file ({e})") from e
        self._hashes[str(path)] = h.hexdigest()

    def _read_text(self, f: BinaryIO, path: Path, h: hashlib._Hash) -> Iterator[Document]:
        src = str(path)
        pending: bytes = b""
        start = 0
        offset = 0
        for line in f:
            h.update(line)
            while len(line) > MAX_DOC_BYTES:
                cut = MAX_DOC_BYTES
                while cut > 0 and (line[cut] & 0xC0) == 0x80:
                    cut -= 1
                if pending:
                    yield Document(self._decode(pending, path, start), src, self.lang, start)
                    pending = b""
                yield Document(self._decode(line[:cut], path, offset), src, self.lang, offset)
                offset += cut
                line = line[cut:]
            if pending and line.strip():
                yield Document(self._decode(pending, path, start), src, self.lang, start)
                pending = b""
            if not pending:
                start = offset
            pending += line
            offset += len(line)
        if pending:
            yield Document(self._decode(pending, path, start), src, self.lang, start)

    def _read_jsonl(self, f: BinaryIO, path: Path, h: hashlib._Hash) -> Iterator[Document]:
        src = str(path)
        offset = 0
        for lineno, line in enumerate(f, 1):
            h.update(line)
            if line.strip():
                text = self._decode(line, path, offset)
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as e:
                    raise CorpusError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
                value = record.get(self.field) if isinstance(record, dict) else None
                if not isinstance(value, str):
                    raise CorpusError(f"{path}:{lineno}: no string field '{self.field}' (use --field to pick one)")
                yield Document(value, src, self.lang, offset)
            offset += len(line)

    def _read_parquet(self, path: Path) -> Iterator[Document]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as e:
            raise CorpusError(f"{path}: not a readable Parquet file ({e})") from e
        if self.field not in pf.schema_arrow.names:
            raise CorpusError(f"{path}: no column '{self.field}' (columns: {', '.join(pf.schema_arrow.names)})")
        src = str(path)
        row = 0
        for batch in pf.iter_batches(columns=[self.field], batch_size=4096):
            for value in batch.column(0).to_pylist():
                if isinstance(value, bytes):
                    value = self._decode(value, path, 0)
                if value is not None:
                    yield Document(value, src, self.lang, row)
                row += 1
        self._hashes[src] = _sha256_file(path)

    def fingerprint(self) -> dict:
        """Paths, sizes, sha256 (of the raw, possibly compressed, bytes) and CRLF count of every file.

        `crlf` is the number of CRLF line endings in the text; `newlines` says whether they were kept
        as raw bytes or turned into LF. Files not yet read in full are read once to count them.
        """
        files = []
        for p in self.files:
            key = str(p)
            fmt, comp = _kind(p)
            digest = self._hashes.get(key) if not comp else None
            if key not in self._crlf:
                self._crlf[key] = sum(d.text.count("\r\n") for d in self._read_file(p))
            files.append({"path": key, "bytes": p.stat().st_size, "sha256": digest or _sha256_file(p),
                          "crlf": self._crlf[key]})
        h = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()
        return {"files": files, "sha256": h, "crlf": sum(f["crlf"] for f in files), "newlines": self.newlines}

    def check_nonempty(self) -> Corpus:
        """Raise CorpusError if the corpus holds no text at all."""
        for doc in self:
            if doc.text.strip():
                return self
        names = ", ".join(str(p) for p in self.files[:3])
        raise CorpusError(f"{names}: corpus is empty (no text found)")


def crlf_warning(fingerprint: dict | None) -> str | None:
    """The warning for a corpus whose CRLF line endings are measured as raw bytes, else None."""
    if not fingerprint or fingerprint.get("newlines", "keep") != "keep" or not fingerprint.get("crlf"):
        return None
    where = fingerprint.get("directory") or ", ".join(
        Path(f["path"]).name for f in fingerprint.get("files", []) if f.get("crlf"))[:200]
    return (f"{fingerprint['crlf']:,} CRLF line endings ({where}) are measured as raw bytes, '\\r' included; "
            "pass --newlines lf to measure the text as a text-mode read sees it")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_corpus(
    paths: str | Path | Sequence[str | Path],
    *,
    field: str = "text",
    errors: str = "strict",
    lang: str | None = None,
    newlines: str = "keep",
    split: str | None = None,
) -> Corpus:
    """A streamed corpus from files, directories or globs (.txt/.jsonl/.parquet, optionally .gz/.zst),
    or from a dataset: `hf:NAME[:CONFIG][@REVISION]` with `split` and `field` (see `toksmith.corpus_hf`).

    >>> corpus = read_corpus("../shared/data/english/inaugural.txt")  # doctest: +SKIP
    >>> next(iter(corpus)).source  # doctest: +SKIP
    '../shared/data/english/inaugural.txt'
    """
    specs = [paths] if isinstance(paths, (str, Path)) else list(paths)
    datasets = [s for s in specs if isinstance(s, str) and s.startswith("hf:")]
    if datasets:
        if len(specs) != 1:
            raise CorpusError(f"{datasets[0]}: a dataset corpus stands alone (give one hf: spec and no files)")
        from toksmith.corpus_hf import read_dataset

        return read_dataset(datasets[0], split=split, field=field, errors=errors, lang=lang, newlines=newlines)
    return Corpus(resolve_paths(paths), field=field, errors=errors, lang=lang, newlines=newlines).check_nonempty()


def read_files(paths: str | Path | Sequence[str | Path], *, max_bytes: int | None = None) -> dict[str, str]:
    """The whole text of every corpus file (source -> text), for scoring a file as one sequence.

    With `max_bytes`, each text is cut to its first `max_bytes` UTF-8 bytes at a character boundary.
    """
    files: dict[str, list[str]] = {}
    for doc in read_corpus(paths):
        files.setdefault(doc.source, []).append(doc.text)
    out = {}
    for src, parts in files.items():
        text = "".join(parts)
        if max_bytes is not None:
            text = text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        out[src] = text
    return out


class ParallelCorpus(Mapping[str, Corpus]):
    """Language code -> Corpus, from a directory with one file per language (`eng.txt`, `deu.txt`, ...)."""

    def __init__(self, corpora: Mapping[str, Corpus], directory: Path | str | None = None) -> None:
        self._corpora = dict(sorted(corpora.items()))
        self.directory = directory

    def __getitem__(self, lang: str) -> Corpus:
        return self._corpora[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(self._corpora)

    def __len__(self) -> int:
        return len(self._corpora)

    def fingerprint(self) -> dict:
        fps = {lang: c.fingerprint() for lang, c in self._corpora.items()}
        langs = {lang: fp["sha256"] for lang, fp in fps.items()}
        newlines = {fp["newlines"] for fp in fps.values()}
        return {"directory": str(self.directory) if self.directory else None, "languages": len(langs),
                "sha256": hashlib.sha256(json.dumps(langs, sort_keys=True).encode()).hexdigest(),
                "crlf": sum(fp["crlf"] for fp in fps.values()),
                "newlines": newlines.pop() if len(newlines) == 1 else "keep"}


def _lang_of(path: Path) -> str:
    name = path.name
    for c in COMPRESSED:
        name = name.removesuffix(c)
    return name.rsplit(".", 1)[0] if "." in name else name


def read_parallel(
    directory: str | Path,
    *,
    errors: str = "strict",
    field: str = "text",
    languages: Iterable[str] | None = None,
    newlines: str = "keep",
    split: str | None = None,
) -> ParallelCorpus:
    """A parallel corpus: one file per language in `directory`, the language code being the file stem.

    `hf:NAME[:CONFIG][@REVISION]` reads a dataset instead: one config or one text column per language
    (see `toksmith.corpus_hf.read_dataset_parallel`).
    """
    if str(directory).startswith("hf:"):
        from toksmith.corpus_hf import read_dataset_parallel

        return read_dataset_parallel(str(directory), split=split, field=field, errors=errors, languages=languages,
                                     newlines=newlines)
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise CorpusError(f"{d}: parallel corpus must be a directory with one file per language")
    files = sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith(".") and _supported(f))
    if not files:
        raise CorpusError(f"{d}: no .txt, .jsonl or .parquet files in the parallel corpus directory")
    wanted = set(languages) if languages is not None else None
    corpora: dict[str, Corpus] = {}
    for f in files:
        lang = _lang_of(f)
        if wanted is not None and lang not in wanted:
            continue
        if lang in corpora:
            raise CorpusError(f"{f}: language '{lang}' appears twice in {d}")
        corpora[lang] = Corpus([f], field=field, errors=errors, lang=lang, newlines=newlines)
    if wanted is not None and (missing := wanted - set(corpora)):
        raise CorpusError(f"{d}: no file for language(s) {', '.join(sorted(missing))}")
    return ParallelCorpus(corpora, d)
