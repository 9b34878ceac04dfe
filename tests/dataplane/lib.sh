# Shared helpers for the data plane's integration tests (sourced by the test scripts), on top of
# scripts/lib/netns.sh (namespaces, wait_for, output_has, dp_start/dp_stop, the EXIT trap).
#
# Topology: the data plane runs in its own namespace ($DP_NS = ${P}dp) with af_packet on one end
# of each veth pair; the Linux kernel sits in other namespaces ($K1_NS = ${P}k1, $K2_NS = ${P}k2)
# with 198.18.0.0/15 addresses. Offloads are off on the veths so the kernel sends real segments
# with full checksums (ethtool_off.py). Everything created is removed by the EXIT trap, also on
# failure.
set -euo pipefail

DP=${1:?usage: $0 PATH_TO_SSTP_DATAPLANE}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/netns.sh
source "$HERE/../../scripts/lib/netns.sh"
sstpt_init "${TEST_TAG:-dp}"
DP_NS=${P}dp
K1_NS=${P}k1
K2_NS=${P}k2
WORK=$W
show_on_failure "$DP_LOG"
# Only matters for a -Dsanitize build: leaks inside PMD libraries are not ours.
export LSAN_OPTIONS="suppressions=$HERE/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# K1 CMD...: CMD in the first kernel namespace.
K1() { nsx k1 "$@"; }

# link KNS DPIF KIF KADDR/LEN [MTU]: a veth pair, DPIF in the data plane's namespace, KIF in
# ${P}KNS (KNS is k1 or k2).
link() {
  local kns=$1 dpif=$2 kif=$3 kaddr=$4 mtu=${5:-1500}
  ip link add "$dpif" netns "$DP_NS" mtu "$mtu" type veth peer name "$kif" netns "${P}$kns" \
    mtu "$mtu"
  offloads_off "dp:$dpif" "$kns:$kif"
  ip -n "$DP_NS" link set "$dpif" up
  ip -n "${P}$kns" addr add "$kaddr" dev "$kif"
  ip -n "${P}$kns" link set "$kif" up
  # Accept the data plane's gratuitous ARP (RFC 5227 announcement) into the neighbour table.
  nsx "$kns" sysctl -qw net.ipv4.conf.all.arp_accept=1 net.ipv4.conf."$kif".arp_accept=1
}

# start_dp ARGS...: runs sstp-dataplane in $DP_NS and waits until every worker is up.
start_dp() {
  dp_start dp --memory 512 --mbufs 32768 --idle-sleep 20 --stats-file "$WORK/stats.json" \
    --stats-interval 100 "$@"
}
stop_dp() { dp_stop || fail "sstp-dataplane exited with $?"; }

# dpstat NAME: the total of a data plane counter (from the stats file, refreshed every 100 ms).
dpstat() {
  sleep 0.25
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"][sys.argv[2]])' \
    "$WORK/stats.json" "$1"
}
# tcp_stat NAME: a TCP stack counter summed over the workers.
tcp_stat() {
  sleep 0.25
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(l.get("tcp",{}).get(sys.argv[2],0) for l in d["lcores"]))' \
    "$WORK/stats.json" "$1"
}

# expect_ge NAME VALUE MIN
expect_ge() {
  [ "$2" -ge "$3" ] || fail "$1 = $2, expected >= $3"
  log "ok: $1 = $2 (>= $3)"
}
