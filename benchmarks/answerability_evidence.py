"""Answer or refuse (#15): the evidence the answer path has for every labelled English question, and a small
calibrated decision fitted on it, validated leave-one-corpus-out. Not run in CI.

    # 1. record the evidence, one index at a time (copy the index first: commands write caches)
    python benchmarks/answerability_evidence.py record --data-dir /tmp/x-rm --corpus manual \
        --qa tests/eval/real_manual_qa.jsonl --qa tests/eval/real_manual_holdout.jsonl \
        --qa tests/eval/real_manual_holdout2.jsonl --out /tmp/evidence-manual.jsonl
    # 2. fit and validate: train on two corpora, test on the third, each way round, next to today's rule
    python benchmarks/answerability_evidence.py fit /tmp/evidence-*.jsonl

``record`` asks every question (and the 40 unrelated probes of rag_car/answer/probes.txt, and 40 of the index's own
section headings as questions it surely answers: the two ends of each index's yardstick) through the assistant
with default settings and writes, per question, the evidence at the moment the assistant judges it: the support
and its parts (best MiniLM passage cosine, IDF share of the question held by one of the top passages), the gap
between the best two passage cosines, the best sentence's semantic and lexical scores, the ranking's confidence,
how far the best chunk stands out from the question's cosines to the whole index (z, and its lead over the next
19), whether a value question's quantity is stated among the best sentences, the multilingual (USE) companion's
best cosine and whether it agrees with MiniLM on the best section (indexes that carry those vectors), the verdict
of today's rule and the verdict of every other rule (codes, years, variants, values) without the support bar.
Rows hold ids, labels and numbers only, never a document's text.

``fit`` puts every feature on its index's own scale (``--norm probe``: z-scores against the probes; ``span``: 0 at
the probes' mean, 1 at the headings'), fits a logistic regression (numpy, L2, class-balanced) on two corpora and
reports, for the third, the share of uncovered questions refused and of answerable questions wrongly refused,
model beside today's rule, then the same model fitted and tested inside each corpus (five folds: the ceiling of
the features when the bar may be tuned on the corpus itself). The bar refuses at most ``--max-wrong`` of the
training answerable questions (``--bar probes``: a quantile of each index's probes, the quantile chosen on the
training corpora); ``--combine or`` keeps today's rule and adds the model as one more reason to refuse.
Measured 2026-12-08 on main bea87cf's indexes: no fit beats today's rule in every fold (docs/answer.md, "Not in
the documents"; benchmarks/results/answerability.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEATURES = ("support", "dense", "lexical", "dense_gap", "sent_sem", "sent_lex", "confidence", "peak_z", "peak_top20")


# -- record ----------------------------------------------------------------------------------------------------
def _recording_assistant(settings: Any) -> Any:
    from rag_car.answer.assistant import Assistant
    from rag_car.answer.calibration import Calibration

    class Recording(Assistant):
        """The assistant, recording the evidence of each judged turn (today's verdict unchanged)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.rows: list[dict[str, Any]] = []
            self._no_bar = False

        def calibration(self) -> Any:
            return Calibration(()) if self._no_bar else super().calibration()

        def _abstain_reason(self, turn: Any) -> str | None:
            today = super()._abstain_reason(turn)
            kept = self.tuning
            self._no_bar, self.tuning = True, replace(kept, answer=replace(kept.answer, abstain_below=-1.0))
            try:
                other = super()._abstain_reason(turn)
            finally:
                self._no_bar, self.tuning = False, kept
            self.rows.append({**evidence(self, turn), "today_refused": today is not None,
                              "other_refused": other is not None,
                              "threshold": max(self.calibration().threshold, kept.answer.abstain_below)})
            return today

    return Recording(settings)


def evidence(assistant: Any, turn: Any) -> dict[str, Any]:
    """The numbers the answer path has for ``turn`` (see the module docstring)."""
    from rag_car.answer.answerability import QUANTITY_SENTENCES, TOP_PASSAGES, chunk_cosines

    support = assistant._support(turn.query, turn.passages, turn.vector)
    cosine = chunk_cosines(assistant.retriever, turn.vector)
    top = [c for c in (cosine(p) for p in turn.passages[:TOP_PASSAGES]) if c is not None]
    top.sort(reverse=True)
    sentences = turn.ranking.sentences
    row: dict[str, Any] = {
        "support": support.score, "dense": support.dense, "lexical": support.lexical,
        "dense_gap": (top[0] - top[1]) if len(top) > 1 else 0.0,
        "sent_sem": max((s.semantic for s in sentences), default=0.0),
        "sent_lex": max((s.lexical for s in sentences), default=0.0),
        "confidence": float(turn.ranking.confidence),
    }
    # a value question ("what is the tire pressure?"): does one of the best sentences state a value of it?
    ranking = turn.ranking
    row["value_question"] = float(bool(ranking.measures))
    row["value_stated"] = float(any(ranking.states_value(s.sentence.text) for s in sentences[:QUANTITY_SENTENCES]))
    state = getattr(assistant.retriever, "lexical", None)
    cross, multilingual = getattr(state, "cross_vectors", None), getattr(assistant.retriever, "multilingual", None)
    vectors, catalog = getattr(state, "vectors", None), getattr(state, "catalog", None)
    if vectors is not None and turn.vector is not None and len(vectors) > 20:
        # how far the best chunk stands out from this question's own background over the whole index
        mini = np.sort(vectors @ np.asarray(turn.vector, dtype=np.float32))
        row["peak_z"] = float((mini[-1] - mini.mean()) / (mini.std() + 1e-6))
        row["peak_top20"] = float(mini[-1] - mini[-20:].mean())
        row["background"] = float(mini.mean())
    if cross is not None and multilingual is not None and vectors is not None and turn.vector is not None:
        use = cross @ np.asarray(multilingual.embed_query(turn.query), dtype=np.float32)
        mini = vectors @ np.asarray(turn.vector, dtype=np.float32)
        sections = catalog.columns.get("section", [])
        row["use_best"] = float(use.max())
        row["mini_best"] = float(mini.max())
        if sections:
            row["agree"] = float(sections[int(use.argmax())] == sections[int(mini.argmax())])
    return row


ANCHORS = 40


def heading_anchors(assistant: Any, n: int = ANCHORS) -> list[str]:
    """``n`` of the index's own section headings (the last part of the path, English, two words or more), a
    fixed sample: questions every index answers, the other end of its yardstick."""
    import random

    from rag_car.text.lang import has_cjk

    catalog = assistant.retriever.lexical.catalog
    headings = sorted({s.split(" > ")[-1].strip() for s in catalog.columns.get("section", [])})
    headings = [h for h in headings if len(h.split()) >= 2 and not has_cjk(h)]
    return random.Random(15).sample(headings, min(n, len(headings)))


def record(args: argparse.Namespace) -> None:
    from rag_car.answer.calibration import unrelated_probes
    from rag_car.answer.evaluate import load_set
    from rag_car.settings import load_settings

    settings = load_settings(None, {"data_dir": args.data_dir})
    out = []
    with _recording_assistant(settings) as assistant:
        asked = [("probe", f"probe{i:02d}", q, False, "probe", []) for i, q in enumerate(unrelated_probes())]
        asked += [("anchor", f"anchor{i:02d}", q, True, "anchor", []) for i, q in enumerate(heading_anchors(assistant))]
        for qa in args.qa:
            for item in load_set(Path(qa), None).items:
                asked.append((Path(qa).stem, item.id, item.question, item.answerable, item.kind, item.history))
        for set_name, qid, question, answerable, kind, history in asked:
            before = len(assistant.rows)
            answer = assistant.ask(question, history=[{"role": "user", "content": h} for h in history])
            judged = assistant.rows[before:]
            row = judged[-1] if judged else {"unjudged": True}  # a live or code answer is never judged
            out.append({"corpus": args.corpus, "set": set_name, "id": qid, "answerable": answerable, "kind": kind,
                        "abstained": bool(answer.abstained), **row})
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    print(f"{len(out)} rows -> {args.out}")


# -- fit ---------------------------------------------------------------------------------------------------------
def standardise(rows: list[dict[str, Any]], features: tuple[str, ...], norm: str = "probe") -> np.ndarray:
    """Each row's features against its own corpus's (index's) yardstick. ``norm`` "probe": z-scores against the
    probes; "span": 0 at the probes' mean, 1 at the heading anchors' mean (both ends measured on the index)."""
    out = np.zeros((len(rows), len(features)))
    by_corpus: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for corpus in {r["corpus"] for r in rows}:
        def of(kind: str) -> np.ndarray:
            return np.array([[r.get(f, 0.0) for f in features] for r in rows
                             if r["corpus"] == corpus and r["set"] == kind and "unjudged" not in r])
        probes = of("probe")
        if norm == "span":
            scale = of("anchor").mean(axis=0) - probes.mean(axis=0)
            by_corpus[corpus] = (probes.mean(axis=0), np.where(np.abs(scale) < 1e-6, 1e-6, scale))
        else:
            by_corpus[corpus] = (probes.mean(axis=0), probes.std(axis=0) + 1e-6)
    for i, r in enumerate(rows):
        mean, scale = by_corpus[r["corpus"]]
        out[i] = (np.array([r.get(f, 0.0) for f in features]) - mean) / scale
    return out


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> np.ndarray:
    """Weights (bias last) of an L2-regularised, class-balanced logistic regression, by gradient descent."""
    x1 = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x1.shape[1])
    pos = y.mean()
    weight = np.where(y == 1, 0.5 / max(pos, 1e-6), 0.5 / max(1 - pos, 1e-6))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x1 @ w)))
        grad = x1.T @ (weight * (p - y)) / len(y) + l2 * np.r_[w[:-1], 0.0] / len(y)
        w -= 0.5 * grad
    return w


