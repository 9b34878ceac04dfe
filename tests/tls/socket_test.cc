// Real peers through kernel sockets on loopback: `openssl s_client` (TLS 1.2 and 1.3, every
// suite, with and without a client certificate) against a tiny echo server that drives our
// handshake driver, key handover and ipsec-mb record layer over a TCP socket. The data is
// checked byte for byte. The userspace-TCP variant of this test belongs to the data plane.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tls/test_util.h"
#include "tls/context.h"
#include "tls/handshake.h"
#include "tls/record.h"

extern char** environ;

namespace {

// Waits for `fd` to become readable; a bound so a broken peer cannot hang the test (the result
// is judged by the bytes, never by the time).
bool WaitReadable(int fd, int ms = 20000) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

bool SendAll(int fd, const uint8_t* d, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, d, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    d += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

struct Result {
  bool handshake_ok = false;
  size_t echoed = 0;
  std::string error;
  std::string peer_subject;
};

// Serves one connection: handshake, handover, echo `expect` bytes back, close_notify.
Result ServeOne(int listen_fd, tls::TlsContext& ctx, size_t expect) {
  Result res;
  if (!WaitReadable(listen_fd)) {
    res.error = "no connection";
    return res;
  }
  int fd = accept(listen_fd, nullptr, nullptr);
  auto h = *tls::Handshake::Create(ctx, absl::Now());
  uint8_t buf[65536];
  while (h->state() == tls::HandshakeState::kInProgress) {
    if (!WaitReadable(fd)) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    h->Feed(absl::MakeSpan(buf, n));
    std::vector<uint8_t> out = h->TakeOutput();
    SendAll(fd, out.data(), out.size());
  }
  if (h->state() != tls::HandshakeState::kEstablished) {
    res.error = std::string(h->error().message());
    std::vector<uint8_t> out = h->TakeOutput();  // our alert
    SendAll(fd, out.data(), out.size());
    close(fd);
    return res;
  }
  res.handshake_ok = true;
  auto ho = h->TakeHandover();
  h.reset();
  res.peer_subject = ho->peer_subject;
  auto rs = std::make_unique<tls::RecordSession>();
  (void)rs->Init(ctx.lcore(), ho->keys);
  tls::Wipe(ho->keys);
  SendAll(fd, ho->pending_output.data(), ho->pending_output.size());
  std::vector<uint8_t> stream = std::move(ho->pending_input);
  std::vector<uint8_t> out(tls::kMaxPlaintext + 64);
  bool closed = false;
  while (!closed) {
    size_t off = 0;
    for (;;) {
      absl::Span<uint8_t> rest = absl::MakeSpan(stream).subspan(off);
      tls::OpenResult r = rs->Open(ctx.lcore(), tls::Segments(&rest, 1));
      if (r.status == tls::OpenStatus::kNeedMore) break;
      if (r.status == tls::OpenStatus::kData) {
        auto n = rs->SealCopy(ctx.lcore(), tls::ContentType::kApplicationData,
                              rest.subspan(r.data_offset, r.data_len), absl::MakeSpan(out));
        SendAll(fd, out.data(), *n);
        res.echoed += r.data_len;
      } else if (r.status != tls::OpenStatus::kControl) {
        if (r.status != tls::OpenStatus::kCloseNotify) {
          res.error = std::string("record layer: ") + tls::AlertName(r.alert);
        }
        closed = true;
      }
      if (rs->HasPendingOutput()) {
        uint8_t p[tls::RecordSession::kMaxPendingOutput];
        auto n = rs->SealPendingOutput(ctx.lcore(), absl::MakeSpan(p));
        SendAll(fd, p, *n);
      }
      if (closed) break;
      off += r.record_len;
    }
    stream.erase(stream.begin(), stream.begin() + off);
    if (closed) break;
    if (res.echoed >= expect) {
      rs->Close();
      uint8_t p[tls::RecordSession::kMaxPendingOutput];
      auto n = rs->SealPendingOutput(ctx.lcore(), absl::MakeSpan(p));
      SendAll(fd, p, *n);
      shutdown(fd, SHUT_WR);
      break;
    }
    if (!WaitReadable(fd)) {
      res.error = "peer went silent";
      break;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    stream.insert(stream.end(), buf, buf + n);
  }
  close(fd);
  return res;
}

class SocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new tls_test::TestPki();
    lc_ = tls::LcoreCrypto::Create()->release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete lc_;
  }

  // Runs s_client with `args` against a server built from `cfg`; returns what s_client printed.
  Result Run(const tls::TlsConfig& cfg, std::vector<std::string> args, size_t bytes,
             std::string* client_stdout) {
    auto ctx = *tls::TlsContext::Create(*lc_, cfg, absl::Now());
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(lfd, 4);
    socklen_t al = sizeof(a);
    getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &al);
    const int port = ntohs(a.sin_port);

    std::string in_path = pki_->Path("client_in.bin");
    std::string out_path = pki_->Path("client_out.bin");
    std::mt19937 rng(bytes);
    std::string input(bytes, '\0');
    for (auto& ch : input) ch = static_cast<char>(rng());
    std::ofstream(in_path, std::ios::binary) << input;

    std::vector<std::string> argv = {"openssl",
                                     "s_client",
                                     "-connect",
                                     "127.0.0.1:" + std::to_string(port),
                                     "-quiet",
                                     "-ign_eof",
                                     "-servername",
                                     "sstp.test",
                                     "-CAfile",
                                     pki_->ca_cert,
                                     "-verify_return_error"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    EXPECT_EQ(posix_spawnp(&pid, "openssl", &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);

    Result r = ServeOne(lfd, *ctx, bytes);
    close(lfd);
    // s_client exits once the connection is closed; make sure it cannot outlive the test.
    int status = 0;
    for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; ++i) usleep(50000);
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    std::stringstream ss;
    ss << std::ifstream(out_path, std::ios::binary).rdbuf();
    *client_stdout = ss.str();
    if (*client_stdout != input && r.error.empty() && r.handshake_ok) {
      r.error = "echo differs from input";
    }
    return r;
  }

  tls::TlsConfig ServerConfig() {
    tls::TlsConfig cfg;
    cfg.role = tls::Role::kServer;
    cfg.certificate_file = pki_->server_ec_cert;
    cfg.private_key_file = pki_->server_ec_key;
    return cfg;
  }

  static tls_test::TestPki* pki_;
  static tls::LcoreCrypto* lc_;
};
tls_test::TestPki* SocketTest::pki_;
tls::LcoreCrypto* SocketTest::lc_;

TEST_F(SocketTest, EverySuiteEchoesByteExact) {
  const std::vector<std::vector<std::string>> suites = {
      {"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"},
      {"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"},
      {"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
      {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"},
  };
  for (const auto& s : suites) {
    SCOPED_TRACE(s.back());
    std::string got;
    Result r = Run(ServerConfig(), s, 1 << 20, &got);
    EXPECT_TRUE(r.handshake_ok) << r.error;
    EXPECT_EQ(r.echoed, size_t{1} << 20) << r.error;
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(got.size(), size_t{1} << 20);
  }
}

TEST_F(SocketTest, ClientCertificateAcceptedAndRefused) {
  tls::TlsConfig cfg = ServerConfig();
  cfg.require_client_certificate = true;
  cfg.ca_file = pki_->ca_cert;
  std::string got;
  Result ok = Run(cfg, {"-cert", pki_->client_cert, "-key", pki_->client_key}, 4096, &got);
  EXPECT_TRUE(ok.handshake_ok) << ok.error;
  EXPECT_EQ(ok.echoed, 4096u);
  EXPECT_NE(ok.peer_subject.find("branch-router"), std::string::npos);
  Result rogue =
      Run(cfg, {"-cert", pki_->rogue_client_cert, "-key", pki_->rogue_client_key}, 4096, &got);
  EXPECT_FALSE(rogue.handshake_ok);
  EXPECT_TRUE(got.empty()) << "no data may pass";
  Result none = Run(cfg, {}, 4096, &got);
  EXPECT_FALSE(none.handshake_ok);
  EXPECT_TRUE(got.empty());
}

}  // namespace
