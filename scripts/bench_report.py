#!/usr/bin/env python3
"""Turns scripts/bench.sh's CSV into the Markdown table and the gnuplot data.

    scripts/bench_report.py BENCH.csv BENCH.md BENCH.dat TIME_SCALE

The table has one row per portal size and change count: API calls and wall
time of hubsync and of the reference design, and their ratio (a reference
run stopped by the 10,000-result search cap is marked, with what it left). The
data file has one line per portal size for the plot: calls and seconds of
the full scan and of the incremental run with the fewest changes, for both.
"""
import csv
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1])))
    scale = sys.argv[4]
    by = {(r["parents"], r["changes"], r["engine"], r["phase"]): r for r in rows}
    sizes = sorted({int(r["parents"]) for r in rows})
    changes = sorted({int(r["changes"]) for r in rows if r["phase"] == "incremental"})
    out = [
        f"Limits: Pro tier scaled ×{scale} (call counts as at the real limits; wall times at "
        "the scaled ones). Tables: the three with rollup fields.",
        "",
        "| contacts | run | hubsync calls | reference calls | calls saved | hubsync wall | "
        "reference wall | faster | hubsync 429s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        scenarios = [("0", "full", "first sync (list + full scan)")] + [
            (str(c), "incremental", f"incremental, {c:,} changed") for c in changes]
        for ch, phase, label in scenarios:
            h = by.get((str(size), ch, "hubsync", phase))
            r = by.get((str(size), ch, "reference", phase))
            if not h or not r:
                continue
            hc, rcalls = int(h["api_calls"]), int(r["api_calls"])
            hw, rw = float(h["wall_s"]), float(r["wall_s"])
            saved = f"{rcalls / hc:.1f}×" if hc else "-"
            faster = f"{rw / hw:.1f}×" if hw else "-"
            # A reference run left differences only when its search met the
            # 10,000-result cap (bench.sh stops on any other): say so.
            capped = " (capped: 400, " + f"{int(r['differences']):,} differences)" \
                if r["differences"] not in ("", "0") else ""
            out.append(f"| {size:,} | {label} | {hc:,} | {rcalls:,}{capped} | {saved} | "
                       f"{hw:.1f} s | {rw:.1f} s | {faster} | {h['http_429']} |")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    first = str(changes[0]) if changes else None
    with open(sys.argv[3], "w") as f:
        f.write("# contacts hub_full_calls hub_inc_calls ref_full_calls ref_inc_calls "
                "hub_full_s hub_inc_s ref_full_s ref_inc_s\n")
        for size in sizes:
            cells = []
            for key in ("api_calls", "wall_s"):
                for engine in ("hubsync", "reference"):
                    for ch, phase in (("0", "full"), (first, "incremental")):
                        r = by.get((str(size), ch, engine, phase))
                        cells.append(r[key] if r else "NaN")
            # order: hub_full hub_inc ref_full ref_inc for calls, then seconds
            f.write(f"{size} " + " ".join(cells) + "\n")


if __name__ == "__main__":
    main()
