// libFuzzer target: the handshake driver's input path. Byte 0 picks the role (bit 0) and how the
// rest is cut into Feed() calls (bits 1-7); the rest is what the peer sends.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tls/context.h"
#include "tls/handshake.h"

namespace {

struct Env {
  std::unique_ptr<tls::LcoreCrypto> lc;
  std::unique_ptr<tls::TlsContext> server, client;
};

Env* GetEnv() {
  static Env* env = [] {
    Env* e = new Env;
    e->lc = *tls::LcoreCrypto::Create();
    auto id = tls::GenerateSelfSigned(*e->lc, "sstp.test", absl::FromUnixSeconds(1700000000));
    char path[] = "/tmp/fuzz-tls-identity.XXXXXX";
    int fd = mkstemp(path);
    std::string pem = id->certificate_pem + id->private_key_pem;
    (void)!write(fd, pem.data(), pem.size());
    close(fd);
    tls::TlsConfig s;
    s.role = tls::Role::kServer;
    s.certificate_file = path;
    e->server = *tls::TlsContext::Create(*e->lc, s, absl::FromUnixSeconds(1700000000));
    tls::TlsConfig c;
    c.role = tls::Role::kClient;
    c.verify_server_certificate = false;
    e->client = *tls::TlsContext::Create(*e->lc, c, absl::FromUnixSeconds(1700000000));
    unlink(path);
    return e;
  }();
  return env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Env* env = GetEnv();
  const bool server = (data[0] & 1) == 0;
  const size_t chunk = 1 + (data[0] >> 1) * 8;
  auto h = tls::Handshake::Create(server ? *env->server : *env->client, absl::UnixEpoch());
  if (!h.ok()) return 0;
  (void)(*h)->TakeOutput();
  size_t off = 1;
  while (off < size && (*h)->state() == tls::HandshakeState::kInProgress) {
    size_t n = size - off < chunk ? size - off : chunk;
    (*h)->Feed(absl::Span<const uint8_t>(data + off, n));
    (void)(*h)->TakeOutput();
    off += n;
  }
  (*h)->OnTimer(absl::InfiniteFuture());
  return 0;
}
