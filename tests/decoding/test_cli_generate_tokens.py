"""`toksmith generate --speculate`: text, tokens/s, MAT and the speedup; bad input exits 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from toksmith.cli import app


def test_bad_method_exits_2_without_loading_a_model() -> None:
    res = CliRunner().invoke(app, ["generate", "smollm2", "--prompt", "Hi", "--speculate", "beam"])
    assert res.exit_code == 2
    assert "beam" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["generate", "smollm2", "--prompt", "Hi", "--speculate", "hybrid",
                                   "--min-match", "0"])
    assert res.exit_code == 2
    assert "--min-match" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_hybrid_compare_reports_identity_and_speedup(tmp_path) -> None:
    prompt = "Q: What is the capital of France?\nA: Paris.\nQ: What is the capital of Spain?\nA:"
    m_path = tmp_path / "m.safetensors"
    res = CliRunner().invoke(app, ["generate", "smollm2", "--prompt", prompt, "--speculate", "hybrid", "--tokens",
                                   "12", "--compare", "--json", "--save-adjacency", str(m_path)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["identical"] is True and out["ids"] == out["greedy"]["ids"]
    assert out["speedup"] > 0 and out["stats"]["mat"] >= 1.0 and m_path.is_file()
    res = CliRunner().invoke(app, ["generate", "smollm2", "--prompt", prompt, "--speculate", "recycle", "--tokens",
                                   "12", "--adjacency", str(m_path), "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(prompt) and "recycle: 12 tokens" in res.output and "MAT" in res.output


def test_chat_without_token_level_decoding_exits_2() -> None:
    res = CliRunner().invoke(app, ["generate", "smollm2", "--prompt", "Hi", "--chat"])
    assert res.exit_code == 2
    assert "--chat" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_chat_answers_in_the_template_and_stops_at_the_end_of_the_turn() -> None:
    from toksmith.decoding.chat import chat_ids, hf_tokenizer, stop_ids
    from toksmith.decoding.run import speculate
    from toksmith.lm import load_lm

    question = "What is the capital of France? Answer in one word."
    lm = load_lm("smollm2", device="cpu")
    ids = chat_ids(lm, question)
    hf_tok = hf_tokenizer(lm)
    text = hf_tok.decode(ids)
    assert f"<|im_start|>user\n{question}<|im_end|>\n" in text and text.endswith("<|im_start|>assistant\n")
    end = hf_tok.convert_tokens_to_ids("<|im_end|>")
    assert end in stop_ids(lm)
    res = speculate("smollm2", question, max_new_tokens=24, method="hybrid", compare=True, chat=True, device="cpu")
    assert res.identical and res.result.ids[-1] == end  # the reply ended its turn
    assert "Paris" in res.result.text and len(res.result.text) < 40
    assert res.greedy is not None and res.greedy.text == res.result.text


def test_unreadable_tokenizer_files_give_one_clear_error(tmp_path) -> None:
    from types import SimpleNamespace

    from toksmith.decoding.chat import hf_tokenizer
    from toksmith.errors import TokenizerLoadError

    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerLoadError, match="could not load its tokenizer"):
        hf_tokenizer(SimpleNamespace(source=str(tmp_path)))
