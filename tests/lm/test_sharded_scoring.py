"""`score --engine ray`: windows spread over Ray workers give the local bits per byte (within 1e-6)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from toksmith.bridge.api import run_score  # noqa: E402
from toksmith.lm.scoring import score_text  # noqa: E402
from toksmith.lm.sharded import score_files_sharded, window_plan  # noqa: E402


@pytest.mark.parametrize(("n", "window", "stride"), [(1, 8, 4), (2, 8, 4), (8, 8, 4), (9, 8, 4), (100, 16, 5),
                                                     (1000, 64, 63)])
def test_window_plan_scores_every_token_once(n, window, stride):
    plan = window_plan(n, window, stride)
    scored = [i for lo, hi, first in plan for i in range(lo + first, hi)]
    assert scored == list(range(1, n))
    assert all(hi - lo <= window and first >= 1 for lo, hi, first in plan)
    assert all(first - 1 >= window - stride - 1 for _, _, first in plan[1:])  # context kept


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, smollm2):
    """A 2-layer Llama with SmolLM2's real tokenizer, saved as a transformers directory."""
    from tests.bridge.tiny import tiny_llama

    d = tmp_path_factory.mktemp("tiny-smollm2")
    lm = tiny_llama(smollm2)
    lm.model.save_pretrained(d, safe_serialization=True)
    smollm2.backend.save(str(d / "tokenizer.json"))
    return d


def test_local_plan_equals_score_text(tiny_model_dir, shared_data):
    from toksmith.lm import load_lm

    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:3000]
    lm = load_lm(tiny_model_dir)
    bits, ntok = score_text(lm, text, window=32, stride=12)
    (fs,), _, _ = score_files_sharded(str(tiny_model_dir), {"a": text}, window=32, stride=12, engine="local",
                                      windows_per_task=5)
    assert fs.tokens == ntok
    assert fs.nll_bits == pytest.approx(bits, abs=1e-9)


def test_ray_score_equals_local(local_ray, tiny_model_dir, shared_data, tmp_path):
    files = []
    for name, n in (("inaugural.txt", 6000), ("state_union.txt", 2500)):
        p = tmp_path / name
        p.write_text((shared_data / "english" / name).read_text(encoding="utf-8")[:n], encoding="utf-8")
        files.append(str(p))
    kw = {"window": 32, "stride": 16}
    local = run_score([str(tiny_model_dir)], files, **kw).rows
    on_ray = run_score([str(tiny_model_dir)], files, engine="ray", **kw).rows
    assert [(r["file"], r["bytes"], r["tokens"]) for r in on_ray] == [(r["file"], r["bytes"], r["tokens"])
                                                                      for r in local]
    for a, b in zip(local, on_ray, strict=True):
        assert abs(a["bits_per_byte"] - b["bits_per_byte"]) < 1e-6
