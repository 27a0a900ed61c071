"""Text -> its language and its Chinese words: script-based language detection (``zh`` or ``en``), NFKC folding of
full-width digits and punctuation, and jieba's segmentation of CJK runs (the one Chinese word splitter of rag-car:
BM25 tokens for chunks and questions).

The language is read from the script, not guessed from a word list: a text whose Han characters outweigh its Latin
words is Chinese. Codes and numbers with units inside Chinese text ("P0301", "230 kPa") are Latin runs and are
tokenised as English tokens are.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rag_car.text.cedict import to_simplified

# CJK Unified Ideographs (+ extension A and the compatibility block): Chinese characters, simplified or traditional
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")

# Function words and asking words of Mandarin questions ("怎么办", "请问"): they say how a question is asked, not what
# about. From the common Chinese stopword lists (e.g. the HIT and Baidu lists), kept short: BM25's IDF handles the rest.
ZH_STOPWORDS = frozenset("""
    的 了 吗 呢 吧 啊 呀 么 是 我 你 您 他 她 它 我们 这 那 这个 那个 和 与 及 或 在 有 要 会 能 可以 就 都 也 还 把 被
    对 从 到 给 让 着 过 得 地 之 其 请问 请 怎么 怎么办 怎样 如何 什么 为什么 哪 哪些 哪个 多少 几 吗 应该 一下 一个
""".split())


def normalize(text: str) -> str:
    """NFKC: full-width digits, letters and punctuation to their plain forms ("２３０ｋＰａ，" -> "230kPa,")."""
    return unicodedata.normalize("NFKC", text or "")


_FULL_WIDTH = re.compile(r"[\u3000\uff01-\uff5e]")


# the full-width forms of ASCII a Chinese keyboard types inside values and codes ("２３０ｋＰａ", "Ｐ０１７１", "（ＡＭ２０）"),
# but not the sentence punctuation Chinese writes full-width as its own (，！？：；), which sentence splitting reads
_ASCII_FORMS = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in "，！？：；"} | {0x3000: 0x20}


def fold_full_width(text: str) -> str:
    """``text`` with full-width letters, digits and symbols as their ASCII forms ("故障码Ｐ０１７１" -> "故障码P0171") and
    the ideographic space as a space; Chinese sentence punctuation (，！？：；) and everything else unchanged."""
    return (text or "").translate(_ASCII_FORMS)


def has_full_width(text: str) -> bool:
    """True when the text holds full-width ASCII forms or the ideographic space (what a Chinese keyboard types)."""
    return bool(_FULL_WIDTH.search(text or ""))


def has_cjk(text: str) -> bool:
    """True when the text holds any Chinese character."""
    return bool(_HAN.search(text or ""))


def detect_language(text: str) -> str:
    """``zh`` when the text's Han characters outweigh its Latin words (each Han character counts as half a word,
    about the length of a Chinese word), else ``en``. Japanese or Korean script counts as ``other``."""
    text = text or ""
    han = len(_HAN.findall(text))
    if _KANA_HANGUL.search(text) and len(_KANA_HANGUL.findall(text)) >= han:
        return "other"
    latin = len(_LATIN_WORD.findall(text))
    return "zh" if han and han / 2 >= latin else "en"


@functools.lru_cache(maxsize=1)
def _segmenter():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@functools.lru_cache(maxsize=200_000)
def _segment(run: str) -> tuple[str, ...]:
    return tuple(w for w in _segmenter().cut_for_search(run, HMM=True) if w.strip())


def chinese_words(text: str) -> list[str]:
    """The Chinese words of the text's Han runs (traditional characters folded to simplified ones, so "冷卻液" and
    "冷却液" are one word), in order, by jieba's search mode (a long word and its parts:
    "冷却液" -> "冷却", "冷却液"), stopwords out. Latin text is left to the English tokenizer."""
    out: list[str] = []
    for run in HAN_RUN.findall(to_simplified(text or "")):
        out.extend(w for w in _segment(run) if w not in ZH_STOPWORDS)
    return out
