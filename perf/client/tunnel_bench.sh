#!/usr/bin/env bash
# sstp-client throughput and CPU cost: iperf3 through the tunnel both ways (laptop -> office LAN
# and back) and the client process's CPU per gigabit carried, with the same-run reference: iperf3
# over the same veths and the same data plane without the tunnel (the home router's namespace,
# routed through the data plane). Prints one JSON object. Not a test (no pass/fail on figures);
# run by hand as root:
#
#   perf/client/tunnel_bench.sh BUILD_DIR [SECONDS] [ROUNDS]
#   MODE=bridge perf/client/tunnel_bench.sh ...   the same with --bridge (TAP + BCP): the laptop's
#                                                 TAP in a Linux bridge with 198.19.101.77/24,
#                                                 bridged by the data plane to the office LAN port
#
# Topology: scripts/topology under its own prefix (sstpt-clb<pid>-*), sstp-dataplane on af_packet
# with one lcore + sstp-controlplane, as in tests/e2e/server_e2e.sh. Each direction alternates
# reference and tunnel ROUNDS times (default 3, SECONDS each, default 5) so load from other
# processes hits both; best and all runs are reported.
#
# CPU: utime + stime of the sstp-client process from /proc/PID/stat before and after each tunnel
# run (what it spends in TUN reads/writes, OpenSSL and its own code, user and kernel time of its
# system calls; softirq work the kernel does for its TCP socket may be charged to whichever task
# was running and is not in it). Per gigabit = CPU seconds / (bytes received by iperf3 * 8 / 1e9).
# Reference per gigabit: the iperf3 sender's own CPU (iperf3's cpu_utilization_percent, user +
# system) over the no-tunnel path, i.e. what it costs an application to push the same gigabit
# through kernel TCP without a tunnel.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR [SECONDS] [ROUNDS]}" && pwd)
SECS=${2:-5}
MODE=${MODE:-routed}
[ "$MODE" = routed ] || [ "$MODE" = bridge ] || { echo "MODE is routed or bridge" >&2; exit 2; }
ROUNDS=${3:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DP=$BUILD/dataplane/sstp-dataplane
CP=$BUILD/controlplane/sstp-controlplane
CTL=$BUILD/controlplane/sstpctl
CLIENT=$BUILD/client/sstp-client
P=sstpt-clb$$-
RING=/sstpt-clb$$-ring
W=$(mktemp -d /tmp/sstpt-clb.XXXXXX)
PIDS=()
DP_PID=

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 50); do
    { [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; } || break
    sleep 0.1
  done
  "$ROOT/scripts/topology" down --prefix "$P" >/dev/null 2>&1
  rm -f "/dev/shm/${RING#/}"
  rm -rf "/var/run/dpdk/sstpt-clb$$" 2>/dev/null
  if [ $rc -ne 0 ]; then
    for f in dp client; do
      [ -f "$W/$f.log" ] && grep -v '^[a-z_0-9]* [0-9]*$' "$W/$f.log" | tail -20 >&2
    done
  fi
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
dp_log_has() { grep -q -- "$1" "$W/dp.log"; }
has_addr() {
  local out
  out=$(nsx "$1" ip -4 addr show dev "$2" 2>/dev/null) || return 1
  [[ $out == *"inet $3"* ]]
}
listening() {
  local out
  out=$(nsx ows ss -ltnH "sport = :5201") || return 1
  [[ $out == *LISTEN* ]]
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run LABEL FROM_NS [-R]: one iperf3 run to the office workstation; appends a JSON line to
# $W/runs.jsonl with the receiver's bytes and rate, the sender's CPU and the client's CPU ticks.
run() {
  local label=$1 from=$2
  shift 2
  nsx ows iperf3 -s -1 -B 198.19.101.10 >/dev/null 2>&1 &
  local srv=$!
  wait_for 10 "iperf3 server" listening
  local c0 c1 t0 t1
  c0=$(cpu_ticks "$CLIENT_PID") t0=$(date +%s%N)
  nsx "$from" iperf3 -c 198.19.101.10 -t "$SECS" -J "$@" >"$W/iperf.json" ||
    fail "iperf3 $label"
  c1=$(cpu_ticks "$CLIENT_PID") t1=$(date +%s%N)
  wait "$srv" 2>/dev/null || true
  python3 - "$W/iperf.json" "$label" "$((c1 - c0))" "$(getconf CLK_TCK)" "$((t1 - t0))" \
    "${1:-}" >>"$W/runs.jsonl" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
label, ticks, hz, wall_ns, flag = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
end = j["end"]
cpu = end["cpu_utilization_percent"]
# -R: the remote end (iperf3 server in the office) is the sender.
sender_cpu_pct = cpu["remote_total"] if flag == "-R" else cpu["host_total"]
print(json.dumps({
  "label": label,
  "bytes": end["sum_received"]["bytes"],
  "mbit": end["sum_received"]["bits_per_second"] / 1e6,
  "seconds": end["sum_received"]["seconds"],
  "sender_cpu_pct": sender_cpu_pct,
  "client_cpu_s": ticks / hz,
  "wall_s": wall_ns / 1e9,
}))
EOF
  log "$label: $(tail -1 "$W/runs.jsonl")"
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
  --file-prefix "sstpt-clb$$" --idle-sleep 20 \
  --port net_af_packet0,iface=wan0 --address 198.18.80.1/24 \
  --port net_af_packet1,iface=lan0 --address 198.19.101.1/24 \
  --ring "$RING" --run-dir "$W/run" >"$W/dp.log" 2>&1 &
DP_PID=$!
PIDS+=($!)
wait_for 30 "control plane ready" dp_log_has "control plane ready"
ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100 >/dev/null
ctl /interface sstp-server server set enabled=yes authentication=mschap2 >/dev/null
ctl /interface ethernet set ether2 arp=proxy-arp >/dev/null
wait_for 10 "listener" dp_log_has "listening on port 443"
printf '123\n' >"$W/pw"
if [ "$MODE" = bridge ]; then
  ctl /interface bridge add name=bridge1 >/dev/null
  ctl /interface bridge port add bridge=bridge1 interface=ether2 >/dev/null
  ctl /ppp profile add name=bridged bridge=bridge1 >/dev/null
  ctl /ppp secret add name=Branch service=sstp password=123 profile=bridged >/dev/null
  ip netns exec "${P}laptop" "$CLIENT" --connect-to 198.18.80.1 --user Branch --password-file "$W/pw" \
    --authentication mschap2 --verify-server=no --once --name sstp0 --bridge \
    --status-socket "$W/sstp0.sock" >"$W/client.log" 2>&1 &
else
  ip netns exec "${P}laptop" "$CLIENT" --connect-to 198.18.80.1 --user Laptop --password-file "$W/pw" \
    --authentication mschap2 --verify-server=no --once --name sstp0 --route 198.19.101.0/24 \
    --status-socket "$W/sstp0.sock" >"$W/client.log" 2>&1 &
fi
CLIENT_PID=$!
PIDS+=($!)
if [ "$MODE" = bridge ]; then
  wait_for 30 "the bridged tunnel" grep -q "connected: bridged" "$W/client.log"
  nsx laptop ip link add lanbr type bridge
  nsx laptop ip link set sstp0 master lanbr
  nsx laptop ip addr add 198.19.101.77/24 dev lanbr
  nsx laptop ip link set lanbr up
  wait_for 30 "the office workstation over the bridge" nsx laptop ping -c 1 -W 1 198.19.101.10
else
  wait_for 30 "laptop address" has_addr laptop sstp0 198.19.101.100
fi
tls=$(grep -o "TLS established ([^)]*)" "$W/client.log" | head -1)
# The reference: the home router reaches the office LAN through the same data plane, no tunnel.
nsx home ip route add 198.19.101.0/24 via 198.18.80.1

: >"$W/runs.jsonl"
for _ in $(seq "$ROUNDS"); do
  run ref_up home
  run tun_up laptop
  run ref_down home -R
  run tun_down laptop -R
done
status=$("$CLIENT" --status --status-socket "$W/sstp0.sock" 2>&1 || true)

python3 - "$W/runs.jsonl" "$SECS" "$tls" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$status" "$MODE" <<'EOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pick(label): return [r for r in runs if r["label"] == label]
def per_gbit(cpu_s, nbytes): return cpu_s / (nbytes * 8 / 1e9) if nbytes else None
out = {
  "benchmark": "sstp-client through our server: iperf3 both ways, client CPU per gigabit",
  "tls": sys.argv[3],
  "seconds_per_run": int(sys.argv[2]),
  "cpus": int(sys.argv[4]),
  "loadavg_at_end": sys.argv[5],
  "mode": sys.argv[7],
}
for d, name in (("up", "upstream_laptop_to_office"), ("down", "downstream_office_to_laptop")):
  tun, ref = pick("tun_" + d), pick("ref_" + d)
  best_t = max(tun, key=lambda r: r["mbit"])
  best_r = max(ref, key=lambda r: r["mbit"])
  tot_b = sum(r["bytes"] for r in tun)
  tot_c = sum(r["client_cpu_s"] for r in tun)
  # Reference CPU: the iperf3 sender's own CPU share times the run's duration.
  ref_cpu = sum(r["sender_cpu_pct"] / 100 * r["seconds"] for r in ref)
  out[name] = {
    "tunnel_mbit_best": round(best_t["mbit"]), "tunnel_mbit_runs": [round(r["mbit"]) for r in tun],
    "reference_mbit_best": round(best_r["mbit"]), "reference_mbit_runs": [round(r["mbit"]) for r in ref],
    "ratio": round(best_t["mbit"] / best_r["mbit"], 2),
    "client_cpu_s_per_gbit": round(per_git, 3) if (per_git := per_gbit(tot_c, tot_b)) else None,
    "client_cpu_pct_of_one_core": round(100 * tot_c / sum(r["wall_s"] for r in tun)),
    "reference_sender_cpu_s_per_gbit": round(per_gbit(ref_cpu, sum(r["bytes"] for r in ref)), 3),
  }
out["client_status_after"] = [l.strip() for l in sys.argv[6].splitlines()
                              if l.strip().split(":")[0] in ("tx-byte", "rx-byte", "tx-drop", "rx-drop")]
print(json.dumps(out, indent=1))
EOF
