#!/usr/bin/env python3
"""What one record costs the replicas and the database, for scripts/bench.sh's
arms c_lb_sqlite and c_pg_1..3 (issue 19). Two commands:

  replica_costs.py snapshot --out FILE [--pid NAME=PID]... [--admin NAME=PORT]...
                            [--pg-dir DIR --pg-db DB]
      Writes a JSON snapshot: each PID's CPU seconds (utime + stime, from
      /proc/PID/stat, all its threads); each gateway's counters from its admin
      /metrics (records submitted, store group commits and the seconds in
      them); and, with --pg-dir, the PostgreSQL server's figures: the CPU
      seconds of the postmaster and all its processes (utime + stime +
      cutime + cstime of the postmaster, whose c-times hold every child it
      has reaped, plus the same of each live child: backends, WAL writer,
      checkpointer...; a backend that exits inside the window is counted
      once, by the postmaster), pg_current_wal_lsn(), database DB's size
      and its row of pg_stat_database, the server's pg_stat_wal, and DB's
      statements in pg_stat_statements if the extension is loaded (in
      database postgres). The queries connect as
      postgres to database `postgres`, so they are not counted against DB.

  replica_costs.py costs --label L --replicas N --store S --before F
                         --gateways-after F [--pg-after F] [--pg-dir DIR]
      Prints one JSON line: the differences, and each a record (records =
      the senders' "submitted" counters, summed); with --pg-db, also each
      table of the database as the arm left it (it starts empty): its size,
      rows and the bytes of its live rows, each a record.

Every query and HTTP request has a timeout (30 s and 5 s).
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

PSQL = "/usr/lib/postgresql/15/bin/psql"
TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # The command name is in parentheses and may hold spaces.
    return data[data.rindex(")") + 2:].split()


def cpu_seconds(pid, with_children=False):
    f = stat_fields(pid)  # f[0] is field 3 (state); utime is field 14
    ticks = int(f[11]) + int(f[12])
    if with_children:
        ticks += int(f[13]) + int(f[14])
    return ticks / TICK


def tree_cpu_seconds(root_pid):
    total = cpu_seconds(root_pid, with_children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            f = stat_fields(entry)
            if int(f[1]) == root_pid:  # f[1] is field 4, the parent's pid
                total += cpu_seconds(entry, with_children=True)
        except (OSError, ValueError):
            continue  # exited meanwhile: the postmaster now holds its time
    return total


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {"submitted": 0.0, "store_commits": 0.0, "store_commit_seconds": 0.0}
    for line in text.splitlines():
        if line.startswith("gatehouse_records_total{") and 'direction="outbound"' in line \
                and 'outcome="submitted"' in line:
            out["submitted"] += float(line.split()[-1])
        elif line.startswith("gatehouse_store_commits_total "):
            out["store_commits"] = float(line.split()[-1])
        elif line.startswith("gatehouse_store_commit_seconds_total "):
            out["store_commit_seconds"] = float(line.split()[-1])
    return out


def psql(pg_dir, sql):
    r = subprocess.run([PSQL, f"host={pg_dir} dbname=postgres user=postgres", "-X", "-q", "-A",
                        "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout.strip()


DB_COLUMNS = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned",
              "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted")
WAL_COLUMNS = ("wal_records", "wal_fpi", "wal_bytes", "wal_write", "wal_sync",
               "wal_write_time", "wal_sync_time")


def pg_tables(pg_dir, db):
    """Each table of DB: its size with indexes and TOAST, its live rows and
    their bytes (pg_column_size of each row), read in DB itself."""
    def q(sql):
        r = subprocess.run([PSQL, f"host={pg_dir} dbname={db} user=postgres", "-X", "-q", "-A",
                            "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=120, check=True)
        return r.stdout.strip()
    out = []
    for name in q("SELECT relname FROM pg_stat_user_tables ORDER BY relname").split():
        size, rows, live = q(f"SELECT pg_total_relation_size('{name}'), count(*), "
                             f"coalesce(sum(pg_column_size(t.*)), 0) FROM {name} t").split("\t")
        out.append({"table": name, "bytes": int(size), "rows": int(rows), "row_bytes": int(live)})
    return out


def pg_snapshot(pg_dir, db):
    with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
        postmaster = int(f.readline())
    row = psql(pg_dir, f"SELECT {', '.join(DB_COLUMNS)} FROM pg_stat_database "
                       f"WHERE datname = '{db}'").split("\t")
    wal = psql(pg_dir, f"SELECT {', '.join(WAL_COLUMNS)} FROM pg_stat_wal").split("\t")
    statements = []
    if psql(pg_dir, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == "1":
        rows = psql(pg_dir, "SELECT calls, total_exec_time, "
                            "regexp_replace(left(query, 160), '\\s+', ' ', 'g') "
                            "FROM pg_stat_statements WHERE dbid = "
                            f"(SELECT oid FROM pg_database WHERE datname = '{db}') "
                            "ORDER BY calls DESC")
        for line in rows.splitlines():
            calls, ms, query = line.split("\t", 2)
            statements.append({"calls": int(calls), "total_ms": float(ms), "query": query})
    return {
        "statements": statements,
        "server_cpu_s": tree_cpu_seconds(postmaster),
        "lsn": psql(pg_dir, "SELECT pg_current_wal_lsn()"),
        "db_bytes": float(psql(pg_dir, f"SELECT pg_database_size('{db}')")),
        "db": {k: float(v) for k, v in zip(DB_COLUMNS, row)} if row != [""] else {},
        "wal": {k: float(v) for k, v in zip(WAL_COLUMNS, wal)},
    }


def snapshot(a):
    snap = {"t": time.monotonic(), "cpu": {}, "metrics": {}}
    for item in a.pid:
        name, pid = item.split("=", 1)
        snap["cpu"][name] = cpu_seconds(int(pid))
    for item in a.admin:
        name, port = item.split("=", 1)
        snap["metrics"][name] = metrics(port)
    if a.pg_dir:
        snap["pg"] = pg_snapshot(a.pg_dir, a.pg_db)
    with open(a.out, "w") as f:
        json.dump(snap, f)


def per(x, n, scale=1.0):
    return round(x * scale / n, 3) if n else None


def costs(a):
    with open(a.before) as f:
        before = json.load(f)
    with open(a.gateways_after) as f:
        after = json.load(f)
    seconds = after["t"] - before["t"]
    senders = []
    for name, m in after["metrics"].items():
        b = before["metrics"].get(name, {})
        d = {k: m[k] - b.get(k, 0.0) for k in m}
        cpu = after["cpu"][name] - before["cpu"][name]
        senders.append({"name": name, "records": int(d["submitted"]), "cpu_s": round(cpu, 3),
                        "cpu_us_per_own_record": per(cpu, d["submitted"], 1e6),
                        "store_commits": int(d["store_commits"]),
                        "commit_s": round(d["store_commit_seconds"], 6),
                        "commit_ms_mean": per(d["store_commit_seconds"], d["store_commits"], 1e3)})
    records = sum(s["records"] for s in senders)
    cpu = {k: after["cpu"][k] - before["cpu"][k] for k in after["cpu"]}
    sender_cpu = sum(s["cpu_s"] for s in senders)
    commits = sum(s["store_commits"] for s in senders)
    out = {
        "label": a.label, "replicas": a.replicas, "store": a.store,
        "window_s": round(seconds, 3), "records": records,
        "records_per_s": round(records / seconds, 1) if seconds > 0 else None,
        "senders": senders,
        "sender_cpu_s": round(sender_cpu, 3),
        "sender_cpu_us_per_record": per(sender_cpu, records, 1e6),
        "receiver_cpu_us_per_record": per(cpu.get("receiver", 0.0), records, 1e6),
        "haproxy_cpu_us_per_record": per(cpu.get("haproxy", 0.0), records, 1e6),
        "store_commits_per_record": per(commits, records),
        "commit_ms_mean": per(sum(s["commit_s"] for s in senders), commits, 1e3),
    }
    if a.pg_after:
        with open(a.pg_after) as f:
            pg_after = json.load(f)["pg"]
        pg_before = before["pg"]
        db = {k: pg_after["db"].get(k, 0.0) - pg_before["db"].get(k, 0.0) for k in pg_after["db"]}
        wal = {k: pg_after["wal"][k] - pg_before["wal"][k] for k in pg_after["wal"]}
        wal_bytes = float(psql(a.pg_dir, f"SELECT pg_wal_lsn_diff('{pg_after['lsn']}', "
                                         f"'{pg_before['lsn']}')"))
        server_cpu = pg_after["server_cpu_s"] - pg_before["server_cpu_s"]
        xacts = db.get("xact_commit", 0.0) + db.get("xact_rollback", 0.0)
        out["pg"] = {
            "server_cpu_s": round(server_cpu, 3),
            "server_cpu_us_per_record": per(server_cpu, records, 1e6),
            "xacts": int(xacts), "xacts_per_record": per(xacts, records),
            "rollbacks": int(db.get("xact_rollback", 0.0)),
            "wal_bytes": int(wal_bytes), "wal_bytes_per_record": per(wal_bytes, records),
            "db_growth_bytes_per_record": per(pg_after["db_bytes"] - pg_before["db_bytes"], records),
            "tables": [{"table": t["table"], "bytes_per_record": per(t["bytes"], records),
                        "rows_per_record": per(t["rows"], records),
                        "row_bytes_per_record": per(t["row_bytes"], records)}
                       for t in pg_tables(a.pg_dir, a.pg_db) if t["rows"] or t["bytes"] > 16384],
            "wal_records_per_record": per(wal["wal_records"], records),
            "wal_fpi": int(wal["wal_fpi"]),
            "wal_syncs": int(wal["wal_sync"]), "wal_syncs_per_record": per(wal["wal_sync"], records),
            "wal_sync_ms_mean": per(wal["wal_sync_time"], wal["wal_sync"]),
            "blks_read_per_record": per(db.get("blks_read", 0.0), records),
            "tuples_written_per_record": per(db.get("tup_inserted", 0.0) + db.get("tup_updated", 0.0)
                                             + db.get("tup_deleted", 0.0), records),
        }
        # pg_stat_statements (BENCH_PG_STATEMENTS=1): reset before the arm,
        # so the counts are the arm's.
        st = pg_after.get("statements", [])
        if st:
            lock = [x for x in st if "pg_advisory_xact_lock" in x["query"]]
            out["pg"]["statements"] = {
                "per_record": per(sum(x["calls"] for x in st), records),
                "exec_ms_per_record": per(sum(x["total_ms"] for x in st), records),
                "commit_order_lock_calls": sum(x["calls"] for x in lock),
                "commit_order_lock_wait_ms_mean": per(sum(x["total_ms"] for x in lock),
                                                      sum(x["calls"] for x in lock)),
                "top": [{"query": x["query"], "calls_per_record": per(x["calls"], records),
                         "mean_ms": per(x["total_ms"], x["calls"])} for x in st[:15]],
            }
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--out", required=True)
    s.add_argument("--pid", action="append", default=[])
    s.add_argument("--admin", action="append", default=[])
    s.add_argument("--pg-dir", default="")
    s.add_argument("--pg-db", default="")
    c = sub.add_parser("costs")
    c.add_argument("--label", required=True)
    c.add_argument("--replicas", type=int, required=True)
    c.add_argument("--store", required=True)
    c.add_argument("--before", required=True)
    c.add_argument("--gateways-after", required=True)
    c.add_argument("--pg-after", default="")
    c.add_argument("--pg-dir", default="")
    c.add_argument("--pg-db", default="")
    a = ap.parse_args()
    try:
        snapshot(a) if a.cmd == "snapshot" else costs(a)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        print(f"replica_costs: {a.cmd}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
