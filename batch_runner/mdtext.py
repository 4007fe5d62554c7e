"""Text from the input or the API, made safe inside Markdown: free text and ids as code spans."""

from __future__ import annotations

import re

#: Characters that format Markdown text mid-line; "_" inside a word (PAYMENT_DECLINED) is literal.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def md(text: str) -> str:
    """Free text in Markdown: one line, with the characters that would format it escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def code(text: str | None) -> str:
    """An id as a code span: literal in any renderer, safe inside a table cell."""
    flat = " ".join((text or "(none)").split()).replace("|", "\\|")
    fence = "``" if "`" in flat else "`"
    return f"{fence} {flat} {fence}" if fence == "``" else f"`{flat}`"
