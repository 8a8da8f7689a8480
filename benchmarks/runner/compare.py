#!/usr/bin/env python3
"""pipe vs DVC vs Snakemake on the same 6-stage command pipeline, on this machine, in one run.

Builds three equivalent workspaces in a temp dir (see workspaces.py), runs each once to fill its
cache, then times (wall clock of the spawned process, median and p90 over --reps runs):
  noop         `pipe run` / `dvc repro` / `snakemake -c1` with nothing to do
  status       `pipe status` / `dvc status` / `snakemake -n`
  param-change a new ppo.lr: each tool must rerun exactly ppo and evaluate (checked via a ledger the
               stage commands append to)
  noop-1GiB    (--big) a no-op whose first stage depends on a 1 GiB file
  sweep-4      2×2 sweep over ppo.lr × ppo.init_kl_coef: `pipe run --sweep … --sweep …` vs
               `dvc exp run --queue -S … -S … && dvc queue start` (waited for), and 4 sequential
               `dvc exp run -S …`; each variant must run ppo and evaluate exactly once.

Prints a table (or JSON with --json). Progress goes to stderr.
Usage: benchmarks/runner/compare.py [--pipe PATH] [--reps 10] [--sweep-reps 3] [--big] [--json]
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workspaces as ws  # noqa: E402

LAST_TWO = ["evaluate", "ppo"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def percentile(values, p):
    """Linear interpolation between closest ranks, the same as RunnerBenchmark.Figure."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low, high = int(rank // 1), int(-(-rank // 1))
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load_average():
    with open("/proc/loadavg") as handle:
        return [float(x) for x in handle.read().split()[:3]]


def uptime_line():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: " + ", ".join(f"{x:.2f}" for x in load_average())


class CommandFailed(Exception):
    pass


