#!/usr/bin/env bash
# The SSTP server against the client Linux users run: Debian's sstpc 1.0.18 with pppd 2.4.9 (and
# its sstp-pppd-plugin, which hands the MPPE keys to sstpc for the crypto binding), inside
# user-mode-linux (scripts/uml-run) since this kernel has no PPP. The UML guest sits on the
# topology's Internet bridge (tap umltap0, 198.18.80.40).
#
#   server_realclient.sh BUILD_DIR
#
# For MS-CHAPv2 (crypto binding with the HLAK: the server runs without --sstp-accept-zero-hlak),
# CHAP and PAP: ppp0 gets 198.19.101.100, the guest pings the office workstation and the
# workstation pings it back, iperf3 both ways through the tunnel; the disconnect is seen in
# /ppp active. A wrong password and a disabled user end the call with a logged PPP
# authentication failure (E=691, E=647). With --sstp-strict-binding, sstpc's CHAP call (it never
# sends CALL_CONNECTED after MD5-CHAP) is aborted by the negotiation timer.
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$ROOT/scripts/lib/netns.sh"
sstpt_init rc
show_on_failure "$DP_LOG" "$CP_LOG" "$W/uml/guest.log" "$W/uml/console.log" \
  "$W/iperf-up-server.log" "$W/iperf-down-server.log"

for tool in linux.uml sstpc pppd; do
  command -v $tool >/dev/null || fail "$tool is not installed (scripts/setup installs it)"
done

log "topology ${P}*"
office_up
ctl /ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 \
  remote-address=198.19.101.100
ctl /interface sstp-server server set enabled=yes
ctl /interface ethernet set ether2 arp=proxy-arp
wait_for 10 "listener" dp_log_has "listening on port 443"
# One iperf3 server per direction: a server that has just finished a test is not listening again
# at once, and the guest's -R run right after the upload run was refused ("the server is busy") or
# reset ("unable to receive control message") by the same server in 3 of 5 runs on a loaded machine.
nsx_bg ows iperf3 -s -p 5201 --timestamps >"$W/iperf-up-server.log" 2>&1
nsx_bg ows iperf3 -s -p 5202 --timestamps >"$W/iperf-down-server.log" 2>&1

# The guest: sstpc + pppd, ping, iperf3 both ways; it waits for the host's ping (file "pinged")
# before hanging up.
cat >"$W/guest.sh" <<'EOF'
set -x
# A writable /dev with /dev/ppp and ptys (the host's /dev is read-only hostfs and has no ppp).
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs dev /dev
[ -e /dev/null ] || mknod -m 666 /dev/null c 1 3
[ -e /dev/ptmx ] || mknod -m 666 /dev/ptmx c 5 2
[ -e /dev/urandom ] || mknod -m 444 /dev/urandom c 1 9
[ -e /dev/ppp ] || mknod -m 600 /dev/ppp c 108 0
mkdir -p /dev/pts /dev/shm /run/lock /run/sstpc
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
. $OUT/params
LD_PRELOAD=$SSTPC_PRELOAD sstpc --log-stderr --log-level 4 --cert-warn --user Laptop \
  --password "$PASSWORD" 198.18.80.1:443 -- noauth nodefaultroute nodetach noipdefault \
  nobsdcomp nodeflate novj refuse-eap $REFUSE > $OUT/sstpc.log 2>&1 &
SSTPC=$!
for i in $(seq 150); do
  ip -4 addr show dev ppp0 2>/dev/null | grep -q 'inet 198.19.101.100' && break
  kill -0 $SSTPC 2>/dev/null || break
  sleep 0.2
done
ip addr show ppp0 > $OUT/ppp0.txt 2>&1
if [ "$EXPECT" = fail ]; then
  for i in $(seq 150); do kill -0 $SSTPC 2>/dev/null || break; sleep 0.2; done
  kill -TERM $SSTPC 2>/dev/null
  wait $SSTPC
  echo "sstpc exit $?" >> $OUT/sstpc.log
  exit 0
fi
grep -q 'inet 198.19.101.100' $OUT/ppp0.txt || exit 11
ip route add 198.19.101.0/24 dev ppp0
ping -c 3 -W 2 198.19.101.10 > $OUT/ping.txt 2>&1 || exit 12
iperf3 -c 198.19.101.10 -p 5201 -t 3 -J > $OUT/iperf-up.json 2>&1 || exit 13
iperf3 -c 198.19.101.10 -p 5202 -t 3 -J -R > $OUT/iperf-down.json 2>&1 || exit 14
touch $OUT/ready
for i in $(seq 150); do [ -f $OUT/pinged ] && break; sleep 0.2; done
kill -TERM $SSTPC
wait $SSTPC
exit 0
EOF

