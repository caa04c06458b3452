#!/usr/bin/env python3
"""tools/ncu_summary.py on a table in the shape of ncu --csv --page details: kernel names
reduced to their function, durations in any unit as microseconds, thousands separators,
the median over launches, ncu's own lines skipped, and an input with no metrics an error."""
import csv
import io
import os
import sys
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import ncu_summary  # noqa: E402

HEADER = ('"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream",'
          '"Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit",'
          '"Metric Value"\n')


def row(launch, kernel, metric, unit, value):
    return (f'"{launch}","1","tdseg","h","{kernel}","1","7","(256, 1, 1)","(9, 1, 1)","0",'
            f'"9.0","Section","{metric}","{unit}","{value}"\n')


ROWS = "".join([
    "==PROF== Connected to process 1\n",
    HEADER,
    row(0, "void tdseg::cuda::(anonymous namespace)::rows_kernel<float>(Dims, int)",
        "Duration", "usecond", "300"),
    row(0, "void tdseg::cuda::(anonymous namespace)::rows_kernel<float>(Dims, int)",
        "DRAM Throughput", "%", "70"),
    row(1, "rows_kernel", "Duration", "msecond", "1,000.5"),
    row(1, "rows_kernel", "DRAM Throughput", "%", "80"),
    row(2, "rows_kernel", "Duration", "nsecond", "500"),
    row(2, "rows_kernel", "DRAM Throughput", "%", "90"),
    row(3, "batch_norm_apply", "Registers Per Thread", "register/thread", "24"),
    row(3, "batch_norm_apply", "Block Limit Registers", "block", "8"),
])


class NcuSummary(unittest.TestCase):
    def run_main(self, text):
        out, err = io.StringIO(), io.StringIO()
        sys.stdin = io.StringIO(text)
        with redirect_stdout(out), redirect_stderr(err):
            rc = ncu_summary.main()
        return rc, out.getvalue(), err.getvalue()

    def test_names_units_and_medians(self):
        self.assertEqual(ncu_summary.base_name(
            "void a::(anonymous namespace)::rows_kernel<float>(Dims)"), "rows_kernel")
        lines = (l for l in io.StringIO(ROWS) if not l.startswith("=="))
        k = ncu_summary.summarise(csv.DictReader(lines))
        self.assertEqual(sorted(k), ["batch_norm_apply", "rows_kernel"])
        self.assertEqual(k["rows_kernel"]["us"], [300.0, 1000500.0, 0.5])
        self.assertEqual(k["rows_kernel"]["dram %"], [70.0, 80.0, 90.0])
        self.assertEqual(k["batch_norm_apply"], {"registers": [24.0]})

    def test_table(self):
        rc, out, _ = self.run_main(ROWS)
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertIn("kernel", lines[0])
        rows = [l.split() for l in lines[1:]]
        self.assertEqual(rows[1][:4], ["rows_kernel", "3", "300.0", "80.0"])  # medians
        self.assertEqual(rows[0][0], "batch_norm_apply")
        self.assertEqual(rows[0][-1], "24.0")

    def test_no_metrics_is_an_error(self):
        rc, out, err = self.run_main("==PROF== nothing profiled\n")
        self.assertEqual(rc, 1)
        self.assertIn("no kernel metrics", err)


if __name__ == "__main__":
    unittest.main()
