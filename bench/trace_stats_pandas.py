"""The statistics of `modserve trace stats` computed by pandas, for bench/trace_stats.sh.

usage: trace_stats_pandas.py TRACE.csv[.gz] [OUT.json]
Same computation as tests/trace/stats_ref.py (which checks modserve against it);
here it is timed, so it runs as one would write it for a notebook.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "trace"))
import stats_ref  # noqa: E402


def main():
    ref = stats_ref.reference(sys.argv[1])
    text = json.dumps(ref, indent=2)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
