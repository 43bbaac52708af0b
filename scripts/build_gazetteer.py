#!/usr/bin/env python
"""Write src/letterparse/data/authorities.csv from the corpus lookups.

One row per English authority with children's services duties since 2005 (counties,
unitaries, metropolitan and London boroughs, City of London, Isles of Scilly), including
the ones abolished since.  Sources, all MIT (see src/letterparse/data/README.md):

- provider_data_lookup.csv (data-to-insight): the 156 authorities Ofsted lists, with DfE
  and ONS codes, region and statistical neighbours (the current and the previous list,
  closest first).  Canonical names come from here.
- uk_local_authorities_current.csv and lookup_name_to_registry.csv (mySociety): official
  and alternative names, GSS codes (current and former), start/end dates, replacements;
  and the abolished authorities the provider lookup lacks.
- ofsted_csc_ilacs_history.csv: names as an Ofsted scraper wrote them (extra aliases).

Dates: ``start`` is the first day of an authority created by a reorganisation since 2005
(its mySociety start-date), ``end`` the last day of an abolished one (the day before its
successors started); both are empty otherwise.

    python scripts/build_gazetteer.py [--lookups DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from letterparse.gazetteer import normalise, read_gazetteer  # noqa: E402

LOOKUPS = ROOT.parent / "shared" / "corpus" / "lookups"
OUT = ROOT / "src" / "letterparse" / "data" / "authorities.csv"
COLUMNS = (
    "name", "ons_code", "la_code", "region", "start", "end",
    "successors", "former_ons_codes", "aliases", "stat_neighbours", "stat_neighbours_previous",
)  # fmt: skip

# mySociety local-authority-type of upper-tier English authorities.
UPPER_TIER = {"CTY", "UA", "MD", "LBO", "CC"}

# Short names as Ofsted writes them, where the provider lookup's name differs.
NAME_FIXES = {
    "Bedford Borough": "Bedford",
    "Bristol, City of": "Bristol",
    "Kingston Upon Hull, City of": "Kingston upon Hull",
    "St. Helens": "St Helens",
}

# The provider lookup's also_known_as is a comma-separated list in brackets, but one
# item itself contains commas.
ALSO_KNOWN_AS_FIXES = {
    "[BCP, Bournemouth, Christchurch & Poole]": ["BCP", "Bournemouth, Christchurch & Poole"],
}

# County councils that became unitary councils in place, remaining the same children's
# services authority with the same DfE code (825, 815, 933): the old mySociety register
# entry (end-dated, replaced-by the new one) is merged into the continuing record, and
# its GSS code becomes a former code (E10000002, E10000023, E10000027).
CONTINUED = {"BKM": "BUC", "NYK": "NYE", "SOM": "SMT"}

# Abolished on 1 April 2009, before GSS codes (2011) and the mySociety register, so in
# none of the lookups: Bedfordshire County Council -> Bedford Borough Council and Central
# Bedfordshire Council; Cheshire County Council -> Cheshire East Council and Cheshire West
# and Chester Council (the successors' start-date, 2009-04-01, is in mySociety).  Their
# DfE codes are not in the lookups either, so ons_code and la_code stay empty.
PRE_REGISTER = {
    "Bedfordshire": (("Bedfordshire County Council",), ("BDF", "CBF")),
    "Cheshire": (("Cheshire County Council",), ("CHE", "CHW")),
}

# Names missing from the lookups.  "County of Herefordshire District Council" is the
# statutory name of Herefordshire Council.  The others are short forms Ofsted's own
# titles use ("Inspection of East Riding local authority children's services").
EXTRA_ALIASES = {
    "Herefordshire": ("County of Herefordshire District Council",),
    "East Riding of Yorkshire": ("East Riding",),
    "Bournemouth, Christchurch and Poole": ("BCP Council", "BCP"),
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def split_alt_names(value: str) -> list[str]:
    # mySociety alt-names are joined with "," while a name may hold ", " ("Bristol, City of").
    return [v.strip() for v in re.split(r",(?! )", value) if v.strip()]


def split_codes(value: str) -> list[str]:
    return [v.strip() for v in re.split(r"[,;]", value) if v.strip()]


def dedupe(names: list[str], exclude: str) -> list[str]:
    seen = {" ".join(exclude.casefold().split())}
    out = []
    for name in names:
        key = " ".join(name.casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(" ".join(name.split()))
    return out


def new_record(name: str, ons_code: str = "", la_code: str = "", region: str = "") -> dict:
    return {
        "name": name, "ons_code": ons_code, "la_code": la_code, "region": region,
        "codes": [],  # mySociety register codes
        "names": [], "stat_neighbours": [], "stat_neighbours_previous": [], "successor_codes": [], "start": None, "end": None,
    }  # fmt: skip


def build(lookups: Path) -> list[dict[str, str]]:
    provider = read_csv(lookups / "provider_data_lookup.csv")
    society_all = read_csv(lookups / "uk_local_authorities_current.csv")
    society = {
        r["local-authority-code"]: r
        for r in society_all
        if r["nation"] == "England" and r["local-authority-type"] in UPPER_TIER
    }
    registry_names: dict[str, list[str]] = {}
    for r in read_csv(lookups / "lookup_name_to_registry.csv"):
        registry_names.setdefault(r["local-authority-code"], []).append(r["la-name"])
    scraper_names: dict[str, list[str]] = {}
    for r in read_csv(lookups / "ofsted_csc_ilacs_history.csv"):
        scraper_names.setdefault(r["urn"], []).append(r["local_authority"])

    code_by_gss = {}
    for code, r in society.items():
        for gss in [r["gss-code"], *split_codes(r["former-gss-codes"])]:
            code_by_gss[gss] = code
    code_by_name: dict[str, set[str]] = {}
    for code in society:
        for n in registry_names.get(code, []):
            code_by_name.setdefault(normalise(n), set()).add(code)

    records: dict[str, dict] = {}  # by name
    name_by_code: dict[str, str] = {}  # mySociety code -> record name
    for p in provider:
        ons_name = p["local_authority_ons_name"].strip()
        rec = new_record(
            NAME_FIXES.get(ons_name, ons_name),
            p["la_code_new"].strip(),
            p["la_code"].strip(),
            p["region_name"].strip(),
        )
        code = code_by_gss.get(rec["ons_code"])
        if code is None:  # Barnsley, Sheffield: GSS codes newer than mySociety's
            (code,) = code_by_name[normalise(ons_name)]
        aka = p["also_known_as"].strip()
        rec["codes"] = [code]
        rec["names"] = [
            ons_name,
            *(ALSO_KNOWN_AS_FIXES.get(aka) or split_codes(aka.strip("[]"))),
            p["ltla23nm"],
            p["utla23nm"],
            *scraper_names.get(p["urn"], []),
        ]
        rec["stat_neighbours"] = split_codes(p["stat_neighbours"])
        rec["stat_neighbours_previous"] = split_codes(p["stat_neighbours_previous"])
        records[rec["name"]] = rec
        name_by_code[code] = rec["name"]

    for code, r in sorted(society.items()):
        if code in name_by_code:
            continue
        if code in CONTINUED:
            rec = records[name_by_code[CONTINUED[code]]]
        elif r["end-date"]:  # abolished: Bournemouth, Dorset County
            rec = new_record(r["nice-name"], r["gss-code"], "", r["region"])
            records[rec["name"]] = rec
        else:
            raise SystemExit(f"{code} {r['nice-name']!r}: in mySociety, not in the provider lookup")
        rec["codes"].append(code)
        name_by_code[code] = rec["name"]

    # Successors: the register's replaced-by, and that of the county's districts (so
    # Dorset County -> Dorset and, through Christchurch, Bournemouth, Christchurch and Poole).
    for rec in records.values():
        abolished = [c for c in rec["codes"] if c not in CONTINUED and society[c]["end-date"]]
        for r in society_all:
            if r["local-authority-code"] in abolished or r["county-la"] in abolished:
                rec["successor_codes"] += split_codes(r["replaced-by"])

    for name, (aliases, successor_codes) in PRE_REGISTER.items():
        records[name] = new_record(name)
        records[name]["names"] = list(aliases)
        records[name]["successor_codes"] = list(successor_codes)

    for rec in records.values():
        successor_codes = {c for c in rec["successor_codes"] if c in name_by_code}
        rec["successors"] = sorted({name_by_code[c] for c in successor_codes})
        if not successor_codes:
            continue
        (started,) = {date.fromisoformat(society[c]["start-date"]) for c in successor_codes}
        rec["end"] = started - timedelta(days=1)
        for s in rec["successors"]:
            records[s]["start"] = started
        if not rec["region"]:
            (rec["region"],) = {records[s]["region"] for s in rec["successors"]}

    return [to_row(rec, society, registry_names) for _, rec in sorted(records.items())]


def to_row(rec: dict, society: dict, registry_names: dict) -> dict[str, str]:
    names = list(rec["names"])
    former = []
    for code in rec["codes"]:
        r = society[code]
        names += [r["official-name"], r["nice-name"], *split_alt_names(r["alt-names"])]
        names += registry_names.get(code, [])
        former += [r["gss-code"], *split_codes(r["former-gss-codes"])]
    names += EXTRA_ALIASES.get(rec["name"], ())
    return {
        "name": rec["name"],
        "ons_code": rec["ons_code"],
        "la_code": rec["la_code"],
        "region": rec["region"],
        "start": rec["start"].isoformat() if rec["start"] else "",
        "end": rec["end"].isoformat() if rec["end"] else "",
        "successors": ";".join(rec["successors"]),
        "former_ons_codes": ";".join(sorted(set(former) - {rec["ons_code"], ""})),
        "aliases": "|".join(dedupe([n for n in names if n.strip()], rec["name"])),
        "stat_neighbours": ";".join(rec["stat_neighbours"]),
        "stat_neighbours_previous": ";".join(rec["stat_neighbours_previous"]),
    }


def to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=Path, default=LOOKUPS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    text = to_csv(build(args.lookups))
    read_gazetteer(text)  # fails on an alias that names two authorities
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10)) - 1} authorities to {args.out}")


if __name__ == "__main__":
    main()
