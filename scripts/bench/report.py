#!/usr/bin/env python3
"""Turns one scripts/bench.sh run into docs/benchmarks/e2e.json and e2e.md.

Input: the ghbench JSON lines of the run (one per arm, with its label) and a
directory of component benchmark outputs (NAME.json from Google Benchmark,
or NAME.txt from any other program). Ratios are taken only between arms of
this same run.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess

ARMS = {
    "a": "ghbench → echo_server (bare gRPC, mTLS)",
    "b": "ghbench → nginx → echo_server",
    "a_relay": "ghbench → echo_server (relay) → echo_server: (b)'s two hops on our gRPC stack",
    "a_relay_half": "as a_relay at 1 KiB, open loop at c_half's calls/s: two hops alone at half load",
    "a_relay_idle": "as a_relay at 1 KiB, open loop at 50 calls/s: two hops' latency floor",
    "c_1k": "ghbench → gatehoused → gatehoused, Submit 1 KiB",
    "c_64k": "ghbench → gatehoused → gatehoused, Submit 64 KiB",
    "c_half": "as c_1k, open loop at half of c_1k's calls/s",
    "c_idle": "as c_1k, open loop at 50 calls/s: the path's latency floor",
    "c_1k_nofsync": "diagnostic: as c_1k with fsync a no-op (libeatmydata); not a valid setup",
    "c_half_nofsync": "diagnostic: as c_half with fsync a no-op; not a valid setup",
    "c_idle_nofsync": "diagnostic: as c_idle with fsync a no-op; not a valid setup",
    "c_lb_sqlite": "ghbench → HAProxy (TCP) → gatehoused on SQLite → gatehoused, Submit 1 KiB",
    "c_pg_1": "as c_lb_sqlite, the sender 1 replica on PostgreSQL",
    "c_pg_2": "as c_lb_sqlite, the sender 2 replicas on one PostgreSQL database",
    "c_pg_3": "as c_lb_sqlite, the sender 3 replicas on one PostgreSQL database",
}


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "kernel": platform.system() + " " + platform.release(),
            "os": _os_release()}


def _os_release():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def load_arms(path):
    arms = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                arms[r.get("label", "")] = r
    return arms


def load_components(d):
    out = []
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.endswith(".json"):
            try:
                with open(p) as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                out.append({"name": name[:-5], "error": str(e)})
                continue
            rows = []
            for b in data.get("benchmarks", []):
                rows.append({k: b.get(k) for k in (
                    "name", "real_time", "cpu_time", "time_unit", "iterations",
                    "items_per_second", "bytes_per_second") if k in b})
            out.append({"name": name[:-5], "format": "google-benchmark", "benchmarks": rows})
        elif name.endswith(".txt"):
            with open(p, errors="replace") as f:
                out.append({"name": name[:-4], "format": "text", "output": f.read()[-6000:]})
    return out


def server_side(arm):
    """CPU cores, CPU µs per call and peak RSS summed over watched processes."""
    w = [x for x in arm.get("watched", []) if "cores" in x]
    return (sum(x["cores"] for x in w), sum(x["us_per_call"] for x in w),
            max([x["peak_rss_kib"] for x in w] or [0]))


def fmt(v, spec=".0f"):
    return "n/a" if v is None else format(v, spec)


def replica_section(replicas, arms):
    """The replica arms' costs a record (issue 19): two tables and notes."""
    L = ["\n## One organisation as replicas on PostgreSQL (issue 19)\n",
         "The sending organisation (council-a) behind HAProxy in TCP mode, as one gateway on "
         "SQLite (c_lb_sqlite) and as 1, 2 and 3 gatehoused replicas sharing one PostgreSQL 15 "
         "database (c_pg_N); the receiver is one gateway on SQLite throughout. Everything runs "
         "on the same cores as the load, so more replicas cannot mean more throughput here: "
         "read the costs a record, not the calls/s. Costs are over the arm's whole load "
         "(warm-up included) divided by the records the senders counted (*records*); "
         "PostgreSQL's figures end once the replicas have stopped and their backends have "
         "handed over their statistics.\n",
         "| arm | senders | calls/s | p50 ms | p99 ms | records | senders' CPU µs/record | "
         "each sender: µs a record of its own (its records) | receiver µs/record | "
         "HAProxy µs/record | PostgreSQL CPU µs/record | senders + PostgreSQL µs/record |",
         "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in replicas:
        g = arms.get(r["label"], {})
        lat = g.get("latency_us", {})
        pg = r.get("pg", {})
        each = "; ".join(f"{s['name']} {fmt(s['cpu_us_per_own_record'])} ({s['records']})"
                         for s in r["senders"])
        total = None
        if r.get("sender_cpu_us_per_record") is not None:
            total = r["sender_cpu_us_per_record"] + (pg.get("server_cpu_us_per_record") or 0)
        who = f"{r['replicas']} on PostgreSQL" if r["store"] == "postgres" else "1 on SQLite"
        L.append(f"| {r['label']} | {who} | {fmt(g.get('throughput_per_s'))} | "
                 f"{fmt(lat.get('p50', 0) / 1000 if lat else None, '.2f')} | "
                 f"{fmt(lat.get('p99', 0) / 1000 if lat else None, '.2f')} | {r['records']} | "
                 f"{fmt(r.get('sender_cpu_us_per_record'))} | {each} | "
                 f"{fmt(r.get('receiver_cpu_us_per_record'))} | "
                 f"{fmt(r.get('haproxy_cpu_us_per_record'))} | "
                 f"{fmt(pg.get('server_cpu_us_per_record')) if pg else '—'} | "
                 f"{fmt(total) if pg else '—'} |")
    L.append("")
    L.append("Database work a record (*write groups* = the senders' store group commits, each "
             "one transaction under the commit order lock; *transactions* = pg_stat_database "
             "xact_commit + xact_rollback of the arm's database: write groups, delivery claims, "
             "reads and the integrator's; *WAL* = pg_wal_lsn_diff of pg_current_wal_lsn() "
             "around the arm; *WAL syncs* = pg_stat_wal.wal_sync):\n")
    L.append("| arm | write groups/record | mean write group ms | transactions/record | "
             "rollbacks | tuples written/record | WAL bytes/record | WAL records/record | "
             "full-page images | WAL syncs/record | mean WAL sync ms | database growth bytes/record |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in replicas:
        pg = r.get("pg")
        if not pg:
            L.append(f"| {r['label']} | {fmt(r.get('store_commits_per_record'), '.3f')} | "
                     f"{fmt(r.get('commit_ms_mean'), '.2f')} | — | — | — | — | — | — | — | — | — |")
            continue
        L.append(f"| {r['label']} | {fmt(r.get('store_commits_per_record'), '.3f')} | "
                 f"{fmt(r.get('commit_ms_mean'), '.2f')} | {fmt(pg['xacts_per_record'], '.2f')} | "
                 f"{pg['rollbacks']} | {fmt(pg['tuples_written_per_record'], '.2f')} | "
                 f"{fmt(pg['wal_bytes_per_record'])} | {fmt(pg['wal_records_per_record'], '.1f')} | "
                 f"{pg['wal_fpi']} | {fmt(pg['wal_syncs_per_record'], '.3f')} | "
                 f"{fmt(pg['wal_sync_ms_mean'], '.2f')} | "
                 f"{fmt(pg.get('db_growth_bytes_per_record'))} |")
    with_tables = [r for r in replicas if r.get("pg", {}).get("tables")]
    if with_tables:
        L.append("")
        L.append("Where the database's bytes are when the arm ends (it starts empty; dead row "
                 "versions not yet vacuumed included in the size), each a record: "
                 "table size with indexes and TOAST / rows / bytes of the live rows "
                 "(tables under 0.01 rows and 50 B a record left out).\n")
        for r in with_tables:
            L.append(f"- {r['label']}: " + "; ".join(
                f"{t['table']} {fmt(t['bytes_per_record'])} B / {fmt(t['rows_per_record'], '.2f')} / "
                f"{fmt(t['row_bytes_per_record'])} B" for t in r["pg"]["tables"]
                if (t["rows_per_record"] or 0) >= 0.01 or (t["bytes_per_record"] or 0) >= 50))
    with_statements = [r for r in replicas if r.get("pg", {}).get("statements")]
    if with_statements:
        L.append("")
        L.append("Statements (BENCH_PG_STATEMENTS=1, pg_stat_statements; a diagnostic that adds "
                 "its own cost): each a record, with its mean execution time on the server. The "
                 "commit order lock's time is the wait for it.\n")
        L.append("| arm | statements/record | server ms/record | commit order lock: calls, "
                 "mean wait ms | most frequent (calls/record, mean ms) |")
        L.append("|---|---:|---:|---|---|")
        for r in with_statements:
            st = r["pg"]["statements"]
            top = "; ".join(f"`{x['query'][:60]}` {fmt(x['calls_per_record'], '.2f')}, "
                            f"{fmt(x['mean_ms'], '.3f')}" for x in st["top"][:8])
            L.append(f"| {r['label']} | {fmt(st['per_record'], '.1f')} | "
                     f"{fmt(st['exec_ms_per_record'], '.3f')} | {st['commit_order_lock_calls']}, "
                     f"{fmt(st['commit_order_lock_wait_ms_mean'], '.3f')} | {top} |")
    L.append("")
    L.append("For c_lb_sqlite the write groups are the SQLite store's commits alone (its audit "
             "log commits on its own); on PostgreSQL the audit entries are in the same groups. "
             "The capacity model these costs give: docs/SCALING.md.")
    return L


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--components", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--fsync", default="")
    ap.add_argument("--replicas", default="")
    ap.add_argument("--nginx-version", default="")
    ap.add_argument("--git", default="")
    ap.add_argument("--json-out", required=True)
    ap.add_argument("--md-out", required=True)
    a = ap.parse_args()

    arms = load_arms(a.results)
    comps = load_components(a.components)
    fsync = []
    if a.fsync and os.path.exists(a.fsync):
        with open(a.fsync) as f:
            fsync = [json.loads(x) for x in f if x.strip().startswith("{")]
    replicas = []
    if a.replicas and os.path.exists(a.replicas):
        with open(a.replicas) as f:
            replicas = [json.loads(x) for x in f if x.strip().startswith("{")]
    tp = {k: v.get("throughput_per_s") for k, v in arms.items()}
    ratios = {
        "c_1k_over_b": ratio(tp.get("c_1k"), tp.get("b")),
        "c_1k_over_a": ratio(tp.get("c_1k"), tp.get("a")),
        "b_over_a": ratio(tp.get("b"), tp.get("a")),
        "a_relay_over_b": ratio(tp.get("a_relay"), tp.get("b")),
        "c_1k_over_a_relay": ratio(tp.get("c_1k"), tp.get("a_relay")),
        "c_64k_over_c_1k": ratio(tp.get("c_64k"), tp.get("c_1k")),
    }
    if "c_1k_nofsync" in tp:
        ratios["c_1k_nofsync_over_c_1k"] = ratio(tp.get("c_1k_nofsync"), tp.get("c_1k"))
    half = arms.get("c_half", {})
    gw_peak_mib = max([x.get("peak_rss_kib", 0) for k in ("c_1k", "c_64k", "c_half")
                       for x in arms.get(k, {}).get("watched", [])] or [0]) / 1024
    goals = [
        ("(c) 1 KiB ≥ (b) nginx", ratios["c_1k_over_b"], ">= 1.0",
         ratios["c_1k_over_b"] is not None and ratios["c_1k_over_b"] >= 1.0),
        ("(c) 1 KiB ≥ 40% of (a)", ratios["c_1k_over_a"], ">= 0.40",
         ratios["c_1k_over_a"] is not None and ratios["c_1k_over_a"] >= 0.40),
        ("p99 at half of (c)'s peak < 5 ms (ms)",
         round(half["latency_us"]["p99"] / 1000, 2) if half else None,
         "< 5", bool(half) and half["latency_us"]["p99"] < 5000),
        ("gateway peak RSS < 256 MiB at 64 in flight (MiB)", round(gw_peak_mib, 1), "< 256",
         0 < gw_peak_mib < 256),
    ]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    m = machine()
    doc = {"generated": now, "command": a.command, "git": a.git, "machine": m,
           "nginx": a.nginx_version, "fsync_probe": fsync, "arms": arms, "ratios": ratios,
           "goals": [{"goal": g, "value": v, "target": t, "met": ok} for g, v, t, ok in goals],
           "replicas": replicas,
           "components": comps}
    with open(a.json_out, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")

    L = []
    L.append("# End-to-end benchmark: Gatehouse beside bare gRPC and nginx\n")
    L.append("Generated by `scripts/bench.sh` (issue 7); every figure below comes from one run, "
             "side by side on one machine. Rerun with:\n")
    L.append("```sh\n" + a.command + "\n```\n")
    L.append("Profile the two gateways under the load of arm (c) with `scripts/bench/profile.sh` "
             "(perf, DWARF call graphs) or `scripts/bench/profile.sh --strace` (system calls).\n")
    L.append(f"- When: {now}; source: `{a.git}`")
    L.append(f"- Machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['kernel']}, {m['os']}")
    if a.nginx_version:
        L.append(f"- Peer: {a.nginx_version}")
    L.append("- Transport: gRPC 1.51 over mutual TLS on loopback, callback API on both sides; "
             "ghbench runs on the same cores as the servers.")
    if fsync:
        L.append("- Disk under the gateways' data: " + "; ".join(
            f"{x['per_s']:.0f} fdatasync/s in all with {x.get('streams', 1)} file(s) synced side by side, "
            f"one sync at a time in each (512-byte appends; each sync p50 {x['p50_us']/1000:.2f} ms, "
            f"p99 {x['p99_us']/1000:.2f} ms)" for x in fsync) + " — measured before and after the (c) arms.")
    L.append("- *other load* = machine busy cores minus ghbench and the watched servers: "
             "work by other processes during the window. When it is not near 0 the figures "
             "are noisy. In the c_pg arms PostgreSQL's own processes are not counted as other load.\n")
    L.append("*servers* = every watched process of the arm summed (echo_server; nginx master and workers with echo_server; both gateways; in c_lb_sqlite and c_pg_*, the senders, the receiver and HAProxy, not PostgreSQL: see below); peak RSS is the largest one.\n")
    # PostgreSQL's cores in the replica arms are theirs, not other load.
    db_cores = {r["label"]: r["pg"]["server_cpu_s"] / r["window_s"]
                for r in replicas if r.get("pg") and r.get("window_s")}
    L.append("| arm | path | payload | in flight | calls/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | servers' cores | servers' CPU µs/call | ghbench cores | other load (cores) | servers' peak RSS MiB |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in list(ARMS) + sorted(set(arms) - set(ARMS)):
        r = arms.get(k)
        if not r:
            continue
        cores, us, rss = server_side(r)
        lat = r["latency_us"]
        other = r["cpu"]["machine_busy_cores"] - r["cpu"]["self_cores"] - cores - db_cores.get(k, 0)
        inflight = str(r["concurrency"]) if not r.get("rate") else f"≤{r['concurrency']} @ {r['rate']:.0f}/s"
        errs = r["errors"]
        if r.get("errors_by_code"):
            errs = ", ".join(f"{c} {n}" for c, n in r["errors_by_code"].items())
        L.append(f"| {k} | {ARMS.get(k, k)} | {r['payload_bytes']} B | {inflight} | "
                 f"{r['throughput_per_s']:.0f} | {lat['p50']/1000:.2f} | {lat['p90']/1000:.2f} | "
                 f"{lat['p99']/1000:.2f} | {lat['p999']/1000:.2f} | {errs} | {cores:.2f} | {us:.0f} | "
                 f"{r['cpu']['self_cores']:.2f} | {max(other, 0):.2f} | {rss/1024:.1f} |")
    noisy = [k for k, r in arms.items()
             if r["cpu"]["machine_busy_cores"] - r["cpu"]["self_cores"] - server_side(r)[0]
             - db_cores.get(k, 0) > 0.25]
    if noisy:
        L.append("")
        L.append(f"**Noisy run:** other processes used more than 0.25 cores during arm(s) "
                 f"{', '.join(noisy)}; treat those figures as lower bounds and rerun on a quiet machine.")
    L.append("")
    L.append("Per watched process (CPU in the window, peak RSS since start):\n")
    for k, r in arms.items():
        for w in r.get("watched", []):
            if "cores" in w:
                L.append(f"- {k}: pid {w['pid']} {w['name']}: {w['cores']:.2f} cores, "
                         f"{w['us_per_call']:.0f} µs CPU/call, peak RSS {w['peak_rss_kib']/1024:.1f} MiB, "
                         f"{w['threads']} threads")
        if r.get("responses"):
            L.append(f"- {k}: receipts " + ", ".join(f"{s} {n}" for s, n in r["responses"].items()))
        for c, msg in r.get("first_error", {}).items():
            L.append(f"- {k}: first {c}: {msg}")
    if replicas:
        L += replica_section(replicas, arms)
    L.append("\n## Ratios (same run)\n")
    L.append("| ratio | value |\n|---|---:|")
    for name, v in ratios.items():
        L.append(f"| {name} | {v if v is not None else 'n/a'} |")
    L.append("\n## Goals of issue 7\n")
    L.append("| goal | measured | target | met |\n|---|---:|---|---|")
    for g, v, t, ok in goals:
        L.append(f"| {g} | {v if v is not None else 'n/a'} | {t} | {'yes' if ok else 'no'} |")
    L.append("\n## Component benchmarks\n")
    if not comps:
        L.append("None found in the build directory (executables named `*_bench`, "
                 "`*_benchmark` or `bench_*`).")
    for c in comps:
        L.append(f"### {c['name']}\n")
        if c.get("format") == "google-benchmark":
            L.append("| benchmark | time | unit | items/s |\n|---|---:|---|---:|")
            for b in c["benchmarks"]:
                ips = b.get("items_per_second")
                L.append(f"| {b.get('name')} | {b.get('real_time', 0):.1f} | {b.get('time_unit', '')} | "
                         f"{ips:.0f} |" if ips else
                         f"| {b.get('name')} | {b.get('real_time', 0):.1f} | {b.get('time_unit', '')} | |")
        elif c.get("format") == "text":
            L.append("```\n" + c["output"].rstrip() + "\n```")
        else:
            L.append(f"error: {c.get('error')}")
        L.append("")
    with open(a.md_out, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
