// sstp-controlplane: the control process. Single-threaded epoll loop over the CLI control socket,
// the up-ring doorbell, the doorbell-exchange socket of the data plane, a 100 ms tick (heartbeat,
// ring attach, timers) and signals.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "controlplane/cli.h"
#include "controlplane/client_supervisor.h"
#include "controlplane/controller.h"
#include "controlplane/ctl_protocol.h"
#include "controlplane/kernel_routes.h"
#include "controlplane/persist.h"
#include "controlplane/ppp_engine.h"
#include "ring/messages.h"
#include "ring/ring.h"

namespace cp {
namespace {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
Level g_level = Level::kInfo;
bool g_syslog = false;

template <typename... Args>
void Log(Level level, const absl::FormatSpec<Args...>& fmt, const Args&... args) {
  if (level < g_level) return;
  static const char* kNames[] = {"debug", "info", "warning", "error"};
  std::string msg = absl::StrFormat(fmt, args...);
  std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  fprintf(stderr, "%s sstp-controlplane %s: %s\n", ts.c_str(), kNames[int(level)], msg.c_str());
  if (g_syslog) {
    static const int kPrio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    syslog(kPrio[int(level)], "%s", msg.c_str());
  }
}

struct Options {
  std::string run_dir = "/run/sstp";
  std::string config;  // default <run_dir>/config.rsc
  std::string files_dir;
  std::string ring_name = "/sstp-ring";
  std::vector<std::string> ports;  // name[=mac]
  std::string client_bin;          // sstp-client for /interface sstp-client (default: beside us)
  bool kernel_routes = false;      // /ip route into the kernel (a box without a data plane)
};

void Usage() {
  fprintf(stderr,
          "usage: sstp-controlplane [--run-dir DIR] [--config FILE] [--files-dir DIR]\n"
          "                         [--ring SHM-NAME] [--port NAME[=MAC]]... \n"
          "                         [--log-level debug|info|warning|error] [--syslog]\n"
          "                         [--client-bin PATH] [--kernel-routes]\n");
}

// Messages for the data plane: straight into the ring, or into a bounded backlog while the ring
// is full or absent. Overflow of the backlog is counted and logged, never silent.
class RingSink : public DownSink {
 public:
  static constexpr size_t kMaxBacklog = 1 << 16;

  void Attach(ring::Segment* seg) {
    seg_ = seg;
    producers_.clear();
    backlog_.assign(seg ? seg->n_lcores() : 0, {});
    if (seg) {
      for (uint32_t l = 0; l < seg->n_lcores(); ++l) {
        producers_.push_back(seg->DownProducer(l, doorbells_.size() > l ? doorbells_[l] : -1));
      }
    }
  }
  void SetDoorbells(std::vector<int> fds) {
    doorbells_ = std::move(fds);
    for (size_t l = 0; l < producers_.size(); ++l) {
      producers_[l].set_doorbell(l < doorbells_.size() ? doorbells_[l]
                                 : doorbells_.empty()  ? -1
                                                       : doorbells_[0]);
    }
  }

  bool Send(uint32_t lcore, ring::MsgType type, uint64_t session,
            const ring::Message& body) override {
    if (seg_ == nullptr || lcore >= producers_.size()) {
      ++dropped_no_ring_;
      return false;
    }
    auto& q = backlog_[lcore];
    if (q.empty() && ring::Send(producers_[lcore], type, session, body)) return true;
    if (q.size() >= kMaxBacklog) {
      ++dropped_overflow_;
      Log(Level::kError, "ring: down backlog of lcore %u full, %s for session %#x dropped", lcore,
          ring::MsgTypeName(type), session);
      return false;
    }
    q.push_back({type, session, ring::Encode(body)});
    return true;
  }

  void Flush() {
    for (size_t l = 0; l < backlog_.size(); ++l) {
      auto& q = backlog_[l];
      while (!q.empty() && producers_[l].Push(uint16_t(q.front().type), ring::kMessageVersion,
                                              q.front().session, q.front().bytes)) {
        q.pop_front();
      }
    }
  }

  uint32_t n_lcores() const override { return seg_ ? seg_->n_lcores() : 0; }

