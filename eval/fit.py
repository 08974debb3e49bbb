"""Fit the reader on the dev sets: `python -m eval.fit` (needs a built index; about three minutes on 2 cores).

What it fits, in order, and writes to rag/data/ (reader.npz, reader.json, and the report reader-fit.md):
1. the intent classifier: multinomial logistic regression over the question vector, labels = the dev categories;
2. the query adapter: a 384 x 384 linear map W, the question vector q read as q + qW, trained so that the gold
   evidence sentence outscores the other sentences of the retrieved passages (hard negatives) and the other
   questions' evidence (in-batch negatives);
3. the reader: logistic regression over rag.read.FEATURES, on features computed with adapters fitted without the
   question's own set (cross-fitting, so the adapter's fit to its training questions does not inflate its weight);
4. the policy floors per intent: the (absolute, relative) probability floors that maximise key facts + evidence +
   sentence precision + cited works - words/WORDS_PER_POINT on the dev answers (length is a cost: a point of any
   of those must be worth WORDS_PER_POINT words);
5. the answerability check: logistic regression over rag.refuse.CHECKS, and the threshold that refuses most
   unanswerable dev questions while refusing at most 4 % of the answerable ones. Its L2 strength is fixed,
   L2_REFUSAL = 0.1; the report shows what the grid's other values do on the unfitted casual dev sets (`fit = false`,
   unless `grid = false`): wrong decisions there, each value with its out-of-fold threshold. 0.1 made the fewest
   on 41cad3e's code. Chosen anew at every fit, the count moved between neighbouring values on one or two of 240
   decisions whenever anything upstream changed, and with it the gated set's refusal accuracy (0.90 -> 0.68-0.81):
   a fit must not change its regularisation because of noise.
   Nor can cross-validation by writer choose it (every writer asks about the same article): a weakly regularised
   model learns which topics the article lacks (plain questions about the CRRF were refused), not what answers.
   Beside it, the topic floor: the plain MiniLM similarity of the least related answerable dev question to its
   nearest candidate sentence (retrieved as at run time); a question below it is on another subject.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from eval.cli import one_line_errors
from eval.dataset import EvalItem, load_dataset
from eval.fit_report import write
from eval.metrics import holds_evidence, key_fact_share, relevant_sentence, source_share
from eval.sets import EvalSet, eval_sets
from index.settings import load_settings
from rag.api import Assistant
from rag.cite import sources_of
from rag.lexicon import DATA
from rag.policy import Policy, select
from rag.query import INTENTS, IntentModel, Query
from rag.read import FEATURES, Reader, ReaderModel, Scored, sigmoid
from rag.refuse import CHECKS, answerability_inputs

SEED = 0
FOLDS = 4
EPOCHS = 10
TEMPERATURE = 0.05
L2_ADAPTER = 1e-3
L2_LINEAR = 1e-3
MAX_FALSE_REFUSALS = 0.04
L2_REFUSAL = 0.1  # see the module docstring, step 5
L2_REFUSAL_GRID = (1e-3, 1e-2, 3e-2, L2_REFUSAL, 0.3, 1.0)
WORDS_PER_POINT = 200
FLOORS_ABS = [round(x, 2) for x in np.arange(0.0, 0.95, 0.05)]
FLOORS_REL = [round(x, 2) for x in np.arange(0.3, 1.01, 0.05)]


@dataclass
class Example:
    """One dev question with its parsed query, candidates and labels."""

    item: EvalItem
    group: str
    query: Query
    cands: list[tuple[int, int]] = field(default_factory=list)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0))


def writer(s: EvalSet, item_id: str) -> str:
    """The cross-validation group of a question: its set (or the set it rewords, `fold_with`), or in a merged pool
    the old set's id prefix ("h14")."""
    m = re.match(r"^(.*?)[-_]?\d{3}$", item_id)
    return f"{s.name}:{m.group(1)}" if m and s.name.endswith("heldouts") else s.fold_with or s.name


