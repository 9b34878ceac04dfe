# scripts/lib/netns.sh: shared helpers for the integration tests and the demo, sourced by bash
# scripts that build network namespaces and run the data plane, the control plane and clients in
# them. Everything a script creates through these helpers is removed by one EXIT trap, also when
# the script fails or is interrupted.
#
# Use (after `set -euo pipefail`):
#
#   source "$ROOT/scripts/lib/netns.sh"
#   sstpt_init e2e          # names below from "e2e" + $$; installs the EXIT/INT/TERM traps
#   topology_up             # or: ns_add dp k1 k2 (bare namespaces ${P}dp, ${P}k1, ...)
#   cp_start office --log-level debug
#   dp_start office --lcores 0 --port ... --ring "$RING" --run-dir "$RUN_DIR"
#   wait_for 30 "control plane ready" dp_log_has "control plane ready"
#   ctl /ppp secret add name=Laptop password=123 ...
#
# Variables (sstpt_init sets each only when the caller has not set it before):
#   P            namespace prefix, "sstpt-NAME$$-"; every namespace the script owns starts with it
#   W            work directory (mktemp under /tmp); removed on exit unless SSTPT_KEEP=1
#   RUN_DIR      $W/run: the --run-dir of the control plane and data plane (control socket, ring.sock)
#   RING         POSIX shm name of the ring, "/sstpt-NAME$$-ring"; /dev/shm entry removed on exit
#   FILE_PREFIX  DPDK --file-prefix, "sstpt-NAME$$"; its /var/run/dpdk and hugepage files removed
#   DP_LOG CP_LOG  $W/dp.log, $W/cp.log
#   BUILD        build directory; DP, CP, CTL, CLIENT default to the binaries in it
#                (sstp-dataplane, sstp-controlplane, sstpctl, sstp-client)
#   CTL_PROMPT   when set, ctl echoes "$CTL_PROMPT $*" before each command (the demo's transcript)
#   DP_PID CP_PID  pids of the running data plane / control plane (empty when not running)
#
# Functions:
#   log MSG...                 timestamped line on stderr
#   fail MSG...                log "FAIL: MSG" and exit 1 (the EXIT trap cleans up)
#   sstpt_init NAME            set the variables above, create $W and $RUN_DIR, install the traps
#   on_exit CMD                run the string CMD (eval) at exit, before the built-in teardown;
#                              hooks run last-registered first
#   show_on_failure FILE...    tail -40 each FILE on stderr when the script exits non-zero
#                              (not after Ctrl-C)
#   track_pid PID...           kill PID at exit (background helpers: servers, clients)
#   nsx NS CMD...              run CMD in namespace ${P}NS (ip netns exec: CMD replaces it, so
#                              `nsx NS CMD &` gives CMD's own pid in $!)
#   nsx_bg NS CMD...           nsx in the background, pid tracked for exit and left in BG_PID
#   ns_add NS...               create bare namespaces ${P}NS with lo up
#   topology_up                scripts/topology up --prefix $P (the manual's two examples)
#   offloads_off NS:IF...      checksum/segmentation offloads off (af_packet needs real segments)
#   topology_offloads_off      offloads_off on every veth end of the topology that a DPDK
#                              af_packet port or its peers use
#   wait_for SECS WHAT CMD...  poll CMD (output discarded) every 0.2 s until it succeeds; after SECS
#                              fail "timed out after SECS s waiting for WHAT"
#   try_wait_for SECS WHAT CMD...  the same but logs and returns 1 instead of failing
#   output_has PATTERN CMD...  CMD's stdout matches the grep (basic) regex PATTERN; CMD's own
#                              failure is ignored. The output is captured first: with pipefail,
#                              `CMD | grep -q` fails whenever grep exits before CMD's last write
#                              (SIGPIPE), so scripts never pipe a producer into grep -q
#   stopped PID                the process is gone
#   has_addr NS DEV ADDR       DEV in ${P}NS has the IPv4 address ADDR ("inet ADDR/len", or
#                              "inet ADDR peer ..." on a point-to-point link)
#   listening NS PORT          a TCP listener on PORT in ${P}NS
#   ctl ARGS...                sstpctl --run-dir $RUN_DIR ARGS...
#   active_has PATTERN         /ppp active print matches PATTERN; not_active PATTERN: it does not
#   dp_log_has PATTERN         $DP_LOG matches PATTERN (grep basic regex: "(" is literal)
#   cp_start NS ARGS...        sstp-controlplane in ${P}NS with --run-dir $RUN_DIR --ring $RING,
#                              output to $CP_LOG; sets CP_PID
#   cp_stop                    SIGTERM the control plane and wait for it
#   dp_start NS ARGS...        sstp-dataplane in ${P}NS with --file-prefix $FILE_PREFIX --no-huge
#                              --pid-file $W/dp.pid ARGS...; returns once the pid file says every
#                              worker is up (fails with the log if it exits first); an earlier
#                              $DP_LOG is kept as $DP_LOG.1, .2, ...
#   dp_stop                    SIGTERM the data plane and wait; returns its exit status
#   office_dp_start ARGS...    dp_start in ${P}office with the topology's two ports (wan0
#                              198.18.80.1/24, lan0 198.19.101.1/24), --lcores ${DP_LCORES:-0},
#                              --ring $RING --run-dir $RUN_DIR ARGS...; when the control plane runs
#                              (CP_PID), also waits for "control plane ready" in $DP_LOG
#   office_up [CP_ARGS...] [-- DP_ARGS...]  the manual's network and the office router:
#                              topology_up, topology_offloads_off, cp_start office CP_ARGS,
#                              office_dp_start DP_ARGS (returns with the data plane attached)
#   client_start NS NAME USER PASSWORD ARGS...  our sstp-client in ${P}NS in the background:
#                              --connect-to ${SERVER_ADDR:-198.18.80.1}, password in a 0600 file,
#                              --name NAME, status socket $W/NS-NAME.sock (CLIENT_SOCK), output
#                              appended to $W/NS.log; pid in CLIENT_PID (tracked)
#   iperf_report FILE LABEL    prints the receiver's Mbit/s from an iperf3 -J file; non-zero when
#                              nothing arrived or more arrived than was sent
#
# The teardown (EXIT trap, also callable as sstpt_teardown): on_exit hooks, tracked pids (SIGTERM),
# the data plane (SIGTERM, 5 s for its graceful stop, then SIGKILL) and the control plane, the
# topology, every namespace starting with a test's sstpt- prefix (SIGKILL to what still runs in
# it), the ring's shm file and the DPDK runtime files; then the logs of show_on_failure and $W.
# SIGINT exits 130, SIGTERM (meson's timeout) 143.
#
# Conventions the helpers keep for the scripts: namespace names start with "sstpt-" (the demo:
# "sstp-"), addresses only from 198.18.0.0/15, nothing sent from the root namespace, a unique DPDK
# --file-prefix per script.

