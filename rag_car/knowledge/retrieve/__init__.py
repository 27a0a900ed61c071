"""Questions -> ranked passages: hybrid (dense + BM25) retrieval, code-aware, filtered, de-duplicated.

The interface the answering pipeline and the UI use (contract 6)::

    from rag_car.knowledge.retrieve import open_retriever, Filters
    with open_retriever(settings) as retriever:
        result = retriever.search("P0303 at idle", k=8, filters=Filters(year=2021), history=[...])
        for passage in result.passages: passage.text, passage.score, passage.ranks, passage.source, ...

Nothing heavy is imported here: chromadb and the embedding model load in open_retriever().
"""

from rag_car.knowledge.retrieve.passage import Filters, Passage, SearchResult
from rag_car.knowledge.retrieve.retriever import Retriever, known_vehicles, open_retriever

__all__ = ["Filters", "Passage", "Retriever", "SearchResult", "known_vehicles", "open_retriever"]
