"""toksmith.transplant on real models (SmolLM2 135M), real tokenizers and real held-out text."""

from __future__ import annotations

import dataclasses
import json

import pytest

from toksmith.transplant import TransplantError, transplant
from toksmith.transplant.matching import map_specials, pieces_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def smol():
    pytest.importorskip("torch")
    from toksmith import load_lm

    return load_lm("smollm2", device="cpu")


@pytest.fixture(scope="module")
def held_out(shared_data) -> str:
    raw = (shared_data / "english" / "inaugural.txt").read_bytes()[-2500:]
    return raw.decode("utf-8", "ignore")


@pytest.fixture(scope="module")
def trained(shared_data):
    """A small byte-level BPE trained by toksmith on text disjoint from the held-out part."""
    from toksmith.train import train_bpe

    text = (shared_data / "english" / "state_union.txt").read_text(encoding="utf-8")[:300_000]
    return train_bpe([text], vocab_size=2000)


def _bpb(lm, text: str) -> float:
    from toksmith.lm import score_text

    return score_text(lm, text)[0] / len(text.encode("utf-8"))


@pytest.mark.slow
def test_copy_onto_own_tokenizer_is_the_original(smol, held_out):
    import torch

    res = transplant(smol, smol.tokenizer, method="copy")
    assert res.copied == smol.tokenizer.vocab.size and res.initialised == 0
    assert res.specials == {i: i for i in smol.tokenizer.vocab.specials}
    assert torch.equal(res.lm.model.get_input_embeddings().weight, smol.model.get_input_embeddings().weight)
    assert abs(_bpb(res.lm, held_out) - _bpb(smol, held_out)) < 1e-4
    # the original LM is left untouched (its module was copied)
    assert res.lm.model is not smol.model


