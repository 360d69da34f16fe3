#!/usr/bin/env python3
"""Prints two `hubsync run --json` summaries side by side: the first run (a
full scan of every table) and a later one (incremental for the tables with
rollup fields, a new full scan for the others), per table and in all.

    scripts/compare.py FULL.json INCREMENTAL.json
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    full, inc = load(sys.argv[1]), load(sys.argv[2])
    inc_tables = {t["table"]: t for t in inc["tables"]}
    row = "{:<20} {:<28} {:<36}"

    def show(*cells):
        print(row.format(*cells).rstrip())

    show("", "first run: full scans", "second run: 10 changes")
    for t in full["tables"]:
        i = inc_tables.get(t["table"], {})
        show(
            t["table"],
            f"{t['assoc_calls']:>4} calls {t['parents']:>7,} parents",
            f"{i.get('assoc_calls', 0):>4} calls {i.get('parents', 0):>7,} parents"
            f"  {i.get('route', '-')}")
    fs, is_ = full["object_sync"]["calls"], inc["object_sync"]["calls"]
    show("object sync", f"{fs:>4} calls", f"{is_:>4} calls")
    show("API calls in all", f"{full['calls']:>4} ({full['searches']} searches)",
                     f"{inc['calls']:>4} ({inc['searches']} searches)")
    show("wall time", f"{full['seconds']:>6.1f} s", f"{inc['seconds']:>6.1f} s")
    limit = full["rate_limit_per_s"]
    if limit:
        show("burst budget used", f"{100 * full['rate_per_s'] / limit:>5.0f}%",
                         f"{100 * inc['rate_per_s'] / limit:>5.0f}%")

if __name__ == "__main__":
    main()
