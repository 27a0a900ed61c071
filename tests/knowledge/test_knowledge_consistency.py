"""knowledge/ + dbc/ + tests/eval/qa.jsonl -> mechanical proof that the bundled knowledge is complete and consistent."""

from __future__ import annotations

import html
import html.parser
import importlib.util
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cantools
import pytest

REPO = Path(__file__).resolve().parents[2]
KNOWLEDGE = REPO / "knowledge"
DBC_PATH = REPO / "dbc" / "aldmoor_corrin.dbc"
QA_PATH = REPO / "tests" / "eval" / "qa.jsonl"
DOC_SUFFIXES = {".md", ".html", ".txt", ".pdf", ".docx"}
SIGNAL_REF = re.compile(r"\b((?:ECM|TCM|HCU|ABS|EPS|BCM|TPMS|PSM|HVAC|IPC|SRS|GW|DIAG|OBD)_[A-Za-z]+)\.([A-Za-z][A-Za-z0-9]*)\b")
DTC_REF = re.compile(r"\b([PCBU][0-3][0-9A-F]{3})\b")
PROCEDURE = re.compile(r"^[A-Z]{2}-\d\d ")
# Counters, indices and raw payloads: the only signals without a unit or a value table.
UNITLESS = {"AliveCounter", "BlowerSpeed", "DtcCode", "DtcCount", "DtcIndex", "DtcOccurrences", "DtcStoredCount",
            "Payload", "VinChars1to7", "VinChars8to14", "VinChars15to17", "WarmupsSinceClear"}
VIN_CHARS = re.compile(r"\b0AM[A-HJ-NPR-Z0-9]{14}\b")


# ---------------------------------------------------------------------------------------------------------------
# Loading

@cache
def facts() -> dict:
    return tomllib.loads((KNOWLEDGE / "facts.toml").read_text(encoding="utf-8"))


@cache
def dbc():
    return cantools.database.load_file(str(DBC_PATH), strict=True)


