#!/usr/bin/env python3
"""Failover benchmark: how long after `kill -9` of the leader a 3-node keyvald cluster accepts
writes again.

Each trial starts a fresh cluster on loopback (node0 bootstraps, node1 and node2 join), waits
until all three agree on a leader, keeps writers busy against the two nodes that will survive
(each write is forwarded to the leader), SIGKILLs the leader's process, and records:

  * kill -> new leader: the first time a survivor reports itself leader in GET /status;
  * kill -> first write: the first write *sent after the kill* that succeeded.

Then it restarts the killed node and checks it catches up. Prints one line per trial and the
median, minimum and maximum. Standard library only.

    swift build -c release --product keyvald
    scripts/failover_bench.py --keyvald .build/release/keyvald --trials 10
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary, root, name, extra):
        self.binary, self.name, self.extra = binary, name, extra
        self.http, self.raft = free_port(), free_port()
        self.data = os.path.join(root, name)
        self.log = open(os.path.join(root, name + ".log"), "ab")
        self.proc = None

    def start(self, join=None):
        args = [self.binary, "-id", self.name, "-haddr", f"127.0.0.1:{self.http}", "-raddr", f"127.0.0.1:{self.raft}"]
        if join:
            args += ["-join", f"127.0.0.1:{join.http}"]
        self.proc = subprocess.Popen(args + self.extra + [self.data], stdout=self.log, stderr=self.log)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)

    def request(self, method, path, body=None, timeout=1.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def status(self):
        try:
            code, body = self.request("GET", "/status", timeout=0.5)
            return json.loads(body) if code == 200 else None
        except (OSError, ValueError):
            return None


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def agreed_leader(nodes):
    statuses = [n.status() for n in nodes]
    if any(s is None or s.get("leader") is None for s in statuses):
        return None
    ids = {s["leader"]["id"] for s in statuses}
    if len(ids) != 1:
        return None
    leader = next(n for n in nodes if n.name == ids.pop())
    return leader if (leader.status() or {}).get("role") == "leader" else None


def trial(binary, extra, writers):
    root = tempfile.mkdtemp(prefix="keyvald-failover-")
    nodes = [Node(binary, root, f"node{i}", extra) for i in range(3)]
    try:
        nodes[0].start()
        wait_for(lambda: (nodes[0].status() or {}).get("role") == "leader", 20, "node0 to lead")
        for n in nodes[1:]:
            n.start(join=nodes[0])
        wait_for(lambda: len((nodes[0].status() or {}).get("members", [])) == 3, 30, "the joins")
        leader = wait_for(lambda: agreed_leader(nodes), 20, "a leader all agree on")
        survivors = [n for n in nodes if n is not leader]

        killed_at = None
        first_write = None
        acknowledged = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(k):
            nonlocal first_write
            seq = 0
            while not stop.is_set():
                node = survivors[(k + seq) % len(survivors)]
                key = f"w{k}-{seq}"
                seq += 1
                sent = time.monotonic()
                try:
                    code, _ = node.request("POST", "/key", json.dumps({key: "x"}), timeout=0.2)
                except OSError:
                    code = None
                if code == 200:
                    with lock:
                        acknowledged.append(key)
                        if killed_at is not None and sent >= killed_at and first_write is None:
                            first_write = time.monotonic()
                else:
                    time.sleep(0.005)

        threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(writers)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        with lock:
            killed_at = time.monotonic()
        leader.kill()
        new_leader = wait_for(
            lambda: next((n for n in survivors if (n.status() or {}).get("role") == "leader"), None), 30, "a new leader")
        elected = time.monotonic() - killed_at
        wait_for(lambda: first_write is not None, 30, "a write after the kill")
        stop.set()
        for t in threads:
            t.join()
        # The killed node comes back and catches up; every acknowledged write is on every node.
        leader.start()
        def caught_up():
            ns, ls = leader.status(), new_leader.status()
            return ns and ls and ns["applied_index"] >= ls["commit_index"]
        wait_for(caught_up, 30, "the restarted node to catch up")
        missing = 0
        for key in acknowledged[-50:]:
            for n in nodes:
                code, body = n.request("GET", f"/key/{key}?consistency=stale")
                if code != 200:
                    missing += 1
        if missing:
            raise RuntimeError(f"{missing} acknowledged reads missing after catch-up")
        return elected, first_write - killed_at
    finally:
        for n in nodes:
            n.kill()
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keyvald", default=".build/release/keyvald")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--json", help="write the figures here as JSON")
    parser.add_argument("extra", nargs="*", help="extra keyvald flags, after --")
    args = parser.parse_args()
    results = []
    for k in range(args.trials):
        elected, write = trial(os.path.abspath(args.keyvald), args.extra, args.writers)
        results.append((elected, write))
        print(f"trial {k + 1:2d}: kill -> new leader {elected * 1000:6.0f} ms, kill -> first write {write * 1000:6.0f} ms", flush=True)
    for label, values in (("new leader", [r[0] for r in results]), ("first write", [r[1] for r in results])):
        ms = [v * 1000 for v in values]
        print(f"kill -> {label}: median {statistics.median(ms):.0f} ms, min {min(ms):.0f} ms, max {max(ms):.0f} ms ({len(ms)} trials)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"trials": [{"new_leader_ms": e * 1000, "first_write_ms": w * 1000} for e, w in results]}, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
