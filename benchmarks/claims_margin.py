"""How safely each lesson's claims hold: every lesson run for seeds 1-10, every claim's margin.

``.venv/bin/python benchmarks/claims_margin.py [--lessons 01 04] [--seeds 1-10] [--jobs 2]
[--out build/claims-margin] [--reuse] [--variants base onednn-off two-threads] [--pages docs/evidence]``

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

``--pages DIR`` writes one evidence page a lesson, ``DIR/<lesson>.md``: its rows of the table (and
of the variants' table), the seeds, the machine and the versions they ran on, and the runs that
errored. The course's ``docs/evidence/`` pages are made this way, never typed by hand.

``--variants base onednn-off two-threads`` runs the same lessons and seeds once more for each
change that differs between machines (:data:`VARIANTS`: oneDNN's kernels off, or one lesson at
a time on two intra-op threads instead of two side by side on one each), each in its own folder
under ``--out``, and adds a table with each check's smallest margin in every variant and the
seeds whose verdict differed from the base's (a verdict must not depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill

from lstm_lessons import machine
from lstm_lessons.claims import read_claim_records
from lstm_lessons.cores import tensorflow_threads
from lstm_lessons.files import write_atomically
from lstm_lessons.runner import lesson_title, resolve_lessons, run_lessons

VARIANTS = {"base": ({}, None), "onednn-on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, None),
            "onednn-off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, None), "two-threads": ({}, 1)}
"""What differs between machines, changed on this one: ``name: (environment, jobs)``, the
environment the kernels get and the lessons run side by side (``None``: ``--jobs``). Each
lesson's TensorFlow gets the cores divided by the lessons side by side
(:func:`lstm_lessons.cores.tensorflow_threads`), so ``--jobs 2`` on 2 cores is one thread each
and ``two-threads`` (one lesson at a time) is two."""


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
        write_atomically(folder / "machine.json", json.dumps(machine.describe(), indent=2) + "\n")
    # The runner's own verdict (passed, claims_failed or error), also for a reused run.
    row = json.loads(summary.read_text())["lessons"][0]
    status, error = row["status"], row["error"]
    records = read_claim_records(nbformat.read(executed, as_version=4)) if executed.exists() else {}
    print(f"{path.stem} seed {seed}: {status}", flush=True)
    ran_on = json.loads((folder / "machine.json").read_text()) if (folder / "machine.json").exists() else None
    return {"lesson": path.stem, "seed": seed, "status": status, "error": error, "claims": records,
            "machine": ran_on}


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
        if worst.get("relation") == "all":   # an alternative of several checks: the closest decides
            worst = min((c for c in worst["checks"] if c["margin"] is not None),
                        key=lambda c: c["margin"], default=worst)
        row["carried_by"] = worst["quantity"]
    row.update(relation=worst["relation"], value=worst["value"], bound=worst["bound"],
               margin=worst["margin"], worst_seed=seed)
    return row


def error_text(run: dict) -> str:
    """What went wrong in a run whose status is ``"error"``: the exception's name and message."""
    detail = run["error"] or {"evalue": "no claims recorded"}
    return f"{detail.get('ename', '')} {detail['evalue'][:200]}"


def cell(text: str) -> str:
    """``text`` for a Markdown table's cell: a ``|`` (``|x|`` in a quantity's name) escaped."""
    return text.replace("|", "\\|")


def markdown(rows: list[dict], lesson_column: bool = True) -> str:
    def number(x):
        return "n/a" if x is None else f"{x:.3g}"

    lines = ["| lesson | claim | held | check | worst value | bound | smallest margin | worst seed |",
             "|---|---|---|---|---|---|---|---|"]
    if not lesson_column:
        lines = [line.removeprefix("| lesson ").removeprefix("|---") for line in lines]
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
        lesson = f"| {row['lesson'][:2]} " if lesson_column else ""
        lines.append(f"{lesson}| {row['claim']} | {row['held']}/{row['seeds']} | "
                     f"{cell(row['check'])} | {cell(value)} | {bound} | {margin} | {seed} |")
    return "\n".join(lines) + "\n"