  std::string RingStatus() const override {
    if (seg_ == nullptr) return "ring: not attached (no data plane)\n";
    std::string out = absl::StrFormat(" %-5s %-4s %12s %12s %10s %10s %8s\n", "LCORE", "DIR",
                                      "RECORDS", "USED-BYTES", "FULL", "DECODE-ERR", "BACKLOG");
    for (uint32_t l = 0; l < seg_->n_lcores(); ++l) {
      for (int dir = 0; dir < 2; ++dir) {
        ring::RingControl* c = dir == 0 ? seg_->up_control(l) : seg_->down_control(l);
        uint64_t used = c->head.load() - c->tail.load();
        absl::StrAppendFormat(&out, " %-5u %-4s %12u %12u %10u %10u %8u\n", l,
                              dir == 0 ? "up" : "down", c->records.load(), used,
                              c->full_count.load(), dir == 0 ? decode_errors : 0,
                              dir == 0 ? 0 : backlog_[l].size());
      }
    }
    absl::StrAppendFormat(&out, " dropped: %u (backlog overflow), %u (no ring)\n",
                          dropped_overflow_, dropped_no_ring_);
    return out;
  }

  uint64_t decode_errors = 0;

 private:
  struct Pending {
    ring::MsgType type;
    uint64_t session;
    std::vector<uint8_t> bytes;
  };
  ring::Segment* seg_ = nullptr;
  std::vector<ring::Producer> producers_;
  std::vector<std::deque<Pending>> backlog_;
  std::vector<int> doorbells_;
  uint64_t dropped_overflow_ = 0, dropped_no_ring_ = 0;
};

struct Client {
  int fd;
  std::string in, out;
};

int Listen(const std::string& path) {
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return -1;
  memcpy(a.sun_path, path.c_str(), path.size());
  // Owner-only from the start: no window in which others could connect.
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  umask(old);
  if (rc != 0 || chmod(path.c_str(), 0600) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The sstp-client program: installed beside sstp-controlplane, or in the build tree's client/.
std::string DefaultClientBinary() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "sstp-client";
  std::string dir(self, size_t(n));
  dir = dir.substr(0, dir.rfind('/'));
  for (const std::string& c : {dir + "/sstp-client", dir + "/../client/sstp-client"}) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return dir + "/sstp-client";
}

class Daemon {
 public:
  explicit Daemon(Options o)
      : opt_(std::move(o)), controller_(&sink_, Controller::Options{opt_.files_dir, "sstp"}) {}

  int Run();

 private:
  absl::Status LoadConfig();
  void Persist();
  void Tick();
  void TryAttach();
  void DrainUp();
  void OnClientReadable(int fd);
  void HandleRequest(Client& c, absl::string_view payload);
  void CloseClient(int fd);
  void ApplyClients();
  void Add(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }

  Options opt_;
  RingSink sink_;
  Controller controller_;
  int ep_ = -1, ctl_fd_ = -1, ring_sock_fd_ = -1, timer_fd_ = -1, sig_fd_ = -1;
  ring::Doorbell up_bell_;
  std::unique_ptr<ring::Segment> seg_;
  std::unique_ptr<ClientSupervisor> clients_sup_;
  std::unique_ptr<KernelRoutes> kernel_routes_;
  int ticks_ = 0;
  std::vector<ring::Consumer> consumers_;
  std::map<int, Client> clients_;
  std::vector<int> dp_links_;  // connections on ring.sock
  bool running_ = true;
  bool ready_ = false;
};

absl::Status Daemon::LoadConfig() {
  auto text = ReadWholeFile(opt_.config);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      Log(Level::kInfo, "no configuration at %s: starting with defaults", opt_.config);
      return absl::OkStatus();
    }
    return text.status();
  }
  absl::Status s = controller_.LoadConfig(*text, absl::Now());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(opt_.config, ": ", s.message()));
  Log(Level::kInfo, "configuration loaded from %s", opt_.config);
  return absl::OkStatus();
}

void Daemon::ApplyClients() {
  if (kernel_routes_) kernel_routes_->Reconcile(StaticRoutes(controller_.config()));
  if (clients_sup_ == nullptr) return;
  clients_sup_->Apply(ClientSpecs(controller_.config(), opt_.files_dir, opt_.run_dir + "/clients"),
                      absl::Now());
}

void Daemon::Persist() {
  absl::Status s = SaveAtomically(
      opt_.config, absl::StrCat("# sstp-controlplane configuration\n", controller_.ExportConfig()));
  if (!s.ok()) Log(Level::kError, "saving configuration: %s", s.ToString());
}

