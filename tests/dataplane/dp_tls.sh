#!/usr/bin/env bash
# TLS on the data plane's userspace TCP stack against real peers, through af_packet on a veth:
# the --tls-echo / --tls-http services (dataplane/tls_service.h) with socat, curl and
# openssl s_client, for TLS 1.2 and 1.3 and each AEAD suite (AES-128-GCM, AES-256-GCM,
# ChaCha20-Poly1305); client certificates accepted and refused; the data plane's TLS client role
# against openssl s_server. Every transfer is checked byte for byte with SHA-256, and the suite
# the data plane's record layer carried is checked in its log.
# Bad input (dp_tls_tool.py): corrupted tag, oversized record, undefined content type, garbage
# ClientHello each end that connection with the right alert and a FIN; close_notify is answered.
# Size per echo transfer: 64 MiB by default (6 echo cases = 384 MiB each way, 768 MiB moved,
# plus the downloads); SSTPT_BIG=1 for 256 MiB per case, or SSTPT_BYTES=N.
TEST_TAG=dptls
source "$(dirname "$0")/lib.sh"

BYTES=${SSTPT_BYTES:-$(( ${SSTPT_BIG:-0} == 1 ? 256 << 20 : 64 << 20 ))}
DL=$(( BYTES / 2 ))
log "echo size: $BYTES bytes each way per case; downloads: $DL bytes"

ns_add dp k1
link k1 dp0 k1 198.18.0.2/24

# --- certificates: a CA, the server (tls.test), a client signed by the CA, a rogue client ---
cd "$WORK"
cat >ext.cnf <<'EOF'
[srv]
subjectAltName = DNS:tls.test
extendedKeyUsage = serverAuth
[cli]
extendedKeyUsage = clientAuth
EOF
gen() {  # gen NAME SUBJECT [CA-NAME EXT]
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -subj "$2" -out "$1.csr" 2>/dev/null
  if [ -n "${3:-}" ]; then
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 \
      -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
  else
    openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 2 -out "$1.pem" \
      -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,digitalSignature\n') \
      2>/dev/null
  fi
}
gen ca "/CN=sstpt test CA"
gen server "/CN=tls.test" ca srv
gen client "/CN=sstpt client" ca cli
gen rogueca "/CN=rogue CA"
gen rogue "/CN=rogue client" rogueca cli
cd - >/dev/null

head -c "$BYTES" /dev/urandom >"$WORK/in"
in_sha=$(sha256sum <"$WORK/in" | cut -d' ' -f1)
small_sha=$(head -c 1048576 "$WORK/in" | sha256sum | cut -d' ' -f1)
dl_sha=$(python3 "$HERE/tcp_tool.py" chargen-sha "$DL")

# --- the client role's peers: openssl s_server (TLS 1.3 and TLS 1.2), started first ---
mkfifo "$WORK/hold"
sleep 1800 >"$WORK/hold" &
track_pid $!
for v in 3 2; do
  K1 openssl s_server -accept "198.18.0.2:544$v" -cert "$WORK/server.pem" -key "$WORK/server.key" \
    -naccept 1 -quiet "-tls1_$v" <"$WORK/hold" >"$WORK/s_server$v.out" 2>"$WORK/s_server$v.err" &
  eval "S_SERVER$v=$!"
  track_pid $!
done
# A server whose certificate does not lead to ca.pem: the client role must refuse it.
K1 openssl s_server -accept 198.18.0.2:5441 -cert "$WORK/rogue.pem" -key "$WORK/rogue.key" \
  -naccept 1 -quiet <"$WORK/hold" >"$WORK/s_server_rogue.out" 2>/dev/null &
track_pid $!
sleep 0.5

start_dp --lcores "${SSTPT_LCORES:-0-1}" --port net_af_packet0,iface=dp0 --address 198.18.0.1/24 \
  --tls-cert "$WORK/server.pem" --tls-key "$WORK/server.key" --tls-ca "$WORK/ca.pem" \
  --tls-echo 4433 --tls-http 4434 --tls-echo 4435,client-cert=required --echo 7 \
  --tls-http 4436,client-cert=required \
  --tls-server-name tls.test --tls-handshake-timeout 3 \
  --tls-connect "198.18.0.2:5443,bytes=$DL" --tls-connect "198.18.0.2:5442,bytes=$DL" \
  --tls-connect "198.18.0.2:5441,bytes=$DL"

# last_suite: the suite of the most recent handshake in the data plane's log.
last_suite() {
  sleep 0.2
  grep ': established ' "$WORK/dp.log" | tail -1 | sed 's/.*established \([^,]*\),.*/\1/'
}
expect_suite() {
  local got
  got=$(last_suite)
  [ "$got" = "$1" ] ||
    fail "record layer carried '$got', want '$1'; handshakes: $(grep -c ': established ' "$WORK/dp.log")"
}

