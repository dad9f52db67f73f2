"""Chain rule on the real models: the unnormalised byte conditionals telescope to P(canonical(x), EOS).

Along a text x, prod_i P(x<=i)/P(x<i) * P(x, end)/P(x), all prefix masses before renormalisation,
must equal the model's probability of x's canonical tokenization followed by EOS, computed here by
one plain forward pass without KV cache or tree attention.
"""

from __future__ import annotations

import math

import pytest
import torch
from tests.bridge.test_batched import _real_text, _same

from toksmith.bridge import EOT, ByteLM, score_bytes

TEXTS = ["Hello world.", "Größe: 3 km", "日本語です", "Привет, мир"]


def _reference(lm, text: str) -> float:
    ids = [lm.bos_id] + lm.tokenizer.encode(text) + [lm.eos_id]
    with torch.no_grad():
        lp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].double(), -1)
    return sum(float(lp[i, ids[i + 1]]) for i in range(len(ids) - 1))


def _telescoped(blm: ByteLM, text: str) -> tuple[float, list[float]]:
    st = blm.start()
    total, norms = 0.0, []
    for b in text.encode("utf-8"):
        d = st.distribution()
        total += float(d.log_unnormalised[b])
        norms.append(d.normaliser)
        st.advance(b)
    d = st.distribution()
    norms.append(d.normaliser)
    return total + float(d.log_unnormalised[EOT]), norms


@pytest.fixture(scope="module", params=["smollm2", "gemma3"])
def real_lm(request):
    pytest.importorskip("gguf")
    from toksmith.errors import ModelLoadError
    from toksmith.lm import load_lm

    try:
        return load_lm(request.param, device="cpu")
    except ModelLoadError as e:
        pytest.skip(f"{request.param} is not installed: {e}")


@pytest.mark.slow
@pytest.mark.parametrize("text", TEXTS)
def test_unnormalised_conditionals_telescope(real_lm, text):
    if real_lm.name == "gemma3" and text == TEXTS[1]:
        pytest.skip("kept short: three Gemma texts are enough and Gemma runs ~0.5 bytes/s on 2 cores")
    blm = ByteLM(real_lm, tail_mass=1e-6)
    got, norms = _telescoped(blm, text)
    ref = _reference(real_lm, text)
    assert abs(got - ref) < 1e-3, (got, ref)
    # the normaliser is the share of mass on canonical continuations: at most 1, and most of it. Float32
    # models get float32 log-softmax rows (`TokenTree.extend`), renormalised in float64 to within ~1e-7
    slack = 1e-9 if real_lm.model.dtype == torch.float64 else 1e-6
    assert all(0.5 < z <= 1 + slack for z in norms)
    print(f"{real_lm.name} {text!r}: telescoped {got:.6f} reference {ref:.6f} "
          f"non-canonical mass per step max {1 - min(norms):.2e}, sum -log Z {-sum(map(math.log, norms)):.4f}")


@pytest.mark.slow
def test_gemma3_batched_score_equals_the_incremental_state_on_real_text(real_lm, shared_data):
    """`ByteLM.score` on Gemma 3 (float32, so 1e-4: differently batched forwards differ by ~1e-5 nats):
    Venda with byte fallback equals the byte-by-byte state and telescopes to the plain forward. Here
    rather than in test_batched.py so that Gemma 3 is loaded once (SmolLM2 is checked there in float64)."""
    if real_lm.name != "gemma3":
        pytest.skip("SmolLM2's batched scoring is checked in float64 in test_batched.py")
    blm = ByteLM(real_lm)
    part = _real_text(shared_data)[-45:].decode("utf-8", "ignore").encode("utf-8")  # Venda, byte fallback
    assert "\u1e3d".encode() in part
    got = blm.score(part, with_end=True)
    _same(score_bytes(blm, part, with_end=True, incremental=True), got, 1e-4)
    assert abs(sum(got.log_unnormalised) - _reference(real_lm, part.decode("utf-8"))) < 1e-4


@pytest.mark.slow
def test_windowed_token_level_matches_windowed_byte_level(real_lm, shared_data):
    """Token-level scoring and exact byte-level scoring slide the same windows, each reading BOS and the same
    context tokens (`lm.scoring.window_ids`, `bridge.batched`), so token by token they agree up to the byte
    level's marginalisation over tokenizations (a few hundredths of a bit), except at the text's end, where
    the byte level also counts longer last tokens. Windows after the first once read no BOS: Gemma 3 then
    lost ~1.4 bits per token in every later window (0.12 bits per byte on 3,000 bytes in 256-token windows)."""
    from toksmith.lm.scoring import score_text

    text = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[-700:]
    text = text[text.index(" ") + 1:]
    x = text.encode("utf-8")
    token_bits: list[float] = []
    score_text(real_lm, text, window=40, stride=20, token_bits=token_bits)
    got = ByteLM(real_lm).score(x, window=40, stride=20)
    ids = real_lm.tokenizer.encode(text)
    assert len(ids) > 100  # several windows
    last = len(x) - len(real_lm.tokenizer.vocab.tokens[ids[-1]])
    byte_bits = -sum(got.logprobs[:last]) / math.log(2)
    diff = sum(token_bits[:-1]) - byte_bits
    assert abs(diff) < 0.02 * (len(ids) - 1), (real_lm.name, diff, len(ids))


@pytest.mark.slow
def test_speculative_generation_matches_plain_generation_on_the_real_models(real_lm):
    """Real drafts come true: the same bytes as one forward per byte (greedy and sampled), in fewer
    forwards (benchmarks/bytelm_speed.py measures how many)."""
    from toksmith.bridge import generate_bytes

    blm = ByteLM(real_lm)
    for prompt, temperature in ((b"def add(a, b):\n    ", 0.0), (b"Die Hauptstadt von Frankreich", 0.8)):
        fast, slow = {}, {}
        got = generate_bytes(blm, prompt, max_bytes=16, temperature=temperature, seed=2, stop_at_end=False,
                             stats=fast)
        want = generate_bytes(blm, prompt, max_bytes=16, temperature=temperature, seed=2, stop_at_end=False,
                              speculate=False, stats=slow)
        assert got == want, (real_lm.name, got, want)
        assert fast["forwards"] < slow["forwards"], (real_lm.name, fast, slow)
