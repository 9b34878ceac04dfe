#!/usr/bin/env bash
# sstp-client against OUR server (issue 7's test matrix): sstp-dataplane (af_packet, --no-huge)
# + sstp-controlplane configured through sstpctl, in the network of the RouterOS manual's examples
# (scripts/topology, namespaces sstpt-cm<pid>-*). One data plane and control plane serve every case;
# only the restart and keepalive cases stop the data plane, at the end.
#
#   client_matrix.sh BUILD_DIR
#
# Cases (each asserts what a user sees: the client's status lines and --status, routes, pings
# through the tunnel, /ppp active and the server's log):
#   auth-METHOD    server and client each allow one method (mschap2, mschap1, chap, pap): the call
#                  comes up with that method, the laptop pings the office workstation and back
#   auth-mismatch  server pap only, client mschap2 only: refused with a reason, no session
#   client-cert    require-client-certificate=yes: a certificate from the server's CA is accepted,
#                  one from another CA and none at all are refused in the TLS handshake
#   server-cert    --ca-file of the issuing CA trusted; another CA's file: refused ("not trusted");
#                  a certificate for another name: refused (hostname mismatch) unless
#                  --verify-server=no, which warns and connects
#   anonymous      a client with --anonymous-tls against the server's certificate: refused in the
#                  TLS handshake with a clear error
#   proxy          through tinyproxy (Debian's) in the home router's namespace while the laptop's
#                  direct path to the server is dropped by nftables: plain, and with Basic auth
#                  (no credentials: refused with the proxy's 407; with them: connected)
#   dial-on-demand no call until a packet enters the TUN, then connected and forwarding
#   default-route  --add-default-route: 0/1 + 128/1 via the tunnel, a host route to the server
#                  outside it, traffic to the office LAN without any --route; all removed after
#   tamper-mac     --fault=tamper-compound-mac (testing-only, needs SSTP_CLIENT_ALLOW_FAULTS=1):
#                  the server aborts the call and logs the crypto binding failure while the home
#                  router's session keeps forwarding; without the variable the option is refused
#   bridge         --bridge (TAP + BCP): the home router's TAP in a Linux bridge with an office
#                  address; /ppp profile bridge= with ether2 as the bridge's port on the server:
#                  ARP and pings between the branch and the office workstation as bridged frames
#   restart        the data plane stops (CALL_DISCONNECT) and starts again: the client reconnects
#   keepalive      the data plane is frozen (SIGSTOP): the client's SSTP echo times out, it
#                  disconnects; after SIGCONT it reconnects and forwards
#   anonymous-both the data plane restarted with --sstp-anonymous-tls (INSECURE, warned): a client
#                  with --anonymous-tls connects (MS-CHAPv2, crypto binding with a zero certificate
#                  hash) and forwards; a verifying client is refused in the TLS handshake
# Everything created is removed on exit, also on failure.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init cm
FILES=$W/files
PROXY_PID=
CASES=0

case_start() {
  CASES=$((CASES + 1))
  log "---- case $1"
}

# The library's teardown, then on failure the logs without the data plane's counter dump at exit
# ("name value" lines, which would fill the last 40 lines), then the library's own exit.
cm_exit() {
  local rc=$? f
  set +e
  # The keepalive case freezes the data plane: let it run its graceful stop.
  [ -n "$DP_PID" ] && kill -CONT "$DP_PID" 2>/dev/null
  sstpt_teardown
  if [ $rc -ne 0 ] && [ $rc -ne 130 ]; then
    for f in dp cp home tinyproxy; do
      [ -f "$W/$f.log" ] && { echo "---- $f.log (last 40 lines)" >&2; grep -v '^[a-z_0-9]* [0-9]*$' "$W/$f.log" | tail -40 >&2; }
    done
  fi
  (exit $rc)
  sstpt_exit
}
trap cm_exit EXIT

# Predicates read whole outputs into variables first: `producer | grep -q` under pipefail fails
# when grep exits before the producer's last write.
has() {  # has TEXT PATTERN
  grep -q -- "$2" <<<"$1"
}
log_has() { grep -q -- "$2" "$W/$1.log"; }
# count_ge FILE PATTERN N: at least N lines of FILE match (a function, so wait_for re-reads it).
count_ge() { [ "$(grep -c -- "$2" "$1" || true)" -ge "$3" ]; }
status_has() {  # status_has NAME PATTERN: the running client's --status output
  local out
  out=$("$CLIENT" --status --status-socket "$W/$1.sock" 2>&1) || return 1
  has "$out" "$2"
}

