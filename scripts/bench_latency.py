#!/usr/bin/env python3
"""`hubsync bench --latency`: a first run with default flags at HubSpot's
Pro limits (190 per rolling 10 s, 5 searches a second), at several
latencies, against the physical minimum time for the calls it made.

For each portal and latency: a fresh bin/hubspot-sim (`--tier pro`, the
latency as `--latency-ms MEAN:JITTER` or the `hubspot` profile), `hubsync
setup`, the simulator's figures reset, then `hubsync run --json` with no
flag but --lag-ms, started once the setup's requests have left the
simulator's rolling window (the minimum below assumes the whole budget is
the run's; setup's 9 calls, still in the window, and the guard the run
keeps against another app's share would slow its first 10 s by 9%).
Measured:

  burst, searches  the requests the simulator admitted on each budget
  minimum_s        the physical minimum: burst × 10 s / 190 (the burst
                   budget is the bound; searches run beside it on their own)
  wall_s           the run's wall time
  ratio            minimum_s / wall_s (1.0: at the limit)
  budget_pct       the burst rate over the span of the run's burst requests,
                   against 19/s
  http_429         429s the simulator sent (both policies)
  peak_rss_mib     the most memory the hubsync processes (coordinator and
                   workers) held at once, sampled every 0.1 s from /proc:
                   the sum of their VmRSS (shared pages count per process)
  peak_pss_mib     the same as the sum of their Pss (shared pages split)
  peak_anon_mib    the same, anonymous memory only (Pss_Anon + Pss_Shmem: heaps,
                   stacks, the shared region): what the processes need, without
                   the pages of the LMDB file the coordinator maps, which are
                   page cache (clean, reclaimed by the kernel under pressure)
  differences      lines by which the mirror differs from /_sim/truth

Writes DIR/latency.csv, DIR/latency.md and, with gnuplot, DIR/latency.png;
with --timeline DIR/timeline-PORTAL-LATENCY.csv, with --trace
DIR/trace-PORTAL-LATENCY.log (the trace costs the coordinator a line per
job: at 20 ms it can slow the run it measures).

  scripts/bench_latency.py [--portals run,1m] [--latencies 20:5,300:100,1000:300,3000:900,hubspot]
                           [--out DIR] [--timeline] [--trace] [--sim bin/hubspot-sim]
                           [--hubsync bin/hubsync]
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

PORTALS = {
    # the `make run` portal
    "run": {"contacts": 20000, "companies": 4000, "deals": 10000, "tickets": 2000},
    # a large portal: companies a fifth, deals half, tickets a tenth
    "1m": {"contacts": 1000000, "companies": 200000, "deals": 500000, "tickets": 100000},
}
TABLES = ["companies_contacts", "companies_deals", "companies_tickets",
          "contacts_deals", "contacts_tickets", "deals_tickets"]
BURST_PER_S = 19.0
TOKEN = "pat-na1-hubspot-sim"


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=60) as r:
        return r.read()


def post(base, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def wait_for_empty_window(base):
    """Waits until the simulator's burst window holds none of the requests
    made so far: the latest admitted one is older than the window (the
    simulator and this script read the same wall clock)."""
    while True:
        stats = json.loads(get(base, "/_sim/stats"))
        left_ms = stats["admitted"]["burst"]["last_ms"] + stats["window_ms"] - time.time() * 1000.0
        if left_ms < 0:
            return
        time.sleep(min(0.5, left_ms / 1000.0 + 0.01))


def start_sim(args, portal, latency, workdir):
    port_file = os.path.join(workdir, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    cmd = [args.sim, "--port", "0", "--port-file", port_file, "--tier", "pro",
           "--rollup-bumps", "always"]
    for k, v in PORTALS[portal].items():
        cmd += ["--" + k, str(v)]
    cmd += ["--latency-profile", "hubspot"] if latency == "hubspot" else ["--latency-ms", latency]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(6000):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            break
        if proc.poll() is not None:
            sys.exit("hubspot-sim did not start: " + proc.stderr.read().decode())
        time.sleep(0.1)
    with open(port_file) as f:
        return proc, "http://127.0.0.1:" + f.read().strip()


def tree_memory_kib(root):
    """Memory of `root` and its descendants, in KiB, from /proc: the sum of
    their resident sets (VmRSS: a page two processes map counts twice), of
    their proportional sets (Pss: a shared page split among them), and of
    the anonymous and shared-memory part of those (Pss_Anon + Pss_Shmem:
    heaps, stacks, the shared region; not the LMDB file pages mapped)."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    rss, pss, anon, todo = 0, 0, 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith(("Pss_Anon:", "Pss_Shmem:")):
                        anon += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, anon


def mirror_differences(args, base, db):
    out = subprocess.run([args.hubsync, "--db", db, "export", "--format", "tsv"],
                         capture_output=True, check=True).stdout.decode().splitlines()
    truth = []
    for t in TABLES:
        truth += get(base, "/_sim/truth?table=" + t).decode().splitlines()
    return len(set(out) ^ set(truth))


