"""Corpora from Hugging Face `datasets`: `hf:NAME[:CONFIG][@REVISION]` with a split and a text field.

NAME is a Hub dataset id, a local dataset directory (data files that `datasets.load_dataset` reads,
e.g. `train.jsonl` or `data/train-*.parquet`), or a directory written by `save_to_disk`. Hub and
local datasets stream (`streaming=True`); a `save_to_disk` directory is memory-mapped Arrow, read in
batches. Either way one row is one `Document`, so memory stays bounded by a batch, not the dataset.

The fingerprint records name, config, split, revision and field, plus a sha256 over the streamed
texts (the content actually measured), the row count and the CRLF count.

Parallel form (FLORES style): one config per language (the language is the config name, the text
the `field` column) or, within one config, one string column per language (the language is the
column name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from toksmith.corpus import Corpus, Document, ParallelCorpus
from toksmith.errors import CorpusError, MissingDependencyError

__all__ = ["DatasetCorpus", "is_dataset_spec", "parse_dataset_spec", "read_dataset", "read_dataset_parallel"]

PREFIX = "hf:"
_BATCH = 1024


def is_dataset_spec(spec: object) -> bool:
    """Whether a corpus argument names a dataset (`hf:...`)."""
    return isinstance(spec, str) and spec.startswith(PREFIX)


def parse_dataset_spec(spec: str) -> tuple[str, str | None, str | None]:
    """(name, config, revision) of `hf:NAME[:CONFIG][@REVISION]`.

    >>> parse_dataset_spec("hf:openlanguagedata/flores_plus:eng_Latn@main")
    ('openlanguagedata/flores_plus', 'eng_Latn', 'main')
    """
    if not is_dataset_spec(spec):
        raise CorpusError(f"'{spec}' is not a dataset spec (hf:NAME[:CONFIG][@REVISION])")
    body = spec[len(PREFIX):]
    revision = None
    if "@" in body:
        body, revision = body.rsplit("@", 1)
    name, _, config = body.partition(":")
    if not name:
        raise CorpusError(f"'{spec}': no dataset name after 'hf:'")
    return name, config or None, revision or None


def _datasets() -> Any:
    try:
        import datasets
    except ImportError as e:
        raise MissingDependencyError("datasets", "hf: corpora", extra="hf") from e
    datasets.disable_progress_bars()  # the CLI's own status line reports progress
    datasets.logging.set_verbosity_error()
    return datasets


def _saved_to_disk(path: Path) -> bool:
    return path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file())


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _open(name: str, config: str | None, split: str | None, revision: str | None) -> tuple[Any, str]:
    """(a dataset with `.iter(batch_size)`, the split used)."""
    ds_mod = _datasets()
    local = Path(name).expanduser()
    label = PREFIX + name
    try:
        if _saved_to_disk(local):
            if config is not None:
                raise CorpusError(f"{label}: a save_to_disk directory has no configs (drop ':{config}')")
            ds = ds_mod.load_from_disk(str(local))
        else:
            ds = ds_mod.load_dataset(str(local) if local.is_dir() else name, config, split=split, streaming=True,
                                     revision=revision)
    except CorpusError:
        raise
    except Exception as e:  # noqa: BLE001 - datasets raises many types (FileNotFoundError, ValueError, ...)
        if split is not None and "Bad split" in str(e):
            raise CorpusError(f"{label}: no split '{split}' ({_first_line(e)})") from e
        raise CorpusError(f"{label}{':' + config if config else ''}: cannot load the dataset ({type(e).__name__}: "
                          f"{_first_line(e)})") from e
    if isinstance(ds, (ds_mod.DatasetDict, ds_mod.IterableDatasetDict)):
        splits = list(ds)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in ds:
            raise CorpusError(f"{label}: choose a split with --split ({', '.join(splits)})" if split is None
                              else f"{label}: no split '{split}' (splits: {', '.join(splits)})")
        ds = ds[split]
    return ds, split or "train"


class DatasetCorpus(Corpus):
    """A streamed corpus over one text column of one split of a dataset.

    Args:
        name: Hub dataset id, local dataset directory or `save_to_disk` directory.
        config: dataset configuration (subset), if any.
        split: the split ("train", "test", ...); may be omitted when the dataset has only one.
        field: the column holding the text.
        revision: branch, tag or commit of a Hub dataset.
    """

    def __init__(self, name: str, *, config: str | None = None, split: str | None = None, field: str = "text",
                 revision: str | None = None, errors: str = "strict", lang: str | None = None,
                 newlines: str = "keep") -> None:
        super().__init__([], field=field, errors=errors, lang=lang, newlines=newlines)
        self.name, self.config, self.split, self.revision = name, config, split, revision
        self.label = PREFIX + name + (f":{config}" if config else "")
        self._content: dict[str, Any] | None = None

    def _rows(self) -> Iterator[tuple[int, str]]:
        ds, split = _open(self.name, self.config, self.split, self.revision)
        self.split = split
        src = Path(f"{self.label}/{split}")
        row = 0
        for batch in ds.iter(batch_size=_BATCH):
            if self.field not in batch:
                raise CorpusError(f"{self.label}/{split}: no column '{self.field}' (columns: "
                                  f"{', '.join(batch)}); use --field")
            for value in batch[self.field]:
                if isinstance(value, bytes):
                    value = self._decode(value, src, 0)
                elif value is not None and not isinstance(value, str):
                    raise CorpusError(f"{self.label}/{split}: row {row}: column '{self.field}' holds "
                                      f"{type(value).__name__}, not text")
                if value is not None:
                    yield row, value
                row += 1

    def __iter__(self) -> Iterator[Document]:
        self.replaced = 0
        lf = self.newlines == "lf"
        h = hashlib.sha256()
        rows = crlf = 0
        for row, text in self._rows():
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
            rows += 1
            n = text.count("\r\n")
            if n:
                crlf += n
                if lf:
                    text = text.replace("\r\n", "\n")
            yield Document(text, f"{self.label}/{self.split}", self.lang, row)
        self._content = {"rows": rows, "sha256": h.hexdigest(), "crlf": crlf}

    def fingerprint(self) -> dict:
        """Dataset, config, split, revision and field, with the content hash of the texts read."""
        if self._content is None:
            for _ in self:
                pass
        assert self._content is not None
        local = Path(self.name).expanduser()
        return {"dataset": self.name, "local": local.is_dir(), "config": self.config, "split": self.split,
                "revision": self.revision, "field": self.field, "files": [], **self._content,
                "newlines": self.newlines}

    def check_nonempty(self) -> DatasetCorpus:
        for doc in self:
            if doc.text.strip():
                return self
        raise CorpusError(f"{self.label}/{self.split}: column '{self.field}' holds no text")


def read_dataset(spec: str, *, split: str | None = None, field: str = "text", errors: str = "strict",
                 lang: str | None = None, newlines: str = "keep") -> DatasetCorpus:
    """A streamed corpus from `hf:NAME[:CONFIG][@REVISION]`, one column of one split.

    >>> corpus = read_dataset("hf:./my_dataset", split="train", field="text")  # doctest: +SKIP
    """
    name, config, revision = parse_dataset_spec(spec)
    return DatasetCorpus(name, config=config, split=split, field=field, revision=revision, errors=errors,
                         lang=lang, newlines=newlines).check_nonempty()


def _string_columns(name: str, config: str | None, split: str | None, revision: str | None) -> list[str]:
    ds, _ = _open(name, config, split, revision)
    first = next(iter(ds.iter(batch_size=1)), None)
    if first is None:
        raise CorpusError(f"{PREFIX}{name}: the split is empty")
    return [c for c, v in first.items() if v and isinstance(v[0], str)]


def read_dataset_parallel(spec: str, *, split: str | None = None, field: str = "text", errors: str = "strict",
                          languages: Iterable[str] | None = None, newlines: str = "keep") -> ParallelCorpus:
    """A parallel corpus from a dataset: one config per language, or one string column per language.

    Without `:CONFIG`, a dataset with several configs gives one language per config (text in `field`);
    otherwise (one config, or `:CONFIG` given, or a `save_to_disk` directory) each string column is a
    language.
    """
    name, config, revision = parse_dataset_spec(spec)
    configs: list[str] = []
    if config is None and not _saved_to_disk(Path(name).expanduser()):
        try:
            configs = list(_datasets().get_dataset_config_names(name, revision=revision))
        except Exception as e:  # noqa: BLE001
            raise CorpusError(f"{spec}: cannot list the dataset's configs ({type(e).__name__}: {_first_line(e)})"
                              ) from e
    wanted = set(languages) if languages is not None else None
    common = {"split": split, "revision": revision, "errors": errors, "newlines": newlines}
    corpora: dict[str, Corpus] = {}
    if len(configs) > 1:
        for c in configs:
            if wanted is None or c in wanted:
                corpora[c] = DatasetCorpus(name, config=c, field=field, lang=c, **common)
    else:
        for col in _string_columns(name, config, split, revision):
            if wanted is None or col in wanted:
                corpora[col] = DatasetCorpus(name, config=config, field=col, lang=col, **common)
    if wanted is not None and (missing := wanted - set(corpora)):
        raise CorpusError(f"{spec}: no config or column for language(s) {', '.join(sorted(missing))}")
    if len(corpora) < 2:
        raise CorpusError(f"{spec}: a parallel dataset needs two or more configs or text columns "
                          f"(found {', '.join(corpora) or 'none'})")
    return ParallelCorpus(corpora, spec)
