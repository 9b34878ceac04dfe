#!/usr/bin/env bash
# /interface sstp-client applied by sstp-controlplane (issue 7): the manual's "Site-to-Site SSTP"
# in namespaces sstpt-cpcl*. Office: sstp-dataplane + sstp-controlplane (the server, secret Home
# with routes=). Home router: a second sstp-controlplane with no data plane (it runs without one:
# it keeps retrying the ring) and --kernel-routes, configured with the manual's
#   /interface sstp-client add user=Home password=... connect-to=198.18.80.1 disabled=no
#   /ip route add dst-address=198.19.101.0/24 gateway=198.18.16.1
# which make it run sstp-client and install the route in the kernel once the tunnel is up. Checks: monitor says connected and print shows R; the home
# workstation pings the office workstation through the tunnel; the child's config file is 0600
# and the password is in no process's argv; a killed client is restarted; disable stops it
# (SIGTERM: the office sees the session go), enable starts it again; remove stops it and deletes
# its config file; the home control plane's exit stops its client; restarted, it starts the
# persisted entry's client again; killed with SIGKILL, its client stops too.
#
#   cp_sstp_client.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init cpcl
HOME_RUN=$W/home-run
HOME_LOG=$W/home-cp.log
show_on_failure "$DP_LOG" "$CP_LOG" "$HOME_LOG"
PW='Home-s3cret'

hctl() { "$CTL" --run-dir "$HOME_RUN" "$@"; }
client_connected() { output_has 'status: "connected"' hctl /interface sstp-client monitor 0 once; }
# The running client's pid, from the home control plane's log ("started ... (pid N)").
client_pid() { sed -n 's/.*sstp-out1: started .* (pid \([0-9]*\)).*/\1/p' "$HOME_LOG" | tail -1; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

log "topology ${P}*"
topology_up
topology_offloads_off
cp_start office --log-level debug
office_dp_start

# ---- office: the manual's site-to-site server side
ctl /ppp secret add name=Home service=sstp password="$PW" local-address=198.18.16.1 \
  remote-address=198.18.16.2 'routes="198.19.202.0/24 198.18.16.2 1"'
ctl /interface sstp-server server set enabled=yes
wait_for 10 "listener" dp_log_has "listening on port 443"

# ---- home router: a control plane without a data plane
mkdir -p "$HOME_RUN"
nsx_bg home "$CP" --run-dir "$HOME_RUN" --ring "/sstpt-cpcl$$-home-ring" --kernel-routes \
  --client-bin "$BUILD/client/sstp-client" >"$HOME_LOG" 2>&1
HOME_CP=$BG_PID
wait_for 10 "home control plane socket" test -S "$HOME_RUN/ctl.sock"

hctl /interface sstp-client add user=Home password="$PW" connect-to=198.18.80.1 disabled=no
wait_for 30 "home client connected" client_connected
mon=$(hctl /interface sstp-client monitor 0 once)
echo "$mon"
grep -q 'user: "Home"' <<<"$mon" || fail "monitor user"
grep -q 'remote-address: 198.18.16.1' <<<"$mon" || fail "monitor remote-address"
pr=$(hctl /interface sstp-client print)
echo "$pr"
grep -q '^ 0  R name="sstp-out1"' <<<"$pr" || fail "print: R flag"
wait_for 10 "Home in the office's /ppp active" active_has Home

# The child's settings: a 0600 file, the password never on a command line.
conf=$HOME_RUN/clients/sstp-out1.conf
[ "$(stat -c %a "$conf")" = 600 ] || fail "config file mode $(stat -c %a "$conf")"
pid=$(client_pid)
alive "$pid" || fail "no client pid in the log"
# Read argv into a variable first (a `producer | grep -q` under pipefail is false when grep exits
# early and the producer gets SIGPIPE, which would hide a match); an empty or foreign cmdline
# would make the check vacuous, so it must be this client's.
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
log "client pid $pid: $cmdline"
case "$cmdline" in *sstp-client*) ;; *) fail "pid $pid is not the sstp-client: '$cmdline'" ;; esac
if grep -qF -- "$PW" <<<"$cmdline"; then fail "password in argv: $cmdline"; fi

