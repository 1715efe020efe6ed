#!/usr/bin/env python3
"""One line per profiled kernel from `ncu --csv --print-units base --metrics ...` output (the metrics form,
one row per kernel and metric), with warp stall reasons folded into the few that weigh most.

    ncu --csv --print-units base -k regex:flash_decode --launch-skip 60 --launch-count 12 \\
        --metrics gpu__time_duration.sum,smsp__inst_executed.sum,... build/tools/attn_bench_attention kvcache \\
        > ncu.csv
    python3 tools/ncu_summary.py ncu.csv [--stalls 6]

Durations print in microseconds; stalls (smsp__average_warps_issue_stalled_<reason>_per_issue_active) as
cycles per issued instruction, the largest first, with their sum: the average cycles between a warp's
instructions. Lines ncu writes before its table (the application's own output) are skipped."""
import argparse
import csv
import sys

STALL_PREFIX = "smsp__average_warps_issue_stalled_"
STALL_SUFFIX = "_per_issue_active.ratio"
SHORT_NAMES = {
    "gpu__time_duration.sum": "us",
    "smsp__inst_executed.sum": "inst",
    "launch__registers_per_thread": "regs",
    "launch__grid_size": "grid",
    "sm__warps_active.avg.pct_of_peak_sustained_active": "warps%",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": "dram%",
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active": "tensor%",
    "lts__t_sector_hit_rate.pct": "l2hit%",
}


def number(text):
    return float(text.replace(",", ""))


def read_kernels(lines):
    """{id: (kernel name, {metric: value})} in launch order, from ncu's CSV rows."""
    header, kernels = None, {}
    for row in csv.reader(lines):
        if row and row[0] == "ID":
            header = row
            continue
        if header is None or len(row) != len(header):
            continue
        fields = dict(zip(header, row))
        name, metrics = kernels.setdefault(fields["ID"], (fields["Kernel Name"], {}))
        metrics[fields["Metric Name"]] = fields["Metric Value"]
    return kernels


def short_kernel_name(name):
    """The function's own name and template arguments: no return type, namespaces or parameter list."""
    for anonymous in ("(anonymous namespace)::", "<unnamed>::", "unnamed>::"):  # ncu writes the last
        name = name.replace(anonymous, "")
    depth, end, start = 0, len(name), 0
    for i, c in enumerate(name):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif depth == 0 and c == "(":
            end = i  # the parameter list
            break
        elif depth == 0 and c == ":" and name[i - 1] == ":":
            start = i + 1
        elif depth == 0 and c == " ":
            start = i + 1
    return name[start:end]


def summary_line(kernel_id, name, metrics, stall_count):
    parts = [f"{kernel_id:>4} {short_kernel_name(name)[:60]:<60}"]
    for metric, label in SHORT_NAMES.items():
        if metric in metrics:
            value = number(metrics[metric])
            if metric == "gpu__time_duration.sum":
                value /= 1000.0  # ns
            parts.append(f"{label} {value:,.0f}" if value.is_integer() or value >= 1e4 else f"{label} {value:,.1f}")
    stalls = {m[len(STALL_PREFIX):-len(STALL_SUFFIX)]: number(v) for m, v in metrics.items()
              if m.startswith(STALL_PREFIX) and m.endswith(STALL_SUFFIX)}
    if stalls:
        top = sorted(stalls.items(), key=lambda kv: -kv[1])[:stall_count]
        parts.append("stalls " + " ".join(f"{reason}={value:.2f}" for reason, value in top) +
                     f" (sum {sum(stalls.values()):.2f})")
    return "  ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="ncu --csv output ('-' for stdin)")
    parser.add_argument("--stalls", type=int, default=6, help="stall reasons to print per kernel")
    args = parser.parse_args()
    lines = sys.stdin if args.csv == "-" else open(args.csv, newline="")
    kernels = read_kernels(lines)
    if not kernels:
        sys.exit(f"{args.csv}: no ncu metric rows (run ncu with --csv --print-units base --metrics ...)")
    for kernel_id in sorted(kernels, key=int):
        name, metrics = kernels[kernel_id]
        print(summary_line(kernel_id, name, metrics, args.stalls))


if __name__ == "__main__":
    main()
