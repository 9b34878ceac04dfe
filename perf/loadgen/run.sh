#!/usr/bin/env bash
# Session setup load against our concentrator: sstp-loadgen (perf/loadgen/loadgen.cc) in the
# laptop namespace of the manual's topology (scripts/topology) dials N SSTP sessions to
# sstp-dataplane + sstp-controlplane (af_packet, --no-huge, as tests/e2e/server_e2e.sh runs them).
# Same-run reference: bare TLS handshakes per second against the same listener (`openssl s_time
# -new`, one connection at a time, handshake then close), i.e. what the TLS part alone costs.
# Prints one JSON object. Not a test (no pass/fail on figures); run by hand as root:
#
#   perf/loadgen/run.sh BUILD_DIR [SESSIONS] [RATE] [DURATION]
#
# One secret without only-one and an address pool: every session logs in as "load" and gets its
# own address. LOADGEN_ARGS (environment) adds generator options. DP_ARGS adds data-plane options.
# SOURCES=N (1-100) adds 198.18.80.100.. on the laptop's eth0 and spreads the sessions over them
# (--source-addresses): past ~28000 sessions one source address runs out of ephemeral ports.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR [SESSIONS] [RATE] [DURATION]}" && pwd)
SESSIONS=${2:-200}
RATE=${3:-50}
DURATION=${4:-10}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOADGEN=$BUILD/perf/loadgen/sstp-loadgen
[ -x "$LOADGEN" ] || { echo "build $LOADGEN first" >&2; exit 1; }
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init lg
show_on_failure "$DP_LOG" "$CP_LOG"

log "topology ${P}*"
# shellcheck disable=SC2086
office_up -- ${DP_ARGS:-}
ctl /ip pool add name=lg ranges=198.19.104.1-198.19.111.254
ctl /ppp secret add name=load service=sstp password=loadpw local-address=198.19.101.1 \
  remote-address=lg
ctl /interface sstp-server server set enabled=yes
wait_for 10 "listener" dp_log_has "listening on port 443"
SRC_ARGS=()
if [ "${SOURCES:-0}" -gt 0 ]; then
  srcs=""
  for ((i = 0; i < SOURCES; i++)); do
    nsx laptop ip addr add "198.18.80.$((100 + i))/24" dev eth0
    srcs+="${srcs:+,}198.18.80.$((100 + i))"
  done
  SRC_ARGS=(--source-addresses "$srcs")
fi

# Reference: TLS handshakes/s with the same server, same namespace, same run.
ref=$(nsx laptop timeout 20 openssl s_time -connect 198.18.80.1:443 -new -time 5 2>&1 || true)
# s_time prints "N connections in T real seconds" (wall clock; the "...s; ... /user sec" line is
# its own CPU time only).
ref_line=$(grep -E "connections in [0-9]+ real seconds" <<<"$ref" || true)
ref_line=${ref_line%%$'\n'*}
ref_conns=$(sed -n 's/^\([0-9][0-9]*\) connections in \([0-9]*\) real seconds.*/\1/p' <<<"$ref_line")
ref_secs=$(sed -n 's/^\([0-9][0-9]*\) connections in \([0-9]*\) real seconds.*/\2/p' <<<"$ref_line")
[ -n "$ref_conns" ] || { log "openssl s_time said: $ref"; ref_conns=0; ref_secs=1; }
ref_rate=$(awk -v c="$ref_conns" -v s="$ref_secs" 'BEGIN { printf "%.1f", (s > 0 ? c / s : 0) }')
log "reference: $ref_line"

# loadgen [ARGS...]: one sstp-loadgen run from the laptop namespace; prints its JSON
loadgen() {
  local out
  # shellcheck disable=SC2086
  out=$(nsx laptop "$LOADGEN" --connect-to 198.18.80.1:443 --user load --password loadpw \
    --sessions "$SESSIONS" --rate "$RATE" --verify-server=no "${SRC_ARGS[@]}" ${LOADGEN_ARGS:-} "$@" \
    2>"$W/loadgen.err") || log "sstp-loadgen exited non-zero"
  if [ -s "$W/loadgen.err" ]; then tail -5 "$W/loadgen.err" >&2; fi
  [ -n "$out" ] || fail "sstp-loadgen printed nothing"
  echo "$out"
}

# Reference 2: the generator itself with the same sessions and rate, TCP + TLS handshake only.
log "sstp-loadgen --tls-only: $SESSIONS connections at $RATE/s"
tls_only=$(loadgen --tls-only --duration 0)
log "sstp-loadgen: $SESSIONS sessions at $RATE/s, held ${DURATION}s"
sstp=$(loadgen --duration "$DURATION")
printf '{"loadgen": %s, "reference_tls_only": %s, "reference_s_time_handshakes_per_s": %s, "load_average": "%s"}\n' \
  "$sstp" "$tls_only" "$ref_rate" "$(cut -d' ' -f1-3 /proc/loadavg)"
