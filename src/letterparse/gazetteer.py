"""English children's-services authorities: names, codes, successors, neighbours.

The data is ``data/authorities.csv``, written by ``scripts/build_gazetteer.py``
from the data-to-insight and mySociety lookups (MIT; see ``data/README.md``).

``resolve`` maps a name as someone wrote it ("County of Herefordshire District
Council", "Bristol, City of", "St. Helens") to one record or ``None``; it never
guesses a near miss.  ``find`` picks the authority named in a short title-like
text and returns the words as written.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

_DATA = "data/authorities.csv"

# A word: letters/digits with inner apostrophes ("children's"), or "&".
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")

# Generic words around a name, in normalised form (see ``normalise``).
# ``resolve`` strips them one at a time, longest first, until a name matches.
_PREFIXES = tuple(
    sorted(
        (
            "the",
            "london borough of",
            "royal borough of",
            "borough of",
            "metropolitan borough of",
            "city of",
            "county of",
            "council of the",
            "city and county of the",
        ),
        key=len,
        reverse=True,
    )
)
_SUFFIXES = tuple(
    sorted(
        (
            "council",
            "county council",
            "city council",
            "borough council",
            "district council",
            "metropolitan borough council",
            "metropolitan district council",
            "london borough council",
            "london borough",
            "unitary authority",
            "ua",
            "local authority",
            "children services",
            "childrens services",
            "children social care",
            "childrens social care",
            "city of",
            "county of",
        ),
        key=len,
        reverse=True,
    )
)


@dataclass(frozen=True, slots=True)
class AuthorityRecord:
    """One English local authority with children's services duties since 2005."""

    name: str  # short name as Ofsted uses it: "Kingston upon Hull", "Bristol"
    ons_code: str  # GSS code, e.g. "E06000010"; "" for authorities abolished before 2011
    la_code: str  # DfE 3-digit code, e.g. "810"; "" where unknown
    region: str
    start: date | None  # first day, for authorities created by a reorganisation since 2005
    end: date | None  # last day, for abolished authorities
    successors: tuple[str, ...]  # names of the authorities that took over
    aliases: tuple[str, ...]
    stat_neighbours: tuple[str, ...]  # DfE LA codes, closest first
    former_ons_codes: tuple[str, ...]
    # the DfE's previous statistical-neighbour list (DfE LA codes, closest first)
    stat_neighbours_previous: tuple[str, ...] = ()


def _word(token: str) -> str:
    if token == "&":
        return "and"
    token = token.lower().replace("’", "'")
    if token.endswith("'s"):  # possessive: "Wirral's", "children's"
        token = token[:-2]
    token = token.replace("'", "")
    return "st" if token == "saint" else token


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def normalise(name: str) -> str:
    """Lower-case words joined by single spaces.

    "&" -> "and", "St." and "Saint" -> "st"; punctuation and possessive "'s" dropped.
    """
    return " ".join(_word(m.group()) for m in _tokens(name))


def _strip_affix(key: str) -> str:
    """``key`` with one generic prefix or suffix removed (the longest), or unchanged."""
    for suffix in _SUFFIXES:
        if key.endswith(" " + suffix):
            return key[: -len(suffix) - 1]
    for prefix in _PREFIXES:
        if key.startswith(prefix + " "):
            return key[len(prefix) + 1 :]
    return key


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _split(value: str, sep: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(sep) if part.strip())


