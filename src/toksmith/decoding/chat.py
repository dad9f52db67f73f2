"""A user turn in a model's chat template, and the tokens that end the model's reply.

Instruct models answer inside their chat markup: SmolLM2-Instruct given a bare question often ends at once.
`chat_ids` wraps one user turn as the model's own template does (transformers' `apply_chat_template`, with
the tokenizer files beside the model or in its GGUF). Gemma 3's GGUF carries no template, so its turn markup
(`<start_of_turn>user ... <start_of_turn>model`) is written out when the vocabulary has it; a model with
neither gets the plain text after its BOS. `stop_ids` are the tokens a reply ends with. The benchmarks take
both from here, so `toksmith generate --chat` and Spec-Bench prompt a model the same way.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from toksmith.errors import TokenizerLoadError
from toksmith.lm.loading import LM

__all__ = ["chat_ids", "hf_tokenizer", "stop_ids"]


@functools.lru_cache(maxsize=4)
def _hf_tokenizer(source: str) -> Any:
    from transformers import AutoTokenizer

    src = Path(source)
    try:
        if src.is_file():  # a GGUF file: its tokenizer (and template, if it has one) is inside
            return AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
        return AutoTokenizer.from_pretrained(str(src))
    except Exception as e:  # transformers raises many kinds for unreadable tokenizer files
        raise TokenizerLoadError(f"{source}: transformers could not load its tokenizer for the chat template "
                                 f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e


def hf_tokenizer(lm: LM) -> Any:
    """transformers' tokenizer of `lm`'s files (its directory or GGUF); cached per source."""
    return _hf_tokenizer(lm.source)


def chat_ids(lm: LM, text: str) -> list[int]:
    """`text` as one user turn in `lm`'s chat template, the generation prompt included (token ids)."""
    hf_tok = hf_tokenizer(lm)
    if getattr(hf_tok, "chat_template", None):
        ids = hf_tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                         tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
    bos = [hf_tok.bos_token_id] if hf_tok.bos_token_id is not None else []
    if "<start_of_turn>" in hf_tok.get_vocab():
        text = f"<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"
    return bos + hf_tok.encode(text, add_special_tokens=False)


def stop_ids(lm: LM) -> list[int]:
    """Tokens that end a reply: the model's EOS, its generation config's, and Gemma's `<end_of_turn>`."""
    gen_eos = lm.model.generation_config.eos_token_id
    out = {lm.eos_id, *([gen_eos] if isinstance(gen_eos, int) else list(gen_eos or []))}
    turn = hf_tokenizer(lm).get_vocab().get("<end_of_turn>")
    if turn is not None:
        out.add(turn)
    return sorted(out)
