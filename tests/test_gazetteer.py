import csv
from datetime import date
from pathlib import Path

import pytest

from letterparse.gazetteer import AuthorityRecord, load_gazetteer

MANIFEST = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "manifest.csv"


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Herefordshire", "Herefordshire"),
        ("County of Herefordshire District Council", "Herefordshire"),
        ("Herefordshire Council", "Herefordshire"),
        ("Herefordshire, County of", "Herefordshire"),
        ("Kingston upon Hull City Council", "Kingston upon Hull"),
        ("Kingston Upon Hull, City of", "Kingston upon Hull"),
        ("Hull", "Kingston upon Hull"),
        ("Bristol City Council", "Bristol"),
        ("Bristol, City of", "Bristol"),
        ("City of Bristol Council", "Bristol"),
        ("Durham County Council", "Durham"),
        ("County Durham", "Durham"),
        ("St Helens", "St Helens"),
        ("St. Helens Council", "St Helens"),
        ("ST HELENS METROPOLITAN BOROUGH COUNCIL", "St Helens"),
        ("London Borough of Barking and Dagenham", "Barking and Dagenham"),
        ("Barking & Dagenham", "Barking and Dagenham"),
        ("The Royal Borough of Kensington and Chelsea", "Kensington and Chelsea"),
        ("Southend-on-Sea Borough Council", "Southend-on-Sea"),
        ("southend on sea", "Southend-on-Sea"),
        ("Stoke on Trent City Council", "Stoke-on-Trent"),
        ("Telford & Wrekin Council", "Telford and Wrekin"),
        ("Wirral Metropolitan Borough Council", "Wirral"),
        ("Bedford Borough Council", "Bedford"),
        ("Central Bedfordshire Council", "Central Bedfordshire"),
        ("Bedfordshire County Council", "Bedfordshire"),
        ("Cheshire West and Chester Council", "Cheshire West and Chester"),
        ("Dorset Council", "Dorset"),
        ("Dorset County Council", "Dorset County"),
        ("BCP Council", "Bournemouth, Christchurch and Poole"),
        ("Bournemouth, Christchurch & Poole", "Bournemouth, Christchurch and Poole"),
        ("Bournemouth Borough Council", "Bournemouth"),
        ("Borough of Poole", "Poole"),
        ("Buckinghamshire County Council", "Buckinghamshire"),
        ("North Yorkshire County Council", "North Yorkshire"),
        ("Somerset County Council", "Somerset"),
        ("Westmorland and Furness Council", "Westmorland and Furness"),
        ("City of London Corporation", "City of London"),
        ("City of London", "City of London"),
        ("Council of the Isles of Scilly", "Isles of Scilly"),
        ("City of Westminster", "Westminster"),
        ("Leeds City Council children's services", "Leeds"),
        ("Hackney’s childrens services", "Hackney"),
        ("  newcastle   upon tyne  ", "Newcastle upon Tyne"),
    ],
)
def test_resolve(gaz, written, name):
    record = gaz.resolve(written)
    assert record is not None and record.name == name


@pytest.mark.parametrize(
    "written",
    [
        "",
        "Council",
        "London",
        "Lancaster City Council",
        "Wales",
        "Herefordshir",
        "Narnia County Council",
        "Bedfordshire East",
    ],
)
def test_resolve_unknown(gaz, written):
    assert gaz.resolve(written) is None


@pytest.mark.parametrize(
    ("text", "name", "as_written"),
    [
        (
            "Inspection of Herefordshire Council children's services",
            "Herefordshire",
            "Herefordshire Council",
        ),
        (
            "Focused visit to Kingston upon Hull City Council children's services",
            "Kingston upon Hull",
            "Kingston upon Hull City Council",
        ),
        (
            "Joint targeted area inspection of the multi-agency response to abuse in Wirral",
            "Wirral",
            "Wirral",
        ),
        ("Inspection of Bedford Borough children's services", "Bedford", "Bedford Borough"),
        (
            "Inspection of Central Bedfordshire Council",
            "Central Bedfordshire",
            "Central Bedfordshire Council",
        ),
        ("Derbyshire County Council", "Derbyshire", "Derbyshire County Council"),
        ("Derby City Council", "Derby", "Derby City Council"),
        (
            "Royal Borough of Kingston upon Thames",
            "Kingston upon Thames",
            "Royal Borough of Kingston upon Thames",
        ),
        (
            "North Northamptonshire Council",
            "North Northamptonshire",
            "North Northamptonshire Council",
        ),
        (
            "Inspection of Northamptonshire children's services",
            "Northamptonshire",
            "Northamptonshire",
        ),
        ("Inspection of Dorset County Council", "Dorset County", "Dorset County Council"),
        ("Focused visit to Dorset", "Dorset", "Dorset"),
        (
            "Inspection of Bournemouth, Christchurch and Poole children's services",
            "Bournemouth, Christchurch and Poole",
            "Bournemouth, Christchurch and Poole",
        ),
        (
            "Stoke-on-Trent City Council, Civic Centre",
            "Stoke-on-Trent",
            "Stoke-on-Trent City Council",
        ),
        ("Bristol BS1 5TR", "Bristol", "Bristol"),
        ("Wirral's children's services", "Wirral", "Wirral's"),
        ("INSPECTION OF ST. HELENS", "St Helens", "ST. HELENS"),
    ],
)
def test_find(gaz, text, name, as_written):
    found = gaz.find(text)
    assert found is not None
    assert (found[0].name, found[1]) == (name, as_written)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Inspection of local authority children's services",
        "a note on reading ages in bury schools",
        "Greater London",
    ],
)
def test_find_nothing(gaz, text):
    assert gaz.find(text) is None