# client LOGNAME IFNAME [options...]: the laptop's sstp-client, in the background (LAST_CLIENT is
# its pid: ip netns exec runs it in place). Its log is $W/LOGNAME.log (truncated).
client() {
  local logname=$1 name=$2
  shift 2
  : >"$W/$logname.log"
  # CLIENT_ENV unquoted on purpose: empty adds no argument, VAR=VALUE adds one.
  # shellcheck disable=SC2086
  ip netns exec "${P}laptop" env ${CLIENT_ENV:-} "$CLIENT" --connect-to 198.18.80.1 --user Laptop \
    --password-file "$W/laptop.pw" --name "$name" --status-socket "$W/$name.sock" \
    --reconnect-interval 500ms --reconnect-max-interval 2s "$@" >>"$W/$logname.log" 2>&1 &
  LAST_CLIENT=$!
  track_pid "$LAST_CLIENT"
}
# stop_client PID: SIGTERM, the client must disconnect and exit by itself.
stop_client() {
  kill -TERM "$1" 2>/dev/null || true
  wait_for 15 "client $1 to exit" stopped "$1"
}
# refused LOGNAME PATTERN: a --once client that must give up (exit 1) with PATTERN in its log
# and without a session on the server.
refused() {
  local pid=$LAST_CLIENT rc=0
  wait_for 40 "the refused client ($1) to exit" stopped "$pid"
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" = 1 ] || fail "$1: exit status $rc, expected 1"
  log_has "$1" "$2" || fail "$1: no \"$2\" in the client's log"
  # Matches captured first: `grep | head` under pipefail fails when head exits before grep's
  # last write (SIGPIPE).
  local lines
  lines=$(grep -- "$2" "$W/$1.log")
  head -2 <<<"$lines" >&2
  not_active Laptop || fail "$1: a refused client has a session"
}
ping_office() {  # the laptop's tunnel forwards both ways
  nsx laptop ping -c 2 -W 2 198.19.101.10 >/dev/null || fail "$1: laptop -> office workstation"
  nsx ows ping -c 2 -W 2 198.19.101.100 >/dev/null || fail "$1: office workstation -> laptop"
}

# start_dp [ARGS...]: office_dp_start (the topology's two ports, --lcores 0) with the server's
# CA; returns once the data plane is attached to the control plane. An earlier dp.log is kept
# as dp.log.N.
start_dp() { office_dp_start --sstp-ca "$FILES/ca.pem" "$@"; }

# ---- certificates: the server's CA (trusted) and another CA (not), a server certificate for
# 198.18.80.1 and one for another name, client certificates from each CA
mkdir -p "$FILES"
(
  cd "$FILES"
  ca() {  # ca NAME CN
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=$2" -keyout "$1.key" -out "$1.pem" 2>/dev/null
  }
  issue() {  # issue CA NAME CN [SAN]
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
      -keyout "$2.key" -out "$2.csr" 2>/dev/null
    if [ -n "${4:-}" ]; then printf 'subjectAltName=%s\n' "$4" >"$2.ext"; else : >"$2.ext"; fi
    openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1.key" -CAcreateserial -days 2 \
      -extfile "$2.ext" -out "$2.crt" 2>/dev/null
    cat "$2.crt" "$2.key" >"$2.pem"
    chmod 600 "$2.pem" "$2.key"
  }
  ca ca "sstpt office CA"
  ca otherca "sstpt other CA"
  issue ca server 198.18.80.1 IP:198.18.80.1
  issue ca wrongname vpn.sstpt.invalid DNS:vpn.sstpt.invalid
  issue ca laptop Laptop
  issue otherca stranger Laptop
)
printf '123\n' >"$W/laptop.pw"
printf '123\n' >"$W/home.pw"
chmod 600 "$W/laptop.pw" "$W/home.pw"

# ---- the network, the server
log "topology ${P}*"
topology_up
# af_packet reads the veths: the kernel peers must send real segments with full checksums.
topology_offloads_off

cp_start office --files-dir "$FILES" --log-level debug
start_dp

ctl /certificate import file-name=server.pem name=server
ctl /certificate import file-name=wrongname.pem name=wrongname
ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100
ctl /ppp secret add name=Home service=sstp password=123 local-address=198.18.16.1 \
  remote-address=198.18.16.2 'routes="198.19.202.0/24 198.18.16.2 1"'