# run_guest NAME PASSWORD EXPECT REFUSE...: boots UML with the guest script.
run_guest() {
  local name=$1 password=$2 expect=$3
  shift 3
  local out=$W/uml-$name
  mkdir -p "$out"
  printf 'PASSWORD=%s\nEXPECT=%s\nREFUSE="%s"\n' "$password" "$expect" "$*" >"$out/params"
  (
    # The host's side of the ping, once the guest says it is ready.
    for _ in $(seq 600); do
      [ -f "$out/ready" ] && break
      [ -f "$out/guest.rc" ] && exit 0
      sleep 0.2
    done
    [ -f "$out/ready" ] || exit 0
    if nsx ows ping -c 3 -W 2 198.19.101.100 >"$out/host-ping.txt" 2>&1; then
      echo ok >"$out/host-ping.rc"
    fi
    touch "$out/pinged"
  ) &
  local helper=$!
  local rc=0
  timeout 240 "$ROOT/scripts/uml-run" --tap umltap0 --ns "${P}inet" --addr 198.18.80.40/24 \
    --out "$out" "$W/guest.sh" || rc=$?
  wait $helper || true
  ln -sfn "$out" "$W/uml"
  return $rc
}

for method in mschap2 chap pap; do
  case $method in
    mschap2) refuse="refuse-pap refuse-chap refuse-mschap" ;;
    chap) refuse="refuse-pap refuse-mschap refuse-mschap-v2" ;;
    pap) refuse="refuse-chap refuse-mschap refuse-mschap-v2" ;;
  esac
  log "sstpc + pppd: $method"
  ctl /interface sstp-server server set authentication=$method
  run_guest $method 123 ok $refuse || fail "$method: guest exited with $?"
  out=$W/uml-$method
  grep -q 'inet 198.19.101.100' "$out/ppp0.txt" || fail "$method: ppp0 has no address"
  cat "$out/ping.txt"
  [ -f "$out/host-ping.rc" ] || fail "$method: office workstation -> sstpc"
  iperf_report "$out/iperf-up.json" "sstpc->office ($method)" || fail "iperf3 up ($method)"
  iperf_report "$out/iperf-down.json" "office->sstpc ($method)" || fail "iperf3 down ($method)"
  wait_for 15 "session gone ($method)" not_active Laptop
done
dp_log_has "crypto binding verified, connected" || fail "no crypto binding"
grep -q "crypto binding verified.*zero HLAK" "$DP_LOG" && fail "zero HLAK accepted"

log "sstpc + pppd: wrong password"
ctl /interface sstp-server server set authentication=mschap2
run_guest wrong 999 fail refuse-pap refuse-chap refuse-mschap || fail "wrong password: guest"
wait_for 10 "auth failure logged" dp_log_has "PPP authentication failed"
not_active Laptop || fail "wrong password got a session"

log "sstpc + pppd: disabled user"
ctl /ppp secret set Laptop disabled=yes
run_guest disabled 123 fail refuse-pap refuse-chap refuse-mschap || fail "disabled user: guest"
# MS-CHAP error 647: ERROR_ACCOUNT_DISABLED (RFC 2759 6).
wait_for 10 "disabled user logged" dp_log_has "PPP authentication failed.*E=647"
not_active Laptop || fail "a disabled user got a session"
ctl /ppp secret set Laptop disabled=no

# A client that never sends CALL_CONNECTED: sstpc after MD5-CHAP, against a data plane that
# insists on it (--sstp-strict-binding). The negotiation timer (shortened) aborts the call.
log "sstpc + pppd: no CALL_CONNECTED, strict binding"
dp_stop || true
office_dp_start --sstp-strict-binding --sstp-negotiation-timeout 5
wait_for 10 "listener again" dp_log_has "listening on port 443"
ctl /interface sstp-server server set authentication=chap
run_guest strict 123 fail refuse-pap refuse-mschap refuse-mschap-v2 || fail "strict: guest"
wait_for 15 "negotiation timeout logged" dp_log_has "closed: negotiation-failed"
grep -m3 "negotiation" "$DP_LOG"
dp_log_has "completing the call without" && fail "strict binding relaxed"
wait_for 10 "strict session removed" not_active Laptop
log "PASS"
