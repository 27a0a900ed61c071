"""Retrieved passages + the retriever's catalog -> the other chunks of their sections, in reading order.

A section cut into several chunks is one text: the step, table row or value a question needs may sit in the
chunk next to the one retrieval ranked, and overlapping chunk boundaries cut sentences in two. The answer side
reads the whole section of its best passages (a bounded number of chunks), so that the chunker's boundaries
never decide what the answer can say.
"""

from __future__ import annotations

import threading
from typing import Any

MAX_CHUNKS_PER_SECTION = 6  # a long table section (torque specifications) is not read whole


class SectionIndex:
    """(source, section) -> the catalog rows of that section in reading order, built once per catalog."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._rows: dict[tuple[str, str], list[int]] = {}
        self._lock = threading.Lock()

    def rows(self, catalog: Any, source: str, section: str) -> list[int]:
        with self._lock:
            if catalog is not self._catalog:
                index: dict[tuple[str, str], list[int]] = {}
                sources, sections = catalog.columns["source"], catalog.columns["section"]
                for row in range(catalog.size):
                    if sections[row]:
                        index.setdefault((sources[row], sections[row]), []).append(row)
                order = catalog.chunk_index
                for rows in index.values():
                    rows.sort(key=lambda r: int(order[r]) if len(order) > r else r)
                self._rows, self._catalog = index, catalog
            return self._rows.get((source, section), [])


def section_siblings(retriever: Any, index: SectionIndex, passages: list[Any], sections: int = 2) -> list[Any]:
    """Passages for the chunks of the first ``sections`` distinct sections of ``passages`` that retrieval did
    not return, each scored as its best retrieved sibling (empty when the retriever keeps no catalog)."""
    from rag_car.knowledge.retrieve import Passage

    state = getattr(retriever, "lexical", None)
    catalog = getattr(state, "catalog", None)
    records = getattr(state, "records", None)
    if catalog is None or records is None or not hasattr(catalog, "columns"):
        return []
    have = {p.chunk_id for p in passages}
    out: list[Any] = []
    seen: list[tuple[str, str]] = []
    try:
        for passage in passages:
            key = (passage.source, passage.section)
            if not passage.section or key in seen:
                continue
            seen.append(key)
            if len(seen) > sections:
                break
            rows = index.rows(catalog, *key)
            if len(rows) > MAX_CHUNKS_PER_SECTION:
                # the chunks around the retrieved one(s), not the whole of a long section
                mine = [i for i, r in enumerate(rows) if catalog.ids[r] in have]
                if not mine:
                    continue
                low = max(0, min(mine) - 1)
                rows = rows[low:low + MAX_CHUNKS_PER_SECTION]
            missing = [r for r in rows if catalog.ids[r] not in have]
            for row, chunk in sorted(records.get(missing).items()):
                have.add(chunk.id)
                out.append(Passage(chunk_id=chunk.id, text=chunk.text, score=passage.score, ranks={},
                                   metadata=dict(chunk.metadata)))
    except Exception:  # a catalog of another shape, records gone: answer from what retrieval returned
        return []
    return out