ctl /interface sstp-server server set certificate=server
ctl /interface sstp-server server set enabled=yes
ctl /interface ethernet set ether2 arp=proxy-arp
wait_for 10 "listener" dp_log_has "listening on port 443"

# The trusted CA and the right name from here on unless a case says otherwise.
TRUST=(--ca-file "$FILES/ca.pem")

# ---- each authentication method, server and client restricted to it
for m in mschap2 mschap1 chap pap; do
  case_start "auth-$m"
  ctl /interface sstp-server server set authentication=$m
  client "auth-$m" sstp0 "${TRUST[@]}" --authentication $m --route 198.19.101.0/24 --once
  pid=$LAST_CLIENT
  wait_for 30 "laptop address ($m)" has_addr laptop sstp0 198.19.101.100
  log_has "auth-$m" "authenticating: $m as \"Laptop\"" || fail "auth-$m: no authenticating line"
  log_has "auth-$m" "connected: 198.19.101.100 peer 198.19.101.1" || fail "auth-$m: no connected line"
  wait_for 10 "--status connected ($m)" status_has sstp0 'status: "connected"'
  status_has sstp0 "authentication: $m" || fail "auth-$m: --status authentication"
  ping_office "auth-$m"
  wait_for 10 "/ppp active ($m)" active_has "Laptop.*198.19.101.100"
  stop_client "$pid"
  wait "$pid" || fail "auth-$m: client exit status $?"
  log_has "auth-$m" "received SIGTERM: disconnecting" || fail "auth-$m: no disconnecting line"
  wait_for 15 "laptop gone ($m)" not_active Laptop
done
grep "crypto binding verified" "$DP_LOG" | tail -4 >&2

case_start auth-mismatch
ctl /interface sstp-server server set authentication=pap
client auth-mismatch sstp0 "${TRUST[@]}" --authentication mschap2 --once
refused auth-mismatch \
  "disconnected: the server aborted the call.*: the server asks for pap, --authentication allows mschap2"
ctl /interface sstp-server server set authentication=mschap2

# ---- client certificates
case_start client-cert
ctl /interface sstp-server server set require-client-certificate=yes
client cert-ok sstp0 "${TRUST[@]}" --certificate "$FILES/laptop.pem" --route 198.19.101.0/24 --once
pid=$LAST_CLIENT
wait_for 30 "laptop address (client certificate)" has_addr laptop sstp0 198.19.101.100
ping_office client-cert
stop_client "$pid"
wait_for 15 "laptop gone (client certificate)" not_active Laptop
n=$(grep -c "TLS handshake failed" "$DP_LOG" || true)
client cert-stranger sstp0 "${TRUST[@]}" --certificate "$FILES/stranger.pem" --once
refused cert-stranger "disconnected: .*the server refused our client certificate"
wait_for 10 "the server's log of the refused certificate" \
  count_ge "$DP_LOG" "TLS handshake failed" $((n + 1))
grep "TLS handshake failed" "$DP_LOG" | tail -1 >&2
client cert-none sstp0 "${TRUST[@]}" --once
refused cert-none "disconnected: .*the server requires a client certificate"
ctl /interface sstp-server server set require-client-certificate=no

# ---- the server's certificate: untrusted CA, wrong name, --verify-server=no
case_start server-cert
client untrusted sstp0 --ca-file "$FILES/otherca.pem" --once
refused untrusted 'server certificate not trusted for "198.18.80.1"'
ctl /interface sstp-server server set certificate=wrongname
wait_for 10 "the new certificate in use" dp_log_has "certificate=.*wrongname"
client wrongname sstp0 "${TRUST[@]}" --once
refused wrongname 'server certificate not trusted for "198.18.80.1".*mismatch'
client noverify sstp0 --verify-server=no --route 198.19.101.0/24 --once
pid=$LAST_CLIENT
wait_for 30 "laptop address (--verify-server=no)" has_addr laptop sstp0 198.19.101.100
log_has noverify "WARNING: --verify-server=no" || fail "no warning for --verify-server=no"
ping_office verify-server=no
stop_client "$pid"
wait_for 15 "laptop gone (--verify-server=no)" not_active Laptop
ctl /interface sstp-server server set certificate=server

# ---- anonymous TLS against a server with a certificate: the client must fail cleanly
case_start anonymous
client anonymous sstp0 --anonymous-tls --once
refused anonymous "disconnected: TLS handshake: the server does not offer anonymous TLS"
log_has anonymous "INSECURE: anonymous TLS" || fail "anonymous: no warning"

