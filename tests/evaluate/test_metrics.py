"""Every metric against small cases computed by hand, with the tiny tokenizer of conftest.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from toksmith.corpus import Document
from toksmith.evaluate import evaluate
from toksmith.evaluate.bootstrap import Ratio, bootstrap_ratios, gini_rows, percentile_ci
from toksmith.evaluate.consistency import count_encodings
from toksmith.evaluate.encoded import TextCorpus, encode_corpus
from toksmith.evaluate.entropy import renyi_entropy
from toksmith.evaluate.numbers import classify_split, parts_of, place_value_counts
from toksmith.evaluate.parallel import lorenz_points
from toksmith.evaluate.vocabulary import token_category


def docs(*texts: str, lang: str | None = None) -> list[Document]:
    return [Document(t, "<test>", lang) for t in texts]


def run(tok, texts, metrics, **kw):
    return evaluate([tok], docs(*texts), metrics=metrics, **kw).results[tok.name]


def test_compression(tiny) -> None:
    # "the cat" -> 5 tokens, 7 bytes, 7 chars; "the" -> 1 token, 3 bytes;
    # "é" -> 2 byte tokens, 2 bytes, 1 char.
    # ratio of totals: bytes 12 / tokens 8 = 1.5; chars 11 / 8 = 1.375
    # doc means: bytes (7/5 + 3/1 + 2/2) / 3 = (1.4 + 3 + 1) / 3 = 1.8; chars (1.4 + 3 + 0.5) / 3 = 1.6333
    r = run(tiny, ["the cat", "the", "é"], ["compression"])
    assert r["bytes_per_token"].value == pytest.approx(1.5)
    assert r["chars_per_token"].value == pytest.approx(1.375)
    assert r["bytes_per_token_doc_mean"].value == pytest.approx(1.8)
    assert r["chars_per_token_doc_mean"].value == pytest.approx(4.9 / 3)
    assert r["bytes_per_token"].unit == "bytes/token"
    assert any("thin sample" in n for n in r["bytes_per_token"].notes)


def test_fertility(tiny) -> None:
    # words: "the" (token [the]) and "cat" (tokens [c][a][t]; the space token does not overlap the word)
    # fertility = (1 + 3) / 2 = 2.0; continued-word rate = 1 / 2
    r = run(tiny, ["the cat"], ["fertility"])
    assert r["fertility"].value == pytest.approx(2.0)
    assert r["continued_word_rate"].value == pytest.approx(0.5)


def test_premium_gini_lorenz(tiny) -> None:
    # eng "the" = 1 token; xxx "the cat" = 5 tokens -> premium(xxx) = 5, premium(eng) = 1
    # Gini of (1, 5): sum_i (2i - n - 1) x_(i) / (n sum x) = (-1*1 + 1*5) / (2*6) = 1/3
    # Lorenz: (0, 0), (1/2, 1/6), (1, 1)
    par = {"eng": docs("the", lang="eng"), "xxx": docs("the cat", lang="xxx")}
    res = evaluate([tiny], parallel=par, metrics=["parallel"])
    r = res.results["tiny"]
    assert r["premium"].per_language["xxx"]["value"] == pytest.approx(5.0)
    assert r["premium"].per_language["eng"]["value"] == pytest.approx(1.0)
    assert r["premium"].per_language["xxx"]["per_line"] == pytest.approx(5.0)
    assert r["premium"].value == pytest.approx(3.0)
    assert r["gini"].value == pytest.approx(1 / 3)
    lorenz = [[0, 0], [0.5, 1 / 6], [1, 1]]
    assert np.allclose(r["gini"].details["lorenz"], lorenz)
    assert np.allclose(lorenz_points(np.array([1.0, 5.0])), lorenz)


def test_entropy_by_hand(tiny) -> None:
    # p = (1/2, 1/4, 1/4): Shannon = 0.5*1 + 2*0.25*2 = 1.5 bits
    # Renyi 2.5 = log2(0.5^2.5 + 2 * 0.25^2.5) / (1 - 2.5) = log2(0.2392767) / -1.5
    #           = -2.063247 / -1.5 = 1.375498
    assert renyi_entropy(np.array([2, 1, 1]), 1.0) == pytest.approx(1.5)
    assert renyi_entropy(np.array([2, 1, 1]), 2.5) == pytest.approx(1.375498, abs=1e-6)
    # "the the" -> [the][ the]: two ids once each -> H = 1 bit for any alpha; |V| = 261 declared
    r = run(tiny, ["the the"], ["entropy"])
    assert r["renyi_efficiency"].value == pytest.approx(1 / math.log2(261))
    assert r["shannon_efficiency"].value == pytest.approx(1 / math.log2(261))


def test_vocabulary(tiny) -> None:
    # "the cat" uses 5 distinct ids of 261 text tokens; byte tokens 0x80-0xFF are partial UTF-8 (128);
    # every token is reachable.
    r = run(tiny, ["the cat"], ["vocabulary"])
    assert r["vocab_utilisation"].value == pytest.approx(5 / 261)
    assert r["unreachable_tokens"].value == 0
    assert r["partial_utf8_tokens"].value == 128
    counts = r["script_shares"].details["counts"]
    assert counts["partial-utf8"] == 128 and counts["digits"] == 12  # 0-9, "12", "123"
    assert token_category(" мир".encode(), 0) == "Cyrillic"
    assert token_category(" 語a".encode(), 0) == "mixed"


def test_numbers_by_hand(tiny) -> None:
    # "1234" -> [123][4]: parts (3, 1) = left-to-right; gold place-value boundary after 1 digit -> TP 0
    assert parts_of(4, [3]) == (3, 1)
    assert classify_split((3, 1)) == "l2r"
    assert classify_split((1, 3)) == "r2l"
    assert place_value_counts(4, [3]) == (0, 1, 1)
    assert place_value_counts(6, [1, 2, 3, 4, 5]) == (1, 5, 1)  # single digits: only 3 is a gold boundary
    # In the corpus "1234 5123 4125 9999": 1234 -> [123][4] (3, 1) l2r; " 5123" -> [ ][5][123] (1, 3) r2l;
    # " 4125" -> [ ][4][12][5] (1, 2, 1) other; " 9999" -> single digits. Shares 1/4 each.
    # tokens per digit = (2 + 2 + 3 + 4) / 16 = 11/16. Place value: gold {1} in each number; predicted
    # {3}, {1}, {1, 3}, {1, 2, 3}: TP 3, predicted 7, gold 4 -> F1 = 2*3 / (7 + 4) = 6/11.
    r = run(tiny, ["1234 5123 4125 9999"], ["numbers"])
    ic = r["number_patterns"].details["in_corpus"]
    assert ic["pattern_shares_4plus"] == {
        "single": 0.25,
        "whole": 0.0,
        "r2l": 0.25,
        "l2r": 0.25,
        "l2r=r2l": 0.0,
        "other": 0.25,
    }
    assert ic["tokens_per_digit"] == pytest.approx(11 / 16)
    assert ic["place_value_f1"] == pytest.approx(6 / 11)
    heat = r["number_patterns"].details["heatmap"]
    assert all(sum(row) == pytest.approx(1.0) for row in heat["shares"])


def test_consistency(tiny) -> None:
    # " the" = [ the] | [ ][the] | [ ][th][e] | [ ][t][h][e]  -> 4 encodings
    assert count_encodings(b" the", tiny.vocab) == 4
    r = run(tiny, ["the cat sat", "the hat"], ["consistency"])
    assert r["round_trip"].value == 1.0
    assert r["unk_rate"].value == 0.0
    # sampled words: "cat", "hat", "sat", "the". Leading space: " the" -> [ the] vs "the" -> [the], same
    # (no inner boundary, end is a boundary); " cat" -> [ ][c][a][t] vs "cat" -> [c][a][t], same.
    assert r["stability_leading_space"].value == 1.0
    # capital: " The" -> [ ][T][h][e] has inner boundaries {1, 2}, " the" none -> the 1 of 4 words differs
    assert r["stability_capital"].value == pytest.approx(3 / 4)
    assert r["stability_punctuation"].value == 1.0
    # median of encodings of " cat"/" hat"/" sat" (1 each) and " the" (4): median(1, 1, 1, 4) = 1
    assert r["alternative_encodings"].value == 1.0


def test_round_trip_detects_mismatch(tiny) -> None:
    corpus = TextCorpus.from_texts(["the cat", "é"])
    enc = encode_corpus(tiny, corpus)
    assert enc.round_trip_ok.tolist() == [True, True]
    enc.ids[1] = enc.ids[2]  # corrupt: " " -> "c" keeps the length, changes the bytes
    del enc.__dict__["round_trip_ok"]
    assert enc.round_trip_ok.tolist() == [False, True]


def write_morph(tmp: Path) -> Path:
    (tmp / "morphscore").mkdir()
    (tmp / "morphscore" / "toy_morph_data.csv").write_text(
        ",full_word,pt1,rest\n0,theme,the,me\n1,cats,ca,ts\n2,the,th,e\n3,thex,t,hex\n", encoding="utf-8"
    )
    (tmp / "sigmorphon2022").mkdir()
    (tmp / "sigmorphon2022" / "toy.word.dev.tsv").write_text(
        "theme\tthe @@me\t100\ncats\tcat @@s\t100\nran\trun @@ed\t100\n", encoding="utf-8"
    )
    return tmp


def test_morphology_by_hand(tiny, tmp_path: Path) -> None:
    # " theme" -> [ the][m][e]: boundaries {3, 4}; gold 3 -> hit
    # " cats"  -> [ ][c][a][t][s]: boundaries {1, 2, 3}; gold 2 -> hit
    # " the"   -> [ the]: kept whole -> excluded
    # " thex"  -> [ the][x]: boundaries {3}; gold 1 -> miss            MorphScore = 2 / 3
    # SIGMORPHON: theme gold {3} pred {3, 4}: TP 1, FP 1; cats gold {3} pred {1, 2, 3}: TP 1, FP 2;
    # "ran" is canonical (run+ed != ran) and skipped. P = 2/5, R = 2/2, F1 = 2*2 / (5 + 2) = 4/7
    r = run(tiny, ["the"], ["morphology"], data_dir=write_morph(tmp_path))
    assert r["morphscore"].value == pytest.approx(2 / 3)
    assert r["morph_boundary_precision"].value == pytest.approx(2 / 5)
    assert r["morph_boundary_recall"].value == pytest.approx(1.0)
    assert r["morph_boundary_f1"].value == pytest.approx(4 / 7)
    assert r["morph_boundary_f1"].per_language["toy"]["skipped_canonical_rows"] == 1


def test_morphology_skips_without_data(tiny, tmp_path: Path) -> None:
    r = run(tiny, ["the"], ["morphology"], data_dir=tmp_path)
    assert r["morphscore"].value is None
    assert "skipped" in r["morphscore"].notes[0]


def test_speed_reports_throughput(tiny) -> None:
    r = run(tiny, ["the cat"] * 10, ["speed"])
    assert r["encode_throughput"].value > 0
    assert r["encode_throughput"].unit == "MB/s"


def test_bootstrap_basics() -> None:
    # Gini of (1, 1) is 0, of (0, 0, 0, 1) is (3*1) / (4*1) = 0.75
    assert gini_rows(np.array([[1.0, 1.0], [0, 0, 0, 1][:2]]))[0] == pytest.approx(0.0)
    assert gini_rows(np.array([[0.0, 0.0, 0.0, 1.0]]))[0] == pytest.approx(0.75)
    # a constant per-unit ratio has a zero-width interval
    rep = bootstrap_ratios([Ratio.of("g", np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]))])[0]
    assert percentile_ci(rep) == pytest.approx([2.0, 2.0])


def test_paired_difference_of_identical_tokenizers_is_zero(tiny, tiny2) -> None:
    res = evaluate(
        [tiny, tiny2], docs(*["the cat sat on the mat"] * 5, "the", "é é"), metrics=["compression"]
    )
    comp = [c for c in res.comparisons if c["metric"] == "bytes_per_token" and c["language"] is None][0]
    assert comp["difference"] == 0.0 and comp["ci"] == [0.0, 0.0] and not comp["significant"]
    assert comp["thin"]  # 7 documents
    a, b = res.results["tiny"]["bytes_per_token"], res.results["tiny2"]["bytes_per_token"]
    assert a.ci == b.ci and a.ci[0] < a.value < a.ci[1]
