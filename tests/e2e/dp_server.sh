#!/usr/bin/env bash
# The SSTP server's data-plane behaviours beyond server_e2e (issue 6), against real peers: the
# kernel's TCP, ping, iperf3 and our sstp-client, in the manual's topology (scripts/topology) under
# this test's own prefix, sstp-dataplane on af_packet + sstp-controlplane, configured by sstpctl.
#
#   dp_server.sh BUILD_DIR
#
# Listener: the server accepts on the data plane's own addresses on the configured port only while
#   enabled=yes; a SYN to another port, or while disabled, gets RST (connection refused); a SYN to
#   an address that is not the data plane's is forwarded (a LAN host's own listener answers it),
#   never taken by the server.
# Session MTU and ICMP into tunnels (the office LAN runs at MTU 1400): a DF packet from the LAN
#   larger than a session's negotiated MTU (the laptop's client asks for 1300) gets "fragmentation
#   needed" with that MTU; a DF packet from a client larger than the LAN MTU gets "fragmentation
#   needed" back inside its tunnel (the home router's kernel learns mtu 1400); a ttl=1 ping from a
#   client toward the LAN gets "time exceeded" inside its tunnel, from the session's local (PPP)
#   address as traceroute through a PPP link shows it.
# Rate limits: a profile with rate-limit=2M/2M (RouterOS rx/tx from the router's view) holds
#   iperf3 through the laptop's tunnel below 10 Mbit/s both ways while the home router's
#   unlimited session gets over 50 in the same run (a coarse behaviour check, not a benchmark), and
#   the data plane counts the policed packets.
# Bridged sessions (BCP, RFC 3518): a profile with bridge= whose bridge has ether2 (the office
#   LAN) as a port; our client in --bridge mode (a TAP in the laptop namespace with an address on
#   the office LAN) pings the workstation and is pinged by it: ARP and IPv4 as Ethernet frames
#   through the tunnel, switched by the data plane's MAC table, the LAN port promiscuous; it also
#   reaches the data plane's own LAN address.
# Handshake admission (reconnection storm): with --sstp-max-handshakes 2, 40 SSTP sessions dialled
#   at once by perf/loadgen's sstp-loadgen all come up (MS-CHAPv2, IPCP, crypto binding): callers
#   beyond the limit wait for a slot in turn instead of being reset, and the data plane counts them.
# SSTPT_LCORES (default 0) runs the data plane on other lcores, e.g. 0-1 for the hand-off paths.
# Everything created is removed on exit, also on failure.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init dps
show_on_failure "$DP_LOG" "$CP_LOG" "$W/laptop.log"
DP_LCORES=${SSTPT_LCORES:-0}

dp_log_count() {
  local n
  n=$(grep -c -- "$1" "$DP_LOG" || true)
  echo "${n:-0}"
}
dp_log_more() { [ "$(dp_log_count "$1")" -gt "$2" ]; }

# probe NS ADDR PORT: the kernel's TCP connect from NS, one word: open, refused, timeout or
# unreachable (a SYN answered by RST is "refused"; no answer at all is "timeout").
probe() {
  nsx "$1" python3 - "$2" "$3" <<'EOF'
import errno, socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("open")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("unreachable" if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH) else f"error {e}")
EOF
}
expect_probe() {  # expect_probe WANT NS ADDR PORT WHY
  local got
  got=$(probe "$2" "$3" "$4")
  [ "$got" = "$1" ] || fail "$5: connect $3:$4 from $2 gave '$got', want '$1'"
  log "$5: $3:$4 from $2: $got"
}

# ---- topology, control plane, data plane
log "topology ${P}*"
topology_up >/dev/null
topology_offloads_off
# The office LAN at MTU 1400 (every veth of it: a veth drops frames above its peer's MTU).
nsx office ip link set lan0 mtu 1400
nsx olan ip link set p-office mtu 1400
nsx olan ip link set p-ows mtu 1400
nsx ows ip link set eth0 mtu 1400
cp_start office
# office_dp_start: the topology's two ports; --mtu applies to the last one, lan0. It returns once
# the data plane is attached to the control plane ("control plane ready").
office_dp_start --mtu 1400 --sstp-max-handshakes 2
ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100 >/dev/null
ctl /ppp secret add name=Home service=sstp password=123 local-address=198.18.16.1 \
  remote-address=198.18.16.2 'routes="198.19.202.0/24 198.18.16.2 1"' >/dev/null
