"""The notification templates: :class:`TemplateCatalog`, the library's
:class:`~salesorders.notifications.NoticeRenderer`.

A template is named ``<locale>/<Event>.<channel>.<part>``, e.g.
``de_DE/OrderShipped.email.subject``; the parts are ``subject``, ``text`` and ``html`` (SMS has
``text`` only). The built-ins (zh_CN, en_US, de_DE, ja_JP) ship as one TOML file per locale in
``builtin_templates/``. A host passes its own templates, as a mapping of names to sources or a
directory, and they take precedence, part by part. Every template is checked when it is loaded
and rendered in the sandbox (:mod:`salesorders.notifications.templates_sandbox`).

Locale fallback, per part: the customer's locale (``de_AT``), then its language alone (``de``),
then the other locales of that language in alphabetical order (``de_CH``, ``de_DE``), then the
catalog's default locale (``en_US``). At each step the host's template comes before the built-in.
Money, numbers and dates are formatted in the locale of the text template that was found.
"""

from __future__ import annotations

import functools
import html as html_text
import importlib.resources
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from salesorders.domain.money import get_locale
from salesorders.errors import MissingExtraError, SalesOrdersError, TemplateError
from salesorders.notifications.channel import Notice, Rendered
from salesorders.notifications.contacts import CHANNEL_NAME
from salesorders.notifications.context import CONTEXT_VARIABLES, notice_context

__all__ = ["BUILTIN_LOCALES", "PARTS", "TemplateCatalog"]

#: The locales the library ships templates for.
BUILTIN_LOCALES = ("de_DE", "en_US", "ja_JP", "zh_CN")
#: The parts of a template, in the order they are rendered.
PARTS = ("subject", "text", "html")
_NAME = re.compile(
    r"(?P<locale>[A-Za-z]{2,3}(?:_[A-Za-z0-9]+)*)/(?P<event>[A-Z][A-Za-z0-9]*)"
    r"\.(?P<channel>[a-z][a-z0-9_-]*)\.(?P<part>[a-z]+)"
)
_PLAIN_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
#: (locale, event, channel, part)
_Key = tuple[str, str, str, str]


class TemplateCatalog:
    """Renders notices from templates per (event, channel, locale): the built-ins, overridden by
    the host's ``templates`` (a mapping of names like ``"de_DE/OrderShipped.email.subject"`` to
    Jinja2 sources, or a directory, see :meth:`from_directory`).

    ``default_locale`` is the last step of the fallback and the locale of notices without a
    contact. ``builtins=False`` leaves only the host's templates. Every template is checked here:
    a bad name, bad syntax or an attempt to reach outside the context raises
    :class:`~salesorders.errors.TemplateError` naming it, and the catalog is not built.
    """

    def __init__(
        self,
        templates: Mapping[str, str] | str | os.PathLike[str] | None = None,
        *,
        default_locale: str = "en_US",
        builtins: bool = True,
    ) -> None:
        try:
            get_locale(default_locale)
        except SalesOrdersError:
            raise TemplateError(
                "default_locale", default_locale, "is not a locale babel knows", "e.g. en_US"
            ) from None
        if isinstance(templates, str | os.PathLike):
            templates = _read_directory(Path(templates))
        self.default_locale = default_locale
        self._host = _load(templates or {})
        self._builtin = _builtins() if builtins else {}
        self._locales = sorted({key[0] for key in (*self._host, *self._builtin)})
        self._compiled: dict[tuple[str, bool, str], Any] = {}

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str], **options: Any) -> TemplateCatalog:
        """A catalog overridden by the templates in ``path``: files
        ``<locale>/<Event>.<channel>.<part>.j2`` and/or ``<locale>.toml`` files laid out like the
        built-ins (a table per event, keys ``"<channel>.<part>"``)."""
        return cls(Path(path), **options)

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale some template is written in."""
        return tuple(self._locales)

    def names(self) -> tuple[str, ...]:
        """The names of every template the catalog holds, host's and built-in, sorted."""
        return tuple(sorted({_name(key) for key in (*self._host, *self._builtin)}))

    def fallback(self, locale: str) -> tuple[str, ...]:
        """The locales tried, in order, for a notice in ``locale``."""
        language = locale.split("_")[0]
        chain = [locale, language]
        chain += [known for known in self._locales if known.split("_")[0] == language]
        chain.append(self.default_locale)
        return tuple(dict.fromkeys(chain))

    def render(self, notice: Notice, channel: str) -> Rendered | None:
        """Render ``notice`` for ``channel`` in the contact's locale (the default locale without a
        contact), or ``None`` when no template exists for its event on that channel."""
        wanted = notice.contact.locale if notice.contact else self.default_locale
        chain = self.fallback(wanted)
        text = self._find(notice.event_type, channel, "text", chain)
        if text is None:
            return None
        locale = text[0][0]
        context = notice_context(notice, locale)
        body = self._render(text, context, html=False)
        if channel == "sms":  # babel's no-break spaces would force an SMS out of GSM-7
            body = body.translate(_PLAIN_SPACES)
        subject = ""
        if channel != "sms":
            found = self._find(notice.event_type, channel, "subject", chain)
            if found is None and channel == "email":
                raise TemplateError(
                    _name((locale, notice.event_type, channel, "subject")),
                    None,
                    "is missing",
                    "give every email text a subject",
                )
            if found is not None:
                subject = " ".join(self._render(found, context, html=False).split())
        html = None
        if channel != "sms":
            found = self._find(notice.event_type, channel, "html", chain)
            if found is not None:
                html = self._render(found, context, html=True)
            elif channel == "email":
                html = _as_html(self._render(text, context, html=True), subject, locale)
        return Rendered(subject=subject, text=body, html=html, locale=locale)

    def _find(
        self, event: str, channel: str, part: str, chain: Iterable[str]
    ) -> tuple[_Key, str, str] | None:
        for locale in chain:
            key = (locale, event, channel, part)
            for origin, layer in (("host", self._host), ("builtin", self._builtin)):
                if key in layer:
                    return key, origin, layer[key]
        return None

    def _render(self, found: tuple[_Key, str, str], context: dict[str, Any], html: bool) -> str:
        key, origin, source = found
        name = _name(key)
        cache = (origin, html, name)
        sandbox = _sandbox()
        template = self._compiled.get(cache)
        if template is None:
            template = sandbox.compile_template(name, source, html)
            self._compiled[cache] = template
        return str(sandbox.render_template(name, source, template, context)).strip()


