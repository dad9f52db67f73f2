"""Tiny tokenizers and random-weight models built in the test, for brute-force checks of ByteLM."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from toksmith import load_tokenizer
from toksmith.lm import lm_from_model

CORPUS = ["ab ab aab ba abba", "a  b  ab", "ab's ba's", "é ab é", "中 ab 中中", "b a ab ab"] * 20


def byte_level_bpe(tmp: Path):
    """A GPT-2-style byte-level BPE (regex pre-tokenizer, all 256 bytes) trained on `CORPUS`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=256 + 1 + 14, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    path = tmp / "bl.json"
    tok.save(str(path))
    return load_tokenizer(path)


def sentencepiece_bpe(tmp: Path):
    """A SentencePiece-style BPE (`▁` for space, byte fallback, no pre-tokenizer) written by hand."""
    pieces = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]
    chars = ["a", "b", "\u2581", "é", "'"]
    merges = [("a", "b"), ("\u2581", "a"), ("\u2581a", "b"), ("a", "a"), ("\u2581", "\u2581"), ("b", "a"),
              ("é", "\u2581"), ("ab", "\u2581")]
    vocab = pieces + chars + ["".join(m) for m in merges]
    spec = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, p in enumerate(pieces[:4])],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {p: i for i, p in enumerate(vocab)}, "merges": [list(m) for m in merges]},
    }
    path = tmp / "sp.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return load_tokenizer(path)


def tiny_llama(tok, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=tok.vocab.size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, initializer_range=0.3,
                      max_position_embeddings=128)
    return lm_from_model(LlamaForCausalLM(cfg).eval(), tok, name="tiny-llama")


def tiny_gemma3(tok, seed: int = 0):
    """A Gemma 3 with a 3-token sliding window, so tree attention must honour the window."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(vocab_size=tok.vocab.size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=8, sliding_window=3,
                           layer_types=["sliding_attention", "full_attention"], initializer_range=0.3,
                           max_position_embeddings=128)
    return lm_from_model(Gemma3ForCausalLM(cfg).eval(), tok, name="tiny-gemma3")


def saved_tiny_models(tmp: Path) -> list[Path]:
    """The two tiny models (byte-level BPE on a Llama, SentencePiece-style on a Gemma 3) saved as HF dirs."""
    import shutil

    dirs = []
    for name, build, tok_fn in (("tiny-bl", tiny_llama, byte_level_bpe), ("tiny-sp", tiny_gemma3, sentencepiece_bpe)):
        tok = tok_fn(tmp)
        d = tmp / name
        build(tok).model.save_pretrained(d)
        shutil.copy(tok.source, d / "tokenizer.json")
        dirs.append(d)
    return dirs
