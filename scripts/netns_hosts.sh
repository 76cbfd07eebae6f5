#!/usr/bin/env bash
# Three private "machines" on this one, for the multi-machine part of CLUSTERING.md: network
# namespaces kvhost1..3 joined by a bridge, at 10.203.0.1-3, each with /etc/netns/<ns>/hosts
# naming host1..host3. Nothing is reachable from outside this machine. Needs root and iproute2.
#
#   scripts/netns_hosts.sh up      # create (idempotent: removes any leftovers first)
#   scripts/netns_hosts.sh down    # remove
set -euo pipefail

hosts=(1 2 3)
bridge=kvbr0

down() {
    for k in "${hosts[@]}"; do
        ip netns pids "kvhost$k" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "kvhost$k" 2>/dev/null || true
        rm -rf "/etc/netns/kvhost$k"
    done
    ip link del "$bridge" 2>/dev/null || true
}

up() {
    down
    ip link add "$bridge" type bridge
    ip link set "$bridge" up
    for k in "${hosts[@]}"; do
        ns="kvhost$k"
        ip netns add "$ns"
        ip link add "kvveth$k" type veth peer name eth0 netns "$ns"
        ip link set "kvveth$k" master "$bridge" up
        ip -n "$ns" addr add "10.203.0.$k/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        mkdir -p "/etc/netns/$ns"
        {
            echo "127.0.0.1 localhost"
            for j in "${hosts[@]}"; do echo "10.203.0.$j host$j"; done
        } > "/etc/netns/$ns/hosts"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