@pytest.mark.slow
def test_saved_directory_loads_in_transformers_and_load_lm(smol, trained, held_out, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from toksmith import load_lm, load_tokenizer
    from toksmith.lm import lm_from_model

    res = transplant(smol, trained, method="copy")
    v = res.lm.tokenizer.vocab
    assert v.size == 2000 and 0 < res.initialised < v.size
    out = res.save(tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
         "tokenizer_config.json", "transplant.json"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left beside OUT
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["vocab_size"] == 2000 and cfg["tie_word_embeddings"] is True
    want = _bpb(res.lm, held_out)
    hf_model = AutoModelForCausalLM.from_pretrained(str(out)).eval()
    hf_tok = AutoTokenizer.from_pretrained(str(out))
    assert hf_tok(held_out[:500], add_special_tokens=False).input_ids == res.lm.tokenizer.encode(held_out[:500])
    w = hf_model.get_input_embeddings().weight
    assert w.data_ptr() == hf_model.get_output_embeddings().weight.data_ptr()  # still tied
    assert torch.equal(w, res.lm.model.get_input_embeddings().weight)
    via_hf = _bpb(lm_from_model(hf_model, load_tokenizer(out)), held_out)
    via_load_lm = _bpb(load_lm(out, device="cpu"), held_out)
    assert abs(via_hf - want) < 1e-6 and abs(via_load_lm - want) < 1e-6
    with pytest.raises(TransplantError, match="already exists"):
        res.save(out)
    res.save(out, force=True)


@pytest.mark.slow
def test_methods_rank_and_random_is_worst(smol, trained, held_out):
    import torch

    res = {m: transplant(smol, trained, method=m) for m in ("copy", "hybrid", "random", "mean")}
    got = {m: _bpb(r.lm, held_out) for m, r in res.items()}
    assert got["copy"] < got["random"] and got["hybrid"] < got["random"] and got["mean"] < got["random"]
    assert got["copy"] < 3.0
    for m in ("random", "hybrid"):  # deterministic: same inputs, same rows
        again = transplant(smol, trained, method=m).lm.model.get_input_embeddings().weight
        assert torch.equal(again, res[m].lm.model.get_input_embeddings().weight)


@pytest.mark.slow
def test_omp_recovers_anchor_rows_exactly(smol):
    """Oracle: a target that is itself an anchor is rebuilt exactly (base == donor space)."""
    import torch

    from toksmith.transplant.omp import omp_recipe
    from toksmith.transplant.recipe import apply_recipe

    e = smol.model.get_input_embeddings().weight.detach()
    anchors = torch.arange(1000, 3000)
    targets = torch.tensor([1005, 1500, 2999])
    for k, step in ((1, 1), (8, 1), (8, 4)):
        r = omp_recipe(e[targets], e[anchors], anchors, k=k, per_step=step)
        assert (r.ids[:, 0] == targets).all()
        rows = apply_recipe(r, e, e[anchors].mean(0))
        assert torch.allclose(rows, e[targets], atol=1e-4)


@pytest.mark.slow
def test_bad_models_donors_and_specials(smol, gemma3, trained, shared_data):
    from toksmith.train import train_bpe

    bare = train_bpe([(shared_data / "english" / "inaugural.txt").read_text(encoding="utf-8")[:20_000]],
                     vocab_size=300, special_tokens=())
    with pytest.raises(TransplantError, match="special tokens cannot be mapped"):
        transplant(smol, bare)
    no_inputs = dataclasses.replace(smol, model=smol.model.lm_head)
    with pytest.raises(TransplantError, match="no input embeddings"):
        transplant(no_inputs, trained)
    bad_donor = dataclasses.replace(smol, tokenizer=gemma3)
    with pytest.raises(TransplantError, match="does not match its tokenizer"):
        transplant(smol, trained, method="omp", donor=bad_donor)


def test_specials_map_one_to_one_by_role(smollm2, gemma3):
    from toksmith.transplant.matching import context_tokens

    m = map_specials(gemma3.vocab, smollm2.vocab, context_tokens(gemma3), context_tokens(smollm2))
    assert len(set(m.values())) == len(m)  # never collapsed
    p = smollm2.vocab.pieces
    by = {p[n]: gemma3.vocab.pieces[o] for n, o in m.items()}
    assert by["<|endoftext|>"] == "<bos>"  # SmolLM2's document start -> Gemma's
    assert by["<|im_end|>"] == "<eos>"
    assert by["<|im_start|>"] == "<start_of_turn>"


def test_pieces_are_byte_exact(smollm2, gemma3):
    datas = [b" transplantation", "é".encode()[:1], "日本".encode()[:4], b"\n\n\t", " naïve".encode()]
    for tok in (smollm2, gemma3):
        got = pieces_of(datas, tok)
        for d, p in zip(datas, got, strict=True):
            assert p is not None and b"".join(tok.vocab.tokens[t] for t in p) == d
    # Gemma spells a lone 0xC3 with its byte-fallback token <0xC3>, not the character U+00C3
    assert [gemma3.vocab.pieces[t] for t in pieces_of([b"\xc3"], gemma3)[0]] == ["<0xC3>"]


def test_bad_options(tmp_path):
    from typer.testing import CliRunner

    from toksmith.cli import app
    from toksmith.transplant.run import run_transplant

    with pytest.raises(TransplantError, match="needs a donor"):
        transplant("smollm2", "smollm2", method="omp")
    with pytest.raises(TransplantError, match="unknown method"):
        transplant("smollm2", "smollm2", method="focus")
    (tmp_path / "taken").mkdir()
    with pytest.raises(TransplantError, match="already exists"):
        run_transplant("smollm2", "smollm2", out=tmp_path / "taken")
    r = CliRunner().invoke(app, ["transplant", "smollm2", "--tokenizer", "smollm2", "--out", str(tmp_path / "taken")])
    assert r.exit_code == 2 and "already exists" in r.output and "Traceback" not in r.output


@pytest.mark.slow
def test_gguf_reads_back_with_the_same_bpb(smol, trained, held_out, tmp_path):
    pytest.importorskip("gguf")
    from toksmith import load_lm, load_tokenizer

    res = transplant(smol, trained, method="copy")
    out = res.save(tmp_path / "g", gguf=True)
    g = out / "model.gguf"
    assert load_tokenizer(g).encode(held_out) == res.lm.tokenizer.encode(held_out)
    from_gguf = load_lm(g, device="cpu")
    assert from_gguf.model.get_input_embeddings().weight.shape[0] == 2000
    assert abs(_bpb(from_gguf, held_out) - _bpb(load_lm(out, device="cpu"), held_out)) < 1e-4


@pytest.fixture(scope="module")
def untied(smol):
    """SmolLM2 with its head untied: lm_head a copy of the embedding, tie_word_embeddings False (same function)."""
    import copy

    import torch

    m = copy.deepcopy(smol.model)
    m.get_output_embeddings().weight = torch.nn.Parameter(m.get_input_embeddings().weight.detach().clone())
    m.config.tie_word_embeddings = False
    return dataclasses.replace(smol, model=m, name="smollm2-untied")


def _forward(lm, text: str):
    """(logits, final hidden states) of the first 1,024 positions of `text`."""
    import torch

    ids = [lm.bos_id] + lm.tokenizer.encode(text)[:1023]
    with torch.no_grad():
        o = lm.model(torch.tensor([ids]), output_hidden_states=True)
    return o.logits[0].float(), o.hidden_states[-1][0].float()


@pytest.mark.slow
def test_untied_output_rows_of_new_tokens_bound_their_mass(smol, untied, trained, held_out, tmp_path):
    """New tokens' output rows mean + a_t * (recipe - mean) take no more mass at real positions than the bound in
    toksmith.transplant.api's docstring; share 0 (Hewitt) makes every new logit the old head's average logit."""
    import numpy as np
    import torch

    from toksmith import load_lm
    from toksmith.transplant import DEFAULT_OUTPUT_DECAY

    w_old = smol.model.get_output_embeddings().weight.detach().double()
    text_ids = torch.as_tensor(smol.tokenizer.vocab.text_ids)
    v_text = len(text_ids)
    masses, inputs = [], []
    for share, decay in ((0.0, None), (1.0, None), (1.0, 0.0)):  # Hewitt, the default, the recipe (FVT)
        r = transplant(untied, trained, method="copy", output_share=share, output_decay=decay)
        assert r.options["output_decay"] == (DEFAULT_OUTPUT_DECAY if decay is None else decay)
        emb, head = r.lm.model.get_input_embeddings().weight, r.lm.model.get_output_embeddings().weight
        assert head.data_ptr() != emb.data_ptr() and not r.options["tied"]
        inputs.append(emb.detach().clone())
        new = torch.as_tensor(np.flatnonzero(r.source < 0))
        copied = np.flatnonzero(r.source >= 0)
        assert torch.equal(head[copied].double(), w_old[torch.as_tensor(r.source[copied])])
        logits, h = _forward(r.lm, held_out)
        assert torch.allclose(logits, h @ head.detach().float().T, atol=1e-3)  # hidden_states[-1] feeds the head
        old = h.double() @ w_old[text_ids].T  # the old head over its text tokens, same hidden states
        if share == 0.0:  # Hewitt: every new logit is the average old logit
            assert torch.allclose(logits[:, new].double(), old.mean(1, keepdim=True).expand(-1, len(new)), atol=1e-3)
        p_old = old.softmax(1)
        c = p_old[:, torch.isin(text_ids, torch.as_tensor(r.source[copied]))].sum(1)
        rec = r.recipe
        assert torch.isin(rec.ids[rec.weights > 0], text_ids).all()
        cols = torch.searchsorted(text_ids, rec.ids).clamp(max=v_text - 1)
        pieces = (p_old[:, cols] * rec.weights.double()).sum(2)  # (positions, new): sum_j w_tj p_old(piece j)
        a = share * (1 - r.options["output_decay"] * new.double() / r.lm.tokenizer.vocab.size)
        bound = ((1 - a + a * rec.mean_weight.double()) / v_text + a * pieces).sum(1) / c
        p_new = logits.double().softmax(1)[:, new].sum(1)
        assert len(p_new) > 500 and len(new) > 50 and (p_new <= bound + 1e-9).all()
        masses.append(float(p_new.mean()))
        if share == 1.0 and decay is None:  # an untied transplant saves untied and scores the same after loading
            out = r.save(tmp_path / "untied")
            assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
            assert abs(_bpb(load_lm(out, device="cpu"), held_out) - _bpb(r.lm, held_out)) < 1e-6
        del r
    # the rule moves only the output rows of new tokens; Hewitt < default < FVT in the mass new tokens take
    assert torch.equal(inputs[0], inputs[1]) and torch.equal(inputs[0], inputs[2])
    assert masses[0] < masses[1] < masses[2]


@pytest.mark.slow
def test_tied_head_stays_tied_and_shares_its_row(smol, trained):
    import numpy as np
    import torch

    from toksmith.transplant import DEFAULT_OUTPUT_DECAY

    rows = {}
    for name, share, decay in (("hewitt", 0.0, 0.0), ("default", 1.0, None), ("fvt", 1.0, 0.0)):
        r = transplant(smol, trained, method="copy", output_share=share, output_decay=decay)
        m = r.lm.model
        assert m.get_output_embeddings().weight.data_ptr() == m.get_input_embeddings().weight.data_ptr()
        assert r.options["tied"]
        new = torch.as_tensor(np.flatnonzero(r.source < 0))
        rows[name] = m.get_input_embeddings().weight.detach()[new].clone()
        v_new = r.lm.tokenizer.vocab.size
        del r, m
    e = smol.model.get_input_embeddings().weight.detach()
    mean = e[torch.as_tensor(smol.tokenizer.vocab.text_ids)].mean(0)
    assert torch.allclose(rows["hewitt"], mean.expand_as(rows["hewitt"]))
    a = (1 - DEFAULT_OUTPUT_DECAY * new.float() / v_new)[:, None]
    assert torch.allclose(rows["default"], mean + a * (rows["fvt"] - mean), atol=1e-6)
    assert transplant(smol, trained, method="fvt").options["output_decay"] == 0.0  # the published baseline
    with pytest.raises(TransplantError, match="output share and decay"):
        transplant(smol, trained, output_share=1.5)