void Daemon::TryAttach() {
  if (seg_ != nullptr && !seg_->Stale(opt_.ring_name)) return;
  if (seg_ != nullptr) {
    Log(Level::kWarn, "ring %s was re-created by the data plane: re-attaching", opt_.ring_name);
    sink_.Attach(nullptr);
    consumers_.clear();
    seg_.reset();
    ready_ = false;
  }
  auto seg = ring::Segment::Attach(opt_.ring_name);
  if (!seg.ok()) return;  // no data plane yet; retried every tick
  seg_ = std::make_unique<ring::Segment>(*std::move(seg));
  const uint64_t now = ring::MonotonicNowNs();
  seg_->CpAttach(uint32_t(getpid()), now);
  for (uint32_t l = 0; l < seg_->n_lcores(); ++l) consumers_.push_back(seg_->UpConsumer(l));
  sink_.Attach(seg_.get());
  Log(Level::kInfo, "attached to ring %s: %u lcores, %u bytes per ring, epoch %u", opt_.ring_name,
      seg_->n_lcores(), seg_->ring_bytes(), seg_->header()->cp_epoch.load());
  controller_.StartResync(seg_->header()->cp_epoch.load(), absl::Now());
  sink_.Flush();
}

void Daemon::DrainUp() {
  if (seg_ == nullptr) return;
  for (uint32_t l = 0; l < consumers_.size(); ++l) {
    ring::RecordHeader h;
    absl::Span<const uint8_t> payload;
    // Bounded work per lcore per iteration so the CLI stays responsive under load.
    for (int n = 0; n < 1024 && consumers_[l].Peek(&h, &payload); ++n) {
      auto d = ring::Decode(h, payload);
      if (d.ok()) {
        controller_.OnMessage(l, *d, absl::Now());
      } else {
        ++sink_.decode_errors;
        Log(Level::kWarn, "ring: lcore %u: dropped invalid record: %s", l, d.status().message());
      }
      consumers_[l].Release();
    }
    if (consumers_[l].corrupt()) {
      Log(Level::kError, "ring: lcore %u up ring is corrupt; re-attaching", l);
      seg_.reset();
      consumers_.clear();
      sink_.Attach(nullptr);
      return;
    }
  }
  sink_.Flush();
}

void Daemon::Tick() {
  TryAttach();
  if (seg_ != nullptr) {
    seg_->CpHeartbeat(ring::MonotonicNowNs());
    if (!ready_ && controller_.resynced()) {
      ready_ = true;
      seg_->CpSetState(ring::CpState::kReady);
      Log(Level::kInfo, "resync complete: %u sessions; accepting new sessions",
          controller_.sessions().size());
    }
  }
  controller_.OnTimer(absl::Now());
  if (clients_sup_) clients_sup_->Tick(absl::Now());
  // Once a second: routes via a tunnel's peer become installable when the tunnel comes up.
  if (kernel_routes_ && ++ticks_ % 10 == 0) {
    kernel_routes_->Reconcile(StaticRoutes(controller_.config()));
  }
  sink_.Flush();
}

void Daemon::CloseClient(int fd) {
  epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  clients_.erase(fd);
}

void Daemon::HandleRequest(Client& c, absl::string_view payload) {
  std::string response;
  if (payload.size() < 2 || (payload[0] != 'C' && payload[0] != 'T') ||
      payload.find('\n') == absl::string_view::npos) {
    response = "1\nfailure: malformed request";
  } else {
    char kind = payload[0];
    size_t nl = payload.find('\n');
    std::string cwd_text(payload.substr(1, nl - 1));
    absl::string_view line = payload.substr(nl + 1);
    MenuPath cwd;
    for (absl::string_view p : absl::StrSplit(cwd_text, ' ', absl::SkipEmpty())) {
      cwd.push_back(std::string(p));
    }
    if (!cwd.empty() && cwd[0].size() > 0 && cwd[0][0] == '/') cwd[0] = cwd[0].substr(1);
    if (!cwd.empty() && cwd[0].empty()) cwd.erase(cwd.begin());
    if (!IsMenu(cwd)) cwd.clear();
    if (kind == 'T') {
      std::vector<std::string> arg_names, item_names;
      auto parsed = ParseCommand(
          line.substr(0, line.rfind(' ') == absl::string_view::npos ? 0 : line.rfind(' ') + 1),
          cwd);
      MenuPath target = parsed.ok() ? parsed->path : cwd;
      if (const TableSpec* spec = Config::SpecFor(target)) {
        for (const PropSpec& p : spec->props) {
          if (p.kind != Kind::kReadOnly) arg_names.push_back(p.name);
        }
        const TableSpec& s = *spec;
        for (const Item& it : controller_.config().Items(target)) {
          std::string n = controller_.config().GetOf(s, it, "name");
          if (!n.empty()) item_names.push_back(n);
        }
      }
      auto cands = Complete(line, cwd, arg_names, item_names);
      response = absl::StrCat("0", PathString(cwd), "\n", absl::StrJoin(cands, "\n"));
    } else {
      Controller::Result r = controller_.Execute(line, cwd, absl::Now());
      if (r.changed) {
        Persist();
        ApplyClients();
      }
      sink_.Flush();
      if (r.status.ok()) {
        response = absl::StrCat("0", PathString(r.cwd), "\n", r.output);
      } else {
        response = absl::StrCat("1", PathString(r.cwd), "\n", r.output, r.status.message(), "\n");
        Log(Level::kDebug, "command failed: %s", r.status.message());
      }
    }
  }
  c.out += Frame(response);
}

