"""Bridge: exact byte-level probabilities from tokenized LMs, ensembles across tokenizers, generation.

Needs the `lm` extra (torch) at call time; importing this package does not import torch.
"""

from toksmith.bridge.bytelm import EOT as EOT
from toksmith.bridge.bytelm import ByteDistribution as ByteDistribution
from toksmith.bridge.bytelm import ByteLM as ByteLM
from toksmith.bridge.bytelm import ByteState as ByteState
from toksmith.bridge.canonical import Canonicality as Canonicality
from toksmith.bridge.ensemble import ByteEnsemble as ByteEnsemble
from toksmith.bridge.generate import ByteScore as ByteScore
from toksmith.bridge.generate import generate_bytes as generate_bytes
from toksmith.bridge.generate import score_bytes as score_bytes

__all__ = ["EOT", "ByteDistribution", "ByteEnsemble", "ByteLM", "ByteScore", "ByteState", "Canonicality",
           "generate_bytes", "score_bytes"]
