"""Which token sequences the tokenizer's own encoder can produce (canonicality), token pair by pair.

A token sequence is *canonical* when the encoder maps its text back to it. ByteLM restricts the
cover of a byte prefix to sequences that can start a canonical tokenization, and decides this pair by
pair: the first token must be able to start a text, and every adjacent pair (a, t) must be a
prefix of the encoding of a's and t's text followed by some continuation z. For BPE without a
pre-tokenizer (SentencePiece-style, Gemma) pairwise canonicality is exactly canonicality (Vieira et al.
2025, "Language models over canonical byte-pair encodings"); with a pre-tokenizer regex the pair test is
run through the full encoder, regex included, and the continuations z (`PROBES`) let a whitespace run
end before a non-space character as the lookahead `\\s+(?!\\S)` does. The brute-force tests check the
pair rule against the definition (a prefix of encode(text + z) for every short z) on tiny tokenizers.

Pairs that end inside a UTF-8 character are decided on bytes: byte-level BPE runs its model on the
bytes (a character never spans two pre-tokens); SentencePiece byte fallback emits byte tokens exactly
for characters that are not in the vocabulary, so a byte run is canonical iff some character with
those leading bytes is missing from it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np

from toksmith.bridge.pairs import bpe_pairs
from toksmith.bridge.pretok_pairs import NEXT_ANY, NEXT_NONSPACE, PretokenPairs, white_space
from toksmith.tokenizers import Tokenizer
from toksmith.utf8 import MissingChars, pending_char, utf8_len, utf8_prefix_ok
from toksmith.vocab import TokenKind

__all__ = ["PROBES", "START_CTX", "Canonicality", "Context", "pairwise_canonical", "path_state", "utf8_prefix_ok"]

#: a token's pre-token states: (left context, what the next token must start with: `pretok_pairs.NEXT_*`)
Context = tuple[tuple[str, int], ...]
#: the states of a text's first token: it starts a pre-token, nothing required of the next
START_CTX: Context = (("", NEXT_ANY),)
#: continuations tried after a pair's text: nothing, and a control character that starts no merge.
PROBES: tuple[str, ...] = ("", "\x00")
#: most completions tried for a token that ends inside a character (spread over all of them).
MAX_COMPLETIONS = 256
#: memory for cached pair masks (two bools per token each); the LRU holds this / (2 V) contexts.
MASK_CACHE_BYTES = 128 * 2**20
#: encoder answers kept beyond the mask cache (5 bytes each: id + answer); the oldest contexts go first
CHECKED_CACHE_ANSWERS = 8 * 2**20


class Canonicality:
    """Pairwise canonicality masks over the vocabulary, cached per context.

    Whole-character pairs of BPE tokens are decided structurally (`pairs`, `pretok_pairs`: no encoder
    calls, a mask over the whole vocabulary per left token); the rest (tokens that end inside a
    character, byte-fallback runs, the first token) through the encoder as before.
    `structural=False` keeps the encoder for every pair (the reference the tests compare against).

    `start_mask()` is shape (V,) bool: tokens that can begin a text. `pair_mask(a, pre, ids)` says,
    for candidate ids, whether (a, t) can appear in a canonical tokenization, `pre` being the bytes of
    the unfinished character a starts inside (usually b"").
    """

    def __init__(self, tok: Tokenizer, *, cache_size: int | None = None, structural: bool = True) -> None:
        self.tok = tok
        v = tok.vocab
        self.vocab = v
        self.n = v.size
        kinds = v.kinds
        self.is_text = ((kinds == TokenKind.NORMAL) | (kinds == TokenKind.BYTE) | (kinds == TokenKind.USER)) & (
            np.array([len(t) > 0 for t in v.tokens], dtype=bool))
        self.is_byte = kinds == TokenKind.BYTE
        self.byte_level = tok.encode_token_bytes(b"a") is not None
        self.fallback = bool(self.is_byte.any()) and not self.byte_level
        self.missing = MissingChars.of_tokens(v.tokens[i] for i in np.flatnonzero(self.is_text & ~self.is_byte))
        self.has_pretokenizer = tok.pretokenize("a b") is not None
        self.texts: list[str | None] = [_text_or_none(b) for b in v.tokens]
        #: tokens whose text starts with a non-space (permissive where the first character is unfinished)
        self.nonspace = np.array([not white_space(t[:1] if t is not None else b[:1].decode("ascii", "ignore"))
                                  for t, b in zip(self.texts, v.tokens, strict=True)], dtype=bool)
        self._start: np.ndarray | None = None
        self._nothing = np.zeros(self.n, dtype=bool)
        self._nothing.flags.writeable = False
        self._pairs: OrderedDict[tuple[int, bytes, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        #: encoder answers (a, pre) -> (ids, ok), kept when a mask is evicted from `_pairs`; bounded by
        #: CHECKED_CACHE_ANSWERS (they are facts about the encoder, so evicting one only costs a re-check)
        self._checked: OrderedDict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._checked_n = 0
        self._cache_size = cache_size if cache_size is not None else max(64, MASK_CACHE_BYTES // (2 * self.n))
        #: the structural test (no encoder calls) for whole-character pairs of regular BPE tokens
        self.fast: PretokenPairs | None = None
        if structural:
            bp = bpe_pairs(tok)
            if bp is not None:
                self.fast = PretokenPairs(tok, bp)
        #: added tokens (content -> id) the encoder splits out of the raw text before the model, when every
        #: one matches plainly (no normalisation, stripping or word rule); empty otherwise
        self.added = _plain_added_tokens(tok) if self.fast is not None else {}
        #: text tokens among them: a pair after one is decided structurally (`_after_added`)
        self.after_added = np.zeros(self.n, dtype=bool)
        for i in self.added.values():
            if i < self.n and self.is_text[i] and not self.is_byte[i] and not self.fast.eligible[i]:
                self.after_added[i] = True
        self._after_added_masks: dict[int, np.ndarray] = {}
        self._first_char: dict[str, list[int]] | None = None

    # --- byte fallback ------------------------------------------------------------------------------
    def fallback_ok(self, prefix: bytes) -> bool:
        """Whether some character whose UTF-8 starts with `prefix` is not a single-character token."""
        return self.missing.missing_with_prefix(prefix)

    def _fallback_pair(self, ctx: bytes, a: int | None, t: int) -> bool:
        """Pair rule for SentencePiece-style byte fallback (`ctx`: bytes of the unfinished char before t)."""
        tb = self.vocab.tokens[t]
        if self.is_byte[t]:
            run = ctx + tb
            if ctx == b"" and 0x80 <= tb[0] < 0xC0:
                return False
            if ctx and a is not None and not self.is_byte[a]:
                return False
            if not (utf8_prefix_ok(run) and self.fallback_ok(run)):
                return False
            return a is None or bool(self.is_byte[a]) or bool(self.start_mask()[a])
        if ctx:
            return False
        if a is not None and self.is_byte[a]:
            return self.start_mask()[t]
        return False

    # --- string checks ------------------------------------------------------------------------------
    def _check_strings(self, head: Sequence[int], items: list[tuple[int, str]]) -> dict[int, bool]:
        """For (t, text of head + t): is head + [t] a prefix of encode(text + z) for some probe z?"""
        want = list(head)
        k = len(want) + 1
        out: dict[int, bool] = {}
        pending = items
        for z in PROBES:
            if z:
                # a continuation only matters where a pre-tokenizer's lookahead can split a whitespace run
                pending = [(t, b) for t, b in pending if self.has_pretokenizer and b[-1:].isspace()]
            if not pending:
                break
            encs = self.tok.encode_batch([b + z for _, b in pending])
            nxt = []
            for (t, b), ids in zip(pending, encs, strict=True):
                if ids[:k] == want + [t]:
                    out[t] = True
                else:
                    nxt.append((t, b))
            pending = nxt
        for t, _ in pending:
            out[t] = False
        return out

    def _check_completed(self, head: list[int], t: int, s: bytes, pending: bytes) -> bool:
        """t ends inside a character: is head + [t] a prefix of the encoding of some completion?"""
        want = head + [t]
        for rest in _completions(pending, MAX_COMPLETIONS):
            text = (s + rest).decode("utf-8")
            if self.tok.encode(text)[: len(want)] == want:
                return True
        return False

    def _check(self, a: int | None, pre: bytes, ids: np.ndarray) -> np.ndarray:
        v = self.vocab
        ab = b"" if a is None else v.tokens[a]
        res = np.zeros(len(ids), dtype=bool)
        strings: list[tuple[int, str]] = []
        where: dict[int, int] = {}
        a_text = "" if a is None else self.texts[a]
        fast = not pre and a_text is not None and not (a is not None and self.fallback and self.is_byte[a])
        for k, t in enumerate(ids.tolist()):
            if not self.is_text[t]:
                continue
            tt = self.texts[t]
            if fast and tt is not None and not (self.fallback and self.is_byte[t]):
                strings.append((t, a_text + tt))
                where[t] = k
                continue
            s = pre + ab + v.tokens[t]
            if not utf8_prefix_ok(s) or (a is None and 0x80 <= s[0] < 0xC0):
                continue
            cut = len(pre) + len(ab)
            # the unfinished character t starts inside (only byte-fallback runs need it)
            ctx = _pending_char(s[:cut])
            if self.fallback and (self.is_byte[t] or (a is not None and self.is_byte[a]) or ctx):
                res[k] = self._fallback_pair(ctx, a, t)
                continue
            pending = _pending_char(s)
            if not pre and pending == b"":
                strings.append((t, s.decode("utf-8")))
                where[t] = k
            elif not pre:
                res[k] = self._check_completed([] if a is None else [a], t, s, pending)
            elif self.byte_level:
                # a starts inside a character: decided by the BPE model alone on the bytes
                got = self.tok.encode_token_bytes(ab + v.tokens[t])
                res[k] = got == ([a, t] if a is not None else [t])
        if strings:
            ok = self._check_strings([] if a is None else [a], strings)
            for t, good in ok.items():
                res[where[t]] = good
        return res

    # --- public masks -------------------------------------------------------------------------------
    def start_mask(self) -> np.ndarray:
        """Shape (V,) bool: tokens that can be the first token of a canonical tokenization."""
        if self._start is None:
            ids = np.flatnonzero(self.is_text)
            m = np.zeros(self.n, dtype=bool)
            m[ids] = self._check(None, b"", ids)
            self._start = m
        return self._start

    def pair_mask(self, a: int | None, pre: bytes, ids: np.ndarray | None = None,
                  left: str = "") -> tuple[np.ndarray, np.ndarray]:
        """(ok, known): shape (V,) bool arrays; `ok` is exact where `known`, for at least `ids`.

        `a` is None for the start of a text (then `pre` must be b""). `left` is a's left context in its
        pre-token (`PretokenPairs.states_after`): it changes the structural answers only; the encoder
        judges the pairs it checks on their own text, as before.
        """
        if a is None:
            s = self.start_mask()
            return s, np.ones(self.n, dtype=bool)
        key = (a, pre)
        entry = self._pairs.get((a, pre, left))
        if entry is None:
            entry = (np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=bool))
            if self.fast is not None and not pre and self.fast.eligible[a]:  # the structural part, at once
                elig = self.fast.eligible
                entry[0][:] = self.fast.mask(a, left) & elig
                entry[1][:] = elig
            elif not pre and self.after_added[a]:
                entry[0][:] = self._after_added(a)
                entry[1][:] = self.fast.eligible
            checked = self._checked.get(key)
            if checked is not None:  # encoder answers outlive the evicted masks
                got, got_ok = checked
                entry[0][got] = got_ok
                entry[1][got] = True
            self._pairs[(a, pre, left)] = entry
            if len(self._pairs) > self._cache_size:
                self._pairs.popitem(last=False)
        else:
            self._pairs.move_to_end((a, pre, left))
        ok, known = entry
        todo = np.flatnonzero(~known) if ids is None else ids[~known[ids]]
        if len(todo):
            res = self._check(a, pre, todo)
            ok[todo] = res
            known[todo] = True
            self._remember(key, todo, np.asarray(res, dtype=bool))
        return ok, known

    def _remember(self, key: tuple[int, bytes], ids: np.ndarray, ok: np.ndarray) -> None:
        """Keep encoder answers for `key` (compact arrays), dropping the oldest contexts over the budget."""
        old = self._checked.pop(key, None)
        if old is not None:
            self._checked_n -= len(old[0])
            ids, ok = np.concatenate((old[0], ids)), np.concatenate((old[1], ok))
        self._checked[key] = (ids.astype(np.int32), ok)
        self._checked_n += len(ids)
        while self._checked_n > CHECKED_CACHE_ANSWERS and len(self._checked) > 1:
            _, (gone, _) = self._checked.popitem(last=False)
            self._checked_n -= len(gone)

    def context_after(self, ctx: Context, a: int | None, pre: bytes, t: int) -> Context:
        """The pre-token states of t after a, whose states are `ctx` (`PretokenPairs.states_after`, over
        the states under which [a, t] is canonical); `START_CTX` where the structural test does not
        decide the pair, and for the first token of a text."""
        f = self.fast
        if a is None or f is None or pre or not f.has_pretokenizer or not (f.eligible[a] and f.eligible[t]):
            return START_CTX
        out: set[tuple[str, int]] = set()
        one = np.array([t])
        for left, need in ctx:
            if need != NEXT_ANY and self.nonspace[t] != (need == NEXT_NONSPACE):
                continue
            if self.pair_mask(a, pre, one, left)[0][t]:
                out.update(f.states_after(left, a, t))
        if ("", NEXT_ANY) in out:
            out = {s for s in out if s[0]} | {("", NEXT_ANY)}
        return tuple(sorted(out)) if out else START_CTX

    def context_mask(self, a: int | None, pre: bytes, ids: np.ndarray | None,
                     ctx: Context) -> tuple[np.ndarray, np.ndarray]:
        """`pair_mask` under the pre-token states `ctx` of a: allowed under any of them."""
        if len(ctx) == 1 and ctx[0][1] == NEXT_ANY:
            return self.pair_mask(a, pre, ids, ctx[0][0])
        ok_all = np.zeros(self.n, dtype=bool)
        known = self._nothing
        for left, need in ctx:
            ok, known = self.pair_mask(a, pre, ids, left)
            if need == NEXT_ANY:
                ok_all |= ok
            else:
                ok_all |= ok & (self.nonspace if need == NEXT_NONSPACE else ~self.nonspace)
        return ok_all, known

    def decided(self, a: int, pre: bytes) -> np.ndarray:
        """Shape (V,) bool: the tokens whose pair with `a` the structural test decides (no encoder)."""
        if self.fast is not None and not pre and (self.fast.eligible[a] or self.after_added[a]):
            return self.fast.eligible
        return self._nothing

    def _after_added(self, a: int) -> np.ndarray:
        """Shape (V,) bool over regular BPE tokens t: is [a, t] canonical, for an added token a?

        The encoder cuts added tokens out of the raw text first, leftmost-longest, then encodes the pieces
        between them on their own. So after a, t is encoded as the start of a text (`start_mask`), unless a
        longer added token starts where a does and covers bytes of t (Gemma 3: "\n" then "\n..."). Checked
        against the encoder on every token after the newline tokens (tests/bridge/test_pairs.py).
        """
        got = self._after_added_masks.get(a)
        if got is not None:
            return got
        ok = self.start_mask() & self.fast.eligible
        text = self.texts[a]
        for content in self.added:
            if len(content) > len(text) and content.startswith(text):
                rest = content[len(text):]  # no probe continuation can complete it (`_plain_added_tokens`)
                for t in self._starting_with(rest[0]):
                    if self.texts[t].startswith(rest):
                        ok[t] = False
        self._after_added_masks[a] = ok
        return ok

    def _starting_with(self, ch: str) -> list[int]:
        """Text tokens whose text starts with the character `ch` (buckets built once)."""
        if self._first_char is None:
            buckets: dict[str, list[int]] = {}
            for i, t in enumerate(self.texts):
                if t:
                    buckets.setdefault(t[0], []).append(i)
            self._first_char = buckets
        return self._first_char.get(ch, [])

    def is_canonical(self, ids: Sequence[int], *, complete: bool = True) -> bool:
        """Sequence-level check: encode(decode(ids)) == ids (complete) or pairwise (a prefix)."""
        if complete:
            data = b"".join(self.vocab.tokens[i] for i in ids)
            try:
                return self.tok.encode(data.decode("utf-8")) == list(ids)
            except UnicodeDecodeError:
                return False
        return pairwise_canonical(self, ids)


_COMPLETIONS: dict[tuple[bytes, int], list[bytes]] = {}


def _completions(pending: bytes, cap: int) -> list[bytes]:
    """Byte strings that finish the character `pending` starts; at most `cap`, evenly spread."""
    key = (pending, cap)
    got = _COMPLETIONS.get(key)
    if got is not None:
        return got
    need = utf8_len(pending[0]) - len(pending)
    out = []
    for n in range(64**need):
        rest = bytes(0x80 | ((n >> (6 * (need - 1 - i))) & 0x3F) for i in range(need))
        try:
            (pending + rest).decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(rest)
    if len(out) > cap:
        step = len(out) / cap
        out = [out[int(i * step)] for i in range(cap)]
    _COMPLETIONS[key] = out
    return out


def _plain_added_tokens(tok: Tokenizer) -> dict[str, int]:
    """content -> id of every added token of a `tokenizers` tokenizer, if all of them are matched plainly in
    the raw text (not normalised, no lstrip/rstrip/single_word) and no probe continuation (`PROBES`)
    occurs in one; else {} (pairs after an added token then go to the encoder)."""
    inner = getattr(tok, "_tok", None)
    getter = getattr(inner, "get_added_tokens_decoder", None)
    if getter is None:
        return {}
    out: dict[str, int] = {}
    for i, t in getter().items():
        if t.normalized or t.lstrip or t.rstrip or t.single_word or any(z and z in t.content for z in PROBES):
            return {}
        if t.content:
            out[t.content] = int(i)
    return out


def _text_or_none(b: bytes) -> str | None:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


#: kept for callers of the old private name
_pending_char = pending_char


def _path_states(c: Canonicality, ids: Sequence[int]) -> Iterator[tuple[int, bytes, Context]]:
    """(token, pre, ctx) of each token of `ids` in turn, as ByteLM carries them along a path from BOS:
    `pre` the bytes of the unfinished character the token starts inside, `ctx` its pre-token states
    (`context_after` walked from `START_CTX`)."""
    ctx, data, pre = START_CTX, b"", b""
    for i, t in enumerate(ids):
        if i:
            ctx = c.context_after(ctx, ids[i - 1], pre, t)
        pre = _pending_char(data)
        data += c.vocab.tokens[t]
        yield t, pre, ctx


def path_state(c: Canonicality, ids: Sequence[int]) -> tuple[bytes, Context]:
    """(pre, ctx) of the last token of `ids` (`_path_states`): they condition the next token on a fixed
    token prefix with the junction rule (`ByteLM.start_after_tokens(junction=True)`, scoring windows)."""
    *_, (_, pre, ctx) = [(-1, b"", START_CTX), *_path_states(c, ids)]
    return pre, ctx


def pairwise_canonical(c: Canonicality, ids: Sequence[int]) -> bool:
    """Whether every step of `ids` passes the start/pair rules (the prefix-canonicality ByteLM uses)."""
    prev: tuple[int, bytes, Context] | None = None
    for t, pre, ctx in _path_states(c, ids):
        if prev is None:
            if not c.start_mask()[t]:
                return False
        else:
            a, a_pre, a_ctx = prev
            if not c.context_mask(a, a_pre, np.array([t]), a_ctx)[0][t]:
                return False
        prev = (t, pre, ctx)
    return True
