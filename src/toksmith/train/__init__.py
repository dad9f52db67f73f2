"""Build tokenizers: byte-level BPE (presets, number modes, SuperBPE, extend, nested sizes) and Unigram."""

from toksmith.train.api import DEFAULT_SPECIALS as DEFAULT_SPECIALS
from toksmith.train.api import TrainReport as TrainReport
from toksmith.train.api import train as train
from toksmith.train.api import train_bpe as train_bpe
from toksmith.train.counting import TrainProgress as TrainProgress
from toksmith.train.counting import count_pretokens as count_pretokens
from toksmith.train.model import TrainedBPE as TrainedBPE
from toksmith.train.pretokenize import NUMBER_MODES as NUMBER_MODES
from toksmith.train.pretokenize import PRESETS as PRESETS
from toksmith.train.pretokenize import Pretokenizer as Pretokenizer
from toksmith.train.unigram import train_unigram as train_unigram
