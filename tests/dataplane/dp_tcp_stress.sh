#!/usr/bin/env bash
# The data plane's TCP stack under stress against the Linux kernel: deterministic fault injection
# in the port layer (drop, reorder, duplicate, corrupt), kernel-side random drops (nftables
# numgen), 1,000 concurrent echo connections, and a SYN flood from the kernel side while an
# established connection keeps moving data. Byte-exact SHA-256 checks throughout.
# Size per transfer: 16 MiB by default (CI time; lossy transfers are slow by design),
# SSTPT_BIG=1 for 1 GiB, or SSTPT_STRESS_BYTES=N.
TEST_TAG=dpstr
source "$(dirname "$0")/lib.sh"

BYTES=${SSTPT_STRESS_BYTES:-$(( ${SSTPT_BIG:-0} == 1 ? 1 << 30 : 16 << 20 ))}
log "transfer size: $BYTES bytes each way"
ns_add dp k1
link k1 dp0 k1 198.18.0.2/24
head -c "$BYTES" /dev/urandom >"$WORK/in"
in_sha=$(sha256sum <"$WORK/in" | cut -d' ' -f1)

echo_check() {  # echo_check WHAT: socat through the echo service, compare SHA-256
  K1 socat -t 120 -T 300 - TCP:198.18.0.1:7 <"$WORK/in" >"$WORK/out" || fail "$1: socat"
  local out_sha
  out_sha=$(sha256sum <"$WORK/out" | cut -d' ' -f1)
  [ "$out_sha" = "$in_sha" ] || fail "$1: sha $out_sha != $in_sha"
  log "ok: $1: $BYTES bytes echoed, sha256 matches"
}

log "fault injection in the data plane's port layer (seeded, both directions)"
start_dp --lcores 0 --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 --echo 7 \
  --fault seed=42,drop=0.5%,reorder=0.5%,duplicate=0.5%,corrupt=0.1%
echo_check "faults"
for c in fault_drop fault_reorder fault_duplicate fault_corrupt; do
  expect_ge "$c" "$(dpstat $c)" 1
done
expect_ge tcp.retransmits "$(tcp_stat retransmits)" 1
stop_dp

log "kernel-side random drops: nftables numgen random, 2% each way"
K1 nft -f - <<'NFT'
table inet sstpt_drop {
  chain in { type filter hook input priority 0; ip saddr 198.18.0.1 numgen random mod 100 < 2 drop; }
  chain out { type filter hook output priority 0; ip daddr 198.18.0.1 numgen random mod 100 < 2 drop; }
}
NFT
start_dp --lcores 0 --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 --echo 7
echo_check "nftables drops"
expect_ge tcp.retransmits "$(tcp_stat retransmits)" 1
K1 nft delete table inet sstpt_drop
stop_dp

log "1,000 concurrent connections through echo, 2 worker lcores"
start_dp --lcores 0-1 --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 --echo 7 \
  --route 198.19.0.0/16,via=198.18.0.2
K1 sh -c "ulimit -n 8192; python3 '$HERE/tcp_tool.py' many 198.18.0.1 7 1000 16384" ||
  fail "1000 concurrent connections"
expect_ge tcp.conns_accepted "$(tcp_stat conns_accepted)" 1000

log "SYN flood from the kernel side while an established connection moves data"
# Spoofed sources in 198.19.0.0/16 are routed back to k1, which drops the SYN-ACKs.
K1 socat -t 120 -T 300 - TCP:198.18.0.1:7 <"$WORK/in" >"$WORK/out" &
echo_pid=$!
track_pid $echo_pid
K1 python3 "$HERE/tcp_tool.py" synflood 198.18.0.1 7 10 198.19.0.0/16 >"$WORK/syns" &
flood_pid=$!
track_pid $flood_pid
sleep 3
# New connections still get through during the flood (SYN cookies once the queue is full).
head -c 1048576 /dev/urandom >"$WORK/small"
K1 socat -t 30 -T 60 - TCP:198.18.0.1:7 <"$WORK/small" >"$WORK/small.out" ||
  fail "new connection during the flood"
cmp -s "$WORK/small" "$WORK/small.out" || fail "new connection during the flood: data differs"
wait "$flood_pid" || fail "SYN flooder"
wait "$echo_pid" || fail "echo during the flood"
out_sha=$(sha256sum <"$WORK/out" | cut -d' ' -f1)
[ "$out_sha" = "$in_sha" ] || fail "echo during the flood: sha $out_sha != $in_sha"
log "ok: $(cat "$WORK/syns") SYNs sent; established transfer intact"
expect_ge tcp.syn_in "$(tcp_stat syn_in)" 1000
expect_ge tcp.syncookies_sent "$(tcp_stat syncookies_sent)" 1
stop_dp
log "PASS"