# ---- HTTP proxy: tinyproxy on the home router; the laptop cannot reach the server directly
case_start proxy
nsx laptop nft -f - <<'EOF'
table inet sstpt_cm {
  chain out {
    type filter hook output priority 0; policy accept;
    ip daddr 198.18.80.1 tcp dport 443 counter reject with tcp reset
  }
}
EOF
# tinyproxy drops privileges to nobody: its log must be writable for it.
chmod 755 "$W"
start_proxy() {  # start_proxy [BasicAuth line]
  [ -n "$PROXY_PID" ] && { kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; }
  mkdir -p "$W/px" && chmod 777 "$W/px"
  cat >"$W/px/tinyproxy.conf" <<EOF
Port 8888
Listen 198.18.80.30
Timeout 60
MaxClients 10
Allow 198.18.80.0/24
ConnectPort 443
LogFile "$W/px/tinyproxy.log"
LogLevel Connect
PidFile "$W/px/tinyproxy.pid"
${1:-}
EOF
  : >"$W/px/tinyproxy.log"
  chmod 666 "$W/px/tinyproxy.log"
  nsx_bg home tinyproxy -d -c "$W/px/tinyproxy.conf" >"$W/tinyproxy.log" 2>&1
  PROXY_PID=$BG_PID
  wait_for 10 "tinyproxy to listen" listening home 8888
}
start_proxy
client proxy-direct sstp0 "${TRUST[@]}" --once
refused proxy-direct "disconnected: connect to 198.18.80.1:443: Connection refused"
client proxy sstp0 "${TRUST[@]}" --proxy 198.18.80.30:8888 --route 198.19.101.0/24 --once
pid=$LAST_CLIENT
wait_for 30 "laptop address (proxy)" has_addr laptop sstp0 198.19.101.100
ping_office proxy
status_has sstp0 "proxy: 198.18.80.30:8888" || fail "proxy: --status"
grep -q "CONNECT.*198.18.80.1:443" "$W/px/tinyproxy.log" || fail "proxy: tinyproxy logged no CONNECT"
mon=$(ctl /interface sstp-server monitor 0 once)
has "$mon" 'caller-id: "198.18.80.30' || { echo "$mon" >&2; fail "proxy: the server saw another caller"; }
stop_client "$pid"
wait_for 15 "laptop gone (proxy)" not_active Laptop

start_proxy "BasicAuth pu proxy-secret"
client proxy-noauth sstp0 "${TRUST[@]}" --proxy 198.18.80.30:8888 --once
refused proxy-noauth "disconnected: proxy requires authentication.*407"
printf 'proxy-secret\n' >"$W/proxy.pw"
chmod 600 "$W/proxy.pw"
client proxy-auth sstp0 "${TRUST[@]}" --proxy 198.18.80.30:8888 --proxy-user pu \
  --proxy-password-file "$W/proxy.pw" --route 198.19.101.0/24 --once
pid=$LAST_CLIENT
wait_for 30 "laptop address (proxy with Basic auth)" has_addr laptop sstp0 198.19.101.100
ping_office proxy-auth
stop_client "$pid"
wait_for 15 "laptop gone (proxy with Basic auth)" not_active Laptop
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=
nsx laptop nft delete table inet sstpt_cm

# ---- dial-on-demand
case_start dial-on-demand
client demand sstp0 "${TRUST[@]}" --dial-on-demand --route 198.19.101.0/24
pid=$LAST_CLIENT
wait_for 10 "dial-on-demand: waiting" status_has sstp0 'status: "waiting"'
# Interface up and the route into it, but no call: the server has not seen the laptop.
routes=$(nsx laptop ip -4 route show dev sstp0)
has "$routes" "198.19.101.0/24" || fail "dial-on-demand: no route into the TUN before the call"
not_active Laptop || fail "dial-on-demand: connected before any traffic"
log_has demand "connecting: to" && fail "dial-on-demand: connected before any traffic"
# The first packet asks for the call (and is dropped).
nsx laptop ping -c 1 -W 1 198.19.101.10 >/dev/null 2>&1 || true
wait_for 30 "dial-on-demand: connected" status_has sstp0 'status: "connected"'
log_has demand "dial-on-demand: traffic for the tunnel" || fail "dial-on-demand: no dial line"
ping_office dial-on-demand
stop_client "$pid"

