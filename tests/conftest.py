"""Shared fixtures: the real corpora in ../shared/data, the packaged real tokenizers, and a count of the
compiled few-row kernel's calls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path | None:
    env = os.environ.get("TOKSMITH_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (the real corpora); tests that need it skip when it is absent."""
    path = _shared_data()
    if path is None:
        pytest.skip("../shared/data is absent (set TOKSMITH_SHARED_DATA to the corpora folder)")
    return path


@pytest.fixture(scope="session")
def smollm2():
    from toksmith import load_tokenizer

    return load_tokenizer("smollm2")


@pytest.fixture(scope="session")
def gemma3():
    from toksmith import load_tokenizer

    return load_tokenizer("gemma3")


@pytest.fixture(scope="session")
def cl100k():
    from toksmith import load_tokenizer

    return load_tokenizer("cl100k")


@pytest.fixture(scope="session")
def spm_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SentencePiece model (500 pieces, byte fallback, dummy prefix) trained on real English text."""
    import sentencepiece as spm

    tmp = tmp_path_factory.mktemp("spm")
    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:200_000]
    (tmp / "c.txt").write_text(text)
    spm.SentencePieceTrainer.train(input=str(tmp / "c.txt"), model_prefix=str(tmp / "m"),
                                   vocab_size=500, byte_fallback=True, minloglevel=2)
    return tmp / "m.model"


@pytest.fixture(scope="session")
def local_ray():
    """A local Ray instance (2 CPUs) shared by every test of `--engine ray`."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()


class _CountingKernel:
    """The compiled few-row kernel, counting its calls (so a test knows the kernel ran, not PyTorch's fallback)."""

    def __init__(self, ext) -> None:
        self.ext, self.calls = ext, 0

    def linear(self, *args) -> None:
        self.calls += 1
        self.ext.linear(*args)


@pytest.fixture
def kernel_calls(monkeypatch) -> _CountingKernel:
    """toksmith.lm.skinny's kernel replaced by a counting wrapper for the test; `.calls` is the count."""
    from toksmith.lm import skinny

    skinny._bind()
    assert skinny.rows_ext is not None, "the compiled extension is not built (pip install -e .)"
    counting = _CountingKernel(skinny.rows_ext)
    monkeypatch.setattr(skinny, "rows_ext", counting)
    return counting
