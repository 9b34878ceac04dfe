// sstp-controlplane and sstpctl as processes: control socket permissions and bad input, exit
// codes, persistence across kill -9, a damaged configuration file, and resync with a data plane
// (played by the test through the real ring) across control plane restarts.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/ctl_protocol.h"
#include "controlplane/persist.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ring/messages.h"
#include "ring/ring.h"
#include "tests/controlplane/test_util.h"

namespace cp {
namespace {

using ::testing::HasSubstr;

struct Proc {
  pid_t pid = -1;
  int status = 0;
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/cp-daemon-XXXXXX";
    dir_ = mkdtemp(t);
    ring_ = absl::StrCat("/sstp-cp-daemon-test-", getpid());
  }
  void TearDown() override {
    Stop();
    ring::Segment::Unlink(ring_);
  }

  void Start(bool wait = true) {
    daemon_.pid = fork();
    if (daemon_.pid == 0) {
      std::string log = dir_ + "/daemon.log";
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(fd, 2);
      execl(CP_BIN, CP_BIN, "--run-dir", dir_.c_str(), "--ring", ring_.c_str(), "--port",
            "ether1=00:30:4F:0B:7B:C1", "--port", "ether2=00:30:4F:06:62:12", nullptr);
      _exit(127);
    }
    if (!wait) return;
    for (int i = 0; i < 200; ++i) {
      if (Ctl({"/system", "ring", "print"}).rc == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "sstp-controlplane did not come up";
  }
  void Kill9() {
    if (daemon_.pid > 0) {
      kill(daemon_.pid, SIGKILL);
      waitpid(daemon_.pid, &daemon_.status, 0);
      daemon_.pid = -1;
    }
  }
  void Stop() {
    if (daemon_.pid > 0) {
      kill(daemon_.pid, SIGTERM);
      waitpid(daemon_.pid, &daemon_.status, 0);
      daemon_.pid = -1;
    }
  }

  struct Out {
    int rc;
    std::string out, err;
  };
  Out Ctl(const std::vector<std::string>& args, const std::string& stdin_text = "",
          bool use_stdin = false) {
    std::string o = dir_ + "/ctl.out", e = dir_ + "/ctl.err", in = dir_ + "/ctl.in";
    FILE* f = fopen(in.c_str(), "w");
    fputs(stdin_text.c_str(), f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
      int ifd = open(in.c_str(), O_RDONLY),
          ofd = open(o.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
          efd = open(e.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(ifd, 0);
      dup2(ofd, 1);
      dup2(efd, 2);
      std::vector<const char*> argv = {CTL_BIN, "--run-dir", dir_.c_str()};
      if (!use_stdin) {
        for (const auto& a : args) argv.push_back(a.c_str());
      }
      argv.push_back(nullptr);
      execv(CTL_BIN, const_cast<char* const*>(argv.data()));
      _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, *ReadWholeFile(o), *ReadWholeFile(e)};
  }

  int Raw() {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string p = dir_ + "/ctl.sock";
    memcpy(a.sun_path, p.c_str(), p.size());
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static std::string ReadFrame(int fd) {
    char h[4];
    if (recv(fd, h, 4, MSG_WAITALL) != 4) return "<closed>";
    std::string body(FrameLength(h), '\0');
    if (recv(fd, body.data(), body.size(), MSG_WAITALL) != ssize_t(body.size())) return "<short>";
    return body;
  }

  std::string dir_, ring_;
  Proc daemon_;
};

TEST_F(DaemonTest, OneCommandStdinAndExitCodes) {
  Start();
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/ctl.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Ctl({"/ppp", "secret", "add", "name=Laptop", "password=123"}).rc, 0);
  auto bad = Ctl({"/ppp", "secret", "add", "name=Laptop"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_THAT(bad.err, HasSubstr("failure: item with such name already exists"));
  auto unknown = Ctl({"/ppp", "secret", "add", "name=x", "colour=blue"});
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_THAT(unknown.err, HasSubstr("expected end of command"));
  // A value with spaces given as one shell word.
  EXPECT_EQ(Ctl({"/ppp", "secret", "set", "Laptop", "routes=198.19.202.0/24 198.18.16.2 1"}).rc, 0);
  auto script = Ctl(
      {},
      "/ppp secret\nprint detail\n/ip pool add name=p \\\n ranges=198.19.101.10-198.19.101.20\n",
      true);
  EXPECT_EQ(script.rc, 0) << script.err;
  EXPECT_THAT(script.out, HasSubstr("routes=\"198.19.202.0/24 198.18.16.2 1\""));
  auto failing =
      Ctl({}, "/ppp secret print\n/ppp secret set nobody password=1\n/ip pool print\n", true);
  EXPECT_EQ(failing.rc, 1);
  EXPECT_THAT(failing.err, HasSubstr("no such item"));
  EXPECT_THAT(failing.err, HasSubstr("line 2"));
  EXPECT_THAT(failing.out, ::testing::Not(HasSubstr("RANGES")));  // stopped at the error
  // The configuration file follows every change, in export format.
  auto saved = ReadWholeFile(dir_ + "/config.rsc");
  ASSERT_TRUE(saved.ok());
  EXPECT_THAT(*saved, HasSubstr("add name=p ranges=198.19.101.10-198.19.101.20"));
  struct stat cs;
  ASSERT_EQ(stat((dir_ + "/config.rsc").c_str(), &cs), 0);
  EXPECT_EQ(cs.st_mode & 0777, 0600u);
  Stop();
  EXPECT_NE(Ctl({"/ppp", "secret", "print"}).rc, 0);  // nobody listening: exit 2
}

// The interactive prompt on a terminal: RouterOS prompt, menu changes, TAB completion of menus,
// arguments and item names, errors shown inline, ^D to leave.
TEST_F(DaemonTest, InteractivePromptWithCompletion) {
  Start();
  int master;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    execl(CTL_BIN, CTL_BIN, "--run-dir", dir_.c_str(), nullptr);
    _exit(127);
  }
  std::string screen;
  auto read_for = [&](int ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 20) > 0) {
        char b[4096];
        ssize_t n = read(master, b, sizeof b);
        if (n <= 0) break;
        screen.append(b, size_t(n));
      }
    }
  };
  auto type = [&](const std::string& keys, const std::string& expect) {
    ASSERT_EQ(write(master, keys.data(), keys.size()), ssize_t(keys.size()));
    for (int i = 0; i < 100 && screen.find(expect) == std::string::npos; ++i) read_for(20);
    EXPECT_THAT(screen, HasSubstr(expect)) << "after typing " << keys;
  };
  type("", "[admin@sstp] > ");
  type("/ppp sec\t", "/ppp secret ");
  type("\r", "[admin@sstp] /ppp secret> ");
  type("add name=Laptop pass\t", "add name=Laptop password=");
  type("123\r", "[admin@sstp] /ppp secret> ");
  type("set La\t", "set Laptop ");
  type("colour=blue\r", "expected end of command (line 1 column 12)");
  type("print\r", " 0   Laptop ");
  type("\x04", "\n");
  int st;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(master);
}

TEST_F(DaemonTest, GarbageAndOversizedRequestsOnTheControlSocket) {
  Start();
  // Oversized: refused with an error, the connection is closed.
  int fd = Raw();
  ASSERT_GE(fd, 0);
  std::string big = Frame(std::string(kMaxRequest + 1, 'C'));
  ASSERT_EQ(write(fd, big.data(), 4), 4);
  EXPECT_THAT(ReadFrame(fd), HasSubstr("failure: request too large"));
  EXPECT_EQ(ReadFrame(fd), "<closed>");
  close(fd);
  // Malformed frames get an error each; the connection stays usable.
  fd = Raw();
  for (std::string payload :
       {std::string("X/\nprint"), std::string(""), std::string("C"),
        std::string("C/ppp secret\n\x01\x02\x03"), std::string("Cnonsense path\n/ppp secret print"),
        std::string("C/\n[[[[[[[\"\"\"")}) {
    std::string f = Frame(payload);
    ASSERT_EQ(write(fd, f.data(), f.size()), ssize_t(f.size()));
    std::string r = ReadFrame(fd);
    ASSERT_FALSE(r.empty());
    if (payload.find("print") == std::string::npos || payload[0] != 'C') {
      EXPECT_EQ(r[0], '1') << payload;
    }
  }
  std::string ok = Frame("C/\n/ppp secret print");
  ASSERT_EQ(write(fd, ok.data(), ok.size()), ssize_t(ok.size()));
  EXPECT_EQ(ReadFrame(fd)[0], '0');
  close(fd);
  // Random bytes, then a half frame and a hang-up.
  fd = Raw();
  std::string junk;
  for (int i = 0; i < 5000; ++i) junk.push_back(char((i * 2654435761u) >> 13));
  ssize_t w = write(fd, junk.data(), junk.size());
  (void)w;
  close(fd);
  fd = Raw();
  ASSERT_EQ(write(fd,
                  "\0\0\0\x10"
                  "C/",
                  6),
            6);
  close(fd);
  // Still serving.
  EXPECT_EQ(Ctl({"/ppp", "secret", "print"}).rc, 0);
}

TEST_F(DaemonTest, ConfigurationSurvivesKill9InTheMiddleOfChanges) {
  int acknowledged = 0;
  for (int round = 0; round < 6; ++round) {
    Start();
    // A stream of changes on one connection; kill -9 arrives while one is in flight.
    int fd = Raw();
    ASSERT_GE(fd, 0);
    const int n = 15 + round * 7;
    for (int i = 0; i < n; ++i) {
      std::string f =
          Frame(absl::StrCat("C/\n/ppp secret add name=u", acknowledged, " password=p",
                             acknowledged, " remote-address=198.19.101.", acknowledged % 250 + 1));
      ASSERT_EQ(write(fd, f.data(), f.size()), ssize_t(f.size()));
      if (i == n - 1) break;  // the last one is in flight when the kill comes
      ASSERT_EQ(ReadFrame(fd)[0], '0');
      ++acknowledged;
    }
    Kill9();
    close(fd);
    // Restart: the file loads, and every acknowledged change is there.
    Start();
    auto r = Ctl({"/export"});
    ASSERT_EQ(r.rc, 0) << r.err;
    for (int i = 0; i < acknowledged; ++i) {
      EXPECT_THAT(r.out, HasSubstr(absl::StrCat("name=u", i, " password=p", i, " ")));
    }
    // The in-flight one may or may not have made it; if it did, it counts from now on.
    if (absl::StrContains(r.out, absl::StrCat("name=u", acknowledged, " "))) ++acknowledged;
    Stop();
  }
  EXPECT_GT(acknowledged, 60);
}

TEST_F(DaemonTest, DamagedConfigurationIsRefusedWithTheLine) {
  Start();
  ASSERT_EQ(Ctl({"/ppp", "secret", "add", "name=a", "password=1"}).rc, 0);
  Stop();
  std::string path = dir_ + "/config.rsc";
  std::string good = *ReadWholeFile(path);
  std::string damaged = good + "/ppp secret\nadd name=b password=1 colour=blue\n";
  ASSERT_TRUE(SaveAtomically(path, damaged).ok());
  Start(false);
  int st;
  ASSERT_EQ(waitpid(daemon_.pid, &st, 0), daemon_.pid);
  daemon_.pid = -1;
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2);
  std::string log = *ReadWholeFile(dir_ + "/daemon.log");
  int lines = int(std::count(good.begin(), good.end(), '\n'));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("line ", lines + 2, ": expected end of command")));
  EXPECT_EQ(*ReadWholeFile(path), damaged);  // left for the operator to see

