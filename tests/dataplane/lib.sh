# Shared helpers for the data plane's integration tests (sourced by the test scripts).
#
# Topology: the data plane runs in its own namespace ($DP_NS) with af_packet on one end of each
# veth pair; the Linux kernel sits in other namespaces ($K1_NS, $K2_NS) with 198.18.0.0/15
# addresses. Offloads are off on the veths so the kernel sends real segments with full checksums
# (ethtool_off.py). Everything created is removed by the EXIT trap, also on failure.
set -euo pipefail

DP_BIN=${1:?usage: $0 PATH_TO_SSTP_DATAPLANE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAG=${TEST_TAG:-dp}$$
DP_NS=sstpt-${TAG}-dp
K1_NS=sstpt-${TAG}-k1
K2_NS=sstpt-${TAG}-k2
WORK=$(mktemp -d /tmp/sstpt-${TAG}.XXXXXX)
# Only matters for a -Dsanitize build: leaks inside PMD libraries are not ours.
export LSAN_OPTIONS="suppressions=$HERE/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
DP_PID=
BG_PIDS=()

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

cleanup() {
  local rc=$?
  set +e
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; then
    kill -TERM "$DP_PID"
    for _ in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DP_PID" 2>/dev/null
  fi
  for ns in "$DP_NS" "$K1_NS" "$K2_NS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  if [ $rc -ne 0 ] && [ -f "$WORK/dp.log" ]; then
    echo "---- data plane log (last 60 lines)" >&2
    tail -60 "$WORK/dp.log" >&2
  fi
  rm -rf "$WORK" /dev/hugepages/sstpt-${TAG}* /var/run/dpdk/sstpt-${TAG} 2>/dev/null
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# make_ns NS...
make_ns() {
  for ns in "$@"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
}

# link KNS DPIF KIF KADDR/LEN [MTU]: a veth pair, DPIF in the data plane's namespace, KIF in KNS.
link() {
  local kns=$1 dpif=$2 kif=$3 kaddr=$4 mtu=${5:-1500}
  ip link add "$dpif" netns "$DP_NS" mtu "$mtu" type veth peer name "$kif" netns "$kns" mtu "$mtu"
  ip netns exec "$DP_NS" python3 "$HERE/ethtool_off.py" "$dpif"
  ip netns exec "$kns" python3 "$HERE/ethtool_off.py" "$kif"
  ip -n "$DP_NS" link set "$dpif" up
  ip -n "$kns" addr add "$kaddr" dev "$kif"
  ip -n "$kns" link set "$kif" up
  # Accept the data plane's gratuitous ARP (RFC 5227 announcement) into the neighbour table.
  ip netns exec "$kns" sysctl -qw net.ipv4.conf.all.arp_accept=1 net.ipv4.conf."$kif".arp_accept=1
}

# start_dp ARGS...: runs sstp-dataplane in $DP_NS and waits until every worker is up.
start_dp() {
  rm -f "$WORK/dp.pid"
  ip netns exec "$DP_NS" "$DP_BIN" --file-prefix "sstpt-${TAG}" --no-huge --memory 512 \
    --mbufs 32768 --idle-sleep 20 --stats-file "$WORK/stats.json" --stats-interval 100 \
    --pid-file "$WORK/dp.pid" "$@" >"$WORK/dp.log" 2>&1 &
  DP_PID=$!
  for _ in $(seq 100); do
    [ -s "$WORK/dp.pid" ] && return 0
    kill -0 "$DP_PID" 2>/dev/null || fail "sstp-dataplane exited: $(cat "$WORK/dp.log")"
    sleep 0.1
  done
  fail "sstp-dataplane did not come up"
}

stop_dp() {
  kill -TERM "$DP_PID"
  wait "$DP_PID" || fail "sstp-dataplane exited with $?"
  DP_PID=
}

# dpstat NAME: the total of a data plane counter (from the stats file, refreshed every 100 ms).
dpstat() {
  sleep 0.25
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"][sys.argv[2]])' \
    "$WORK/stats.json" "$1"
}
# tcp_stat NAME: a TCP stack counter summed over the workers.
tcp_stat() {
  sleep 0.25
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(l.get("tcp",{}).get(sys.argv[2],0) for l in d["lcores"]))' \
    "$WORK/stats.json" "$1"
}

# expect_ge NAME VALUE MIN
expect_ge() {
  [ "$2" -ge "$3" ] || fail "$1 = $2, expected >= $3"
  log "ok: $1 = $2 (>= $3)"
}
