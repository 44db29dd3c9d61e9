#!/usr/bin/env python3
"""Regenerates benchmarks/RESULTS.md: runs every benchmark, each writing its Markdown fragment
into benchmarks/results/<name>.md, then assembles the fragments, in a fixed order, under a header
describing this machine.

  run_benchmarks.py                          every benchmark (long: an hour or more on 2 cores)
  run_benchmarks.py --only memory,train      those fragments; the others are reused as they are
  run_benchmarks.py --quick                  every benchmark in its smoke mode, into a temporary
                                             directory (the committed files are never touched;
                                             the CI smoke test)

Builds nothing: pass the build directory of a Release build with the benchmark targets
(--build-dir, default ./build). Static fragments (no command here) are kept as they are: the GPU
section (written by benchmarks/gpu/run_device_check.sh on a GPU machine), the README demo and the
MPI throughput and step-time tables (measured with mpiexec by hand; their commands are in their
text).
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "benchmarks")


class Fragment:
    """One section of RESULTS.md: benchmarks/results/<name>.md, written by `command` (None: a
    static fragment, edited by hand or by the device script)."""

    def __init__(self, name, command=None, needs=None):
        self.name = name
        self.command = command  # (build_dir, quick, markdown_path) -> argv
        self.needs = needs      # (build_dir) -> None, or why the benchmark cannot run here


def cxx(target_path):
    def command(build, quick, markdown):
        return [os.path.join(build, target_path)] + (["--quick"] if quick else []) + \
            ["--markdown", markdown]
    return command


def galore_train(build):
    return os.path.join(build, "apps", "galore-train", "galore-train")


def plotting_python():
    """This interpreter, or the system's when only that one has matplotlib (a pyenv python3 on
    PATH does not see Debian's python3-matplotlib): the scripts draw the plots."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(candidate) and subprocess.run(
                [candidate, "-c", "import matplotlib"], capture_output=True).returncode == 0:
            return candidate
    return sys.executable


def script(path, extra=()):
    def command(build, quick, markdown):
        return [plotting_python(), os.path.join(REPO, path)] + (["--quick"] if quick else []) + \
            ["--markdown", markdown, "--galore-train", galore_train(build), *extra]
    return command


def requires_file(path, what):
    def needs(build):
        full = path(build) if callable(path) else os.path.join(REPO, path)
        return None if os.path.exists(full) else f"{what} not found ({full})"
    return needs


def torch_venv(build):
    missing = requires_file("benchmarks/compare_torch/compare_torch.py", "the script")(build)
    if missing:
        return missing
    # benchmarks/compare_torch/setup_venv.sh creates it
    venv = os.environ.get("GALORE_TORCH_VENV", os.path.expanduser(
        "~/.cache/galore-kokkos/venv-torch"))
    if os.path.exists(os.path.join(venv, "bin", "python")):
        return None
    return f"no PyTorch virtual environment ({venv}; benchmarks/compare_torch/setup_venv.sh)"


# The order of RESULTS.md.
def fragments(with_7b):
    built = lambda rel: requires_file(lambda b: os.path.join(b, rel), "the benchmark binary")
    return [
        Fragment("gemm", cxx("benchmarks/gemm/gemm_benchmark"),
                 built("benchmarks/gemm/gemm_benchmark")),
        Fragment("model", cxx("benchmarks/model/model_benchmark"),
                 built("benchmarks/model/model_benchmark")),
        Fragment("optim", cxx("benchmarks/optim/optim_benchmark"),
                 built("benchmarks/optim/optim_benchmark")),
        Fragment("gpu"),
        Fragment("train", script("benchmarks/train/train_benchmark.py"),
                 requires_file(galore_train, "galore-train")),
        Fragment("demo"),
        Fragment("roofline", script("benchmarks/train/roofline.py"),
                 requires_file("benchmarks/train/roofline.py", "the script")),
        Fragment("memory", script("benchmarks/memory/measure_memory.py",
                                  ["--with-7b"] if with_7b else []),
                 requires_file(galore_train, "galore-train")),
        Fragment("compare_torch", script("benchmarks/compare_torch/compare_torch.py"), torch_venv),
        Fragment("dist", cxx("benchmarks/dist/communication_bytes"),
                 built("benchmarks/dist/communication_bytes")),
        Fragment("dist_throughput"),
        Fragment("dist_step_time"),
    ]


