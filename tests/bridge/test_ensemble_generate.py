"""Ensembles, byte-level generation and the prompt-boundary baselines, on tiny models (fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.bridge.tiny import byte_level_bpe, sentencepiece_bpe, tiny_gemma3, tiny_llama
from typer.testing import CliRunner

from toksmith.bridge import EOT, ByteEnsemble, ByteLM, generate_bytes, score_bytes
from toksmith.errors import OptionError


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny2")
    a = ByteLM(tiny_llama(byte_level_bpe(tmp)), tail_mass=0)
    b = ByteLM(tiny_gemma3(sentencepiece_bpe(tmp), seed=1), tail_mass=0)
    return a, b


def test_distribution_is_normalised_and_masses_shrink(two):
    a, _ = two
    st = a.start(b"ab a")
    d = st.distribution()
    assert np.exp(d.logprobs).sum() == pytest.approx(1.0, abs=1e-12)
    assert 0 < d.normaliser <= 1 + 1e-12
    assert d.log_mass <= 0
    # bytes that cannot continue valid UTF-8 get no mass
    assert d.logprobs[0x80] == -np.inf


def test_ensemble_of_a_model_with_itself_is_the_model(two):
    a, _ = two
    want = a.next_byte_logprobs(b"ab")
    for mode in ("mixture", "product"):
        got = ByteEnsemble([a, a], weights=[0.3, 0.7], mode=mode).start(b"ab").distribution().logprobs
        np.testing.assert_allclose(np.exp(got), np.exp(want), atol=1e-12)


def test_mixture_and_product_across_tokenizers(two):
    a, b = two
    pa, pb = np.exp(a.next_byte_logprobs(b"a ")), np.exp(b.next_byte_logprobs(b"a "))
    mix = np.exp(ByteEnsemble([a, b], weights=[1, 3]).start(b"a ").distribution().logprobs)
    np.testing.assert_allclose(mix, 0.25 * pa + 0.75 * pb, atol=1e-12)
    prod = np.exp(ByteEnsemble([a, b], mode="product").start(b"a ").distribution().logprobs)
    geo = np.sqrt(pa * pb)
    np.testing.assert_allclose(prod, geo / geo.sum(), atol=1e-12)
    with pytest.raises(OptionError, match="mixture' or 'product"):
        ByteEnsemble([a, b], mode="average")


def test_mixture_scores_at_least_its_weighted_members(two):
    a, b = two
    text = "ab ba é".encode()
    sa, sb = score_bytes(a, text), score_bytes(b, text)
    sm = score_bytes(ByteEnsemble([a, b]), text)
    for i in range(len(text)):
        assert sm.logprobs[i] >= math.log(0.5) + max(sa.logprobs[i], sb.logprobs[i]) - 1e-12
    assert sm.forwards == sa.forwards + sb.forwards


def test_greedy_generation_follows_the_argmax(two):
    a, _ = two
    out = generate_bytes(a, b"ab", max_bytes=6)
    st = a.start(b"ab")
    want = bytearray()
    for _ in range(6):
        k = int(np.argmax(st.distribution().logprobs))
        if k == EOT:
            break
        want.append(k)
        st.advance(k)
    assert out == bytes(want)
    sampled = generate_bytes(a, b"ab", max_bytes=6, temperature=1.0, seed=3)
    assert sampled == generate_bytes(a, b"ab", max_bytes=6, temperature=1.0, seed=3)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_speculative_generation_is_byte_for_byte_plain_generation(two, temperature):
    """Drafted bytes only decide which forwards run early: the output equals one-forward-per-byte
    generation (greedy and sampled, both tokenizers and their ensemble)."""
    a, b = two
    for model in (a, b, ByteEnsemble([a, b], weights=[0.4, 0.6], mode="product")):
        for prompt in (b"ab", "é a".encode()):
            fast, slow = {}, {}
            got = generate_bytes(model, prompt, max_bytes=16, temperature=temperature, seed=5, stop_at_end=False,
                                 stats=fast)
            want = generate_bytes(model, prompt, max_bytes=16, temperature=temperature, seed=5, stop_at_end=False,
                                  speculate=False, stats=slow)
            assert got == want, (model.name, prompt)
            assert slow["forwards"] <= slow["bytes"] * (2 if isinstance(model, ByteEnsemble) else 1)
            # at most one forward per byte (per member); savings need a model whose drafts come true
            # (random weights seldom do: the real models are checked in test_chain_rule.py)
            assert fast["forwards"] <= slow["bytes"] * (2 if isinstance(model, ByteEnsemble) else 1)


def test_a_prompt_read_ahead_gives_the_byte_by_byte_state(two):
    """`start(prompt)` runs the prompt's nodes many bytes per forward; its distribution is the one of
    advancing byte by byte, and so is the state after a wrong draft."""
    a, b = two
    text = "ab ba's é ab 中".encode()
    for m in (a, b):
        st = m.start(text)
        ref = m.start()
        for x in text:
            ref.distribution()
            ref.advance(x)
        # float32 forwards batched differently agree to ~1e-6
        np.testing.assert_allclose(st.distribution().logprobs, ref.distribution().logprobs, atol=1e-5)
        assert st.forwards < ref.forwards
        wrong = m.start(text[:5])
        wrong.prepare(b"zzz")  # a draft the text does not follow: its nodes are wasted, nothing changes
        wrong.advance_through(text[5:])
        np.testing.assert_allclose(wrong.distribution().logprobs, ref.distribution().logprobs, atol=1e-5)


def test_sampling_inverts_the_cdf():
    from toksmith.bridge.generate import _choose

    rng = np.random.default_rng(0)
    p = np.array([0.5, 0.0, 0.3, 0.2])
    lp = np.log(np.where(p > 0, p, 1e-300))
    lp[1] = -np.inf
    draws = np.bincount([_choose(lp, 1.0, rng) for _ in range(20000)], minlength=4) / 20000
    np.testing.assert_allclose(draws, p, atol=0.015)
    assert draws[1] == 0
    assert _choose(lp, 0.0, rng) == 0


def test_forced_tokens_at_a_token_boundary_match_the_exact_state(two):
    """After the full canonical tokens of a prompt, a free first token = the cover restricted to them."""
    a, _ = two
    tok = a.tok
    ids = tok.encode("ab")
    st = a.start_after_tokens(ids)
    d = st.distribution()
    assert np.exp(d.logprobs[:256]).sum() == pytest.approx(1.0, abs=1e-12)
    heal = a.start_after_tokens(ids[:-1], first_token_prefix=tok.vocab.tokens[ids[-1]])
    assert np.exp(heal.distribution().logprobs).sum() == pytest.approx(1.0, abs=1e-12)


def test_cli_unknown_model_is_a_clear_error(tmp_path):
    from toksmith.cli import app

    corpus = tmp_path / "c.txt"
    corpus.write_text("hello\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["score", "no-such-model", "--corpus", str(corpus)])
    assert r.exit_code == 2
    assert "unknown model" in r.output and "smollm2" in r.output
    r = CliRunner().invoke(app, ["generate", "smollm2+", "--prompt", "x"])
    assert r.exit_code == 2 and "empty model name" in r.output