# ---- add-default-route: everything through the tunnel, the server kept outside
case_start default-route
nsx laptop ip route add default via 198.18.80.30
client defroute sstp0 "${TRUST[@]}" --add-default-route --once
pid=$LAST_CLIENT
wait_for 30 "laptop address (default route)" has_addr laptop sstp0 198.19.101.100
routes=$(nsx laptop ip -4 route show)
has "$routes" "^0.0.0.0/1 dev sstp0" || { echo "$routes" >&2; fail "no 0.0.0.0/1 via the tunnel"; }
has "$routes" "^128.0.0.0/1 dev sstp0" || fail "no 128.0.0.0/1 via the tunnel"
has "$routes" "^default via 198.18.80.30" || fail "the previous default route is gone"
rt=$(nsx laptop ip -4 route get 198.18.80.1)
has "$rt" "dev eth0" || { echo "$rt" >&2; fail "the server is not reached outside the tunnel"; }
rt=$(nsx laptop ip -4 route get 198.19.101.10)
has "$rt" "dev sstp0" || fail "the office LAN is not reached through the tunnel"
rt=$(nsx laptop ip -4 route get 198.19.250.9)
has "$rt" "dev sstp0" || fail "an arbitrary destination does not go through the tunnel"
ping_office default-route
stop_client "$pid"
routes=$(nsx laptop ip -4 route show)
has "$routes" "0.0.0.0/1" && fail "0.0.0.0/1 left behind"
has "$routes" "^198.18.80.1 " && fail "the host route to the server left behind"
has "$routes" "^default via 198.18.80.30" || fail "the previous default route is gone after exit"
nsx laptop ip route del default via 198.18.80.30

# ---- a tampered Compound MAC (MS-SSTP 3.2.5.2 crypto binding): the server aborts that call;
# the home router's session keeps forwarding meanwhile
case_start tamper-mac
if out=$(nsx laptop "$CLIENT" --connect-to 198.18.80.1 --user Laptop --password-file "$W/laptop.pw" \
  --name sstp0 --status-socket "$W/sstp0.sock" --fault=tamper-compound-mac 2>&1); then
  fail "tamper-mac: --fault accepted without SSTP_CLIENT_ALLOW_FAULTS=1"
fi
has "$out" "SSTP_CLIENT_ALLOW_FAULTS=1" || { echo "$out" >&2; fail "tamper-mac: refusal unclear"; }
: >"$W/home.log"
nsx_bg home "$CLIENT" --connect-to 198.18.80.1 --user Home --password-file "$W/home.pw" \
  "${TRUST[@]}" --name sstp1 --status-socket "$W/sstp1.sock" --route 198.19.101.0/24 \
  >>"$W/home.log" 2>&1
home_pid=$BG_PID
wait_for 30 "home router connected" status_has sstp1 'status: "connected"'
nsx hws ping -c 2 -W 2 198.19.101.10 >/dev/null || fail "tamper-mac: home workstation -> office"
nsx hws ping -c 25 -i 0.2 -W 2 198.19.101.10 >"$W/home-ping.txt" 2>&1 &
ping_pid=$!
CLIENT_ENV=SSTP_CLIENT_ALLOW_FAULTS=1 client tamper sstp0 "${TRUST[@]}" \
  --fault=tamper-compound-mac --once
refused tamper "disconnected: the server aborted the call"
log_has tamper "WARNING: testing fault tamper-compound-mac" || fail "tamper-mac: no warning"
wait_for 10 "the server's log of the binding failure" \
  dp_log_has "(Laptop) closed: crypto-binding-failed: crypto binding Compound MAC is wrong"
grep "crypto-binding-failed" "$DP_LOG" | tail -1 >&2
wait "$ping_pid" || { cat "$W/home-ping.txt" >&2; fail "tamper-mac: the home session stopped forwarding"; }
has "$(cat "$W/home-ping.txt")" "25 received" ||
  { cat "$W/home-ping.txt" >&2; fail "tamper-mac: the home session lost packets"; }
status_has sstp1 'status: "connected"' || fail "tamper-mac: the home router lost its session"
stop_client "$home_pid"

# ---- --bridge: the branch router bridges its LAN to the office LAN (BCP, RFC 3518). The office
# side: profile bridge= with ether2 (lan0) as the bridge's port; the branch side: the client's
# TAP in a Linux bridge holding an address of the office subnet
case_start bridge
ctl /interface bridge add name=bridge1
ctl /interface bridge port add bridge=bridge1 interface=ether2
ctl /ppp profile add name=bridged bridge=bridge1
ctl /ppp secret add name=Branch service=sstp password=123 profile=bridged
: >"$W/bridge.log"
nsx_bg home "$CLIENT" --connect-to 198.18.80.1 --user Branch --password-file "$W/home.pw" \
  "${TRUST[@]}" --bridge --name sstpbr0 --status-socket "$W/sstpbr0.sock" >>"$W/bridge.log" 2>&1
