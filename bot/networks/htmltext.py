"""HTML fragments from feeds and Mastodon statuses → plain text, with the standard library's
tokenizer (`html.parser`), never with regular expressions over markup.

Block elements and `<br>` become line breaks, everything else is reduced to its text, character
references are decoded, `<script>`/`<style>` are dropped. Mastodon's h-card mentions
(`<span class="h-card"><a …>@<span>user</span></a></span>`) come out as `@user` by themselves,
and its shortened links (`<span class="invisible">https://</span>…`) come out whole.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset({"p", "div", "li", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4",
                    "h5", "h6", "tr", "table", "section", "article", "header", "footer", "figure",
                    "figcaption", "dd", "dt", "dl", "hr"})
_SKIP = frozenset({"script", "style", "template", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")  # over text, not markup
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Newlines inside text are layout in HTML; only tags make line breaks.
            self.parts.append(data.replace("\r", " ").replace("\n", " "))


def html_to_text(fragment: str | None, *, keep_lines: bool = True) -> str:
    """Plain text of an HTML fragment. `keep_lines=False` folds everything onto one line."""
    if not fragment:
        return ""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    if not keep_lines:
        return " ".join(line for line in lines if line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
