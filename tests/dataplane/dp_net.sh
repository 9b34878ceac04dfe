#!/usr/bin/env bash
# The data plane's network layer against the Linux kernel: gratuitous ARP, ARP both ways, ping
# of its addresses (small and MTU-sized), forwarding between two links, proxy-ARP, ICMP
# fragmentation-needed with the next-hop MTU, time exceeded, net unreachable, and the same with
# two worker lcores; then af_xdp and net_tap ports. (802.1Q is covered by the unit tests: this kernel has no 8021q module.)
TEST_TAG=dpnet
source "$(dirname "$0")/lib.sh"

ns_add dp k1 k2
link k1 dp0 k1 198.18.0.2/24
link k2 dp1 k2 198.18.2.2/24 1400
# k1 reaches 198.18.2.0/24 "on link" (proxy-ARP answers for it) and 198.19.0.0/16 via the data plane.
ip -n "$K1_NS" route add 198.18.2.0/24 dev k1
ip -n "$K1_NS" route add 198.19.0.0/16 via 198.18.0.1
ip -n "$K2_NS" route add default via 198.18.2.1

run_checks() {
  log "gratuitous ARP: k1 knows the data plane's MAC before any traffic"
  local mac
  mac=$(nsx dp cat /sys/class/net/dp0/address)
  wait_for 2 "k1's neighbour entry from the announcement" \
    output_has "$mac" ip -n "$K1_NS" neigh show 198.18.0.1

  log "ping the data plane's address (the reply needs ARP resolution of k1)"
  K1 ping -c 5 -i 0.2 -W 2 198.18.0.1 >/dev/null || fail "ping 198.18.0.1"
  K1 ping -c 3 -i 0.2 -W 2 -M do -s 1472 198.18.0.1 >/dev/null ||
    fail "1500-byte ping"
  expect_ge arp_request_out "$(dpstat arp_request_out)" 1
  expect_ge icmp_echo_reply_out "$(dpstat icmp_echo_reply_out)" 8

  log "forwarding and proxy-ARP: k1 -> 198.18.2.2 on the other link"
  ip -n "$K1_NS" neigh flush dev k1
  K1 ping -c 3 -i 0.2 -W 2 198.18.2.2 >/dev/null || fail "ping through the data plane"
  output_has "$mac" ip -n "$K1_NS" neigh show 198.18.2.2 || fail "198.18.2.2 not proxy-ARPed to $mac"
  expect_ge arp_proxy_reply_out "$(dpstat arp_proxy_reply_out)" 1
  expect_ge ip_forwarded "$(dpstat ip_forwarded)" 6

  log "fragmentation needed: DF packet larger than the 1400-byte next hop"
  local out
  ip -n "$K1_NS" route flush cache  # forget a PMTU learned in an earlier run
  out=$(K1 ping -c 1 -W 2 -M do -s 1450 198.18.2.2 2>&1 || true)
  grep -qE "mtu ?= ?1400" <<<"$out" || fail "no frag-needed with mtu 1400: $out"
  expect_ge ip_frag_needed "$(dpstat ip_frag_needed)" 1
  # The kernel took the MTU from our ICMP message into its route cache (RFC 1191).
  output_has "mtu 1400" ip -n "$K1_NS" route get 198.18.2.2 || fail "kernel did not learn PMTU 1400"
  K1 ping -c 2 -i 0.2 -W 2 -M do -s 1372 198.18.2.2 >/dev/null ||
    fail "1400-byte packet through the data plane"

  log "time exceeded and net unreachable"
  out=$(K1 ping -c 1 -W 2 -t 1 198.18.2.2 2>&1 || true)
  grep -qi "time to live exceeded" <<<"$out" || fail "no time exceeded: $out"
  out=$(K1 ping -c 1 -W 2 198.19.99.1 2>&1 || true)
  grep -qi "unreachable" <<<"$out" || fail "no net unreachable: $out"
  expect_ge icmp_error_out "$(dpstat icmp_error_out)" 3
}

log "one worker lcore"
start_dp --lcores 0 --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 --arp proxy-arp \
  --port net_af_packet1,iface=dp1 --address 198.18.2.1/24 --mtu 1400
run_checks
stop_dp

log "two worker lcores (af_packet fanout, per-lcore ARP tables kept in step)"
ip -n "$K1_NS" neigh flush dev k1
ip -n "$K2_NS" neigh flush dev k2
# This run reads its ports from a config file (the same keys as the options).
cat >"$WORK/dp.conf" <<'CONF'
lcores 0-1
port net_af_packet0,iface=dp0
  address 198.18.0.1/24
  arp proxy-arp          # answer for 198.18.2.0/24 on this link
port net_af_packet1,iface=dp1
  address 198.18.2.1/24
  mtu 1400
CONF
start_dp --config "$WORK/dp.conf"
run_checks
log "SIGUSR1 prints the counters"
kill -USR1 "$DP_PID"
wait_for 5 "the counter dump after SIGUSR1" dp_log_has "^-- total"
grep -q "^icmp_echo_reply_out" "$WORK/dp.log" || fail "counter dump lacks icmp_echo_reply_out"
stop_dp

log "other virtual ports: af_xdp on the same veth, and the default tap device"
ip -n "$K1_NS" route flush cache
start_dp --lcores 0 --port net_af_xdp0,iface=dp0 --address 198.18.0.1/24
K1 ping -c 3 -i 0.2 -W 2 -s 1472 198.18.0.1 >/dev/null || fail "ping over af_xdp"
stop_dp
# No --port: the embedded default, a tap device named sstp-dp0.
start_dp --lcores 0 --address 198.18.6.1/24
ip -n "$DP_NS" addr add 198.18.6.2/24 dev sstp-dp0
ip -n "$DP_NS" link set sstp-dp0 up
nsx dp ping -c 3 -i 0.2 -W 2 198.18.6.1 >/dev/null || fail "ping over net_tap"
stop_dp
log "PASS"
