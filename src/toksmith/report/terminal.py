"""Terminal views (rich renderables): token boundaries of several tokenizers on the same text."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from toksmith.report.boundaries import segment_tokens, token_bytes
from toksmith.tokenizers.base import Tokenizer

__all__ = ["render_inspect"]

# Fixed foreground and background from the 16 standard colours: they stay distinct on light and dark
# themes and when rich downgrades colours for a basic terminal (two pastel truecolours collapse into one).
_TOKEN_STYLES = ("black on bright_cyan", "black on bright_yellow")
_PARTIAL_STYLE = "bold bright_white on red"
_ID_STYLE = "blue"
_NAME_COLORS = ("blue", "yellow", "green", "magenta", "red", "cyan")


def _show_text(s: str) -> str:
    return s.replace("\n", "↵\n").replace("\t", "→").replace("\r", "␍")


def render_inspect(
    tokenizers: Sequence[Tokenizer], text: str, *, show_ids: bool = False, separator: str | None = None
) -> RenderableType:
    """Each tokenizer's tokens of `text`, one tokenizer under the other, in alternating colours.

    Each block starts with the tokenizer's name, its token count and bytes per token (UTF-8 bytes of
    `text` over tokens; no BOS/EOS). Bytes of a character that is split across tokens are printed as
    hex (`‹e4 b8›`) in the token that holds them; with `show_ids` every token is followed by its id.
    `separator` goes between tokens, for output that loses colour (a pipe, a file): `"│"` for example.
    """
    n_bytes = len(text.encode("utf-8"))
    blocks: list[RenderableType] = []
    for ti, tok in enumerate(tokenizers):
        ids = tok.encode(text)
        data = token_bytes(tok, ids)
        head = Text()
        head.append(tok.name, style=f"bold {_NAME_COLORS[ti % len(_NAME_COLORS)]}")
        bpt = f"{n_bytes / len(ids):.2f}" if ids else "–"
        head.append(
            f"  {len(ids)} tokens · {bpt} bytes/token · {tok.vocab.family}, |V|={tok.vocab.size}", style="dim"
        )
        body = Text()
        for k, (tid, segs) in enumerate(zip(ids, segment_tokens(data), strict=True)):
            style = _TOKEN_STYLES[k % 2]
            if separator and k:
                body.append(separator, style="dim")
            if not segs:
                body.append("∅", style=style)
            for sg in segs:
                if sg.partial:
                    body.append(f"‹{sg.hex}›", style=_PARTIAL_STYLE)
                else:
                    body.append(_show_text(sg.text or ""), style=style)
            if show_ids and separator:
                body.append(f"[{tid}]", style=_ID_STYLE)
            elif show_ids:
                body.append(f"{tid}", style=f"{_ID_STYLE} on {style.split(' on ')[1]}")
                body.append(" ")
        blocks += [head, body, Text()]
    return Group(*blocks[:-1])
