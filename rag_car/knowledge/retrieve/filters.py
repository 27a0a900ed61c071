"""Filters + the catalog -> a row mask for BM25 and a Chroma ``where`` clause; questions -> inferred vehicle/year.

Matching rules (the same on both sides):
- make / model: case-insensitive; a model also matches a stored model that starts with it as a word
  ("Focus" matches "FOCUS SVT"); chunks with no make/model (generic references) always pass.
- year: inside the chunk's [year_min, year_max]; chunks with no year (0) always pass.
- doc_types: the chunk's doc_type is one of them. sources: the chunk's source path ends with one of them.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.knowledge.retrieve.passage import Filters
from rag_car.knowledge.tags import DOC_TYPES

_YEAR = re.compile(r"(?<![\d.])(19[5-9]\d|20[0-4]\d)(?![\d.])")
_SHORT_YEAR = re.compile(r"(?<![\w'’])['’](\d{2})(?!\d)")


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def same_name(a: str, b: str) -> bool:
    """Do two make or model names say the same thing (case, spacing and punctuation aside)?"""
    return _norm(a) == _norm(b)


def split_names(value: str) -> list[str]:
    """A make or model column may list several ("ADMIRAL SE, NAVIGATOR" for a campaign over several models)."""
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _matching_values(values: list[str], wanted: str, prefix: bool) -> list[str]:
    """The stored values (whole column values) of which one listed name matches ``wanted``."""
    target = _norm(wanted)
    out = []
    for value in values:
        for name in split_names(value):
            norm = _norm(name)
            if norm == target or (prefix and norm.startswith(target + " ")):
                out.append(value)
                break
    return out


def row_mask(filters: Filters, catalog: Catalog) -> np.ndarray | None:
    """A boolean mask over the catalog rows (None: no filter)."""
    if filters.is_empty() or catalog.size == 0:
        return None
    mask = np.ones(catalog.size, dtype=bool)
    for column, wanted, prefix in (("make", filters.make, False), ("model", filters.model, True)):
        if wanted:
            mask &= _name_rows(catalog, column, wanted, prefix)
    if filters.year:
        year = int(filters.year)
        mask &= (catalog.year_min == 0) | ((catalog.year_min <= year) & (catalog.year_max >= year))
    if filters.doc_types:
        mask &= catalog.rows_with_values("doc_type", set(filters.doc_types))
    if filters.sources:
        suffixes = tuple(filters.sources)
        mask &= catalog.rows_with_values("source", {v for v in catalog.distinct("source") if v.endswith(suffixes)})
    return mask


def _name_rows(catalog: Catalog, column: str, wanted: str, prefix: bool) -> np.ndarray:
    """The rows whose make/model matches ``wanted`` or is empty; kept per catalog (a few vehicles are asked about)."""
    cache = catalog._cache.setdefault("name_rows", {})
    key = (column, _norm(wanted), prefix)
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        allowed = set(_matching_values(catalog.distinct(column), wanted, prefix)) | {""}
        cache[key] = catalog.rows_with_values(column, allowed)
    return cache[key]


def chroma_where(filters: Filters, catalog: Catalog) -> dict[str, Any] | None:
    """The same filter as :func:`row_mask`, as a Chroma ``where`` clause over the stored values (None: no filter)."""
    clauses: list[dict[str, Any]] = []
    for column, wanted, prefix in (("make", filters.make, False), ("model", filters.model, True)):
        if wanted:
            allowed = sorted(set(_matching_values(catalog.distinct(column), wanted, prefix)) | {""})
            clauses.append({column: {"$in": allowed}})
    if filters.year:
        year = int(filters.year)
        clauses.append({"$or": [
            {"year_min": {"$eq": 0}},
            {"$and": [{"year_min": {"$lte": year}}, {"year_max": {"$gte": year}}]},
        ]})
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": list(filters.doc_types)}})
    if filters.sources:
        suffixes = tuple(filters.sources)
        allowed = [s for s in catalog.distinct("source") if s.endswith(suffixes)] or ["\x00no-such-source"]
        clauses.append({"source": {"$in": allowed}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


_DOC_TYPE_WORDS = (
    ("bulletin", re.compile(r"\b(?:bulletins?|tsbs?|service\s+bulletins?)\b", re.IGNORECASE)),
    ("recall", re.compile(r"\b(?:recalls?|recalled|campaigns?)\b", re.IGNORECASE)),
    ("complaint", re.compile(r"\bcomplaints?\b", re.IGNORECASE)),
    ("investigation", re.compile(r"\b(?:investigations?|investigated|defect\s+petitions?)\b", re.IGNORECASE)),
    ("owner_manual", re.compile(r"\bowner'?s?\s+manual\b", re.IGNORECASE)),
    ("service_manual", re.compile(r"\b(?:service|workshop|repair)\s+manual\b", re.IGNORECASE)),
)


def doc_type_intent(question: str) -> set[str]:
    """The document types a question asks for by name ("any bulletin?", "is there a recall"): a preference
    used to order equally good candidates, never a filter."""
    return {doc_type for doc_type, pattern in _DOC_TYPE_WORDS if pattern.search(question)}


def parse_vehicle(text: str, catalog: Catalog | None = None) -> Filters:
    """"Ford Focus 2001", "focus 2001", "2019" -> Filters(make, model, year).

    With a catalog, words are matched against the indexed makes and models; without one (or when nothing
    matches), the first word is taken as the make and the rest as the model.
    """
    raw = " ".join((text or "").split())
    year = None
    m = _YEAR.search(raw)
    if m:
        year = int(m.group(1))
        raw = (raw[: m.start()] + " " + raw[m.end():]).strip()
    raw = raw.replace("/", " ").strip()
    if not raw:
        return Filters(year=year)
    if catalog is not None:
        found = _find_vehicle(raw, catalog, strict=False)
        if found.make or found.model:
            return Filters(make=found.make, model=found.model, year=year)
    words = raw.split()
    return Filters(make=words[0], model=" ".join(words[1:]) or None, year=year)


def _find_vehicle(text: str, catalog: Catalog, strict: bool) -> Filters:
    """The indexed make and model named in ``text`` (whole words, case-insensitive).

    strict (for questions): a model alone counts only when it is not an everyday word, i.e. it is written
    capitalised or with a digit in the question and is not its first word.
    """
    padded = f" {_norm(text)} "
    makes_norm, pairs_norm = _normalised_names(catalog)
    makes = [m for m, norm in makes_norm if norm and f" {norm} " in padded]
    if not makes:
        # "Mercedes" for MERCEDES BENZ: the first word of a longer make, when it is a real word (4+ letters)
        makes = [m for m, norm in makes_norm
                 if len(norm.split()) > 1 and len(norm.split()[0]) >= 4 and f" {norm.split()[0]} " in padded]
    make = max(makes, key=len) if makes else None
    make_norm = _norm(make) if make else ""
    models = []
    for mk, md, mk_norm, norm in pairs_norm:
        if not norm or f" {norm} " not in padded:
            continue
        if make and mk and mk_norm != make_norm:
            continue
        if strict and not make and (norm.replace(" ", "").isdigit() or not _looks_like_a_name(text, md)):
            continue  # "300" alone is a number, "focus" alone an everyday word
        models.append((mk, md))
    if not make and len({_norm(mk) for mk, _ in models}) > 1:
        models = []  # the same model name under several makes: which one is not known
    if models:
        mk, md = max(models, key=lambda item: len(item[1]))
        return Filters(make=make or mk or None, model=md)
    return Filters(make=make)


def _normalised_names(catalog: Catalog) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, str]]]:
    """The catalog's makes and (make, model) pairs with their normalised spellings, worked out once per catalog."""
    cached = catalog._cache.get("normalised_names")
    if cached is None:
        makes = [(m, _norm(m)) for m in catalog.vehicle_makes()]
        pairs = [(mk, md, _norm(mk), _norm(md)) for mk, md in catalog.vehicle_pairs()]
        cached = catalog._cache["normalised_names"] = (makes, pairs)
    return cached


