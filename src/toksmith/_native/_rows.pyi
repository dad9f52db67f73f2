"""Type stub of the compiled few-row linear kernel (`rows.cpp`; built by setup.py, loaded by `load_rows`)."""

MAX_ROWS: int

def isa() -> str:
    """The widest kernel this CPU runs: 'avx512', 'avx2' or 'portable'."""

def openmp_library() -> str:
    """The file of the OpenMP runtime the kernel's threads come from ('' where it was built without OpenMP)."""

def linear(
    x: int,
    weight: int,
    bias: int,
    out: int,
    rows: int,
    in_features: int,
    out_features: int,
    threads: int,
    kernel: str,
) -> None:
    """out = x @ weight.T (+ bias) for 1 to 8 rows on `threads` threads; float32 C-contiguous buffers by address
    (unchecked; bias 0: none). toksmith.lm.skinny checks what it passes."""
