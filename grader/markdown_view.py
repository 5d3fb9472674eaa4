"""Student Markdown (a report section) rendered for the TA's pages, safely.

Student Markdown is hostile input: it may carry raw HTML (`<script>`, `<img onerror=...>`,
`<iframe>`), `javascript:` links, or images that call out to a server when the TA opens the
page. markdown-it-py renders it with raw HTML off (every tag is shown as text), images off (an
`![..](..)` becomes a plain link: a page opened by a TA fetches nothing),
and its link validation (no `javascript:`, `vbscript:`, `file:`, `data:` links). Links that
remain get rel="nofollow noopener noreferrer". The result is marked safe for Jinja only
after all of that."""
from __future__ import annotations

from functools import lru_cache

import markupsafe

MAX_CHARS = 50_000


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    md.disable("image")

    def link_open(self, tokens, idx, options, env):  # bound to the renderer by add_render_rule
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return self.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def render_markdown(text: str | None) -> markupsafe.Markup:
    """HTML for `text` (Markdown), sanitised as described above; empty for no text."""
    if not text:
        return markupsafe.Markup("")
    return markupsafe.Markup(_parser().render(str(text)[:MAX_CHARS]))
