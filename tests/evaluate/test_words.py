"""UAX #29 word spans: hand-checked cases and agreement with the `regex` reference."""

from __future__ import annotations

import pytest

from toksmith.evaluate.words import codepoints, word_spans, word_spans_reference


def words(text: str) -> list[str]:
    s, e = word_spans(codepoints(text))
    return [text[a:b] for a, b in zip(s.tolist(), e.tolist(), strict=True)]


def test_english_keeps_contractions_decimals_and_abbreviations() -> None:
    # WB6/7 keep "It's" and "U.S.A" whole, WB11/12 keep "3.14", "1,000"; punctuation and spaces are not words.
    assert words("It's 3.14, U.S.A. and 1,000 e-mail") == [
        "It's",
        "3.14",
        "U.S.A",
        "and",
        "1,000",
        "e",
        "mail",
    ]


def test_japanese_han_and_hiragana_per_character_katakana_runs_whole() -> None:
    # Han and Hiragana have no joining rule (WB999), Katakana runs join (WB13).
    assert words("日本語のテキストです。") == ["日", "本", "語", "の", "テキスト", "で", "す"]


def test_thai_graphemes_are_words() -> None:
    # Thai letters are Word_Break=Other (dictionary segmentation is out of UAX #29); marks attach (WB4).
    assert words("ภาษาที่") == ["ภ", "า", "ษ", "า", "ที่"]


def test_str_split_would_be_wrong_on_japanese() -> None:
    text = "私は学生です"
    assert len(text.split()) == 1
    assert len(words(text)) == 6


def test_cases_checked_against_icu() -> None:
    # ICU 72 (libicuuc ubrk, word iterator) gives the same: a leading apostrophe is not part of the word
    # (WB7 needs a letter before it), and WB4 skips the combining tilde inside "patẽ'tets" (regex 2026.11
    # breaks both differently).
    assert words("ch 'amachasisna má") == ["ch", "amachasisna", "má"]
    assert words("patẽ'tets an") == ["patẽ'tets", "an"]


def test_spaces_regional_indicators_and_emoji_are_not_words() -> None:
    assert words("a  b 🇩🇪🇫🇷 👍🏽 _x_") == ["a", "b", "_x_"]


def test_agrees_with_regex_on_english_udhr(shared_data) -> None:
    text = (shared_data / "udhr" / "eng.txt").read_text(encoding="utf-8")
    s, e = word_spans(codepoints(text))
    assert list(zip(s.tolist(), e.tolist(), strict=True)) == word_spans_reference(text)


@pytest.mark.parametrize("text", ["", "\n", "  ", "a"])
def test_edge_cases(text: str) -> None:
    assert words(text) == ([text] if text == "a" else [])


def test_property_pages_from_the_disk_cache_equal_fresh_ones(shared_data, tmp_path, monkeypatch) -> None:
    from toksmith.evaluate import words as w

    text = "".join(f.read_text(encoding="utf-8")[:2000] for f in sorted((shared_data / "udhr").glob("*.txt"))[::10])
    cp = codepoints(text)
    monkeypatch.setenv("TOKSMITH_CACHE", "off")
    w.reset_tables()
    fresh = w._props().of(cp)
    monkeypatch.setenv("TOKSMITH_CACHE", str(tmp_path))
    w.reset_tables()
    w._props().of(cp)  # fills the pages
    w.save_tables()  # and stores them (the streamed pass does this at its end)
    assert list(tmp_path.glob("word-break-pages-*.npz"))
    w.reset_tables()
    props = w._props()
    assert props.filled.sum() >= len(set((cp >> 10).tolist()))  # loaded from disk
    assert props._patterns is None  # nothing to compute: the patterns were not even compiled
    assert (props.of(cp) == fresh).all()
    w.reset_tables()
