#!/usr/bin/env python3
"""Integration tests of sstp-client against scripted servers, in network namespaces.

    integration_test.py SSTP_CLIENT [TEST...]

Hosts are network namespaces named sstpt-cl-* joined by veths with 198.18.0.0/15 addresses:

    sstpt-cl-cli 198.18.0.2 --- 198.18.0.1 sstpt-cl-srv   (sstp_test_server.py on :443)
    sstpt-cl-cli 198.18.1.2 --- 198.18.1.1 sstpt-cl-px 198.18.2.1 --- 198.18.2.2 sstpt-cl-srv
                                           (tinyproxy, proxy tests only)

The tunnel: client 198.19.101.100, server 198.19.101.1, DNS 198.18.0.53 and .54. Every test
asserts what a user relies on (the tunnel carries packets, the status says so, errors say why, the
client comes back) and waits for it with a generous limit; a limit reached is a failure, never a
pass. Everything created is removed on exit, also on failure or interruption.
"""
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, 'sstp_test_server.py')
PY = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
NS_CLI, NS_SRV, NS_PX = 'sstpt-cl-cli', 'sstpt-cl-srv', 'sstpt-cl-px'
SERVER_NAME = 'vpn.sstpt.test'
WAIT = 30  # seconds: an upper bound for things that take well under a second

CLIENT = None
WORK = None
procs = []


def sh(cmd, check=True, ns=None, capture=True):
    if ns:
        cmd = ['ip', 'netns', 'exec', ns] + cmd
    r = subprocess.run(cmd, capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed: {r.stdout}{r.stderr}')
    return r


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    procs.clear()
    for ns in (NS_CLI, NS_SRV, NS_PX):
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)
        shutil.rmtree(f'/etc/netns/{ns}', ignore_errors=True)


def make_pki(d):
    def run(*args):
        subprocess.run(['openssl'] + list(args), check=True, capture_output=True)
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    run('req', '-x509', *ec, '-keyout', f'{d}/ca.key', '-out', f'{d}/ca.pem', '-days', '2',
        '-subj', '/CN=sstpt test CA')
    run('req', '-x509', *ec, '-keyout', f'{d}/other-ca.key', '-out', f'{d}/other-ca.pem', '-days',
        '2', '-subj', '/CN=sstpt other CA')

    def leaf(name, cn, san, usage):
        run('req', *ec, '-keyout', f'{d}/{name}.key', '-out', f'{d}/{name}.csr', '-subj', f'/CN={cn}')
        with open(f'{d}/{name}.ext', 'w') as f:
            f.write(f'basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n')
            if san:
                f.write(f'subjectAltName={san}\n')
        run('x509', '-req', '-in', f'{d}/{name}.csr', '-CA', f'{d}/ca.pem', '-CAkey', f'{d}/ca.key',
            '-CAcreateserial', '-out', f'{d}/{name}.pem', '-days', '2', '-extfile', f'{d}/{name}.ext')
    leaf('server', SERVER_NAME, f'DNS:{SERVER_NAME},IP:198.18.0.1,IP:198.18.2.2', 'serverAuth')
    leaf('wrongname', 'other.sstpt.test', 'DNS:other.sstpt.test', 'serverAuth')
    leaf('client', 'laptop', '', 'clientAuth')