@pytest.mark.parametrize(
    ("abolished", "end", "successors"),
    [
        ("Bedfordshire", date(2009, 3, 31), {"Bedford", "Central Bedfordshire"}),
        ("Cheshire", date(2009, 3, 31), {"Cheshire East", "Cheshire West and Chester"}),
        ("Bournemouth", date(2019, 3, 31), {"Bournemouth, Christchurch and Poole"}),
        ("Poole", date(2019, 3, 31), {"Bournemouth, Christchurch and Poole"}),
        # Christchurch, a district of Dorset county, went to BCP.
        ("Dorset County", date(2019, 3, 31), {"Dorset", "Bournemouth, Christchurch and Poole"}),
        (
            "Northamptonshire",
            date(2021, 3, 31),
            {"North Northamptonshire", "West Northamptonshire"},
        ),
        ("Cumbria", date(2023, 3, 31), {"Cumberland", "Westmorland and Furness"}),
    ],
)
def test_successors(gaz, abolished, end, successors):
    record = gaz.by_name(abolished)
    assert record.end == end
    found = gaz.successors_of(record)
    assert {s.name for s in found} == successors
    assert all(s.start == end.replace(day=1, month=4) and s.end is None for s in found)


@pytest.mark.parametrize(
    ("name", "ons_code", "la_code", "former"),
    [
        ("Buckinghamshire", "E06000060", "825", "E10000002"),
        ("North Yorkshire", "E06000065", "815", "E10000023"),
        ("Somerset", "E06000066", "933", "E10000027"),
    ],
)
def test_continued_authorities_keep_one_record(gaz, name, ons_code, la_code, former):
    record = gaz.resolve(f"{name} County Council")
    assert (record.name, record.ons_code, record.la_code) == (name, ons_code, la_code)
    assert record.end is None
    assert former in record.former_ons_codes
    assert gaz.by_ons(former) is record and gaz.by_ons(ons_code) is record
    assert gaz.successors_of(record) == ()


def test_lookups(gaz):
    hull = gaz.by_la_code("810")
    assert isinstance(hull, AuthorityRecord)
    assert hull.name == "Kingston upon Hull" and hull.ons_code == "E06000010"
    assert gaz.by_la_code(810) is hull and gaz.by_ons("e06000010") is hull
    assert gaz.by_ons("E99999999") is None and gaz.by_la_code("999") is None
    assert gaz.by_ons("E08000016").name == "Barnsley"  # Barnsley's GSS code before E08000038


@pytest.mark.corpus
def test_manifest_authorities_resolve(gaz):
    if not MANIFEST.exists():
        pytest.skip(f"{MANIFEST} not found")
    with MANIFEST.open(encoding="utf-8-sig", newline="") as f:
        rows = {(r["authority"], r["ons_code"], r["la_code"]) for r in csv.DictReader(f)}
    assert rows
    for authority, ons_code, la_code in sorted(rows):
        record = gaz.resolve(authority)
        assert record is not None, authority
        assert (record.ons_code, record.la_code) == (ons_code, la_code), authority


def test_records(gaz):
    records = gaz.records
    assert len(records) == 160
    assert len({r.name for r in records}) == len(records)
    current = [r for r in records if r.end is None]
    assert len(current) == 153
    assert len({r.ons_code for r in current}) == len(current)
    assert all(r.ons_code and r.la_code and r.region for r in current)
    assert len({r.la_code for r in records if r.la_code}) == len([r for r in records if r.la_code])
    assert all(not r.successors for r in current)
    assert all(r.successors for r in records if r.end is not None)


def test_stat_neighbours_resolve(gaz):
    for record in gaz.records:
        if record.end is None:
            assert len(record.stat_neighbours) == 10, record.name
        assert len(gaz.neighbours(record)) == len(record.stat_neighbours), record.name
        assert record not in gaz.neighbours(record)


def test_every_alias_resolves_to_its_record(gaz):
    for record in gaz.records:
        for alias in (record.name, *record.aliases):
            assert gaz.resolve(alias) is record, alias
