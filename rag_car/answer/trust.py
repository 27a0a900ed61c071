"""Sources + the answer's candidate sentences -> where the sources disagree on a maintenance or safety fact.

One source says an item never needs service and another gives its interval; two give different values for the
same quantity; one says "keep driving" and the other "stop"; two trouble-code references define the same generic
(SAE J2012) code as different faults. Each disagreement is ordered by the sources' trust
levels (rag_car/knowledge/trust.py), so that the answer names both and leads with the more trusted one. Read from
the form of the sentences (a denied requirement, an interval, a quantity and its unit), not from known claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from rag_car.answer.grounding import Part
from rag_car.answer.sentences import UNIT_TERMS, split_sentences, terms
from rag_car.answer.sources import DocSource, build_sources
from rag_car.knowledge.trust import describe_trust, trust_of, trust_rank

# "never needs changing", "does not need to be replaced", "no need to", "lifetime fill", "for the life of the
# vehicle": an item said to need no service (English forms of a denied requirement, not any one document's words).
_NO_SERVICE = re.compile(
    r"\bnever\s+(?:\w+\s+)?(?:needs?|requires?|has\s+to|have\s+to|must|should)\b"
    r"|\b(?:does|do|did|will|would)\s*(?:n['’]t|\s+not)\s+(?:ever\s+)?(?:need|require|have\s+to)\b"
    r"|\bnot\s+(?:\w+\s+)?(?:necessary|needed|required)\b|\bno\s+(?:need|requirement)\b|\bunnecessary\b|\bneedless\b"
    r"|\boptional\b|\bcan\s+(?:safely\s+)?be\s+(?:ignored|skipped|left)\b",
    re.IGNORECASE,
)
# Forms that deny service by themselves: "lifetime part", "sealed for life", "for the life of the vehicle".
_FOR_LIFE = re.compile(
    r"\b(?:life-?time|sealed[- ]for[- ]life|filled[- ]for[- ]life|fill(?:ed)?\s+for\s+life|maintenance[- ]free)\b"
    r"|\bfor\s+the\s+(?:whole\s+|entire\s+)?(?:life|lifetime)\s+of\s+the\b",
    re.IGNORECASE,
)
# A service step ("replace", "inspect", "rotate") and an interval ("every 3 years", "at 96,000 km", "annually").
_SERVICE_STEP = re.compile(r"\b(?:replac|chang|renew|flush|inspect|inspection|check|rotat|top\w*\s+up|drain|refill|bleed)\w*",
                           re.IGNORECASE)
_INTERVAL = re.compile(r"\b(?:every|annually|yearly|monthly|weekly|intervals?)\b|\beach\s+(?:\d|years?|months?|weeks?|service)"
                       r"|\bat\s+\d[\d,.]*\s*(?:km|mi\b|miles|months|years)", re.IGNORECASE)
# Driving on against stopping, for a warning or a fault.
_DRIVE_ON = re.compile(
    r"\b(?:safe|fine|ok|okay)\s+to\s+(?:keep\s+)?(?:drive|driving|continue)\b|\b(?:can|may|could)\s+(?:safely\s+)?"
    r"(?:keep|continue|carry\s+on)\s+(?:driving|to\s+drive|your\s+journey)\b|\bkeep\s+driving\b|\bno\s+need\s+to\s+stop\b"
    r"|\bcontinue\s+(?:driving|your\s+journey)\s+(?:normally|as\s+usual)\b|\b(?:can|may)\s+be\s+(?:safely\s+)?ignored\b",
    re.IGNORECASE,
)
_STOP = re.compile(r"\b(?:stop|pull\s+over|switch\s+off\s+the\s+engine|turn\s+off\s+the\s+engine|do\s+not\s+drive|"
                   r"don't\s+drive|do\s+not\s+continue|have\s+(?:the\s+vehicle|it)\s+towed)\b", re.IGNORECASE)

# A trouble-code reference's line: "P0420: Catalyst system efficiency below threshold (Bank 1)". Only generic codes
# (P0, P2, C0, B0, U0) have one meaning for every maker: two references that define one differently disagree.
_DEFINITION = re.compile(r"^\W{0,3}([PCBU][0-9A-F]{4})\b\W{0,3}\s*[:\-–—]\s*(\S.*)$", re.IGNORECASE)
_GENERIC = re.compile(r"^(?:[PCBU]0|P2)", re.IGNORECASE)
# Words a definition shares with any other (its form, not its fault)
_DEFINITION_WORDS = frozenset(terms("code codes circuit malfunction fault system sensor bank range performance"))

# Quantities: unit -> (dimension, factor to the dimension's base unit: km, month, kPa, Nm, L).
_UNITS = {
    "km": ("distance", 1.0), "kilometre": ("distance", 1.0), "kilometer": ("distance", 1.0),
    "mi": ("distance", 1.609344), "mile": ("distance", 1.609344),
    "year": ("time", 12.0), "yr": ("time", 12.0), "month": ("time", 1.0), "week": ("time", 12 / 52.0),
    "kpa": ("pressure", 1.0), "psi": ("pressure", 6.894757), "bar": ("pressure", 100.0),
    "nm": ("torque", 1.0), "n·m": ("torque", 1.0), "lb-ft": ("torque", 1.355818), "lbft": ("torque", 1.355818),
    "l": ("volume", 1.0), "litre": ("volume", 1.0), "liter": ("volume", 1.0), "qt": ("volume", 0.946353),
}
_QUANTITY = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(km|kilomet(?:re|er)s?|mi(?:les?)?|years?|yrs?|months?|weeks?|kpa|psi|bar|"
    r"n·?m|lb-?ft|l|lit(?:re|er)s?|qt)\b",
    re.IGNORECASE,
)
_INTERVAL_BEFORE = re.compile(r"\b(?:every|each|after|interval\w*\s+of|first\s+at|then\s+every)\s+(?:\S+\s+){0,1}$", re.I)
# Words of maintenance schedules and of ranking, not of what an item is: "Brake fluid interval (normal service):
# Every 3 years" is about brake fluid. (Stemmed by terms() below, like the sentences.)
_SCHEDULE_WORDS = frozenset(terms(
    "interval intervals every each first then service services servicing normal severe schedule maintenance need needs "
    "needed require required change changes changing changed replace replaces replacing replaced replacement renew "
    "inspect inspection check checks vehicle car life lifetime time times never always year years month months "
    "mile miles kilometres km whichever comes distance item should must can may will"))


@dataclass(frozen=True)
class Claim:
    """A sentence of a source read as a maintenance or safety statement."""

    n: int  # the source number
    text: str
    source: str
    title: str
    trust: str
    subject: frozenset[str]
    no_service: bool
    service: bool
    drive_on: bool
    stop: bool
    quantities: tuple[tuple[str, str, float], ...]  # (dimension, "interval" | "value", value in base units)
    definition: tuple[str, frozenset[str]] | None = None  # a generic trouble code and its definition's terms


@dataclass(frozen=True)
class Disagreement:
    """Two sources that disagree: ``first`` is the more trusted (or, at equal trust, the better ranked) one."""

    first: Claim
    second: Claim
    kind: str  # "service" (needs none / has an interval), "quantity", "driving" (keep driving / stop), "definition"

    @property
    def equal_trust(self) -> bool:
        return trust_rank(self.first.trust) == trust_rank(self.second.trust)

    def sentences(self) -> tuple[str, str, str]:
        """(the lead-in and the more trusted source's words, the other source's words, the closing advice): three
        pieces to cite the two sources [first] and [second] in turn."""
        first, second = self.first, self.second
        lead = f"The sources disagree here. {_name(first, capital=True)} says: \u201c{_quote(first.text)}\u201d"
        other = f"{_name(second, capital=True)} says instead: \u201c{_quote(second.text)}\u201d"
        if self.kind == "definition":
            advice = ("A generic code has one meaning, so one of these references is wrong: check the code in the "
                      "vehicle maker's service information before repairing anything.")
        elif self.equal_trust:
            advice = "Both carry the same weight, so check with a dealer before relying on either."
        else:
            advice = f"Follow the {describe_trust(first.trust)}: it is the more trusted source."
        return lead, other, advice


@dataclass
class Disagreements:
    """What :func:`find_disagreements` found, and the sources it searched for to find it."""

    found: list[Disagreement] = field(default_factory=list)
    added: list[DocSource] = field(default_factory=list)  # sources found by searching, to add to the answer's

    @property
    def quoted(self) -> set[str]:
        """The sentences the note quotes: not repeated as the answer's own words (the less trusted one is never
        asserted; the more trusted one is already said)."""
        return {c.text for d in self.found for c in (d.first, d.second)}

    def paragraphs(self, number: Callable[[int], int]) -> list[str]:
        """The note, one paragraph per disagreement, the more trusted source's words first; ``number(n)`` is the
        number the answer shows for source ``n``."""
        out = []
        for d in self.found:
            lead, other, advice = d.sentences()
            out.append(f"{lead} [{number(d.first.n)}]. {other} [{number(d.second.n)}]. {advice}")
        return out

    def keep(self, part: Part) -> bool:
        """False for a body part that says what the note quotes."""
        text = " ".join(part.text.split())
        return not any(q in text or text in q for q in self.quoted)


def claim_of(doc: DocSource, text: str) -> Claim:
    """``text`` (a sentence of ``doc``) as a Claim."""
    passage = doc.passage
    meta = getattr(passage, "metadata", {}) or {}
    subject = frozenset(t for t in terms(text) if t not in _SCHEDULE_WORDS and t not in UNIT_TERMS
                        and not any(ch.isdigit() for ch in t))
    return Claim(n=doc.n, text=text, source=str(passage.source), title=str(passage.title or passage.source),
                 trust=trust_of(meta), subject=subject,
                 no_service=bool(_FOR_LIFE.search(text) or (_NO_SERVICE.search(text) and _SERVICE_STEP.search(text))),
                 service=bool(_INTERVAL.search(text) or _SERVICE_STEP.search(text)), drive_on=bool(_DRIVE_ON.search(text)),
                 stop=bool(_STOP.search(text)), quantities=_quantities(text), definition=_definition(text))


def disagreement(a: Claim, b: Claim) -> str | None:
    """The kind of disagreement between two claims of different documents, or None.

    An item that needs no service against the same item's interval or service step disagrees at any trust
    level. Different values for the same quantity and "keep driving" against "stop" are read as a disagreement
    only between sources of different trust: a maker's documents give different values for different variants
    and conditions (severe service, the hybrid), which the words alone cannot tell apart.
    """
    if a.source == b.source:
        return None
    if a.definition and b.definition:
        (code_a, words_a), (code_b, words_b) = a.definition, b.definition
        if code_a != code_b or not words_a or not words_b:
            return None
        return "definition" if 2 * len(words_a & words_b) < min(len(words_a), len(words_b)) else None
    if not _same_subject(a.subject, b.subject):
        # values are compared on a looser match (two terms in common): a quantity's sentence names its item and
        # its case ("front", "normal load") among other words
        if trust_rank(a.trust) != trust_rank(b.trust) and len(a.subject & b.subject) >= 2 \
                and _quantities_conflict(*_low_high(a, b)):
            return "quantity"
        return None
    if (a.no_service and b.service and not b.no_service) or (b.no_service and a.service and not a.no_service):
        return "service"
    if trust_rank(a.trust) == trust_rank(b.trust):
        return None
    if (a.drive_on and b.stop and not b.drive_on) or (b.drive_on and a.stop and not a.drive_on):
        return "driving"
    if _quantities_conflict(*_low_high(a, b)):
        return "quantity"
    return None


def find_disagreements(docs: Sequence[DocSource], candidates: Iterable[tuple[int, str]],
                       search: Callable[[str], list] | None = None, limit: int = 3) -> Disagreements:
    """The disagreements between the answer's candidate sentences (``(source n, text)``, best first) and the
    other sources' sentences, at most ``limit``, each pair of documents once.

    ``search(text) -> passages``: a candidate from a source below the maker's level that makes a maintenance or
    safety claim is also checked against the more trusted documents a search for it finds (the sources used are
    returned in ``added``, numbered after ``docs``): the maker's own line may not be among the question's passages.
    """
    by_n = {d.n: d for d in docs}
    pool = [claim_of(d, s.text) for d in docs for s in d.sentences]
    result = Disagreements()
    pairs: set[tuple[str, str]] = set()
    seen: set[str] = set()
    for n, sentence in ((n, s.text) for n, text in candidates for s in split_sentences(text)):
        doc = by_n.get(n)
        if doc is None or sentence in seen:
            continue
        seen.add(sentence)
        claim = claim_of(doc, sentence)
        if not _is_claim(claim):
            continue
        extra: list[DocSource] = []
        if search is not None and trust_rank(claim.trust) < trust_rank("maker"):
            have = {d.passage.chunk_id for d in list(docs) + result.added}
            # an item said to need no service: its interval is what a schedule would say
            queries = [sentence] + ([" ".join(sorted(claim.subject)) + " interval"] if claim.no_service else [])
            found_passages = {p.chunk_id: p for q in queries for p in search(q)}
            extra = build_sources([(p, "trust") for p in found_passages.values() if p.chunk_id not in have
                                   and trust_rank(trust_of(p.metadata)) > trust_rank(claim.trust)],
                                  start=len(docs) + len(result.added) + 1)
        candidates_pool = pool + [claim_of(d, s.text) for d in extra for s in d.sentences]
        found = _against(claim, candidates_pool, pairs)
        if found is None or any(f.second.text == found.second.text for f in result.found):
            continue
        if found.kind == "quantity" and _corroborated(found.second, candidates_pool, found.first):
            continue  # a more trusted source gives the same value for it: another case, not a disagreement
        used = [d for d in extra if d.n in (found.first.n, found.second.n)]
        result.added.extend(used)
        pool += [claim_of(d, s.text) for d in used for s in d.sentences]
        pairs.add((found.first.source, found.second.source))
        result.found.append(found)
        if len(result.found) >= limit:
            break
    return result


def _against(claim: Claim, pool: Iterable[Claim], pairs: set[tuple[str, str]]) -> Disagreement | None:
    """The best counter-claim in ``pool``: the most trusted, then one that gives an interval or a value, then the
    closest subject. A Disagreement ordered by trust (at equal trust, ``claim`` first)."""
    best: tuple[tuple[int, int, float], Claim, str] | None = None
    for other in pool:
        kind = disagreement(claim, other)
        if kind is None or (claim.source, other.source) in pairs or (other.source, claim.source) in pairs:
            continue
        shared = _overlap(claim.subject, other.subject)
        # what answers the claim best: an interval against "never needs service", a value of the same kind
        says = bool(_INTERVAL.search(other.text)) if kind == "service" else bool(other.quantities) if kind == "quantity" else True
        key = (trust_rank(other.trust), int(says), shared)
        if best is None or key > best[0]:
            best = (key, other, kind)
    if best is None:
        return None
    other, kind = best[1], best[2]
    first, second = (other, claim) if trust_rank(other.trust) > trust_rank(claim.trust) else (claim, other)
    return Disagreement(first, second, kind)


def _low_high(a: Claim, b: Claim) -> tuple[tuple[tuple[str, str, float], ...], tuple[tuple[str, str, float], ...]]:
    """The quantities of the less trusted claim, then the other's."""
    return (a.quantities, b.quantities) if trust_rank(a.trust) < trust_rank(b.trust) else (b.quantities, a.quantities)


