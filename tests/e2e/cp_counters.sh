#!/usr/bin/env bash
# The control plane's live counters with real traffic (issue 6, "Live state"): the manual's
# "Connecting Remote Client" (scripts/topology in namespaces sstpt-cpcnt*), sstp-dataplane on
# af_packet + sstp-controlplane, our sstp-client as the laptop. N pings go laptop -> office
# workstation through the tunnel; the data plane reports per-session counters every second
# (ring kCounters) and the control plane must show each direction grown by at least N packets
# (and N x 84 bytes: 20 IP + 8 ICMP + 56 data) in /ppp active print detail, /interface sstp-server
# print stats and monitor. Then the client disconnects: the session leaves /ppp active and
# /log print has its login and logout (with the final counters). Then a wrong password, an
# unknown user and a disabled user each give one "authentication failed" line in /log print.
#
#   cp_counters.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init cpcnt
show_on_failure "$DP_LOG" "$CP_LOG" "$W/laptop.log"

N=20

# field NAME TEXT: the number after "NAME=" or "NAME: " in TEXT (the first one).
field() {
  local v
  # All matches into the variable, then keep the first line (no `| head -1`: under pipefail sed
  # could be killed by SIGPIPE once head has exited).
  v=$(sed -n "s/.*[ ]$1[=:] *\([0-9][0-9]*\).*/\1/p" <<<"$2")
  v=${v%%$'\n'*}
  [ -n "$v" ] || fail "no $1 in: $2"
  echo "$v"
}

log "topology ${P}*"
topology_up
topology_offloads_off
cp_start office --log-level debug
office_dp_start

ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100
ctl /interface sstp-server server set enabled=yes authentication=mschap2
ctl /interface ethernet set ether2 arp=proxy-arp
wait_for 10 "listener" dp_log_has "listening on port 443"

client_start laptop sstp0 Laptop 123 --authentication mschap2 --verify-server=no --once \
  --route 198.19.101.0/24
wait_for 30 "laptop address" has_addr laptop sstp0 198.19.101.100
wait_for 10 "Laptop in /ppp active" active_has Laptop

before=$(ctl /ppp active print detail)
echo "$before"
rx0=$(field rx-packet "$before")
tx0=$(field tx-packet "$before")
rxb0=$(field rx-byte "$before")
txb0=$(field tx-byte "$before")

nsx laptop ping -c "$N" -i 0.2 -W 2 198.19.101.10 >"$W/ping.txt" || {
  cat "$W/ping.txt"
  fail "ping laptop -> workstation"
}
tail -2 "$W/ping.txt"

# The data plane sends counters every second: wait for both directions to have grown by N.
grown() {
  local t
  t=$(ctl /ppp active print detail) || return 1
  [ "$(field rx-packet "$t")" -ge $((rx0 + N)) ] && [ "$(field tx-packet "$t")" -ge $((tx0 + N)) ]
}
wait_for 10 "counters grown by $N packets each way" grown

after=$(ctl /ppp active print detail)
echo "$after"
rx1=$(field rx-packet "$after")
tx1=$(field tx-packet "$after")
rxb1=$(field rx-byte "$after")
txb1=$(field tx-byte "$after")
log "/ppp active: rx-packet $rx0 -> $rx1, tx-packet $tx0 -> $tx1, rx-byte $rxb0 -> $rxb1," \
  "tx-byte $txb0 -> $txb1 after $N pings"
# Each echo request/reply is 84 bytes of IP (the data plane counts IP bytes).
[ $((rxb1 - rxb0)) -ge $((N * 84)) ] || fail "rx-byte grew by $((rxb1 - rxb0)) < $((N * 84))"
[ $((txb1 - txb0)) -ge $((N * 84)) ] || fail "tx-byte grew by $((txb1 - txb0)) < $((N * 84))"
grep -q 'caller-id="198.18.80.18:' <<<"$after" || fail "caller-id of the laptop"
grep -q 'mtu=[0-9]' <<<"$after" || fail "mtu in /ppp active detail"
grep -q 'uptime=[0-9]' <<<"$after" || fail "uptime in /ppp active detail"
grep -q 'idle-time=[0-9]' <<<"$after" || fail "idle-time in /ppp active detail"

