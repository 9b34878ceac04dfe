#!/usr/bin/env python3
"""Bad input against the data plane's TLS echo service (dp_tls.sh), the client side in Python.

  dp_tls_tool.py HOST PORT CAFILE SERVER_NAME VERSION(1.2|1.3) CASE

CASE:
  close_notify   echo a message, then close_notify: the service answers close_notify, then FIN
  bad_tag        a record whose tag is corrupted: bad_record_mac alert, then FIN
  oversized      a record header longer than the protocol allows: record_overflow alert, then FIN
  bad_type       a record of an undefined content type: unexpected_message alert, then FIN
  garbage_hello  garbage instead of a ClientHello: one plaintext alert record, then FIN
  keyupdate      TLS 1.3 through openssl s_client: echo, KeyUpdate with update_requested ("K"),
                 echo, KeyUpdate without ("k"), echo: every echo comes back, so the service
                 opened records under the client's new keys and its own records stayed readable
                 (whether it answered update_requested is not visible from s_client)
  stall          half a ClientHello, then silence: the service closes the connection when its
                 handshake deadline passes (at most one alert record, then FIN)

The handshake runs through ssl.MemoryBIO so that raw records can be put on the wire after it.
"Then FIN" is checked as: exactly one TLS record arrives after the bad input, then end of stream.
Prints what happened; exit status 0 when the service behaved as described.
"""
import socket
import ssl
import subprocess
import sys
import threading


def recv_all(s):
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            raise SystemExit("connection reset instead of an alert and FIN")
        if not d:
            return data
        data += d


def records(data):
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        out.append((data[i], data[i + 5:i + 5 + n]))
        i += 5 + n
    if i != len(data):
        raise SystemExit(f"trailing partial record: {len(data) - i} bytes")
    return out


def keyupdate(host, port, cafile, name):
    p = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"{host}:{port}", "-servername", name, "-CAfile",
         cafile, "-verify_return_error", "-tls1_3"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = b""
    watchdog = threading.Timer(90, p.kill)  # a hung peer must not hang the test
    watchdog.start()

    def wait_for(marker):
        nonlocal seen
        while marker not in seen:
            d = p.stdout.read1(65536)
            if not d:
                raise SystemExit(f"s_client ended before {marker!r}: {seen[-400:]!r}")
            seen += d

    try:
        steps = [b"echo-one", b"K", b"echo-two", b"k", b"echo-three"]
        for line in steps:
            p.stdin.write(line + b"\n")
            p.stdin.flush()
            if not line.startswith(b"echo-"):
                # s_client takes a whole read() as one command: wait before the next line.
                n = sum(1 for x in steps[:steps.index(line) + 1] if not x.startswith(b"echo-"))
                while seen.count(b"KEYUPDATE") < n:
                    d = p.stdout.read1(65536)
                    if not d:
                        raise SystemExit(f"s_client ended before KEYUPDATE: {seen[-400:]!r}")
                    seen += d
            else:
                # s_client prints what it sends nowhere: the line seen after the handshake is
                # the echo, decrypted with the service's current key.
                wait_for(line + b"\n")
        p.stdin.write(b"Q\n")
        p.stdin.flush()
        seen += p.stdout.read()  # s_client's buffered messages come out at exit
        p.wait(timeout=30)
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
    if seen.count(b"KEYUPDATE") < 2 or b"Verify return code: 0 (ok)" not in seen:
        raise SystemExit(f"s_client did not verify the server and send both KeyUpdates: {seen[-600:]!r}")
    print("TLSv1.3 KeyUpdate (update_requested and not): echoes before and after came back")
    return 0


def main():
    host, port, cafile, name, version, case = sys.argv[1:7]
    port = int(port)
    if case == "keyupdate":
        return keyupdate(host, port, cafile, name)
    s = socket.create_connection((host, port), timeout=20)
    if case == "garbage_hello":
        s.sendall(b"\x16\x03\x01\x00\x10" + b"\xff" * 16)
        recs = records(recv_all(s))
        if len(recs) != 1 or recs[0][0] != 21:
            raise SystemExit(f"want one alert record, got {[(t, len(b)) for t, b in recs]}")
        print(f"garbage ClientHello: alert level {recs[0][1][0]} description {recs[0][1][1]}, FIN")
        return 0
    if case == "stall":
        s.settimeout(300)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        recs = records(recv_all(s))
        if len(recs) > 1 or (recs and recs[0][0] != 21):
            raise SystemExit(f"want at most one alert record, got {[(t, len(b)) for t, b in recs]}")
        print(f"stalled handshake closed by the service ({len(recs)} alert record(s)), FIN")
        return 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = v
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=name)

    def flush():
        d = out.read()
        if d:
            s.sendall(d)

    def read_plain(n):
        got = b""
        while len(got) < n:
            try:
                got += tls.read(n - len(got))
                continue
            except ssl.SSLWantReadError:
                pass
            flush()
            d = s.recv(65536)
            if not d:
                raise SystemExit(f"EOF after {len(got)} of {n} echoed bytes")
            inc.write(d)
        return got

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            d = s.recv(65536)
            if not d:
                raise SystemExit("EOF during the handshake")
            inc.write(d)
    flush()
    msg = b"hello through the data plane " * 10
    tls.write(msg)
    flush()
    if read_plain(len(msg)) != msg:
        raise SystemExit("echo mismatch")

    if case == "close_notify":
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        flush()
        inc.write(recv_all(s))
        tls.unwrap()  # raises unless the peer's close_notify arrived
        print(f"{tls.version()} {tls.cipher()[0]}: echo ok, close_notify answered, FIN")
        return 0

    if case == "bad_tag":
        tls.write(b"x" * 100)
        rec = bytearray(out.read())
        rec[-1] ^= 0x01
        s.sendall(bytes(rec))
        want = "BAD_RECORD_MAC"
    elif case == "oversized":
        n = 16384 + (256 if version == "1.3" else 2048) + 1
        s.sendall(b"\x17\x03\x03" + n.to_bytes(2, "big") + b"\x00" * 64)
        want = "RECORD_OVERFLOW"
    elif case == "bad_type":
        s.sendall(b"\x63\x03\x03\x00\x20" + b"\x00" * 32)
        want = "UNEXPECTED_MESSAGE"
    else:
        raise SystemExit(f"unknown case {case}")
    data = recv_all(s)
    recs = records(data)
    if len(recs) != 1:
        raise SystemExit(f"want exactly one record (the alert), got {len(recs)}")
    inc.write(data)
    try:
        tls.read(1)
    except ssl.SSLError as e:
        if want not in (e.reason or ""):
            raise SystemExit(f"want alert {want}, got {e.reason}: {e}")
        print(f"TLSv{version} {case}: alert {e.reason}, then FIN")
        return 0
    raise SystemExit("no alert received")


if __name__ == "__main__":
    sys.exit(main())