def rates(refused: np.ndarray, answerable: np.ndarray) -> tuple[float, float]:
    """(uncovered refused, answerable wrongly refused)."""
    unc = ~answerable
    return (float(refused[unc].mean()) if unc.any() else float("nan"),
            float(refused[answerable].mean()) if answerable.any() else float("nan"))


def fit(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for path in args.files for line in Path(path).read_text().splitlines() if line.strip()]
    features = tuple(args.features.split(",")) if args.features else FEATURES
    x_all = standardise(rows, features, args.norm)
    labelled = np.array([r["set"] not in ("probe", "anchor") for r in rows])
    judged = labelled & np.array(["unjudged" not in r for r in rows])
    answerable = np.array([bool(r["answerable"]) for r in rows])
    other = np.array([bool(r.get("other_refused", r["abstained"])) for r in rows])
    abstained = np.array([bool(r["abstained"]) for r in rows])
    corpora = sorted({r["corpus"] for r in rows})
    print(f"features: {', '.join(features)}")
    print("| held-out corpus | n answerable / uncovered | today: uncovered refused / wrongly refused | "
          "model: uncovered refused / wrongly refused |")
    print("|---|---|---|---|")
    folds: list[dict[str, Any]] = []
    for held in corpora:
        train = judged & np.array([r["corpus"] != held for r in rows])
        test = labelled & np.array([r["corpus"] == held for r in rows])
        w = logistic(x_all[train], answerable[train].astype(float), l2=args.l2)
        score = np.hstack([x_all, np.ones((len(rows), 1))]) @ w
        if args.combine == "or":  # the bar set on the answerable questions today's rule answers
            train = train & ~abstained
        if args.bar == "probes":
            # the bar at a quantile of each index's own probes' scores, the quantile chosen on the training corpora
            bar = _probe_bar(rows, score, held, _probe_quantile(rows, score, train, answerable, args.max_wrong))
        else:
            bar = _bar(score[train], answerable[train], args.max_wrong) if args.max_wrong >= 0 else 0.0
        # the model decides only questions that reach the judging step; the other rules still refuse
        model_refused = np.where(judged, (score < bar) | other, abstained)
        if args.combine == "or":  # the model as one more reason to refuse, beside today's rule
            model_refused = model_refused | abstained
        t = rates(abstained[test], answerable[test])
        m = rates(model_refused[test], answerable[test])
        print(f"| {held} | {int(answerable[test].sum())} / {int((~answerable[test]).sum())} | "
              f"{t[0]:.3f} / {t[1]:.3f} | {m[0]:.3f} / {m[1]:.3f} |")
        few = int((~answerable[test]).sum()) < 5  # too few uncovered questions to judge that side
        beats = m[1] <= t[1] and (few or m[0] >= t[0]) and (m[1] < t[1] or (not few and m[0] > t[0]))
        folds.append({"held_out": held, "answerable": int(answerable[test].sum()),
                      "uncovered": int((~answerable[test]).sum()), "today": [round(v, 3) for v in t],
                      "model": [round(v, 3) for v in m], "beats_today": bool(beats)})
        if args.verbose:
            print("   weights:", ", ".join(f"{f}={v:+.2f}" for f, v in zip(features + ("bias",), w)), f"bar={bar:+.2f}")
    for corpus in corpora:  # the ceiling: five-fold inside one corpus, the bar set on its own questions
        mine = np.flatnonzero(labelled & np.array([r["corpus"] == corpus for r in rows]))
        if (~answerable[mine]).sum() < 5:
            continue
        fold = np.random.default_rng(0).integers(0, 5, len(mine))
        refused = np.zeros(len(mine), dtype=bool)
        for k in range(5):
            train, test = mine[fold != k], mine[fold == k]
            train = train[judged[train]]
            w = logistic(x_all[train], answerable[train].astype(float), l2=args.l2)
            score = np.hstack([x_all, np.ones((len(rows), 1))]) @ w
            kept = train[~abstained[train]] if args.combine == "or" else train
            bar = _bar(score[kept], answerable[kept], max(args.max_wrong, 0.0))
            refused[fold == k] = np.where(judged[test], (score[test] < bar) | other[test], abstained[test])
            if args.combine == "or":
                refused[fold == k] |= abstained[test]
        m = rates(refused, answerable[mine])
        print(f"inside {corpus} (5-fold, bar on its own questions): {m[0]:.3f} / {m[1]:.3f}")
    w = logistic(x_all[judged], answerable[judged].astype(float), l2=args.l2)
    print("all corpora:", ", ".join(f"{f}={v:+.3f}" for f, v in zip(features + ("bias",), w)))
    verdict = all(f["beats_today"] for f in folds)
    print(f"beats today's rule on every held-out corpus: {'yes' if verdict else 'no'}")
    if args.results:
        out = Path(args.results)
        runs = json.loads(out.read_text()) if out.exists() else []
        runs = [r for r in runs if r.get("options") != vars_of(args)]
        runs.append({"options": vars_of(args), "features": list(features), "folds": folds,
                     "beats_today_every_fold": verdict})
        out.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")