ctl /interface ethernet set ether2 arp=proxy-arp >/dev/null
# The laptop reaches the office LAN through the data plane without a tunnel as well (forwarding).
nsx laptop ip route add 198.19.101.0/24 via 198.18.80.1

# ---- listener
log "listener"
expect_probe refused laptop 198.18.80.1 443 "server disabled (the default)"
ctl /interface sstp-server server set enabled=yes authentication=mschap2 >/dev/null
wait_for 10 "listener" dp_log_has "listening on port 443"
grep "listening on port 443" "$DP_LOG"
dp_log_has "listening on port 443 (198.18.80.1, 198.19.101.1)" ||
  fail "the listener is not on exactly the data plane's own addresses"
expect_probe open laptop 198.18.80.1 443 "enabled=yes, the WAN address"
expect_probe refused laptop 198.18.80.1 444 "enabled=yes, another port"
# An address that is not the data plane's: the SYN is forwarded to the office LAN, where the
# workstation's own listener on 443 answers; the SSTP server never sees it.
nsx ows python3 -c '
import socket
s = socket.socket(); s.bind(("198.19.101.10", 443)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"workstation\n"); c.close()' &
track_pid $!
sleep 0.5
got=$(nsx laptop python3 -c '
import socket
s = socket.create_connection(("198.19.101.10", 443), timeout=3); print(s.recv(64).decode().strip())')
[ "$got" = workstation ] || fail "198.19.101.10:443 through the data plane answered '$got'"
log "forwarded 198.19.101.10:443: the workstation's listener answered"
# Nobody at 198.19.101.77: the data plane forwards and ARP finds no one; no RST from the server.
got=$(probe laptop 198.19.101.77 443)
case "$got" in refused | open) fail "198.19.101.77:443 (not ours) gave '$got'" ;; esac
log "198.19.101.77:443 (nobody there): $got"
ctl /interface sstp-server server set port=8443 >/dev/null
wait_for 10 "listener moved" dp_log_has "listening on port 8443"
expect_probe refused laptop 198.18.80.1 443 "port=8443, old port"
expect_probe open laptop 198.18.80.1 8443 "port=8443"
n=$(dp_log_count "listening on port 443 (")
ctl /interface sstp-server server set port=443 >/dev/null
wait_for 10 "listener back on 443" dp_log_more "listening on port 443 (" "$n"
n=$(dp_log_count "stopped listening")
ctl /interface sstp-server server set enabled=no >/dev/null
wait_for 10 "listener stopped" dp_log_more "stopped listening" "$n"
expect_probe refused laptop 198.18.80.1 443 "enabled=no"
n=$(dp_log_count "listening on port 443 (")
ctl /interface sstp-server server set enabled=yes >/dev/null
wait_for 10 "listener back" dp_log_more "listening on port 443 (" "$n"
expect_probe open laptop 198.18.80.1 443 "enabled=yes again"

# ---- session MTU, ICMP errors into tunnels
# From here on the laptop reaches the office LAN only through its tunnel.
nsx laptop ip route del 198.19.101.0/24 via 198.18.80.1
# client NS NAME USER [options]: our sstp-client in the background (pid in CLIENT_PID).
client() {
  local ns=$1 name=$2 user=$3
  shift 3
  client_start "$ns" "$name" "$user" 123 --authentication mschap2 --verify-server=no --once "$@"
}
log "sessions: laptop with MTU/MRU 1300, home router with the defaults"
client laptop sstp0 Laptop --max-mtu 1300 --max-mru 1300 --route 198.19.101.0/24
LAPTOP_PID=$CLIENT_PID
client home sstp1 Home --route 198.19.101.0/24
wait_for 30 "laptop address" has_addr laptop sstp0 198.19.101.100
wait_for 30 "home address" has_addr home sstp1 198.18.16.2
grep -E "Laptop up|Home up" "$DP_LOG"
dp_log_has "Laptop up, .* mtu 1300" || fail "the laptop's session did not negotiate MTU 1300"
home_mtu=$(grep -o "Home up, .* mtu [0-9]*" "$DP_LOG" | tail -1 | grep -o "[0-9]*$")
[ "$home_mtu" -gt 1448 ] || fail "the home session's MTU $home_mtu leaves no room above the LAN's 1400"
nsx ows ping -c 2 -W 2 -M do -s 1272 198.19.101.100 >/dev/null ||
  fail "a 1300-byte DF ping did not fit the laptop's 1300-byte tunnel"
