"""How safely each lesson's claims hold: every lesson run for seeds 1-10, every claim's margin.

``.venv/bin/python benchmarks/claims_margin.py [--lessons 01 04] [--seeds 1-10] [--jobs 2]
[--out build/claims-margin] [--reuse]``

Runs each lesson once per seed through the runner (``lstm_lessons.runner.run_lessons``, the
code behind ``lstm-lessons run``), each run in its own output folder and, for a lesson with a
``log_dir`` parameter, its own log folder, so parallel runs never share a file. Then reads the
claims every executed notebook recorded (``ll.claims.claim`` stores each check's value,
bound and margin) and prints one Markdown row per check: in how many seeds its claim held,
the value of the seed where the check came closest to its bound (or failed worst), that
bound, and the margin there, ``(bound - value) / |bound|`` for an upper bound and
``(value - bound) / |bound|`` for a lower one (see ``Check.margin``). A fact (``is``) has no
margin; its row says in how many seeds it was true. A run that errors is listed below the
table and counts as "not held" for every claim of its lesson.

``--reuse`` keeps executed notebooks already in ``--out`` (from an earlier call) and only runs
the missing ones, so a table can be rebuilt after changing one lesson.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill

from lstm_lessons.claims import read_claim_records
from lstm_lessons.cores import tensorflow_threads
from lstm_lessons.runner import resolve_lessons, run_lessons


def parse_seeds(text: str) -> list[int]:
    """``"1-10"`` or ``"1,4,7"`` (or both, ``"1-3,8"``) to a sorted list of seeds."""
    seeds = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.update(range(int(low), int(high or low) + 1))
    return sorted(seeds)


def run_one(path: Path, seed: int, out: Path, timeout: float, reuse: bool) -> dict:
    """Run one lesson with one seed (unless ``reuse`` finds it done); return its claim records."""
    folder = out / path.stem / f"seed-{seed:02d}"
    executed, summary = folder / path.name, folder / "summary.json"
    if not (reuse and summary.exists()):
        parameters = {"seed": seed}
        if "log_dir" in papermill.inspect_notebook(str(path)):
            parameters["log_dir"] = str((folder / "logs").resolve())
        run_lessons([path.stem], parameters, folder, timeout, progress=False, notebooks_dir=path.parent)
    # The runner's own verdict (passed, claims_failed or error), also for a reused run.
    row = json.loads(summary.read_text())["lessons"][0]
    status, error = row["status"], row["error"]
    records = read_claim_records(nbformat.read(executed, as_version=4)) if executed.exists() else {}
    print(f"{path.stem} seed {seed}: {status}", flush=True)
    return {"lesson": path.stem, "seed": seed, "status": status, "error": error, "claims": records}


def margin_rows(runs: list[dict]) -> list[dict]:
    """One row per (lesson, claim, check): seeds held, and the check's worst seed."""
    rows = []
    for lesson in dict.fromkeys(r["lesson"] for r in runs):
        mine = [r for r in runs if r["lesson"] == lesson]
        names = list(dict.fromkeys(name for r in mine for name in r["claims"]))
        for name in names:
            held = sum(1 for r in mine if r["status"] != "error"
                       and r["claims"].get(name, {}).get("holds"))
            checks: dict[str, list] = {}
            for r in mine:
                for check in r["claims"].get(name, {}).get("checks", []):
                    checks.setdefault(check["quantity"], []).append((r["seed"], check))
            if not checks:
                rows.append({"lesson": lesson, "claim": name, "held": held, "seeds": len(mine),
                             "check": "(no checks recorded)"})
            for quantity, seen in checks.items():
                rows.append(worst_row(lesson, name, held, len(mine), quantity, seen))
    return rows


def worst_row(lesson, name, held, n_seeds, quantity, seen) -> dict:
    row = {"lesson": lesson, "claim": name, "held": held, "seeds": n_seeds, "check": quantity}
    relation = seen[0][1]["relation"]
    if relation == "is":
        row.update(relation="is", value=f"true in {sum(1 for _, c in seen if c['value'])}/{len(seen)}")
        return row
    # The seed closest to failing: the smallest margin (a value that is not a number is worst).
    seed, worst = min(seen, key=lambda item: (item[1]["margin"] is not None,
                                              item[1]["margin"] if item[1]["margin"] is not None else 0))
    if relation == "any":
        # Show the alternative that carried the claim on that seed: its margin is the claim's.
        worst = max((c for c in worst["checks"] if c["margin"] is not None),
                    key=lambda c: c["margin"], default=worst)
        row["carried_by"] = worst["quantity"]
    row.update(relation=worst["relation"], value=worst["value"], bound=worst["bound"],
               margin=worst["margin"], worst_seed=seed)
    return row


def markdown(rows: list[dict]) -> str:
    def number(x):
        return "n/a" if x is None else f"{x:.3g}"

    lines = ["| lesson | claim | held | check | worst value | bound | smallest margin | worst seed |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if row.get("relation") == "is":
            value, bound, margin, seed = row["value"], "is true", "", ""
        elif "relation" in row:
            value, bound = number(row["value"]), f"{row['relation']} {number(row['bound'])}"
            if "carried_by" in row:   # an any_of claim: which alternative held on the worst seed
                value += f" ({row['carried_by']})"
            margin = "n/a" if row["margin"] is None else f"{row['margin']:+.0%}"
            seed = str(row["worst_seed"])
        else:
            value = bound = margin = seed = ""
        lines.append(f"| {row['lesson'][:2]} | {row['claim']} | {row['held']}/{row['seeds']} | "
                     f"{row['check']} | {value} | {bound} | {margin} | {seed} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson names or numbers (default: all)")
    parser.add_argument("--seeds", default="1-10", help="e.g. 1-10 or 1,4,7 (default 1-10)")
    parser.add_argument("--jobs", type=int, default=2, help="lessons run at the same time (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    parser.add_argument("--out", type=Path, default=Path("build/claims-margin"))
    parser.add_argument("--reuse", action="store_true", help="keep runs already in --out")
    args = parser.parse_args()
    # Absolute before any thread starts: papermill's cwd= is an os.chdir of the whole process.
    args.out = args.out.resolve()
    paths = resolve_lessons(args.lessons)
    jobs = [(path, seed) for path in paths for seed in parse_seeds(args.seeds)]
    # The kernels inherit this environment: each lesson's TensorFlow gets its share of the cores
    # (and lessons 05 and 06 start no workers of their own when that share is one core).
    os.environ.update(tensorflow_threads(max(1, args.jobs)))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = list(pool.map(lambda job: run_one(*job, args.out, args.timeout, args.reuse), jobs))
    rows = margin_rows(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "margins.json").write_text(json.dumps({"runs": runs, "rows": rows}, indent=2) + "\n")
    table = markdown(rows)
    (args.out / "margins.md").write_text(table)
    print()
    print(table)
    for r in runs:
        if r["status"] == "error":
            detail = r["error"] or {"evalue": "no claims recorded"}
            message = f"{detail.get('ename', '')} {detail['evalue'][:200]}"
            print(f"error: {r['lesson']} seed {r['seed']}: {message}")


if __name__ == "__main__":
    main()