def run_text(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def cmake_cache(build):
    cache = {}
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", line.strip())
                if m:
                    cache[m.group(1)] = m.group(2)
    except OSError:
        pass
    return cache


def kokkos_version(cache):
    for key in ("Kokkos_DIR", "Kokkos_ROOT"):
        root = cache.get(key)
        if not root:
            continue
        for dirpath, _, files in os.walk(root):
            if "KokkosConfigVersion.cmake" in files:
                text = open(os.path.join(dirpath, "KokkosConfigVersion.cmake")).read()
                m = re.search(r'PACKAGE_VERSION "([^"]+)"', text)
                if m:
                    return m.group(1)
    return "unknown"


def machine_description(build):
    cpu = "unknown CPU"
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    isa = [x for x in ("avx512f", "avx512_bf16", "amx_bf16") if f" {x}" in flags]
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    os_name = platform.system()
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]+)', f.read(), re.M)
            os_name = m.group(1) if m else os_name
    cache = cmake_cache(build)
    compiler = cache.get("CMAKE_CXX_COMPILER", "c++")
    compiler_version = (run_text([compiler, "--version"]).splitlines() or ["unknown"])[0]
    openblas = run_text(["dpkg-query", "-W", "-f=${Version}", "libopenblas0-pthread"]) or \
        run_text(["dpkg-query", "-W", "-f=${Version}", "libopenblas0"]) or "unknown"
    return [
        f"- CPU: {cpu}{' (' + ', '.join(isa) + ')' if isa else ''}, {os.cpu_count()} cores "
        f"visible, {mem / 2**30:.1f} GiB memory",
        f"- OS: {os_name}, kernel {platform.release()}",
        f"- Compiler: {compiler_version}; build type {cache.get('CMAKE_BUILD_TYPE', 'unknown')}",
        f"- OpenBLAS {openblas}; Kokkos {kokkos_version(cache)}",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def assemble(results_dir, out_path, build, order):
    lines = ["# Benchmark results", "",
             "Regenerated by `python3 benchmarks/run_benchmarks.py --build-dir build` (one "
             "section: `--only NAME`); each section names the command that produced it. "
             "Machine of the latest regeneration:", ""]
    lines += machine_description(build)
    lines += ["", "The machine is shared and noisy: ratios measured side by side in one run are "
              "the figures to trust.", ""]
    missing = []
    for fragment in order:
        path = os.path.join(results_dir, fragment.name + ".md")
        if not os.path.exists(path):
            missing.append(fragment.name)
            continue
        with open(path) as f:
            lines.append(f.read().rstrip("\n"))
        lines.append("")
    with open(out_path, "w") as f:
        f.write("\n".join(lines))
    return missing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--only", help="comma-separated fragment names to regenerate")
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode of every benchmark, into a temporary directory")
    parser.add_argument("--with-7b", action="store_true",
                        help="memory: also the 7B recipe (about 20 GiB free memory needed)")
    parser.add_argument("--output-dir",
                        help="write RESULTS.md and results/ here (default: benchmarks/, or a "
                             "temporary directory with --quick)")
    args = parser.parse_args()
    build = os.path.abspath(args.build_dir)
    order = fragments(args.with_7b and not args.quick)
    names = [f.name for f in order]
    selected = names
    if args.only:
        selected = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in selected if n not in names]
        if unknown:
            sys.exit(f"--only: unknown fragment(s) {', '.join(unknown)}; known: {', '.join(names)}")

    temporary = None
    out_dir = args.output_dir
    if out_dir is None and args.quick:
        out_dir = temporary = tempfile.mkdtemp(prefix="galore-results-")
    out_dir = os.path.abspath(out_dir or BENCH)
    results_dir = os.path.join(out_dir, "results")
    os.makedirs(results_dir, exist_ok=True)
    if results_dir != os.path.join(BENCH, "results"):  # start from the committed fragments
        for name in os.listdir(os.path.join(BENCH, "results")):
            shutil.copy(os.path.join(BENCH, "results", name), results_dir)

    env = dict(os.environ, OMP_WAIT_POLICY="passive", OMP_PROC_BIND="false",
               OMP_NUM_THREADS=str(os.cpu_count()))
    failed, skipped = [], []
    for fragment in order:
        if fragment.name not in selected or fragment.command is None:
            continue
        why = fragment.needs(build) if fragment.needs else None
        if why:
            print(f"== {fragment.name}: skipped: {why}", flush=True)
            skipped.append(fragment.name)
            continue
        markdown = os.path.join(results_dir, fragment.name + ".md")
        argv = fragment.command(build, args.quick, markdown)
        print(f"== {fragment.name}: {' '.join(argv)}", flush=True)
        if subprocess.run(argv, env=env).returncode != 0:
            print(f"== {fragment.name}: FAILED", flush=True)
            failed.append(fragment.name)

    out_path = os.path.join(out_dir, "RESULTS.md")
    missing = assemble(results_dir, out_path, build, order)
    note = f" (no fragment yet: {', '.join(missing)})" if missing else ""
    print(f"assembled {out_path}{note}")
    if skipped:
        print(f"skipped: {', '.join(skipped)}")
    if temporary:
        shutil.rmtree(temporary)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
