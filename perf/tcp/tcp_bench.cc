// TCP benchmark: two dp::tcp stacks wired back to back in one process on one core.
//
//  bulk     - the client stack sends 1400-byte segments, the server stack receives, delivers,
//             and ACKs. Reported: server receive+ACK throughput (TSC spent inside the server's
//             Input/EndBurst only), the whole loop (both ends on one core), and the same-run
//             reference: rte_pktmbuf_alloc + memcpy of the same 1400 bytes + free per segment.
//  setup    - connections per second, both ends' handshake work on one core; reference: mbuf
//             alloc + 60-byte memcpy + free for the three handshake segments.
//  idle     - memory per idle established connection at 100,000 and --conns (1,000,000)
//             connections: the stack's own accounting (connection slots touched + hash + TIME_WAIT
//             table) and the process RSS growth divided by connections (both ends hold one each).
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "dataplane/tcp/tcp.h"

using dp::tcp::Conn;
using dp::tcp::Stack;

namespace {

constexpr uint32_t kServerIp = 0xc6120001;   // 198.18.0.1
constexpr uint32_t kClientNet = 0xc6130000;  // 198.19.0.0/16 client addresses
constexpr uint16_t kPort = 443;
constexpr uint32_t kSegment = 1400;

rte_mempool* g_pool;
uint64_t g_tsc_hz;

uint64_t NowNs() { return rte_rdtsc() * 1000000000ull / g_tsc_hz; }

uint64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, rss = 0;
  f >> size >> rss;
  return rss * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

struct Wire {
  std::vector<rte_mbuf*> q;
  static void Out(void* ctx, rte_mbuf* m, uint32_t) { static_cast<Wire*>(ctx)->q.push_back(m); }
};

class Sink : public dp::tcp::Handler {
 public:
  void OnData(Conn* c, rte_mbuf* m) override {
    bytes += m->pkt_len;
    uint32_t n = m->pkt_len;
    rte_pktmbuf_free(m);
    stack->Consumed(c, n, now);
  }
  bool OnAccept(Conn* c) override {
    ++accepted;
    last = c;
    return true;
  }
  void OnConnected(Conn* c) override {
    ++connected;
    last = c;
  }
  Stack* stack = nullptr;
  uint64_t now = 0;
  uint64_t bytes = 0;
  uint64_t accepted = 0, connected = 0;
  Conn* last = nullptr;
};

// Delivers everything in flight, in bursts of 32, until both directions are quiet.
// Returns TSC cycles spent inside `timed` (the receiving stack measured).
uint64_t Pump(Stack* a, Wire* to_a, Stack* b, Wire* to_b, Stack* timed, uint64_t now) {
  uint64_t cycles = 0;
  std::vector<rte_mbuf*> batch;
  while (!to_a->q.empty() || !to_b->q.empty()) {
    for (int dir = 0; dir < 2; ++dir) {
      Stack* s = dir == 0 ? a : b;
      Wire* w = dir == 0 ? to_a : to_b;
      batch.swap(w->q);
      uint64_t t0 = s == timed ? rte_rdtsc() : 0;
      for (size_t i = 0; i < batch.size(); ++i) {
        s->Input(batch[i], now);
        if ((i & 31) == 31) s->EndBurst(now);
      }
      s->EndBurst(now);
      if (s == timed) cycles += rte_rdtsc() - t0;
      batch.clear();
    }
  }
  return cycles;
}

struct Pair {
  Wire to_server, to_client;
  Sink server_sink, client_sink;
  std::unique_ptr<Stack> server, client;
};

std::unique_ptr<Pair> MakePair(uint32_t max_conns, uint16_t client_mss) {
  auto p = std::make_unique<Pair>();
  dp::tcp::StackConfig sc;
  sc.pool = g_pool;
  sc.max_conns = max_conns;
  sc.syn_backlog = max_conns;
  sc.output = dp::tcp::IpOutput{&Wire::Out, &p->to_client};
  dp::tcp::StackConfig cc = sc;
  cc.output = dp::tcp::IpOutput{&Wire::Out, &p->to_server};
  cc.mss = client_mss;
  auto s = Stack::Create(sc);
  auto c = Stack::Create(cc);
  if (!s.ok() || !c.ok()) {
    fprintf(stderr, "stack: %s %s\n", s.status().ToString().c_str(), c.status().ToString().c_str());
    exit(1);
  }
  p->server = std::move(*s);
  p->client = std::move(*c);
  p->server_sink.stack = p->server.get();
  p->client_sink.stack = p->client.get();
  if (!p->server->Listen(0, kPort, &p->server_sink).ok()) exit(1);
  return p;
}

void Bulk(uint64_t total_bytes) {
  // Client MSS 1412 - 12 bytes of timestamp option = 1400-byte segments.
  auto p = MakePair(16, kSegment + 12);
  uint64_t now = NowNs();
  auto c = p->client->Connect(kClientNet + 1, 0, kServerIp, kPort, &p->client_sink, nullptr, now);
  if (!c.ok()) exit(1);
  Pump(p->server.get(), &p->to_server, p->client.get(), &p->to_client, nullptr, now);
  Conn* conn = *c;
  uint64_t sent = 0, rx_cycles = 0;
  uint64_t segs_before = p->server->counters().segs_in;
  uint64_t acks_before = p->server->counters().acks_out;
  uint64_t t0 = rte_rdtsc();
  while (p->server_sink.bytes < total_bytes) {
    now = NowNs();
    p->server_sink.now = now;
    while (sent < total_bytes && p->client->SendSpace(conn) >= kSegment) {
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      if (m == nullptr) break;
      rte_pktmbuf_append(m, kSegment);
      if (!p->client->Send(conn, m, now)) {
        rte_pktmbuf_free(m);
        break;
      }
      sent += kSegment;
    }
    rx_cycles +=
        Pump(p->server.get(), &p->to_server, p->client.get(), &p->to_client, p->server.get(), now);
    p->client->OnTimer(now);
    p->server->OnTimer(now);
  }
  uint64_t loop_cycles = rte_rdtsc() - t0;
  uint64_t segs = p->server->counters().segs_in - segs_before;
  uint64_t acks = p->server->counters().acks_out - acks_before;

  // Same-run reference: allocate an mbuf, copy the same 1400 bytes into it, free it.
  static uint8_t src[kSegment];
  std::memset(src, 0x5a, sizeof(src));
  uint64_t n_ref = total_bytes / kSegment;
  uint64_t r0 = rte_rdtsc();
  for (uint64_t i = 0; i < n_ref; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    char* d = rte_pktmbuf_append(m, kSegment);
    std::memcpy(d, src, kSegment);
    asm volatile("" : : "r"(d) : "memory");
    rte_pktmbuf_free(m);
  }
  uint64_t ref_cycles = rte_rdtsc() - r0;
  auto gbps = [](uint64_t bytes, uint64_t cycles) {
    return bytes * 8.0 / (static_cast<double>(cycles) / g_tsc_hz) / 1e9;
  };
  printf("  \"bulk\": {\"segment_bytes\": %u, \"bytes\": %" PRIu64 ", \"segments\": %" PRIu64
         ", \"acks_sent\": %" PRIu64
         ",\n"
         "    \"rx_ack_gbit_per_s\": %.2f, \"both_ends_one_core_gbit_per_s\": %.2f,\n"
         "    \"reference_alloc_memcpy_free_gbit_per_s\": %.2f, \"rx_ack_ns_per_segment\": %.1f,"
         " \"reference_ns_per_segment\": %.1f},\n",
         kSegment, p->server_sink.bytes, segs, acks, gbps(p->server_sink.bytes, rx_cycles),
         gbps(p->server_sink.bytes, loop_cycles), gbps(n_ref * kSegment, ref_cycles),
         rx_cycles * 1e9 / g_tsc_hz / segs, ref_cycles * 1e9 / g_tsc_hz / n_ref);
}

void SetupAndIdle(uint32_t conns) {
  auto p = MakePair(conns + 16, 1460);
  uint64_t rss0 = RssBytes();
  uint64_t now = NowNs();
  uint64_t t0 = rte_rdtsc();
  uint64_t t_100k = 0;
  uint64_t rss_100k = 0, table_100k = 0;
  for (uint32_t i = 0; i < conns; ++i) {
    uint32_t src = kClientNet + 0x100 + i / 60000;
    uint16_t port = static_cast<uint16_t>(1024 + i % 60000);
    auto c = p->client->Connect(src, port, kServerIp, kPort, &p->client_sink, nullptr, now);
    if (!c.ok()) {
      fprintf(stderr, "connect %u: %s\n", i, c.status().ToString().c_str());
      exit(1);
    }
    if ((i & 31) == 31 || i + 1 == conns) {
      Pump(p->server.get(), &p->to_server, p->client.get(), &p->to_client, nullptr, now);
      now = NowNs();
    }
    if (i + 1 == 100000) {
      t_100k = rte_rdtsc() - t0;
      rss_100k = RssBytes();
      table_100k = p->server->table_memory_bytes();
    }
  }
  uint64_t cycles = rte_rdtsc() - t0;
  uint64_t rss1 = RssBytes();
  if (p->server->conn_count() != conns || p->server_sink.accepted != conns ||
      p->client_sink.connected != conns) {
    fprintf(stderr, "only %u of %u connections established\n", p->server->conn_count(), conns);
    exit(1);
  }
  // Reference: the mbuf work of three 60-byte segments per connection.
  uint8_t hdr[60] = {};
  uint64_t r0 = rte_rdtsc();
  for (uint32_t i = 0; i < conns; ++i) {
    for (int k = 0; k < 3; ++k) {
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      char* d = rte_pktmbuf_append(m, sizeof(hdr));
      std::memcpy(d, hdr, sizeof(hdr));
      asm volatile("" : : "r"(d) : "memory");
      rte_pktmbuf_free(m);
    }
  }
  uint64_t ref = rte_rdtsc() - r0;
  double secs = static_cast<double>(cycles) / g_tsc_hz;
  printf(
      "  \"setup\": {\"connections\": %u, \"per_second_both_ends_one_core\": %.0f,"
      " \"reference_3_mbuf_alloc_copy_free_per_second\": %.0f},\n",
      conns, conns / secs, conns / (static_cast<double>(ref) / g_tsc_hz));
  if (conns >= 100000) {
    printf(
        "  \"idle_100k\": {\"connections\": 100000, \"stack_bytes_per_conn\": %.0f,"
        " \"rss_bytes_per_conn_per_end\": %.0f, \"setup_per_second\": %.0f,"
        " \"queued_bytes\": %" PRIu64 "},\n",
        table_100k / 1e5, (rss_100k - rss0) / 2e5, 1e5 / (static_cast<double>(t_100k) / g_tsc_hz),
        p->server->queued_bytes());
  }
  printf(
      "  \"idle_%u\": {\"connections\": %u, \"stack_bytes_per_conn\": %.0f,"
      " \"rss_bytes_per_conn_per_end\": %.0f, \"conn_struct_bytes\": 256,"
      " \"queued_bytes\": %" PRIu64 ", \"target_bytes_per_conn\": 1024}\n",
      conns, conns, static_cast<double>(p->server->table_memory_bytes()) / conns,
      static_cast<double>(rss1 - rss0) / (2.0 * conns), p->server->queued_bytes());
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t conns = 1000000;
  uint64_t bulk_bytes = 4ull << 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--conns")) conns = static_cast<uint32_t>(atoi(argv[i + 1]));
    if (!strcmp(argv[i], "--bulk-mib")) bulk_bytes = strtoull(argv[i + 1], nullptr, 10) << 20;
  }
  std::string prefix = "--file-prefix=sstpt-tcpbench-" + std::to_string(getpid());
  const char* eal[] = {"tcp_bench",    "--no-huge",         "--no-pci",      "-m", "512", "-l", "0",
                       prefix.c_str(), "--log-level=error", "--no-telemetry"};
  if (rte_eal_init(sizeof(eal) / sizeof(eal[0]), const_cast<char**>(eal)) < 0) {
    fprintf(stderr, "rte_eal_init failed\n");
    return 1;
  }
  g_tsc_hz = rte_get_tsc_hz();
  g_pool =
      rte_pktmbuf_pool_create("tcp_bench", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (g_pool == nullptr) {
    fprintf(stderr, "mbuf pool creation failed\n");
    return 1;
  }
  printf("{\n  \"benchmark\": \"tcp\",\n");
  Bulk(bulk_bytes);
  SetupAndIdle(conns);
  printf("}\n");
  rte_eal_cleanup();
  return 0;
}