# shellcheck shell=bash

SSTPT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SSTPT_ROOT=$(cd "$SSTPT_LIB_DIR/../.." && pwd)

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

SSTPT_EXIT_HOOKS=()
SSTPT_PIDS=()
SSTPT_SHOW=()
SSTPT_TOPOLOGY=0
DP_PID=
CP_PID=
BG_PID=

sstpt_init() {
  local name=${1:?sstpt_init NAME}
  : "${P:=sstpt-${name}$$-}"
  : "${W:=$(mktemp -d "/tmp/sstpt-${name}.XXXXXX")}"
  : "${RUN_DIR:=$W/run}"
  : "${RING:=/sstpt-${name}$$-ring}"
  : "${FILE_PREFIX:=sstpt-${name}$$}"
  : "${DP_LOG:=$W/dp.log}"
  : "${CP_LOG:=$W/cp.log}"
  if [ -n "${BUILD:-}" ]; then
    : "${DP:=$BUILD/dataplane/sstp-dataplane}"
    : "${CP:=$BUILD/controlplane/sstp-controlplane}"
    : "${CTL:=$BUILD/controlplane/sstpctl}"
    : "${CLIENT:=$BUILD/client/sstp-client}"
  fi
  case "$P" in
    sstpt-?* | sstp-*) ;;
    *) fail "namespace prefix '$P' must start with sstpt- (tests) or sstp- (the demo)" ;;
  esac
  mkdir -p "$W" "$RUN_DIR"
  chmod 700 "$W"
  trap sstpt_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