bridge_pid=$BG_PID
wait_for 30 "the bridged client connected" status_has sstpbr0 'status: "connected"'
log_has bridge "connected: bridged Ethernet (BCP)" || fail "bridge: no connected line"
status_has sstpbr0 "bridge: BCP" || fail "bridge: --status has no bridge row"
nsx home ip link add lanbr type bridge
nsx home ip link set sstpbr0 master lanbr
nsx home ip addr add 198.19.101.77/24 dev lanbr
nsx home ip link set lanbr up
nsx home ping -c 3 -W 2 198.19.101.10 >/dev/null || fail "bridge: branch -> office workstation"
nsx ows ping -c 3 -W 2 198.19.101.77 >/dev/null || fail "bridge: office workstation -> branch"
neigh=$(nsx ows ip neigh show 198.19.101.77)
has "$neigh" "lladdr" || fail "bridge: the office workstation has no ARP entry for the branch"
mon=$(ctl /ppp active print)
has "$mon" "Branch" || { echo "$mon" >&2; fail "bridge: /ppp active has no Branch"; }
stop_client "$bridge_pid"
wait_for 15 "Branch gone" not_active Branch
nsx home ip link del lanbr

# ---- the server restarts: the client reconnects by itself (one client for this and the next)
case_start restart
client restart sstp0 "${TRUST[@]}" --route 198.19.101.0/24 --keepalive-timeout 2
pid=$LAST_CLIENT
wait_for 30 "connected (restart)" status_has sstp0 'status: "connected"'
ping_office restart-before
kill -TERM "$DP_PID"
wait_for 20 "the data plane to stop" stopped "$DP_PID"
wait_for 15 "the client to see the disconnect" \
  log_has restart "disconnected: the server disconnected the call"
wait_for 15 "the client to schedule a reconnect" log_has restart "reconnecting in"
not_active Laptop || fail "restart: a session survived the data plane"
start_dp
wait_for 60 "the client to reconnect" \
  count_ge "$W/restart.log" "connected: 198.19.101.100 peer 198.19.101.1" 2
wait_for 10 "--status connected after the restart" status_has sstp0 'status: "connected"'
status_has sstp0 "reconnects: [1-9]" || fail "restart: --status counts no reconnect"
ping_office restart-after

# ---- the server vanishes (frozen): the client's SSTP echo (--keepalive-timeout 2) finds out,
# disconnects and reconnects once the server is back
case_start keepalive
kill -STOP "$DP_PID"
wait_for 30 "the client to give up on the silent server" \
  log_has restart "disconnected: peer silent for .*dead peer"
status_has sstp0 'status: "connected"' && fail "keepalive: --status still says connected"
kill -CONT "$DP_PID"
wait_for 60 "the client to reconnect after the freeze" \
  count_ge "$W/restart.log" "connected: 198.19.101.100 peer 198.19.101.1" 3
ping_office keepalive-after
stop_client "$pid"
wait_for 15 "laptop gone (keepalive)" not_active Laptop

# ---- both ends anonymous (RouterOS certificate=none between two boxes of ours): the data plane
# restarts with --sstp-anonymous-tls
case_start anonymous-both
kill -TERM "$DP_PID"
wait_for 20 "the data plane to stop (anonymous)" stopped "$DP_PID"
: >"$DP_LOG"
start_dp --sstp-anonymous-tls
wait_for 30 "control plane ready (anonymous)" dp_log_has "control plane ready"
wait_for 10 "the data plane's INSECURE warning" dp_log_has "INSECURE: anonymous TLS"
ctl /interface sstp-server server set authentication=mschap2
client anon sstp0 --anonymous-tls --route 198.19.101.0/24
pid=$LAST_CLIENT
wait_for 30 "laptop address (anonymous)" has_addr laptop sstp0 198.19.101.100
ping_office anonymous-both
active_has Laptop || fail "anonymous-both: no /ppp active entry"
stop_client "$pid"
wait_for 15 "laptop gone (anonymous)" not_active Laptop
client anon-verify sstp0 "${TRUST[@]}" --once
refused anon-verify "TLS handshake: .*anonymous mode (--anonymous-tls)"

log "PASS ($CASES cases)"