class Gazetteer:
    """Look-ups over all records; build one with ``load_gazetteer()``."""

    def __init__(self, records: tuple[AuthorityRecord, ...]):
        self.records = records
        self._by_name = {r.name: r for r in records}
        self._by_key: dict[str, AuthorityRecord] = {}
        self._ancestors: dict[str, frozenset[str]] | None = None  # built on first use
        for r in records:
            for alias in (r.name, *r.aliases):
                key = normalise(alias)
                other = self._by_key.setdefault(key, r)
                if other is not r:
                    raise ValueError(f"alias {alias!r} names both {other.name!r} and {r.name!r}")
        self._max_words = max(len(key.split()) for key in self._by_key)
        self._by_la = {r.la_code: r for r in records if r.la_code}
        self._by_ons = {code: r for r in records for code in r.former_ons_codes}
        self._by_ons.update({r.ons_code: r for r in records if r.ons_code})

    def resolve(self, name: str) -> AuthorityRecord | None:
        """The authority ``name`` denotes, ignoring case, punctuation and generic affixes."""
        key = normalise(name)
        while key:
            if key in self._by_key:
                return self._by_key[key]
            stripped = _strip_affix(key)
            if stripped == key:
                return None
            key = stripped
        return None

    def find(self, text: str) -> tuple[AuthorityRecord, str] | None:
        """The leftmost whole-word authority name in ``text`` (the longest one starting
        there) and the substring as written.

        A match must begin with a capital letter, so that "reading" or "bury" in running
        text are not taken for Reading or Bury.  Leftmost-longest means "West
        Northamptonshire County Council" is West Northamptonshire, not Northamptonshire.
        """
        tokens = _tokens(text)
        words = [_word(m.group()) for m in tokens]
        best: tuple[int, int] | None = None  # (start token, end token)
        for i, first in enumerate(tokens):
            if not first.group()[0].isupper():
                continue
            for j in range(min(len(tokens), i + self._max_words), i, -1):
                if " ".join(words[i:j]) in self._by_key:
                    best = (i, j)
                    break
            if best is not None:
                break
        if best is None:
            return None
        i, j = best
        return self._by_key[" ".join(words[i:j])], text[tokens[i].start() : tokens[j - 1].end()]

    def by_ons(self, code: str) -> AuthorityRecord | None:
        """The authority with this GSS code, current or former."""
        return self._by_ons.get(code.strip().upper())

    def by_la_code(self, code: str | int) -> AuthorityRecord | None:
        return self._by_la.get(str(code).strip())

    def by_name(self, name: str) -> AuthorityRecord | None:
        """The record with exactly this canonical name."""
        return self._by_name.get(name)

    def neighbours(self, record: AuthorityRecord) -> tuple[AuthorityRecord, ...]:
        """The record's statistical neighbours, closest first."""
        return tuple(self._by_la[code] for code in record.stat_neighbours if code in self._by_la)

    def successors_of(self, record: AuthorityRecord) -> tuple[AuthorityRecord, ...]:
        return tuple(self._by_name[name] for name in record.successors)

    def lookup(self, text: str) -> AuthorityRecord | None:
        """The record for a GSS code (current or former), a DfE code, a canonical name or
        any name :meth:`resolve` knows; what a user types to name an authority."""
        text = text.strip()
        return self.by_ons(text) or self.by_la_code(text) or self.by_name(text) or self.resolve(text)

    def ancestors(self, name: str) -> frozenset[str]:
        """``name`` and every authority it took over from (see :meth:`lineage`)."""
        if self._ancestors is None:
            acc: dict[str, set[str]] = {}
            for a, b in self.lineage():
                acc.setdefault(a, set()).add(b)
            self._ancestors = {a: frozenset(bs) for a, bs in acc.items()}
        return self._ancestors.get(name, frozenset({name}))

    def lineage(self) -> tuple[tuple[str, str], ...]:
        """``(authority, ancestor)`` name pairs: every authority with itself and with each
        authority it took over from, directly or through several reorganisations
        (Northamptonshire -> North Northamptonshire; Cumbria -> Cumberland)."""
        before: dict[str, set[str]] = {}
        for rec in self._by_name.values():
            for succ in rec.successors:
                before.setdefault(succ, set()).add(rec.name)
        pairs = set()
        for name in self._by_name:
            seen, todo = {name}, [name]
            while todo:
                for prev in before.get(todo.pop(), ()):
                    if prev not in seen:
                        seen.add(prev)
                        todo.append(prev)
            pairs.update((name, a) for a in seen)
        return tuple(sorted(pairs))


def _record(row: dict[str, str]) -> AuthorityRecord:
    return AuthorityRecord(
        name=row["name"],
        ons_code=row["ons_code"],
        la_code=row["la_code"],
        region=row["region"],
        start=_date(row["start"]),
        end=_date(row["end"]),
        successors=_split(row["successors"], ";"),
        aliases=_split(row["aliases"], "|"),
        stat_neighbours=_split(row["stat_neighbours"], ";"),
        former_ons_codes=_split(row["former_ons_codes"], ";"),
        stat_neighbours_previous=_split(row.get("stat_neighbours_previous") or "", ";"),
    )


def read_gazetteer(text: str) -> Gazetteer:
    """A gazetteer from the text of an ``authorities.csv``."""
    return Gazetteer(tuple(_record(row) for row in csv.DictReader(io.StringIO(text))))


@cache
def load_gazetteer() -> Gazetteer:
    """The packaged gazetteer (read once)."""
    from importlib import resources  # slow to import; only needed here

    text = resources.files(__package__).joinpath(_DATA).read_text(encoding="utf-8")
    return read_gazetteer(text)
