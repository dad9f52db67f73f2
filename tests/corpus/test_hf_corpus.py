"""`hf:` corpora through `datasets`: local dataset directories, save_to_disk, parallel forms, the CLI."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from toksmith.corpus import read_corpus, read_parallel
from toksmith.corpus_hf import parse_dataset_spec
from toksmith.errors import CorpusError

datasets = pytest.importorskip("datasets")
runner = CliRunner()


def _paragraphs(shared_data, n=60):
    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")
    return [p for p in text.split("\n\n") if p.strip()][:n]


@pytest.fixture
def local_dataset(tmp_path, shared_data):
    """A local dataset directory as users keep one: train/test JSON Lines with a text column."""
    paras = _paragraphs(shared_data)
    d = tmp_path / "speeches"
    d.mkdir()
    for split, rows in (("train", paras[:50]), ("test", paras[50:])):
        with (d / f"{split}.jsonl").open("w", encoding="utf-8") as f:
            for i, p in enumerate(rows):
                f.write(json.dumps({"id": i, "body": p}) + "\n")
    return d, paras


def test_local_dataset_streams_rows_as_documents(local_dataset):
    d, paras = local_dataset
    c = read_corpus(f"hf:{d}", split="test", field="body")
    assert [doc.text for doc in c] == paras[50:]
    fp = c.fingerprint()
    assert (fp["dataset"], fp["config"], fp["split"], fp["revision"], fp["field"]) == (str(d), None, "test", None,
                                                                                          "body")
    oracle = hashlib.sha256(b"".join(p.encode() + b"\0" for p in paras[50:])).hexdigest()
    assert fp["sha256"] == oracle and fp["rows"] == len(paras) - 50


def test_dataset_errors_are_one_line(local_dataset):
    d, _ = local_dataset
    with pytest.raises(CorpusError, match="choose a split with --split") as e:
        read_corpus(f"hf:{d}", field="body")
    assert "train" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(CorpusError, match="no column 'text'.*body"):
        read_corpus(f"hf:{d}", split="train")
    with pytest.raises(CorpusError, match="no split 'validation'.*train"):
        read_corpus(f"hf:{d}", split="validation", field="body")
    with pytest.raises(CorpusError, match="cannot load the dataset"):
        read_corpus(f"hf:{d / 'missing'}", split="train")
    with pytest.raises(CorpusError, match="stands alone"):
        read_corpus([f"hf:{d}", str(d / "train.jsonl")])
    assert parse_dataset_spec("hf:org/name:cfg@v1") == ("org/name", "cfg", "v1")


def test_save_to_disk_directory(tmp_path, shared_data):
    paras = _paragraphs(shared_data, 20)
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": paras[:15]}),
                               "validation": datasets.Dataset.from_dict({"text": paras[15:]})})
    dd.save_to_disk(str(tmp_path / "saved"))
    c = read_corpus(f"hf:{tmp_path / 'saved'}", split="validation")
    assert [doc.text for doc in c] == paras[15:]
    assert c.fingerprint()["split"] == "validation"


def _udhr_lines(shared_data, langs, n=40):
    return {lang: [ln for ln in (shared_data / "udhr" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
                   if ln.strip()][:n] for lang in langs}


def test_parallel_one_column_per_language(tmp_path, shared_data):
    lines = _udhr_lines(shared_data, ("eng", "deu", "fra"))
    n = min(len(v) for v in lines.values())
    datasets.Dataset.from_dict({**{k: v[:n] for k, v in lines.items()}, "row": list(range(n))}).save_to_disk(
        str(tmp_path / "par"))
    par = read_parallel(f"hf:{tmp_path / 'par'}")
    assert sorted(par) == ["deu", "eng", "fra"]  # the integer column is not a language
    assert [d.text for d in par["deu"]] == lines["deu"][:n]
    assert {d.lang for d in par["fra"]} == {"fra"}


def test_parallel_one_config_per_language(tmp_path, shared_data):
    """FLORES style: a local dataset whose README declares one config per language."""
    lines = _udhr_lines(shared_data, ("eng", "spa"))
    d = tmp_path / "flores"
    configs = []
    for lang, rows in lines.items():
        (d / lang).mkdir(parents=True)
        with (d / lang / "dev.jsonl").open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"text": r}) + "\n")
        configs.append(f"- config_name: {lang}\n  data_files:\n  - split: dev\n    path: {lang}/dev.jsonl\n")
    (d / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n")
    par = read_parallel(f"hf:{d}", split="dev")
    assert sorted(par) == ["eng", "spa"]
    assert [x.text for x in par["spa"]] == lines["spa"]
    assert par["eng"].fingerprint()["config"] == "eng"


def test_cli_eval_two_tokenizers_on_a_dataset(local_dataset, tmp_path):
    from toksmith.cli import app

    d, paras = local_dataset
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "smollm2", "gemma3", "--corpus", f"hf:{d}", "--split", "train",
                              "--field", "body", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    main = r["corpus"]["main"]
    assert main["documents"] == 50
    assert main["bytes"] == sum(len(p.encode()) for p in paras[:50])
    assert main["fingerprint"]["split"] == "train" and main["fingerprint"]["field"] == "body"