def topology(proxy=False):
    cleanup()
    for ns in (NS_CLI, NS_SRV) + ((NS_PX,) if proxy else ()):
        sh(['ip', 'netns', 'add', ns])
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
    srv_ip = '198.18.2.2' if proxy else '198.18.0.1'
    # `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts: the server's name resolves
    # where the connection is made (the client, or the proxy when there is one).
    for ns in (NS_CLI, NS_PX):
        os.makedirs(f'/etc/netns/{ns}', exist_ok=True)
        with open(f'/etc/netns/{ns}/hosts', 'w') as f:
            f.write(f'127.0.0.1 localhost\n{srv_ip} {SERVER_NAME}\n')

    def link(a, a_ip, b, b_ip, name):
        sh(['ip', 'link', 'add', f'{name}a', 'netns', a, 'type', 'veth', 'peer', 'name', f'{name}b',
            'netns', b])
        sh(['ip', '-n', a, 'addr', 'add', a_ip, 'dev', f'{name}a'])
        sh(['ip', '-n', b, 'addr', 'add', b_ip, 'dev', f'{name}b'])
        sh(['ip', '-n', a, 'link', 'set', f'{name}a', 'up'])
        sh(['ip', '-n', b, 'link', 'set', f'{name}b', 'up'])
    if proxy:
        link(NS_CLI, '198.18.1.2/24', NS_PX, '198.18.1.1/24', 'sstpt-p')
        link(NS_PX, '198.18.2.1/24', NS_SRV, '198.18.2.2/24', 'sstpt-q')
        sh(['ip', 'netns', 'exec', NS_PX, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0'])
    else:
        link(NS_SRV, '198.18.0.1/24', NS_CLI, '198.18.0.2/24', 'sstpt-v')


def start(cmd, ns, log):
    f = open(log, 'w')
    p = subprocess.Popen(['ip', 'netns', 'exec', ns] + cmd, stdout=f, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    procs.append(p)
    return p


def server(*extra, listen='198.18.0.1:443', cert='server'):
    log = f'{WORK}/server.log'
    open(log, 'w').close()
    p = start([PY, SERVER, '--listen', listen, '--cert', f'{WORK}/{cert}.pem', '--key',
               f'{WORK}/{cert}.key', '--log', log] + list(extra), NS_SRV, f'{WORK}/server.out')
    wait_for(lambda: 'listening' in read(log), 'the scripted server listens')
    return p, log


def client(*extra, name=None, ns=NS_CLI):
    args = [CLIENT, '--connect-to', SERVER_NAME, '--user', 'sstp-test', '--password-file',
            f'{WORK}/pw', '--ca-file', f'{WORK}/ca.pem', '--status-socket', f'{WORK}/status.sock',
            '--dns-file', f'{WORK}/resolv.conf', '--reconnect-interval', '300ms',
            '--reconnect-max-interval', '2s'] + list(extra)
    return start(args, ns, f'{WORK}/client.out'), f'{WORK}/client.out'


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ''


def wait_for(cond, what, limit=WAIT):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f'gave up waiting ({limit} s) for: {what}')


def status():
    r = sh([CLIENT, '--status', '--status-socket', f'{WORK}/status.sock'], check=False, ns=NS_CLI)
    return r.stdout if r.returncode == 0 else ''


def field(text, name):
    m = re.search(rf'^\s*{re.escape(name)}: (.*)$', text, re.M)
    return m.group(1) if m else None


def wait_connected(count=1):
    wait_for(lambda: read(f'{WORK}/client.out').count(': connected:') >= count,
             f'the client reports "connected" ({count})')
    wait_for(lambda: field(status(), 'status') == '"connected"', '--status says connected')


def ping(dst='198.19.101.1', n=3, limit=WAIT):
    # -w: ping sends until n replies are in or the limit passes; a slow machine only waits longer.
    r = sh(['ping', '-c', str(n), '-i', '0.2', '-w', str(limit), dst], check=False, ns=NS_CLI)
    return r.returncode == 0


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    p.wait(WAIT)
    return p.returncode


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---------------------------------------------------------------------------------------------
# Tests


def test_mschap2_end_to_end():
    topology()
    _, slog = server('--auth', 'mschap2')
    p, clog = client('--use-peer-dns', '--route', '198.19.102.0/24')
    wait_connected()
    check(ping(), 'ping through the tunnel')
    st = status()
    check(field(st, 'user') == '"sstp-test"', f'status user: {st}')
    check(field(st, 'mtu') == '1500', f'status mtu: {st}')
    check(re.match(r'"198\.18\.0\.2:\d+"', field(st, 'caller-id') or ''), f'caller-id: {st}')
    check(field(st, 'uptime') is not None and field(st, 'idle-time') is not None, st)
    check(int(field(st, 'rx-packet')) >= 3 and int(field(st, 'tx-byte')) > 0, st)
    check(field(st, 'local-address') == '198.19.101.100', st)
    log = read(slog)
    check('call-connected binding=ok hash=sha256 hlak=mppe' in log, f'crypto binding: {log}')
    check('auth ok method=mschap2 user=sstp-test' in log, log)
    check(f'http-host {SERVER_NAME}' in log, 'HTTP Host is the name given')
    check('protocol-reject-sent proto=0x8057' in log, 'this server rejects IPV6CP; IPv4 goes on')
    dns = read(f'{WORK}/resolv.conf')
    check('nameserver 198.18.0.53' in dns and 'nameserver 198.18.0.54' in dns, dns)
    routes = sh(['ip', 'route', 'show', 'dev', 'sstp-out1'], ns=NS_CLI).stdout
    check('198.19.102.0/24' in routes, routes)
    check(stop(p) == 0, 'exit status 0 after SIGTERM')
    log = read(slog)
    check('lcp-terminate-request' in log and 'call-disconnect attrs=1' in log,
          f'clean CALL_DISCONNECT: {log}')
    check(not os.path.exists(f'{WORK}/resolv.conf'), 'DNS fragment removed')
    out = read(clog)
    check('authenticating: mschap2' in out and 'disconnected: stopped by SIGTERM' in out, out)


def test_ipv6cp():
    topology()
    _, slog = server('--ipv6cp')
    p, clog = client()
    wait_connected()
    wait_for(lambda: 'ipv6cp-opened' in read(slog), 'IPV6CP opens')
    wait_for(lambda: field(status(), 'remote-ipv6') == 'fe80::200:0:0:1', 'status shows IPv6')
    r = sh(['ping', '-6', '-c', '3', '-i', '0.2', '-w', str(WAIT), 'fe80::200:0:0:1%sstp-out1'],
           check=False, ns=NS_CLI)
    check(r.returncode == 0, f'ping6 through the tunnel: {r.stdout}{r.stderr}')
    check('icmp6-echo fe80::' in read(slog), read(slog))
    check(ping(), 'IPv4 as well')
    stop(p)


def test_data_flood():
    topology()
    server('--auth', 'pap')
    p, _ = client()
    wait_connected()
    # -w: wait (up to a generous limit) until every reply is in, so a slow machine does not fail.
    r = sh(['ping', '-f', '-c', '3000', '-s', '1372', '-w', '120', '198.19.101.1'], check=False,
           ns=NS_CLI)
    m = re.search(r'(\d+) packets transmitted, (\d+) received', r.stdout)
    check(m and m.group(1) == m.group(2) == '3000', f'no loss in a ping flood: {r.stdout}')
    st = status()
    check(int(field(st, 'tx-packet')) >= 3000 and int(field(st, 'rx-packet')) >= 3000, st)
    check(int(field(st, 'rx-byte')) >= 3000 * 1400, st)
    stop(p)


def test_pap_and_chap():
    for method in ('pap', 'chap'):
        topology()
        _, slog = server('--auth', method)
        p, _ = client()
        wait_connected()
        check(ping(), f'ping over {method}')
        check(f'auth ok method={method}' in read(slog), read(slog))
        check('binding=ok hash=sha256 hlak=zero' in read(slog), read(slog))
        stop(p)


def test_authentication_option_steers_the_server():
    topology()
    _, slog = server('--auth', 'mschap2')
    p, _ = client('--authentication', 'pap')
    wait_connected()
    log = read(slog)
    check('lcp-auth-nak suggested=pap' in log and 'auth ok method=pap' in log, log)
    stop(p)


def test_sha1_binding():
    topology()
    _, slog = server('--hash', 'sha1')
    p, _ = client()
    wait_connected()
    check('binding=ok hash=sha1 hlak=mppe' in read(slog), read(slog))
    stop(p)


def test_extra_headers_and_nak_then_ack():
    for sc, mark in (('extra_headers', 'http-200-sent'), ('nak_then_ack', 'call-connect-nak-sent')):
        topology()
        _, slog = server('--scenario', sc)
        p, _ = client()
        wait_connected()
        check(ping(), f'ping after {sc}')
        log = read(slog)
        check(mark in log, log)
        if sc == 'nak_then_ack':
            check(log.count('call-connect-request') == 2, log)
        stop(p)


def reconnect_after(scenario, expect, *client_args):
    topology()
    _, slog = server('--scenario', f'{scenario},normal')
    p, clog = client(*client_args)
    wait_for(lambda: 'conn 2: ipcp-opened' in read(slog), f'reconnect after {scenario}')
    wait_connected(1)
    check(ping(), f'ping after reconnecting ({scenario})')
    out = read(clog)
    check(re.search(expect, out), f'{scenario}: expected /{expect}/ in:\n{out}')
    check(p.poll() is None, 'client still running')
    stop(p)
    return read(slog), out


def test_abort_with_and_without_status():
    log, _ = reconnect_after('abort_status', r'disconnected: the server aborted the call \(.*RETRY_COUNT')
    check('conn 1: call-abort attrs=1' in log, f'client answers the abort: {log}')
    reconnect_after('abort_nostatus', r'disconnected: the server aborted the call')


def test_disconnect_by_server():
    log, _ = reconnect_after('disconnect_by_server', r'disconnected: the server disconnected')
    check('conn 1: call-disconnect-ack attrs=0' in log, log)


def test_echo_storm():
    topology()
    _, slog = server('--scenario', 'echo_storm', '--storm', '500')
    p, _ = client()
    wait_connected()
    wait_for(lambda: 'echo-storm answered=500 of 500' in read(slog), 'every echo answered')
    check(ping(), 'ping after the storm')
    check(field(status(), 'status') == '"connected"', 'still connected')
    stop(p)


def test_garbage_ppp():
    topology()
    _, slog = server('--scenario', 'garbage_ppp')
    p, _ = client()
    wait_connected()
    wait_for(lambda: 'garbage-ppp-sent' in read(slog) and 'lcp-echo-reply' in read(slog),
             'LCP still answers after garbage')
    check('lcp-protocol-reject-received proto=0x1235' in read(slog),
          f'unknown protocol rejected: {read(slog)}')
    wait_for(lambda: 'conn 1: ipcp-renegotiated' in read(slog), 'IPCP renegotiated')
    wait_connected(2)
    check(ping(), 'ping after garbage')
    check(p.poll() is None, 'client alive')
    check('conn 2' not in read(slog), 'no reconnect was needed')
    stop(p)


def test_garbage_lcp_early():
    topology()
    _, slog = server('--scenario', 'garbage_lcp_early,normal')
    p, _ = client()
    wait_connected()
    check(ping(), 'ping')
    stop(p)


def test_bad_input_reconnects():
    cases = [
        ('http404', r'disconnected: .*404'),
        ('http_garbage', r'disconnected: .*HTTP'),
        ('http_truncated', r'disconnected: .*'),
        ('truncated_sstp', r'disconnected: .*'),
        ('bad_sstp_version', r'disconnected: .*'),
        ('close_after_up', r'disconnected: the server closed the connection'),
    ]
    for sc, expect in cases:
        reconnect_after(sc, expect)


def test_keepalive_detects_a_vanished_server():
    _, out = reconnect_after('vanish', r'disconnected: ', '--keepalive-timeout', '1')


def test_auth_failure_is_reported():
    topology()
    _, slog = server('--scenario', 'auth_fail')
    p, clog = client('--once')
    p.wait(WAIT)
    check(p.returncode == 1, f'exit status {p.returncode}')
    out = read(clog)
    check(re.search(r'disconnected: authentication failed \(mschap2\)', out), out)


def test_no_server_status_and_sigterm():
    topology()  # nothing listens on 198.18.0.1:443
    p, clog = client()
    wait_for(lambda: read(clog).count('reconnecting in') >= 2, 'retries with backoff')
    st = status()
    check(field(st, 'status') == '"disconnected"', st)
    check('refused' in (field(st, 'last-error') or ''), st)
    check(field(st, 'next-attempt') is not None or field(st, 'status') == '"connecting"', st)
    check(stop(p) == 0, 'SIGTERM while reconnecting exits 0')
    check(read(clog).rstrip().endswith('stopped'), read(clog))


def test_server_restart():
    topology()
    srv, slog = server()
    p, clog = client()
    wait_connected()
    srv.kill()
    srv.wait()
    wait_for(lambda: 'disconnected:' in read(clog), 'the client notices the server is gone')
    wait_for(lambda: 'reconnecting in' in read(clog), 'the client schedules a reconnect')
    server()
    wait_connected(2)
    check(ping(), 'ping after the server came back')
    stop(p)


def test_certificate_checks():
    topology()
    server(cert='wrongname')
    p, clog = client('--once')
    p.wait(WAIT)
    out = read(clog)
    check(p.returncode == 1 and 'server certificate not trusted' in out and 'mismatch' in out, out)
    p, clog = client('--once', '--connect-to', '198.18.0.1')
    p.wait(WAIT)
    check(p.returncode == 1 and 'mismatch' in read(clog), read(clog))
    # The right name but an unknown CA.
    topology()
    server()
    p, clog = client('--once', '--ca-file', f'{WORK}/other-ca.pem')
    p.wait(WAIT)
    check(p.returncode == 1 and 'not trusted' in read(clog), read(clog))
    # Verification off: connects, and says how dangerous that is.
    topology()
    server(cert='wrongname')
    p, clog = client('--verify-server=no')
    wait_connected()
    check('WARNING: --verify-server=no' in read(clog), read(clog))
    stop(p)


def test_anonymous_tls():
    subprocess.run(['openssl', 'genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt',
                    'dh_param:ffdhe2048', '-out', f'{WORK}/dh.pem'], check=True, capture_output=True)
    topology()
    _, slog = server('--anonymous-dh', f'{WORK}/dh.pem')
    # Without the explicit option the client refuses a server without a certificate.
    p, clog = client('--once')
    p.wait(WAIT)
    check(p.returncode == 1, f'refused by default: {read(clog)}')
    p, clog = client('--anonymous-tls')
    wait_connected()
    check(ping(), 'ping over anonymous TLS')
    check('binding=ok' in read(slog), read(slog))
    check(re.search(r'warning: .*anonymous', read(clog), re.I), read(clog))
    stop(p)


def test_client_certificate():
    topology()
    server('--client-ca', f'{WORK}/ca.pem')
    p, clog = client('--once')
    p.wait(WAIT)
    check(p.returncode == 1, f'refused without a client certificate: {read(clog)}')
    topology()
    server('--client-ca', f'{WORK}/ca.pem')
    p, _ = client('--certificate', f'{WORK}/client.pem', '--certificate-key', f'{WORK}/client.key')
    wait_connected()
    check(ping(), 'ping with a client certificate')
    stop(p)


def tinyproxy(auth):
    conf = f'{WORK}/tinyproxy.conf'
    with open(conf, 'w') as f:
        f.write(f'Port 8888\nListen 198.18.1.1\nTimeout 60\nMaxClients 10\nAllow 198.18.1.0/24\n'
                f'ConnectPort 443\nLogFile "{WORK}/tinyproxy.log"\nLogLevel Connect\n'
                f'PidFile "{WORK}/tinyproxy.pid"\n')
        if auth:
            f.write('BasicAuth pu proxy-secret\n')
    open(f'{WORK}/tinyproxy.log', 'w').close()
    os.chmod(WORK, 0o777)
    os.chmod(f'{WORK}/tinyproxy.log', 0o666)
    p = start(['tinyproxy', '-d', '-c', conf], NS_PX, f'{WORK}/tinyproxy.out')
    wait_for(lambda: sh(['ss', '-ltn', 'sport = :8888'], ns=NS_PX).stdout.count('LISTEN') > 0,
             'tinyproxy listens')
    return p


def test_proxy_with_basic_auth():
    topology(proxy=True)
    _, slog = server(listen='198.18.2.2:443')
    tinyproxy(auth=True)
    check(not ping('198.18.2.2', 1, limit=2), 'the server is reachable only through the proxy')
    with open(f'{WORK}/proxy-pw', 'w') as f:
        f.write('proxy-secret\n')
    p, clog = client('--proxy', '198.18.1.1:8888', '--proxy-user', 'pu', '--proxy-password-file',
                     f'{WORK}/proxy-pw')
    wait_connected()
    check(ping(), 'ping through proxy and tunnel')
    check('accepted 198.18.2.1' in read(slog), f'the server sees the proxy: {read(slog)}')
    check(re.search(r'proxy 198\.18\.1\.1:8888: tunnel to vpn\.sstpt\.test:443 open', read(clog)),
          read(clog))
    check(field(status(), 'proxy') == '198.18.1.1:8888', status())
    stop(p)
    # Wrong proxy password: a clear 407 and no tunnel.
    with open(f'{WORK}/proxy-pw', 'w') as f:
        f.write('wrong\n')
    p, clog = client('--once', '--proxy', '198.18.1.1:8888', '--proxy-user', 'pu',
                     '--proxy-password-file', f'{WORK}/proxy-pw')
    p.wait(WAIT)
    check(p.returncode == 1 and 'proxy requires authentication' in read(clog) and
          re.search(r'\((401|407) ', read(clog)), read(clog))


def test_add_default_route():
    topology()
    sh(['ip', 'route', 'add', 'default', 'via', '198.18.0.1'], ns=NS_CLI)
    server()
    p, _ = client('--add-default-route')
    wait_connected()
    far = sh(['ip', 'route', 'get', '198.18.200.1'], ns=NS_CLI).stdout
    check('dev sstp-out1' in far, f'default through the tunnel: {far}')
    srv = sh(['ip', 'route', 'get', '198.18.0.1'], ns=NS_CLI).stdout
    check('dev sstpt-vb' in srv, f'the server stays outside: {srv}')
    check(ping(), 'ping')
    stop(p)
    far = sh(['ip', 'route', 'get', '198.18.200.1'], ns=NS_CLI).stdout
    check('via 198.18.0.1' in far, f'default restored: {far}')


def test_dial_on_demand():
    topology()
    _, slog = server()
    p, clog = client('--dial-on-demand', '--route', '198.19.101.0/24')
    wait_for(lambda: 'dial-on-demand' in read(clog), 'waiting for traffic')
    time.sleep(1)
    check('accepted' not in read(slog), 'no connection before traffic')
    ping(n=1)  # the first packet asks for the tunnel
    wait_connected()
    check(ping(), 'ping once up')
    check(read(slog).count('accepted') == 1, read(slog))
    stop(p)


def test_bridge():
    """--bridge: TAP + BCP (RFC 3518). The scripted server bridges to a TAP of its own with
    198.18.9.1; the client's TAP joins a Linux bridge holding 198.18.9.2, as a branch router's
    LAN bridge would. ARP and ping cross the tunnel as Ethernet frames."""
    topology()
    _, slog = server('--auth', 'mschap2', '--bcp', 'sstpt-sbr0')
    wait_for(lambda: sh(['ip', 'link', 'show', 'sstpt-sbr0'], check=False, ns=NS_SRV).returncode == 0,
             "the server's TAP")
    sh(['ip', 'addr', 'add', '198.18.9.1/24', 'dev', 'sstpt-sbr0'], ns=NS_SRV)
    sh(['ip', 'link', 'set', 'sstpt-sbr0', 'up'], ns=NS_SRV)
    p, clog = client('--bridge', '--name', 'sstpt-br0')
    wait_connected()
    out = read(clog)
    check('connected: bridged Ethernet (BCP)' in out, out)
    check('bridged: sstpt-br0 up, mtu 1484, server MAC 02:00:5e:10:00:01' in out, out)
    st = status()
    check(field(st, 'bridge') == 'BCP, server MAC 02:00:5e:10:00:01', st)
    check(field(st, 'local-address') is None, f'a bridged tunnel got an IP address: {st}')
    link = sh(['ip', '-d', 'link', 'show', 'sstpt-br0'], ns=NS_CLI).stdout
    check('tun type tap' in link and 'mtu 1484' in link, link)
    check('ipcp' not in read(slog), read(slog))
    sh(['ip', 'link', 'add', 'sstpt-lanbr', 'type', 'bridge'], ns=NS_CLI)
    sh(['ip', 'link', 'set', 'sstpt-br0', 'master', 'sstpt-lanbr'], ns=NS_CLI)
    sh(['ip', 'addr', 'add', '198.18.9.2/24', 'dev', 'sstpt-lanbr'], ns=NS_CLI)
    sh(['ip', 'link', 'set', 'sstpt-lanbr', 'up'], ns=NS_CLI)
    check(ping('198.18.9.1'), 'ping across the bridged tunnel')
    neigh = sh(['ip', 'neigh', 'show', '198.18.9.1'], ns=NS_CLI).stdout
    check('lladdr' in neigh, f'no ARP entry for the far end: {neigh}')
    check('bridged-frames-in' in read(slog), read(slog))
    st = status()
    check(int(field(st, 'rx-packet')) > 0 and int(field(st, 'tx-packet')) > 0, st)
    check(stop(p) == 0, 'client exit status')


def test_config_file_and_hidden_password():
    topology()
    server()
    cfg = f'{WORK}/client.conf'
    with open(cfg, 'w') as f:
        f.write(f'# RouterOS property names\nconnect-to={SERVER_NAME}:443\nuser="sstp-test"\n'
                f'authentication=mschap2\nkeepalive-timeout=60\nmax-mtu=1400\nmax-mru=1400\n'
                f'mrru=disabled\nadd-default-route=no\nca-file={WORK}/ca.pem\n')
    args = [CLIENT, '--config', cfg, '--password', '123', '--status-socket',
            f'{WORK}/status.sock']
    p = start(args, NS_CLI, f'{WORK}/client.out')
    wait_connected()
    pid = sh(['pgrep', '-f', f'^{re.escape(CLIENT)} --config'], ns=NS_CLI).stdout.split()[0]
    with open(f'/proc/{pid}/cmdline', 'rb') as f:
        cmdline = f.read()
    check(b'123' not in cmdline.replace(b'1400', b''), f'password visible: {cmdline}')
    check(field(status(), 'mtu') == '1400', status())
    check('--password on the command line' in read(f'{WORK}/client.out'), 'warned')
    stop(p)


def test_status_without_a_client():
    r = sh([CLIENT, '--status', '--status-socket', f'{WORK}/none.sock'], check=False)
    check(r.returncode == 1 and 'no sstp-client answers' in r.stderr, r.stderr)


TESTS = [v for k, v in sorted(globals().items()) if k.startswith('test_')]


def main():
    global CLIENT, WORK
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    CLIENT = os.path.abspath(sys.argv[1])
    wanted = sys.argv[2:]
    if os.geteuid() != 0:
        sys.exit('integration tests need root (network namespaces, TUN)')
    WORK = tempfile.mkdtemp(prefix='sstpt-cl-')
    atexit.register(lambda: shutil.rmtree(WORK, ignore_errors=True))
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    make_pki(WORK)
    with open(f'{WORK}/pw', 'w') as f:
        f.write('123\n')
    os.chmod(f'{WORK}/pw', 0o600)
    failed = []
    run = [t for t in TESTS if not wanted or t.__name__ in wanted or
           t.__name__[5:] in wanted]
    for t in run:
        t0 = time.monotonic()
        try:
            t()
            print(f'[ PASS ] {t.__name__} ({time.monotonic() - t0:.1f} s)', flush=True)
        except Exception:
            failed.append(t.__name__)
            print(f'[ FAIL ] {t.__name__}\n{traceback.format_exc()}', flush=True)
            for name in ('client.out', 'server.log', 'server.out', 'tinyproxy.log'):
                text = read(f'{WORK}/{name}')
                if text:
                    print(f'--- {name} (last 40 lines)\n' + '\n'.join(text.splitlines()[-40:]))
        finally:
            cleanup()
    print(f'{len(run) - len(failed)} passed, {len(failed)} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