# The client's version and suites through an OpenSSL config (socat has no TLS 1.3 suite option).
ossl_conf() {  # ossl_conf VERSION(2|3) SUITE
  local f="$WORK/ossl-$1-$2.cnf"
  cat >"$f" <<EOF
openssl_conf = conf
[conf]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
MinProtocol = TLSv1.$1
MaxProtocol = TLSv1.$1
EOF
  if [ "$1" = 3 ]; then echo "CipherSuites = $2" >>"$f"; else echo "CipherString = $2" >>"$f"; fi
  echo "$f"
}

SUITES13="TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256"
SUITES12="ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305"
SOCAT_TLS="cafile=$WORK/ca.pem,commonname=tls.test,verify=1"

# --- the client role: the data plane sent DL chargen bytes to each s_server ---
want_client=$(python3 "$HERE/tcp_tool.py" chargen-sha "$DL")
for v in 3 2; do
  pid_var="S_SERVER$v"
  for _ in $(seq 600); do kill -0 "${!pid_var}" 2>/dev/null || break; sleep 0.5; done
  got=$(sha256sum <"$WORK/s_server$v.out" | cut -d' ' -f1)
  [ "$got" = "$want_client" ] ||
    fail "client role TLS 1.$v: s_server got $(stat -c %s "$WORK/s_server$v.out") bytes, sha $got"
  log "ok: client role -> openssl s_server -tls1_$v: $DL bytes, sha256 matches"
done
grep -q "198.18.0.2:5443: established TLSv1.3" "$WORK/dp.log" || fail "client role: no TLS 1.3"
grep -q "198.18.0.2:5442: established TLSv1.2" "$WORK/dp.log" || fail "client role: no TLS 1.2"
try_wait_for 20 "the client role's verdict on the rogue server" \
  dp_log_has "198.18.0.2:5441: handshake failed" ||
  fail "client role accepted a server certificate that does not lead to the CA"
grep -q "198.18.0.2:5441: established" "$WORK/dp.log" && fail "client role: rogue server established"
[ ! -s "$WORK/s_server_rogue.out" ] || fail "client role sent data to a rogue server"
log "ok: client role refused a server certificate from another CA:" \
  "$(grep '198.18.0.2:5441: handshake failed' "$WORK/dp.log" | sed 's/.*handshake failed: //')"

