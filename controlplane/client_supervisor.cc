#include "controlplane/client_supervisor.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controlplane/values.h"

namespace cp {
namespace {

const MenuPath kSstpClient = {"interface", "sstp-client"};
const MenuPath kCertificate = {"certificate"};

// A value for the client's config file: quoted, with " and \ escaped (client/options.cc Unquote).
std::string ConfigQuote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The PEM certificates (no keys) of `path`, appended to `out`.
void AppendCertificates(const std::string& path, std::string* out) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return;
  BIO* mem = BIO_new(BIO_s_mem());
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    PEM_write_bio_X509(mem, x);
    X509_free(x);
  }
  fclose(f);
  char* data = nullptr;
  long n = BIO_get_mem_data(mem, &data);
  if (n > 0) out->append(data, size_t(n));
  BIO_free(mem);
}

bool WriteFile0600(const std::string& path, const std::string& text) {
  // Written beside and renamed, so a starting child never reads half a file; 0600 from creation.
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return false;
  bool ok = fchmod(fd, 0600) == 0;
  size_t off = 0;
  while (ok && off < text.size()) {
    ssize_t w = write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = false;
    if (w > 0) off += size_t(w);
  }
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::string ExitText(int wstatus) {
  if (WIFEXITED(wstatus)) return absl::StrCat("exited with status ", WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return absl::StrCat("killed by signal ", WTERMSIG(wstatus));
  return "stopped";
}

}  // namespace

std::vector<ClientSpec> ClientSpecs(const Config& config, const std::string& files_dir,
                                    const std::string& state_dir) {
  std::vector<ClientSpec> out;
  const TableSpec& spec = *Config::SpecFor(kSstpClient);
  for (const Item& it : config.Items(kSstpClient)) {
    auto g = [&](const char* p) { return config.GetOf(spec, it, p); };
    if (g("disabled") == "yes") continue;
    ClientSpec c;
    c.name = g("name");
    std::string& t = c.config_text;
    absl::StrAppend(&t, "# sstp-controlplane: /interface sstp-client ", c.name,
                    " (rewritten on every change; do not edit)\n");
    absl::StrAppend(&t, "name=", c.name, "\n");
    absl::StrAppend(&t, "connect-to=", g("connect-to"), "\n");
    absl::StrAppend(&t, "user=", ConfigQuote(g("user")), "\n");
    absl::StrAppend(&t, "password=", ConfigQuote(g("password")), "\n");
    absl::StrAppend(&t, "authentication=", g("authentication"), "\n");
    // The client program takes 576..4091 (a PPP frame in a 12-bit SSTP length, MS-SSTP 2.2.3).
    for (const char* k : {"max-mtu", "max-mru"}) {
      int64_t v = std::clamp<int64_t>(ParseInt(g(k)).value_or(1500), 576, 4091);
      absl::StrAppend(&t, k, "=", v, "\n");
    }
    absl::StrAppend(&t, "mrru=", g("mrru"), "\n");
    absl::StrAppend(&t, "keepalive-timeout=", g("keepalive-timeout"), "\n");
    absl::StrAppend(&t, "add-default-route=", g("add-default-route"), "\n");
    absl::StrAppend(&t, "dial-on-demand=", g("dial-on-demand"), "\n");
    auto proxy = ParseIpPort(g("proxy"), 443);
    if (proxy && proxy->addr != 0) absl::StrAppend(&t, "proxy=", g("proxy"), "\n");
    int ci = config.FindByName(kCertificate, g("certificate"));
    if (ci >= 0) {
      const Item& cert = config.Items(kCertificate)[size_t(ci)];
      auto file = cert.v.find("file");
      auto key = cert.v.find("key-file");
      if (file != cert.v.end()) {
        absl::StrAppend(&t, "certificate=", ConfigQuote(files_dir + "/" + file->second), "\n");
        absl::StrAppend(
            &t, "certificate-key=",
            ConfigQuote(files_dir + "/" + (key != cert.v.end() ? key->second : file->second)),
            "\n");
      }
    }
    if (g("verify-server-certificate") == "yes") {
      const TableSpec& cs = *Config::SpecFor(kCertificate);
      for (const Item& cert : config.Items(kCertificate)) {
        if (config.GetOf(cs, cert, "trusted") != "yes") continue;
        AppendCertificates(files_dir + "/" + config.GetOf(cs, cert, "file"), &c.ca_text);
      }
      absl::StrAppend(&t, "verify-server=yes\n");
      absl::StrAppend(&t, "ca-file=", ConfigQuote(state_dir + "/" + c.name + ".ca.pem"), "\n");
    } else {
      // RouterOS's default (verify-server-certificate=no); the client warns about it.
      absl::StrAppend(&t, "verify-server=no\n");
    }
    absl::StrAppend(&t, "status-socket=", ConfigQuote(state_dir + "/" + c.name + ".sock"), "\n");
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::string, std::string> ParseClientStatus(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    line = absl::StripLeadingAsciiWhitespace(line);
    size_t colon = line.find(": ");
    if (colon == absl::string_view::npos || colon == 0) continue;
    std::string key(line.substr(0, colon));
    std::string value(line.substr(colon + 2));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (key.size() <= 32 && value.size() <= 256) out[key] = value;
  }
  return out;
}

ClientSupervisor::ClientSupervisor(Options options, Hooks hooks)
    : opt_(std::move(options)), hooks_(std::move(hooks)) {
  mkdir(opt_.state_dir.c_str(), 0700);
  chmod(opt_.state_dir.c_str(), 0700);
}

ClientSupervisor::~ClientSupervisor() { StopAll(absl::Seconds(2)); }

std::string ClientSupervisor::ConfigPath(const std::string& name) const {
  return absl::StrCat(opt_.state_dir, "/", name, ".conf");
}
std::string ClientSupervisor::SocketPath(const std::string& name) const {
  return absl::StrCat(opt_.state_dir, "/", name, ".sock");
}

pid_t ClientSupervisor::PidOf(const std::string& name) const {
  auto it = children_.find(name);
  return it == children_.end() ? -1 : it->second.pid;
}

void ClientSupervisor::CloseFd(int* fd) {
  if (*fd < 0) return;
  if (hooks_.watch) hooks_.watch(*fd, false);
  fd_owner_.erase(*fd);
  close(*fd);
  *fd = -1;
}

void ClientSupervisor::Apply(const std::vector<ClientSpec>& want, absl::Time now) {
  for (auto& [entry, c] : children_) {
    const std::string& name = entry;  // (clang 14 cannot capture a structured binding)
    auto w =
        std::find_if(want.begin(), want.end(), [&](const ClientSpec& s) { return s.name == name; });
    if (w == want.end()) {
      c.wanted = false;
      c.restart_now = false;
      Stop(c, now);
    } else if (!(*w == c.spec)) {
      c.spec = *w;
      c.wanted = true;
      c.restart_now = true;
      c.backoff = absl::ZeroDuration();
      if (c.pid > 0) {
        Stop(c, now);  // started again with the new settings once reaped
      } else {
        c.restart_at = now;
      }
    }
  }
  for (const ClientSpec& s : want) {
    if (children_.count(s.name)) continue;
    Child& c = children_[s.name];
    c.spec = s;
    c.restart_at = now;
  }
  ForgetGone();
  Tick(now);
}

void ClientSupervisor::Start(Child& c, absl::Time now) {
  const std::string& name = c.spec.name;
  const std::string conf = ConfigPath(name);
  if (!c.spec.ca_text.empty() &&
      !WriteFile0600(absl::StrCat(opt_.state_dir, "/", name, ".ca.pem"), c.spec.ca_text)) {
    hooks_.log("sstp,error", absl::StrCat(name, ": cannot write its CA file: ", strerror(errno)));
  }
  if (!WriteFile0600(conf, c.spec.config_text)) {
    hooks_.log("sstp,error", absl::StrCat(name, ": cannot write ", conf, ": ", strerror(errno)));
    c.restart_at = now + absl::Seconds(5);
    return;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    c.restart_at = now + absl::Seconds(1);
    return;
  }
  const std::string& bin = opt_.binary;
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    hooks_.log("sstp,error", absl::StrCat(name, ": fork: ", strerror(errno)));
    c.restart_at = now + absl::Seconds(1);
    return;
  }
  if (pid == 0) {
    // The child: output into the pipe, default signal handling (the daemon blocks TERM/INT/HUP/
    // CHLD for its signalfd and ignores SIGPIPE; both would be inherited across exec).
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    // If the control plane dies without stopping us, we stop too: a restarted control plane
    // starts its own client with the same status socket, which a live orphan would keep.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(0);
    const char* argv[] = {bin.c_str(), "--config", conf.c_str(), nullptr};
    execv(bin.c_str(), const_cast<char* const*>(argv));
    dprintf(1, "cannot run %s: %s\n", bin.c_str(), strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  c.pid = pid;
  c.out_fd = fds[0];
  fd_owner_[c.out_fd] = name;
  if (hooks_.watch) hooks_.watch(c.out_fd, true);
  c.stopping = false;
  c.kill_at = absl::InfiniteFuture();
  c.started_at = now;
  c.last_line.clear();
  c.next_poll = now + absl::Milliseconds(200);
  c.connected_once = false;
  hooks_.log("sstp,info", absl::StrCat(name, ": started ", bin, " (pid ", pid, ")"));
  std::map<std::string, std::string> st = {{"status", "connecting"}};
  if (hooks_.status) hooks_.status(name, st);
}

void ClientSupervisor::Stop(Child& c, absl::Time now) {
  if (c.pid <= 0 || c.stopping) return;
  // SIGTERM: the client sends LCP Terminate + CALL_DISCONNECT and exits.
  kill(c.pid, SIGTERM);
  c.stopping = true;
  c.kill_at = now + opt_.stop_grace;
}

void ClientSupervisor::ForgetGone() {
  for (auto it = children_.begin(); it != children_.end();) {
    if (!it->second.wanted && it->second.pid <= 0) {
      unlink(ConfigPath(it->first).c_str());
      unlink(absl::StrCat(opt_.state_dir, "/", it->first, ".ca.pem").c_str());
      if (hooks_.status) hooks_.status(it->first, {});
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
}

void ClientSupervisor::Exited(Child& c, int wstatus, absl::Time now) {
  const std::string name = c.spec.name;
  DrainOutput(c, false);
  CloseFd(&c.out_fd);
  CloseFd(&c.status_fd);
  if (!c.out_buf.empty()) {
    hooks_.log("sstp,info", absl::StrCat(name, ": ", c.out_buf));
    c.out_buf.clear();
  }
  c.pid = -1;
  c.last_exit = ExitText(wstatus);
  if (!c.last_line.empty()) absl::StrAppend(&c.last_exit, ": ", c.last_line);
  // sstp-client exits 2 when it refuses its configuration (client/main.cc): retrying will not
  // help until the entry changes (which restarts it at once), so wait the longest backoff.
  const bool refused = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2;
  const bool expected = c.stopping;
  c.stopping = false;
  hooks_.log(expected ? "sstp,info" : "sstp,error",
             absl::StrCat(name, ": sstp-client ", c.last_exit));
  if (!c.wanted) return;  // removed: Apply/Tick forgets it
  if (c.restart_now) {
    c.restart_now = false;
    c.restart_at = now;
  } else {
    // Exponential backoff, reset by a run that reached "connected" (the client reconnects by
    // itself; an exit means it gave up or failed to start).
    if (c.connected_once) c.backoff = absl::ZeroDuration();
    c.backoff = c.backoff == absl::ZeroDuration() ? opt_.min_backoff
                                                  : std::min(c.backoff * 2, opt_.max_backoff);
    if (refused) c.backoff = opt_.max_backoff;
    c.restart_at = now + c.backoff;
  }
  PublishDown(c, now);
}

void ClientSupervisor::PublishDown(Child& c, absl::Time now) {
  std::map<std::string, std::string> st = {{"status", "disconnected"}};
  if (!c.last_exit.empty()) st["last-error"] = absl::StrCat("sstp-client ", c.last_exit);
  if (c.restart_at > now && c.restart_at != absl::InfiniteFuture()) {
    st["next-attempt"] =
        absl::StrCat("in ", FormatDuration(uint64_t(absl::ToInt64Seconds(c.restart_at - now) + 1)));
  }
  if (hooks_.status) hooks_.status(c.spec.name, st);
}

void ClientSupervisor::Reap(absl::Time now) {
  for (auto& [name, c] : children_) {
    if (c.pid <= 0) continue;
    int wstatus = 0;
    pid_t r = waitpid(c.pid, &wstatus, WNOHANG);
    if (r == c.pid) Exited(c, wstatus, now);
  }
  ForgetGone();
}

void ClientSupervisor::Tick(absl::Time now) {
  Reap(now);
  for (auto& [name, c] : children_) {
    if (c.pid <= 0) {
      if (c.wanted && now >= c.restart_at) Start(c, now);
      continue;
    }
    if (c.stopping && now >= c.kill_at) {
      hooks_.log("sstp,error", absl::StrCat(name, ": no exit after SIGTERM; SIGKILL"));
      kill(c.pid, SIGKILL);
      c.kill_at = absl::InfiniteFuture();
    }
    // A status query the client did not answer within 5 s is dropped (polling goes on).
    if (c.status_fd >= 0 && now - c.status_since > absl::Seconds(5)) CloseFd(&c.status_fd);
    // Status poll: connect to the client's status socket, read its monitor text to EOF.
    if (c.status_fd < 0 && now >= c.next_poll && !c.stopping) {
      c.next_poll = now + opt_.poll_interval;
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      const std::string path = SocketPath(name);
      if (fd < 0) continue;
      if (path.size() >= sizeof sa.sun_path) {
        close(fd);
        continue;
      }
      memcpy(sa.sun_path, path.c_str(), path.size() + 1);
      if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS &&
          errno != EAGAIN) {
        close(fd);  // not listening yet (starting): the output lines carry its state meanwhile
        continue;
      }
      c.status_fd = fd;
      c.status_since = now;
      c.status_buf.clear();
      fd_owner_[fd] = name;
      if (hooks_.watch) hooks_.watch(fd, true);
    }
  }
}

void ClientSupervisor::DrainOutput(Child& c, bool eof) {
  char buf[4096];
  while (c.out_fd >= 0) {
    ssize_t n = read(c.out_fd, buf, sizeof buf);
    if (n > 0) {
      c.out_buf.append(buf, size_t(n));
      if (c.out_buf.size() > 65536) c.out_buf.erase(0, c.out_buf.size() - 4096);
      continue;
    }
    if (n == 0) eof = true;
    break;
  }
  size_t nl;
  while ((nl = c.out_buf.find('\n')) != std::string::npos) {
    std::string line = c.out_buf.substr(0, nl);
    c.out_buf.erase(0, nl + 1);
    // "HH:MM:SS sstp-out1: connected: ..." -> "sstp-out1: connected: ..." (the log has its time).
    absl::string_view l = line;
    if (l.size() > 9 && l[2] == ':' && l[5] == ':' && l[8] == ' ') l.remove_prefix(9);
    if (!l.empty()) c.last_line = std::string(l.substr(0, 200));
    if (!absl::StartsWith(l, c.spec.name + ":")) {
      hooks_.log("sstp,info", absl::StrCat(c.spec.name, ": ", l));
    } else {
      hooks_.log("sstp,info", std::string(l));
    }
  }
  if (eof) CloseFd(&c.out_fd);
}

void ClientSupervisor::OnReadable(int fd, absl::Time now) {
  auto owner = fd_owner_.find(fd);
  if (owner == fd_owner_.end()) return;
  auto it = children_.find(owner->second);
  if (it == children_.end()) {
    int copy = fd;
    CloseFd(&copy);
    return;
  }
  Child& c = it->second;
  if (fd == c.out_fd) {
    DrainOutput(c, false);
    return;
  }
  if (fd != c.status_fd) return;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    c.status_buf.append(buf, size_t(n));
    if (c.status_buf.size() > 16384) break;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR) && c.status_buf.size() <= 16384) return;
  CloseFd(&c.status_fd);
  auto st = ParseClientStatus(c.status_buf);
  if (st.count("status") == 0) return;
  if (st["status"] == "connected") {
    c.connected_once = true;
    c.backoff = absl::ZeroDuration();
  }
  (void)now;
  if (hooks_.status) hooks_.status(c.spec.name, std::move(st));
}

void ClientSupervisor::StopAll(absl::Duration grace) {
  bool any = false;
  for (auto& [name, c] : children_) {
    if (c.pid > 0) {
      kill(c.pid, SIGTERM);
      any = true;
    }
  }
  const absl::Time deadline = absl::Now() + grace;
  while (any) {
    any = false;
    for (auto& [name, c] : children_) {
      if (c.pid <= 0) continue;
      int wstatus = 0;
      if (waitpid(c.pid, &wstatus, WNOHANG) == c.pid) {
        c.pid = -1;
      } else if (absl::Now() >= deadline) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, &wstatus, 0);
        c.pid = -1;
      } else {
        any = true;
      }
    }
    if (any) usleep(20000);
  }
  for (auto& [name, c] : children_) {
    CloseFd(&c.out_fd);
    CloseFd(&c.status_fd);
    unlink(ConfigPath(name).c_str());
    unlink(absl::StrCat(opt_.state_dir, "/", name, ".ca.pem").c_str());
  }
  children_.clear();
}

}  // namespace cp