out=$(nsx ows ping -c 2 -W 2 -M do -s 1372 198.19.101.100 2>&1 || true)
echo "$out" | grep -iE "mtu" >&2 || true
[[ $out == *"mtu = 1300"* || $out == *"mtu=1300"* ]] ||
  fail "LAN -> laptop, 1400-byte DF ping: no fragmentation needed with the session's MTU 1300: $out"
log "LAN -> laptop 1400 bytes DF: fragmentation needed, mtu 1300 (the session's)"
nsx home ping -c 2 -W 2 -M do -s 1372 198.19.101.10 >/dev/null ||
  fail "home -> LAN, a 1400-byte DF ping did not pass"
out=$(nsx home ping -c 3 -W 2 -M do -s 1420 198.19.101.10 2>&1 || true)
echo "$out" | grep -iE "mtu" >&2 || true
[[ $out == *"mtu = 1400"* || $out == *"mtu=1400"* ]] ||
  fail "home -> LAN, 1448-byte DF ping: no fragmentation needed inside the tunnel: $out"
nsx home ip route get 198.19.101.10 >&2
log "home -> LAN 1448 bytes DF: fragmentation needed (mtu 1400) delivered inside the tunnel"
out=$(nsx laptop ping -c 2 -W 2 -t 1 198.19.101.10 2>&1 || true)
echo "$out" | grep -i "exceeded" >&2 || true
[[ $out == *"From 198.19.101.1 "*"Time to live exceeded"* ]] ||
  fail "laptop -> LAN with ttl=1: no time exceeded from the session's local address 198.19.101.1 inside the tunnel: $out"
log "laptop -> LAN ttl=1: time exceeded delivered inside the tunnel"

# ---- rate limits
# iperf FROM_NS ADDR [-R]: the receiver's Mbit/s (one decimal).
iperf() {
  local from=$1 addr=$2
  shift 2
  nsx ows iperf3 -s -1 -B 198.19.101.10 >/dev/null 2>&1 &
  local srv=$!
  wait_for 10 "iperf3 server" listening ows 5201
  nsx "$from" iperf3 -c "$addr" -t 3 -J "$@" >"$W/iperf.json" || fail "iperf3 from $from $*"
  wait "$srv" 2>/dev/null || true
  python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e6))' "$W/iperf.json"
}
log "rate limits"
kill -TERM "$LAPTOP_PID"
wait_for 15 "laptop gone" not_active Laptop
# The next client takes the same --name (status socket $W/laptop-sstp0.sock): the old one first.
wait_for 15 "the laptop's client exited" stopped "$LAPTOP_PID"
ctl /ppp profile add name=slow rate-limit=2M/2M >/dev/null
ctl /ppp secret set Laptop profile=slow >/dev/null
n=$(dp_log_count "Laptop up")
client laptop sstp0 Laptop --max-mtu 1300 --max-mru 1300 --route 198.19.101.0/24
LAPTOP_PID=$CLIENT_PID
wait_for 30 "laptop up again" dp_log_more "Laptop up" "$n"
wait_for 30 "laptop address" has_addr laptop sstp0 198.19.101.100
dp_log_has "Laptop up, .*rate-limit rx 2000000 tx 2000000 bit/s" ||
  fail "the laptop's session did not get the profile's rate-limit"