def vars_of(args: argparse.Namespace) -> dict[str, Any]:
    """The fit's options, without the evidence files' paths (they live in /tmp)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in ("files", "command", "results", "verbose")}


def _probe_bar(rows: list[dict[str, Any]], score: np.ndarray, corpus: str, q: float) -> float:
    probes = np.array([s for r, s in zip(rows, score) if r["corpus"] == corpus and r["set"] == "probe"])
    return float(np.quantile(probes, q))


def _probe_quantile(rows: list[dict[str, Any]], score: np.ndarray, train: np.ndarray, answerable: np.ndarray,
                    max_wrong: float) -> float:
    """The highest probe quantile whose bar refuses at most ``max_wrong`` of the answerable questions of every
    training corpus."""
    corpora = {r["corpus"] for r, t in zip(rows, train) if t}
    best = 0.0
    for q in np.linspace(0.5, 1.0, 51):
        ok = True
        for c in corpora:
            sel = train & answerable & np.array([r["corpus"] == c for r in rows])
            if sel.any() and (score[sel] < _probe_bar(rows, score, c, q)).mean() > max_wrong:
                ok = False
        if ok:
            best = q
    return best


def _bar(score: np.ndarray, answerable: np.ndarray, max_wrong: float) -> float:
    """The highest bar that refuses at most ``max_wrong`` of the training answerable questions."""
    ok = np.sort(score[answerable])
    return float(ok[int(np.floor(max_wrong * len(ok)))]) if len(ok) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="ask every question of the sets and write its evidence (JSON lines)")
    rec.add_argument("--data-dir", required=True)
    rec.add_argument("--corpus", required=True, help="the name of the index's corpus (a fold of the validation)")
    rec.add_argument("--qa", action="append", required=True)
    rec.add_argument("--out", required=True)
    fitting = sub.add_parser("fit", help="fit and validate leave-one-corpus-out")
    fitting.add_argument("files", nargs="+")
    fitting.add_argument("--features", default="")
    fitting.add_argument("--l2", type=float, default=1.0)
    fitting.add_argument("--max-wrong", type=float, default=0.05, help="answerable share the bar may refuse (training); negative: the "
                         "regression's own even odds")
    fitting.add_argument("--norm", choices=("probe", "span"), default="probe")
    fitting.add_argument("--bar", choices=("train", "probes"), default="train",
                         help="train: a score bar from the training answerable questions; probes: a quantile of "
                         "each index's probes")
    fitting.add_argument("--combine", choices=("replace", "or"), default="replace",
                         help="replace today's support bar, or refuse when either refuses")
    fitting.add_argument("--results", default="", help="append the fold table to this JSON file")
    fitting.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    record(args) if args.command == "record" else fit(args)


if __name__ == "__main__":
    main()
