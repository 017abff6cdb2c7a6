"""Reading InfluxQL text the way the checks need: which columns a SELECT gives, its GROUP BY tags, regex literals.

Not a parser of the whole language: enough for the queries dashboards hold (SELECT ... FROM, subqueries in
parentheses, quoted identifiers, string and regex literals), and it says nothing rather than guess when a
column's name is not written in the query.
"""

from __future__ import annotations

import re

# Grafana's escapeRegex (@grafana/data): these characters get a backslash, '/' included, so that a value
# can sit inside an InfluxQL /regex/ literal.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
# A regex literal after =~ or !~, as the InfluxDB data source finds them (datasource.ts, interpolateQueryExpr).
REGEX_LITERAL = re.compile(
    r"(\s*(=|!)~\s*)/((?![*+?])(?:[^\r\n\[/\\]|\\.|\[(?:[^\r\n\]\\]|\\.)*\])+)/"
    r"((?:g(?:im?|mi?)?|i(?:gm?|mg?)?|m(?:gi?|ig?)?)?)")
_ALIAS = re.compile(r'\s+AS\s+(?:"((?:[^"\\]|\\.)+)"|(\w+))\s*$', re.IGNORECASE)
_IDENTIFIER = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)+)"|([A-Za-z_]\w*))(?:::\w+)?\s*$')
_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\s*\(")
_GROUP_END = re.compile(r"\b(fill|order|limit|slimit|offset|soffset|tz)\b", re.IGNORECASE)


def escape_regex(value: str) -> str:
    """``Gustavo A. Madero`` -> ``Gustavo A\\. Madero``: a literal inside a regex, as Grafana escapes it."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def _top_level(query: str) -> list[tuple[int, str]]:
    """(position, character) of every character outside parentheses, quotes and regex literals."""
    out: list[tuple[int, str]] = []
    depth = 0
    quote: str | None = None
    i = 0
    previous = ""  # the last non-space character outside quotes: a '/' after '~' opens a regex
    while i < len(query):
        ch = query[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in "\"'" or (ch == "/" and previous == "~"):
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append((i, ch))
        if not ch.isspace():
            previous = ch
        i += 1
    return out


def _top_level_text(query: str) -> tuple[str, list[int]]:
    """The top-level characters with everything nested blanked out, and a map back to positions."""
    kept = _top_level(query)
    text = "".join(ch for _, ch in kept)
    return text, [pos for pos, _ in kept]


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for pos, ch in _top_level(text):
        if ch == ",":
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def field_list(query: str) -> str | None:
    """The text between the outer SELECT and its FROM, or None when the query is not a SELECT."""
    stripped = query.lstrip()
    if stripped[:6].upper() != "SELECT":
        return None
    text, positions = _top_level_text(stripped)
    match = re.search(r"\bFROM\b", text, re.IGNORECASE)
    if match is None:
        return None
    return stripped[6:positions[match.start()]].strip()


def select_columns(query: str) -> tuple[str, ...]:
    """The columns a SELECT's result has besides time, in order: ``AS`` aliases, bare fields, function names.

    ``SELECT last("up") AS "up", "rtt_ms", count(x) FROM ...`` -> ``("up", "rtt_ms", "count")``. An
    expression with no alias (``a + b``) is left out: InfluxDB names it, the query does not.
    """
    fields = field_list(query)
    if fields is None:
        return ()
    names: list[str] = []
    for item in _split_top_level(fields):
        alias = _ALIAS.search(item)
        if alias:
            names.append(alias.group(1) or alias.group(2))
            continue
        bare = _IDENTIFIER.match(item)
        if bare:
            names.append(bare.group(1) or bare.group(2))
            continue
        call = _CALL.match(item)
        if call and _top_level_text(item)[0].strip() == call.group(1):  # one call, nothing around it
            names.append(call.group(1).lower())
    return tuple(names)


def group_by_tags(query: str) -> tuple[str, ...]:
    """The tag keys of the outer GROUP BY (time(...) and fill(...) left out): a table's extra columns."""
    stripped = query.strip()
    text, positions = _top_level_text(stripped)
    match = re.search(r"\bGROUP\s+BY\b", text, re.IGNORECASE)
    if match is None:
        return ()
    start = positions[match.end() - 1] + 1
    clause = stripped[start:]
    end = _GROUP_END.search(_top_level_text(clause)[0])
    if end is not None:
        clause = clause[:_top_level_text(clause)[1][end.start()]]
    tags = []
    for item in _split_top_level(clause):
        bare = _IDENTIFIER.match(item)
        if bare:
            tags.append(bare.group(1) or bare.group(2))
    return tuple(tags)


def regex_literals(query: str) -> list[str]:
    """The bodies of the /regex/ literals compared with =~ or !~."""
    return [m.group(3) for m in REGEX_LITERAL.finditer(query)]