def gather(assistant: Assistant, fitted: bool = True, model: ReaderModel | None = None) -> list[Example]:
    """Parse, retrieve (with `model`'s retrieval vector; the plain question vector before any fit) and label every
    question of the dev sets fitted on (or, `fitted=False`, of those that are not and count in the fit report's L2
    grid; never one derived from another)."""
    reader = assistant.reader
    model = model or assistant.model
    out = []
    for s in (s for s in eval_sets("dev") if s.fitted == fitted and not s.derived_from and (fitted or s.grid)):
        for item in load_dataset(s.path):
            history = [t.model_dump() for t in item.history] or None
            out.append(Example(item, writer(s, item.id), assistant.parse(item.question, history)))
    for ex in tqdm(out, desc="retrieve", unit="q", file=sys.stderr):
        vector = model.retrieval_vector(ex.query.search_vector)
        retrieved = assistant.retriever.retrieve(ex.query.search, vector=vector)
        ex.cands = reader.candidates(retrieved, assistant.policy.depth)
        ex.labels = np.asarray(
            [holds_evidence(reader.sentences[r].text, ex.item.evidence) for r, _ in ex.cands], dtype=float
        )
    return out


def reintend(ex: Example, intents: IntentModel) -> None:
    """The example's query with the intent the fitted classifier gives it (as `rag.query.parse` would)."""
    q = ex.query
    exclude = frozenset() if q.answer_type else frozenset({"number_date"})
    intent = q.intent if q.intent in ("summary", "out_of_scope") else intents.predict(q.search_vector, exclude)
    ex.query = replace(q, intent=intent)  # type: ignore[arg-type]  # one of INTENTS


