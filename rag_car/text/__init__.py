"""Text normalisation shared by retrieval and answers, one of each: words, stopwords, stemming, spelling variants
and the answers' few synonyms as data (words.py), the search box's phrases -> the words manuals use (synonyms.py),
typo correction (typos.py), code patterns (codes.py) and sentence splitting (sentences.py). Imports nothing of
knowledge/ or answer/, which both build on it (typos.py reads the packaged model's word list via rag_car.offline)."""
