"""Swap: give a pretrained model a new tokenizer without training, and measure it in bits per byte.

Importing this package does not import torch; `transplant` imports it when called.
"""

from toksmith.transplant.api import DEFAULT_METHOD as DEFAULT_METHOD
from toksmith.transplant.api import DEFAULT_OUTPUT_DECAY as DEFAULT_OUTPUT_DECAY
from toksmith.transplant.api import DEFAULT_OUTPUT_SHARE as DEFAULT_OUTPUT_SHARE
from toksmith.transplant.api import METHODS as METHODS
from toksmith.transplant.api import TransplantResult as TransplantResult
from toksmith.transplant.api import transplant as transplant
from toksmith.transplant.matching import TransplantError as TransplantError

__all__ = ["DEFAULT_METHOD", "DEFAULT_OUTPUT_DECAY", "DEFAULT_OUTPUT_SHARE", "METHODS", "TransplantError",
           "TransplantResult", "transplant"]
