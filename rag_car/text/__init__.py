"""Text normalisation shared by retrieval and answers, one of each: words, stopwords and stemming (words.py),
spelling variants and synonyms as data (variants.py), typo correction (typos.py), code patterns (codes.py) and
sentence splitting (sentences.py). Imports nothing of knowledge/ or answer/, which both build on it (typos.py reads
the packaged embedding model's word list through rag_car.offline)."""
