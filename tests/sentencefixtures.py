"""Hand-built Letters whose prose findings have sentences (invented text, themes set by hand).

Built on ``storefixtures.sample_letters``:

* Newham 2019 (``a``): s1.f1 = a weakness sentence (workforce) and a strength sentence
  (leadership): mixed; s1.f2 = three weakness sentences (workforce, workforce, leadership);
  s1.f3 = no sentences (a list bullet); s1.f4 = a weakness sentence (no theme) and a
  neutral one; s1.f5 = one strength sentence (workforce).
* Newham 2021 (``b``): no sentences at all (bullets only).
* Leeds 2019 (``c``): s1.f1 = two weakness sentences (leadership; leadership and
  workforce), and a context section s2 whose one finding has a weakness sentence
  (workforce): in ``sentences``, not in ``judgement_sentences``.

So, Newham 2019 weakness: 4 findings (workforce 2, leadership 2, unclassified 1) but 5
sentences (workforce 3, leadership 1, unclassified 1).
"""

from __future__ import annotations

from dataclasses import replace

from letterparse.model import Finding, Letter, Section, Sentence, Span, ThemeScore
from storefixtures import sample_letters

W, S, N = "weakness", "strength", "neutral"

# Non-ASCII on purpose: a curly apostrophe, an accent as a combining character, an
# emoji and an en dash; offsets are code points, in Python and in the views' SQL.
NEWHAM_19 = {
    "s1.f1": [("Caseloads are too high – some reach thirty\U0001F641.", W, ("workforce",)),
              ("Leaders’ grip on practice is strong.", S, ("leadership",))],
    "s1.f2": [("Turnover is high.", W, ("workforce",)),
              ("Agency staff cover the cafe\u0301 rota.", W, ("workforce",)),
              ("Oversight by managers is weak.", W, ("leadership",))],
    "s1.f4": [("Plans are vague.", W, ()), ("The service moved offices in spring.", N, ())],
    "s1.f5": [("Staff are well supported.", S, ("workforce",))],
}
LEEDS_19 = {
    "s1.f1": [("Senior leaders do not track drift.", W, ("leadership",)),
              ("Managers and staff lack time for supervision.", W, ("leadership", "workforce"))],
}
CONTEXT = [("Recruitment figures fell this year.", W, ("workforce",))]


def prose(f: Finding, sentences: list[tuple[str, str, tuple[str, ...]]]) -> Finding:
    """``f`` with its text the sentences joined by spaces, and their offsets."""
    out, pos = [], 0
    for text, polarity, themes in sentences:
        out.append(Sentence(pos, pos + len(text), polarity, tuple(ThemeScore(t, 0.8) for t in themes)))
        pos += len(text) + 1
    return replace(f, text=" ".join(t for t, _, _ in sentences), sentences=tuple(out), marker="paragraph")


def sentence_letters() -> list[Letter]:
    a, b, c = sample_letters()
    a = a.with_findings({fid: prose(f, NEWHAM_19[fid]) for f in a.findings if (fid := f.id) in NEWHAM_19})
    c = c.with_findings({f.id: prose(f, LEEDS_19[f.id]) for f in c.findings if f.id in LEEDS_19})
    ctx = prose(Finding("s2.f1", "", (Span(2, 100, 120),), polarity=W), CONTEXT)
    c = replace(c, sections=(*c.sections, Section("s2", "Local context", "other", 2, (ctx,), role="context")))
    return [a, b, c]


def strip_sentences(letter: Letter) -> Letter:
    """The letter as parsed before sentences existed (or without themes)."""
    return letter.with_findings({f.id: replace(f, sentences=()) for f in letter.findings})
