#!/usr/bin/env python3
"""Property test: random schedules of every example compute the reference.

For each example, writes random `schedule` blocks (random splits with tiles
that need not divide the extents, random loop orders of equations and fused
groups, random fusion groups of neighbouring equations, parallel, vectorize,
unroll, and the rewrites on or off) and runs

    cascade run MODEL --schedule FILE --random-inputs --check

Each run must either pass the check (max_rel_err below 1e-4 against the
float64 reference) or reject the schedule with a located error
(`FILE:LINE:COL: error:` and exit 1) -- never crash, never a wrong answer.
Most schedules must be accepted, so the test cannot pass by rejecting them.
Schedules combine with the micro-kernels (a contraction the schedule tiles
keeps its kernel inside the tile loops): for each accepted schedule,
`cascade analyze --json` says how each equation was lowered, and the test
counts the equations that ran as `tiled_kernel`; on the host target at
least one must, so the property covers schedules with kernels.

usage: random_schedules.py CASCADE EXAMPLES_DIR WORK_DIR PER_EXAMPLE SEED [RUN_FLAG ...]

RUN_FLAGs are added to every `cascade run` (e.g. --target=webgpu).
"""
import os
import random
import re
import subprocess
import sys

EQUATION = re.compile(r"^(?:init\s+)?([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]\s*=(.*)$")


def flattened(cascade, model):
    """Ranks (name -> extent) and equations [(name, loop ranks)] of the
    model as the compiler prints it (layers expanded)."""
    text = subprocess.run([cascade, "opt", model, "--emit=ein"], check=True,
                          capture_output=True, text=True).stdout
    ranks, equations = {}, []
    for line in text.splitlines():
        if line.startswith("ranks "):
            for item in line[len("ranks "):].split(","):
                # An extent, or an expression of earlier ranks (M=P).
                name, value = item.strip().split("=")
                ranks[name.strip()] = int(eval(value, {"__builtins__": {}},
                                               dict(ranks)))
    indices = {r.lower(): r for r in ranks}
    for line in text.splitlines():
        m = EQUATION.match(line)
        if not m or line.startswith(("input", "weight", "ranks", "const")):
            continue
        words = re.findall(r"[a-z][a-z0-9_]*", m.group(2) + " " + m.group(3))
        loops = sorted({indices[w] for w in words if w in indices})
        if not any(e[0] == m.group(1) for e in equations):
            equations.append((m.group(1), loops))
    return ranks, equations


def random_schedule(rng, ranks, equations):
    lines, names = [], set(ranks) | {e[0] for e in equations}
    loops_of = {}  # rank -> loop names
    for rank in rng.sample(sorted(ranks), k=min(len(ranks), rng.randint(0, 3))):
        outer, inner = rank + "T", rank + "I"
        if outer in names or inner in names or ranks[rank] < 2:
            continue
        names |= {outer, inner}
        tile = rng.choice([1, 2, 3, 4, 7, 8, 16, 32, ranks[rank]])
        tile = min(tile, ranks[rank])
        lines.append(f"split {rank} -> {outer}, {inner} = {tile}")
        loops_of[rank] = [outer, inner]

    def loops(rank_list):
        out = []
        for r in rank_list:
            out += loops_of.get(r, [r])
        return out

    group = None
    if len(equations) >= 2 and rng.random() < 0.5:
        i = rng.randrange(len(equations) - 1)
        j = rng.randrange(i + 1, min(len(equations), i + 4))
        group = ("grp", equations[i:j + 1])
        lines.append(f"fuse {equations[i][0]}..{equations[j][0]} as grp")
    targets = []
    if group:
        targets.append(("grp", sorted({r for e in group[1] for r in e[1]})))
    targets += [(e[0], e[1]) for e in rng.sample(equations,
                                                 k=min(2, len(equations)))]
    for name, rank_list in targets:
        if rng.random() < 0.7:
            order = loops(rank_list)
            rng.shuffle(order)
            # The inner part of a split comes after its outer part.
            for rank, (outer, inner) in loops_of.items():
                if outer in order and inner in order:
                    a, b = order.index(outer), order.index(inner)
                    if a > b:
                        order[a], order[b] = order[b], order[a]
            order = order[:rng.randint(1, len(order))]
            lines.append(f"order {name}: {', '.join(order)}")
    every_loop = loops(sorted(ranks))
    if rng.random() < 0.6:
        lines.append("parallel " + rng.choice(every_loop))
    if rng.random() < 0.5:
        lines.append("vectorize " + rng.choice(every_loop))
    if rng.random() < 0.5:
        lines.append(f"unroll {rng.choice(every_loop)} = {rng.choice([2, 3, 4])}")
    if rng.random() < 0.3:
        lines.append("rewrite defer_division")
    max_ranks = [r for e in equations for r in e[1]]
    if rng.random() < 0.3 and max_ranks:
        lines.append(f"rewrite one_pass({rng.choice(sorted(ranks))}) "
                     f"tile {rng.choice([3, 8, 32])}")
    return "schedule {\n" + "".join(f"  {l}\n" for l in lines) + "}\n"


