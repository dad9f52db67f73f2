"""The structural pair test equals the encoder-based definition (and BPE run directly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.bridge.tiny import byte_level_bpe, sentencepiece_bpe

from toksmith.bridge.canonical import Canonicality, pairwise_canonical
from toksmith.bridge.pair_check import compare_pairs, compare_pairs_in_context
from toksmith.bridge.pairs import bpe_definition, bpe_pairs, run_bpe
from toksmith.bridge.pretok_pairs import PretokenPairs


@pytest.mark.parametrize("make", [byte_level_bpe, sentencepiece_bpe])
def test_every_pair_of_tiny_tokenizers_matches_the_encoder(make, tmp_path):
    tok = make(tmp_path)
    fast = Canonicality(tok)
    ref = Canonicality(tok, structural=False)
    assert fast.fast is not None
    ids = np.flatnonzero(fast.is_text)
    checked = 0
    for a in ids.tolist():
        ok_f, known_f = fast.pair_mask(a, b"", ids)
        ok_r, known_r = ref.pair_mask(a, b"", ids)
        assert known_f[ids].all() and known_r[ids].all()
        assert (ok_f[ids] == ok_r[ids]).all(), (a, ids[ok_f[ids] != ok_r[ids]])
        checked += len(ids)
    assert checked > 1000


@pytest.mark.parametrize("make", [byte_level_bpe, sentencepiece_bpe])
def test_spine_walk_equals_mask_and_direct_bpe(make, tmp_path):
    tok = make(tmp_path)
    bp = bpe_pairs(tok)
    merges, initial = bpe_definition(tok)
    ids = np.flatnonzero(bp.derived)
    for a in ids.tolist():
        m = bp.follow_mask(a)
        for b in ids.tolist():
            syms = initial(tok.vocab.tokens[a] + tok.vocab.tokens[b])
            direct = run_bpe(syms, merges)[0] == [a, b]
            assert m[b] == direct == bp.follows(a, b), (a, b)


@pytest.mark.parametrize("name", ["smollm2", "cl100k", "gemma3"])
def test_real_pairs_match_the_encoder(name, request):
    """A fast sample (20,000 pairs, half of them hard: whitespace, digits, punctuation); the million-pair
    run per tokenizer is benchmarks/canonical_pairs.py (result in RESULTS.md)."""
    tok = request.getfixturevalue(name)
    pp = PretokenPairs(tok, bpe_pairs(tok))
    got = compare_pairs(pp, n_left=40, n_right=500, seed=1)
    assert got["disagree"] == 0, got["examples"]
    assert 0 < got["canonical"] < got["pairs"]


def test_added_texts_straddling_the_boundary_are_not_canonical(gemma3):
    """Gemma 3's encoder cuts its added tokens (runs of spaces, newlines and tabs; HTML tags) out of the raw
    text before BPE, so " " + " " (the added "  ") is not canonical though BPE alone allows it. Every left
    token that ends like the start of an added text, against random right tokens and against those the
    cut removes: the structural test equals the encoder."""
    from toksmith.bridge.pair_check import encoder_pair_ok

    pp = PretokenPairs(gemma3, bpe_pairs(gemma3))
    space = gemma3.encode(" ")[0]
    assert pp.eligible[space] and not pp.mask(space)[space] and not pp.mask(space)[gemma3.encode(" the")[0]]
    rng = np.random.default_rng(0)
    elig = np.flatnonzero(pp.eligible)
    toks, longest = gemma3.vocab.tokens, max(map(len, pp._splits))
    heads = [a for a in elig.tolist() if any(toks[a][-k:] in pp._splits for k in range(1, longest + 1))]
    assert len(heads) > 100 and space in heads
    heads = [space] + rng.choice(heads, 80, replace=False).tolist()
    pairs, fast, n_cut = [], [], 0
    for a in heads:
        m = pp.mask(a)
        cut = np.flatnonzero(pp.eligible & ~m & pp.bpe.follow_mask(a))  # BPE allows them, the cut does not
        n_cut += len(cut)
        bs = np.concatenate([rng.choice(elig, 20), rng.choice(cut, min(20, len(cut)))]) if len(cut) else \
            rng.choice(elig, 20)
        for b in bs.tolist():
            pairs.append((a, b))
            fast.append(bool(m[b]))
    assert n_cut > 1000
    slow = encoder_pair_ok(gemma3, False, pairs, pp.texts)
    bad = [p for p, f, s in zip(pairs, fast, slow, strict=True) if f != s]
    assert not bad, bad[:10]


def test_pairs_after_added_tokens_match_the_encoder_on_every_token(gemma3):
    """After one of Gemma 3's added tokens (newline runs, whitespace runs, tags) the next token starts a new
    piece of text: the structural rule (`Canonicality._after_added`) against the encoder on every regular
    token, for the two newline tokens prose has most and a random added token."""
    fast = Canonicality(gemma3)
    ref = Canonicality(gemma3, structural=False)
    assert 100 < int(fast.after_added.sum()) <= len(fast.added)
    ids = np.flatnonzero(fast.fast.eligible)
    nl, nl2 = gemma3.encode("\n")[0], gemma3.encode("\n\n")[0]
    rest = fast.after_added & ~np.isin(np.arange(fast.n), [nl, nl2])
    other = int(np.random.default_rng(0).choice(np.flatnonzero(rest)))
    for a in (nl, nl2, other):
        assert fast.after_added[a] and fast.decided(a, b"") is fast.fast.eligible
        ok_f, known_f = fast.pair_mask(a, b"", ids)
        ok_r, _ = ref.pair_mask(a, b"", ids)
        assert known_f[ids].all()
        bad = ids[ok_f[ids] != ok_r[ids]]
        assert not len(bad), (gemma3.vocab.tokens[a], [gemma3.vocab.tokens[t] for t in bad[:10]])
        assert 0 < ok_r[ids].sum() < len(ids)


def _code_and_prose(shared_data) -> list[str]:
    """Real code (this package's own bridge sources) and real prose, in 2,000-character pieces."""
    src = sorted((Path(__file__).resolve().parents[2] / "src" / "toksmith" / "bridge").glob("*.py"))
    texts = [p.read_text(encoding="utf-8") for p in src]
    texts.append((shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[-20_000:])
    return [t[i:i + 2000] for t in texts for i in range(0, min(len(t), 12_000), 2000)]


@pytest.mark.parametrize("name", ["smollm2", "cl100k", "gemma3"])
def test_canonical_encodings_of_code_and_prose_pass_the_pair_test(name, request, shared_data):
    """Completeness: the encoder's own tokenization of real text is never cut by the pair rule. A token
    need not start its pre-token (cl100k: " (`" + "_" + "Candidates", "_" ends a punctuation pre-token),
    so the pair test carries the pre-token's left context; judged alone, "_" + "Candidates" would be one
    pre-token and the canonical sequence rejected."""
    tok = request.getfixturevalue(name)
    c = Canonicality(tok)
    pieces = _code_and_prose(shared_data) + [" (`_Candidates`).", "rule of `mask_for`'s tail", "'%(prog)s'"]
    for text in pieces:
        ids = tok.encode(text)
        assert pairwise_canonical(c, ids), (name, text[:80])


@pytest.mark.parametrize("name", ["smollm2", "cl100k"])
def test_pairs_in_a_pre_token_context_match_the_encoder(name, request, shared_data):
    """Soundness of the context: at real tokens that continue a pre-token (code and prose), the structural
    mask with the carried left context equals the encoder run on the real context, for random and hard b."""
    tok = request.getfixturevalue(name)
    got = compare_pairs_in_context(Canonicality(tok), _code_and_prose(shared_data), n_right=100, max_sites=150,
                                   seed=2)
    assert got["sites"] == 150
    assert got["disagree"] == 0, got["examples"]
    assert 0 < got["canonical"] < got["pairs"]
