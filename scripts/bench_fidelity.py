#!/usr/bin/env python3
"""`hubsync bench --fidelity`: the reference design against hubsync, scenario
by scenario, counting the associations each loses and invents.

For every scenario a fresh simulator (a small portal, limits off, the three
tables with rollup fields: companies_contacts, companies_deals,
contacts_deals) serves three engines side by side, each with its own
database: `run --reference-design` (the reference design's algorithm as
written), hubsync with verification off (`--verify-fraction 0`) and hubsync
with it on (`--verify-fraction 0.25`). Each engine is set up and fully synced
first (not counted); then the scenario's steps run, every engine running
where a step says "run"; then, once the simulator is quiet (no rollup
recomputation pending, the newest write older than the lag allowance and
the index lag), four more runs of each engine (a quarter of a table each for
verification: the whole table). Counted per engine: associations lost (in
the truth, not in the mirror: a relabel counts once here and once below),
invented (in the mirror, not in the truth), and API calls from the steps on.

Then the reference design's own performance table, measured as it is stated
there (100,000 contacts, 10 changed: full scan calls against incremental
calls), for both designs, on contacts_deals.

  scripts/bench_fidelity.py [--out DIR] [--contacts N] [--perf-contacts N]

Writes DIR/fidelity.md, DIR/fidelity.csv, DIR/fidelity.dat and
DIR/fidelity.png (gnuplot, scripts/fidelity.gp); default DIR bench-out/.
Needs HUBSPOT_SIM and HUBSYNC (bin/ by default), run from the source tree.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SIM = os.environ.get("HUBSPOT_SIM", "bin/hubspot-sim")
HUBSYNC = os.environ.get("HUBSYNC", "bin/hubsync")
TOKEN = "pat-na1-hubspot-sim"
TABLES = ["companies_contacts", "companies_deals", "contacts_deals"]
LAG_MS = 5000  # hubsync's --lag-ms: above every index lag a scenario injects
ENGINES = [
    ("reference", ["--reference-design"]),
    ("hubsync", ["--verify-fraction", "0"]),
    ("hubsync+verify", ["--verify-fraction", "0.25"]),
]
FINAL_RUNS = 4


class Sim:
    """A hubspot-sim on a free port, stopped by stop()."""

    def __init__(self, args, workdir):
        port_file = os.path.join(workdir, "port")
        self.proc = subprocess.Popen(
            [SIM, "--port", "0", "--port-file", port_file, "--quiet"] + args,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(600):
            if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                break
            if self.proc.poll() is not None:
                sys.exit("hubspot-sim did not start: " + self.proc.stderr.read().decode())
            time.sleep(0.05)
        self.base = "http://127.0.0.1:" + open(port_file).read().strip()
        os.unlink(port_file)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            text = r.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text

    def mutate(self, body):
        return self.call("POST", "/_sim/mutate", body)

    def config(self, body):
        return self.call("POST", "/_sim/config", body)

    def stats(self):
        return self.call("GET", "/_sim/stats")

    def truth(self):
        lines = set()
        for t in TABLES:
            lines.update(l for l in self.call("GET", "/_sim/truth?table=" + t).splitlines() if l)
        return lines

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Engine:
    """One engine's database and the calls it spent."""

    def __init__(self, name, flags, sim, workdir):
        self.name, self.flags, self.sim = name, flags, sim
        self.db = os.path.join(workdir, name)
        self.calls = 0
        self.exits = []

    def hubsync(self, args, check=True):
        env = dict(os.environ, HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSYNC_TABLES=",".join(TABLES))
        p = subprocess.run([HUBSYNC, "--db", self.db, "--base-url", self.sim.base] + args,
                           env=env, capture_output=True, text=True, timeout=900)
        if check and p.returncode != 0:
            sys.exit(f"{self.name}: hubsync {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
        return p

    def setup(self):
        self.hubsync(["setup"])

    def run(self, extra=(), count=True):
        p = self.hubsync(["--progress", "never", "--lag-ms", str(LAG_MS), "run", "--json"]
                         + self.flags + list(extra), check=False)
        if p.returncode not in (0, 1):
            sys.exit(f"{self.name}: run: exit {p.returncode}\n{p.stderr}")
        self.exits.append(p.returncode)
        if count and p.stdout.strip():
            self.calls += json.loads(p.stdout.strip().splitlines()[-1])["calls"]
        return p

    def start_run(self, extra=()):
        """Starts a run in the background (its calls are not counted)."""
        env = dict(os.environ, HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSYNC_TABLES=",".join(TABLES))
        return subprocess.Popen([HUBSYNC, "--db", self.db, "--base-url", self.sim.base,
                                 "--progress", "never", "--lag-ms", str(LAG_MS), "run", "--json"]
                                + self.flags + list(extra), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)

    def mirror(self):
        out = self.hubsync(["export", "--format", "tsv"]).stdout
        return set(l for l in out.splitlines() if l)


def quiet(sim, last_write_ms, index_lag_ms):
    """Waits until no rollup recomputation is pending and the newest write
    is older than the lag allowance and the index lag (measured progress:
    the simulator's pending count and the wall clock both share)."""
    for _ in range(6000):
        if sim.stats()["rollups"]["pending"] == 0:
            break
        time.sleep(0.05)
    until = max(last_write_ms[0], int(time.time() * 1000)) + max(LAG_MS, index_lag_ms) + 500
    while time.time() * 1000 < until:
        time.sleep(0.05)


ASSOC = {"tables": TABLES, "kinds": ["associate", "dissociate"]}


def mutate(sim, last, **body):
    r = sim.mutate(dict(ASSOC, **body))
    last[0] = max(last[0], r.get("last_ms", 0), int(time.time() * 1000))
    return r


# ---- the scenarios: (name, simulator arguments, steps, index lag) --------


def tie(sim, engines, last):
    """Writes stamped in the millisecond the reference's cursor ends at,
    reaching the search index after its run (stamp before commit)."""
    a = mutate(sim, last, count=30)
    sim.config({"index_lag_ms": 4000})
    b = mutate(sim, last, count=30)
    sim.config({"index_lag_ms": 0})
    for e in engines:
        e.run()
    return "staged" if b["first_ms"] == a["last_ms"] else "not staged (B not in A's ms)"


def uneven_lag(sim, engines, last):
    """A reaches the index 4 s late, B after it at once: a run in between
    sees B but not A."""
    sim.config({"index_lag_ms": 4000})
    mutate(sim, last, count=30)
    sim.config({"index_lag_ms": 0})
    time.sleep(0.01)
    mutate(sim, last, count=30)
    for e in engines:
        e.run()
    return ""


def over_cap(sim, engines, last):
    """More than 10,000 changed parents in one window: 22,000 contacts
    created, each linked to deals."""
    mutate(sim, last, count=22000, tables=["contacts_deals"], kinds=["create"])
    for e in engines:
        e.run()
    return ""


def during_full_scan(sim, engines, last):
    """Changes made while a full scan runs (30 ms of latency to give it
    time): each engine's scan is started, changes land once it has read a
    few batches, and it finishes."""
    sim.config({"latency_ms": 30})
    for e in engines:
        before = sim.stats()["requests"]
        base = sum(v for k, v in before.items() if "/batch/read" in k and "associations" in k)
        p = e.start_run(["--full-scan"])
        for _ in range(2000):
            now = sim.stats()["requests"]
            if sum(v for k, v in now.items() if "/batch/read" in k and "associations" in k) >= base + 3:
                break
            time.sleep(0.01)
        mutate(sim, last, count=40)
        p.communicate(timeout=900)
    sim.config({"latency_ms": 0})
    return ""


def late_missed_rollups(sim, engines, last):
    """Realistic rollups: recomputed 0.5-2 s late, 30% of bumps missed."""
    for _ in range(3):
        mutate(sim, last, count=60)
        for e in engines:
            e.run()
    return ""


def relabels_under_count(sim, engines, last):
    """Relabels where the rollup is a plain count: no value changes."""
    mutate(sim, last, count=80, kinds=["relabel"])
    for e in engines:
        e.run()
    return ""


def rollups_created_late(sim, engines, last):
    """Changes while the tables had no rollup fields; then the fields are
    created and setup runs again."""
    mutate(sim, last, count=60)
    sim.config({"rollups": ",".join(TABLES)})
    for e in engines:
        e.setup()
        e.run()
    return ""


def rollups_deleted(sim, engines, last):
    """The rollup fields are deleted after setup; changes follow."""
    sim.config({"rollups": "none"})
    mutate(sim, last, count=60)
    for e in engines:
        e.run()
    return ""


REALISTIC = ["--rollup-bumps", "realistic", "--rollup-tail", "0"]
SCENARIOS = [
    ("ties at the cursor's millisecond", ["--same-ms", "1"], tie, 4000),
    ("index lag (uneven)", [], uneven_lag, 4000),
    ("over 10,000 changes in a window", [], over_cap, 0),
    ("changes during a full scan", [], during_full_scan, 0),
    ("late and missed rollups", REALISTIC + ["--rollup-delay-ms", "500:2000", "--rollup-miss",
                                             "0.3"], late_missed_rollups, 0),
    ("relabels under a count rollup", REALISTIC + ["--rollup-delay-ms", "200:500",
                                                   "--rollup-miss", "0", "--rollups",
                                                   ",".join(TABLES)], relabels_under_count, 0),
    ("rollup fields created late", ["--rollups", "none"], rollups_created_late, 0),
    ("rollup fields deleted", [], rollups_deleted, 0),
]


def run_scenario(name, args, steps, index_lag, contacts, workdir):
    d = tempfile.mkdtemp(dir=workdir)
    portal = ["--contacts", str(contacts), "--companies", str(contacts // 5), "--deals",
              str(contacts // 2), "--tickets", str(contacts // 10), "--heavy-parents", "0",
              "--tier", "unlimited", "--rollup-bumps", "always"]
    sim = Sim(portal + args, d)
    try:
        engines = [Engine(n, f, sim, d) for n, f in ENGINES]
        for e in engines:
            e.setup()
            e.run(count=False)
        last = [int(time.time() * 1000)]
        note = steps(sim, engines, last)
        quiet(sim, last, index_lag)
        for _ in range(FINAL_RUNS):
            for e in engines:
                e.run()
        truth = sim.truth()
        rows = []
        for e in engines:
            m = e.mirror()
            rows.append({"scenario": name, "engine": e.name, "lost": len(truth - m),
                         "invented": len(m - truth), "calls": e.calls,
                         "failed_runs": sum(1 for x in e.exits if x != 0),
                         "associations": len(truth), "note": note})
            print(f"  {e.name:<15} lost {rows[-1]['lost']:>6}  invented {rows[-1]['invented']:>6}"
                  f"  calls {e.calls:>6}  runs failed {rows[-1]['failed_runs']}", file=sys.stderr)
        return rows
    finally:
        sim.stop()


def perf_table(contacts, workdir):
    """The reference design's table: full scan calls against incremental
    calls with 10 changed parents, on contacts_deals, for both designs."""
    global TABLES
    saved, TABLES = TABLES, ["contacts_deals"]
    rows = []
    try:
        for name, flags in (("reference", ["--reference-design"]),
                            ("hubsync", ["--verify-fraction", "0"]),
                            ("hubsync+verify", ["--verify-fraction", "0.02"])):
            d = tempfile.mkdtemp(dir=workdir)
            sim = Sim(["--contacts", str(contacts), "--companies", str(contacts // 5),
                       "--deals", str(contacts // 2), "--tickets", str(contacts // 10),
                       "--tier", "unlimited", "--rollup-bumps", "always"], d)
            try:
                e = Engine(name, flags, sim, d)
                e.setup()
                e.run()
                full = e.calls
                sim.mutate({"count": 10, "tables": ["contacts_deals"], "kinds": ["associate"]})
                quiet(sim, [int(time.time() * 1000)], 0)
                e.run()
                rows.append({"engine": name, "full": full, "incremental": e.calls - full})
                print(f"  {name:<15} full scan {full} calls, incremental {e.calls - full}",
                      file=sys.stderr)
            finally:
                sim.stop()
    finally:
        TABLES = saved
    return rows


def main(argv):
    out, contacts, perf_contacts = "bench-out", 3000, 100000
    i = 0
    while i < len(argv):
        if argv[i] in ("-h", "--help"):
            print(__doc__)
            return 0
        if argv[i] in ("--out", "--contacts", "--perf-contacts") and i + 1 < len(argv):
            v = argv[i + 1]
            if argv[i] == "--out":
                out = v
            elif not v.isdigit():
                sys.exit(f"bench --fidelity: {argv[i]} '{v}' is not a number")
            elif argv[i] == "--contacts":
                contacts = int(v)
            else:
                perf_contacts = int(v)
            i += 2
            continue
        sys.exit(f"bench --fidelity: unknown argument '{argv[i]}' (see --help)")
    os.makedirs(out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="hubsync-fidelity-")
    try:
        rows = []
        for name, args, steps, lag in SCENARIOS:
            print(f"== {name}", file=sys.stderr)
            rows += run_scenario(name, args, steps, lag, contacts, workdir)
        print(f"== the reference design's table ({perf_contacts} contacts, 10 changed)",
              file=sys.stderr)
        perf = perf_table(perf_contacts, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_reports(out, rows, perf, contacts, perf_contacts)
    return 0


def write_reports(out, rows, perf, contacts, perf_contacts):
    with open(os.path.join(out, "fidelity.csv"), "w") as f:
        f.write("scenario,engine,lost,invented,calls,failed_runs,associations,note\n")
        for r in rows:
            f.write(f"\"{r['scenario']}\",{r['engine']},{r['lost']},{r['invented']},{r['calls']},"
                    f"{r['failed_runs']},{r['associations']},\"{r['note']}\"\n")
    names = [e for e, _ in ENGINES]
    by = {(r["scenario"], r["engine"]): r for r in rows}
    scenarios = [s for s, *_ in SCENARIOS]
    md = [f"Portal: {contacts} contacts, {contacts // 5} companies, {contacts // 2} deals; "
          f"tables {', '.join(TABLES)}. Each cell: associations lost / invented after the "
          f"runs, and API calls spent from the scenario's first step on.", "",
          "| scenario | " + " | ".join(names) + " |",
          "|---|" + "---|" * len(names)]
    for s in scenarios:
        cells = []
        for n in names:
            r = by[(s, n)]
            c = f"{r['lost']} / {r['invented']}, {r['calls']} calls"
            if r["failed_runs"]:
                c += f" ({r['failed_runs']} runs exit 1)"
            cells.append(c)
        note = by[(s, names[0])]["note"]
        md.append(f"| {s}{' (' + note + ')' if note else ''} | " + " | ".join(cells) + " |")
    md += ["", f"The reference design's table, measured ({perf_contacts} contacts, "
           f"contacts_deals, 10 changed contacts):", "",
           "| engine | full scan calls | incremental calls |", "|---|---|---|"]
    for p in perf:
        md.append(f"| {p['engine']} | {p['full']} | {p['incremental']} |")
    open(os.path.join(out, "fidelity.md"), "w").write("\n".join(md) + "\n")
    with open(os.path.join(out, "fidelity.dat"), "w") as f:
        f.write("# scenario " + " ".join(names) + "  (lost + invented)\n")
        for k, s in enumerate(scenarios):
            f.write(f"{k} \"{s}\" " + " ".join(str(by[(s, n)]["lost"] + by[(s, n)]["invented"])
                                                 for n in names) + "\n")
    subprocess.run(["gnuplot", "-e", f"datafile='{out}/fidelity.dat'; outfile='{out}/fidelity.png'",
                    "scripts/fidelity.gp"], check=True)
    print("\n".join(md))
    print(f"\nwrote {out}/fidelity.md, {out}/fidelity.csv, {out}/fidelity.png")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
