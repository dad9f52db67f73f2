"""The one scoring path (`bridge.api.run_score`): ensembles from members scored one at a time."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from tests.bridge.tiny import saved_tiny_models

from toksmith.bridge import ByteEnsemble, ByteLM
from toksmith.bridge.api import run_score
from toksmith.bridge.generate import score_bytes
from toksmith.lm import LM, load_lm

TEXT = "ab ab aab ba\nabba é ab's\n"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("score-path")
    dirs = [str(d) for d in saved_tiny_models(tmp)]
    corpus = tmp / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    return dirs, corpus


@pytest.mark.parametrize("mode", ["mixture", "product"])
def test_ensemble_from_members_scored_one_at_a_time_equals_the_joint_ensemble(setup, mode):
    (a, b), corpus = setup
    rep = run_score([f"{a}+{b}"], [corpus], mode=mode, weights=[0.3, 0.7])
    got = {r["model"]: r["bits_per_byte"] for r in rep.rows}
    joint = ByteEnsemble([ByteLM(load_lm(a)), ByteLM(load_lm(b))], weights=[0.3, 0.7], mode=mode)
    want = score_bytes(joint, TEXT.encode())
    assert got[joint.name] == pytest.approx(want.bits_per_byte, abs=1e-9)
    assert rep.contract["models_in_memory"] == "one at a time"


def test_models_are_loaded_scored_and_freed_one_at_a_time(setup):
    (a, b), corpus = setup
    alive_during: dict[str, set[str]] = {}

    def progress(label: str, done: int, total: int) -> None:
        gc.collect()
        alive_during.setdefault(label, set()).update(o.name for o in gc.get_objects() if isinstance(o, LM))

    rep = run_score([a, b], [corpus], byte_level=True, progress=progress)
    assert {(r["model"], r["level"]) for r in rep.rows} == {(a, "token"), (a, "byte"), (b, "token"), (b, "byte")}
    during_b = set().union(*(v for k, v in alive_during.items() if "tiny-sp" in k or k == b))
    assert during_b and all("tiny-bl" not in n for n in during_b), alive_during
    assert all(np.isfinite(r["bits_per_byte"]) for r in rep.rows)
