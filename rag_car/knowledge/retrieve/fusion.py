"""Several ranked lists of chunk ids -> one fused ranking (reciprocal rank fusion, or weighted normalised scores)."""

from __future__ import annotations

from dataclasses import dataclass, field

FUSIONS = ("rrf", "weighted")


@dataclass
class Fused:
    """One fused candidate: its fused score and, per retriever, its 1-based rank and raw score."""

    chunk_id: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)


def reciprocal_rank_fusion(
    rankings: dict[str, list[tuple[str, float]]], k: int = 60, weights: dict[str, float] | None = None,
) -> list[Fused]:
    """RRF (Cormack et al. 2009): score = sum over retrievers of weight / (k + rank).

    ``rankings``: retriever name -> [(chunk_id, raw score)] best first. Ties are broken by the best single rank,
    then by chunk id, so the result is deterministic.
    """
    weights = weights or {}
    fused: dict[str, Fused] = {}
    for name, ranking in rankings.items():
        w = weights.get(name, 1.0)
        for rank, (chunk_id, raw) in enumerate(ranking, 1):
            item = fused.setdefault(chunk_id, Fused(chunk_id, 0.0))
            if name in item.ranks:
                continue
            item.ranks[name] = rank
            item.raw[name] = raw
            item.score += w / (k + rank)
    return _sorted(fused.values())


def weighted_fusion(rankings: dict[str, list[tuple[str, float]]], weights: dict[str, float] | None = None) -> list[Fused]:
    """Convex combination of min-max normalised scores within each list (a missing entry counts 0)."""
    weights = weights or {}
    fused: dict[str, Fused] = {}
    for name, ranking in rankings.items():
        if not ranking:
            continue
        w = weights.get(name, 1.0)
        scores = [raw for _, raw in ranking]
        high, low = max(scores), min(scores)
        span = high - low
        for rank, (chunk_id, raw) in enumerate(ranking, 1):
            item = fused.setdefault(chunk_id, Fused(chunk_id, 0.0))
            if name in item.ranks:
                continue
            item.ranks[name] = rank
            item.raw[name] = raw
            item.score += w * ((raw - low) / span if span > 0 else 1.0)
    return _sorted(fused.values())


def fuse(rankings: dict[str, list[tuple[str, float]]], method: str = "rrf", k: int = 60,
         weights: dict[str, float] | None = None) -> list[Fused]:
    """Fuse with the named method (one of FUSIONS)."""
    if method == "rrf":
        return reciprocal_rank_fusion(rankings, k=k, weights=weights)
    if method == "weighted":
        return weighted_fusion(rankings, weights=weights)
    raise ValueError(f"unknown fusion {method!r}; valid: {', '.join(FUSIONS)}")


def _sorted(items) -> list[Fused]:
    return sorted(items, key=lambda f: (-f.score, min(f.ranks.values()) if f.ranks else 1 << 30, f.chunk_id))