mon=$(ctl /interface sstp-server monitor 0 once)
echo "$mon"
grep -q 'status: "connected"' <<<"$mon" || fail "monitor status"
[ "$(field rx-packet "$mon")" -ge $((rx0 + N)) ] || fail "monitor rx-packet"
[ "$(field tx-packet "$mon")" -ge $((tx0 + N)) ] || fail "monitor tx-packet"

stats=$(ctl /interface sstp-server print stats)
echo "$stats"
# The table groups digits by three: compare the packet columns without the spaces.
line=$(grep '<sstp-Laptop>' <<<"$stats") || fail "no <sstp-Laptop> in print stats"
read -r -a cols <<<"$(sed 's/.*<sstp-Laptop>//' <<<"$line" | python3 -c '
import re, sys
print(" ".join(x.replace(" ", "") for x in re.split(r" {2,}", sys.stdin.read().strip())))')"
[ "${#cols[@]}" -eq 4 ] || fail "print stats columns: $line"
[ "${cols[2]}" -ge $((rx0 + N)) ] || fail "print stats RX-PACKET ${cols[2]}"
[ "${cols[3]}" -ge $((tx0 + N)) ] || fail "print stats TX-PACKET ${cols[3]}"

# The client hangs up: the session and its counters leave /ppp active.
kill -TERM "$CLIENT_PID"
wait "$CLIENT_PID" 2>/dev/null || true
wait_for 15 "Laptop gone from /ppp active" not_active Laptop

# The account lines in /log print: the login, and the logout with the final counters.
logout_logged() { output_has 'sstp,ppp,info,account Laptop logged out, ' ctl /log print; }
wait_for 10 "logout in /log print" logout_logged
lp=$(ctl /log print)
grep 'Laptop logged' <<<"$lp"
grep -q 'sstp,ppp,info,account Laptop logged in, 198.19.101.100 from 198.18.80.18:[0-9]* (mschap2)' \
  <<<"$lp" || fail "login line"
read -r _ _ _ _ _ secs lrxb ltxb lrxp ltxp _ <<<"$(grep 'Laptop logged out, ' <<<"$lp" | tail -1 |
  tr -d ,)"
[ "$lrxp" -ge $((rx0 + N)) ] && [ "$ltxp" -ge $((tx0 + N)) ] && [ "$lrxb" -ge "$rxb1" ] &&
  [ "$ltxb" -ge "$txb1" ] || fail "logout counters: $secs s $lrxb $ltxb $lrxp $ltxp"

# Failed authentications: one log line each with the user, the caller, the method and why.
client_start laptop sstp1 Laptop wrong --authentication mschap2 --verify-server=no --once
wait_for 20 "wrong password logged" output_has \
  'sstp,ppp,error Laptop authentication failed: wrong password (caller-id 198.18.80.18:[0-9]*, mschap2)' \
  ctl /log print
client_start laptop sstp2 Nobody 123 --authentication mschap2 --verify-server=no --once
wait_for 20 "unknown user logged" output_has \
  'sstp,ppp,error Nobody authentication failed: unknown user (caller-id 198.18.80.18:' ctl /log print
ctl /ppp secret set Laptop disabled=yes
client_start laptop sstp3 Laptop 123 --authentication mschap2 --verify-server=no --once
wait_for 20 "disabled user logged" output_has \
  'sstp,ppp,error Laptop authentication failed: user disabled (caller-id 198.18.80.18:' ctl /log print
lp=$(ctl /log print)
[ "$(grep -c 'authentication failed' <<<"$lp")" -eq 3 ] || fail "not one line per failure: $lp"
grep 'authentication failed' <<<"$lp"
log "PASS cp_counters"
