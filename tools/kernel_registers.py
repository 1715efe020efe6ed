#!/usr/bin/env python3
"""Registers and spills of every kernel instantiation in a CUDA source, per architecture, without a GPU:
what decides how many CTAs fit an SM (65536 registers an SM) before anything is timed.

    python3 tools/kernel_registers.py kernels/cuda/flash/flash_decode.cu --arch sm_75 sm_90 \\
        --match 'flash_decode_kernel<__half, 128, 1,'

Compiles with the nvcc on PATH (ptxas -v), demangles with c++filt and prints one line per kernel and
architecture whose demangled name contains --match (a regular expression): registers, spill stores and
loads in bytes, and the CTAs of --threads threads that the registers alone leave room for (shared memory
may allow fewer)."""
import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def ptxas_report(source, arch):
    """(mangled name, registers, spill stores, spill loads) for each kernel ptxas compiled for `arch`."""
    includes = ["-I", str(REPO)]
    if (REPO / ".deps/usr/include").is_dir():
        includes += ["-I", str(REPO / ".deps/usr/include")]
    with tempfile.TemporaryDirectory() as work:
        result = subprocess.run(
            ["nvcc", "-std=c++17", "--expt-relaxed-constexpr", "-O3", f"-arch={arch}", *includes, "-cubin", "-o",
             str(Path(work) / "kernel.cubin"), str(source), "-Xptxas", "-v"],
            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"nvcc failed for {arch}:\n{result.stderr[-2000:]}")
    kernels, name, spills = [], None, (0, 0)
    for line in result.stderr.splitlines():
        if m := re.search(r"Compiling entry function '(\S+)'", line):
            name, spills = m.group(1), (0, 0)
        elif m := re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line):
            spills = (int(m.group(1)), int(m.group(2)))
        elif (m := re.search(r"Used (\d+) registers", line)) and name:
            kernels.append((name, int(m.group(1)), *spills))
            name = None
    return kernels


def ctas_per_sm(registers, threads):
    """CTAs an SM by registers alone: a warp's registers are allocated 8 a thread at a time, from 65536 an SM,
    at most 64 warps an SM."""
    warps_per_cta = (threads + 31) // 32
    warps = min(64, 65536 // ((registers + 7) // 8 * 8 * 32))
    return warps // warps_per_cta


def demangle(names):
    """Readable names: namespaces and the parameter list dropped, template arguments kept."""
    result = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True)
    short = []
    for name in result.stdout.splitlines():
        name = re.sub(r"attn::(cuda|cpu)::(\(anonymous namespace\)::)?", "", name).removeprefix("void ")
        short.append(name[: name.index(">(") + 1] if ">(" in name else name.split("(")[0])
    return short


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("--arch", nargs="+", default=["sm_90"])
    parser.add_argument("--match", default="", help="regular expression on the demangled kernel name")
    parser.add_argument("--threads", type=int, default=128, help="threads a CTA, for the CTAs an SM")
    args = parser.parse_args()
    for arch in args.arch:
        kernels = ptxas_report(args.source, arch)
        for (_, registers, stores, loads), name in zip(kernels, demangle([k[0] for k in kernels])):
            if not re.search(args.match, name):
                continue
            ctas = ctas_per_sm(registers, args.threads)
            print(f"{arch}  {registers:3d} regs  spill {stores}/{loads} B  {ctas} CTAs/SM  {name}")


if __name__ == "__main__":
    main()
