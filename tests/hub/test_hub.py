"""Hub ids through a real Hugging Face cache layout, offline: the resolution code users run.

The cache is built the way huggingface_hub writes it (`models--org--name/blobs/<sha>`,
`snapshots/<commit>/<file>` symlinks, `refs/<branch>`), filled with the packaged real tokenizers and
models, and read with `HF_HUB_OFFLINE=1`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toksmith.cli import app
from toksmith.errors import ModelLoadError, TokenizerLoadError
from toksmith.hub import MODEL_FILES, TOKENIZER_FILES, hub_cache_dir, is_hub_id, parse_hub_id
from toksmith.tokenizers import load_tokenizer

runner = CliRunner()


def add_snapshot(cache: Path, repo: str, files: dict[str, bytes], *, ref: str = "main") -> Path:
    """Write `files` into `cache` as huggingface_hub lays out one commit of `repo`; returns the snapshot."""
    root = cache / ("models--" + repo.replace("/", "--"))
    commit = hashlib.sha1(repr(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items())).encode())
    snap = root / "snapshots" / commit.hexdigest()
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = root / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snap / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("../" * (name.count("/") + 2)) / "blobs" / blob.name)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / ref).write_text(commit.hexdigest())
    return snap


@pytest.fixture(scope="module")
def smollm2_files(tmp_path_factory, smollm2) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("smollm2-tokenizer")
    smollm2.backend.save(str(d / "tokenizer.json"))
    return {"tokenizer.json": (d / "tokenizer.json").read_bytes(),
            "tokenizer_config.json": json.dumps({"eos_token": "<|im_end|>"}).encode()}


@pytest.fixture
def offline_cache(tmp_path, monkeypatch, smollm2_files) -> Path:
    cache = tmp_path / "hf" / "hub"
    add_snapshot(cache, "toksmith-test/smollm2", smollm2_files)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return cache


def test_tokenizer_by_id_offline_equals_the_packaged_one(offline_cache, smollm2, shared_data):
    tok = load_tokenizer("toksmith-test/smollm2")
    assert tok.name == "toksmith-test/smollm2"
    assert str(offline_cache) in tok.source
    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:20000]
    assert tok.encode(text) == smollm2.encode(text)
    assert tok.vocab.tokens == smollm2.vocab.tokens


def test_hf_home_is_honoured(tmp_path, monkeypatch, smollm2_files):
    add_snapshot(tmp_path / "home" / "hub", "toksmith-test/via-home", smollm2_files)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_cache_dir() == tmp_path / "home" / "hub"
    assert load_tokenizer("toksmith-test/via-home").vocab.size == 49152


def test_revision_picks_the_snapshot(offline_cache, smollm2_files):
    files = dict(smollm2_files, **{"tokenizer_config.json": b'{"bos_token": "<|endoftext|>"}'})
    snap = add_snapshot(offline_cache, "toksmith-test/smollm2", files, ref="v2")
    by_option = load_tokenizer("toksmith-test/smollm2", revision="v2")
    by_suffix = load_tokenizer("toksmith-test/smollm2@v2")
    assert by_option.source == by_suffix.source == str(snap)
    assert load_tokenizer("toksmith-test/smollm2").source != str(snap)
    assert parse_hub_id("a/b@dev", "main") == ("a/b", "dev") and parse_hub_id("a/b", None) == ("a/b", "main")


def test_local_path_wins_over_an_id(offline_cache, smollm2):
    local = offline_cache.parent.parent / "toksmith-test" / "smollm2"  # ./toksmith-test/smollm2 from cwd
    local.mkdir(parents=True)
    smollm2.backend.save(str(local / "tokenizer.json"))
    assert not is_hub_id("toksmith-test/smollm2")
    tok = load_tokenizer("toksmith-test/smollm2", name="local")
    assert Path(tok.source).resolve() == (local / "tokenizer.json").resolve()


def test_not_cached_offline_is_one_line_naming_the_id(offline_cache):
    with pytest.raises(TokenizerLoadError) as e:
        load_tokenizer("toksmith-test/absent")
    msg = str(e.value)
    assert "\n" not in msg and "'toksmith-test/absent'" in msg and "hf download toksmith-test/absent" in msg
    res = runner.invoke(app, ["eval", "toksmith-test/absent", "--quiet"])
    assert res.exit_code == 2
    assert "toksmith-test/absent" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_cli_eval_by_id_offline(offline_cache, tmp_path, shared_data):
    out = tmp_path / "out"
    res = runner.invoke(app, ["eval", "toksmith-test/smollm2", "--corpus", str(shared_data / "english" /
                              "inaugural.txt"), "--metrics", "compression", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    d = json.loads((out / "results.json").read_text())
    assert "toksmith-test/smollm2" in json.dumps(d["tokenizers"])


def test_tokenizer_fetch_patterns_never_match_weights():
    weights = ["model.safetensors", "model-00001-of-00002.safetensors", "pytorch_model.bin", "model.gguf",
               "consolidated.00.pth", "tf_model.h5", "flax_model.msgpack"]
    tokenizer_files = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                       "cl100k_base.tiktoken"]
    for w in weights:
        assert not any(fnmatch.fnmatch(w, p) for p in TOKENIZER_FILES), w
    for t in tokenizer_files:
        assert any(fnmatch.fnmatch(t, p) for p in TOKENIZER_FILES), t
    assert not any(fnmatch.fnmatch("pytorch_model.bin", p) for p in MODEL_FILES)


@pytest.mark.slow
def test_load_lm_by_id_offline(tmp_path, monkeypatch, smollm2_files):
    """A transformers model directory written from the packaged SmolLM2, loaded back by Hub id."""
    torch = pytest.importorskip("torch")
    from toksmith.lm import load_lm

    lm = load_lm("smollm2")
    d = tmp_path / "export"
    lm.model.hf_quantizer = None  # weights are already dequantised from the GGUF; save them as they are
    lm.model.config.__dict__.pop("quantization_config", None)
    lm.model.save_pretrained(d, safe_serialization=True)
    files = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    files.update(smollm2_files)
    cache = tmp_path / "hub"
    add_snapshot(cache, "toksmith-test/smollm2-model", files)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    by_id = load_lm("toksmith-test/smollm2-model")
    ids = torch.tensor([lm.tokenizer.encode("The quick brown fox jumps over the lazy dog.")])
    with torch.no_grad():
        assert torch.equal(by_id.model(ids).logits, lm.model(ids).logits)
    assert by_id.tokenizer.vocab.tokens == lm.tokenizer.vocab.tokens
    with pytest.raises(ModelLoadError, match="'toksmith-test/none' is not in the Hugging Face cache"):
        load_lm("toksmith-test/none")
