"""Text normalisation shared by retrieval and answers, one of each: words, stopwords and stemming (words.py),
spelling variants and synonyms as data (variants.py), typo correction (typos.py), code patterns (codes.py) and
sentence splitting (sentences.py). Imports nothing of rag_car but errors: knowledge/ and answer/ both build on it."""