up=$(iperf laptop 198.19.101.10)
down=$(iperf laptop 198.19.101.10 -R)
free_up=$(iperf home 198.19.101.10)
free_down=$(iperf home 198.19.101.10 -R)
log "rate-limit=2M/2M: laptop up $up down $down Mbit/s; unlimited home: up $free_up down $free_down"
below() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$@"; }
below "$up" 10 || fail "upstream (rx) not limited: $up Mbit/s"
below "$down" 10 || fail "downstream (tx) not limited: $down Mbit/s"
below 50 "$free_up" && below 50 "$free_down" ||
  fail "the unlimited session was limited too: $free_up / $free_down Mbit/s"

# ---- bridged session (BCP)
log "bridged session"
kill -TERM "$LAPTOP_PID"
wait_for 15 "laptop gone" not_active Laptop
ctl /interface bridge add name=bridge1 >/dev/null
ctl /interface bridge port add bridge=bridge1 interface=ether2 >/dev/null
ctl /ppp profile add name=bridged bridge=bridge1 >/dev/null
ctl /ppp secret add name=Br service=sstp password=123 profile=bridged >/dev/null
client laptop tap0 Br --bridge
wait_for 30 "bridged session" dp_log_has "Br bridged with ether2"
grep -E "Br up|bridged with|promiscuous" "$DP_LOG" >&2
wait_for 10 "tap0" nsx laptop ip link show tap0
nsx laptop ip addr add 198.19.101.60/24 dev tap0
nsx laptop ip link set tap0 up
nsx laptop ping -c 3 -W 2 198.19.101.10 || fail "bridged laptop -> workstation"
nsx ows ping -c 3 -W 2 198.19.101.60 || fail "workstation -> bridged laptop"
nsx laptop ping -c 2 -W 2 198.19.101.1 || fail "bridged laptop -> the data plane's LAN address"
out=$(nsx ows ip neigh show 198.19.101.60)
mac=$(nsx laptop cat /sys/class/net/tap0/address)
[[ $out == *"$mac"* ]] || fail "the workstation does not see the laptop's own MAC $mac: $out"
log "bridged: ping both ways; the workstation resolved 198.19.101.60 to the laptop's TAP $mac"

# ---- handshake admission: 40 callers at once, 2 handshake slots
LOADGEN=$BUILD/perf/loadgen/sstp-loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN not built"
ctl /ip pool add name=storm ranges=198.19.104.1-198.19.104.254 >/dev/null
ctl /ppp secret add name=load service=sstp password=loadpw local-address=198.19.101.1 \
  remote-address=storm >/dev/null
storm=$(nsx laptop "$LOADGEN" --connect-to 198.18.80.1:443 --user load --password loadpw \
  --sessions 40 --rate 0 --duration 1 --setup-timeout 60 --verify-server=no 2>"$W/loadgen.err") ||
  fail "sstp-loadgen failed: $(tail -5 "$W/loadgen.err") $storm"
est=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sessions_established"], d["sessions_failed"], json.dumps(d["failure_reasons"]))' <<<"$storm")
log "storm: established, failed, reasons: $est"
[[ $est == "40 0 "* ]] || fail "not every caller of the storm came up: $est"

# The policed packets are counted (the data plane's stop summary).
kill -TERM "$DP_PID"
wait_for 20 "data plane exit" stopped "$DP_PID"
DP_PID=
grep "bridged frames" "$DP_LOG" >&2
summary=$(grep -o "rate-limit up [0-9]* down [0-9]*" "$DP_LOG" | tail -1)
log "data plane: $summary"
[[ $summary =~ rate-limit\ up\ [1-9][0-9]*\ down\ [1-9] ]] || fail "policed packets not counted: $summary"
waited=$(grep -o "([0-9]* waited for a handshake slot)" "$DP_LOG" | tail -1)
log "data plane: $waited"
[[ $waited =~ \(([0-9]+)\ waited ]] && [ "${BASH_REMATCH[1]}" -ge 1 ] ||
  fail "no caller waited for a handshake slot: '$waited'"

log "PASS"
