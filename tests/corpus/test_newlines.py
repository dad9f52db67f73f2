"""CRLF line endings: counted into the fingerprint, warned about, and normalised with newlines="lf"."""

from __future__ import annotations

import pytest

from toksmith.corpus import crlf_warning, read_corpus, read_parallel
from toksmith.errors import CorpusError


@pytest.fixture()
def crlf_pair(shared_data, tmp_path):
    """The first 120 lines of the inaugural addresses, once with LF and once with CRLF endings."""
    lines = (shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8").splitlines()[:120]
    lf = tmp_path / "lf" / "eng.txt"
    crlf = tmp_path / "crlf" / "eng.txt"
    lf.parent.mkdir()
    crlf.parent.mkdir()
    lf.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    crlf.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return lf, crlf, len(lines)


def test_fingerprint_counts_crlf_and_keeps_raw_bytes_by_default(crlf_pair):
    lf, crlf, n = crlf_pair
    kept = read_corpus(crlf)
    text = "".join(d.text for d in kept)
    assert text.count("\r\n") == n
    fp = kept.fingerprint()
    assert fp["crlf"] == n and fp["files"][0]["crlf"] == n and fp["newlines"] == "keep"
    assert read_corpus(lf).fingerprint()["crlf"] == 0
    assert crlf_warning(read_corpus(lf).fingerprint()) is None
    w = crlf_warning(fp)
    assert w is not None and f"{n:,} CRLF" in w and "--newlines lf" in w


def test_newlines_lf_measures_what_a_text_mode_read_sees(crlf_pair):
    lf, crlf, n = crlf_pair
    normalised = read_corpus(crlf, newlines="lf")
    assert "".join(d.text for d in normalised) == lf.read_text(encoding="utf-8")
    fp = normalised.fingerprint()
    assert fp["crlf"] == n and fp["newlines"] == "lf"
    assert crlf_warning(fp) is None
    par = read_parallel(crlf.parent, newlines="lf")
    assert par.fingerprint()["crlf"] == n and crlf_warning(par.fingerprint()) is None
    assert crlf_warning(read_parallel(crlf.parent).fingerprint()) is not None


def test_unknown_newlines_mode_is_a_corpus_error(crlf_pair):
    with pytest.raises(CorpusError, match="newlines"):
        read_corpus(crlf_pair[1], newlines="crlf")


def test_eval_warns_on_crlf_and_lf_matches_the_lf_file(crlf_pair, smollm2):
    from toksmith.evaluate import evaluate

    lf, crlf, n = crlf_pair
    raw = evaluate([smollm2], read_corpus(crlf), metrics=["compression"])
    assert any("CRLF" in w for w in raw.warnings)
    fixed = evaluate([smollm2], read_corpus(crlf, newlines="lf"), metrics=["compression"])
    plain = evaluate([smollm2], read_corpus(lf), metrics=["compression"])
    assert not any("CRLF" in w for w in fixed.warnings)
    bpt = {name: r.results[smollm2.name]["bytes_per_token"].value for name, r in
           (("raw", raw), ("fixed", fixed), ("plain", plain))}
    assert bpt["fixed"] == pytest.approx(bpt["plain"], abs=1e-12)
    assert bpt["raw"] != pytest.approx(bpt["plain"], abs=1e-6)
    assert raw.to_dict()["corpus"]["main"]["fingerprint"]["crlf"] == n