def fit_intents(examples: list[Example]) -> IntentModel:
    """Multinomial logistic regression: question vector -> intent."""
    torch.manual_seed(SEED)  # the layer's initial weights: the same fit every run
    data = [(ex.query.search_vector, INTENTS.index(ex.item.category)) for ex in examples if ex.item.category in INTENTS]
    x = torch.tensor(np.stack([v for v, _ in data]), dtype=torch.float32)
    y = torch.tensor([c for _, c in data])
    lin = torch.nn.Linear(x.shape[1], len(INTENTS))
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(x), y) + L2_LINEAR * (lin.weight**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return IntentModel(INTENTS, lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy())


def fit_adapter(examples: list[Example], vectors: np.ndarray) -> np.ndarray:
    """The query adapter W (see the module docstring)."""
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    train = [ex for ex in examples if ex.labels.any()]
    sents = torch.tensor(vectors, dtype=torch.float32)
    weights = torch.zeros(vectors.shape[1], vectors.shape[1], requires_grad=True)
    opt = torch.optim.Adam([weights], lr=1e-3)
    for _ in range(EPOCHS):
        rng.shuffle(train)
        for b in range(0, len(train), 32):
            batch = train[b : b + 32]
            q = torch.tensor(np.stack([ex.query.search_vector for ex in batch]), dtype=torch.float32)
            qa = q + q @ weights
            qa = qa / qa.norm(dim=1, keepdim=True)
            loss = torch.zeros(())
            positives = []
            for j, ex in enumerate(batch):
                rows = [r for r, _ in ex.cands]
                logits = sents[rows] @ qa[j] / TEMPERATURE
                pos = torch.tensor(ex.labels > 0)
                loss = loss - (torch.logsumexp(logits[pos], 0) - torch.logsumexp(logits, 0))
                positives.append(sents[rows[int(np.argmax(ex.labels))]])
            in_batch = qa @ torch.stack(positives).T / TEMPERATURE
            loss = loss / len(batch) + 0.5 * torch.nn.functional.cross_entropy(in_batch, torch.arange(len(batch)))
            loss = loss + L2_ADAPTER * (weights**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return weights.detach().numpy().astype(np.float32)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2_LINEAR) -> tuple[np.ndarray, float]:
    """Binary logistic regression (L-BFGS, L2 on standardised features); coefficients for the raw features."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    coef, intercept = _fit_standardised((x - mean) / std, y, l2)
    return coef / std, intercept - float(np.sum(coef * mean / std))


def _fit_standardised(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), float(b.detach())


def groups_in_folds(examples: list[Example]) -> list[set[str]]:
    """The dev sets dealt into FOLDS folds (a set's questions stay together)."""
    names = sorted({ex.group for ex in examples})
    return [set(names[i::FOLDS]) for i in range(FOLDS)]


def top1(examples: list[Example], key: Any) -> float:
    """Share of questions (with a gold candidate) whose best candidate by `key` holds the evidence."""
    hits = [ex.labels[int(np.argmax(key(ex)))] for ex in examples if ex.labels.any()]
    return float(np.mean(hits)) if hits else 0.0


def fit_floors(
    examples: list[Example], scored: dict[int, list[Scored]], reader: Reader, vectors: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per intent, the floors that maximise key facts + evidence + precision + works - words/WORDS_PER_POINT."""
    floors: dict[str, dict[str, float]] = {}
    entries = reader.handle.entries
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        if ex.item.answerable and ex.item.evidence and ex.query.intent != "summary":
            by_intent[ex.query.intent].append(ex)
    asked = {id(ex): (reader.works_named(ex.query.text), ex.query.asks_view) for ex in examples}
    for intent in INTENTS:
        best = (-1e9, 1.0, 1.0)
        for fa in FLOORS_ABS:
            for fr in FLOORS_REL:
                policy = Policy.load({intent: {"abs": fa, "rel": fr}})
                total = 0.0
                for ex in by_intent.get(intent, []):
                    chosen = select(policy, intent, scored[id(ex)], vectors, entries, None, *asked[id(ex)])
                    text = " ".join(s.text for s in chosen)
                    kf = key_fact_share(text, ex.item.key_facts) or 0.0
                    ev = float(any(holds_evidence(s.text, ex.item.evidence) for s in chosen))
                    pr = float(np.mean([relevant_sentence(s.text, ex.item) for s in chosen])) if chosen else 0.0
                    works = [r for s in chosen for r in sources_of(s.passage, s.start, s.end, entries)]
                    src = source_share(ex.item.cited_sources, works)
                    total += kf + ev + pr + (src if src is not None else 0.0) - len(text.split()) / WORDS_PER_POINT
                if total > best[0]:
                    best = (total, fa, fr)
        floors[intent] = {"abs": best[1], "rel": best[2]}
    return floors


def fit_refusal(
    examples: list[Example], scored: dict[int, list[Scored]], reader: Reader, unseen: list[Example],
    unseen_scored: dict[int, list[Scored]],
) -> dict[str, Any]:
    """Two answerability models, each with its threshold chosen on out-of-fold probabilities (the most unanswerable
    dev questions refused while at most MAX_FALSE_REFUSALS of the answerable ones are): over all inputs, and over
    CHECKS alone (used for a cited work's full text, which no dev question is about). The L2 strength: see the module
    docstring (step 5)."""

    def inputs(exs: list[Example], by_id: dict[int, list[Scored]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        kept = [ex for ex in exs if ex.query.intent not in ("summary", "out_of_scope")]
        x = np.stack([answerability_inputs(ex.query, by_id[id(ex)], reader) for ex in kept])
        return x, np.asarray([float(ex.item.answerable) for ex in kept]), [ex.group for ex in kept]

    x, y, groups = inputs(examples, scored)
    xu, yu, _ = inputs(unseen, unseen_scored) if unseen else (np.zeros((0, x.shape[1])), np.zeros(0), [])
    trials = []
    for l2 in L2_REFUSAL_GRID:
        model = _refusal_model(x, y, groups, l2)
        p = sigmoid(xu @ model["coef"] + model["intercept"])
        unseen_fr = float(np.mean(p[yu == 1] < model["threshold"])) if (yu == 1).any() else 0.0
        unseen_refused = float(np.mean(p[yu == 0] < model["threshold"])) if (yu == 0).any() else 0.0
        trials.append((l2, model, unseen_fr, unseen_refused))
    l2, full = next(t for t in trials if t[0] == L2_REFUSAL)[:2]  # the grid is reported, not chosen from
    checks_only = _refusal_model(x[:, : len(CHECKS)], y, groups, l2)
    grid = [{"l2": t[0], "cv_refusal_accuracy": t[1]["cv_refusal_accuracy"], "unseen_false_refusals": t[2],
             "unseen_refusal_accuracy": t[3]} for t in trials]
    return {"checks": list(CHECKS), **full, "l2": l2, "l2_grid": grid, "checks_only": checks_only}


def topic_floor(assistant: Assistant, examples: list[Example], vectors: np.ndarray) -> float:
    """The plain MiniLM similarity of the least related answerable dev question to its nearest candidate sentence,
    retrieved as at run time (with the fitted model): a question related to no candidate less than that is on another
    subject (rag.refuse.unrelated)."""
    asked = [ex for ex in examples if ex.item.answerable and ex.query.intent not in ("summary", "out_of_scope")]
    floor = 1.0
    for ex in tqdm(asked, desc="topic floor", unit="q", file=sys.stderr):
        vector = assistant.reader.model.retrieval_vector(ex.query.search_vector)
        rows = [r for r, _ in assistant.reader.candidates(assistant.retriever.retrieve(ex.query.search, vector=vector),
                                                          assistant.policy.depth)]
        if rows:
            floor = min(floor, float(np.max(vectors[rows] @ ex.query.search_vector)))
    return floor


def _refusal_model(x: np.ndarray, y: np.ndarray, groups: list[str], l2: float = L2_LINEAR) -> dict[str, Any]:
    """A logistic answerability model (L2 strength `l2`) and its out-of-fold threshold."""
    oof = np.zeros(len(y))
    names = sorted(set(groups))
    for k in range(FOLDS):
        held = set(names[k::FOLDS])
        test = np.asarray([g in held for g in groups])
        coef, intercept = fit_logistic(x[~test], y[~test], l2)
        oof[test] = sigmoid(x[test] @ coef + intercept)
    coef, intercept = fit_logistic(x, y, l2)
    best = (0.0, -1.0, 0.0)
    for t in np.unique(np.round(oof, 4)):
        false_refusals = float(np.mean(oof[y == 1] < t))
        refusals = float(np.mean(oof[y == 0] < t))
        if false_refusals <= MAX_FALSE_REFUSALS and refusals > best[1]:
            best = (float(t), refusals, false_refusals)
    return {"coef": coef, "intercept": intercept, "threshold": best[0], "cv_refusal_accuracy": best[1],
            "cv_false_refusal_rate": best[2]}


def main(argv: list[str] | None = None) -> int:
    """Fit everything and write rag/data/reader.{npz,json} and reader-fit.md; `--without GROUP --out DIR` fits
    without one cross-validation group's questions (e.g. "dataset": the gated set and its paraphrases) and writes to
    DIR instead (eval/heldout.py measures that group like a blind set)."""
    args = _arguments(argv)
    assistant = Assistant.from_settings(load_settings(), model=ReaderModel.untrained())
    examples = _without(gather(assistant), args.without)
    reader = assistant.reader
    vectors = np.asarray(reader.handle.sentence_vectors)  # the whole matrix, once
    intents = fit_intents(examples)
    for ex in examples:  # re-read with the fitted intents (the vectors are the same)
        reintend(ex, intents)
    labelled = [ex for ex in examples if ex.item.category in INTENTS]
    intent_acc = float(np.mean([ex.query.intent == ex.item.category for ex in labelled]))
    answerable = [ex for ex in examples if ex.item.answerable and ex.item.evidence]
    base_top1 = top1(answerable, lambda ex: vectors[[r for r, _ in ex.cands]] @ ex.query.search_vector)
    # cross-fitted adapters: every example's features come from an adapter that never saw its set
    features: dict[int, np.ndarray] = {}
    fold_top1 = []
    for held in tqdm(groups_in_folds(examples), desc="adapter folds", file=sys.stderr):
        train = [ex for ex in answerable if ex.group not in held]
        reader.model = ReaderModel(fit_adapter(train, vectors), np.zeros(len(FEATURES)), 0.0, intents)
        test = [ex for ex in examples if ex.group in held]
        for ex in test:
            features[id(ex)] = reader.features(ex.query, ex.cands)
        fold_top1.append(top1([ex for ex in test if ex in answerable],
                              lambda ex: features[id(ex)][:, FEATURES.index("cos_adapted")]))
    x = np.concatenate([features[id(ex)] for ex in answerable if len(ex.cands)])
    y = np.concatenate([ex.labels for ex in answerable if len(ex.cands)])
    coef, intercept = fit_logistic(x, y)
    reader_top1 = top1(answerable, lambda ex: features[id(ex)] @ coef)
    by_category = {
        f"reader_top1_{cat}": top1(
            [ex for ex in answerable if ex.item.category == cat], lambda ex: features[id(ex)] @ coef
        )
        for cat in sorted({ex.item.category for ex in answerable})
    }
    adapter = fit_adapter(answerable, vectors)
    reader.model = ReaderModel(adapter, coef, intercept, intents)
    scored: dict[int, list[Scored]] = {}
    for ex in examples:  # out-of-fold probabilities for the floors and the refusal fit
        x_ex = features[id(ex)]
        probs = sigmoid(x_ex @ coef + intercept) if len(x_ex) else np.zeros(0)
        rows = [Scored(reader.sentences[r], k, x_ex[i], float(probs[i])) for i, (r, k) in enumerate(ex.cands)]
        scored[id(ex)] = sorted(rows, key=lambda s: -s.prob)
    floors = fit_floors(examples, scored, reader, vectors)
    unseen = gather(assistant, fitted=False, model=reader.model)  # retrieved and scored as at run time
    for ex in unseen:
        reintend(ex, intents)
    unseen_scored = {id(ex): reader.score(ex.query, ex.cands) for ex in unseen}
    refusal = fit_refusal(examples, scored, reader, unseen, unseen_scored)
    refusal["topic_floor"] = topic_floor(assistant, examples, vectors)
    write(args.out, adapter, intents, coef, intercept, floors, refusal, {
        "dev_questions": len(examples), "answerable_with_evidence": len(answerable),
        "nearest_sentence_top1": base_top1, "adapter_top1_by_fold": fold_top1,
        "adapter_top1": float(np.mean(fold_top1)), "reader_top1": reader_top1, **by_category,
        "intent_accuracy_in_sample": intent_acc, **({"left_out_group": args.without} if args.without else {}),
    })
    return 0


def _without(examples: list[Example], group: str | None) -> list[Example]:
    """The examples less one cross-validation group's; a group no fitted question belongs to is an error."""
    if group is None:
        return examples
    kept = [ex for ex in examples if ex.group != group]
    if len(kept) == len(examples):
        raise SystemExit(f"eval.fit: no fitted question is in the group {group!r} (see eval/sets.toml)")
    return kept


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    """--without GROUP and --out DIR; a model fitted without a group is never written over rag/data."""
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description="Fit the reader on the dev sets.")
    parser.add_argument("--without", default=None, help="leave out one cross-validation group (e.g. dataset)")
    parser.add_argument("--out", type=Path, default=DATA, help="where to write reader.* (default: rag/data)")
    args = parser.parse_args(argv)
    if args.without and args.out.resolve() == DATA.resolve():
        parser.error("--without writes a model for measuring only: give --out DIR, not rag/data")
    args.out.mkdir(parents=True, exist_ok=True)
    return args


if __name__ == "__main__":
    raise SystemExit(one_line_errors(main, "eval.fit"))