on_exit() { SSTPT_EXIT_HOOKS+=("$1"); }
show_on_failure() { SSTPT_SHOW+=("$@"); }
track_pid() { SSTPT_PIDS+=("$@"); }

nsx() {
  local n=$1
  shift
  ip netns exec "${P}$n" "$@"
}
nsx_bg() {
  local n=$1
  shift
  ip netns exec "${P}$n" "$@" &
  BG_PID=$!
  SSTPT_PIDS+=("$BG_PID")
}

ns_add() {
  local n
  for n in "$@"; do
    ip netns add "${P}$n"
    ip -n "${P}$n" link set lo up
  done
}

topology_up() {
  SSTPT_TOPOLOGY=1
  "$SSTPT_ROOT/scripts/topology" up --prefix "$P"
}

offloads_off() {
  local spec
  for spec in "$@"; do
    nsx "${spec%%:*}" python3 "$SSTPT_ROOT/tests/dataplane/ethtool_off.py" "${spec#*:}" >/dev/null
  done
}
topology_offloads_off() {
  offloads_off office:wan0 office:lan0 laptop:eth0 home:eth0 ows:eth0 inet:p-office \
    inet:p-laptop inet:p-home olan:p-office olan:p-ows inet:umltap0
}

wait_for() {
  local secs=$1 what=$2
  shift 2
  try_wait_for "$secs" "$what" "$@" || fail "timed out after ${secs} s waiting for $what"
}
try_wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "timed out after ${secs} s waiting for $what (check: $*)"
  return 1
}

output_has() {
  local pattern=$1 out
  shift
  out=$("$@" 2>/dev/null) || true
  grep -q -- "$pattern" <<<"$out"
}
stopped() { ! kill -0 "$1" 2>/dev/null; }
has_addr() { output_has "inet $3[/ ]" nsx "$1" ip -4 addr show dev "$2"; }
listening() { output_has LISTEN nsx "$1" ss -ltn "sport = :$2"; }

ctl() {
  [ -n "${CTL_PROMPT:-}" ] && echo "$CTL_PROMPT $*"
  "$CTL" --run-dir "$RUN_DIR" "$@"
}
active_has() { output_has "$1" ctl /ppp active print; }
not_active() { ! active_has "$1"; }
dp_log_has() { grep -q -- "$1" "$DP_LOG"; }

cp_start() {
  local ns=$1
  shift
  ip netns exec "${P}$ns" "$CP" --run-dir "$RUN_DIR" --ring "$RING" "$@" >>"$CP_LOG" 2>&1 &
  CP_PID=$!
}
cp_stop() {
  [ -n "$CP_PID" ] || return 0
  kill -TERM "$CP_PID" 2>/dev/null || true
  wait "$CP_PID" 2>/dev/null || true
  CP_PID=
}

dp_start() {
  local ns=$1 n=1 i
  shift
  if [ -s "$DP_LOG" ]; then
    while [ -e "$DP_LOG.$n" ]; do n=$((n + 1)); done
    mv "$DP_LOG" "$DP_LOG.$n"
  fi
  rm -f "$W/dp.pid"
  ip netns exec "${P}$ns" "$DP" --file-prefix "$FILE_PREFIX" --no-huge --pid-file "$W/dp.pid" \
    "$@" >"$DP_LOG" 2>&1 &
  DP_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ -s "$W/dp.pid" ] && return 0
    kill -0 "$DP_PID" 2>/dev/null || fail "sstp-dataplane exited: $(tail -30 "$DP_LOG")"
    sleep 0.1
  done
  fail "sstp-dataplane did not come up within 30 s: $(tail -30 "$DP_LOG")"
}
dp_stop() {
  [ -n "$DP_PID" ] || return 0
  local pid=$DP_PID rc=0
  DP_PID=
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  return $rc
}

# The office router of scripts/topology: af_packet on wan0 (198.18.80.1/24) and lan0
# (198.19.101.1/24), the settings the demo and the end-to-end tests share.
office_dp_start() {
  dp_start office --lcores "${DP_LCORES:-0}" --memory 256 --mbufs 16383 --idle-sleep 20 \
    --port net_af_packet0,iface=wan0 --address 198.18.80.1/24 \
    --port net_af_packet1,iface=lan0 --address 198.19.101.1/24 \
    --ring "$RING" --run-dir "$RUN_DIR" "$@"
  if [ -n "$CP_PID" ]; then
    wait_for 30 "the data plane to attach to the control plane" dp_log_has "control plane ready"
  fi
}