@cache
def generator():
    """scripts/build_knowledge.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("build_knowledge", REPO / "scripts" / "build_knowledge.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@dataclass
class Section:
    heading: str
    level: int
    text: str


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "").replace("`", "")).strip()


def _md_sections(text: str) -> list[Section]:
    sections = [Section("", 0, "")]
    for line in text.splitlines():
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if match:
            sections.append(Section(match.group(2).strip(), len(match.group(1)), ""))
        else:
            sections[-1].text += line + "\n"
    return sections


def _txt_sections(text: str) -> list[Section]:
    lines = text.splitlines()
    sections = [Section("", 0, "")]
    i = 0
    while i < len(lines):
        underline = lines[i + 1] if i + 1 < len(lines) else ""
        if lines[i].strip() and re.fullmatch(r"(=+|-+)", underline.strip()) and len(underline.strip()) >= 3:
            sections.append(Section(lines[i].strip(), 1 if underline.strip()[0] == "=" else 2, ""))
            i += 2
            continue
        sections[-1].text += lines[i] + "\n"
        i += 1
    return sections


class _HtmlSections(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections = [Section("", 0, "")]
        self._heading_level = 0
        self._heading = ""

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._heading_level, self._heading = int(tag[1]), ""
        elif tag in ("p", "li", "tr", "td", "th", "div", "br"):
            self.sections[-1].text += " "

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._heading_level:
            self.sections.append(Section(self._heading.strip(), self._heading_level, ""))
            self._heading_level = 0

    def handle_data(self, data):
        if self._heading_level:
            self._heading += data
        else:
            self.sections[-1].text += data


def _generated_sections(source: Path) -> list[Section]:
    blocks = generator().parse_source(source.read_text(encoding="utf-8"))
    sections = [Section("", 0, "")]
    for block in blocks:
        if block.kind == "heading":
            sections.append(Section(block.text, block.level, ""))
        elif block.kind == "table":
            sections[-1].text += " ".join(" ".join(row) for row in block.rows) + "\n"
        else:
            prefix = f"{block.number}: " if block.kind == "safety" else f"{block.number}. " if block.kind == "step" else ""
            sections[-1].text += prefix + block.text + "\n"
    return sections


@cache
def generated_sources() -> dict[str, Path]:
    """knowledge-relative output path -> its source file."""
    module = generator()
    return {t.output: module.SOURCE_DIR / t.source for t in module.TARGETS}


@cache
def documents() -> dict[str, list[Section]]:
    """Every bundled document (knowledge-relative path) -> its sections; PDF/DOCX through their source text."""
    docs: dict[str, list[Section]] = {}
    for path in sorted(KNOWLEDGE.rglob("*")):
        rel = path.relative_to(KNOWLEDGE).as_posix()
        if path.suffix not in DOC_SUFFIXES or rel == "README.md":
            continue
        if path.suffix in (".pdf", ".docx"):
            docs[rel] = _generated_sections(generated_sources()[rel])
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".md":
            docs[rel] = _md_sections(text)
        elif path.suffix == ".txt":
            docs[rel] = _txt_sections(text)
        else:
            parser = _HtmlSections()
            parser.feed(text)
            docs[rel] = parser.sections
    return docs


def doc_text(rel: str) -> str:
    return "\n".join(f"{s.heading}\n{s.text}" for s in documents()[rel])


def section(rel: str, heading: str) -> Section:
    matches = [s for s in documents()[rel] if s.heading == heading]
    assert matches, f"{rel} has no section headed {heading!r}"
    assert len(matches) == 1, f"{rel} has {len(matches)} sections headed {heading!r}"
    return matches[0]


def signal(ref: str):
    message, name = ref.split(".")
    return dbc().get_message_by_name(message).get_signal_by_name(name)


def vin_check_digit(vin: str) -> str:
    values = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
              "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
    weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    total = sum(values[c] * w for c, w in zip(vin, weights)) % 11
    return "X" if total == 10 else str(total)


def dtc_codes() -> set[str]:
    return {d["code"] for d in facts()["dtc"]}


# ---------------------------------------------------------------------------------------------------------------
# DBC

def test_dbc_loads_strict_with_required_counts():
    db = dbc()
    assert len(db.messages) >= 25
    app_signals = [s for m in db.messages if not m.name.startswith(("DIAG_", "OBD_")) for s in m.signals]
    assert len(app_signals) >= 150, "at least 150 vehicle signals, not counting the diagnostic payloads"
    assert any(m.is_multiplexed() for m in db.messages)
    ids = {m.frame_id for m in db.messages}
    assert 0x7DF in ids
    assert set(range(0x7E0, 0x7F0)) <= ids
    for frame_id in [0x7DF, *range(0x7E0, 0x7F0)]:
        message = db.get_message_by_frame_id(frame_id)
        assert message.length == 8 and [s.length for s in message.signals] == [64], message.name


def test_dbc_periodic_messages_have_cycle_times_and_signals_have_limits():
    for message in dbc().messages:
        send_type = message.dbc.attributes.get("GenMsgSendType")
        periodic = send_type is None or send_type.value == 0
        if periodic:
            assert message.cycle_time and message.cycle_time > 0, f"{message.name} is periodic without GenMsgCycleTime"
        for sig in message.signals:
            assert sig.minimum is not None and sig.maximum is not None, f"{message.name}.{sig.name} lacks min/max"
            assert sig.minimum < sig.maximum, f"{message.name}.{sig.name}"
            if not sig.choices and sig.name not in UNITLESS:
                assert sig.unit, f"{message.name}.{sig.name} has no unit"


def test_dbc_value_tables_for_gear_doors_and_lamps():
    assert {str(v) for v in signal("TCM_TransmissionData.GearLeverPosition").choices.values()} >= {"P", "R", "N", "D"}
    assert "Reverse" in {str(v) for v in signal("TCM_TransmissionData.GearActual").choices.values()}
    for door in ("DoorFL", "DoorFR", "DoorRL", "DoorRR", "Liftgate", "Hood"):
        assert {str(v) for v in signal(f"BCM_DoorStatus.{door}").choices.values()} >= {"Closed", "Open", "Ajar"}
    lamps = dbc().get_message_by_name("IPC_WarningLamps")
    for sig in lamps.signals:
        if sig.name.endswith("Lamp"):
            assert {k: str(v) for k, v in sig.choices.items()} == {0: "Off", 1: "On", 2: "Flashing", 3: "Not available"}


def test_dtc_broadcast_encodes_j2012_codes():
    broadcast = facts()["dtc_broadcast"]
    message = dbc().get_message_by_name(broadcast["message"])
    assert message.frame_id == broadcast["frame_id"]
    for key in ("count_signal", "index_signal", "code_signal", "ecu_signal", "status_signal"):
        message.get_signal_by_name(broadcast[key])
    letters = broadcast["letters"]

    def encode(code: str) -> int:
        return (letters.index(code[0]) << 14) | (int(code[1]) << 12) | int(code[2:], 16)

    data = message.encode({broadcast["count_signal"]: 1, broadcast["index_signal"]: 0,
                           broadcast["code_signal"]: encode("P0303"), broadcast["ecu_signal"]: 0x10,
                           broadcast["status_signal"]: 3, broadcast["occurrences_signal"]: 1})
    assert data[2:4] == bytes([0x03, 0x03]), "DtcCode is big-endian J2012 in bytes 2-3"
    assert encode("C1101") == 0x5101 and encode("B1500") == 0x9500 and encode("U0100") == 0xC100
    for code in dtc_codes():
        assert 0 <= encode(code) <= 0xFFFF


def test_vin_broadcast_round_trips_a_vin():
    vin = facts()["vehicle"]["example_vins"][0]
    message = dbc().get_message_by_name(facts()["vin_broadcast"]["message"])
    pages = [vin[0:7], vin[7:14], vin[14:17]]
    decoded = ""
    for page, (name, chars) in enumerate(zip(facts()["vin_broadcast"]["signals"], pages)):
        frame = message.encode({"VinPage": page, name: int.from_bytes(chars.encode("ascii"), "big")})
        value = message.decode(frame, decode_choices=False)[name]
        decoded += value.to_bytes(len(chars), "big").decode("ascii")
    assert decoded == vin


# ---------------------------------------------------------------------------------------------------------------
# facts.toml

def test_vehicle_facts_are_complete_and_self_consistent():
    vehicle = facts()["vehicle"]
    first, last = vehicle["years"]
    assert vehicle["make"] == "Aldmoor" and vehicle["model"] == "Corrin" and len(vehicle["wmi"]) == 3
    assert sorted(vehicle["model_year_codes"].values()) == list(range(first, last + 1))
    assert first < vehicle["mid_cycle_change"]["year"] <= last
    assert len(vehicle["variants"]) >= 2
    for variant in vehicle["variants"]:
        assert first <= variant["years"][0] <= variant["years"][1] <= last
    pattern = re.compile(vehicle["vin_pattern"])
    for vin in vehicle["example_vins"]:
        assert pattern.match(vin) and vin[8] == vin_check_digit(vin), vin
    for row in vehicle["production"]:
        assert row["plant"] in vehicle["plants"] and first <= row["year"] <= last


def test_signal_ranges_are_inside_dbc_limits_and_stated_in_their_section():
    for entry in facts()["signal_range"]:
        sig = signal(f"{entry['message']}.{entry['signal']}")
        assert sig.minimum <= entry["low"] < entry["high"] <= sig.maximum, entry
        assert (sig.unit or "") == entry["unit"], entry
        ref = f"{entry['message']}.{entry['signal']}"
        rows = [line for line in section(entry["doc"], entry["section"]).text.splitlines() if f"`{ref}`" in line]
        assert rows, f"{ref}: no table row in {entry['doc']} > {entry['section']}"
        stated = _norm(rows[0]).replace(",", "")  # the first table of the section holds the normal ranges
        low, high = (f"{x:g}" for x in (entry["low"], entry["high"]))
        assert re.search(rf"\| {re.escape(low)}(-| to ){re.escape(high)} ", stated), (entry, stated)


def test_lamps_exist_in_dbc_and_in_the_manual():
    keys = set()
    for lamp in facts()["lamp"]:
        keys.add(lamp["key"])
        sig = signal(f"{lamp['message']}.{lamp['signal']}")
        assert all(str(sig.choices[v]) == "On" for v in lamp["on_values"]), lamp["key"]
        assert all(str(sig.choices[v]) == "Flashing" for v in lamp["flashing_values"]), lamp["key"]
        assert isinstance(lamp["stop_driving"], bool)
        assert section(lamp["doc"], lamp["section"]).text.strip()
    assert len(keys) == len(facts()["lamp"])
    assert {"check_engine", "coolant_temp", "charging", "oil_pressure", "tpms", "brake", "abs", "airbag"} <= keys


def test_dtc_index_matches_the_dtc_reference():
    entries = facts()["dtc"]
    codes = [d["code"] for d in entries]
    assert len(codes) >= 60 and len(set(codes)) == len(codes)
    assert {c[:2] for c in codes} >= {"P0", "P1"} and {c[0] for c in codes} == {"P", "C", "B", "U"}
    lamp_keys = {lamp["key"] for lamp in facts()["lamp"]}
    for entry in entries:
        assert entry["section"] == f"{entry['code']} {entry['description']}"
        body = section(entry["doc"], entry["section"]).text
        for label in ("Description.", "Conditions for setting.", "Possible causes (most likely first).",
                      "Diagnostic steps.", "Related live signals.", "Warning lamp."):
            assert label in _norm(body), f"{entry['code']} lacks {label!r}"
        assert entry["lamp"] == "" or entry["lamp"] in lamp_keys, entry["code"]
        assert entry["signals"], entry["code"]
        for ref in entry["signals"]:
            signal(ref)
        listed = re.search(r"Related live signals\.(.*?)(Warning lamp\.|$)", _norm(body)).group(1)
        assert {".".join(m) for m in SIGNAL_REF.findall(listed)} == set(entry["signals"]), entry["code"]
    # every entry heading in the DTC documents is indexed
    indexed = {(d["doc"], d["section"]) for d in entries}
    for rel, sections in documents().items():
        if rel.startswith("dtc/"):
            for s in sections:
                if DTC_REF.match(s.heading):
                    assert (rel, s.heading) in indexed, f"{rel}: {s.heading} missing from facts.toml"


def test_every_signal_named_in_any_document_exists_in_the_dbc():
    missing = {}
    for rel in documents():
        for message, name in SIGNAL_REF.findall(doc_text(rel)):
            try:
                signal(f"{message}.{name}")
            except KeyError:
                missing.setdefault(rel, set()).add(f"{message}.{name}")
    assert not missing


def test_bulletins_index_and_references():
    bulletins = facts()["bulletin"]
    files = sorted(p.relative_to(KNOWLEDGE).as_posix() for p in (KNOWLEDGE / "bulletins").iterdir())
    assert len(files) >= 12 and sorted(b["doc"] for b in bulletins) == files
    numbers = {b["number"] for b in bulletins}
    vehicle = facts()["vehicle"]
    pattern = re.compile(vehicle["vin_pattern"])
    last_serial = {(p["year"], p["plant"]): p["last_serial"] for p in vehicle["production"]}
    for b in bulletins:
        text = doc_text(b["doc"])
        assert b["number"] in documents()[b["doc"]][1].heading, "the title heading starts with the bulletin number"
        assert b["date"] in text and b["vin_from"] in text and b["vin_to"] in text, b["number"]
        assert set(b["supersedes"]) <= numbers - {b["number"]}
        for code in DTC_REF.findall(text):
            assert code in dtc_codes(), f"{b['number']} names {code}, which the DTC reference lacks"
        assert set(DTC_REF.findall(text)) == set(b["dtcs"]), b["number"]
        for start, end in b["vin_ranges"]:
            for vin in (start, end):
                assert pattern.match(vin) and vin[8] == vin_check_digit(vin), vin
                year = vehicle["model_year_codes"][vin[9]]
                assert b["years"][0] <= year <= b["years"][1], (b["number"], vin)
                assert int(vin[11:]) <= last_serial[(year, vin[10])], (b["number"], vin, "beyond production")
            order = [(vehicle["model_year_codes"][v[9]], v[10], int(v[11:])) for v in (start, end)]
            assert start[:8] == end[:8] and order[0] <= order[1], (b["number"], start, end)
            assert start in text and end in text
    assert sum(1 for b in bulletins if b["supersedes"]) >= 2
    assert sum(1 for b in bulletins if b["dtcs"]) >= 2
    for b in bulletins:
        for old in b["supersedes"]:
            superseded = next(x for x in bulletins if x["number"] == old)
            assert superseded.get("superseded_by") == b["number"] and superseded["date"] < b["date"]


def test_vehicle_identity_agrees_across_documents():
    vehicle = facts()["vehicle"]
    first, last = vehicle["years"]
    pattern = re.compile(vehicle["vin_pattern"])
    for rel in documents():
        text = doc_text(rel)
        assert "Corrin" in text, f"{rel} does not name the vehicle"
        for vin in VIN_CHARS.findall(text):
            assert pattern.match(vin) and vin[8] == vin_check_digit(vin), f"{rel}: bad VIN {vin}"
        for a, b in re.findall(r"\b(20\d\d)-(20\d\d)\b", text):
            assert first <= int(a) <= int(b) <= last, f"{rel}: model years {a}-{b} outside {first}-{last}"
    for variant in vehicle["variants"]:
        assert any(variant["name"] in doc_text(rel) for rel in documents())


def test_scenarios_agree_with_the_documented_thresholds():
    scenarios = {s["name"]: s for s in facts()["scenario"]}
    assert set(scenarios) >= {"normal", "overheating", "misfire", "low_tire", "charging", "catalyst"}
    lamp_keys = {lamp["key"] for lamp in facts()["lamp"]}
    ranges = {f"{r['message']}.{r['signal']}": (r["low"], r["high"]) for r in facts()["signal_range"]}
    for s in scenarios.values():
        for ref, value in s["signals"].items():
            sig = signal(ref)
            assert sig.minimum <= value <= sig.maximum, (s["name"], ref)
        assert set(s["lamps"]) <= lamp_keys and set(s["lamps"].values()) <= {"on", "flashing"}
        assert set(s["dtcs"]) <= dtc_codes()
    for ref, value in scenarios["normal"]["signals"].items():
        if ref in ranges:
            assert ranges[ref][0] <= value <= ranges[ref][1], ref
    hot = scenarios["overheating"]
    assert hot["signals"]["ECM_EngineTemps.CoolantTemp"] > 115 and hot["dtcs"] == ["P0217"]
    assert scenarios["misfire"]["lamps"] == {"check_engine": "flashing"} and scenarios["misfire"]["dtcs"] == ["P0303"]
    assert scenarios["low_tire"]["signals"]["TPMS_TirePressures.TirePressureFL"] < 180
    assert scenarios["charging"]["signals"]["PSM_BatteryStatus.BatteryVoltage"] < 11.8
    assert scenarios["catalyst"]["dtcs"] == ["P0420"] and scenarios["catalyst"]["lamps"] == {"check_engine": "on"}
    thresholds = _norm(section("service/specifications.md", "Normal operating values").text)
    for stated in ("Above 115 °C for 10 s", "Front below 180 kPa", "Below 11.8 V for 10 s"):
        assert stated in thresholds


# ---------------------------------------------------------------------------------------------------------------
# Documents

def test_document_counts_and_safety_blocks():
    owner = [s for rel, secs in documents().items() if rel.startswith("owner/") for s in secs if s.level >= 2]
    assert len(owner) >= 25
    procedures = [s for rel, secs in documents().items() if rel.startswith("service/") for s in secs
                  if PROCEDURE.match(s.heading)]
    assert len(procedures) >= 20
    assert len({s.heading for s in procedures}) == len(procedures)
    spec = section("service/specifications.md", "Torque specifications")
    assert spec.text.count("Nm") >= 20
    owner_text = " ".join(doc_text(rel) for rel in documents() if rel.startswith("owner/"))
    for label in ("WARNING:", "CAUTION:", "NOTICE:"):
        assert owner_text.count(label) >= 2, label
    formats = {Path(rel).suffix for rel in documents()}
    assert formats == DOC_SUFFIXES
    for rel in documents():
        assert rel.split("/")[0] in ("owner", "service", "dtc", "bulletins"), rel


def test_procedure_references_resolve():
    procedures = {s.heading.split()[0] for secs in documents().values() for s in secs if PROCEDURE.match(s.heading)}
    for rel in documents():
        for ref in re.findall(r"\b((?:CO|EP|LU|CH|BR|ST|TP|HV|NW|TR)-\d\d)\b", doc_text(rel)):
            assert ref in procedures, f"{rel} refers to procedure {ref}, which does not exist"
    bulletin_numbers = {b["number"] for b in facts()["bulletin"]}
    for rel in documents():
        for ref in re.findall(r"\bASB-\d\d-\d{3}\b", doc_text(rel)):
            assert ref in bulletin_numbers, f"{rel} refers to bulletin {ref}, which does not exist"


@pytest.mark.slow
def test_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    module = generator()
    module.build_all(tmp_path)
    for target in module.TARGETS:
        built = (tmp_path / target.output).read_bytes()
        committed = (KNOWLEDGE / target.output).read_bytes()
        assert built == committed, f"knowledge/{target.output} is stale: run python scripts/build_knowledge.py"
        assert len(committed) < 100_000, f"{target.output} is {len(committed)} bytes"


def test_generated_documents_carry_their_headings():
    import docx
    from pypdf import PdfReader

    for output, source in generated_sources().items():
        headings = [s.heading for s in _generated_sections(source) if s.heading]
        path = KNOWLEDGE / output
        if path.suffix == ".pdf":
            reader = PdfReader(path)
            text = "\n".join(page.extract_text() for page in reader.pages)
            lines = {line.strip() for line in text.splitlines()}
            assert all(h in lines for h in headings), [h for h in headings if h not in lines]
            if output.startswith("owner/"):
                assert len(reader.pages) >= 8
        else:
            document = docx.Document(path)
            styled = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
            assert styled == headings


# ---------------------------------------------------------------------------------------------------------------
# Evaluation set

def _qa(path: Path = QA_PATH) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_rows(rows: list[dict]) -> set[str]:
    """The schema of qa.jsonl lines, and every fact verbatim in its expected sections; returns the tags used."""
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    keys = {"id", "question", "history", "expected", "facts", "safety", "answerable", "tags"}
    tags = set()
    ungrounded = []
    for r in rows:
        assert set(r) == keys, r["id"]
        assert isinstance(r["question"], str) and r["question"].strip()
        assert isinstance(r["history"], list) and all(isinstance(h, str) for h in r["history"])
        assert isinstance(r["safety"], bool) and isinstance(r["tags"], list) and r["tags"]
        tags.update(r["tags"])
        if "followup" in r["tags"]:
            assert r["history"], r["id"]
        if not r["answerable"]:
            assert r["expected"] == [] and r["facts"] == [], r["id"]
            continue
        assert r["expected"] and r["facts"], r["id"]
        texts = []
        for exp in r["expected"]:
            assert set(exp) == {"source", "section"}
            assert exp["source"] in documents(), (r["id"], exp["source"])
            texts.append(_norm(section(exp["source"], exp["section"]).text))
        ungrounded += [f"{r['id']}: {fact!r}" for fact in r["facts"] if not any(fact in t for t in texts)]
    assert not ungrounded, "facts not found verbatim in their expected sections: " + "; ".join(ungrounded)
    return tags


def test_qa_schema_counts_and_grounding():
    rows = _qa()
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    assert len(answerable) >= 80 and len(unanswerable) >= 15
    tags = _check_rows(rows)
    assert {"paraphrase", "typo", "followup", "code", "owner", "technician"} <= tags
    assert sum(r["safety"] for r in rows) >= 10
    assert sum("code" in r["tags"] for r in answerable) >= 8
    assert sum("followup" in r["tags"] for r in answerable) >= 5
    assert sum("typo" in r["tags"] for r in answerable) >= 8


# the subjects whose absence from knowledge/ made each held-out set's unanswerable questions unanswerable when written
HOLDOUT_ABSENT = {
    "qa_holdout.jsonl": ("luggage space", "curb weight", "empty weight", "turning circle", "wireless", "wading",
                         "heated steering", "cost", "speaker", "isofix", "head-up", "brand", "valve clearance",
                         "end gap", "co2", "insurance"),
    "qa_holdout2.jsonl": ("usb", "wall socket", "charging cable", "r1234yf", "tow bar", "towbar", "phone app", "lane",
                          "payload", "heated windshield", "parking sensor", "reversing camera", "winter tire",
                          "particulate", "blind spot", "preset", "overall width", "michelin"),
}


@pytest.mark.parametrize("name", sorted(HOLDOUT_ABSENT))
def test_qa_holdout_schema_grounding_and_uncovered_subjects(name):
    """A held-out set over the bundled documents (for measuring only) agrees with the documents it is about."""
    rows = _qa(REPO / "tests" / "eval" / name)
    answerable = [r for r in rows if r["answerable"]]
    assert len(answerable) >= 15 and len(rows) - len(answerable) >= 15
    assert {"owner", "technician"} <= _check_rows(rows) and sum(r["safety"] for r in answerable) >= 4
    earlier = {r["question"].lower() for n in ("qa.jsonl", *sorted(HOLDOUT_ABSENT)) if n < name or n == "qa.jsonl"
               for r in _qa(REPO / "tests" / "eval" / n)}
    assert not any(r["question"].lower() in earlier for r in rows)
    corpus = " ".join(doc_text(rel).lower() for rel in documents())
    for term in HOLDOUT_ABSENT[name]:
        assert term not in corpus, term
