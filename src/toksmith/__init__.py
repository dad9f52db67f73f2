"""toksmith: measure, build, swap and bridge the tokenizers of language models.

This module is the public API; everything a user may import is re-exported here explicitly.
Importing toksmith never imports torch or transformers: the model features load them when used.
"""

from toksmith.bridge import ByteEnsemble as ByteEnsemble
from toksmith.bridge import ByteLM as ByteLM
from toksmith.bridge import generate_bytes as generate_bytes
from toksmith.bridge import score_bytes as score_bytes
from toksmith.corpus import Document as Document
from toksmith.corpus import read_corpus as read_corpus
from toksmith.corpus import read_parallel as read_parallel
from toksmith.decoding import AdjacencyMatrix as AdjacencyMatrix
from toksmith.decoding import generate as generate_tokens  # noqa: F401  (public: token-level, beside generate_bytes)
from toksmith.errors import CorpusError as CorpusError
from toksmith.errors import MissingDependencyError as MissingDependencyError
from toksmith.errors import ModelLoadError as ModelLoadError
from toksmith.errors import TokenizerLoadError as TokenizerLoadError
from toksmith.errors import ToksmithError as ToksmithError
from toksmith.errors import TrainingError as TrainingError
from toksmith.evaluate import EvalResults as EvalResults
from toksmith.evaluate import evaluate as evaluate
from toksmith.lm import load_lm as load_lm
from toksmith.lm import score_bits_per_byte as score_bits_per_byte
from toksmith.tokenizers import Tokenizer as Tokenizer
from toksmith.tokenizers import load_tokenizer as load_tokenizer
from toksmith.train import train_bpe as train_bpe
from toksmith.transplant import TransplantResult as TransplantResult
from toksmith.transplant import transplant as transplant
from toksmith.vocab import Role as Role
from toksmith.vocab import TokenKind as TokenKind
from toksmith.vocab import Vocab as Vocab

__version__ = "0.1.0"