# Reference for the throughput figures below: plain TCP echo (no TLS) on the same stack and path.
t0=$(date +%s.%N)
K1 socat -t 60 -T 300 - TCP:198.18.0.1:7 <"$WORK/in" >"$WORK/out" || fail "plain TCP echo"
t1=$(date +%s.%N)
[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" = "$in_sha" ] || fail "plain TCP echo: sha mismatch"
log "reference: plain TCP echo (socat, no TLS): $BYTES bytes there and back," \
  "$(python3 -c "print(f'{2*$BYTES*8/($t1-$t0)/1e6:.0f}')") Mbit/s (both directions, wall clock)"

# --- echo with socat, each version and suite ---
for v in 3 2; do
  suites=$SUITES13
  [ "$v" = 2 ] && suites=$SUITES12
  for s in $suites; do
    conf=$(ossl_conf "$v" "$s")
    t0=$(date +%s.%N)
    # socat sets its own TLS 1.2 cipher list (overriding CipherString): pass it explicitly.
    extra=""
    [ "$v" = 2 ] && extra=",cipher=$s"
    K1 env OPENSSL_CONF="$conf" socat -t 60 -T 300 - "OPENSSL:198.18.0.1:4433,$SOCAT_TLS$extra" \
      <"$WORK/in" >"$WORK/out" || fail "socat echo TLS 1.$v $s"
    t1=$(date +%s.%N)
    out_sha=$(sha256sum <"$WORK/out" | cut -d' ' -f1)
    [ "$out_sha" = "$in_sha" ] ||
      fail "echo TLS 1.$v $s: sha $out_sha ($(stat -c %s "$WORK/out") bytes back)"
    expect_suite "TLSv1.$v $s"
    log "ok: echo TLSv1.$v $s: $BYTES bytes there and back, sha256 matches," \
      "$(python3 -c "print(f'{2*$BYTES*8/($t1-$t0)/1e6:.0f}')") Mbit/s (both directions, wall clock)"
  done
done
n=$(grep -c 'closed (normal) .*close_notify received' "$WORK/dp.log" || true)
[ "$n" -ge 6 ] || fail "only $n echo connections ended with close_notify and a normal TCP close"
# 16 KiB records over 1460-byte segments: the record layer opened records spanning several mbufs.
span=$(grep 'closed (normal) .*close_notify received' "$WORK/dp.log" |
  sed -n 's/.*(\([0-9]*\) over several mbufs).*/\1/p' | awk '{s+=$1} END {print s+0}')
expect_ge "records opened over several mbufs" "$span" 1

# --- downloads with curl, each version and suite ---
CURL=(curl -sS --fail --max-time 600 --cacert "$WORK/ca.pem" --resolve tls.test:4434:198.18.0.1)
curl_download() {  # curl_download VERSION SUITE-OPTION SUITE
  local t0 t1 got
  t0=$(date +%s.%N)
  got=$(K1 "${CURL[@]}" "--tlsv$1" --tls-max "$1" "$2" "$3" "https://tls.test:4434/$DL" |
    sha256sum | cut -d' ' -f1)
  [ "$got" = "$dl_sha" ] || fail "curl TLS $1 $3: sha $got, want $dl_sha"
  t1=$(date +%s.%N)
  expect_suite "TLSv$1 $3"
  log "ok: curl TLSv$1 $3: $DL bytes, sha256 matches," \
    "$(python3 -c "print(f'{$DL*8/($t1-$t0)/1e6:.0f}')") Mbit/s (wall clock)"
}
for s in $SUITES13; do curl_download 1.3 --tls13-ciphers "$s"; done
for s in $SUITES12; do curl_download 1.2 --ciphers "$s"; done

# --- openssl s_client: an HTTP request, the body checked ---
for v in 3 2; do
  if [ "$v" = 3 ]; then sopt=(-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256); want="TLSv1.3 TLS_CHACHA20_POLY1305_SHA256"
  else sopt=(-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384); want="TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384"; fi
  printf 'GET /%s HTTP/1.0\r\nHost: tls.test\r\n\r\n' "$DL" |
    K1 openssl s_client -quiet -ign_eof -connect 198.18.0.1:4434 -servername tls.test \
      -CAfile "$WORK/ca.pem" -verify_return_error -verify_hostname tls.test "${sopt[@]}" \
      >"$WORK/s_client.out" 2>"$WORK/s_client.err" || fail "s_client TLS 1.$v: $(cat "$WORK/s_client.err")"
  got=$(python3 -c 'import sys,hashlib; d=open(sys.argv[1],"rb").read(); h,_,b=d.partition(b"\r\n\r\n"); assert h.startswith(b"HTTP/1.0 200"), h[:80]; print(hashlib.sha256(b).hexdigest())' "$WORK/s_client.out") ||
    fail "s_client TLS 1.$v: bad response"
  [ "$got" = "$dl_sha" ] || fail "s_client TLS 1.$v: body sha $got"
  expect_suite "$want"
  log "ok: openssl s_client $want: $DL bytes, sha256 matches"
done

# --- client certificates (port 4435 requires one signed by ca.pem) ---
head -c 1048576 "$WORK/in" >"$WORK/in1"
K1 socat -t 30 -T 60 - "OPENSSL:198.18.0.1:4435,$SOCAT_TLS,cert=$WORK/client.pem,key=$WORK/client.key" \
  <"$WORK/in1" >"$WORK/out" || fail "socat with a client certificate"
[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" = "$small_sha" ] || fail "echo with a client certificate"
last=$(grep ': established ' "$WORK/dp.log" | tail -1)
grep -q 'peer certificate.*sstpt client' <<<"$last" ||
  fail "client certificate not seen by the data plane"
log "ok: client certificate signed by the CA accepted, 1 MiB echoed"

refused() {  # refused WHAT SOCAT-EXTRA
  local before after
  before=$(grep -c 'handshake failed' "$WORK/dp.log" || true)
  K1 socat -t 5 -T 10 - "OPENSSL:198.18.0.1:4435,$SOCAT_TLS$2" <"$WORK/in1" >"$WORK/out" \
    2>/dev/null || true
  [ ! -s "$WORK/out" ] || fail "$1: $(stat -c %s "$WORK/out") bytes echoed"
  for _ in $(seq 50); do
    after=$(grep -c 'handshake failed' "$WORK/dp.log" || true)
    [ "$after" -gt "$before" ] && break
    sleep 0.1
  done
  [ "$after" -gt "$before" ] || fail "$1: no handshake failure logged"
  log "ok: $1 refused: $(grep 'handshake failed' "$WORK/dp.log" | tail -1 | sed 's/.*handshake failed: //')"
}
refused "no client certificate" ""
refused "certificate from another CA" ",cert=$WORK/rogue.pem,key=$WORK/rogue.key"
# curl against the HTTP service that requires a client certificate, with and without one.
CURLC=(curl -sS --fail --max-time 120 --cacert "$WORK/ca.pem" --resolve tls.test:4436:198.18.0.1)
got=$(K1 "${CURLC[@]}" --cert "$WORK/client.pem" --key "$WORK/client.key" \
  "https://tls.test:4436/1048576" | sha256sum | cut -d' ' -f1)
[ "$got" = "$(python3 "$HERE/tcp_tool.py" chargen-sha 1048576)" ] || fail "curl with a client certificate"
log "ok: curl with a client certificate: 1 MiB, sha256 matches"
for tlsv in 1.3 1.2; do
  if K1 "${CURLC[@]}" "--tlsv$tlsv" --tls-max "$tlsv" "https://tls.test:4436/1048576" \
    >"$WORK/out" 2>"$WORK/curl.err"; then
    fail "curl TLS $tlsv without a client certificate got an answer"
  fi
  [ ! -s "$WORK/out" ] || fail "curl TLS $tlsv without a client certificate: data received"
  log "ok: curl TLS $tlsv without a client certificate refused: $(tr '\n' ' ' <"$WORK/curl.err")"
done
# TLS 1.2 refuses inside the handshake, before the client can send anything: socat fails.
conf=$(ossl_conf 2 ECDHE-ECDSA-AES128-GCM-SHA256)
if K1 env OPENSSL_CONF="$conf" socat -t 5 -T 10 - \
  "OPENSSL:198.18.0.1:4435,$SOCAT_TLS,cipher=ECDHE-ECDSA-AES128-GCM-SHA256" \
  <"$WORK/in1" >"$WORK/out" 2>/dev/null; then
  fail "TLS 1.2 without a client certificate connected"
fi
[ ! -s "$WORK/out" ] || fail "TLS 1.2 without a client certificate: data echoed"
log "ok: TLS 1.2 without a client certificate: the client's handshake fails"

# --- bad input: each ends that connection with the right alert, then FIN (dp_tls_tool.py) ---
for v in 1.3 1.2; do
  for c in close_notify bad_tag oversized bad_type; do
    r=$(K1 python3 "$HERE/dp_tls_tool.py" 198.18.0.1 4433 "$WORK/ca.pem" tls.test "$v" "$c" 2>&1) ||
      fail "TLS $v $c: $r"
    log "ok: $r"
  done
done
r=$(K1 python3 "$HERE/dp_tls_tool.py" 198.18.0.1 4433 "$WORK/ca.pem" tls.test 1.3 keyupdate 2>&1) ||
  fail "KeyUpdate: $r"
log "ok: $r"
r=$(K1 python3 "$HERE/dp_tls_tool.py" 198.18.0.1 4433 "$WORK/ca.pem" tls.test 1.3 garbage_hello 2>&1) ||
  fail "garbage ClientHello: $r"
log "ok: $r"
r=$(K1 python3 "$HERE/dp_tls_tool.py" 198.18.0.1 4433 "$WORK/ca.pem" tls.test 1.3 stall 2>&1) ||
  fail "stalled handshake: $r"
log "ok: $r"
grep -q 'handshake failed: .*did not complete within' "$WORK/dp.log" || fail "no handshake timeout logged"
# The service is still serving after all that.
K1 socat -t 30 -T 60 - "OPENSSL:198.18.0.1:4433,$SOCAT_TLS" <"$WORK/in1" >"$WORK/out" ||
  fail "echo after the bad input"
[ "$(sha256sum <"$WORK/out" | cut -d' ' -f1)" = "$small_sha" ] || fail "echo after the bad input"
log "ok: echo still works after the bad input"

# --- 32 concurrent TLS echo connections (spread over both workers) ---
pids=()
for i in $(seq 32); do
  K1 socat -t 60 -T 120 - "OPENSSL:198.18.0.1:4433,$SOCAT_TLS" <"$WORK/in1" >"$WORK/par$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent socat failed"; done
for i in $(seq 32); do
  [ "$(sha256sum <"$WORK/par$i" | cut -d' ' -f1)" = "$small_sha" ] || fail "concurrent echo $i"
done
log "ok: 32 concurrent TLS echo connections, 1 MiB each, sha256 matches"

log "echo throughput (data plane's view, per connection):"
grep 'closed (normal) TLSv1.[23] .*close_notify received' "$WORK/dp.log" | sed 's/.*: closed/  closed/' |
  sed -n 1,6p >&2
stop_dp
log "PASS"
