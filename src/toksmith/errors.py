"""One error type per kind of user mistake; each message is one line naming the file, field or offset.

The CLI maps every `ToksmithError` to exit code 2 and prints the message without a traceback.
"""

from __future__ import annotations


class ToksmithError(Exception):
    """Base class of every error toksmith raises for bad input or a missing resource."""


class TokenizerLoadError(ToksmithError):
    """A tokenizer spec could not be resolved or its files are unreadable or corrupt."""


class CorpusError(ToksmithError):
    """A corpus path is missing, empty, of an unknown format, or not valid UTF-8."""


class ModelLoadError(ToksmithError):
    """A language model could not be loaded (unknown name, corrupt file, unsupported architecture)."""


class MissingDependencyError(ToksmithError):
    """An optional dependency needed by this feature is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None) -> None:
        hint = f"pip install 'toksmith[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the optional package '{package}', which is not installed; run: {hint}")
        self.package = package


class OptionError(ToksmithError):
    """An option or argument has a value outside what it accepts (the message names both)."""


class TrainingError(ToksmithError):
    """Invalid training options (vocabulary size, presets, output directory)."""


class VocabMismatchError(ToksmithError):
    """Two vocabularies or a model and a tokenizer do not fit together."""


class ZeroProbabilityError(ToksmithError):
    """A byte the model gives probability 0 after a prefix (no canonical token sequence spells it)."""

    def __init__(self, at_byte: int, byte: int, model: str) -> None:
        super().__init__(f"{model} gives byte {at_byte:,} ({byte:#04x}) of this text probability 0: no canonical "
                         "token sequence spells the text up to it")
        self.at_byte, self.byte = at_byte, byte


class TokenPathLimitError(ToksmithError):
    """Exact byte-level scoring would need more token paths per byte than `defaults.BYTE_LEVEL_MAX_PATHS_PER_BYTE`."""

    def __init__(self, paths: int, at_byte: int, model: str) -> None:
        super().__init__(
            f"byte-level scoring with {model} needs {paths:,} token paths by byte {at_byte:,} of this text "
            "(far more ways to tokenize it than text normally has); score it token-level or cap the bytes with "
            "--ensemble-bytes")
        self.paths, self.at_byte = paths, at_byte
