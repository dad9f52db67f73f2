"""Causal language models: loading (HF directory, GGUF, short names) and scoring in bits per byte.

Importing this package does not import torch; the functions that need it import it when called.
"""

from toksmith.lm.loading import LM as LM
from toksmith.lm.loading import MODEL_SHORT_NAMES as MODEL_SHORT_NAMES
from toksmith.lm.loading import lm_from_model as lm_from_model
from toksmith.lm.loading import load_lm as load_lm
from toksmith.lm.scoring import FileScore as FileScore
from toksmith.lm.scoring import ModelScore as ModelScore
from toksmith.lm.scoring import score_bits_per_byte as score_bits_per_byte
from toksmith.lm.scoring import score_text as score_text

__all__ = ["FileScore", "LM", "MODEL_SHORT_NAMES", "ModelScore", "lm_from_model", "load_lm",
           "score_bits_per_byte", "score_text"]