  // A running control plane asked to reload (SIGHUP) a damaged file keeps its configuration.
  ASSERT_TRUE(SaveAtomically(path, good).ok());
  Start();
  ASSERT_TRUE(SaveAtomically(path, damaged).ok());
  kill(daemon_.pid, SIGHUP);
  for (int i = 0; i < 100; ++i) {
    if (ReadWholeFile(dir_ + "/daemon.log")->find("reload refused") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(*ReadWholeFile(dir_ + "/daemon.log"), HasSubstr("reload refused"));
  auto r = Ctl({"/ppp", "secret", "print"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr(" a "));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr(" b ")));
  // A good file reloads.
  ASSERT_TRUE(SaveAtomically(path, good + "/ppp secret\nadd name=c password=1\n").ok());
  kill(daemon_.pid, SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = Ctl({"/ppp", "secret", "print"}).out.find(" c ") != std::string::npos;
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(reloaded);
}

// The test plays the data plane on the real ring.
TEST_F(DaemonTest, ResyncFromTheDataPlaneAcrossRestarts) {
  auto seg = ring::Segment::Create(ring_, {.n_lcores = 2, .ring_bytes = 1 << 16});
  ASSERT_TRUE(seg.ok());
  seg->DpHeartbeat(getpid(), ring::MonotonicNowNs());
  auto wait_for = [&](auto pred, const char* what) {
    for (int i = 0; i < 300; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "timed out waiting for " << what;
    return false;
  };
  std::vector<ring::Consumer> down = {seg->DownConsumer(0), seg->DownConsumer(1)};
  std::vector<ring::Producer> up = {seg->UpProducer(0, -1), seg->UpProducer(1, -1)};
  // Serve dump requests: lcore 1 holds one established session.
  auto serve_dump = [&](uint64_t expect_epoch) {
    int answered = 0;
    bool ok = wait_for(
        [&] {
          for (uint32_t l = 0; l < 2; ++l) {
            ring::RecordHeader h;
            absl::Span<const uint8_t> p;
            while (down[l].Peek(&h, &p)) {
              auto d = ring::Decode(h, p);
              EXPECT_TRUE(d.ok()) << d.status();
              if (d.ok() && d->type == ring::MsgType::kDumpRequest) {
                EXPECT_EQ(std::get<ring::DumpRequest>(d->body).cp_epoch, expect_epoch);
                uint32_t n = 0;
                if (l == 1) {
                  auto now = absl::Now();
                  auto ds =
                      testing::DumpOf(ring::MakeSessionId(1, 9), "Laptop", 0xc6126301, 43886,
                                      0xc6136501, 0xc6136564, 1500, now - absl::Minutes(5), now);
                  EXPECT_TRUE(
                      ring::Send(up[l], ring::MsgType::kDumpSession, ds.session_id, ds.body));
                  n = 1;
                }
                EXPECT_TRUE(
                    ring::Send(up[l], ring::MsgType::kDumpEnd, 0, ring::DumpEnd{expect_epoch, n}));
                ++answered;
              }
              down[l].Release();
            }
          }
          return answered == 2;
        },
        "dump requests");
    return ok;
  };
  Start();
  ASSERT_TRUE(serve_dump(1));
  ASSERT_TRUE(wait_for([&] { return seg->CpAcceptsSessions(ring::MonotonicNowNs()); },
                       "control plane ready"));
  auto active = Ctl({"/ppp", "active", "print"});
  EXPECT_THAT(active.out, HasSubstr("Laptop"));
  EXPECT_THAT(active.out, HasSubstr("198.19.101.100"));
  // Doorbells: the data plane fetches the control plane's up-ring eventfd over ring.sock (and
  // hands over its own); a record on a sleeping control plane's ring then wakes it up.
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string p = dir_ + "/ring.sock";
    memcpy(a.sun_path, p.c_str(), p.size());
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string tag;
    auto fds = ring::RecvFds(fd, &tag, 4);
    ASSERT_TRUE(fds.ok()) << fds.status();
    EXPECT_EQ(tag, "up");
    ASSERT_EQ(fds->size(), 1u);
    auto mine = ring::Doorbell::Create();
    ASSERT_TRUE(mine.ok());
    ASSERT_TRUE(ring::SendFds(fd, "down", {mine->fd(), mine->fd()}).ok());
    close(fd);
    ring::Doorbell cp_bell = ring::Doorbell::Adopt((*fds)[0]);
    char link[64] = "";
    ssize_t ln = readlink(absl::StrCat("/proc/self/fd/", cp_bell.fd()).c_str(), link, 63);
    EXPECT_EQ(std::string(link, size_t(std::max<ssize_t>(ln, 0))), "anon_inode:[eventfd]");
    up[0].set_doorbell(cp_bell.fd());
    // The idle control plane sleeps with its waiting flag up, so our Commit rings its eventfd
    // (the only syscall on the producer side; the wake-up itself is tested in ring_test).
    ASSERT_TRUE(wait_for([&] { return seg->up_control(0)->consumer_waiting.load() == 1; },
                         "control plane asleep"));
    ring::PortStatus ps{"ether7", {2, 0, 0, 0, 0, 7}, 1500, 1};
    ASSERT_TRUE(ring::Send(up[0], ring::MsgType::kPortStatus, 0, ps));

    ASSERT_TRUE(wait_for(
        [&] {
          return Ctl({"/interface", "ethernet", "print"}).out.find("ether7") != std::string::npos;
        },
        "port status through the ring"));
    // Configuration goes down the ring: proxy-arp on the new port.
    ASSERT_EQ(Ctl({"/interface", "ethernet", "set", "ether7", "arp=proxy-arp"}).rc, 0);
    bool seen = false;
    ASSERT_TRUE(wait_for(
        [&] {
          ring::RecordHeader h;
          absl::Span<const uint8_t> p;
          while (down[0].Peek(&h, &p)) {
            auto d = ring::Decode(h, p);
            if (d.ok() && d->type == ring::MsgType::kPortConfig) {
              const auto& pc = std::get<ring::PortConfig>(d->body);
              if (pc.name == "ether7" && pc.proxy_arp) seen = true;
            }
            down[0].Release();
          }
          return seen;
        },
        "port config on the down ring"));
  }
  // kill -9: the data plane sees the heartbeat stop and refuses new sessions.
  Kill9();
  ASSERT_TRUE(wait_for([&] { return !seg->CpAcceptsSessions(ring::MonotonicNowNs()); },
                       "heartbeat timeout"));
  // Back again: a new epoch, a new dump, the same session.
  Start();
  ASSERT_TRUE(serve_dump(2));
  ASSERT_TRUE(wait_for([&] { return seg->CpAcceptsSessions(ring::MonotonicNowNs()); },
                       "control plane ready again"));
  EXPECT_THAT(Ctl({"/interface", "sstp-server", "print"}).out, HasSubstr("<sstp-..."));
  EXPECT_THAT(Ctl({"/interface", "sstp-server", "monitor", "0"}).out,
              HasSubstr("caller-id: \"198.18.99.1:43886\""));
  // A clean stop says so at once.
  Stop();
  EXPECT_EQ(seg->header()->cp_state.load(), uint32_t(ring::CpState::kAbsent));
}

}  // namespace
}  // namespace cp
