"""Type stub of the compiled per-batch reductions of the streamed evaluation pass (`eval.cpp`; built by setup.py)."""

import numpy as np

def round_trip(
    ids: np.ndarray,
    doc_tok: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    buf: np.ndarray,
    text: np.ndarray,
    doc_start: np.ndarray,
    doc_bytes: np.ndarray,
    strip_space: bool,
) -> np.ndarray:
    """Per document (bool): its tokens' bytes end to end equal its UTF-8 bytes (releases the GIL)."""

def count_overlaps(ts: np.ndarray, te: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per span [start, end) (int64): the tokens [ts, te) overlapping it; ts and te sorted."""

def flatten_ids(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(int32 ids end to end, int64 offsets) of a list of lists of ids, as encode_batch returns them."""

def word_spans(
    props: np.ndarray, pairs: np.ndarray, flags: np.ndarray, pict: int, alnum: int, efz: int
) -> tuple[np.ndarray, np.ndarray]:
    """UAX #29 word (start, end) offsets (int64) from per-character property bytes (releases the GIL)."""