def _corroborated(claim: Claim, pool: Iterable[Claim], counter: Claim) -> bool:
    """A more trusted source gives one of ``claim``'s values for an item at least as close to the claim's as the
    ``counter`` claim's ("Tighten the tie rod lock nuts to 55 Nm" does not back "wheel nuts: 60 Nm")."""
    closeness = _overlap(claim.subject, counter.subject)
    for other in pool:
        if other.source == claim.source or trust_rank(other.trust) <= trust_rank(claim.trust):
            continue
        if len(claim.subject & other.subject) >= 2 and _overlap(claim.subject, other.subject) >= closeness \
                and _shares_value(claim.quantities, other.quantities):
            return True
    return False


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def _shares_value(claim: tuple[tuple[str, str, float], ...], other: tuple[tuple[str, str, float], ...]) -> bool:
    """Every value ``claim`` gives, ``other`` gives too (for the dimensions ``other`` has)."""
    dims = {d for d, _, _ in other}
    values = [(d, x) for d, _, x in claim if d in dims]
    return bool(values) and all(any(d == e and _close(x, y) for e, _, y in other) for d, x in values)


def _is_claim(claim: Claim) -> bool:
    return bool(claim.definition) or bool(claim.subject) and (claim.no_service or claim.service or claim.drive_on
                                                              or claim.stop or bool(claim.quantities))