def variant_rows(runs_by_variant: dict[str, list[dict]]) -> list[dict]:
    """One row per (lesson, claim, check) of the base: the smallest margin in each variant, and
    the runs (``lesson seed``) whose claim verdict differs from the base's."""
    base = {(r["lesson"], r["seed"]): r for r in runs_by_variant["base"]}
    rows = []
    for row in margin_rows(runs_by_variant["base"]):
        if "relation" not in row:
            continue
        out = {"lesson": row["lesson"], "claim": row["claim"], "check": row["check"],
               "relation": row["relation"], "bound": row.get("bound"), "margins": {}, "differs": []}
        for variant, runs in runs_by_variant.items():
            mine = [r for r in runs if r["lesson"] == row["lesson"]]
            seen = [(r["seed"], c) for r in mine for c in r["claims"].get(row["claim"], {}).get("checks", [])
                    if c["quantity"] == row["check"]]
            margins = [c["margin"] for _, c in seen]
            out["margins"][variant] = (None if row["relation"] == "is" or not margins
                                       or any(m is None for m in margins) else min(margins))
            for r in mine:
                was = base.get((r["lesson"], r["seed"]))
                if was and r["claims"].get(row["claim"], {}).get("holds") != \
                        was["claims"].get(row["claim"], {}).get("holds"):
                    out["differs"].append(f"{variant} seed {r['seed']}")
        rows.append(out)
    return rows


def variant_markdown(rows: list[dict], variants: list[str]) -> str:
    """The table of :func:`variant_rows`: one margin column per variant."""
    lines = ["| lesson | claim | check | bound | " + " | ".join(f"margin: {v}" for v in variants)
             + " | verdict differs |", "|---" * (len(variants) + 5) + "|"]
    for row in rows:
        bound = "is true" if row["relation"] == "is" else f"{row['relation']} {row['bound']:.3g}" \
            if row["bound"] is not None else row["relation"]
        margins = ["fact" if row["relation"] == "is" else
                   "n/a" if row["margins"].get(v) is None else f"{row['margins'][v]:+.0%}" for v in variants]
        differs = ", ".join(dict.fromkeys(row["differs"])) or "no"
        lines.append(f"| {row['lesson'][:2]} | {row['claim']} | {cell(row['check'])} | {bound} | "
                     + " | ".join(margins) + f" | {differs} |")
    return "\n".join(lines) + "\n"


def evidence_page(path: Path, seeds: list[int], rows: list[dict], runs: list[dict],
                  variants_table: str = "") -> str:
    """One lesson's evidence page (Markdown): what was run, the table, the variants, the errors."""
    mine = [r for r in runs if r["lesson"] == path.stem]
    # The machine the runs recorded (a reused run may come from another one than this).
    recorded = [r["machine"] for r in mine if r.get("machine")]
    described = recorded[0] if recorded else machine.describe()
    where = "" if recorded else " (this machine: the runs recorded none)"
    if any(machine.kind(m) != machine.kind(described) for m in recorded):
        where = " (the first run's; the runs did not all record the same kind of machine)"
    versions = ", ".join(f"{name} {v}" for name, v in described["versions"].items() if v)
    errors = [f"- seed {r['seed']}: {error_text(r)}" for r in mine if r["status"] == "error"]
    seed_text = args_seeds(seeds).replace("-", " to ").replace(",", ", ")
    lines = [
        f"# Evidence: {lesson_title(path)}",
        "",
        f"Lesson `{path.stem}` run for seeds {seed_text} through the course's runner (the code of "
        f"`lstm-lessons run`), each seed in its own folder, and the claims its notebook recorded read "
        f"back. Generated by `benchmarks/claims_margin.py --seeds {args_seeds(seeds)} --pages "
        f"docs/evidence`; not typed by hand.",
        "",
        f"Machine{where}: {described['cpu'].get('model') or 'unknown CPU'} "
        f"({', '.join(described['cpu'].get('flags') or []) or 'no flags read'}), "
        f"{described['threads'].get('cores')} cores, oneDNN {described['onednn']}; {versions}.",
        "",
        "Each row is one check of a claim: in how many seeds the claim held, and the seed where the "
        "check came closest to its bound (or failed worst), with its value, the bound and the margin "
        "there: how far the value could move, as a share of the bound, before the check flips. A fact "
        "(`is true`) has no margin. See [the testing guide](../testing.md) for how the margins are "
        "computed and how the verdicts are kept the same on any CPU.",
        "",
        markdown([r for r in rows if r["lesson"] == path.stem], lesson_column=False).rstrip("\n"),
    ]
    if variants_table:
        lines += ["", "The same seeds with what differs between machines changed on this one "
                  "(smallest margin over the seeds in each variant):", "", variants_table.rstrip("\n")]
    lines += ["", "Runs that failed with an error (each counts as *not held* for every claim):", "",
              *(errors or ["- none"])]
    return "\n".join(lines) + "\n"