void Daemon::OnClientReadable(int fd) {
  Client& c = clients_[fd];
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    CloseClient(fd);
    return;
  }
  c.in.append(buf, size_t(n));
  bool close_after = false;
  while (c.in.size() >= 4) {
    uint32_t len = FrameLength(c.in.data());
    if (len > kMaxRequest) {
      c.out += Frame("1\nfailure: request too large");
      close_after = true;
      break;
    }
    if (c.in.size() < 4 + size_t(len)) break;
    std::string payload = c.in.substr(4, len);
    c.in.erase(0, 4 + size_t(len));
    HandleRequest(c, payload);
  }
  // Responses are small enough to go out at once in practice; a slow reader gets a blocking
  // write bounded by a send timeout so one stuck CLI cannot stall the loop for long.
  while (!c.out.empty()) {
    ssize_t w = write(fd, c.out.data(), c.out.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close_after = true;
      break;
    }
    c.out.erase(0, size_t(w));
  }
  if (close_after) CloseClient(fd);
}

int Daemon::Run() {
  mkdir(opt_.run_dir.c_str(), 0700);
  if (opt_.config.empty()) opt_.config = opt_.run_dir + "/config.rsc";
  if (opt_.files_dir.empty()) opt_.files_dir = opt_.run_dir;
  controller_ = Controller(&sink_, Controller::Options{opt_.files_dir, "sstp"});
  controller_.set_engine_factory(MakePppEngineFactory());
  // The controller's log (/log print) also goes to stderr and syslog.
  controller_.set_log_hook([](const LogEntry& e) {
    Log(absl::StrContains(e.topics, "error") ? Level::kWarn : Level::kInfo, "%s: %s", e.topics,
        e.message);
  });
  for (const std::string& p : opt_.ports) {
    size_t eq = p.find('=');
    controller_.AddPort(p.substr(0, eq), eq == std::string::npos ? "" : p.substr(eq + 1), 1500);
  }
  absl::Status s = LoadConfig();
  if (!s.ok()) {
    Log(Level::kError, "refusing damaged configuration: %s (the file is left as it is)",
        s.message());
    return 2;
  }
  auto bell = ring::Doorbell::Create();
  if (!bell.ok()) {
    Log(Level::kError, "%s", bell.status().ToString());
    return 1;
  }
  up_bell_ = *std::move(bell);
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  ctl_fd_ = Listen(opt_.run_dir + "/ctl.sock");
  ring_sock_fd_ = Listen(opt_.run_dir + "/ring.sock");
  if (ctl_fd_ < 0 || ring_sock_fd_ < 0) {
    Log(Level::kError, "cannot listen in %s: %s", opt_.run_dir, strerror(errno));
    return 1;
  }
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec its{};
  its.it_interval.tv_nsec = long(ring::kHeartbeatPeriodNs);
  its.it_value.tv_nsec = long(ring::kHeartbeatPeriodNs);
  timerfd_settime(timer_fd_, 0, &its, nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sig_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  for (int fd : {ctl_fd_, ring_sock_fd_, timer_fd_, sig_fd_, up_bell_.fd()}) Add(fd);
  Log(Level::kInfo, "listening on %s/ctl.sock; ring %s", opt_.run_dir, opt_.ring_name);
  // /interface sstp-client: one sstp-client child per enabled entry.
  std::string bin = opt_.client_bin.empty() ? DefaultClientBinary() : opt_.client_bin;
  ClientSupervisor::Hooks hooks;
  hooks.status = [this](const std::string& name, std::map<std::string, std::string> st) {
    controller_.SetClientStatus(name, std::move(st));
  };
  hooks.log = [this](const std::string& topics, const std::string& message) {
    controller_.Log(topics, message, absl::Now());
  };
  hooks.watch = [this](int fd, bool add) {
    if (add) {
      Add(fd);
    } else {
      epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    }
  };
  if (opt_.kernel_routes) {
    kernel_routes_ = std::make_unique<KernelRoutes>(
        [this](const std::string& m) { controller_.Log("route,info", m, absl::Now()); });
  }
  clients_sup_ = std::make_unique<ClientSupervisor>(
      ClientSupervisor::Options{bin, opt_.run_dir + "/clients"}, std::move(hooks));
  ApplyClients();
  Tick();

  while (running_) {
    // Announce sleep on every up ring; if something arrived meanwhile, do not sleep.
    int timeout = -1;
    for (auto& c : consumers_) {
      if (!c.PrepareToSleep()) timeout = 0;
    }
    epoll_event evs[32];
    int n = epoll_wait(ep_, evs, 32, timeout);
    for (auto& c : consumers_) c.Awake();
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == ctl_fd_) {
        int cfd = accept4(ctl_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
          timeval tv{2, 0};
          setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
          int flags = fcntl(cfd, F_GETFL);
          fcntl(cfd, F_SETFL, flags & ~O_NONBLOCK);
          clients_[cfd] = Client{cfd, "", ""};
          Add(cfd);
        }
      } else if (fd == ring_sock_fd_) {
        // A data plane: give it our up doorbell, take its down doorbells.
        int dfd = accept4(ring_sock_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (dfd >= 0) {
          timeval tv{1, 0};
          setsockopt(dfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          absl::Status st = ring::SendFds(dfd, "up", {up_bell_.fd()});
          std::string tag;
          auto fds = st.ok() ? ring::RecvFds(dfd, &tag, ring::kMaxLcores)
                             : absl::StatusOr<std::vector<int>>(st);
          if (fds.ok() && tag == "down") {
            sink_.SetDoorbells(*fds);
            Log(Level::kInfo, "data plane doorbells received (%u)", fds->size());
          } else {
            Log(Level::kWarn, "doorbell exchange failed: %s",
                fds.ok() ? "unexpected tag" : fds.status().ToString());
          }
          close(dfd);
        }
      } else if (fd == timer_fd_) {
        uint64_t ticks;
        ssize_t r = read(timer_fd_, &ticks, sizeof ticks);
        (void)r;
        Tick();
      } else if (fd == sig_fd_) {
        signalfd_siginfo si;
        ssize_t r = read(sig_fd_, &si, sizeof si);
        (void)r;
        if (r == ssize_t(sizeof si) && si.ssi_signo == SIGCHLD) {
          if (clients_sup_) clients_sup_->Reap(absl::Now());
        } else if (r == ssize_t(sizeof si) && si.ssi_signo == SIGHUP) {
          // Reload: a damaged file is refused with its line and reason, and the running (last
          // good) configuration stays.
          absl::Status st = LoadConfig();
          if (!st.ok()) {
            Log(Level::kError, "reload refused: %s; keeping the running configuration",
                st.message());
          }
          ApplyClients();
          sink_.Flush();
        } else {
          running_ = false;
        }
      } else if (fd == up_bell_.fd()) {
        up_bell_.Drain();
      } else if (clients_.count(fd)) {
        OnClientReadable(fd);
      } else if (clients_sup_ && clients_sup_->Owns(fd)) {
        clients_sup_->OnReadable(fd, absl::Now());
      }
    }
    DrainUp();
  }
  if (seg_ != nullptr) seg_->CpSetState(ring::CpState::kAbsent);
  // The sstp-client children disconnect (SIGTERM) and are reaped before we go.
  if (clients_sup_) clients_sup_->StopAll(absl::Seconds(5));
  if (kernel_routes_) kernel_routes_->Reconcile({});  // our kernel routes go with us
  Log(Level::kInfo, "exiting");
  unlink((opt_.run_dir + "/ctl.sock").c_str());
  unlink((opt_.run_dir + "/ring.sock").c_str());
  return 0;
}

}  // namespace
}  // namespace cp

int main(int argc, char** argv) {
  cp::Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        cp::Usage();
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--run-dir") {
      o.run_dir = next();
    } else if (a == "--config") {
      o.config = next();
    } else if (a == "--files-dir") {
      o.files_dir = next();
    } else if (a == "--ring") {
      o.ring_name = next();
    } else if (a == "--kernel-routes") {
      o.kernel_routes = true;
    } else if (a == "--client-bin") {
      o.client_bin = next();
    } else if (a == "--port") {
      o.ports.push_back(next());
    } else if (a == "--syslog") {
      cp::g_syslog = true;
      openlog("sstp-controlplane", LOG_PID, LOG_DAEMON);
    } else if (a == "--log-level") {
      std::string l = next();
      cp::g_level = l == "debug"     ? cp::Level::kDebug
                    : l == "warning" ? cp::Level::kWarn
                    : l == "error"   ? cp::Level::kError
                                     : cp::Level::kInfo;
    } else {
      cp::Usage();
      return 2;
    }
  }
  cp::Daemon d(o);
  return d.Run();
}
