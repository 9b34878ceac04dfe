// TLS benchmark: what the record layer and the handshake driver cost, each beside the reference
// measured in the same run on the same machine.
//   record: payload MB/s of sealing (encrypt) and opening (decrypt) one record at a time, our
//           ipsec-mb path vs OpenSSL's SSL_write / SSL_read on the same sizes and suite, both
//           under one OSSL_LIB_CTX per thread.
//   handshake: server-side handshakes per second per core (ECDSA P-256 and RSA-2048, TLS 1.3 and
//           1.2), our driver including the key handover vs a bare OpenSSL server in memory.
//   session_bytes: TLS state per established session after the handover vs an established
//           OpenSSL server SSL (heap measured with mallinfo2).
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/record.h"

namespace {

// Thread CPU time, not wall time: the 2-core machine is shared, and time spent preempted by other
// processes would otherwise be charged to whichever side happened to be running.
struct Clock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::nanoseconds;
  static time_point now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::nanoseconds(int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec);
  }
};
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Identity {
  std::string cert_path;
};

// Writes a PEM identity (ECDSA P-256 or RSA-2048, self-signed) to a temporary file.
std::string MakeIdentity(tls::LcoreCrypto& lc, bool rsa) {
  char path[] = "/tmp/tls-bench-id.XXXXXX";
  int fd = mkstemp(path);
  std::string pem;
  if (!rsa) {
    auto id = tls::GenerateSelfSigned(lc, "bench.test", absl::Now());
    pem = id->certificate_pem + id->private_key_pem;
  } else {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", (size_t)2048);
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("bench.test"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data;
    long n = BIO_get_mem_data(b, &data);
    pem.assign(data, n);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
  }
  (void)!write(fd, pem.data(), pem.size());
  close(fd);
  return path;
}

// A plain OpenSSL endpoint over memory BIOs.
struct Endpoint {
  Endpoint(SSL_CTX* ctx, bool server) {
    ssl = SSL_new(ctx);
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    server ? SSL_set_accept_state(ssl) : SSL_set_connect_state(ssl);
  }
  ~Endpoint() { SSL_free(ssl); }
  void MoveTo(Endpoint& other) {
    char buf[16384];
    int n;
    while ((n = BIO_read(wbio, buf, sizeof(buf))) > 0) BIO_write(other.rbio, buf, n);
  }
  SSL* ssl;
  BIO* rbio;
  BIO* wbio;
};

SSL_CTX* PlainCtx(tls::LcoreCrypto& lc, bool server, int version, const char* suite,
                  const std::string& id) {
  SSL_CTX* ctx =
      SSL_CTX_new_ex(lc.libctx(), nullptr, server ? TLS_server_method() : TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  if (version == TLS1_3_VERSION) {
    SSL_CTX_set_ciphersuites(ctx, suite);
  } else {
    SSL_CTX_set_cipher_list(ctx, suite);
  }
  if (server) {
    SSL_CTX_use_certificate_chain_file(ctx, id.c_str());
    SSL_CTX_use_PrivateKey_file(ctx, id.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return ctx;
}

bool PlainHandshake(Endpoint& s, Endpoint& c, double* server_seconds) {
  for (int i = 0; i < 20; ++i) {
    int rc = SSL_do_handshake(c.ssl);
    c.MoveTo(s);
    auto t0 = Clock::now();
    int rs = SSL_do_handshake(s.ssl);
    if (server_seconds) *server_seconds += Seconds(Clock::now() - t0);
    s.MoveTo(c);
    if (rc == 1 && rs == 1) return true;
  }
  return false;
}

struct SuiteCase {
  int version;
  const char* suite;
  const char* name;
};

const SuiteCase kSuites[] = {
    {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "TLS1.3 AES-128-GCM"},
    {TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", "TLS1.3 AES-256-GCM"},
    {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", "TLS1.3 CHACHA20-POLY1305"},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS1.2 AES-128-GCM"},
    {TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS1.2 AES-256-GCM"},
    {TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS1.2 CHACHA20-POLY1305"},
};

// Each method runs in short rounds that alternate with its reference, and the best round of
// each counts: on a shared, noisy machine both sides then see the same conditions.
constexpr int kRounds = 12;
constexpr double kRoundSeconds = 0.012;

struct Throughput {
  double ours_seal = 0, ours_open = 0, ossl_write = 0, ossl_read = 0;  // MB/s of payload
};

// Runs fn(batch) repeatedly for about kRoundSeconds; returns records per second.
template <typename Fn>
double Rate(Fn fn, int batch) {
  size_t n = 0;
  auto t0 = Clock::now();
  double el;
  do {
    fn();
    n += batch;
    el = Seconds(Clock::now() - t0);
  } while (el < kRoundSeconds);
  return n / el;
}

// Handshake between our server driver and an OpenSSL client; returns our server-side keys.
tls::SessionKeys OurServerKeys(tls::TlsContext& ctx, SSL_CTX* cctx) {
  Endpoint client(cctx, false);
  auto h = *tls::Handshake::Create(ctx, absl::UnixEpoch());
  for (int i = 0; i < 20 && h->state() == tls::HandshakeState::kInProgress; ++i) {
    SSL_do_handshake(client.ssl);
    char buf[16384];
    int n;
    while ((n = BIO_read(client.wbio, buf, sizeof(buf))) > 0) {
      h->Feed(absl::Span<const uint8_t>(reinterpret_cast<uint8_t*>(buf), n));
    }
    std::vector<uint8_t> out = h->TakeOutput();
    BIO_write(client.rbio, out.data(), static_cast<int>(out.size()));
  }
  SSL_do_handshake(client.ssl);
  auto ho = h->TakeHandover();
  if (!ho.ok()) std::abort();
  return ho->keys;
}

Throughput MeasureRecords(tls::LcoreCrypto& lc, const SuiteCase& sc, const std::string& ec_id,
                          size_t size) {
  Throughput t;
  tls::TlsConfig cfg;
  cfg.role = tls::Role::kServer;
  cfg.certificate_file = ec_id;
  auto ctx = *tls::TlsContext::Create(lc, cfg, absl::Now());
  SSL_CTX* cctx = PlainCtx(lc, false, sc.version, sc.suite, "");
  SSL_CTX* sctx = PlainCtx(lc, true, sc.version, sc.suite, ec_id);
  const tls::SessionKeys server_keys = OurServerKeys(*ctx, cctx);
  tls::SessionKeys client_keys = server_keys;
  client_keys.server = false;
  std::swap(client_keys.read, client_keys.write);

  constexpr int kBatch = 32;
  // Ours: the sealer, and a reader fed from pristine sealed copies restored before each batch.
  auto sealer = std::make_unique<tls::RecordSession>();
  auto writer = std::make_unique<tls::RecordSession>();
  auto reader = std::make_unique<tls::RecordSession>();
  (void)sealer->Init(lc, server_keys);
  (void)writer->Init(lc, server_keys);
  const size_t len = sealer->overhead() + size;
  std::vector<uint8_t> rec(len, 0x42), pristine(kBatch * len, 0x42), work(kBatch * len);
  for (int i = 0; i < kBatch; ++i) {
    absl::Span<uint8_t> seg = absl::MakeSpan(pristine).subspan(i * len, len);
    (void)writer->Seal(lc, tls::ContentType::kApplicationData, tls::Segments(&seg, 1));
  }
  // OpenSSL: one pair for SSL_write (output discarded), one for SSL_read.
  Endpoint ws(sctx, true), wc(cctx, false), rs(sctx, true), rc(cctx, false);
  PlainHandshake(ws, wc, nullptr);
  PlainHandshake(rs, rc, nullptr);
  std::vector<uint8_t> payload(size, 0x42), rbuf(size + 1);

  for (int round = 0; round < kRounds; ++round) {
    absl::Span<uint8_t> seg = absl::MakeSpan(rec);
    double r = Rate(
        [&] {
          for (int i = 0; i < kBatch; ++i) {
            (void)sealer->Seal(lc, tls::ContentType::kApplicationData, tls::Segments(&seg, 1));
          }
        },
        kBatch);
    t.ours_seal = std::max(t.ours_seal, r * size / 1e6);

    size_t w;
    r = Rate(
        [&] {
          for (int i = 0; i < kBatch; ++i) {
            SSL_write_ex(ws.ssl, payload.data(), size, &w);
            (void)BIO_reset(ws.wbio);
          }
        },
        kBatch);
    t.ossl_write = std::max(t.ossl_write, r * size / 1e6);

    // Open: only the opening is timed; restoring the batch is not.
    double el = 0;
    size_t n = 0;
    while (el < kRoundSeconds) {
      std::memcpy(work.data(), pristine.data(), work.size());
      (void)reader->Init(lc, client_keys);
      auto t0 = Clock::now();
      for (int i = 0; i < kBatch; ++i) {
        absl::Span<uint8_t> s2 = absl::MakeSpan(work).subspan(i * len, len);
        if (reader->Open(lc, tls::Segments(&s2, 1)).status != tls::OpenStatus::kData) {
          std::abort();
        }
      }
      el += Seconds(Clock::now() - t0);
      n += kBatch;
    }
    t.ours_open = std::max(t.ours_open, n * size / el / 1e6);

    el = 0;
    n = 0;
    while (el < kRoundSeconds) {
      for (int i = 0; i < kBatch; ++i) SSL_write_ex(rs.ssl, payload.data(), size, &w);
      rs.MoveTo(rc);
      auto t0 = Clock::now();
      for (int i = 0; i < kBatch; ++i) {
        size_t got = 0;
        while (got < size) {
          size_t rd;
          if (SSL_read_ex(rc.ssl, rbuf.data(), rbuf.size(), &rd) != 1) std::abort();
          got += rd;
        }
      }
      el += Seconds(Clock::now() - t0);
      n += kBatch;
    }
    t.ossl_read = std::max(t.ossl_read, n * size / el / 1e6);
  }
  SSL_free(ws.ssl);
  SSL_free(wc.ssl);
  SSL_free(rs.ssl);
  SSL_free(rc.ssl);
  ws.ssl = wc.ssl = rs.ssl = rc.ssl = nullptr;
  SSL_CTX_free(sctx);
  SSL_CTX_free(cctx);
  return t;
}

// Server-side handshakes per second: ours (Handshake + handover + RecordSession::Init) vs a
// bare OpenSSL server SSL, both against OpenSSL clients in memory, alternating one handshake
// each; only the server's work is timed.
std::pair<double, double> MeasureHandshakes(tls::LcoreCrypto& lc, const std::string& id,
                                            int version) {
  const char* suite = version == TLS1_3_VERSION ? "TLS_AES_128_GCM_SHA256"
                                                : "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                                  "ECDHE-RSA-AES128-GCM-SHA256";
  SSL_CTX* cctx = PlainCtx(lc, false, version, suite, "");
  SSL_CTX* sctx = PlainCtx(lc, true, version, suite, id);
  tls::TlsConfig cfg;
  cfg.role = tls::Role::kServer;
  cfg.certificate_file = id;
  auto ctx = *tls::TlsContext::Create(lc, cfg, absl::Now());
  double ours_t = 0, bare_t = 0;
  int n = 0;
  auto rs = std::make_unique<tls::RecordSession>();
  while (ours_t + bare_t < 1.2) {
    {
      Endpoint c(cctx, false);
      auto t0 = Clock::now();
      auto h = *tls::Handshake::Create(*ctx, absl::UnixEpoch());
      ours_t += Seconds(Clock::now() - t0);
      for (int i = 0; i < 20 && h->state() == tls::HandshakeState::kInProgress; ++i) {
        SSL_do_handshake(c.ssl);
        char buf[16384];
        int k;
        std::vector<uint8_t> in;
        while ((k = BIO_read(c.wbio, buf, sizeof(buf))) > 0) in.insert(in.end(), buf, buf + k);
        t0 = Clock::now();
        h->Feed(in);
        std::vector<uint8_t> out = h->TakeOutput();
        ours_t += Seconds(Clock::now() - t0);
        BIO_write(c.rbio, out.data(), static_cast<int>(out.size()));
      }
      if (h->state() != tls::HandshakeState::kEstablished) std::abort();
      t0 = Clock::now();
      auto ho = h->TakeHandover();
      (void)rs->Init(lc, ho->keys);
      h.reset();
      ours_t += Seconds(Clock::now() - t0);
      SSL_do_handshake(c.ssl);
    }
    {
      Endpoint c(cctx, false);
      auto t0 = Clock::now();
      auto s = std::make_unique<Endpoint>(sctx, true);
      bare_t += Seconds(Clock::now() - t0);
      if (!PlainHandshake(*s, c, &bare_t)) std::abort();
      t0 = Clock::now();
      s.reset();
      bare_t += Seconds(Clock::now() - t0);
    }
    ++n;
  }
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  return {n / ours_t, n / bare_t};
}

size_t HeapInUse() { return mallinfo2().uordblks; }

// Heap held per established OpenSSL server connection (what the handover frees).
double OpenSslBytesPerSession(tls::LcoreCrypto& lc, const std::string& id) {
  SSL_CTX* cctx = PlainCtx(lc, false, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "");
  SSL_CTX* sctx = PlainCtx(lc, true, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", id);
  constexpr int kN = 200;
  std::vector<std::unique_ptr<Endpoint>> servers;
  // Warm up allocator and caches.
  {
    Endpoint s(sctx, true), c(cctx, false);
    PlainHandshake(s, c, nullptr);
  }
  size_t before = HeapInUse();
  for (int i = 0; i < kN; ++i) {
    auto s = std::make_unique<Endpoint>(sctx, true);
    {
      Endpoint c(cctx, false);
      PlainHandshake(*s, c, nullptr);
      // One record each way so the record buffers exist, as on a live connection.
      size_t w;
      char b[64];
      SSL_write_ex(c.ssl, "x", 1, &w);
      c.MoveTo(*s);
      SSL_read_ex(s->ssl, b, sizeof(b), &w);
    }
    servers.push_back(std::move(s));
  }
  size_t after = HeapInUse();
  servers.clear();
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  return static_cast<double>(after - before) / kN;
}

// Heap still held per connection after our handover (the RecordSession itself lives wherever the
// caller puts it; here in one array allocated up front). Expected: 0.
double OursHeapPerSession(tls::LcoreCrypto& lc, const std::string& id) {
  SSL_CTX* cctx = PlainCtx(lc, false, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "");
  tls::TlsConfig cfg;
  cfg.role = tls::Role::kServer;
  cfg.certificate_file = id;
  auto ctx = *tls::TlsContext::Create(lc, cfg, absl::Now());
  constexpr int kN = 200;
  auto sessions = std::make_unique<tls::RecordSession[]>(kN);
  size_t before = 0;
  for (int i = -1; i < kN; ++i) {  // i == -1 warms up allocator and caches
    if (i == 0) before = HeapInUse();
    Endpoint c(cctx, false);
    auto h = *tls::Handshake::Create(*ctx, absl::UnixEpoch());
    for (int r = 0; r < 20 && h->state() == tls::HandshakeState::kInProgress; ++r) {
      SSL_do_handshake(c.ssl);
      char buf[16384];
      int n;
      while ((n = BIO_read(c.wbio, buf, sizeof(buf))) > 0) {
        h->Feed(absl::Span<const uint8_t>(reinterpret_cast<uint8_t*>(buf), n));
      }
      std::vector<uint8_t> out = h->TakeOutput();
      BIO_write(c.rbio, out.data(), static_cast<int>(out.size()));
    }
    auto ho = h->TakeHandover();
    if (!ho.ok()) std::abort();
    (void)sessions[i < 0 ? 0 : i].Init(lc, ho->keys);
  }
  size_t after = HeapInUse();
  SSL_CTX_free(cctx);
  return after > before ? static_cast<double>(after - before) / kN : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  // Optional arguments pick sections: records, handshakes, session (default: all).
  auto want = [&](const char* section) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], section) == 0) return true;
    }
    return false;
  };
  auto lc_or = tls::LcoreCrypto::Create();
  if (!lc_or.ok()) {
    std::fprintf(stderr, "%s\n", std::string(lc_or.status().message()).c_str());
    return 1;
  }
  tls::LcoreCrypto& lc = **lc_or;
  const std::string ec_id = MakeIdentity(lc, false);
  const std::string rsa_id = MakeIdentity(lc, true);

  std::string json = "{\n  \"benchmark\": \"tls\",\n";
  absl::StrAppend(&json, "  \"ipsec_mb_arch\": \"", lc.arch_name(), "\",\n");
  absl::StrAppend(&json, "  \"openssl\": \"", OpenSSL_version(OPENSSL_VERSION), "\",\n");
  json += "  \"record_MBps\": [\n";
  bool first = true;
  for (const auto& sc : kSuites) {
    if (!want("records")) break;
    for (size_t size : {64, 512, 1400, 16384}) {
      Throughput t = MeasureRecords(lc, sc, ec_id, size);
      absl::StrAppend(
          &json, first ? "" : ",\n",
          absl::StrFormat("    {\"suite\": \"%s\", \"size\": %d, \"seal_ipsec_mb\": %.0f, "
                          "\"seal_openssl\": %.0f, \"seal_ratio\": %.2f, \"open_ipsec_mb\": %.0f, "
                          "\"open_openssl\": %.0f, \"open_ratio\": %.2f}",
                          sc.name, size, t.ours_seal, t.ossl_write, t.ours_seal / t.ossl_write,
                          t.ours_open, t.ossl_read, t.ours_open / t.ossl_read));
      first = false;
    }
  }
  json += "\n  ],\n  \"server_handshakes_per_s\": [\n";
  first = true;
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    if (!want("handshakes")) break;
    for (bool rsa : {false, true}) {
      auto [ours, bare] = MeasureHandshakes(lc, rsa ? rsa_id : ec_id, version);
      absl::StrAppend(&json, first ? "" : ",\n",
                      absl::StrFormat("    {\"key\": \"%s\", \"version\": \"%s\", \"ours\": %.0f, "
                                      "\"bare_openssl\": %.0f, \"ratio\": %.2f}",
                                      rsa ? "RSA-2048" : "ECDSA-P256",
                                      version == TLS1_3_VERSION ? "TLS1.3" : "TLS1.2", ours, bare,
                                      ours / bare));
      first = false;
    }
  }
  double ossl_bytes = want("session") ? OpenSslBytesPerSession(lc, ec_id) : 0;
  double ours_heap = want("session") ? OursHeapPerSession(lc, ec_id) : 0;
  absl::StrAppend(
      &json, "\n  ],\n",
      absl::StrFormat(
          "  \"session_bytes\": {\"ours_record_session\": %d, \"ours_heap_after_handover\": "
          "%.0f, \"ours_total\": %.0f, \"openssl_established_ssl_heap\": %.0f, "
          "\"target\": 2560}\n",
          sizeof(tls::RecordSession), ours_heap, sizeof(tls::RecordSession) + ours_heap,
          ossl_bytes));
  json += "}\n";
  std::fputs(json.c_str(), stdout);
  unlink(ec_id.c_str());
  unlink(rsa_id.c_str());
  return 0;
}