# ---- traffic: home workstation -> office workstation through the tunnel (the manual's route)
hctl /ip route add dst-address=198.19.101.0/24 gateway=198.18.16.1
kernel_route() { output_has '^198.19.101.0/24 via 198.18.16.1 dev sstp-out1' nsx home ip route show; }
wait_for 5 "the kernel route on the home router" kernel_route
output_has 'route,info kernel route 198.19.101.0/24 via 198.18.16.1 metric 1 installed' \
  hctl /log print || fail "no 'kernel route installed' in the home /log print"
nsx hws ping -c 3 -W 2 198.19.202.1 >/dev/null || fail "home workstation -> home router"
nsx hws ping -c 5 -W 2 198.19.101.10 || fail "home workstation -> office workstation"
nsx ows ping -c 3 -W 2 198.19.202.10 || fail "office workstation -> home workstation"

# ---- supervision: a client that dies is started again
kill -KILL "$pid"
wait_for 10 "the killed client reaped" output_has 'sstp-client killed by signal 9' hctl /log print
wait_for 30 "a new client connected" client_connected
pid2=$(client_pid)
[ -n "$pid2" ] && [ "$pid2" != "$pid" ] || fail "no new client pid ($pid -> $pid2)"
log "restarted: pid $pid -> $pid2"
# The kernel dropped the route with the old TUN; the control plane puts it back.
wait_for 5 "the kernel route again" kernel_route
nsx hws ping -c 2 -W 2 198.19.101.10 >/dev/null || fail "home -> office after the restart"

# ---- disable: SIGTERM, the client disconnects (the office sees it) and is reaped
hctl /interface sstp-client set 0 disabled=yes
wait_for 15 "client stopped" stopped "$pid2"
wait_for 15 "Home gone from the office's /ppp active" not_active Home
output_has 'status: "disabled"' hctl /interface sstp-client monitor 0 once || fail "monitor disabled"
[ ! -e "$conf" ] || fail "config file left after disable"

# ---- enable again, then remove
hctl /interface sstp-client set 0 disabled=no
wait_for 30 "client connected again" client_connected
pid3=$(client_pid)
hctl /interface sstp-client remove 0
wait_for 15 "client stopped after remove" stopped "$pid3"
[ ! -e "$conf" ] || fail "config file left after remove"
wait_for 15 "Home gone after remove" not_active Home

# ---- the home control plane's exit stops its clients
hctl /interface sstp-client add user=Home password="$PW" connect-to=198.18.80.1 disabled=no
wait_for 30 "client connected (last time)" client_connected
pid4=$(client_pid)
kill -TERM "$HOME_CP"
wait "$HOME_CP" 2>/dev/null || true
stopped "$pid4" || fail "client $pid4 still running after the control plane exited"
wait_for 15 "Home gone after the home control plane exited" not_active Home
if kernel_route; then fail "kernel route left after the home control plane exited"; fi
# ---- a restarted home control plane starts the persisted entry's client again; if it is killed
# outright (no chance to stop its children), the client stops too (parent-death signal), so no
# orphan keeps the tunnel and the status socket
nsx_bg home "$CP" --run-dir "$HOME_RUN" --ring "/sstpt-cpcl$$-home-ring" --kernel-routes \
  --client-bin "$BUILD/client/sstp-client" >>"$HOME_LOG" 2>&1
HOME_CP=$BG_PID
wait_for 30 "client connected after the home control plane restarted" client_connected
pid5=$(client_pid)
alive "$pid5" || fail "no client after restart"
kill -KILL "$HOME_CP"
wait "$HOME_CP" 2>/dev/null || true
wait_for 15 "client gone after its control plane was killed" stopped "$pid5"
wait_for 15 "Home gone after the orphan stopped" not_active Home
if grep -q "authentication failed" "$CP_LOG"; then fail "unexpected auth failure at the office"; fi
log "PASS cp_sstp_client"