def args_seeds(seeds: list[int]) -> str:
    """The ``--seeds`` text that gives ``seeds``."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson names or numbers (default: all)")
    parser.add_argument("--seeds", default="1-10", help="e.g. 1-10 or 1,4,7 (default 1-10)")
    parser.add_argument("--jobs", type=int, default=2, help="lessons run at the same time (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="per-cell limit in seconds")
    parser.add_argument("--out", type=Path, default=Path("build/claims-margin"))
    parser.add_argument("--reuse", action="store_true", help="keep runs already in --out")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["base"],
                        help="what differs between machines, each run in turn (default: base only)")
    parser.add_argument("--pages", type=Path, default=None, metavar="DIR",
                        help="write one evidence page a lesson, DIR/<lesson>.md")
    args = parser.parse_args()
    # Absolute before any thread starts: papermill's cwd= is an os.chdir of the whole process.
    args.out = args.out.resolve()
    args.pages = args.pages.resolve() if args.pages else None
    paths = resolve_lessons(args.lessons)
    variants = ["base", *(v for v in args.variants if v != "base")]
    runs_by_variant = {}
    for variant in variants:
        environment, jobs = VARIANTS[variant]
        jobs = jobs or max(1, args.jobs)
        folder = args.out if variant == "base" else args.out / variant
        todo = [(path, seed) for path in paths for seed in parse_seeds(args.seeds)]
        # The kernels inherit this environment: each lesson's TensorFlow gets its share of the
        # cores (and lessons 05 and 06 start no workers of their own when that share is one core).
        saved = dict(os.environ)
        os.environ.update({**tensorflow_threads(jobs), **environment})
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                runs_by_variant[variant] = list(pool.map(
                    lambda job, folder=folder: run_one(*job, folder, args.timeout, args.reuse), todo))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    runs = runs_by_variant["base"]
    rows = margin_rows(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "margins.json").write_text(json.dumps({"runs": runs, "rows": rows}, indent=2) + "\n")
    table = markdown(rows)
    (args.out / "margins.md").write_text(table)
    print()
    print(table)
    compared = variant_rows(runs_by_variant) if len(variants) > 1 else []
    if compared:
        (args.out / "variants.json").write_text(json.dumps({"runs": runs_by_variant, "rows": compared},
                                                           indent=2) + "\n")
        print(variant_markdown(compared, variants))
    if args.pages:
        args.pages.mkdir(parents=True, exist_ok=True)
        for path in paths:
            mine = [row for row in compared if row["lesson"] == path.stem]
            page = evidence_page(path, parse_seeds(args.seeds), rows, runs,
                                 variant_markdown(mine, variants) if mine else "")
            write_atomically(args.pages / f"{path.stem}.md", page)
            print(f"wrote {args.pages / f'{path.stem}.md'}")
    for r in (r for variant_runs in runs_by_variant.values() for r in variant_runs):
        if r["status"] == "error":
            print(f"error: {r['lesson']} seed {r['seed']}: {error_text(r)}")


if __name__ == "__main__":
    main()
