#!/usr/bin/env python3
"""One line per kernel from Nsight Compute's CSV (ncu --csv --page details, sections
SpeedOfLight, Occupancy and LaunchStats): launches profiled, median duration, DRAM and SM
throughput as a percentage of the device's peak, achieved occupancy and registers per
thread. Used by the `profile` stage of tools/gpu_check.sh:

    ncu --csv --page details ... | python3 tools/ncu_summary.py
"""
import csv
import statistics
import sys

# ncu's metric names (their "Metric Name" column) and the column each fills here.
METRICS = {
    "Duration": "us",
    "DRAM Throughput": "dram %",
    "Compute (SM) Throughput": "sm %",
    "Achieved Occupancy": "occupancy %",
    "Registers Per Thread": "registers",
}
TO_MICROSECONDS = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6}


def number(text):
    return float(text.replace(",", ""))


def base_name(name):
    """rows_kernel from "void tdseg::(anonymous namespace)::rows_kernel<float>(Dims, ...)"."""
    name = name.replace("(anonymous namespace)", "")
    for stop in "(<":
        name = name.split(stop)[0]
    return name.split("::")[-1].split(" ")[-1]


def summarise(rows):
    """{kernel: {column: [values, one per launch]}} from the CSV's rows."""
    kernels = {}
    for row in rows:
        column = METRICS.get(row.get("Metric Name", ""))
        if column is None:
            continue
        try:
            value = number(row["Metric Value"])
        except ValueError:
            continue
        if column == "us":
            value *= TO_MICROSECONDS.get(row.get("Metric Unit", "usecond"), 1.0)
        kernel = base_name(row["Kernel Name"])
        kernels.setdefault(kernel, {}).setdefault(column, []).append(value)
    return kernels


def main():
    # ncu prints its own lines (==PROF== ...) before the table: start at the header.
    lines = [line for line in sys.stdin if not line.startswith("==")]
    kernels = summarise(csv.DictReader(lines))
    if not kernels:
        print("ncu_summary: no kernel metrics in the input", file=sys.stderr)
        return 1
    columns = list(METRICS.values())
    print(f"{'kernel':<36}{'launches':>9}" + "".join(f"{c:>13}" for c in columns))
    for kernel, values in sorted(kernels.items()):
        launches = len(values.get("us", []))
        cells = [statistics.median(values[c]) if c in values else float("nan") for c in columns]
        print(f"{kernel[:35]:<36}{launches:>9}" + "".join(f"{v:>13.1f}" for v in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