def _looks_like_a_name(text: str, model: str) -> bool:
    pattern = re.compile(r"(?<![A-Za-z0-9])" + r"\W+".join(re.escape(w) for w in model.split()) + r"(?![A-Za-z0-9])", re.IGNORECASE)
    for m in pattern.finditer(text):
        written = m.group(0)
        if m.start() == 0 and not any(ch.isdigit() for ch in written):
            continue
        if any(ch.isdigit() for ch in written) or written[:1].isupper():
            return True
    return False


def infer_filters(question: str, catalog: Catalog) -> tuple[Filters, list[str]]:
    """The vehicle and model year the question names *and the index knows*, and which fields were inferred."""
    inferred: list[str] = []
    found = _find_vehicle(question, catalog, strict=True) if catalog.size else Filters()
    year = None
    for m in _YEAR.finditer(question):
        candidate = int(m.group(1))
        if _year_is_indexed(candidate, catalog, found):
            year = candidate
            break
    if year is None:
        for m in _SHORT_YEAR.finditer(question):
            value = int(m.group(1))
            candidate = 2000 + value if value < 50 else 1900 + value
            if _year_is_indexed(candidate, catalog, found):
                year = candidate
                break
    result = Filters(make=found.make, model=found.model, year=year)
    inferred = [name for name in ("make", "model", "year") if getattr(result, name)]
    return result, inferred


def _year_is_indexed(year: int, catalog: Catalog, vehicle: Filters) -> bool:
    inside = (catalog.year_min > 0) & (catalog.year_min <= year) & (catalog.year_max >= year)
    if not inside.any():
        return False
    if vehicle.make or vehicle.model:
        mask = row_mask(Filters(make=vehicle.make, model=vehicle.model), catalog)
        return bool((inside & mask & catalog.vehicle_rows()).any())
    return True


def describe_unknown_vehicle(filters: Filters, catalog: Catalog) -> str | None:
    """A note when the vehicle filter names a make/model/year no chunk has (only generic documents remain)."""
    if not (filters.make or filters.model or filters.year):
        return None
    vehicle_rows = catalog.vehicle_rows()
    mask = row_mask(Filters(make=filters.make, model=filters.model, year=filters.year), catalog)
    if mask is None or (mask & vehicle_rows).any() or not vehicle_rows.any():
        return None
    known = ", ".join(
        " ".join(str(x) for x in (v["make"], v["model"], _span(v)) if x) for v in catalog.vehicles()[:8]
    )
    wanted = " ".join(str(v) for v in (filters.make, filters.model, filters.year) if v)
    return f"no indexed document is about the vehicle {wanted!r}; showing general documents only (indexed vehicles: {known})"


def _span(vehicle: dict[str, Any]) -> str:
    low, high = vehicle["year_min"], vehicle["year_max"]
    if not low:
        return ""
    return str(low) if high in (0, low) else f"{low}-{high}"
