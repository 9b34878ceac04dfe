#!/usr/bin/env bash
# iperf3 through the SSTP tunnel (our sstp-client -> sstp-dataplane -> office LAN) both ways, with
# the same-run reference: the same veths and the same data plane forwarding without the tunnel.
# Prints one JSON object. Not a test (no pass/fail on figures); run by hand as root:
#
#   perf/e2e/tunnel_iperf.sh BUILD_DIR [SECONDS] [ROUNDS]
#
# Topology: scripts/topology (the manual's two examples) under its own prefix; the data plane on
# af_packet with one lcore, as in tests/e2e/server_e2e.sh. Each direction alternates reference and
# tunnel ROUNDS times (default 3) so load from other processes hits both; the best and all rounds
# are reported. DP_ARGS (environment) adds data-plane options, e.g. DP_ARGS="--sstp-down-queue 0"
# for the old drop-when-full downstream path.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR [SECONDS] [ROUNDS]}" && pwd)
SECS=${2:-5}
ROUNDS=${3:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DP=$BUILD/dataplane/sstp-dataplane
CP=$BUILD/controlplane/sstp-controlplane
CTL=$BUILD/controlplane/sstpctl
CLIENT=$BUILD/client/sstp-client
P=sstpt-perf$$-
RING=/sstpt-perf$$-ring
W=$(mktemp -d /tmp/sstpt-perf.XXXXXX)
PIDS=()

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  "$ROOT/scripts/topology" down --prefix "$P" >/dev/null 2>&1
  rm -f "/dev/shm/${RING#/}"
  rm -rf "/var/run/dpdk/sstpt-perf$$" 2>/dev/null
  [ $rc -ne 0 ] && [ -f "$W/dp.log" ] && tail -30 "$W/dp.log" >&2
  [ -z "${SSTPT_KEEP:-}" ] && rm -rf "$W"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() {
  local n=$1
  shift
  ip netns exec "${P}$n" "$@"
}
ctl() { "$CTL" --run-dir "$W/run" "$@"; }
wait_for() {
  local secs=$1 what=$2
  shift 2
  for _ in $(seq $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "timed out waiting for $what"
}
dp_log_has() { grep -q "$1" "$W/dp.log"; }
has_addr() {
  local out
  out=$(nsx "$1" ip -4 addr show dev "$2" 2>/dev/null) || return 1
  [[ $out == *"inet $3"* ]]
}
listening() {
  local out
  out=$(nsx "$1" ss -ltn "sport = :5201")
  [[ $out == *LISTEN* ]]
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run FROM_NS ADDR [-R]: prints the receiver's Mbit/s; logs the CPU share the data plane and the
# client used meanwhile (where the bottleneck is: the data plane's lcore spins, so its figure is
# about 100% busy or idle-sleeping).
run() {
  local from=$1 addr=$2
  shift 2
  nsx ows iperf3 -s -1 -B "$addr" >/dev/null 2>&1 &
  local srv=$!
  wait_for 10 "iperf3 server" listening ows
  local d0 c0 t0 d1 c1 t1
  d0=$(cpu_ticks "$DP_PID") c0=$(cpu_ticks "$CLIENT_PID") t0=$(date +%s%N)
  nsx "$from" iperf3 -c "$addr" -t "$SECS" -J "$@" >"$W/iperf.json" || fail "iperf3 from $from"
  d1=$(cpu_ticks "$DP_PID") c1=$(cpu_ticks "$CLIENT_PID") t1=$(date +%s%N)
  log "$from $*: CPU data plane $(((d1 - d0) * 1000000000 / (t1 - t0))) %, client $(((c1 - c0) * 1000000000 / (t1 - t0))) %"
  wait "$srv" 2>/dev/null || true
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e6))' "$W/iperf.json"
}

"$ROOT/scripts/topology" up --prefix "$P" >/dev/null
for spec in office:wan0 office:lan0 laptop:eth0 home:eth0 ows:eth0 inet:p-office inet:p-laptop \
  inet:p-home olan:p-office olan:p-ows; do
  nsx "${spec%%:*}" python3 "$ROOT/tests/dataplane/ethtool_off.py" "${spec#*:}" >/dev/null
done
mkdir -p "$W/run"
ip netns exec "${P}office" "$CP" --run-dir "$W/run" --ring "$RING" >"$W/cp.log" 2>&1 &
PIDS+=($!)
ip netns exec "${P}office" "$DP" --lcores 0 --no-huge --memory 256 --mbufs 16383 \
  --file-prefix "sstpt-perf$$" --idle-sleep 20 \
  --port net_af_packet0,iface=wan0 --address 198.18.80.1/24 \
  --port net_af_packet1,iface=lan0 --address 198.19.101.1/24 \
  --ring "$RING" --run-dir "$W/run" ${DP_ARGS:-} >"$W/dp.log" 2>&1 &
DP_PID=$!
PIDS+=($!)
wait_for 30 "control plane ready" dp_log_has "control plane ready"
ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100 >/dev/null
ctl /interface sstp-server server set enabled=yes authentication=mschap2 >/dev/null
ctl /interface ethernet set ether2 arp=proxy-arp >/dev/null
wait_for 10 "listener" dp_log_has "listening on port 443"
printf '123\n' >"$W/pw"
ip netns exec "${P}laptop" "$CLIENT" --connect-to 198.18.80.1 --user Laptop --password-file "$W/pw" \
  --authentication mschap2 --verify-server=no --once --name sstp0 --route 198.19.101.0/24 \
  >"$W/client.log" 2>&1 &
CLIENT_PID=$!
PIDS+=($!)
wait_for 30 "laptop address" has_addr laptop sstp0 198.19.101.100
# The reference: the home router reaches the office LAN through the same data plane, no tunnel.
nsx home ip route add 198.19.101.0/24 via 198.18.80.1

declare -A R
for dir in up down; do
  flag=()
  [ $dir = down ] && flag=(-R)
  for i in $(seq "$ROUNDS"); do
    R[ref_$dir]+="$(run home 198.19.101.10 "${flag[@]}") "
    R[tun_$dir]+="$(run laptop 198.19.101.10 "${flag[@]}") "
    log "$dir round $i: reference ${R[ref_$dir]} tunnel ${R[tun_$dir]}"
  done
done
kill -TERM "$DP_PID" 2>/dev/null
wait_for 20 "data plane exit" bash -c "! kill -0 $DP_PID 2>/dev/null"
stats=$(grep -o "upstream .*ring full [0-9]*" "$W/dp.log" | tail -1 || true)

python3 - "$SECS" "${R[tun_up]}" "${R[ref_up]}" "${R[tun_down]}" "${R[ref_down]}" "$stats" "${DP_ARGS:-}" <<'EOF'
import json, sys
secs = int(sys.argv[1])
def runs(s): return [int(x) for x in s.split()]
tu, ru, td, rd = (runs(a) for a in sys.argv[2:6])
out = {
  "benchmark": "e2e tunnel iperf3 (our sstp-client, TLS 1.3, 1 lcore, af_packet)",
  "seconds_per_run": secs,
  "upstream_laptop_to_office_mbit": {"tunnel_best": max(tu), "tunnel_runs": tu,
      "reference_best": max(ru), "reference_runs": ru, "ratio": round(max(tu) / max(ru), 2)},
  "downstream_office_to_laptop_mbit": {"tunnel_best": max(td), "tunnel_runs": td,
      "reference_best": max(rd), "reference_runs": rd, "ratio": round(max(td) / max(rd), 2)},
  "dataplane_args": sys.argv[7],
  "dataplane_summary": sys.argv[6],
}
print(json.dumps(out, indent=1))
EOF