def run(command, cwd, env, check=True, capture=False):
    """Runs `command`; returns (seconds, completed process). Output is discarded unless captured.
    The CPU time (user + system) of the process and its reaped descendants goes to `run.last_cpu`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.last_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and completed.returncode != 0:
        raise CommandFailed(f"`{' '.join(command)}` in {cwd} exited with {completed.returncode}:\n"
                            + (completed.stderr or "")[-3000:])
    return elapsed, completed


class Ledger:
    """The file every stage command appends "<stage kind> <pid>" to (via $PIPE_LEDGER)."""

    def __init__(self, path):
        self.path = path
        open(path, "w").close()
        self.offset = 0

    def new_stages(self):
        with open(self.path) as handle:
            handle.seek(self.offset)
            text = handle.read()
            self.offset = handle.tell()
        return sorted(line.split()[0] for line in text.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------ tools

class Tool:
    name = ""

    def __init__(self, root, env):
        self.root = root
        self.env = env

    def version(self):
        raise NotImplementedError


class Pipe(Tool):
    name = "pipe"

    def __init__(self, root, env, executable, big=False):
        super().__init__(root, env)
        self.executable = executable
        ws.write_pipe(root, big_input=big)

    def version(self):
        _, done = run([self.executable, "--version"], self.root, self.env, check=False, capture=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
        built = datetime.datetime.fromtimestamp(os.path.getmtime(self.executable), datetime.timezone.utc)
        source = ""
        # A binary under <worktree>/.build*/…: name the worktree's commit.
        tree = os.path.dirname(self.executable)
        while tree != "/" and not os.path.basename(tree).startswith(".build"):
            tree = os.path.dirname(tree)
        if tree != "/":
            _, head = run(["git", "-C", os.path.dirname(tree), "log", "-1", "--format=%h %cs"], self.root, self.env,
                          check=False, capture=True)
            source = f", source {head.stdout.strip()}" if head.returncode == 0 else ""
        return f"pipe ({self.executable}, built {built:%Y-%m-%d %H:%M} UTC{source})"

    def first_run(self):
        return [self.executable, "run", ws.PIPE_PIPELINE_FILE]

    def noop(self):
        return [self.executable, "run", ws.PIPE_PIPELINE_FILE]

    def status(self):
        return [self.executable, "status", ws.PIPE_PIPELINE_FILE]

    def param_change(self, lr):
        return [self.executable, "run", ws.PIPE_PIPELINE_FILE, "--set", f"ppo.lr={lr}"]

    def sweep(self, lrs, kls):
        return [self.executable, "run", ws.PIPE_PIPELINE_FILE, "--sweep", "ppo.lr=" + ",".join(lrs),
                "--sweep", "ppo.init_kl_coef=" + ",".join(kls)]


class DVC(Tool):
    name = "dvc"

    def __init__(self, root, env, executable, big=False):
        super().__init__(root, env)
        self.executable = executable
        ws.write_dvc_files(root, big_input=big)
        git = ["git", "-c", "init.defaultBranch=main"]
        run(git + ["init", "-q"], root, env)
        run(["git", "config", "user.email", "bench@example.invalid"], root, env)
        run(["git", "config", "user.name", "bench"], root, env)
        run([executable, "init", "-q"], root, env)
        run([executable, "config", "core.analytics", "false"], root, env)
        run([executable, "config", "core.check_update", "false"], root, env, check=False)
        self.commit("workspace")

    def commit(self, message):
        run(["git", "add", "-A", "."], self.root, self.env)
        run(["git", "commit", "-q", "--allow-empty", "-m", message], self.root, self.env)

    def version(self):
        _, done = run([self.executable, "--version"], self.root, self.env, capture=True)
        return "DVC " + done.stdout.strip()

    def first_run(self):
        return [self.executable, "repro"]

    def noop(self):
        return [self.executable, "repro"]

    def status(self):
        return [self.executable, "status"]

    def param_change(self, lr):
        ws.write_dvc_params(self.root, {("ppo", "lr"): lr})
        return [self.executable, "repro"]

    def reset_params(self):
        ws.write_dvc_params(self.root, {})
        run([self.executable, "repro"], self.root, self.env)
        self.commit("base params")

    def queue_status(self):
        _, done = run([self.executable, "queue", "status"], self.root, self.env, capture=True)
        return done.stdout

    def sweep_queued(self, lrs, kls):
        """Queues the 2×2 grid, starts a worker and waits until the queue reports every task done.
        Returns (seconds, seconds until the last stage command wrote the ledger)."""
        ledger_path = self.env["PIPE_LEDGER"]
        start, start_wall = time.perf_counter(), time.time()
        run([self.executable, "exp", "run", "--queue", "-S", "ppo.lr=" + ",".join(lrs),
             "-S", "ppo.init_kl_coef=" + ",".join(kls)], self.root, self.env)
        run([self.executable, "queue", "start"], self.root, self.env)
        deadline = start + 600
        while True:
            text = self.queue_status()
            rows = [line for line in text.splitlines()[1:] if line.strip()]
            active = [line for line in rows if any(word in line for word in ("Queued", "Running"))]
            if not active:
                break
            if time.perf_counter() > deadline:
                raise CommandFailed("dvc queue did not finish within 600 s:\n" + text)
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        last_write = os.path.getmtime(ledger_path) - start_wall if os.path.getsize(ledger_path) else None
        failed = [line for line in rows if "Failed" in line]
        if failed:
            raise CommandFailed("dvc queue: failed experiments:\n" + text)
        return elapsed, last_write

    def clear_queue(self):
        run([self.executable, "queue", "remove", "--all"], self.root, self.env, check=False)

    def sweep_sequential(self, lrs, kls):
        return [[self.executable, "exp", "run", "-S", f"ppo.lr={lr}", "-S", f"ppo.init_kl_coef={kl}"]
                for lr in lrs for kl in kls]


class Snakemake(Tool):
    name = "snakemake"

    def __init__(self, root, env, executable, big=False):
        super().__init__(root, env)
        self.executable = executable
        ws.write_snakemake(root, big_input=big)

    def version(self):
        _, done = run([self.executable, "--version"], self.root, self.env, capture=True)
        return "Snakemake " + done.stdout.strip()

    def first_run(self):
        return [self.executable, "-c1"]

    def noop(self):
        return [self.executable, "-c1"]

    def status(self):
        return [self.executable, "-n", "-c1"]

    def param_change(self, lr):
        ws.write_snakemake_config(self.root, {("ppo", "lr"): lr})
        return [self.executable, "-c1"]


# ------------------------------------------------------------------------------------------ main

def ensure_venv(venv, install):
    """Creates the venv with DVC and Snakemake if missing; returns {tool: executable} for what exists."""
    python = os.path.join(venv, "bin", "python")
    wanted = {"dvc": "dvc", "snakemake": "snakemake"}
    missing = [pkg for pkg, exe in wanted.items() if not os.access(os.path.join(venv, "bin", exe), os.X_OK)]
    if missing and install:
        if not os.path.exists(python):
            log(f"creating venv {venv}")
            subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        log(f"installing {' '.join(missing)} into {venv} (pip)")
        done = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q"] + missing)
        if done.returncode != 0:
            log(f"warning: pip install {' '.join(missing)} failed (status {done.returncode}); continuing with what is installed")
    found = {}
    for tool, exe in wanted.items():
        path = os.path.join(venv, "bin", exe)
        if os.access(path, os.X_OK):
            found[tool] = path
        else:
            log(f"warning: {tool} is not installed in {venv}: its rows are skipped")
    return found


class Results:
    def __init__(self):
        self.figures = []   # dicts: tool, operation, samples, note
        self.checks = []    # strings
        self.errors = []

    def add(self, tool, operation, samples, note="", cpu=None):
        figure = {"tool": tool, "operation": operation, "n": len(samples), "samples_s": samples,
                  "median_s": percentile(samples, 0.5), "p90_s": percentile(samples, 0.9), "note": note,
                  "cpu_median_s": percentile(cpu, 0.5) if cpu else None}
        self.figures.append(figure)
        cpu_text = f"   cpu {figure['cpu_median_s'] * 1000:9.1f} ms" if cpu else ""
        log(f"  {tool:10s} {operation:22s} median {figure['median_s'] * 1000:9.1f} ms   p90 {figure['p90_s'] * 1000:9.1f} ms{cpu_text}   (n={len(samples)}) {note}")

    def speedups(self):
        pipe = {f["operation"]: f for f in self.figures if f["tool"] == "pipe"}
        for figure in self.figures:
            base = pipe.get(figure["operation"].split(" ")[0])
            other = figure["tool"] != "pipe" and base is not None
            figure["pipe_speedup"] = figure["median_s"] / base["median_s"] if other and base["median_s"] else None
            figure["pipe_cpu_speedup"] = (figure["cpu_median_s"] / base["cpu_median_s"]
                                          if other and figure["cpu_median_s"] and base["cpu_median_s"] else None)


class ValueCounter:
    """Fresh param values, so that no content-addressed cache (pipe's store, DVC's run-cache) can
    answer a "changed param" run from an earlier repetition."""

    def __init__(self):
        self.count = 0

    def next(self, prefix, suffix=""):
        self.count += 1
        return f"{prefix}{self.count:04d}{suffix}"


def measure_tool(tool, results, reps, values, sweep_reps, do_sweep):
    env = tool.env
    ledger = Ledger(env["PIPE_LEDGER"])
    cold, _ = run(tool.first_run(), tool.root, env)
    stages = ledger.new_stages()
    results.add(tool.name, "first-run", [cold], f"(ran {len(stages)} stages)")
    if len(stages) != 6:
        results.checks.append(f"{tool.name}: first run executed {stages}, expected all 6 stages")

    def repeat(operation, make_command, expect, note=""):
        samples, cpu, wrong = [], [], []
        for index in range(reps + 1):  # the first one warms the page cache and is not counted
            command = make_command()
            elapsed, _ = run(command, tool.root, env)
            got = ledger.new_stages()
            if got != expect:
                wrong.append(got)
            if index > 0:
                samples.append(elapsed)
                cpu.append(run.last_cpu)
        verdict = "ok" if not wrong else f"WRONG: {wrong[:3]}"
        results.checks.append(f"{tool.name} {operation}: executed {expect or 'nothing'} each time: {verdict}")
        results.add(tool.name, operation, samples, note, cpu)

    repeat("noop", tool.noop, [])
    repeat("status", tool.status, [])
    repeat("param-change", lambda: tool.param_change(values.next("2.", "e-5")), LAST_TWO, "(ppo.lr changed)")

    if not do_sweep:
        return
    expected_sweep = sorted(LAST_TWO * 4)
    if isinstance(tool, Pipe):
        samples, cpu, wrong = [], [], []
        for index in range(max(sweep_reps, reps) + 1):
            command = tool.sweep([values.next("3.", "e-5"), values.next("4.", "e-5")], [values.next("0.1"), values.next("0.3")])
            elapsed, _ = run(command, tool.root, env)
            got = ledger.new_stages()
            if got != expected_sweep:
                wrong.append(got)
            if index > 0:
                samples.append(elapsed)
                cpu.append(run.last_cpu)
        results.checks.append(f"pipe sweep-4: each variant ran ppo and evaluate once: {'ok' if not wrong else 'WRONG: ' + str(wrong[:2])}")
        results.add("pipe", "sweep-4", samples, "(pipe run --sweep ×2 axes)", cpu)
    elif isinstance(tool, DVC):
        tool.reset_params()
        ledger.new_stages()
        try:
            samples, lower, wrong = [], [], []
            for _ in range(sweep_reps):
                lrs = [values.next("3.", "e-5"), values.next("4.", "e-5")]
                kls = [values.next("0.1"), values.next("0.3")]
                elapsed, last = tool.sweep_queued(lrs, kls)
                got = ledger.new_stages()
                if got != expected_sweep:
                    wrong.append(got)
                samples.append(elapsed)
                if last is not None:
                    lower.append(last)
                tool.clear_queue()
            results.checks.append(f"dvc sweep-4 (queue): each variant ran ppo and evaluate once: {'ok' if not wrong else 'WRONG: ' + str(wrong[:2])}")
            results.add("dvc", "sweep-4 (queue)", samples, "(exp run --queue -S -S; queue start; until queue status shows all done)")
            if lower:
                results.add("dvc", "sweep-4 (queue, stages done)", lower, "(until the last stage command wrote: lower bound)")
        except CommandFailed as error:
            results.errors.append(f"dvc queued sweep failed: {error}")
            log(f"warning: dvc queued sweep failed: {error}")
        tool.reset_params()
        ledger.new_stages()
        samples, cpu, wrong = [], [], []
        for _ in range(sweep_reps):
            lrs = [values.next("3.", "e-5"), values.next("4.", "e-5")]
            kls = [values.next("0.1"), values.next("0.3")]
            elapsed, cpu_total = 0.0, 0.0
            for command in tool.sweep_sequential(lrs, kls):
                seconds, _ = run(command, tool.root, env)
                elapsed += seconds
                cpu_total += run.last_cpu
            cpu.append(cpu_total)
            got = ledger.new_stages()
            if got != expected_sweep:
                wrong.append(got)
            samples.append(elapsed)
        results.checks.append(f"dvc sweep-4 (sequential): each variant ran ppo and evaluate once: {'ok' if not wrong else 'WRONG: ' + str(wrong[:2])}")
        results.add("dvc", "sweep-4 (sequential)", samples, "(4 × dvc exp run -S -S)", cpu)


def write_big_file(path, size):
    """Deterministic non-constant bytes (nothing can shortcut hashing them)."""
    log(f"writing {size >> 20} MiB to {path}")
    chunk = bytes((i * 2654435761 >> 13) & 0xFF for i in range(1 << 20))
    with open(path, "wb") as handle:
        left, index = size, 0
        while left > 0:
            block = chunk if index % 2 == 0 else chunk[::-1]
            block = block[:left]
            handle.write(index.to_bytes(8, "little") + block[8:])
            left -= len(block)
            index += 1


def measure_big(tool, results, reps, big_path):
    os.makedirs(os.path.join(tool.root, "data"), exist_ok=True)
    os.link(big_path, os.path.join(tool.root, ws.BIG_INPUT_FILE))
    if isinstance(tool, DVC):
        tool.commit("big input")
    ledger = Ledger(tool.env["PIPE_LEDGER"])
    cold, _ = run(tool.first_run(), tool.root, tool.env)
    results.add(tool.name, "first-run-1GiB", [cold], f"(fills the cache, ran {len(ledger.new_stages())} stages)")
    samples, cpu = [], []
    for index in range(reps + 1):
        elapsed, _ = run(tool.noop(), tool.root, tool.env)
        if index > 0:
            samples.append(elapsed)
            cpu.append(run.last_cpu)
    wrong = ledger.new_stages()
    results.checks.append(f"{tool.name} noop-1GiB: executed nothing: {'ok' if not wrong else 'WRONG: ' + str(wrong[:6])}")
    results.add(tool.name, "noop-1GiB", samples, "", cpu)


def print_table(report):
    out = []
    out.append(f"runner comparison, {report['date']} — {report['machine']}")
    for name, version in report["versions"].items():
        out.append(f"  {name:10s} {version}")
    out.append(f"  load before: {report['load_before']}")
    out.append(f"  load after:  {report['load_after']}")
    out.append("  " + report["load_note"])
    out.append("")
    out.append(f"{'tool':10s} {'operation':29s} {'n':>3s} {'median':>11s} {'p90':>11s} {'speed-up':>9s} {'cpu':>11s} {'cpu ×':>7s}")
    out.append("-" * 98)
    for figure in report["figures"]:
        speedup = f"{figure['pipe_speedup']:.1f}×" if figure.get("pipe_speedup") else ""
        cpu = f"{figure['cpu_median_s'] * 1000:8.1f} ms" if figure.get("cpu_median_s") else ""
        cpu_speedup = f"{figure['pipe_cpu_speedup']:.1f}×" if figure.get("pipe_cpu_speedup") else ""
        out.append(f"{figure['tool']:10s} {figure['operation']:29s} {figure['n']:3d} "
                   f"{figure['median_s'] * 1000:8.1f} ms {figure['p90_s'] * 1000:8.1f} ms {speedup:>9s} {cpu:>11s} {cpu_speedup:>7s}")
    out.append("")
    out.append("checks (stages each tool really executed, counted by the commands themselves):")
    out += ["  " + check for check in report["checks"]]
    for error in report["errors"]:
        out.append("error: " + error.splitlines()[0])
    out.append("")
    out += ["note: " + note for note in report["notes"]]
    print("\n".join(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipe", default=".build/release/pipe", help="the pipe binary (default: .build/release/pipe)")
    parser.add_argument("--reps", type=int, default=10, help="timed repetitions per figure (default 10, after one warm-up)")
    parser.add_argument("--sweep-reps", type=int, default=3, help="repetitions of the DVC sweeps (12–30 s each; default 3)")
    parser.add_argument("--big", action="store_true", help="also time a no-op with a 1 GiB input (slow for DVC's first hash)")
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the big input in MiB (default 1024)")
    parser.add_argument("--big-only", action="store_true", help="only the 1 GiB no-op (implies --big)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep figures")
    parser.add_argument("--tools", default="pipe,dvc,snakemake", help="comma-separated subset (default all three)")
    default_venv = os.environ.get("PIPE_RUNNERS_VENV") or os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".venv"))
    parser.add_argument("--venv", default=default_venv,
                        help="venv holding dvc and snakemake, created if missing (default: $PIPE_RUNNERS_VENV, "
                             "else benchmarks/.venv in this checkout, git-ignored)")
    parser.add_argument("--no-install", action="store_true", help="don't create the venv or pip install")
    parser.add_argument("--keep", metavar="DIR", help="build the workspaces in DIR and keep them")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--save", metavar="FILE", help="also write the JSON results to FILE")
    args = parser.parse_args()

    tools_wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
    pipe_executable = os.path.abspath(args.pipe)
    if "pipe" in tools_wanted and not os.access(pipe_executable, os.X_OK):
        sys.exit(f"error: no pipe binary at {pipe_executable}; build one with "
                 "`swift build -c release --product pipe` or pass --pipe PATH")
    executables = ensure_venv(args.venv, not args.no_install) if set(tools_wanted) & {"dvc", "snakemake"} else {}

    base = args.keep or tempfile.mkdtemp(prefix="pipe-compare-")
    os.makedirs(base, exist_ok=True)
    environment = dict(os.environ)
    environment.update({"NO_COLOR": "1", "DVC_NO_ANALYTICS": "1", "OPENBLAS_NUM_THREADS": "1",
                        "PATH": os.path.join(args.venv, "bin") + os.pathsep + environment.get("PATH", "")})
    environment.pop("PIPE_STORE", None)

    def make(name, suffix="", big=False):
        root = os.path.join(base, name + suffix)
        os.makedirs(root, exist_ok=True)
        env = dict(environment, PIPE_LEDGER=os.path.join(base, f"ledger-{name}{suffix}.txt"))
        if name == "pipe":
            return Pipe(root, env, pipe_executable, big)
        if name == "dvc":
            return DVC(root, env, executables["dvc"], big)
        return Snakemake(root, env, executables["snakemake"], big)

    available = [t for t in tools_wanted if t == "pipe" or t in executables]
    load_before = uptime_line()
    log(f"load before: {load_before}")
    results, versions, values = Results(), {}, ValueCounter()
    try:
        args.big = args.big or args.big_only
        for name in ([] if args.big_only else available):
            log(f"{name}: building the workspace and measuring")
            try:
                tool = make(name)
                versions[name] = tool.version()
                measure_tool(tool, results, args.reps, values, args.sweep_reps, not args.no_sweep)
            except CommandFailed as error:
                results.errors.append(f"{name}: {error}")
                log(f"error: {name}: {error}")
        if args.big:
            big_path = os.path.join(base, "big.bin")
            write_big_file(big_path, args.big_mib << 20)
            for name in available:
                log(f"{name}: no-op with a {args.big_mib} MiB input")
                try:
                    measure_big(make(name, "-big", big=True), results, args.reps, big_path)
                except CommandFailed as error:
                    results.errors.append(f"{name} (big input): {error}")
                    log(f"error: {name} (big input): {error}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    load_after = uptime_line()
    results.speedups()
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "versions": versions,
        "load_before": load_before, "load_after": load_after,
        "load_note": "the machine is shared: figures under load are pessimistic for all tools alike",
        "figures": results.figures, "checks": results.checks, "errors": results.errors,
        "notes": [
            "wall clock of each spawned process (fork/exec from Python included, the same for all tools); "
            f"median and p90 over {args.reps} runs after one warm-up run",
            "speed-up = the tool's median wall time / pipe's median wall time for the same operation",
            "cpu = median user+system CPU time of the command and the descendants it waited for (load-insensitive: "
            "on a busy machine it is the fairer comparison); cpu × = the tool's / pipe's; none for DVC's queue "
            "(its worker is a daemon) or first runs",
            "param-change and sweeps use fresh values every repetition, so no cache (pipe's store, DVC's run-cache) can answer them",
            "status: pipe status / dvc status / snakemake -n; noop: pipe run / dvc repro / snakemake -c1",
        ],
    }
    if args.save:
        with open(args.save, "w") as handle:
            json.dump(report, handle, indent=2)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
