"""Streaming corpora: formats, compression, document boundaries, invalid UTF-8, empty and missing input."""

from __future__ import annotations

import gzip
import json

import pytest

from toksmith.corpus import Corpus, read_corpus, read_parallel, resolve_paths
from toksmith.errors import CorpusError


def test_text_documents_concatenate_back_to_the_file(tmp_path):
    text = "first line\nsecond line\n\n\nthird after blanks\nno newline at end"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    docs = list(read_corpus(tmp_path / "a.txt"))
    assert [d.text for d in docs] == ["first line\n", "second line\n\n\n", "third after blanks\n",
                                      "no newline at end"]
    assert "".join(d.text for d in docs) == text
    assert [d.offset for d in docs] == [0, 11, 25, 44]


def test_jsonl_gz_zst_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    rows = [{"content": "héllo"}, {"content": "wörld"}]
    payload = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl").write_bytes(payload)
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as f:
        f.write(payload)
    (tmp_path / "c.txt.zst").write_bytes(zstandard.ZstdCompressor().compress(b"zst line\n"))
    pq.write_table(pa.table({"content": ["parquet row"]}), tmp_path / "d.parquet")
    texts = [d.text for d in read_corpus(tmp_path, field="content")]
    assert texts == ["héllo", "wörld", "héllo", "wörld", "zst line\n", "parquet row"]
    with pytest.raises(CorpusError, match="no string field 'text'"):
        list(read_corpus(tmp_path / "a.jsonl"))
    with pytest.raises(CorpusError, match="no column 'text'"):
        list(read_corpus(tmp_path / "d.parquet"))


def test_invalid_utf8_names_file_and_offset(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"good line\nbad \xff byte\n")
    with pytest.raises(CorpusError, match=r"bad.txt: invalid UTF-8 at byte offset 14 \(byte 0xFF\)"):
        list(read_corpus(p))
    c = read_corpus(p, errors="replace")
    assert "".join(c.texts()) == "good line\nbad \ufffd byte\n"
    assert c.replaced == 1


def test_replace_counts_each_invalid_sequence(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"a\xc3b\xe6\x97c\xff\n")  # truncated 2-byte, truncated 3-byte, invalid byte
    c = read_corpus(p, errors="replace")
    assert "".join(c.texts()) == "a\ufffdb\ufffdc\ufffd\n" == p.read_bytes().decode("utf-8", "replace")
    assert c.replaced == 3


def test_missing_empty_and_unknown_inputs(tmp_path):
    with pytest.raises(CorpusError, match="no such file or directory"):
        read_corpus(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CorpusError, match="corpus is empty"):
        read_corpus(tmp_path / "empty.txt")
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(CorpusError, match="corpus is empty"):
        read_corpus(tmp_path / "blank.txt")
    with pytest.raises(CorpusError, match="glob matches no file"):
        resolve_paths(str(tmp_path / "*.none"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.bin").write_bytes(b"\x00")
    with pytest.raises(CorpusError, match="holds no .txt"):
        resolve_paths(tmp_path / "sub")
    with pytest.raises(CorpusError, match="errors must be"):
        Corpus([tmp_path / "empty.txt"], errors="ignore")


def test_corrupt_gzip(tmp_path):
    p = tmp_path / "x.txt.gz"
    p.write_bytes(gzip.compress(b"hello\n" * 1000)[:40])
    with pytest.raises(CorpusError, match="corrupt or truncated"):
        list(Corpus([p]))


def test_fingerprint_is_stable(tmp_path):
    (tmp_path / "a.txt").write_text("abc\n")
    c = read_corpus(tmp_path / "a.txt")
    list(c)
    fp = c.fingerprint()
    assert fp["files"][0]["sha256"] == "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb"
    assert read_corpus(tmp_path / "a.txt").fingerprint() == fp


def test_parallel_corpus_udhr(shared_data):
    par = read_parallel(shared_data / "udhr")
    assert len(par) > 300 and "eng" in par and "cmn_hans" in par
    doc = next(iter(par["deu_1901"]))
    assert doc.lang == "deu_1901" and doc.text.strip()
    with pytest.raises(CorpusError, match="no file for language"):
        read_parallel(shared_data / "udhr", languages=["eng", "xxx"])


def test_parallel_needs_a_directory(tmp_path):
    with pytest.raises(CorpusError, match="must be a directory"):
        read_parallel(tmp_path / "nope")


def test_read_files_whole_and_cut_at_a_character(tmp_path):
    from toksmith.corpus import read_files

    (tmp_path / "a.txt").write_text("héllo\nwörld\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("x\n", encoding="utf-8")
    assert read_files(tmp_path) == {str(tmp_path / "a.txt"): "héllo\nwörld\n", str(tmp_path / "b.txt"): "x\n"}
    # byte 2 is inside "é" (C3 A9): the cut keeps whole characters only
    assert read_files(tmp_path / "a.txt", max_bytes=2) == {str(tmp_path / "a.txt"): "h"}
