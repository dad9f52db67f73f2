"""The suffix automaton's drafts against a brute-force longest-earlier-match oracle, on real tokens."""

from __future__ import annotations

import random

import pytest

from toksmith.decoding import SuffixAutomaton, SuffixDrafter, longest_earlier_match


def _automaton_match(text: list[int], recent: bool = False) -> tuple[int, int]:
    sam = SuffixAutomaton(recent=recent)
    sam.extend_all(text)
    state = sam.link[sam.last] if sam.last else -1
    if state <= 0:
        return 0, -1
    return sam.length[state], sam.before_end[state] if recent else sam.first_end[state]


@pytest.mark.parametrize("alphabet", [2, 3, 7])
def test_automaton_matches_bruteforce_on_random_sequences(alphabet: int) -> None:
    rng = random.Random(alphabet)
    for _ in range(300):
        text = [rng.randrange(alphabet) for _ in range(rng.randrange(1, 40))]
        assert _automaton_match(text) == longest_earlier_match(text), text
        assert _automaton_match(text, recent=True) == longest_earlier_match(text, recent=True), text


def test_recent_drafts_follow_the_latest_occurrence() -> None:
    drafter = SuffixDrafter(recent=True)
    drafter.extend([1, 2, 3, 9, 1, 2, 4, 1, 2])
    hit = drafter.match(2)
    assert hit is not None and hit.length == 2 and hit.draft == (4, 1)  # first occurrence would give (3, 9)
    for tok in [4, 1, 2]:  # online: every prefix agrees with the oracle
        drafter.extend([tok])
    assert drafter.match(3).draft == (4, 1, 2)


def test_online_drafts_match_bruteforce_on_real_text(shared_data, smollm2) -> None:
    """Grown one token at a time over real English, the drafter proposes what the oracle finds."""
    path = next(p for p in sorted((shared_data / "english").rglob("*")) if p.is_file())
    ids = smollm2.encode(path.read_text(encoding="utf-8")[:3000])[:300]
    drafter = SuffixDrafter()
    for i, tok in enumerate(ids):
        drafter.extend([tok])
        length, end = longest_earlier_match(ids[: i + 1])
        got = drafter.match(5)
        if length == 0:
            assert got is None
        else:
            assert got is not None and got.length == length and got.source == "context"
            assert list(got.draft) == ids[end + 1: min(end + 6, i + 1)]


def test_corpus_match_never_crosses_documents(smollm2) -> None:
    docs = [smollm2.encode("the quick brown fox jumps over the lazy dog"),
            smollm2.encode("a stitch in time saves nine")]
    drafter = SuffixDrafter(docs)
    drafter.extend(smollm2.encode("I saw the quick brown"))
    hit = drafter.match(3)
    assert hit is not None and hit.source == "corpus"
    assert list(hit.draft) == smollm2.encode(" fox jumps over")[:3]
    drafter = SuffixDrafter(docs)
    drafter.extend(smollm2.encode("over the lazy dog"))
    hit = drafter.match(4)
    # the corpus match ends at its document's end: nothing follows it there
    assert hit is None or hit.source == "context"


def _corpus_oracle(corpus: list[list[int]], ctx: list[int], max_len: int) -> tuple[int, list[int]]:
    """Longest suffix of ctx found in the corpus, and up to max_len tokens after its first occurrence."""
    text: list[int] = []
    for i, doc in enumerate(corpus):
        text += doc + [-1 - i]
    for length in range(len(ctx), 0, -1):
        for end in range(length - 1, len(text)):
            if text[end - length + 1: end + 1] == ctx[-length:]:
                after = []
                for tok in text[end + 1: end + 1 + max_len]:
                    if tok < 0:
                        break
                    after.append(tok)
                return length, after
    return 0, []


@pytest.mark.parametrize("min_match", [1, 3])
def test_drafts_follow_the_stated_rule_against_bruteforce(min_match: int) -> None:
    """Longer of (context match, corpus match) drafts, context on ties, corpus only when text follows it, and
    only a match of at least `min_match` tokens."""
    rng = random.Random(7)
    corpus = [[rng.randrange(4) for _ in range(40)] for _ in range(3)]
    drafter = SuffixDrafter(corpus, min_match=min_match)
    ctx: list[int] = []
    cases = {"corpus": 0, "context": 0, None: 0}
    for _ in range(300):
        tok = rng.randrange(5)
        ctx.append(tok)
        drafter.extend([tok])
        hit = drafter.match(3)
        c_len, c_end = longest_earlier_match(ctx)
        k_len, k_after = _corpus_oracle(corpus, ctx, 3)
        if k_len >= min_match and k_len > c_len and k_after:
            assert hit is not None and (hit.source, hit.length, list(hit.draft)) == ("corpus", k_len, k_after)
        elif c_len >= min_match:
            assert hit is not None and hit.source == "context" and hit.length == c_len
            assert list(hit.draft) == ctx[c_end + 1: c_end + 4]
        else:
            assert hit is None
        cases[hit.source if hit is not None else None] += 1
    assert all(cases.values()), cases  # every branch of the rule was taken