def one(args, portal, latency, workdir):
    db = os.path.join(workdir, "db")
    shutil.rmtree(db, ignore_errors=True)
    sim, base = start_sim(args, portal, latency, workdir)
    env = dict(os.environ, HUBSPOT_ACCESS_TOKEN=TOKEN)
    common = [args.hubsync, "--db", db, "--base-url", base, "--progress", "never"]
    try:
        subprocess.run(common + ["setup"], env=env, check=True, capture_output=True)
        wait_for_empty_window(base)
        post(base, "/_sim/reset-stats", {})
        t0 = time.monotonic()
        # --trace: every job's trace (`hubsync -v`), to a file (a pipe would
        # fill and stall the run).
        trace = os.path.join(args.out, f"trace-{portal}-{latency}.log") if args.trace else None
        errf = open(trace, "wb") if trace else subprocess.PIPE
        run = subprocess.Popen(common[:1] + (["-v"] if trace else []) + common[1:] +
                               ["--lag-ms", "1000", "run", "--json"], env=env,
                               stdout=subprocess.PIPE, stderr=errf)
        peak, peak_pss, peak_anon, timeline, next_sample = 0, 0, 0, [], t0
        while run.poll() is None:
            rss, pss, anon = tree_memory_kib(run.pid)
            peak, peak_pss, peak_anon = max(peak, rss), max(peak_pss, pss), max(peak_anon, anon)
            if args.timeline and time.monotonic() >= next_sample:
                st = json.loads(get(base, "/_sim/stats"))["admitted"]
                timeline.append((time.monotonic() - t0, st["burst"]["count"],
                                 st["search"]["count"]))
                next_sample += 0.5
            time.sleep(0.1)
        if args.timeline:
            with open(os.path.join(args.out, f"timeline-{portal}-{latency}.csv"), "w") as f:
                f.write("seconds,burst,searches,burst_per_s\n")
                prev_t, prev_b = 0.0, 0
                for t, b, s in timeline:
                    rate = (b - prev_b) / (t - prev_t) if t > prev_t else 0.0
                    f.write(f"{t:.2f},{b},{s},{rate:.1f}\n")
                    prev_t, prev_b = t, b
        out, err = run.communicate()
        wall = time.monotonic() - t0
        if trace:
            errf.close()
            with open(trace, "rb") as f:
                err = f.read()[-4000:]
        if run.returncode != 0:
            sys.exit(f"hubsync run failed ({run.returncode}):\n{err.decode()}")
        summary = json.loads(out)
        stats = json.loads(get(base, "/_sim/stats"))
        burst = stats["admitted"]["burst"]
        searches = stats["admitted"]["search"]["count"]
        span = (burst["last_ms"] - burst["first_ms"]) / 1000.0
        minimum = burst["count"] * 10.0 / 190.0
        limited = stats.get("rate_limited", {})
        row = {
            "portal": portal, "latency": latency,
            "burst": burst["count"], "searches": searches,
            "minimum_s": round(minimum, 1), "wall_s": round(summary.get("seconds", wall), 1),
            "ratio": round(minimum / summary.get("seconds", wall), 3),
            "budget_pct": round(100.0 * (burst["count"] - 1) / span / BURST_PER_S, 1) if span > 0 else 0,
            "http_429": sum(limited.values()),
            "peak_rss_mib": round(peak / 1024.0, 1),
            "peak_pss_mib": round(peak_pss / 1024.0, 1),
            "peak_anon_mib": round(peak_anon / 1024.0, 1),
            "differences": mirror_differences(args, base, db),
        }
        print(json.dumps(row), file=sys.stderr)
        return row
    finally:
        sim.terminate()
        sim.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portals", default="run")
    ap.add_argument("--latencies", default="20:5,300:100,1000:300,3000:900,hubspot")
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--timeline", action="store_true",
                    help="also write DIR/timeline-PORTAL-LATENCY.csv: the requests admitted, "
                         "sampled every 0.5 s")
    ap.add_argument("--trace", action="store_true",
                    help="run `hubsync -v` and write its trace of every job (published, done, "
                         "after how long) to DIR/trace-PORTAL-LATENCY.log")
    ap.add_argument("--sim", default=os.environ.get("HUBSPOT_SIM", "bin/hubspot-sim"))
    ap.add_argument("--hubsync", default=os.environ.get("HUBSYNC", "bin/hubsync"))
    args = ap.parse_args()
    portals = args.portals.split(",")
    for p in portals:
        if p not in PORTALS:
            sys.exit(f"bench --latency: unknown portal '{p}' ({', '.join(PORTALS)})")
    latencies = args.latencies.split(",")
    for lat in latencies:
        if lat != "hubspot" and not all(x.isdigit() for x in lat.split(":")):
            sys.exit(f"bench --latency: '{lat}' is neither MEAN[:JITTER] (ms) nor hubspot")
    os.makedirs(args.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for p in portals:
            for lat in latencies:
                rows.append(one(args, p, lat, workdir))
    fields = list(rows[0].keys())
    with open(os.path.join(args.out, "latency.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.out, "latency.md"), "w") as f:
        f.write("| " + " | ".join(fields) + " |\n|" + "---|" * len(fields) + "\n")
        for r in rows:
            f.write("| " + " | ".join(str(r[k]) for k in fields) + " |\n")
    with open(os.path.join(args.out, "latency.md")) as f:
        print(f.read())
    if shutil.which("gnuplot"):
        dat = os.path.join(args.out, "latency.dat")
        with open(dat, "w") as f:
            for i, r in enumerate(rows):
                f.write(f'{i} "{r["portal"]} {r["latency"]}" {r["ratio"]} {r["budget_pct"] / 100}\n')
        subprocess.run(["gnuplot", "-e", f"dat='{dat}'; out='{os.path.join(args.out, 'latency.png')}'",
                        "scripts/latency.gp"], check=False)


if __name__ == "__main__":
    main()
