"""NHTSA ODI flat files (tab-separated, no header) -> one Document per campaign, bulletin or complaint.

Layouts, columns in NHTSA's documented order: recalls FLAT_RCL (24 fields; 27 in the current files),
service bulletins FLAT_TSBS (10), complaints FLAT_CMPL (48; 49 in the current files), defect investigations
FLAT_INV (11). Rows of one campaign (or bulletin, ODI number or investigation) for several models and years become
one document listing all of its vehicles. A row with too few or too many fields is rejected with its line number; the rest is kept.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.document import TEXT, Document, Element, Loaded

RECALL_FIELDS = (
    "record_id", "campno", "make", "model", "year", "mfgcampno", "component_name", "mfr_name", "bgman", "endman",
    "rcltypecd", "potaff", "odate", "influenced_by", "mfgtxt", "rcdate", "datea", "rpno", "fmvss", "desc_defect",
    "consequence_defect", "corrective_action", "notes", "rcl_cmpt_id", "mfr_comp_name", "mfr_comp_desc", "mfr_comp_ptno",
)
TSB_FIELDS = ("bulno", "bulrep", "id", "buldte", "compname", "make", "model", "year", "datea", "summary")
COMPLAINT_FIELDS = (
    "cmplid", "odino", "mfr_name", "make", "model", "year", "crash", "faildate", "fire", "injured", "deaths",
    "compdesc", "city", "state", "vin", "datea", "ldate", "miles", "occurences", "cdescr", "cmpl_type",
    "police_rpt_yn", "purch_dt", "orig_owner_yn", "anti_brakes_yn", "cruise_cont_yn", "num_cyls", "drive_train",
    "fuel_sys", "fuel_type", "trans_type", "veh_speed", "dot", "tire_size", "loc_of_tire", "tire_fail_type",
    "orig_equip_yn", "manuf_dt", "seat_type", "restraint_type", "dealer_name", "dealer_tel", "dealer_city",
    "dealer_state", "dealer_zip", "prod_type", "repaired_yn", "medical_attn", "vehicles_towed_yn",
)

INVESTIGATION_FIELDS = ("action", "make", "model", "year", "compname", "mfr_name", "odate", "cdate", "campno", "subject",
                        "summary")
# The kind of an investigation, from its action number's prefix (ODI's own terms)
INVESTIGATION_KINDS = {"PE": "preliminary evaluation", "EA": "engineering analysis", "DP": "defect petition",
                       "RQ": "recall query", "AQ": "audit query", "RP": "recall petition"}


@dataclass(frozen=True)
class Layout:
    kind: str  # the --source key
    name: str  # NHTSA's file name
    fields: tuple[str, ...]
    widths: tuple[int, ...]  # accepted field counts
    key: str  # the column that groups rows into one document


LAYOUTS = {
    "nhtsa-recalls": Layout("nhtsa-recalls", "FLAT_RCL", RECALL_FIELDS, (24, 27), "campno"),
    "nhtsa-tsbs": Layout("nhtsa-tsbs", "FLAT_TSBS", TSB_FIELDS, (10,), "id"),
    "nhtsa-complaints": Layout("nhtsa-complaints", "FLAT_CMPL", COMPLAINT_FIELDS, (48, 49), "odino"),
    "nhtsa-investigations": Layout("nhtsa-investigations", "FLAT_INV", INVESTIGATION_FIELDS, (11,), "action"),
}
MAX_REPORTED = 20
_CAMPAIGN = re.compile(r"^\d{2}[VETCIX]\d{6}$")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ACTION = re.compile(r"^[A-Z]{1,2}\d{5,6}$")  # EA04001, PE19003; C85007 in the oldest rows


def sniff_nhtsa(text: str) -> str | None:
    """The NHTSA layout of a tab-separated text, judged by most of its first rows (widths and key columns), or None."""
    rows = [line.rstrip("\r").split("\t") for line in text.split("\n")[:20] if line.strip()]
    if not rows or "\t" not in text[:4096]:
        return None

    def share(test) -> float:
        return sum(1 for r in rows if test(r)) / len(rows)

    def field(r, i):
        return r[i].strip() if len(r) > i else ""

    if share(lambda r: len(r) in (24, 27) and field(r, 0).isdigit() and _CAMPAIGN.match(field(r, 1))) >= 0.6:
        return "nhtsa-recalls"
    if share(lambda r: len(r) in (48, 49) and field(r, 0).isdigit() and field(r, 1).isdigit()) >= 0.6:
        return "nhtsa-complaints"
    if share(lambda r: len(r) == 10 and field(r, 2).isdigit() and _DATE.match(field(r, 3))) >= 0.6:
        return "nhtsa-tsbs"
    if share(lambda r: len(r) == 11 and _ACTION.match(field(r, 0)) and _DATE.match(field(r, 6))) >= 0.6:
        return "nhtsa-investigations"
    return None


def load_nhtsa(path: Path, text: str, kind: str) -> Loaded:
    """Parse an NHTSA flat file of the given kind. Raises IngestError when no row fits the layout."""
    layout = LAYOUTS[kind]
    groups: OrderedDict[str, list[dict[str, str]]] = OrderedDict()
    problems: list[str] = []
    rejected = 0
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) not in layout.widths:
            rejected += 1
            if rejected <= MAX_REPORTED:
                expected = " or ".join(str(w) for w in layout.widths)
                side = "short" if len(fields) < min(layout.widths) else "long"
                problems.append(f"line {number}: {side} row, {len(fields)} fields where {layout.name} has {expected}")
            continue
        row = {name: value.strip() for name, value in zip(layout.fields, fields)}
        key = row.get(layout.key) or (row.get("bulno", "") if kind == "nhtsa-tsbs" else "")
        if not key:
            rejected += 1
            if rejected <= MAX_REPORTED:
                problems.append(f"line {number}: no {layout.key.upper()} (the record number)")
            continue
        groups.setdefault(key, []).append(row)
    if rejected > MAX_REPORTED:
        problems.append(f"... {rejected - MAX_REPORTED} more rejected rows")
    if not groups:
        raise IngestError(
            f"{path} has no row in the {layout.name} layout (tab-separated, {' or '.join(map(str, layout.widths))} fields)",
            f"check that it is an NHTSA {layout.name} file, or pick another --source",
        )
    build = {"nhtsa-recalls": _recall, "nhtsa-tsbs": _bulletin, "nhtsa-complaints": _complaint,
             "nhtsa-investigations": _investigation}[kind]
    documents = [build(path, key, rows) for key, rows in groups.items()]
    return Loaded(documents, problems=problems, kind=kind)


def _recall(path: Path, campno: str, rows: list[dict[str, str]]) -> Document:
    first = rows[0]
    vehicles = _Vehicles(rows)
    component = first["component_name"]
    facts = [
        f"NHTSA recall campaign {campno}" + (f" (manufacturer campaign {first['mfgcampno']})" if first["mfgcampno"] else "") + ".",
        f"Vehicles: {vehicles.text()}.",
        f"Component: {component}." if component else "",
        f"Manufacturer: {first['mfr_name']}." if first["mfr_name"] else "",
        _dates((("Report received", first["rcdate"]), ("owners notified", first["odate"]),
                ("built from", first["bgman"]), ("built to", first["endman"]))),
        f"Potentially affected: {_int(first['potaff']):,} units." if _int(first["potaff"]) else "",
        f"FMVSS {first['fmvss']}." if first["fmvss"] else "",
    ]
    elements = [Element(TEXT, " ".join(f for f in facts if f))]
    for label, name in (("Defect", "desc_defect"), ("Consequence", "consequence_defect"),
                        ("Corrective action", "corrective_action"), ("Notes", "notes")):
        value = _longest(rows, name)
        if value:
            elements.append(Element(TEXT, f"{label}: {value}"))
    extra = {
        "campaign": campno, "mfr_campaign": first["mfgcampno"], "component": component,
        "manufacturer": first["mfr_name"], "report_date": _iso(first["rcdate"]), "owner_notified": _iso(first["odate"]),
        "built_from": _iso(first["bgman"]), "built_to": _iso(first["endman"]), "units_affected": _int(first["potaff"]),
        "vehicles": vehicles.delimited(),
    }
    return _document(path, campno, f"Recall {campno}: {component or 'campaign'} ({vehicles.short()})", elements,
                     "recall", vehicles, (campno, first["mfgcampno"]), extra, f"NHTSA recall {campno} ({vehicles.short()}):")


def _bulletin(path: Path, item: str, rows: list[dict[str, str]]) -> Document:
    first = rows[0]
    vehicles = _Vehicles(rows)
    number = first["bulno"]
    component = re.sub(r"^\d{6}\s+", "", first["compname"])  # "021000 SUSPENSION:FRONT": the code is NHTSA's
    facts = [
        f"Service bulletin {number} (NHTSA item {first['id'] or item})" + (f", replaced by {first['bulrep']}" if first["bulrep"] else "") + ".",
        f"Vehicles: {vehicles.text()}.",
        f"Component: {component}." if component else "",
        _dates((("Bulletin date", first["buldte"]), ("added to the NHTSA file", first["datea"]))),
    ]
    elements = [Element(TEXT, " ".join(f for f in facts if f))]
    summary = _longest(rows, "summary")
    if summary:
        elements.append(Element(TEXT, f"Summary: {summary}"))
    extra = {"bulletin": number, "nhtsa_item": first["id"] or item, "replaced_by": first["bulrep"], "component": component,
             "bulletin_date": _iso(first["buldte"]), "vehicles": vehicles.delimited()}
    return _document(path, item, f"Service bulletin {number}: {component or 'bulletin'} ({vehicles.short()})", elements,
                     "bulletin", vehicles, (number, first["bulrep"], first["id"]), extra,
                     f"Service bulletin {number} ({vehicles.short()}):")


def _complaint(path: Path, odino: str, rows: list[dict[str, str]]) -> Document:
    first = rows[0]
    vehicles = _Vehicles(rows)
    components = list(OrderedDict.fromkeys(r["compdesc"] for r in rows if r["compdesc"]))
    where = ", ".join(p for p in (first["city"], first["state"]) if p)
    facts = [
        f"NHTSA complaint ODI {odino}.",
        f"Vehicle: {vehicles.text()}.",
        f"Component: {'; '.join(components)}." if components else "",
        _dates((("Failure date", first["faildate"]), ("received", first["datea"]))),
        f"Mileage: {_int(first['miles']):,}." if _int(first["miles"]) else "",
        f"Speed: {_int(first['veh_speed'])} mph." if _int(first["veh_speed"]) else "",
        f"Crash: {_yes_no(first['crash'])}; fire: {_yes_no(first['fire'])}; injured: {_int(first['injured'])}; deaths: {_int(first['deaths'])}.",
        f"Location: {where}." if where else "",
    ]
    elements = [Element(TEXT, " ".join(f for f in facts if f))]
    description = _longest(rows, "cdescr")
    if description:
        elements.append(Element(TEXT, f"Description: {description}"))
    extra = {
        "odi": odino, "component": "; ".join(components), "fail_date": _iso(first["faildate"]),
        "received_date": _iso(first["datea"]), "crash": first["crash"] == "Y", "fire": first["fire"] == "Y",
        "injured": _int(first["injured"]), "deaths": _int(first["deaths"]), "mileage": _int(first["miles"]),
        "vehicles": vehicles.delimited(),
    }
    return _document(path, odino, f"Complaint ODI {odino}: {components[0] if components else 'complaint'} ({vehicles.short()})",
                     elements, "complaint", vehicles, (odino,), extra, f"NHTSA complaint ODI {odino} ({vehicles.short()}):")


def _investigation(path: Path, action: str, rows: list[dict[str, str]]) -> Document:
    first = rows[0]
    vehicles = _Vehicles(rows)
    kind = INVESTIGATION_KINDS.get(re.sub(r"\d+$", "", action), "")
    components = list(OrderedDict.fromkeys(r["compname"] for r in rows if r["compname"]))
    campaigns = list(OrderedDict.fromkeys(r["campno"] for r in rows if r["campno"]))
    facts = [
        f"NHTSA defect investigation {action}" + (f" ({kind})" if kind else "") + ".",
        f"Vehicles: {vehicles.text()}.",
        f"Component: {'; '.join(components)}." if components else "",
        f"Manufacturer: {first['mfr_name']}." if first["mfr_name"] else "",
        _dates((("Opened", first["odate"]), ("closed", first["cdate"]))),
        f"Recall campaign: {', '.join(campaigns)}." if campaigns else "",
    ]
    elements = [Element(TEXT, " ".join(f for f in facts if f))]
    subject = _longest(rows, "subject")
    if subject:
        elements.append(Element(TEXT, f"Subject: {subject}"))
    summary = _longest(rows, "summary")
    if summary and not summary.lower().startswith("there is no summary"):
        elements.append(Element(TEXT, f"Summary: {summary}"))
    extra = {
        "investigation": action, "investigation_kind": kind, "component": "; ".join(components),
        "manufacturer": first["mfr_name"], "opened": _iso(first["odate"]), "closed": _iso(first["cdate"]),
        "campaign": ", ".join(campaigns), "vehicles": vehicles.delimited(),
    }
    return _document(path, action, f"Investigation {action}: {subject or (components[0] if components else 'defect')} "
                     f"({vehicles.short()})", elements, "investigation", vehicles, (action, *campaigns), extra,
                     f"NHTSA investigation {action} ({vehicles.short()}):")


def _document(path, key, title, elements, doc_type, vehicles, refs, extra, prefix) -> Document:
    return Document(
        source=path, title=title, elements=elements, key=key, doc_type=doc_type,
        make=vehicles.makes(), model=vehicles.models(), year_min=vehicles.year_min, year_max=vehicles.year_max,
        refs=tuple(r for r in refs if r), extra={k: v for k, v in extra.items() if v not in ("", None)}, chunk_prefix=prefix,
    )


class _Vehicles:
    """The (make, model, year) triples of a group of rows, written compactly ("FORD FOCUS 2000-2001")."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        by_model: OrderedDict[tuple[str, str], set[int]] = OrderedDict()
        for row in rows:
            year = _int(row.get("year", ""))
            by_model.setdefault((row.get("make", ""), row.get("model", "")), set())
            if 1886 <= year <= 2100:  # 9999 means unknown
                by_model[(row.get("make", ""), row.get("model", ""))].add(year)
        self.by_model = by_model
        years = [y for ys in by_model.values() for y in ys]
        self.year_min = min(years) if years else 0
        self.year_max = max(years) if years else 0

    def _one(self, make: str, model: str, years: set[int]) -> str:
        return " ".join(p for p in (make, model, _ranges(sorted(years))) if p)

    def text(self) -> str:
        return "; ".join(self._one(make, model, years) for (make, model), years in self.by_model.items()) or "not given"

    def short(self) -> str:
        items = [self._one(make, model, years) for (make, model), years in self.by_model.items()]
        if len(items) <= 2:
            return ", ".join(items) or "vehicle not given"
        return f"{items[0]} and {len(items) - 1} more"

    def makes(self) -> str:
        return ", ".join(OrderedDict.fromkeys(make for make, _ in self.by_model if make))

    def models(self) -> str:
        return ", ".join(OrderedDict.fromkeys(model for _, model in self.by_model if model))

    def delimited(self) -> str:
        names = [" ".join(p for p in pair if p) for pair in self.by_model]
        return "," + ",".join(n.replace(",", " ") for n in names if n) + "," if names else ""


def _ranges(years: list[int]) -> str:
    if not years:
        return ""
    out, start, prev = [], years[0], years[0]
    for year in years[1:] + [None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ", ".join(out)


def _dates(pairs) -> str:
    parts = [f"{label} {_iso(value)}" for label, value in pairs if value]
    return ("; ".join(parts) + ".") if parts else ""


def _iso(value: str) -> str:
    match = _DATE.match(value or "")
    return f"{match.group(1)}-{match.group(2)}-{match.group(3)}" if match else (value or "")


def _int(value: str) -> int:
    try:
        return int(str(value).strip() or 0)
    except ValueError:
        return 0


def _yes_no(value: str) -> str:
    return {"Y": "yes", "N": "no"}.get(value, "not given")


def _longest(rows: list[dict[str, str]], name: str) -> str:
    return max((" ".join(r.get(name, "").split()) for r in rows), key=len, default="")
