"""Token boundaries in the terminal (`toksmith inspect`) and the byte segmentation behind them."""

from __future__ import annotations

import pytest
from rich.console import Console
from typer.testing import CliRunner

from toksmith.cli import app
from toksmith.report.boundaries import Segment, boundary_sample, segment_tokens, token_bytes
from toksmith.report.terminal import render_inspect

TEXT = "Hello 世界 1234567 é"


def _plain(renderable) -> str:
    c = Console(record=True, width=200, color_system=None)
    c.print(renderable)
    return c.export_text()


def test_segment_tokens_by_hand() -> None:
    segs = segment_tokens([b"a\xe4\xb8", b"\x96b", b"\xff\xfe", b""])
    assert segs[0] == [Segment(b"a", "a"), Segment(b"\xe4\xb8", None, "世")]
    assert segs[1] == [Segment(b"\x96", None, "世"), Segment(b"b", "b")]
    assert segs[2] == [Segment(b"\xff\xfe", None, None)]  # not UTF-8 at all
    assert segs[3] == []


def test_token_bytes_concatenate_to_decode_bytes(smollm2, cl100k) -> None:
    for tok in (smollm2, cl100k):
        ids = tok.encode(TEXT)
        assert b"".join(token_bytes(tok, ids)) == tok.decode_bytes(ids) == TEXT.encode()


def test_inspect_cl100k_and_smollm2(smollm2, cl100k) -> None:
    out = _plain(render_inspect([cl100k, smollm2], TEXT, separator="|"))
    # 23 UTF-8 bytes; cl100k: Hello| |e4 b8|96|界| |123|456|7| é -> 10 tokens, 2.30 bytes/token
    assert "cl100k  10 tokens · 2.30 bytes/token" in out
    assert "Hello| |‹e4 b8›|‹96›|界| |123|456|7| é" in out
    # smollm2 cuts 界 into three single bytes and writes digits one by one: 16 tokens, 23 / 16 = 1.4375
    assert "smollm2  16 tokens · 1.44 bytes/token" in out
    assert "|‹e7›|‹95›|‹8c›| |1|2|3|4|5|6|7| é" in out
    assert out.index("cl100k") < out.index("smollm2")


def test_inspect_ids(cl100k) -> None:
    out = _plain(render_inspect([cl100k], "hello world", show_ids=True, separator="|"))
    assert "hello[15339]| world[1917]" in out


@pytest.mark.slow
def test_inspect_gemma3(gemma3) -> None:
    out = _plain(render_inspect([gemma3], TEXT, separator="|"))
    assert "‹" not in out.split("\n", 1)[1]  # 世界 is one token, é too: nothing is split
    ids = gemma3.encode(TEXT)
    assert f"gemma3  {len(ids)} tokens" in out
    assert b"".join(token_bytes(gemma3, ids)) == TEXT.encode()


def test_boundary_sample_round_trips(cl100k) -> None:
    s = boundary_sample("Hello 世界", [cl100k], lang="eng")
    entry = s["tokens"]["cl100k"]
    assert entry["bytes"] == ["48656c6c6f", "20", "e4b8", "96", "e7958c"]
    assert len(entry["ids"]) == 5


def test_cli_inspect() -> None:
    r = CliRunner().invoke(app, ["inspect", "--ids", "cl100k", "hello world"])
    assert r.exit_code == 0, r.output
    assert "2 tokens · 5.50 bytes/token" in r.output and "hello[15339]│ world[1917]" in r.output


def test_cli_inspect_errors(tmp_path) -> None:
    r = CliRunner().invoke(app, ["inspect", "only-text"])
    assert r.exit_code == 2 and "at least one tokenizer" in r.output
    r = CliRunner().invoke(app, ["inspect", "no-such-tokenizer", "x"])
    assert r.exit_code == 2
    f = tmp_path / "t.txt"
    f.write_text("a b\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["inspect", "--file", str(f), "cl100k"])
    assert r.exit_code == 0 and "cl100k  3 tokens" in r.output
