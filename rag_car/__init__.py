"""rag-car: a vehicle knowledge assistant."""
__version__ = "0.1.0"