office_up() {
  local cp_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    cp_args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  topology_up
  topology_offloads_off
  cp_start office "${cp_args[@]}"
  office_dp_start "$@"
}

client_start() {
  local ns=$1 name=$2 user=$3 pass=$4 pwfile
  shift 4
  pwfile=$(mktemp "$W/pw.XXXXXX")
  printf '%s\n' "$pass" >"$pwfile"
  CLIENT_SOCK=$W/$ns-$name.sock
  ip netns exec "${P}$ns" "$CLIENT" --connect-to "${SERVER_ADDR:-198.18.80.1}" --user "$user" \
    --password-file "$pwfile" --name "$name" --status-socket "$CLIENT_SOCK" "$@" \
    >>"$W/$ns.log" 2>&1 &
  CLIENT_PID=$!
  SSTPT_PIDS+=("$CLIENT_PID")
}

iperf_report() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:  # iperf3 -J reports its own failures here, without the sums
    sys.exit(f"iperf3 {sys.argv[2]}: {j['error']}")
sent = j["end"]["sum_sent"]["bytes"]
recv = j["end"]["sum_received"]["bytes"]
bps = j["end"]["sum_received"]["bits_per_second"]
print(f"iperf3 {sys.argv[2]}: {bps / 1e6:.0f} Mbit/s, {recv} bytes")
# The sender counts what it wrote into its socket; what was still in flight when the test ended
# is not counted by the receiver. TCP itself guarantees the bytes' order and integrity.
if recv <= 0 or recv > sent:
    sys.exit(f"iperf3 {sys.argv[2]}: sent {sent} bytes, received {recv}")
EOF
}

# The teardown behind the EXIT trap; also callable directly (idempotent), e.g. for leftovers.
sstpt_teardown() {
  local - i p ns names
  set +e
  for ((i = ${#SSTPT_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do eval "${SSTPT_EXIT_HOOKS[$i]}"; done
  SSTPT_EXIT_HOOKS=()
  for p in "${SSTPT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$DP_PID" ] && kill -TERM "$DP_PID" 2>/dev/null
  [ -n "$CP_PID" ] && kill -TERM "$CP_PID" 2>/dev/null
  # The data plane's graceful stop sends CALL_DISCONNECT to its clients; give it 5 s.
  for ((i = 0; i < 50; i++)); do
    { [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; } || break
    sleep 0.1
  done
  [ -n "$DP_PID" ] && kill -KILL "$DP_PID" 2>/dev/null
  DP_PID=
  CP_PID=
  if [ "$SSTPT_TOPOLOGY" = 1 ]; then
    "$SSTPT_ROOT/scripts/topology" down --prefix "$P" >/dev/null 2>&1
  fi
  # Every namespace with our prefix (ns_add's, or what a failed topology left): end what runs
  # inside, then delete it (its veths go with it). Only for a test's own prefix (sstpt-NAME$$-):
  # the demo's sstp- could match namespaces of the user's; it has the topology's list.
  names=$(ip netns list 2>/dev/null) || names=
  case "$P" in
    sstpt-*) ;;
    *) names= ;;
  esac
  for ns in $(awk -v p="$P" 'index($1, p) == 1 { print $1 }' <<<"$names"); do
    p=$(ip netns pids "$ns" 2>/dev/null) || p=
    # shellcheck disable=SC2086
    [ -n "$p" ] && kill -KILL $p 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -f "/dev/shm/${RING#/}"
  rm -rf "/var/run/dpdk/$FILE_PREFIX" /dev/hugepages/"$FILE_PREFIX"* 2>/dev/null
  return 0
}

sstpt_exit() {
  local rc=$? f
  set +e
  sstpt_teardown
  # Ctrl-C (130) is the user's own choice: no log dump then.
  if [ $rc -ne 0 ] && [ $rc -ne 130 ]; then
    for f in "${SSTPT_SHOW[@]}"; do
      [ -f "$f" ] && { echo "---- $f (last 40 lines)" >&2; tail -40 "$f" >&2; }
    done
  fi
  [ -z "${SSTPT_KEEP:-}" ] && rm -rf "$W"
  exit $rc
}
