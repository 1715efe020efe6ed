#!/usr/bin/env python3
"""Where a kernel's warps spend their time, from ncu's source view: stall samples per SASS instruction,
summed per stall reason, per region of the kernel and for the instructions that weigh most.

    ncu --set full --import-source no -k regex:flash_decode_mma --launch-count 1 -o full build/tools/...
    ncu --import full.ncu-rep --page source --csv --print-source sass > source.csv
    python3 tools/ncu_source_summary.py source.csv [--kernel 0] [--top 20] \\
        [--regions 0:prologue,0x33d0:copy,0x4200:wait,...]

Offsets are bytes from the kernel's first instruction, as nvdisasm prints them (tools/kernel_sass.sh): a
region runs from its offset to the next one's. Samples are taken from every resident warp at a fixed
interval, so a region's share of them is its share of the warps' time."""
import argparse
import bisect
import collections
import csv
import sys

from ncu_summary import short_kernel_name

SAMPLES = "Warp Stall Sampling (All Samples)"
EXECUTED = "Instructions Executed"


def read_kernels(path):
    """[(kernel name, [instruction rows as dicts])], one entry per profiled launch."""
    kernels, header = [], None
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if row and row[0] == "Kernel Name":
                kernels.append((row[1], []))
                header = None
            elif kernels and header is None:
                header = row
            elif kernels and len(row) == len(header):
                kernels[-1][1].append(dict(zip(header, row)))
    return kernels


def count(text):
    return int(text.replace(",", "") or 0)


def stall_counts(row):
    return {name[len("stall_"):]: count(value) for name, value in row.items()
            if name.startswith("stall_") and "Not Issued" not in name}


def parse_regions(text):
    starts, names = [], []
    for item in text.split(","):
        offset, name = item.split(":", 1)
        starts.append(int(offset, 0))
        names.append(name)
    if starts != sorted(starts):
        sys.exit("--regions: offsets must rise")
    return starts, names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="ncu --page source --csv --print-source sass output")
    parser.add_argument("--kernel", type=int, default=0, help="which profiled launch (0 = the first)")
    parser.add_argument("--top", type=int, default=20, help="instructions to list, most samples first")
    parser.add_argument("--regions", help="OFFSET:NAME,... (offsets from the kernel's start, rising)")
    args = parser.parse_args()

    kernels = read_kernels(args.csv)
    if not kernels:
        sys.exit(f"{args.csv}: no source view (ncu --import REPORT --page source --csv --print-source sass)")
    if not 0 <= args.kernel < len(kernels):
        sys.exit(f"--kernel {args.kernel}: the file holds {len(kernels)} launches")
    name, rows = kernels[args.kernel]
    base = min(int(row["Address"], 16) for row in rows)
    instructions = [(int(row["Address"], 16) - base, count(row[SAMPLES]), count(row[EXECUTED]), row["Source"].strip(),
                     stall_counts(row)) for row in rows]
    total = sum(samples for _, samples, _, _, _ in instructions) or 1
    print(f"{short_kernel_name(name)}: {total} samples, {sum(e for _, _, e, _, _ in instructions):,} warp "
          f"instructions executed")

    reasons = collections.Counter()
    for *_, stalls in instructions:
        reasons.update(stalls)
    print("stalls: " + ", ".join(f"{reason} {n / total:.1%}" for reason, n in reasons.most_common(8)))

    if args.regions:
        starts, names = parse_regions(args.regions)
        samples, executed = collections.Counter(), collections.Counter()
        region_reasons = collections.defaultdict(collections.Counter)
        for offset, n, e, _, stalls in instructions:
            region = names[max(0, bisect.bisect_right(starts, offset) - 1)]
            samples[region] += n
            executed[region] += e
            region_reasons[region].update(stalls)
        for region in names:
            top = ", ".join(f"{r} {n / max(samples[region], 1):.0%}" for r, n in region_reasons[region].most_common(3))
            print(f"  {region:<16} {samples[region] / total:6.1%} of samples  {executed[region]:>12,} instructions"
                  f"  ({top})")

    print(f"top {args.top} instructions (offset, share of samples, times executed, stalls):")
    for offset, n, e, source, stalls in sorted(instructions, key=lambda i: -i[1])[:args.top]:
        top = " ".join(f"{r}={c}" for r, c in sorted(stalls.items(), key=lambda kv: -kv[1])[:3] if c)
        print(f"  {offset:#06x} {n / total:6.1%} {e:>10,}  {source[:56]:<56} {top}")


if __name__ == "__main__":
    main()
