#!/usr/bin/env python3
"""Large-state stability benchmark: a 3-node keyvald cluster with a large state must keep its
leader under a steady write load while every node takes snapshots.

It starts a fresh cluster on loopback with the default snapshot threshold, preloads --keys
distinct keys (1,000,000 by default) with batched `POST /key` requests of --batch keys each,
then runs keyval-bench with --clients writers (64) for --duration (60 s) over those keys, while
a watcher asks every node's /status ten times a second. It prints:

  * leader changes during the load: (term, leader) pairs seen after the first (must be 0);
  * snapshots taken during the load, counted from the nodes' logs;
  * keyval-bench's summary: writes/s, p50/p99/max latency, errors.

Exit status 1 when the leader changed, a write failed, or nothing was written. Standard library
only.

    swift build -c release --product keyvald --product keyval-bench
    scripts/large_state_bench.py --bin .build/release
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from failover_bench import Node, agreed_leader, wait_for


def preload(nodes, leader, keys, batch, threads, value_size):
    value = "v" * value_size

    def send(start):
        body = json.dumps({f"bench-key-{k}": value for k in range(start, min(start + batch, keys))})
        for attempt in range(50):
            try:
                code, answer = leader.request("POST", "/key", body, timeout=30)
                if code == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"preloading keys {start}...: {code} {answer[:200]!r}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, range(0, keys, batch)))
    return time.monotonic() - started


def watch_leaders(nodes, stop, seen):
    """Records every (term, leader) any node reports, in the order first seen."""
    while not stop.is_set():
        for node in nodes:
            status = node.status()
            if status and status.get("leader"):
                pair = (status["term"], status["leader"]["id"])
                if pair not in seen:
                    seen.append(pair)
        time.sleep(0.1)


def count_in_logs(nodes, root, text):
    total = 0
    for node in nodes:
        with open(os.path.join(root, node.name + ".log"), "rb") as f:
            total += f.read().decode(errors="replace").count(text)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release", help="folder with keyvald and keyval-bench")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1_000, help="keys per preload request")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", default="60s")
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    parser.add_argument("extra", nargs="*", help="extra keyvald flags, after --")
    args = parser.parse_args()
    binary = os.path.abspath(os.path.join(args.bin, "keyvald"))
    bench = os.path.abspath(os.path.join(args.bin, "keyval-bench"))

    root = tempfile.mkdtemp(prefix="keyvald-large-state-")
    nodes = [Node(binary, root, f"node{i}", args.extra) for i in range(3)]
    try:
        nodes[0].start()
        wait_for(lambda: (nodes[0].status() or {}).get("role") == "leader", 20, "node0 to lead")
        for n in nodes[1:]:
            n.start(join=nodes[0])
        wait_for(lambda: len((nodes[0].status() or {}).get("voters", [])) == 3, 60, "the joins")
        leader = wait_for(lambda: agreed_leader(nodes), 20, "a leader all agree on")

        seconds = preload(nodes, leader, args.keys, args.batch, 4, args.value_size)
        print(f"preloaded {args.keys} keys in {seconds:.1f} s ({args.keys / seconds:,.0f} keys/s)", flush=True)
        wait_for(
            lambda: all((n.status() or {}).get("applied_index", 0) >= leader.status()["commit_index"] for n in nodes),
            120, "every node to apply the preload")
        snapshots_before = count_in_logs(nodes, root, "snapshot taken")

        seen = []
        stop = threading.Event()
        watcher = threading.Thread(target=watch_leaders, args=(nodes, stop, seen), daemon=True)
        watcher.start()
        time.sleep(0.3)
        addresses = ",".join(f"127.0.0.1:{n.http}" for n in nodes)
        run = subprocess.run(
            [bench, "--nodes", addresses, "--clients", str(args.clients), "--keys", str(args.keys),
             "--workload", "write", "--duration", args.duration, "--value-size", str(args.value_size),
             "--prefix", "bench-", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stop.set()
        watcher.join()
        summary = json.loads(run.stdout)
        snapshots = count_in_logs(nodes, root, "snapshot taken") - snapshots_before
        changes = max(0, len(seen) - 1)

        print(f"load: {args.clients} writers for {args.duration} over {args.keys} keys")
        print(f"leader changes during the load: {changes} {seen if changes else ''}")
        print(f"snapshots taken during the load (all nodes): {snapshots}")
        write = summary["latency_ms"]["write"]
        print(f"writes: {summary['writes']} ({summary['writes_per_s']:,.0f}/s), errors: {summary['errors']} "
              f"{ {k: v for k, v in summary['errors_by_kind'].items() if v} or ''}")
        print("write latency (ms): " + ", ".join(f"{k} {v}" for k, v in write.items()))
        ok = changes == 0 and run.returncode == 0 and summary["errors"] == 0 and summary["writes"] > 0
        return 0 if ok else 1
    finally:
        for n in nodes:
            n.kill()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