def _definition(text: str) -> tuple[str, frozenset[str]] | None:
    """(code, the definition's own terms) for a generic trouble code's definition line, else None."""
    match = _DEFINITION.match(text.strip())
    if match is None or not _GENERIC.match(match.group(1)):
        return None
    words = frozenset(t for t in terms(match.group(2)) if t not in _DEFINITION_WORDS and not t.isdigit())
    return match.group(1).upper(), words


def _same_subject(a: frozenset[str], b: frozenset[str]) -> bool:
    """The same item: at least half the terms of the shorter subject in common, and two unless it has one ("fluid"
    alone does not make brake fluid and transmission fluid one item; "coolant" and "engine coolant" are)."""
    shared, shorter = len(a & b), min(len(a), len(b))
    return shared >= min(2, shorter) and shared >= 1 and 2 * shared >= shorter


def _quantities(text: str) -> tuple[tuple[str, str, float], ...]:
    out = []
    for match in _QUANTITY.finditer(text):
        unit = match.group(2).lower().replace("·", "")
        key = next((k for k in (unit, unit.rstrip("s"), unit[:-1] if unit.endswith("es") else unit) if k in _UNITS), None)
        if key is None:
            if unit.startswith("kilomet"):
                key = "km"
            elif unit.startswith("lit"):
                key = "l"
            elif unit.startswith("mi"):
                key = "mi"
            else:
                continue
        dimension, factor = _UNITS[key]
        role = "interval" if _INTERVAL_BEFORE.search(text[: match.start()]) or dimension == "time" else "value"
        out.append((dimension, role, float(match.group(1).replace(",", "")) * factor))
    return tuple(out)


def _quantities_conflict(low: tuple[tuple[str, str, float], ...], high: tuple[tuple[str, str, float], ...]) -> bool:
    """The same kind of quantity (dimension and role) on both sides, and a value of the less trusted side ``low``
    that none of ``high``'s is within 10 % of ("every 50,000 km; the 16,000 km interval is an upsell" against
    "every 16,000 km / 10,000 miles": 50,000 km)."""
    for dimension, role in {(d, r) for d, r, _ in low} & {(d, r) for d, r, _ in high}:
        right = [v for d, r, v in high if (d, r) == (dimension, role)]
        if any(not any(_close(x, y) for y in right) for d, r, x in low if (d, r) == (dimension, role)):
            return True
    return False


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= 0.1 * max(abs(x), abs(y), 1e-9)


def _name(claim: Claim, capital: bool = False) -> str:
    article = {"maker": "the ", "regulator": "an ", "unverified": "an "}.get(claim.trust, "")
    text = f"{article}{describe_trust(claim.trust)} ({claim.title})"
    return text[:1].upper() + text[1:] if capital else text


def _quote(text: str) -> str:
    text = " ".join(text.split()).rstrip()
    return text if len(text) <= 300 else text[:297].rsplit(" ", 1)[0] + "..."

