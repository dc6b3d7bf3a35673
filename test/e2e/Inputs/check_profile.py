"""Checks the arithmetic of a `cascade run --profile` table.

    check_profile.py TABLE.txt --runs N --min-steps S

The header's run count is N and the table has at least S steps; each step's "%" is
its ms/run over the run's ms (to the printed precision); the steps take at
most the whole run (they are timed inside it); calls per run are whole
numbers of at least 1.
"""
import argparse
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("table")
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--min-steps", type=int, required=True)
args = ap.parse_args()

lines = open(args.table).read().splitlines()
start = next(i for i, l in enumerate(lines) if l.startswith("profile of "))
head = re.match(r"profile of \S+: (\d+) runs?, ([0-9.]+) ms a run, ([0-9.]+)% of it",
                lines[start])
if not head:
    sys.exit("unreadable header: " + lines[start])
runs, run_ms, covered = int(head[1]), float(head[2]), float(head[3])
errors = []
if runs != args.runs:
    errors.append(f"{runs} runs, expected {args.runs}")
rows = lines[start + 2:]
if len(rows) < args.min_steps:
    errors.append(f"{len(rows)} steps, expected at least {args.min_steps}")
total = 0.0
for row in rows:
    f = row.split()
    ms, pct, calls = float(f[1]), float(f[2]), float(f[4])
    total += ms
    if abs(pct - 100 * ms / run_ms) > 0.1 + 0.002 * pct + 100 * 0.0005 / run_ms:
        errors.append(f"{f[0]}: {pct}% but {ms} of {run_ms} ms")
    if calls < 1 or calls != int(calls):
        errors.append(f"{f[0]}: {calls} calls per run")
if total > run_ms * 1.001 + 0.0005 * len(rows):
    errors.append(f"steps take {total} ms of a {run_ms} ms run")
# Each printed ms/run is rounded to 0.0005 ms.
if abs(covered - 100 * total / run_ms) > 0.1 + 100 * 0.0005 * len(rows) / run_ms:
    errors.append(f"header says {covered}% in steps, rows add to "
                  f"{100 * total / run_ms:.1f}%")
if errors:
    sys.exit("\n".join(errors))
print(f"profile ok: {len(rows)} steps, {total:.3f} of {run_ms:.3f} ms")
