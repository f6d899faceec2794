"""How far every graded decision is from flipping, under what changes between machines.

``.venv/bin/python benchmarks/exercise_margins.py [--exercises 01-plateau-schedule ...]
[--variants base onednn-off ...] [--jobs 2] [--out benchmarks/exercise_margins.json] [--reuse]``

For every exercise, the answers of ``solutions/answers/`` (the reference, which must pass;
the no-ops, answers that apply no fix, and the wrong ones, which must fail) are checked
with the grader's own code (``Exercise.verify``) under each variant of :data:`VARIANTS`: as
this machine runs it, with oneDNN on and off (``TF_ENABLE_ONEDNN_OPTS=1`` and ``0``: TensorFlow
turns it on by itself only on some CPUs, see ``ll.machine``, so one of the two is this
machine's own setting and the other the one it lacks), with one intra-op thread
(``TF_NUM_INTRAOP_THREADS=1``), and with the two seeds after the task's. Each variant runs in a
fresh process (TensorFlow reads those variables once, at import). The first three change the
last digits of every training, as another CPU does; the seeds change far more, and stand for a
decision that is chaotic. Under a seed variant the decision is taken on the answer's
``checks`` alone: a reported value (``Judgement.reports``) belongs to the seed it was read on,
and an exercise decided by reported values alone is not judged there (``applicable: false``).

Prints one Markdown row per exercise and answer: the decision it needs, whether every variant
gave it, and the smallest margin (``ll.claims.decision_margin``: a share of the bound) with its
variant. Writes every result, with where it ran (``ll.machine.describe``), to ``--out``; the
committed copy is what ``tests/test_exercise_margins.py`` holds to its bounds; each variant's
``ran_on`` says where it ran. ``--reuse`` keeps
the results already in ``--out`` for the same answers and the same deciding code
(:func:`code_checksum`) and runs only the missing ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "exercise_margins.json"

VARIANTS = {
    "base": ({}, 0),
    "onednn-on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, 0),
    "onednn-off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, 0),
    "one-thread": ({"TF_NUM_INTRAOP_THREADS": "1"}, 0),
    "seed+1": ({}, 1),
    "seed+2": ({}, 2),
}
"""``{name: (environment variables, seed offset from the task's seed)}``."""

SEED_VARIANTS = tuple(name for name, (_, offset) in VARIANTS.items() if offset)


def declared_answers() -> dict[str, dict[str, dict]]:
    """``{exercise id: {label: answer}}`` from ``solutions/answers/`` (``ll.instructor.solutions.
    declared_answers``): ``reference`` first, then each no-op as ``no-op: <label>``, then each wrong
    answer as ``wrong: <label>``."""
    from lstm_lessons.instructor.solutions import declared_answers as declared_entries

    declared = declared_entries()
    return {exercise: {"reference": entry["reference"],
                       **{f"no-op: {label}": answer for label, answer in entry["no-ops"].items()},
                       **{f"wrong: {label}": answer for label, answer in entry["wrong"].items()}}
            for exercise, entry in declared.items()}


SHARED_CODE = ("lstm_lessons/grading/exercise.py",)
"""The grading code every exercise's decision goes through (``ll.claims``'s relations and margins
have unit tests of their own)."""


def exercises_path(lesson: str) -> Path:
    """The file of lesson ``lesson``'s exercises (``"01"``...): its folder's ``exercises.py``
    (``lstm_lessons/lessons/lessonNN_slug/``), under :data:`ROOT`."""
    found = sorted((ROOT / "lstm_lessons" / "lessons").glob(f"lesson{lesson}_*/exercises.py"))
    if len(found) != 1:
        raise ValueError(f"lesson={lesson!r}: expected one lstm_lessons/lessons/lesson{lesson}_*/"
                         f"exercises.py, found {[str(p.relative_to(ROOT)) for p in found]}")
    return found[0]


def code_checksum(lesson: str) -> str:
    """SHA-256 of the code that decides lesson ``lesson``'s exercises (``"01"``...): its
    :func:`exercises_path` and :data:`SHARED_CODE`, as Python's syntax trees without
    docstrings, so that a changed docstring or comment keeps a measurement and changed code, a
    bound or a relation, does not. The lesson's own modules (``ll.data``, ``ll.padding``...) are
    left out: a change there is the author's to re-measure. So are the paths imports name (the
    names imported stay): moving a module to another package decides nothing."""
    import ast
    import hashlib

    digest = hashlib.sha256()
    for path in (*(ROOT / p for p in SHARED_CODE), exercises_path(lesson)):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                body[0] = ast.Pass()
            if isinstance(node, ast.ImportFrom):
                node.module, node.level = None, 0
            # Attribute docstrings (a string after an assignment) go too.
            if isinstance(body, list):
                node.body = [n for i, n in enumerate(body) if not (
                    i and isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                    and isinstance(n.value.value, str))]
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()


def expected(label: str) -> bool:
    """Whether the answer under ``label`` must pass (only the reference does)."""
    return label == "reference"


def check_here(jobs: list[dict]) -> list[dict]:
    """Run in a child process: verify each job's answer with ``Exercise.verify`` and the job's seed."""
    from lstm_lessons.claims import decision_margin
    from lstm_lessons.grading.feedback import exercise, screen
    from lstm_lessons.machine import describe

    results = []
    for job in jobs:
        task = exercise(job["exercise"])
        row = dict(job, code=code_checksum(job["exercise"][:2]))
        screened = screen(job["exercise"], job["answer"])
        if screened is not None:
            row.update(passed=False, margin=None, screened=screened.message, checks=[])
        else:
            seed = task.seed + VARIANTS[job["variant"]][1]
            judged = task.verify(dict(job["answer"]), seed)
            on_checks = job["variant"] in SEED_VARIANTS
            row.update(seed=seed, passed=all(c.holds for c in judged.checks) if on_checks else judged.passed,
                       margin=decision_margin(judged.checks) if on_checks else judged.margin,
                       checks=[c.record() for c in (*judged.checks, *judged.reports)],
                       reports=len(judged.reports), message=judged.message)
            if on_checks and not judged.checks:
                # Only reported values decide it (which year was worst, what a value was): on
                # another seed they are other values, and nothing is left to judge.
                row.update(passed=None, margin=None, applicable=False)
        row["environment"] = describe()
        decision = "passes" if row["passed"] else "fails"
        print(f"{job['variant']:>10} {job['exercise']} {job['label']}: {decision}, margin {row['margin']}",
              file=sys.stderr, flush=True)
        results.append(row)
    return results


def run_variant(variant: str, jobs: list[dict]) -> list[dict]:
    """Check ``jobs`` in a fresh Python process with the variant's environment."""
    if not jobs:
        return []
    environment = {**os.environ, **VARIANTS[variant][0], "PYTHONPATH": str(ROOT / "benchmarks")}
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    code = ("import json, sys; from exercise_margins import check_here; "
            "print(json.dumps(check_here(json.load(sys.stdin))))")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(jobs), text=True,
                          capture_output=True, env=environment, cwd=ROOT)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"variant {variant} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def decided_by_reports(result: dict) -> bool:
    """Whether a result failed on its reported values alone (every other check held): a wrong
    report belongs to the seed it was read on, so on the seed variants nothing is left to judge."""
    checks = result.get("checks", [])
    judged = checks[:len(checks) - result.get("reports", 0)]
    return result["passed"] is False and bool(result.get("reports")) and all(c["holds"] for c in judged)


def summary_rows(results: list[dict]) -> list[dict]:
    """One row per (exercise, answer): the decision it needs, the variants that gave another, the
    smallest |margin| where machines differ (the seed variants only need the same decision) and
    its variant (``None`` where facts alone decided)."""
    rows = {}
    by_reports = {(r["exercise"], r["label"]) for r in results
                  if r["variant"] == "base" and decided_by_reports(r)}
    for r in results:
        if r.get("applicable") is False or (
                VARIANTS[r["variant"]][1] and (r["exercise"], r["label"]) in by_reports):
            continue
        needs = "pass" if expected(r["label"]) else "fail"
        row = rows.setdefault((r["exercise"], r["label"]), {
            "exercise": r["exercise"], "label": r["label"], "needs": needs,
            "variants": 0, "wrong_in": [], "smallest": None, "where": ""})
        row["variants"] += 1
        if r["passed"] != expected(r["label"]):
            row["wrong_in"].append(r["variant"])
        machine = VARIANTS[r["variant"]][1] == 0
        closer = row["smallest"] is None or (r["margin"] is not None and abs(r["margin"]) < row["smallest"])
        if machine and r["margin"] is not None and closer:
            row["smallest"], row["where"] = abs(r["margin"]), r["variant"]
    return list(rows.values())


def markdown(rows: list[dict]) -> str:
    lines = ["| exercise | answer | needs | variants that gave it | smallest margin (machines) | where |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        gave = row["variants"] - len(row["wrong_in"])
        wrong = f" (not in {', '.join(row['wrong_in'])})" if row["wrong_in"] else ""
        smallest = "facts" if row["smallest"] is None else f"{row['smallest']:.0%}"
        lines.append(f"| {row['exercise']} | {row['label']} | {row['needs']} | "
                     f"{gave}/{row['variants']}{wrong} | {smallest} | {row['where']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", nargs="*", help="exercise ids (default: every declared one)")
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="variants run side by side")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--reuse", action="store_true", help="keep --out's results for the same answers")
    args = parser.parse_args()

    answers = declared_answers()
    exercises = args.exercises or list(answers)
    unknown = sorted(set(exercises) - set(answers))
    if unknown:
        parser.error(f"--exercises: no declared answers for {unknown} in solutions/answers/")
    before = json.loads(args.out.read_text()) if args.reuse and args.out.exists() else {}
    earlier = before.get("results", [])
    key = lambda r: (r["exercise"], r["label"], r["variant"], json.dumps(r["answer"], sort_keys=True))  # noqa: E731
    # A result is kept only for the same answer and the same deciding code.
    kept = {key(r): r for r in earlier if r.get("code") == code_checksum(r["exercise"][:2])}
    # One process a variant and lesson: TensorFlow's start-up is paid 5 x 8 times, and the
    # processes are small enough for --jobs to keep both cores busy to the end.
    todo: dict[tuple[str, str], list[dict]] = {}
    for exercise in exercises:
        for label, answer in answers[exercise].items():
            for variant in args.variants:
                job = {"exercise": exercise, "label": label, "variant": variant, "answer": answer}
                if key(job) not in kept:
                    todo.setdefault((variant, exercise[:2]), []).append(job)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        new = [r for rs in pool.map(lambda group: run_variant(group[0], todo[group]), todo) for r in rs]
    for r in new:
        kept[key(r)] = r
    # Only the answers solutions/answers/ declares, in its order (a reused result of another
    # answer is dropped).
    pairs = [(e, label) for e in answers for label in answers[e]]
    order = {pair: i for i, pair in enumerate(pairs)}
    results = sorted((r for r in kept.values() if (r["exercise"], r["label"]) in order
                      and r["answer"] == answers[r["exercise"]][r["label"]]),
                     key=lambda r: (order[(r["exercise"], r["label"])], list(VARIANTS).index(r["variant"])))
    # Where each variant ran (ll.machine.describe), once a variant rather than once a row: the
    # newest run's, else what the reused file said.
    ran_on = {v: info.get("ran_on") for v, info in before.get("variants", {}).items()}
    for r in results:
        environment = r.pop("environment", None)
        if environment:
            ran_on[r["variant"]] = environment
    variants = {v: {"environment": e, "seed_offset": o, "ran_on": ran_on.get(v)}
                for v, (e, o) in VARIANTS.items()}
    args.out.write_text(json.dumps({"variants": variants, "results": results}, indent=1) + "\n")
    print(markdown(summary_rows(results)))


if __name__ == "__main__":
    main()
