"""Hugging Face Hub ids (`org/name`, `org/name@revision`) resolved to local snapshot directories.

The cache comes first: an id whose revision is already in the Hub cache loads without touching the
network. Otherwise the files are fetched through `huggingface_hub`, which honours `HF_TOKEN` for
private and gated repositories. A tokenizer fetches only tokenizer files, never weights; a model
fetches its config, tokenizer files and `.safetensors` weights (pickled `.bin` weights are never
fetched). `HF_HOME`, `HF_HUB_CACHE` and `HF_HUB_OFFLINE` are read when an id is resolved, not when
Python starts, so they can be set by the caller at any time. A local path always wins over an id
with the same spelling; callers check the path first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from toksmith.errors import ModelLoadError, TokenizerLoadError, ToksmithError

__all__ = ["MODEL_FILES", "TOKENIZER_FILES", "hub_cache_dir", "hub_offline", "is_hub_id", "parse_hub_id",
           "resolve_hub_id"]

#: What a tokenizer needs from a repository (never weights).
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "tokenizer.model", "spiece.model", "*.tiktoken", "vocab.json", "merges.txt", "vocab.txt",
)
#: What a causal LM needs: config, tokenizer and safetensors weights (with their index when sharded).
MODEL_FILES = TOKENIZER_FILES + ("config.json", "generation_config.json", "*.safetensors",
                                 "*.safetensors.index.json")

_HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[\w./-]+))?$")
_TRUE = ("1", "on", "yes", "true")


def is_hub_id(spec: str | os.PathLike[str]) -> bool:
    """Whether `spec` is spelled like a Hub id (`org/name` or `org/name@rev`) and is not a local path."""
    s = str(spec)
    return _HUB_ID.match(s) is not None and not Path(s).expanduser().exists()


def parse_hub_id(spec: str, revision: str | None = None) -> tuple[str, str]:
    """(repo id, revision) of `org/name[@rev]`; an `@rev` in the spec wins over `revision`, default "main"."""
    m = _HUB_ID.match(spec)
    if m is None:
        raise ToksmithError(f"'{spec}' is not a Hub id (expected org/name or org/name@revision)")
    return m.group("repo"), m.group("rev") or revision or "main"


def hub_cache_dir() -> Path:
    """The Hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else huggingface_hub's default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """Whether the network is off for the Hub (`HF_HUB_OFFLINE`, read now)."""
    env = os.environ.get("HF_HUB_OFFLINE")
    if env is not None:
        return env.strip().lower() in _TRUE
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_hub_id(spec: str, *, revision: str | None = None, kind: str = "tokenizer") -> Path:
    """The local snapshot directory of a Hub id, from the cache or fetched (only the files `kind` needs).

    Args:
        spec: `org/name` or `org/name@revision`.
        revision: branch, tag or commit when the spec has no `@revision` (default "main").
        kind: "tokenizer" (tokenizer files only) or "model" (config, tokenizer and safetensors weights).

    Raises TokenizerLoadError / ModelLoadError with one line naming the id: offline and not cached
    (with the command that fetches it), unknown repository or revision, gated without a token.
    """
    if kind not in ("tokenizer", "model"):
        raise ToksmithError(f"unknown Hub resolution kind '{kind}' (tokenizer or model)")
    err = TokenizerLoadError if kind == "tokenizer" else ModelLoadError
    repo, rev = parse_hub_id(spec, revision)
    try:
        import huggingface_hub as hf
        from huggingface_hub import errors as hf_errors
    except ImportError as e:  # pragma: no cover - huggingface_hub comes with tokenizers
        raise err(f"'{spec}': resolving Hub ids needs huggingface_hub (pip install huggingface_hub)") from e
    patterns = list(TOKENIZER_FILES if kind == "tokenizer" else MODEL_FILES)
    cache = hub_cache_dir()
    token = os.environ.get("HF_TOKEN") or None
    at = f"{repo}@{rev}" if rev != "main" else repo
    try:
        path = Path(hf.snapshot_download(repo, revision=rev, cache_dir=cache, allow_patterns=patterns,
                                         local_files_only=True, token=token))
    except (hf_errors.LocalEntryNotFoundError, FileNotFoundError, hf_errors.IncompleteSnapshotError):
        path = None
    if path is None:
        if hub_offline():
            include = "'tokenizer*' '*.model' '*.tiktoken'" if kind == "tokenizer" else "--exclude '*.bin'"
            flag = "--include " + include if kind == "tokenizer" else include
            raise err(f"'{at}' is not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE is set: fetch it once "
                      f"online with `hf download {repo}{' --revision ' + rev if rev != 'main' else ''} {flag}` "
                      f"(or unset HF_HUB_OFFLINE)")
        _quiet_hub_bars()
        try:
            path = Path(hf.snapshot_download(repo, revision=rev, cache_dir=cache, allow_patterns=patterns,
                                             token=token))
        except hf_errors.GatedRepoError as e:
            raise err(f"'{at}' is gated: accept its licence on huggingface.co and set HF_TOKEN") from e
        except hf_errors.RepositoryNotFoundError as e:
            raise err(f"'{at}': no such repository on the Hub (private ones need HF_TOKEN)") from e
        except hf_errors.RevisionNotFoundError as e:
            raise err(f"'{at}': the repository has no revision '{rev}'") from e
        except hf_errors.LocalEntryNotFoundError as e:
            raise err(f"'{at}' is not cached and the Hub cannot be reached; connect, or fetch it elsewhere "
                      f"and copy the cache ({cache})") from e
        except (hf_errors.HfHubHTTPError, OSError) as e:
            first = (str(e).splitlines() or [""])[0][:160]
            raise err(f"'{at}': fetching from the Hub failed ({type(e).__name__}: {first})") from e
    return path


def _quiet_hub_bars() -> None:
    """huggingface_hub's download bars only on a terminal (the CLI's rule for dependencies' bars)."""
    import sys

    if not sys.stderr.isatty():
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
