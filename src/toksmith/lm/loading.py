"""Loading causal language models: a Hugging Face directory, a `.gguf` file, a short name or a Hub id.

torch and transformers are imported inside `load_lm`, so `import toksmith` never loads torch; a
missing torch raises `MissingDependencyError` with the install hint for the `lm` extra.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toksmith import defaults
from toksmith.errors import MissingDependencyError, ModelLoadError, ToksmithError
from toksmith.packaged import model_names
from toksmith.tokenizers import Tokenizer, load_tokenizer
from toksmith.vocab import Role

__all__ = ["LM", "MODEL_SHORT_NAMES", "lm_from_model", "load_lm", "load_lm_tokenizer", "require_torch"]

#: The packaged short names that are language models (the one list lives in `toksmith.packaged`).
MODEL_SHORT_NAMES = model_names()
_DTYPES = defaults.DTYPES


def require_torch(feature: str) -> Any:
    """Import torch, or raise `MissingDependencyError` naming `feature` and the `lm` extra."""
    try:
        import torch
    except ImportError as e:
        raise MissingDependencyError("torch", feature, "lm") from e
    return torch


def cache_arg(module: Any, cache: Any) -> dict[str, Any]:
    """The keyword that passes a KV cache to `module`'s forward: `cache` in transformers 5 (where
    `past_key_values` still works but warns on every call), `past_key_values` before it."""
    return {_cache_keyword(type(module)): cache}


@functools.cache
def _cache_keyword(cls: type) -> str:
    """Once per model class, not per forward: reading a signature costs more than the dict it feeds."""
    import inspect

    return "cache" if "cache" in inspect.signature(cls.forward).parameters else "past_key_values"


@dataclass
class LM:
    """A causal LM with the tokenizer whose canonical encoder defines its token sequences.

    Attributes:
        model: the transformers `*ForCausalLM` module (eval mode, on `device`).
        tokenizer: the toksmith `Tokenizer` for the same vocabulary.
        bos_id: the token every text is conditioned on (the document start the model was trained with).
        eos_id: the token that ends a text (end-of-text in byte-level distributions).
        max_context: most positions the model attends to (sliding windows are honoured separately).
    """

    name: str
    model: Any
    tokenizer: Tokenizer
    bos_id: int
    eos_id: int
    device: str
    dtype: str
    max_context: int
    sliding_window: int | None = None
    layer_types: tuple[str, ...] = ()
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_output_embeddings().weight.shape[0])


def _context_tokens(tok: Tokenizer) -> tuple[int, int, list[str]]:
    """(bos, eos, notes): what a plain text is conditioned on and what ends it.

    Byte-level BPE models in the GPT-2 tradition (SmolLM2) separate pretraining documents with
    `<|endoftext|>` and have no BOS in their post-processor, so a text starts after `<|endoftext|>` and
    ends with it; chat markers (`<|im_start|>`/`<|im_end|>`, which SmolLM2-Instruct's GGUF declares as
    BOS/EOS) are not plain-text boundaries. SentencePiece models (Gemma: add_bos_token=True) start with
    their BOS and end with their EOS.
    """
    v = tok.vocab
    for i in v.specials:
        if v.tokens[i] == b"<|endoftext|>":
            return i, i, [f"conditioned on and ended by <|endoftext|> (id {i})"]
    bos = v.special_id(Role.BOS)
    eos = v.special_id(Role.EOS)
    if bos is None or eos is None:
        raise ModelLoadError(f"{tok.name}: tokenizer declares no BOS/EOS token and has no <|endoftext|>")
    return bos, eos, [f"conditioned on {v.pieces[bos]} (id {bos}), ended by {v.pieces[eos]} (id {eos})"]


def _resolve(spec: str | Path, revision: str | None = None) -> tuple[str, Path, str | None]:
    """(name, directory or file, gguf file name or None) for a model spec; a local path wins over a Hub id."""
    s = str(spec)
    if s in MODEL_SHORT_NAMES:
        from toksmith.packaged import packaged_gguf

        try:
            path = packaged_gguf(s)
        except ToksmithError as e:
            raise ModelLoadError(str(e)) from e
        return s, path.parent, path.name
    p = Path(s).expanduser()
    if p.is_file():
        if p.suffix.lower() != ".gguf":
            raise ModelLoadError(f"{p}: a model file must be .gguf (or give a transformers model directory)")
        return p.stem, p.parent, p.name
    if p.is_dir():
        if not (p / "config.json").is_file():
            ggufs = sorted(p.glob("*.gguf"))
            if ggufs:
                return p.name, p, ggufs[0].name
            raise ModelLoadError(f"{p}: no config.json or .gguf file in this directory")
        return p.name, p, None
    from toksmith.hub import is_hub_id, resolve_hub_id

    if is_hub_id(s):
        snapshot = resolve_hub_id(s, revision=revision, kind="model")
        if not (snapshot / "config.json").is_file():
            raise ModelLoadError(f"'{s}': the repository has no config.json (not a transformers model)")
        if not any(snapshot.glob("*.safetensors")):
            raise ModelLoadError(f"'{s}': the repository has no .safetensors weights (pickled .bin weights are "
                                 "not loaded)")
        return s, snapshot, None
    raise ModelLoadError(
        f"'{s}': unknown model (not a file, a directory, a short name ({', '.join(MODEL_SHORT_NAMES)}) or a Hub "
        "id org/name)"
    )


@contextlib.contextmanager
def _quiet_gguf_bars() -> Iterator[None]:
    """Silence the tqdm bar transformers prints while de-quantizing GGUF tensors.

    transformers binds `tqdm.auto.tqdm` at import time and ignores its own `disable_progress_bar()`
    there, so the bar reached stderr even under --quiet; the CLI shows its own progress instead.
    """
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # an older or newer transformers without that module: nothing to silence
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _model_tokenizer(spec: str | Path, name: str, where: Path, gguf: str | None) -> Tokenizer:
    """The tokenizer of a resolved model spec (see `_resolve`)."""
    try:
        from_hub = gguf is None and name != where.name  # a snapshot directory is named by its commit
        return load_tokenizer(str(spec) if str(spec) in MODEL_SHORT_NAMES else (where / gguf if gguf else where),
                              name=name if from_hub else None)
    except ToksmithError as e:
        raise ModelLoadError(f"{spec}: its tokenizer could not be loaded: {e}") from e


def load_lm_tokenizer(spec: str | Path, *, revision: str | None = None) -> tuple[str, Tokenizer, int, list[str]]:
    """(name, tokenizer, the token a text is conditioned on, notes) of a model spec, without its weights.

    What a driver needs to plan the scoring windows that workers holding the model run (`lm.sharded`).
    """
    name, where, gguf = _resolve(spec, revision)
    tok = _model_tokenizer(spec, name, where, gguf)
    bos, _, notes = _context_tokens(tok)
    return name, tok, bos, notes


def load_lm(spec: str | Path, *, device: str | None = None, dtype: str = defaults.DTYPE, revision: str | None = None,
            trust_remote_code: bool = False) -> LM:
    """Load a causal LM and its tokenizer.

    Args:
        spec: a transformers model directory, a `.gguf` file (dequantised by transformers + gguf),
            a short name (`smollm2`, `gemma3`), or a Hub id (`org/name[@revision]`: the Hub cache
            first, else config, tokenizer and `.safetensors` files are fetched; see `toksmith.hub`).
        device: "cpu", "cuda", ...; default: "cuda" when available, else "cpu".
        dtype: "float32" (default), "bfloat16" or "float16".
        revision: branch, tag or commit of a Hub id (default "main").
        trust_remote_code: run a repository's own modelling code (off unless asked for).
    """
    torch = require_torch("loading a language model")
    if dtype not in _DTYPES:
        raise ModelLoadError(f"dtype '{dtype}' is not supported (choose from {', '.join(_DTYPES)})")
    name, where, gguf = _resolve(spec, revision)
    if gguf is not None and importlib.util.find_spec("gguf") is None:
        raise MissingDependencyError("gguf", "loading a .gguf model")
    tok = _model_tokenizer(spec, name, where, gguf)
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "trust_remote_code": trust_remote_code}
        if gguf is not None:
            kwargs["gguf_file"] = gguf
        with _quiet_gguf_bars():
            model = AutoModelForCausalLM.from_pretrained(str(where), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError, EOFError, TypeError) as e:
        what = where / gguf if gguf else where
        raise ModelLoadError(f"{what}: not a loadable causal LM ({type(e).__name__}: {str(e)[:200]})") from e
    model = model.to(dev).eval()
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    bos, eos, notes = _context_tokens(tok)
    n_out = int(model.get_output_embeddings().weight.shape[0])
    if n_out < tok.vocab.size:
        raise ModelLoadError(f"{spec}: model has {n_out} output rows but the tokenizer {tok.vocab.size} tokens")
    layer_types = tuple(getattr(text_cfg, "layer_types", None) or ())
    sliding = getattr(text_cfg, "sliding_window", None) if "sliding_attention" in layer_types else None
    return LM(name=name, model=model, tokenizer=tok, bos_id=bos, eos_id=eos, device=dev, dtype=dtype,
              max_context=int(getattr(text_cfg, "max_position_embeddings", 2048) or 2048),
              sliding_window=sliding, layer_types=layer_types, source=str(where / gguf if gguf else where),
              notes=notes)


def lm_from_model(model: Any, tokenizer: Tokenizer, *, name: str = "model", bos_id: int | None = None,
                  eos_id: int | None = None) -> LM:
    """Wrap an in-memory transformers model and a toksmith tokenizer (tests, notebooks)."""
    if bos_id is None or eos_id is None:
        b, e, _ = _context_tokens(tokenizer)
        bos_id = b if bos_id is None else bos_id
        eos_id = e if eos_id is None else eos_id
    cfg = model.config
    layer_types = tuple(getattr(cfg, "layer_types", None) or ())
    sliding = getattr(cfg, "sliding_window", None) if "sliding_attention" in layer_types else None
    dev = str(next(model.parameters()).device)
    return LM(name=name, model=model.eval(), tokenizer=tokenizer, bos_id=bos_id, eos_id=eos_id, device=dev,
              dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
              max_context=int(getattr(cfg, "max_position_embeddings", 2048) or 2048), sliding_window=sliding,
              layer_types=layer_types)
