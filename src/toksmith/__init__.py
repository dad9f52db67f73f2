"""toksmith: measure, build, swap and bridge the tokenizers of language models.

This module is the public API; everything a user may import is re-exported here explicitly.
"""

from toksmith.errors import (
    CorpusError as CorpusError,
)
from toksmith.errors import (
    MissingDependencyError as MissingDependencyError,
)
from toksmith.errors import (
    ModelLoadError as ModelLoadError,
)
from toksmith.errors import (
    TokenizerLoadError as TokenizerLoadError,
)
from toksmith.errors import (
    ToksmithError as ToksmithError,
)
from toksmith.tokenizers import Tokenizer as Tokenizer
from toksmith.tokenizers import load_tokenizer as load_tokenizer
from toksmith.vocab import Role as Role
from toksmith.vocab import TokenKind as TokenKind
from toksmith.vocab import Vocab as Vocab

__version__ = "0.1.0"
