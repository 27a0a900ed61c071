"""Chunks -> a Catalog: row order, the metadata columns the filters need, and which rows carry which code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Protocol, Sequence

import numpy as np

from rag_car.text.codes import Code, code_key, find_codes, heading_refs, split_delimited

# "Supersedes | ASB-21-015", "THIS CAMPAIGN SUPERSEDES NHTSA CAMPAIGN NOS. 01V-139.001 AND 02V-037.002"
_SUPERSEDES = re.compile(r"\bsupersedes\b[^A-Za-z0-9]*((?:[^.\n]|\.\d){0,120})", re.IGNORECASE)
# A model-year range in a heading: "TP-01 TPMS sensor relearn, 2019-2021", "2022 and later"
_HEADING_YEARS = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:-|–|to)\s*((?:19|20)\d{2})(?!\d)|(?<!\d)((?:19|20)\d{2})\s*(?:and later|and newer|on|onwards|\+)")

# The metadata kept per row (everything else is read from the store when a passage is shown).
_TEXT_COLUMNS = ("source", "title", "doc_type", "make", "model", "section")


class ChunkLike(Protocol):
    id: str
    text: str
    metadata: dict[str, Any]


@dataclass
class Catalog:
    """Row-aligned columns of the indexed chunks, plus ``codes``: code key -> rows (metadata carriers first)."""

    ids: list[str]
    columns: dict[str, list[str]]
    year_min: np.ndarray
    year_max: np.ndarray
    codes: dict[str, list[int]] = field(default_factory=dict)
    # rows whose *metadata* (codes/refs) names the code; the others only mention it in the text
    code_in_metadata: dict[str, set[int]] = field(default_factory=dict)
    # number of distinct codes each row carries (a table of 50 codes is less specific than a page about one)
    code_count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # code keys that another indexed document says it supersedes (an older bulletin or campaign)
    superseded: set[str] = field(default_factory=set)
    # position of each chunk in its document (reading order)
    chunk_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    # BM25 tokens of each chunk's own text, its headings left out (a banner or "Page 1" has one or two)
    text_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    _row_of: dict[str, int] | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.ids)

    def row_of(self, chunk_id: str) -> int | None:
        if self._row_of is None:
            self._row_of = {cid: i for i, cid in enumerate(self.ids)}
        return self._row_of.get(chunk_id)

    @classmethod
    def build(cls, chunks: Iterable[ChunkLike], text_codes: Sequence[Sequence[Code]] | None = None) -> "Catalog":
        """The catalog of ``chunks`` in the order given. ``text_codes``: the codes of each chunk's text when the
        caller has found them already (row-aligned)."""
        heading_keys: dict[str, set[str]] = {}  # one title + section path is shared by many chunks
        ids: list[str] = []
        columns: dict[str, list[str]] = {name: [] for name in _TEXT_COLUMNS}
        ymin: list[int] = []
        ymax: list[int] = []
        order: list[int] = []
        codes: dict[str, list[int]] = {}
        in_meta: dict[str, set[int]] = {}
        counts: list[int] = []
        superseded: set[str] = set()
        for row, chunk in enumerate(chunks):
            meta = chunk.metadata or {}
            ids.append(chunk.id)
            for name in _TEXT_COLUMNS:
                columns[name].append(str(meta.get(name, "") or ""))
            low = _as_int(meta.get("year_min"))
            high = _as_int(meta.get("year_max")) or low
            ymin.append(low)
            ymax.append(max(high, low))
            order.append(_as_int(meta.get("chunk_index")))
            keys_meta = {code_key(c) for c in split_delimited(meta.get("codes")) + split_delimited(meta.get("refs"))}
            keys_meta.discard("")
            # the title and section often carry the number of a bulletin or campaign
            heading = f"{meta.get('title', '')}\n{meta.get('section', '')}"
            in_heading = heading_keys.get(heading)
            if in_heading is None:
                in_heading = heading_keys[heading] = {c.key for c in find_codes(heading)} | set(heading_refs(heading))
            found = text_codes[row] if text_codes is not None else find_codes(chunk.text)
            keys_text = {c.key for c in found} | in_heading
            for key in keys_meta | keys_text:
                codes.setdefault(key, []).append(row)
            for key in keys_meta:
                in_meta.setdefault(key, set()).add(row)
            counts.append(len(keys_meta | keys_text))
            for m in _SUPERSEDES.finditer(chunk.text) if "upersed" in chunk.text.lower() else ():
                superseded.update(c.key for c in find_codes(m.group(1)))
        return cls(
            ids=ids, columns=columns,
            year_min=np.asarray(ymin, dtype=np.int32), year_max=np.asarray(ymax, dtype=np.int32),
            codes=codes, code_in_metadata=in_meta, code_count=np.asarray(counts, dtype=np.int32), superseded=superseded,
            chunk_index=np.asarray(order, dtype=np.int32),
        )

    def save(self, path: Path) -> None:
        data = {
            "ids": self.ids,
            "columns": self.columns,
            "year_min": self.year_min.tolist(),
            "year_max": self.year_max.tolist(),
            "codes": self.codes,
            "code_in_metadata": {k: sorted(v) for k, v in self.code_in_metadata.items()},
            "code_count": self.code_count.tolist(),
            "superseded": sorted(self.superseded),
            "chunk_index": self.chunk_index.tolist(),
            "text_tokens": self.text_tokens.tolist(),
        }
        path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Catalog":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            ids=data["ids"], columns=data["columns"],
            year_min=np.asarray(data["year_min"], dtype=np.int32), year_max=np.asarray(data["year_max"], dtype=np.int32),
            codes=data["codes"], code_in_metadata={k: set(v) for k, v in data["code_in_metadata"].items()},
            code_count=np.asarray(data["code_count"], dtype=np.int32), superseded=set(data.get("superseded", [])),
            chunk_index=np.asarray(data["chunk_index"], dtype=np.int32),
            text_tokens=np.asarray(data.get("text_tokens", []), dtype=np.int32),
        )

    def code_rows(self, key: str) -> set[int]:
        """The rows that carry a code key (metadata or text), as a set; computed once per key."""
        cache = self._cache.setdefault("code_rows", {})
        if key not in cache:
            cache[key] = set(self.codes.get(key, ()))
        return cache[key]

    def heading_keys_of(self, heading: str) -> set[str]:
        """The code keys a heading names (its codes and identifiers); computed once per distinct heading."""
        cache = self._cache.setdefault("heading_keys", {})
        if heading not in cache:
            cache[heading] = {c.key for c in find_codes(heading)} | set(heading_refs(heading))
        return cache[heading]

    def is_superseded(self, row: int) -> bool:
        """Is this row part of a document (by its title's bulletin or campaign number) that a newer one supersedes?"""
        if not self.superseded:
            return False
        return bool(self.heading_keys_of(self.columns["title"][row]) & self.superseded)

    def heading_years(self, row: int) -> tuple[int, int] | None:
        """The model-year range the row's innermost heading names ("..., 2019-2021"), or None."""
        cache = self._cache.setdefault("heading_years", {})
        section = self.columns["section"][row].rsplit(" > ", 1)[-1]
        if section not in cache:
            m = _HEADING_YEARS.search(section)
            if m is None:
                cache[section] = None
            elif m.group(1):
                cache[section] = (int(m.group(1)), int(m.group(2)))
            else:
                cache[section] = (int(m.group(3)), 9999)
        return cache[section]

    def distinct(self, column: str) -> list[str]:
        """The distinct non-empty values of a text column, sorted."""
        values, _ = self.categories(column)
        return [v for v in values if v]

    def categories(self, column: str) -> tuple[list[str], np.ndarray]:
        """(distinct values, per-row index into them) of a text column; computed once."""
        key = f"cat:{column}"
        if key not in self._cache:
            values = sorted(set(self.columns.get(column, [])))
            index = {v: i for i, v in enumerate(values)}
            codes = np.fromiter((index[v] for v in self.columns.get(column, [])), dtype=np.int32, count=self.size)
            self._cache[key] = (values, codes)
        return self._cache[key]

    def rows_with_values(self, column: str, allowed: set[str]) -> np.ndarray:
        """Boolean mask of the rows whose ``column`` is one of ``allowed``."""
        values, codes = self.categories(column)
        wanted = np.asarray([i for i, v in enumerate(values) if v in allowed], dtype=np.int32)
        return np.isin(codes, wanted)

    def vehicle_pairs(self) -> list[tuple[str, str]]:
        """The distinct (make, model) names with a model; a row listing several makes pairs its models with ""."""
        if "pairs" not in self._cache:
            pairs = set()
            for make_value, model_value in set(zip(self.columns["make"], self.columns["model"])):
                makes = _names(make_value)
                for model in _names(model_value):
                    pairs.add((makes[0] if len(makes) == 1 else "", model))
            self._cache["pairs"] = sorted(pairs)
        return self._cache["pairs"]

    def vehicle_makes(self) -> list[str]:
        """Every make name indexed (rows listing several makes contribute each)."""
        if "makes" not in self._cache:
            self._cache["makes"] = sorted({name for value in self.distinct("make") for name in _names(value)})
        return self._cache["makes"]

    def vehicle_rows(self) -> np.ndarray:
        """Boolean mask of the rows about a particular vehicle (a make or a model is set)."""
        if "vehicle_rows" not in self._cache:
            self._cache["vehicle_rows"] = ~(self.rows_with_values("make", {""}) & self.rows_with_values("model", {""}))
        return self._cache["vehicle_rows"]

    def vehicles(self) -> list[dict[str, Any]]:
        """Each (make, model) indexed, with the widest model-year range seen for it."""
        spans: dict[tuple[str, str], list[int]] = {}
        for row, (make_value, model_value) in enumerate(zip(self.columns["make"], self.columns["model"])):
            if not make_value and not model_value:
                continue
            makes = _names(make_value) or [""]
            models = _names(model_value) or [""]
            if len(makes) > 1:  # several makes in one record: the pairing is not known
                names = [(m, "") for m in makes]
            else:
                names = [(makes[0], m) for m in models]
            low, high = int(self.year_min[row]), int(self.year_max[row])
            for name in names:
                span = spans.setdefault(name, [0, 0])
                if low:
                    span[0] = low if not span[0] else min(span[0], low)
                    span[1] = max(span[1], high)
        return [
            {"make": make, "model": model, "year_min": span[0], "year_max": span[1]}
            for (make, model), span in sorted(spans.items(), key=lambda item: (item[0][0].lower(), item[0][1].lower()))
        ]


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
