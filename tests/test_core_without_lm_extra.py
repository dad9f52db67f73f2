"""The core (tokenizers, corpora, eval, train) works without the `[lm]` extra's packages.

transformers, safetensors, gguf, torch and accelerate belong to `toksmith[lm]`. A real interpreter is
started with an import hook that refuses them, and runs the core end to end on real tokenizers.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKED = ("transformers", "safetensors", "gguf", "torch", "accelerate")

SCRIPT = textwrap.dedent(
    """
    import sys, importlib.abc, tempfile, pathlib

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the core must not need it")
            return None

    sys.meta_path.insert(0, Refuse())
    import toksmith
    from toksmith.cli import app  # the whole CLI imports without them too

    text = "Tokenization decides cost, fairness across languages and arithmetic: 1234567.\\n" * 50
    d = pathlib.Path(tempfile.mkdtemp())
    (d / "c.txt").write_text(text, encoding="utf-8")
    for spec in ("smollm2", "gemma3", "cl100k"):
        tok = toksmith.load_tokenizer(spec)
        assert tok.decode(tok.encode(text)) == text, spec
    res = toksmith.evaluate(["smollm2"], toksmith.read_corpus(d / "c.txt"), metrics=["compression", "fertility"])
    assert res.results["smollm2"]["bytes_per_token"].value > 1
    from toksmith.train import train
    train(d / "c.txt", d / "tok", vocab_size=300)
    assert (d / "tok" / "tokenizer.json").is_file()
    assert not any(m.split(".")[0] in BLOCKED for m in sys.modules), sorted(sys.modules)
    print("ok")
    """
)


def test_core_runs_with_the_lm_extra_blocked() -> None:
    code = f"BLOCKED = {BLOCKED!r}\n" + SCRIPT
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
