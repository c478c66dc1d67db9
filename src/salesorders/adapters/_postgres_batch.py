"""The writes a PostgreSQL transaction holds back, sent as one statement where that is safe.

A placed order's number is taken with the commit (see :mod:`._postgres_numbers`): the writes
that follow it are held back on the client and sent with ``COMMIT``. Sent one by one, each costs
the driver's work of a statement (about as much client time as a tenth of the order's domain
work) and the server's: the number, the order, its line facts, its outbox messages and the
idempotency record would be five statements. Writes sent before the number (the stock's) go out
at once, so the server works on them while the client builds the order.

:func:`batches` cuts the held writes into runs that can be one statement, and :func:`joined`
writes a run as one: each write becomes a data-modifying ``WITH`` query of the statement (its own
``WITH`` queries moved to the statement's list, its parameters renumbered), and the statement
counts the rows each one returns, in the order they came, so they run in that order and an error
is the one the first failing write would have raised alone. All of a statement's ``WITH``
queries see one snapshot, so none sees what another writes; writes are joined only where that
cannot change what they do:

* each one names tables (read or written) that no other write of the run names;
* each one's main part is an ``INSERT``, ``UPDATE`` or ``DELETE`` (or it takes an order number);
* their ``WITH`` queries have different names, and none takes a name of this module's;
* at most one of them takes an order number: its ``WITH`` query is the number, and the run's
  writes that quote its placeholder read it from there (a setting made by a statement is not
  seen by ``current_setting`` in that same statement); the statement returns the number;
* the run stays well under PostgreSQL's 65,535 parameters of one statement;
* the statement is plain: quoted text and names only (no comments, no dollar quoting).

Anything else is sent as it came, in its place: the order of the writes never changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from salesorders.adapters._postgres_numbers import _PARAMETER, NUMBER_QUERY, Held, LateNumbers

__all__ = ["Shape", "batches", "joined", "send_held", "shape_of"]

_RESERVED: Final = "batch_"
#: Parameters of one joined statement at most (PostgreSQL takes 65,535).
MAX_PARAMETERS: Final = 30_000
_KEPT: Final = 512

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE: Final = re.compile(r"\s*")
#: A dollar sign that starts no parameter: dollar quoting.
_DOLLAR_QUOTE: Final = re.compile(r"\$(?!\d)")
#: Text just before a quote that would make it an escape string or the like.
_PREFIXED: Final = re.compile(r"[A-Za-z0-9_&]\Z")
_RETURNING: Final = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_WRITE: Final = re.compile(r"(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
#: A schema-qualified table: ``"schema".name`` (every table the store names is qualified).
_TABLE: Final = re.compile(r'"((?:[^"]|"")+)"\.([A-Za-z_][A-Za-z0-9_]*)')


class Shape:
    """A statement taken apart: its ``WITH`` queries, its main part, the tables it names."""

    __slots__ = ("main", "names", "queries", "tables", "writes")

    def __init__(
        self, queries: tuple[str, ...], names: frozenset[str], main: str, tables: frozenset[str]
    ) -> None:
        self.queries = queries
        self.names = names
        self.main = main
        self.tables = tables
        self.writes = _WRITE.match(main) is not None


_SHAPES: dict[str, Shape | None] = {}


def shape_of(sql: str) -> Shape | None:
    """``sql`` taken apart, or ``None`` when it cannot be joined with others."""
    if sql in _SHAPES:
        return _SHAPES[sql]
    shape = _parse(sql)
    if len(_SHAPES) >= _KEPT:
        _SHAPES.clear()
    _SHAPES[sql] = shape
    return shape


def _parse(sql: str) -> Shape | None:
    if not _plain(sql):
        return None
    try:
        return _taken_apart(sql.strip())
    except ValueError:  # unbalanced parentheses: the server will say what is wrong
        return None


def _taken_apart(text: str) -> Shape | None:
    queries: list[str] = []
    names: set[str] = set()
    at = 0
    if text[:4].upper() == "WITH" and not _NAME.match(text, 4):
        at = 4
        while True:
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            name = _NAME.match(text, at)
            if name is None or name.group().upper() == "RECURSIVE":
                return None
            start, at = at, name.end()
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text.startswith("(", at):  # its column names
                at = _SPACE.match(text, _closing(text, at)).end()  # type: ignore[union-attr]
            word = _NAME.match(text, at)
            if word is None or word.group().upper() != "AS":
                return None
            at = _SPACE.match(text, word.end()).end()  # type: ignore[union-attr]
            if not text.startswith("(", at):
                return None  # [NOT] MATERIALIZED: not written by the store
            at = _closing(text, at)
            queries.append(text[start:at])
            names.add(name.group().lower())
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if not text.startswith(",", at):
                break
            at += 1
    main = text[at:]
    if any(name.startswith(_RESERVED) for name in names):
        return None
    tables = frozenset(f"{schema}.{table}".lower() for schema, table in _TABLE.findall(text))
    return Shape(tuple(queries), frozenset(names), main, tables)


def _plain(sql: str) -> bool:
    """No comment and no dollar quoting outside quotes, no quote with a prefix (``E'...'``,
    ``U&"..."``: their escapes are not read here), every quote closed."""
    before = ""
    for outside, segment in _segments(sql):
        if outside is None:
            return False
        if outside:
            if "--" in segment or "/*" in segment or _DOLLAR_QUOTE.search(segment):
                return False
        elif _PREFIXED.search(before):
            return False
        before = segment
    return True


def _quote_end(text: str, quote: int) -> int:
    """The index just past the quote that closes the one at ``quote`` (a doubled quote is part
    of the quoted text); -1 if none does."""
    mark = text[quote]
    end = quote + 1
    while True:
        end = text.find(mark, end)
        if end < 0:
            return -1
        if not text.startswith(mark * 2, end):
            return end + 1
        end += 2


def _segments(sql: str) -> list[tuple[bool | None, str]]:
    """``sql`` cut into text outside quotes (``True``) and quoted text (``False``); an unclosed
    quote is ``None``."""
    parts: list[tuple[bool | None, str]] = []
    at = 0
    size = len(sql)
    while at < size:
        quote = min((i for i in (sql.find("'", at), sql.find('"', at)) if i >= 0), default=-1)
        if quote < 0:
            parts.append((True, sql[at:]))
            break
        if quote > at:
            parts.append((True, sql[at:quote]))
        end = _quote_end(sql, quote)
        if end < 0:
            parts.append((None, sql[quote:]))
            break
        parts.append((False, sql[quote:end]))
        at = end
    return parts


def _closing(text: str, at: int) -> int:
    """The index just past the parenthesis that closes the one at ``at`` (quotes skipped)."""
    depth = 0
    index = at
    size = len(text)
    while index < size:
        char = text[index]
        if char in "'\"":
            index = _quote_end(text, index)  # closed: _plain let only such texts through
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError("unbalanced parentheses")


def batches(held: Sequence[Held]) -> list[list[Held]]:
    """``held`` cut, in order, into runs that can each be one statement (see the module)."""
    runs: list[list[Held]] = []
    run: list[Held] = []
    tables: set[str] = set()
    names: set[str] = set()
    taken = False
    count = 0
    for item in held:
        sql, params, placeholder = item
        shape = shape_of(sql)
        if shape is None or not (shape.writes or placeholder is not None) or not shape.tables:
            if run:
                runs.append(run)
            runs.append([item])
            run, tables, names, taken, count = [], set(), set(), False, 0
            continue
        size = len(params)
        if run and (
            not tables.isdisjoint(shape.tables)
            or not names.isdisjoint(shape.names)
            or (taken and placeholder is not None)
            or count + size > MAX_PARAMETERS
        ):
            runs.append(run)
            run, tables, names, taken, count = [], set(), set(), False, 0
        run.append(item)
        tables |= shape.tables
        names |= shape.names
        taken = taken or placeholder is not None
        count += size
    if run:
        runs.append(run)
    return runs


_JOINED: dict[tuple[tuple[str, int, bool], ...], str] = {}


def joined(statements: Sequence[tuple[str, Sequence[Any], bool]]) -> tuple[str, list[Any]]:
    """One statement doing what ``statements`` (text, parameters, takes a number) do in turn,
    with their parameters in one list. A run from :func:`batches`, numbered: the writes quoting
    the run's number read it from :data:`NUMBER_QUERY`. It returns one row: the number first
    when the run takes one, then how many rows each write wrote."""
    key = tuple((sql, len(params), takes) for sql, params, takes in statements)
    text = _JOINED.get(key)
    if text is None:
        text = _join(key)
        if len(_JOINED) >= _KEPT:
            _JOINED.clear()
        _JOINED[key] = text
    values: list[Any] = []
    for _, params, _ in statements:
        values.extend(params)
    return text, values


def _join(key: tuple[tuple[str, int, bool], ...]) -> str:
    """The joined text. Each write returns its rows and the statement counts them, in the order
    the writes came: the ``WITH`` queries then run in that order (each when its count is read),
    so an error is the one the writes sent one by one would raise first (an order whose id is
    taken: the order's conflict, not its outbox message's)."""
    parts: list[str] = []
    reads: list[str] = []
    offset = 0
    for index, (sql, size, take) in enumerate(key, 1):
        shape = shape_of(sql)
        if shape is None:  # pragma: no cover - batches() joins only statements it took apart
            raise ValueError(f"cannot join statement {index}")
        parts.extend(_shifted(query, offset) for query in shape.queries)
        main = _shifted(shape.main, offset)
        if take:
            parts.append(f"{NUMBER_QUERY} AS ({main})")
            reads.insert(0, f"(SELECT number FROM {NUMBER_QUERY}) AS number")
        else:
            name = f"{_RESERVED}{index}"
            if not any(outside and _RETURNING.search(part) for outside, part in _segments(main)):
                main += " RETURNING 1"
            parts.append(f"{name} AS ({main})")
            reads.append(f"(SELECT count(*) FROM {name})")
        offset += size
    return "WITH " + ", ".join(parts) + " SELECT " + ", ".join(reads)


def _shifted(sql: str, offset: int) -> str:
    """``sql`` with every parameter ``$n`` outside quotes renumbered ``$(n + offset)``."""
    if not offset:
        return sql
    return "".join(
        _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", segment) if outside else segment
        for outside, segment in _segments(sql)
    )


def send_held(
    late: LateNumbers,
    send: Callable[[str, Sequence[Any]], object],
    answer: Callable[[str, Sequence[Any]], object],
) -> None:
    """Send the statements ``late`` holds back (then none) in as few statements as
    :func:`batches` allows, numbered: ``send`` a statement whose answer is not needed, ``answer``
    one that takes a number (the driver's cursor it returns is kept in ``late.answers``)."""
    held = late.held
    if not held:
        return
    runs = batches(held)
    held.clear()
    for run in runs:
        take = next((placeholder for _, _, placeholder in run if placeholder is not None), None)
        local = take if len(run) > 1 else None
        statements: list[tuple[str, Sequence[Any], bool]] = []
        for sql, params, placeholder in run:
            if placeholder is None:
                sql, params = late.numbered(sql, params, local)
            statements.append((sql, params, placeholder is not None))
        if len(statements) == 1:
            sql, params = statements[0][0], statements[0][1]
        else:
            sql, params = joined(statements)
        if take is None:
            send(sql, params)
        else:
            late.answers[take] = answer(sql, params)
