"""Chunk texts -> a BM25 index (the bm25s library) with code-preserving tokens; query tokens -> ranked rows."""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from rag_car.text.codes import Code, find_codes
from rag_car.text.lang import chinese_words, has_cjk, has_full_width, normalize
from rag_car.text.typos import TypoCorrector
from rag_car.text.words import STOPWORDS, spelled, stem

# Bumped when the tokenizer or the catalog changes, so that an index built by older code is rebuilt.
TOKENIZER_VERSION = 14  # 12: NFKC, jieba words for Chinese runs; 14: traditional folded to simplified

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:[-/.][a-z0-9]+)*")
_SEPARATORS = re.compile(r"[-/.]")
_DECIMAL = re.compile(r"\d+\.\d+")


def tokenize(text: str, codes: Sequence[Code] | None = None) -> list[str]:
    """Lower-cased, stemmed words without stop words; codes kept whole ("p0303", "02v288000") and
    hyphenated references also joined ("21-004" -> "21", "004", "21004").

    ``codes``: the codes of ``text`` when the caller has already found them (an index build finds them once
    per chunk for the catalog too).
    """
    if not text.isascii() and (has_cjk(text) or has_full_width(text)):
        text = normalize(text)
    tokens: list[str] = []
    for match in _WORD.finditer(text.lower()):
        tokens.extend(_word_tokens(match.group(0)))
    if has_cjk(text):
        tokens.extend(chinese_words(text))
    seen = set(tokens)
    for code in find_codes(text) if codes is None else codes:
        key = code.key.lower()
        if key not in seen:
            seen.add(key)
            tokens.append(key)
    return tokens


