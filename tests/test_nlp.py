"""spaCy's tokenizer rules and lemma table as plain data (``nlp.Rules``): the same
lemmas as spaCy, chunk by chunk, without importing spaCy for the chunks they cover."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from letterparse import nlp
from letterparse.themes import load_models
from nlpfixtures import reference_lemmas, untouched_nlp

# Punctuation that English prefix, suffix and infix rules split on, and some they do not.
AFFIXES = ["", "(", ")", ",", ".", "'", "’", "‘", '"', "“", "”", "'s", "’s", ":", ";", "-", "—", "...", "?",
           "!", "[", "]", "%", "£", "$", ").", "),", ".)", "/", "&", "):", "’.", "',"]
PIECES = ["well", "being", "Child", "e.g", "i.e", "etc", "Dr", "St", "No", "co", "ordinate", "U.K", "www.gov.uk",
          "a.m", "10", "2019", "x", "I", "can", "not", "don't", "year", "olds", "CP", "CIN", "£1,200.50", "1st"]


def _rules():
    m = load_models()
    rules = nlp.load_rules(m.directory)
    assert rules is not None, "the shipped model has no saved tokenizer rules"
    return rules, m.directory


def _check(chunks, rules, directory) -> int:
    """Assert every chunk the rules answer gets spaCy's lemmas; return how many they left to spaCy."""
    chunks = sorted({c for c in chunks if c and not any(ch.isspace() for ch in c)})
    mine = [rules.lemmas(c) for c in chunks]
    ref = reference_lemmas(chunks, directory)
    wrong = [(c, m, r) for c, m, r in zip(chunks, mine, ref) if m is not None and m != r]
    assert not wrong, wrong[:10]
    return sum(m is None for m in mine)


def test_rules_equal_spacy_on_special_cases_dressed_in_punctuation():
    rules, d = _rules()
    keys = [k for k in untouched_nlp(d).tokenizer.rules if k.strip()]
    rng = random.Random(5)
    pairs = [(a, b) for a in AFFIXES[:12] for b in AFFIXES]
    chunks = {a + k + b for k in keys for a, b in [("", "")] + rng.sample(pairs, 30)}
    left = _check(chunks, rules, d)
    assert left < 0.05 * len(chunks)  # the ones spaCy's final matcher might rewrite


def test_rules_equal_spacy_on_made_up_chunks():
    rules, d = _rules()
    rng = random.Random(11)
    alphabet = list("abcXYZ019.,;:'’()-/&%£$@#+*_=!?\"“”‘—–…st")
    chunks = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9))) for _ in range(20000)}
    chunks |= {"".join(rng.choice(PIECES + AFFIXES) for _ in range(rng.randint(1, 5))) for _ in range(20000)}
    _check(chunks, rules, d)


def test_chunks_that_only_spacy_can_tell_go_to_spacy():
    rules, d = _rules()
    # "):" is an emoticon special case: spaCy's last pass may rejoin the tokens affixes made
    assert rules.tokens("(CP):") is None
    assert rules.lemmas("(CP):") is None
    nlp._CHUNKS.pop("(CP):", None)
    assert nlp.lemmatise(["Plans (CP): late"], d) == reference_lemmas(["Plans (CP): late"], d)


@pytest.mark.corpus
def test_rules_equal_spacy_on_every_chunk_of_the_corpus_findings(corpus_store):
    """Every distinct whitespace-delimited chunk of every finding of the corpus."""
    import duckdb

    rules, d = _rules()
    with duckdb.connect(str(corpus_store), read_only=True) as con:
        texts = [t for (t,) in con.execute("select text from findings").fetchall()]
    chunks = set().union(*(t.split() for t in texts))
    assert len(chunks) > 20000
    left = _check(chunks, rules, d)
    assert left < 0.001 * len(chunks)  # spaCy is imported for almost no letter


def test_saved_rules_are_what_export_writes(tmp_path):
    """models/nlp/rules.json.gz is the export of the saved pipeline (kept in step with it)."""
    m = load_models()
    nlp.export_rules(untouched_nlp(m.directory), tmp_path)
    shipped = Path(m.directory) / nlp.NLP_DIR / nlp.RULES_FILE
    assert (tmp_path / nlp.RULES_FILE).read_bytes() == shipped.read_bytes()
    data = json.loads(gzip.decompress(shipped.read_bytes()))
    assert data["format"] == nlp.RULES_FORMAT and len(nlp.load_rules(m.directory).lemma_table) > 40000


def test_like_num_is_spacys():
    from spacy.lang.en.lex_attrs import like_num

    rules, _ = _rules()
    words = ["12", "1,200", "3.5", "+4", "-7", "~9", "±2", "1/2", "1/2/3", "one", "Twelve", "first", "21st", "2nd",
             "3rd", "4th", "4TH", "th", "x1", "", "hundredth", "gajillion", "1.2.3", "12a", "١٢"]
    assert [rules.like_num(w) for w in words] == [like_num(w) for w in words]


def test_classifying_common_text_does_not_import_spacy(samples):
    """A letter whose chunks the rules cover is classified without spaCy in the process."""
    pdf = sorted(samples.glob("*.pdf"))[0]
    code = (
        "import sys\n"
        "from letterparse import parse\n"
        f"letter = parse({str(pdf)!r})\n"
        "assert any(f.themes for s in letter.sections for f in s.findings)\n"
        "print('spacy' in sys.modules, 'scipy.sparse' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_missing_or_foreign_rules_fall_back_to_spacy(tmp_path):
    """A model folder without the saved rules (or with another format) still lemmatises, through spaCy."""
    m = load_models()
    src = Path(m.directory) / nlp.NLP_DIR
    for case in ("missing", "foreign"):
        d = tmp_path / case
        shutil.copytree(src, d / nlp.NLP_DIR)
        rules_file = d / nlp.NLP_DIR / nlp.RULES_FILE
        if case == "missing":
            rules_file.unlink()
        else:
            rules_file.write_bytes(gzip.compress(json.dumps({"format": 999}).encode()))
        assert nlp.load_rules(str(d)) is None
        text = ["Well-being plans (e.g. for 16-17-year-olds) weren't reviewed."]
        assert nlp._lemmatise_chunks(text[0].split(), str(d)) == dict(
            zip(text[0].split(), reference_lemmas(text[0].split(), m.directory))
        )