def tiled_kernels(cascade, model, sched, env):
    """How many equations the strategy runs as a kernel inside the
    schedule's tile loops (`cascade analyze --json`)."""
    r = subprocess.run([cascade, "analyze", model, f"--schedule={sched}",
                        "--json"], capture_output=True, text=True,
                       timeout=300, env=env, check=True)
    import json
    return sum(1 for e in json.loads(r.stdout)["strategy"]
               if e["execution"] == "tiled_kernel")


def main():
    cascade, examples, work, per_example, seed = sys.argv[1:6]
    run_flags = sys.argv[6:]
    per_example, rng = int(per_example), random.Random(int(seed))
    os.makedirs(work, exist_ok=True)
    accepted = rejected = failed = tiled = 0
    host = not any(f.startswith("--target=") and f != "--target=host"
                   for f in run_flags)
    # glibc fills allocated and freed memory with a pattern: a read of an
    # uninitialized or freed buffer then gives a wrong answer, every time.
    env = dict(os.environ, MALLOC_PERTURB_="165")
    for model in sorted(os.listdir(examples)):
        if not model.endswith(".ein"):
            continue
        path = os.path.join(examples, model)
        ranks, equations = flattened(cascade, path)
        for k in range(per_example):
            sched = os.path.join(work, f"{model[:-4]}.{k}.sched")
            with open(sched, "w") as f:
                f.write(random_schedule(rng, ranks, equations))
            r = subprocess.run(
                [cascade, "run", path, f"--schedule={sched}",
                 "--random-inputs", f"--seed={k}", "--check", *run_flags],
                capture_output=True, text=True, timeout=300, env=env)
            located = re.search(r"^[^\s:]+:\d+:\d+: error: ", r.stderr, re.M)
            ok = r.returncode == 0 and "max_rel_err=" in r.stdout
            if ok:
                accepted += 1
                if host:
                    tiled += tiled_kernels(cascade, path, sched, env)
            elif r.returncode == 1 and located and "max_rel_err" not in r.stdout:
                rejected += 1
                if os.environ.get("SHOW_REJECTED"):
                    print(located.string[located.start():].splitlines()[0])
            else:
                failed += 1
                print(f"FAIL {model} with {sched} (exit {r.returncode}):")
                print(open(sched).read() + r.stdout + r.stderr)
    print(f"random schedules: {accepted} accepted, {rejected} rejected with "
          f"a located error, {failed} failed")
    if host:
        print(f"equations on a micro-kernel inside the schedule's tile loops: "
              f"{tiled}")
    total = accepted + rejected + failed
    if failed or accepted < total * 0.6 or (host and tiled == 0):
        sys.exit(1)


if __name__ == "__main__":
    main()
