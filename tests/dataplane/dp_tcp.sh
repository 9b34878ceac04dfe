#!/usr/bin/env bash
# The data plane's TCP stack against the Linux kernel's TCP, through af_packet on a veth:
# byte-exact SHA-256 transfers through the echo, discard and chargen services with socat, nc and
# curl; the stack's client role against a kernel listener; iperf3 through the forwarding path.
# Size per transfer: 64 MiB by default (CI time), 1 GiB (the issue's figure) with SSTPT_BIG=1,
# or SSTPT_BYTES=N. Two worker lcores (SSTPT_LCORES to change): connections whose packets the
# kernel's af_packet fanout delivers to the other worker cross the hand-off ring.
TEST_TAG=dptcp
source "$(dirname "$0")/lib.sh"

BYTES=${SSTPT_BYTES:-$(( ${SSTPT_BIG:-0} == 1 ? 1 << 30 : 64 << 20 ))}
log "transfer size: $BYTES bytes each way"

ns_add dp k1 k2
link k1 dp0 k1 198.18.0.2/24
link k2 dp1 k2 198.18.2.2/24
ip -n "$K1_NS" route add 198.18.2.0/24 via 198.18.0.1
ip -n "$K2_NS" route add default via 198.18.2.1

head -c "$BYTES" /dev/urandom >"$WORK/in"
in_sha=$(sha256sum <"$WORK/in" | cut -d' ' -f1)

log "the stack's client role: the data plane connects to a kernel listener and sends chargen"
K1 sh -c "socat -u TCP-LISTEN:5001,reuseaddr STDOUT | sha256sum > '$WORK/client.sha'" &
track_pid $!
sleep 0.3
start_dp --lcores "${SSTPT_LCORES:-0-1}" --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 \
  --port net_af_packet1,iface=dp1 --address 198.18.2.1/24 \
  --echo 7 --discard 9 --chargen 19 --connect "198.18.0.2:5001,bytes=$BYTES"
for _ in $(seq 600); do [ -s "$WORK/client.sha" ] && break; sleep 0.5; done
want=$(python3 "$HERE/tcp_tool.py" chargen-sha "$BYTES")
got=$(cut -d' ' -f1 <"$WORK/client.sha" 2>/dev/null || true)
[ "$got" = "$want" ] || fail "client role: kernel received sha $got, want $want"
expect_ge svc_connect_done "$(dpstat svc_connect_done)" 1

log "echo with socat: $BYTES bytes there and back"
K1 socat -t 60 -T 120 - TCP:198.18.0.1:7 <"$WORK/in" >"$WORK/out" || fail "socat echo"
out_sha=$(sha256sum <"$WORK/out" | cut -d' ' -f1)
[ "$out_sha" = "$in_sha" ] || fail "echo: sha $out_sha != $in_sha ($(stat -c %s "$WORK/out") bytes back)"
log "ok: echo sha256 $out_sha"

log "discard with nc: $BYTES bytes"
before=$(dpstat svc_discard_bytes)
K1 sh -c "nc -N 198.18.0.1 9 < '$WORK/in'" || fail "nc discard"
for _ in $(seq 50); do
  after=$(dpstat svc_discard_bytes)
  [ $(( after - before )) -ge "$BYTES" ] && break
done
[ $(( after - before )) -eq "$BYTES" ] || fail "discard got $(( after - before )) of $BYTES bytes"
log "ok: discard received exactly $BYTES bytes"

log "chargen with curl (HTTP/0.9 reads the raw stream): $BYTES bytes"
got=$(K1 sh -c "curl -s --http0.9 --max-time 300 http://198.18.0.1:19/ | head -c $BYTES | sha256sum" |
  cut -d' ' -f1)
[ "$got" = "$want" ] || fail "chargen via curl: sha $got, want $want"
log "ok: chargen sha256 $got"

log "iperf3 through the data plane's forwarding path, both directions"
nsx_bg k2 iperf3 -s -1 -B 198.18.2.2 >/dev/null 2>&1
wait_for 10 "iperf3 server" listening k2 5201
K1 iperf3 -c 198.18.2.2 -n "$BYTES" -J >"$WORK/iperf-up.json" || fail "iperf3 upload"
nsx_bg k2 iperf3 -s -1 -B 198.18.2.2 >/dev/null 2>&1
wait_for 10 "iperf3 server" listening k2 5201
K1 iperf3 -c 198.18.2.2 -n "$BYTES" -R -J >"$WORK/iperf-down.json" || fail "iperf3 download"
python3 - "$WORK/iperf-up.json" "$WORK/iperf-down.json" "$BYTES" <<'PY'
import json, sys
# iperf3 measures; the byte-exact checks are the SHA-256 ones above. Its receiver total is
# sampled when the sender finishes, so only the sender's count is exact.
for path in sys.argv[1:3]:
    d = json.load(open(path))
    assert "error" not in d, d.get("error")
    sent, got = d["end"]["sum_sent"]["bytes"], d["end"]["sum_received"]["bytes"]
    print(f"iperf3 {path.rsplit('/',1)[1]}: {sent} bytes sent, {got} received by the end, "
          f"{d['end']['sum_received']['bits_per_second']/1e6:.0f} Mbit/s", file=sys.stderr)
    assert sent >= int(sys.argv[3]) and got > 0, f"{path}: sent {sent}, received {got}"
PY
expect_ge ip_forwarded "$(dpstat ip_forwarded)" 1000
log "segments handed between workers: $(dpstat handoff_out) (lost: $(dpstat handoff_full))"
stop_dp
log "PASS"
