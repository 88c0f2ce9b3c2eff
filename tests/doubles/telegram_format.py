"""Bot API `parse_mode` handling: formatted text to plain text plus entities.

The real server rejects badly formatted text with 400 "can't parse entities"; an unescaped
`<` in HTML or `.` in MarkdownV2 is a classic production failure, so the double rejects
it the same way instead of echoing the text back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")
_HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough"}
_MD2_MARKERS["||"] = "spoiler"


class EntityParseError(ValueError):
    """Raised with the server's description after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Telegram measures offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Builder:
    source: str
    text: list[str] = field(default_factory=list)
    entities: list[JSONDict] = field(default_factory=list)
    _length: int = 0

    def put(self, chunk: str) -> None:
        self.text.append(chunk)
        self._length += utf16_len(chunk)

    @property
    def offset(self) -> int:
        return self._length

    def close(self, kind: str, start: int, **extra: str) -> None:
        if self._length > start:
            self.entities.append({"type": kind, "offset": start, "length": self._length - start})
            self.entities[-1].update(extra)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def result(self) -> tuple[str, list[JSONDict]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.text), self.entities


def parse(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Return (plain text, entities) as the server would store the message."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown_legacy(text)
    raise EntityParseError(f'Unsupported parse_mode "{parse_mode}"')


def _parse_html(source: str) -> tuple[str, list[JSONDict]]:
    out = _Builder(source)
    stack: list[tuple[str, int, dict[str, str]]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "&":
            match = _ENTITY_RE.match(source, i)
            if match and (decoded := _decode_entity(match.group(1))) is not None:
                out.put(decoded)
                i = match.end()
                continue
            out.put(char)
        elif char == "<":
            end = source.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {out.byte_offset(i)}")
            _html_tag(out, stack, source[i + 1 : end], i)
            i = end
        else:
            out.put(char)
        i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_tag(
    out: _Builder, stack: list[tuple[str, int, dict[str, str]]], body: str, at: int
) -> None:
    if body.startswith("/"):
        name = body[1:].strip().lower()
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {out.byte_offset(at)}")
        open_name, start, extra = stack.pop()
        if name != open_name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {out.byte_offset(at)},"
                f' expected "</{open_name}>", found "</{name}>"'
            )
        out.close(_HTML_TAGS[open_name], start, **extra)
        return
    name = body.split(maxsplit=1)[0].lower() if body.strip() else ""
    if name not in _HTML_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{name}" at byte offset {out.byte_offset(at)}'
        )
    attributes: dict[str, str] = {}
    if name == "a":
        href = _HREF_RE.search(body)
        attributes["url"] = next(g for g in href.groups() if g is not None) if href else ""
    stack.append((name, out.offset, attributes))


def _decode_entity(name: str) -> str | None:
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _NAMED_ENTITIES.get(name)


def _parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    out = _Builder(source)
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            if i + 1 >= len(source):
                raise EntityParseError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            out.put(source[i + 1])
            i += 2
            continue
        if char == "`":
            i = _md2_code(out, source, i)
            continue
        marker = source[i : i + 2] if source[i : i + 2] in ("__", "||") else char
        if marker in _MD2_MARKERS:
            if stack and stack[-1][0] == marker:
                _, start = stack.pop()
                out.close(_MD2_MARKERS[marker], start)
            else:
                stack.append((marker, out.offset))
            i += len(marker)
            continue
        if char == "[":
            stack.append(("[", out.offset))
        elif char == "]" and stack and stack[-1][0] == "[" and source[i + 1 : i + 2] == "(":
            _, start = stack.pop()
            close = source.find(")", i + 2)
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of a url at byte offset {out.byte_offset(i)}"
                )
            out.close("text_link", start, url=source[i + 2 : close].replace("\\", ""))
            i = close
        elif char == ">" and (i == 0 or source[i - 1] == "\n"):
            pass  # blockquote marker; the quote entity itself is not modelled
        elif char in _MD2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.put(char)
        i += 1
    if stack:
        kind = _MD2_MARKERS.get(stack[-1][0], "TextUrl")
        raise EntityParseError(
            f"Can't find end of {kind.title()} entity at byte offset {out.byte_offset(len(source))}"
        )
    return out.result()


def _md2_code(out: _Builder, source: str, i: int) -> int:
    fence = "```" if source.startswith("```", i) else "`"
    end = source.find(fence, i + len(fence))
    while end > 0 and source[end - 1] == "\\":
        end = source.find(fence, end + 1)
    if end < 0:
        kind = "Pre" if fence == "```" else "Code"
        raise EntityParseError(
            f"Can't find end of {kind} entity at byte offset {out.byte_offset(i)}"
        )
    body = source[i + len(fence) : end]
    extra: dict[str, str] = {}
    if fence == "```" and "\n" in body:
        language, body = body.split("\n", 1)
        if language:
            extra["language"] = language
    start = out.offset
    out.put(re.sub(r"\\([`\\])", r"\1", body))
    out.close("pre" if fence == "```" else "code", start, **extra)
    return end + len(fence)


def _parse_markdown_legacy(source: str) -> tuple[str, list[JSONDict]]:
    out = _Builder(source)
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    i = 0
    while i < len(source):
        char = source[i]
        if char in kinds:
            end = source.find(char, i + 1)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {out.byte_offset(i)}"
                )
            start = out.offset
            out.put(source[i + 1 : end])
            out.close(kinds[char], start)
            i = end + 1
            continue
        out.put(char)
        i += 1
    return out.result()
