"""Questions embedded through onnxruntime: the same vectors as torch, one export reused, a fallback that says why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rag_car.health import check_embedding_model
from rag_car.knowledge.embed import load_embedder
from rag_car.knowledge.onnx_query import OnnxUnavailable, export_path, load_query_encoder, read_pipeline
from rag_car.offline import embedding_model_path
from rag_car.settings import load_settings

QUESTIONS = [
    "P0303",
    "what does P0303 mean and how do I fix the misfire at idle",
    "Kühlmitteltemperatur zu hoch, was tun?",
    "  \t",
    "torque " * 400,  # past the model's 256 tokens: both sides truncate the same way
]


def _linked_copy(model: Path, target: Path) -> Path:
    """A model directory of symbolic links to the packaged files, so that one config can be changed."""
    target.mkdir(parents=True)
    for item in model.iterdir():
        (target / item.name).symlink_to(item)
    return target


@pytest.mark.real_model
def test_onnx_and_torch_give_the_same_vectors(tmp_path):
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"onnx_dir": str(tmp_path / "onnx")}})
    embedder = load_embedder(settings)
    assert check_embedding_model(settings).detail.endswith("questions through onnxruntime (exported on the first question)")
    onnx = np.stack([embedder.embed_query(q) for q in QUESTIONS])
    assert embedder.query_runtime == "onnx", embedder.query_runtime_note
    assert check_embedding_model(settings).detail.endswith("questions through onnxruntime")  # `rag-car doctor` sees it
    assert not embedder.loaded  # a question did not need torch's model
    torch = embedder.embed_documents(QUESTIONS)
    assert onnx.shape == torch.shape == (len(QUESTIONS), 384)
    assert np.abs(onnx - torch).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    # a different question gets a different vector (the comparison above is not between constants)
    assert float(onnx[0] @ onnx[1]) < 0.9
    files = list((tmp_path / "onnx").glob("all-MiniLM-L6-v2-*.onnx"))
    assert len(files) == 1 and not list((tmp_path / "onnx").glob("*.partial"))

    # a second embedder (a new process, a new page) reuses the export instead of making another
    stamp = files[0].stat().st_mtime_ns
    again = load_embedder(settings)
    assert np.abs(again.embed_query(QUESTIONS[1]) - onnx[1]).max() < 1e-6
    assert files[0].stat().st_mtime_ns == stamp and not again.loaded


@pytest.mark.real_model
def test_a_damaged_export_is_made_again(tmp_path):
    model = Path(embedding_model_path())
    target = export_path(model, tmp_path, "mini")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"half a file from a full disk")
    encoder = load_query_encoder(model, tmp_path, "mini")
    assert target.stat().st_size > 1_000_000
    assert encoder.encode("coolant").shape == (384,)


@pytest.mark.real_model
def test_an_unsupported_pipeline_stays_on_torch_and_says_why(tmp_path):
    model = _linked_copy(Path(embedding_model_path()), tmp_path / "model")
    (model / "1_Pooling").unlink()
    (model / "1_Pooling").mkdir()
    config = json.loads((Path(embedding_model_path()) / "1_Pooling" / "config.json").read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(config))
    with pytest.raises(OnnxUnavailable, match="not mean or CLS"):
        read_pipeline(model)

    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"),
                                        "embedding": {"model": str(model), "onnx_dir": str(tmp_path / "onnx")}})
    embedder = load_embedder(settings)
    vector = embedder.embed_query("brake fluid")
    assert embedder.query_runtime == "torch" and "not mean or CLS" in embedder.query_runtime_note
    assert embedder.loaded and vector.shape == (384,)
    assert not (tmp_path / "onnx").exists()


def test_the_export_key_follows_the_weights(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    weights = model / "model.safetensors"
    weights.write_bytes(b"a" * 10)
    first = export_path(model, tmp_path / "cache", "m")
    assert first == export_path(model, tmp_path / "cache", "m")  # stable
    weights.write_bytes(b"b" * 11)
    os.utime(weights, ns=(1, 1))
    assert export_path(model, tmp_path / "cache", "m") != first  # retrained or replaced weights: a new export


def test_torch_runtime_makes_no_export(tmp_path):
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"query_runtime": "torch"}})
    embedder = load_embedder(settings)
    assert embedder.onnx_dir is None and embedder.query_runtime == "torch"
    assert check_embedding_model(settings).detail.endswith("questions through torch")


def test_a_model_without_modules_json_is_not_exported(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(OnnxUnavailable, match="modules.json"):
        read_pipeline(tmp_path)
