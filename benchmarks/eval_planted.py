"""Planted-instruction evaluation (issue 19): the bundled knowledge and tests/files/planted/ in one index.

    .venv/bin/python benchmarks/eval_planted.py                # real embedding model, extractive backend
    .venv/bin/python benchmarks/eval_planted.py --clean 60     # also 60 questions of tests/eval/qa.jsonl before/after

1. The bundled knowledge is indexed with the packaged all-MiniLM-L6-v2; the first --clean questions of
   tests/eval/qa.jsonl are asked over it (disagreement notes there are false alarms: the maker's documents agree).
2. The planted corpus (22 documents: md, txt, html, pdf, docx) is indexed beside it; every planted claim's
   questions are asked as owner and as technician, and the same clean questions again.
3. Prints the summary (rag_car/answer/evaluate_trust.py) and writes benchmarks/results/planted.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
CORPUS = ROOT / "tests" / "files" / "planted"


def clean_questions(limit: int) -> list[str]:
    out = []
    for line in (ROOT / "tests" / "eval" / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("answerable", True) and not item.get("history"):
                out.append(item["question"])
    return out[:limit]


def main() -> None:
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    from rag_car.answer.assistant import Assistant
    from rag_car.answer.evaluate_trust import NOTE_OPENING, evaluate_planted
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clean", type=int, default=40, help="questions of tests/eval/qa.jsonl to ask (default 40)")
    parser.add_argument("--data-dir", help="keep the index here (default: a temporary folder)")
    args = parser.parse_args()
    questions = clean_questions(args.clean)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        settings = load_settings(overrides={"data_dir": str(data), "llm": {"backend": "extractive"}})
        started = time.perf_counter()
        assert ingest(settings, [BUNDLED_KNOWLEDGE]).ok
        with Assistant(settings) as assistant:
            before = []
            for question in questions:
                text = assistant.ask(question, use_live=False).answer
                if NOTE_OPENING in text:
                    before.append(f"{question}: {text[:400]}")
        report_ingest = ingest(settings, [CORPUS])
        failed = [f.reason for f in report_ingest.failed]
        with Assistant(settings) as assistant:
            t0 = time.perf_counter()
            report = evaluate_planted(assistant, CORPUS, questions)
            seconds = time.perf_counter() - t0
    summary = {**report.summary(), "clean_questions_with_a_note_bundled_only": len(before), "bundled_only_notes": before,
               "planted_files_failed": failed, "seconds_evaluating": round(seconds, 1),
               "seconds_total": round(time.perf_counter() - started, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "planted.json").write_text(json.dumps({"summary": summary, **report.to_json()}, indent=2))
    print(json.dumps(summary, indent=2))
    for run in report.runs:
        if run.unnamed or not run.named:
            print(f"- {run.doc} / {run.persona} / {run.question}: in_answer={run.in_answer} named={run.named}")
    for note in report.clean_notes:
        print(f"- clean question with a note: {note[:200]}")


if __name__ == "__main__":
    main()