def _sandbox() -> ModuleType:
    """The sandbox module, which needs Jinja2 (the ``email`` or ``sms`` extra)."""
    try:
        from salesorders.notifications import templates_sandbox
    except ImportError as missing:
        raise MissingExtraError.needs("email", "jinja2", "notification templates") from missing
    return templates_sandbox


def _name(key: _Key) -> str:
    locale, event, channel, part = key
    return f"{locale}/{event}.{channel}.{part}"


def _as_html(body: str, subject: str, locale: str) -> str:
    """An HTML document from a text body rendered with autoescape: paragraphs at blank lines."""
    paragraphs = [p.strip() for p in _BLANK_LINES.split(body) if p.strip()]
    inner = "\n".join("<p>" + "<br>\n".join(p.splitlines()) + "</p>" for p in paragraphs)
    lang = locale.replace("_", "-")
    return (
        f'<!DOCTYPE html>\n<html lang="{html_text.escape(lang)}">\n<head><meta charset="utf-8">'
        f"<title>{html_text.escape(subject)}</title></head>\n<body>\n{inner}\n</body>\n</html>"
    )


def _load(templates: Mapping[str, str]) -> dict[_Key, str]:
    """Check every template's name and source; refuse the lot at the first bad one."""
    if not isinstance(templates, Mapping):
        raise TemplateError(
            "templates", templates, "must be a mapping of names to sources or a directory"
        )
    allowed = frozenset(CONTEXT_VARIABLES)
    loaded: dict[_Key, str] = {}
    for name, source in templates.items():
        key = _parse_name(name)
        if not isinstance(source, str):
            raise TemplateError(name, source, "must be a template source (a string)")
        _sandbox().check_template(name, source, allowed)
        loaded[key] = source
    return loaded


def _parse_name(name: object) -> _Key:
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None or not isinstance(name, str):
        raise TemplateError(
            str(name), name, "is not a template name", "write <locale>/<Event>.<channel>.<part>"
        )
    locale, event, channel, part = match.group("locale", "event", "channel", "part")
    try:
        get_locale(locale)
    except SalesOrdersError:
        raise TemplateError(name, locale, "names a locale babel does not know") from None
    if not CHANNEL_NAME.fullmatch(channel):
        raise TemplateError(name, channel, "names a channel that is not a channel name")
    if part not in PARTS:
        raise TemplateError(name, part, "names an unknown part", "use subject, text or html")
    if channel == "sms" and part != "text":
        raise TemplateError(name, part, "is not an SMS part", "SMS templates have a text only")
    return locale, event, channel, part


def _from_toml(locale: str, text: str, origin: str) -> dict[str, str]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(origin, None, f"is not valid TOML: {error}") from None
    templates: dict[str, str] = {}
    for event, table in document.items():
        if not isinstance(table, dict):
            raise TemplateError(f"{origin}: {event}", table, "must be a table of templates")
        for part, source in table.items():
            templates[f"{locale}/{event}.{part}"] = source
    return templates


def _read_directory(root: Path) -> dict[str, str]:
    if not root.is_dir():
        raise TemplateError("templates", str(root), "is not a directory")
    templates: dict[str, str] = {}
    for path in sorted(root.glob("*.toml")):
        templates.update(_from_toml(path.stem, path.read_text(encoding="utf-8"), path.name))
    for path in sorted(root.glob("*/*.j2")):
        name = f"{path.parent.name}/{path.name.removesuffix('.j2')}"
        templates[name] = path.read_text(encoding="utf-8")
    return templates


@functools.cache
def _builtins() -> dict[_Key, str]:
    files = importlib.resources.files("salesorders.notifications") / "builtin_templates"
    templates: dict[str, str] = {}
    for locale in BUILTIN_LOCALES:
        text = (files / f"{locale}.toml").read_text(encoding="utf-8")
        templates.update(_from_toml(locale, text, f"{locale}.toml"))
    return _load(templates)
