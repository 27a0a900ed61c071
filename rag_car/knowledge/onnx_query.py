"""One question -> one vector through onnxruntime, with the same numbers as the sentence-transformers model.

A question is a single short text. Through torch on 2 cores it cost ~14 ms here, half of it OpenMP waking its
sleeping threads (we keep them sleeping: ``OMP_WAIT_POLICY=PASSIVE``, see rag_car/offline.py); through
onnxruntime on one thread that does not spin it cost ~4 ms and leaves the other core free.
Batches of chunks stay on torch, which is faster there (benchmarks/bench_retrieval.py --part embed compares).

The ONNX file is exported once from the installed model's own weights (torch.onnx, no download) and kept under
the cache dir, named by a key of the weights' size and time and the exporter's versions; a changed model gets a
new file. Only the plain pipeline is exported: Transformer -> Pooling (mean or CLS) -> optional Normalize.
Anything else says why through :class:`OnnxUnavailable`, and the caller stays on torch.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXPORT_FORMAT = 1  # bump when the export below changes, so that old files are not reused
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class OnnxUnavailable(Exception):
    """The model cannot be run through onnxruntime here; the message says why (the caller uses torch)."""


@dataclass(frozen=True)
class Pipeline:
    """What sentence-transformers does after the transformer, read from the model directory."""

    pooling: str  # "mean" or "cls"
    normalize: bool
    max_seq_length: int


def read_pipeline(model_dir: Path) -> Pipeline:
    """The post-processing of ``model_dir`` from its modules.json, or OnnxUnavailable when it is not the plain one."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise OnnxUnavailable(f"no readable modules.json in {model_dir}") from exc
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise OnnxUnavailable(f"pipeline {kinds} is not Transformer -> Pooling [-> Normalize]")
    pooling_config = model_dir / modules[1].get("path", "") / "config.json"
    try:
        pooling = json.loads(pooling_config.read_text())
    except (OSError, ValueError) as exc:
        raise OnnxUnavailable(f"no readable pooling config at {pooling_config}") from exc
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode_") and on]
    if modes == ["pooling_mode_mean_tokens"]:
        mode = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        mode = "cls"
    else:
        raise OnnxUnavailable(f"pooling {modes} is not mean or CLS")
    length = 0
    try:
        length = int(json.loads((model_dir / "sentence_bert_config.json").read_text()).get("max_seq_length") or 0)
    except (OSError, ValueError):
        pass
    if not length:
        raise OnnxUnavailable("no max_seq_length in sentence_bert_config.json")
    if not (model_dir / "tokenizer.json").is_file():
        raise OnnxUnavailable("no tokenizer.json (a fast tokenizer file) in the model directory")
    return Pipeline(mode, kinds[-1] == "Normalize", length)


def export_path(model_dir: Path, cache_dir: Path, label: str = "") -> Path:
    """Where the export of ``model_dir`` is kept: a key of the weights' size and time, the config and the versions."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}|{model_dir.resolve()}".encode())
    for name in ("config.json", *WEIGHT_FILES):
        file = model_dir / name
        if file.is_file():
            stat = file.stat()
            digest.update(f"|{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    try:
        from importlib.metadata import version

        digest.update(f"|torch {version('torch')}|transformers {version('transformers')}".encode())
    except Exception:  # noqa: BLE001 - a version we cannot read only means a coarser key
        pass
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", label or model_dir.name)[-60:]
    return cache_dir / f"{stem}-{digest.hexdigest()[:16]}.onnx"


def export(model_dir: Path, target: Path) -> None:
    """Export the transformer of ``model_dir`` to ``target`` (written to a temporary file, then renamed)."""
    try:
        import onnx  # noqa: F401 - torch.onnx needs it to write the file
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise OnnxUnavailable(f"{exc.name} is not installed (needed once, to export the model)") from exc

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {"token_type_ids": token_type_ids} if takes_types else {}
            return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    example = tuple(torch.tensor([[101, 2023, 102]]) if n == "input_ids" else torch.ones(1, 3, dtype=torch.long)
                    for n in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python control flow that the fixed graph already covers
            torch.onnx.export(LastHiddenState(), example, str(partial), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
        os.replace(partial, target)  # another process exporting the same model writes the same bytes
    except Exception as exc:  # noqa: BLE001 - any exporter failure leaves torch in charge
        raise OnnxUnavailable(f"the ONNX export failed ({type(exc).__name__}: {exc})") from exc
    finally:
        partial.unlink(missing_ok=True)


class OnnxQueryEncoder:
    """Embeds one text at a time through an onnxruntime session of one thread that sleeps between questions."""

    def __init__(self, onnx_file: Path, model_dir: Path, pipeline: Pipeline) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise OnnxUnavailable(f"{exc.name} is not installed") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged file: the caller re-exports or stays on torch
            raise OnnxUnavailable(f"onnxruntime cannot load {onnx_file} ({exc})") from exc
        self.inputs = {i.name for i in self.session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(pipeline.max_seq_length)
        self.tokenizer = tokenizer
        self.pipeline = pipeline
        self.file = onnx_file

    def encode(self, text: str) -> np.ndarray:
        encoding = self.tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0][0]
        if self.pipeline.pooling == "cls":
            vector = hidden[0]
        else:
            weights = mask[0].astype(np.float32)[:, None]
            vector = (hidden * weights).sum(axis=0) / max(float(weights.sum()), 1e-9)
        if self.pipeline.normalize:
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else vector
        return vector.astype(np.float32)


def load_query_encoder(model_dir: Path, cache_dir: Path, label: str = "") -> OnnxQueryEncoder:
    """The encoder for ``model_dir``, exporting it into ``cache_dir`` first when no current export is there."""
    pipeline = read_pipeline(model_dir)
    target = export_path(model_dir, cache_dir, label)
    if target.is_file():
        try:
            return OnnxQueryEncoder(target, model_dir, pipeline)
        except OnnxUnavailable:
            target.unlink(missing_ok=True)  # damaged (a disk that filled up): export again below
    export(model_dir, target)
    return OnnxQueryEncoder(target, model_dir, pipeline)