@functools.lru_cache(maxsize=500_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    """The tokens of one matched word: a corpus repeats its words, so each is worked out once per process."""
    stop = STOPWORDS
    word = word.replace("’", "'")
    if "'" in word:
        word = word.split("'", 1)[0]
    if _DECIMAL.fullmatch(word):  # "2.0" (an engine), "0.8" (a gap): one number, not two
        return (word,)
    tokens: list[str] = []
    parts = [p for p in _SEPARATORS.split(word) if p]
    for part in parts:
        if part in stop:
            continue
        one = spelled(part)
        if one != part:
            tokens.extend(stem(w) for w in (w.split("'", 1)[0] for w in one.split()) if w and w not in stop)
            continue
        tokens.append(stem(part) if part.isalpha() else part)
    if len(parts) > 1:
        joined = "".join(parts)
        if any(ch.isdigit() for ch in joined):
            tokens.append(joined)
    return tuple(tokens)


HEADING_REPEAT = 2  # the innermost heading counts this many times: a word in it says more than one in the body


def document_text(chunk) -> str:
    """What BM25 indexes for a chunk: its title and section path (as the embedder sees them), the innermost
    heading once more, then its text."""
    heading = heading_text(chunk.metadata or {})
    return "\n".join(p for p in (heading, chunk.text) if p)


def heading_text(meta: dict) -> str:
    """The heading part of :func:`document_text`: title > section path, then the innermost heading again."""
    section = str(meta.get("section", "") or "")
    context = " > ".join(str(p) for p in (meta.get("title", ""), section) if p)
    inner = section.rsplit(" > ", 1)[-1] if section else str(meta.get("title", "") or "")
    extra = "\n".join([inner] * (HEADING_REPEAT - 1)) if inner else ""
    return "\n".join(p for p in (context, extra) if p)


def chunk_tokens(chunk, text_codes: Sequence[Code] | None, headings: dict[str, list[str]]) -> tuple[list[str], int]:
    """(the tokens of :func:`document_text` for one chunk, how many of them come from its own text). The
    heading's are worked out once per distinct heading (``headings``: a cache the caller keeps for one build);
    ``text_codes``: the codes of the chunk's text when known."""
    heading = heading_text(chunk.metadata or {})
    tokens = headings.get(heading)
    if tokens is None:
        tokens = headings[heading] = tokenize(heading) if heading else []
    body = tokenize(chunk.text, text_codes)
    return tokens + body, len(body)


class LexicalIndex:
    """BM25 over a fixed list of texts; rows are positions in that list."""

    def __init__(self, bm25, size: int) -> None:
        self._bm25 = bm25
        self.size = size
        self._typos: TypoCorrector | None = None

    @classmethod
    def build(cls, texts: Iterable[str], k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        """Index ``texts`` (any iterable); an empty corpus gives an index that finds nothing."""
        return cls.from_tokens((tokenize(text) for text in texts), k1=k1, b=b)

    @classmethod
    def from_tokens(cls, corpus: Iterable[list[str]], k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        """Index token lists (one per row, e.g. from :func:`chunk_tokens`)."""
        import bm25s

        corpus_tokens = list(corpus)
        if not corpus_tokens:
            return cls(None, 0)
        bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25.index(corpus_tokens, show_progress=False)
        return cls(bm25, len(corpus_tokens))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> "LexicalIndex":
        """Load what :meth:`save` wrote; ``size`` is the number of rows (0: nothing was saved)."""
        if size == 0:
            return cls(None, 0)
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25 = bm25s.BM25.load(str(directory), load_corpus=False, mmap=False, show_progress=False)
        return cls(bm25, size)

    def __contains__(self, token: str) -> bool:
        return self._bm25 is not None and token in self._bm25.vocab_dict

    def correct(self, tokens: Sequence[str], keep: Sequence[str] = ()) -> list[str]:
        """The query tokens with each unknown word replaced by the indexed word it is a typing slip of ("torqe" ->
        "torqu", "chek" -> "check"; rag_car.text.typos); known tokens, codes and ``keep`` (the tokens of real
        English words, which are never typos) unchanged."""
        if self._bm25 is None:
            return list(tokens)
        if self._typos is None:
            indptr = self._bm25.scores["indptr"]
            # every indexed token with its document frequency (bm25s may list one more id than it has columns)
            self._typos = TypoCorrector({token: int(indptr[i + 1] - indptr[i]) for token, i in self._bm25.vocab_dict.items()
                                         if i + 1 < len(indptr)})
        kept = set(keep)
        return [token if token in kept else self._typos.correct(token) for token in tokens]

    def ceiling(self, tokens: Sequence[str]) -> float:
        """The BM25 score a row matching every one of ``tokens`` at its best would get: the sum of each token's
        highest score in any row; a token no row has counts as much as the best of those that are (a word absent
        from the index is at least as rare as the rarest present). 0.0 when none is in the vocabulary. Scores over
        it say how much of a query a row matches, comparable between two queries."""
        if self._bm25 is None:
            return 0.0
        unique = list(dict.fromkeys(tokens))
        present = [t for t in unique if t in self]
        ids = self._bm25.get_tokens_ids(present) if present else []
        matrix = self._bm25.scores
        data, indptr = matrix["data"], matrix["indptr"]
        best = [float(data[int(indptr[i]):int(indptr[i + 1])].max(initial=0.0)) for i in ids]
        return sum(best) + (len(unique) - len(present)) * max(best, default=0.0)

    def scores(self, tokens: Sequence[str], weight_mask: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 score of every row for the query tokens (None when no token is in the vocabulary).

        Sums bm25s' precomputed per-term scores from its CSC arrays. Within one term's column the row indices
        are unique, so a plain fancy-index add is exact and several times faster than the ``np.add.at`` of
        bm25s' numpy backend, which matters at 100,000 chunks.
        """
        if self._bm25 is None:
            return None
        ids = self._bm25.get_tokens_ids(list(tokens))
        if not ids:
            return None
        matrix = self._bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        scores = np.zeros(int(matrix["num_docs"]), dtype=np.float32)
        for token_id in ids:
            start, end = int(indptr[token_id]), int(indptr[token_id + 1])
            scores[indices[start:end]] += data[start:end]
        if weight_mask is not None:
            scores *= weight_mask
        return scores

    def column(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, scores) of one token's BM25 column, or None when no row has it."""
        if self._bm25 is None or token not in self:
            return None
        token_id = self._bm25.get_tokens_ids([token])[0]
        matrix = self._bm25.scores
        start, end = int(matrix["indptr"][token_id]), int(matrix["indptr"][token_id + 1])
        return matrix["indices"][start:end], matrix["data"][start:end]

    def grouped_scores(self, groups: Sequence[Sequence[Sequence[str]]],
                       weight_mask: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 of every row for a query whose words each come as alternatives (a translated word's senses, each a
        few tokens): per word, the best of its alternatives, an alternative scoring the mean of its tokens' scores;
        summed over the words. This is Pirkola's structured query (SIGIR 1998): a word with many translations
        counts once, not once per translation, and a two-word sense ("tire pressure") counts fully only where
        both words are. None when no token is indexed."""
        if self._bm25 is None:
            return None
        size = int(self._bm25.scores["num_docs"])
        total: np.ndarray | None = None
        for alternatives in groups:
            best: np.ndarray | None = None
            for tokens in alternatives:
                columns = [self.column(t) for t in dict.fromkeys(tokens)]
                present = [c for c in columns if c is not None]
                if not present:
                    continue
                scores = np.zeros(size, dtype=np.float32)
                for rows, values in present:
                    scores[rows] += values
                scores /= len(columns)
                best = scores if best is None else np.maximum(best, scores)
            if best is not None:
                total = best if total is None else total + best
        if total is not None and weight_mask is not None:
            total *= weight_mask
        return total

    def grouped_ceiling(self, groups: Sequence[Sequence[Sequence[str]]]) -> float:
        """The score of :meth:`grouped_scores` a row would get by matching every word at its best (each token at
        its highest score in any row; a word with no indexed token adds nothing). 0.0 when none is indexed. A
        score over it says how much of the query a row matches, whatever the query's length (like :meth:`ceiling`)."""
        total = 0.0
        for alternatives in groups:
            best = 0.0
            for tokens in alternatives:
                columns = [self.column(t) for t in dict.fromkeys(tokens)]
                top = sum(float(c[1].max(initial=0.0)) for c in columns if c is not None)
                best = max(best, top / len(columns) if columns else 0.0)
            total += best
        return total

    def search(self, tokens: Sequence[str], k: int, weight_mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top ``k`` rows with a positive score, best first, as (row, score)."""
        return top_rows(self.scores(tokens, weight_mask), k)


def top_rows(scores: np.ndarray | None, k: int) -> list[tuple[int, float]]:
    """The ``k`` best rows of a score array with a positive score, best first."""
    if scores is None or k <= 0:
        return []
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[0] else np.arange(scores.shape[0])
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(row), float(scores[row])) for row in top if scores[row] > 0]
