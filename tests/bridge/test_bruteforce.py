"""ByteLM against brute force: every next-byte mass equals a sum over enumerated canonical sequences.

The brute force enumerates every token sequence in the cover (no tree, no KV cache, one plain forward
per sequence prefix) and keeps a sequence when it is, by definition, a prefix of the encoder's output
for its text followed by some continuation z (all strings of up to 2 characters over the corpus
alphabet; a sequence ending inside a character is first completed to a whole character).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from tests.bridge.tiny import byte_level_bpe, sentencepiece_bpe, tiny_gemma3, tiny_llama

from toksmith.bridge import EOT, ByteLM
from toksmith.bridge.canonical import MAX_COMPLETIONS, _completions, _pending_char

ALPHABET = ["a", "b", " ", "é", "'", "中", "\x00"]
CONTINUATIONS = [""] + ["".join(p) for n in (1, 2) for p in itertools.product(ALPHABET, repeat=n)]


def _prefix_canonical(tok, ids: tuple[int, ...]) -> bool:
    v = tok.vocab
    data = b"".join(v.tokens[i] for i in ids)
    pend = _pending_char(data)
    heads = [data + r for r in _completions(pend, MAX_COMPLETIONS)] if pend else [data]
    for head in heads:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            continue
        for z in CONTINUATIONS:
            if tuple(tok.encode(text + z)[: len(ids)]) == ids:
                return True
    return False


class Brute:
    def __init__(self, lm):
        self.lm = lm
        self.tok = lm.tokenizer
        v = self.tok.vocab
        self.text_ids = [i for i in range(v.size) if i not in v.specials and v.tokens[i]]
        self._logp: dict[tuple[int, ...], np.ndarray] = {}
        self._canon: dict[tuple[int, ...], bool] = {}

    def logp(self, seq: tuple[int, ...]) -> np.ndarray:
        if seq not in self._logp:
            ids = torch.tensor([[self.lm.bos_id, *seq]])
            with torch.no_grad():
                out = torch.log_softmax(self.lm.model(ids).logits[0, -1].double(), -1)
            self._logp[seq] = out.numpy()
        return self._logp[seq]

    def seq_logp(self, seq: tuple[int, ...]) -> float:
        return sum(float(self.logp(seq[:k])[t]) for k, t in enumerate(seq))

    def canonical(self, seq: tuple[int, ...]) -> bool:
        if seq not in self._canon:
            self._canon[seq] = _prefix_canonical(self.tok, seq)
        return self._canon[seq]

    def anchors(self, x: bytes) -> list[tuple[tuple[int, ...], int]]:
        """Canonical-prefix sequences whose bytes are x[:j] for some j <= |x|, with j."""
        v = self.tok.vocab
        out, frontier = [((), 0)], [((), 0)]
        while frontier:
            nxt = []
            for seq, j in frontier:
                for t in self.text_ids:
                    b = v.tokens[t]
                    if x[j:j + len(b)] == b and j + len(b) <= len(x) and self.canonical(seq + (t,)):
                        nxt.append((seq + (t,), j + len(b)))
            out += nxt
            frontier = nxt
        return out

    def masses(self, x: bytes) -> tuple[float, np.ndarray]:
        """(M(x), M(xb) for b in 0..255 and M(x, end) at 256), by enumeration."""
        v = self.tok.vocab
        nxt = np.zeros(257)
        mx = 1.0 if not x else 0.0
        for seq, j in self.anchors(x):
            base = math.exp(self.seq_logp(seq))
            lp = self.logp(seq)
            for t in self.text_ids:
                b = v.tokens[t]
                if j < len(x):
                    if not (b.startswith(x[j:]) or False) or len(b) < len(x) - j:
                        continue
                elif not b:
                    continue
                if not self.canonical(seq + (t,)):
                    continue
                p = base * math.exp(lp[t])
                if j < len(x):
                    mx += p
                if len(b) > len(x) - j:
                    nxt[b[len(x) - j]] += p
            if j == len(x):
                try:
                    if tuple(self.tok.encode(x.decode("utf-8"))) == seq:
                        nxt[EOT] += base * math.exp(lp[self.lm.eos_id])
                except UnicodeDecodeError:
                    pass
        return mx, nxt


CASES = [b"", b"a", b"ab", b"ab a", b"a  ", b"a  b", b"b'", "é".encode(), "中".encode()[:1],
         "a中".encode()[:3], "é a".encode()]


@pytest.fixture(scope="module", params=["byte-level+llama", "sentencepiece+gemma3"])
def pair(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiny")
    if request.param == "byte-level+llama":
        tok = byte_level_bpe(tmp)
        return tiny_llama(tok)
    tok = sentencepiece_bpe(tmp)
    return tiny_gemma3(tok)


@pytest.mark.parametrize("x", CASES, ids=lambda x: repr(x))
def test_next_byte_masses_equal_brute_force(pair, x):
    lm = pair
    bf = Brute(lm)
    mx, nxt = bf.masses(x)
    d = ByteLM(lm, tail_mass=0).start(x).distribution()
    got = np.exp(d.log_unnormalised + d.log_mass)
    assert math.exp(d.log_mass) == pytest.approx(mx, abs=1e-6)
    np.testing.assert_allclose(got, nxt, atol=1e-6, rtol=0)
    if nxt.sum() > 0:
        np.testing.assert_allclose(np.exp(d.logprobs), nxt / nxt.sum(), atol=1e-6, rtol=0)


def test_tiny_tokenizers_have_what_the_cases_need(tmp_path):
    bl = byte_level_bpe(tmp_path)
    assert bl.pretokenize("a  b") == ["a", " ", " b"]
    assert len(bl.encode("中")) == 1 and bl.vocab.tokens[bl.encode("中")[0]] == "中".encode()
    sp = sentencepiece_bpe(tmp_path)
    assert sp.pretokenize("a b") is None
    assert [sp.vocab.tokens[i] for i in sp.encode("中")] == [b"\xe4", b"\xb8", b"\xad"]
    assert [sp.vocab.tokens[i] for i in sp.encode(" ab")] == [b" ", b"ab"]
