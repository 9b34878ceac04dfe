// /interface sstp-client applied: sstp-controlplane runs one sstp-client program per enabled
// entry (the manual's home router of the site-to-site example). Each child gets its settings in a
// 0600 config file (never the password in argv), is restarted with exponential backoff when it
// exits, and is stopped with SIGTERM (then SIGKILL after a grace period) and reaped when its entry
// is disabled, removed or changed. The child's state comes from its status socket (the monitor
// fields, polled every second) and its output lines go to the control plane's log.
#ifndef CONTROLPLANE_CLIENT_SUPERVISOR_H_
#define CONTROLPLANE_CLIENT_SUPERVISOR_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controlplane/config.h"

namespace cp {

// What one child runs with: its entry's name and the config file text (password included).
struct ClientSpec {
  std::string name;
  std::string config_text;
  std::string ca_text;  // trusted certificates (PEM) when verify-server-certificate=yes
  friend bool operator==(const ClientSpec&, const ClientSpec&) = default;
};

// The specs of every enabled /interface sstp-client entry. Certificates are looked up in
// `files_dir` (as /certificate import does); status sockets live in `state_dir`.
std::vector<ClientSpec> ClientSpecs(const Config& config, const std::string& files_dir,
                                    const std::string& state_dir);

// The fields of the client's status text ("  key: value" lines, sstp-client --status).
std::map<std::string, std::string> ParseClientStatus(const std::string& text);

class ClientSupervisor {
 public:
  struct Options {
    std::string binary;     // the sstp-client program
    std::string state_dir;  // config files and status sockets (0700)
    absl::Duration min_backoff = absl::Seconds(1);
    absl::Duration max_backoff = absl::Seconds(60);
    absl::Duration stop_grace = absl::Seconds(5);  // SIGTERM, then SIGKILL after this
    absl::Duration poll_interval = absl::Seconds(1);
  };
  // Hooks into the daemon: the status of an entry (empty map: forget it), a log line, and epoll
  // registration of the fds the supervisor reads (add = false: removed, about to be closed).
  struct Hooks {
    std::function<void(const std::string& name, std::map<std::string, std::string> status)> status;
    std::function<void(const std::string& topics, const std::string& message)> log;
    std::function<void(int fd, bool add)> watch;
  };

  ClientSupervisor(Options options, Hooks hooks);
  ~ClientSupervisor();
  ClientSupervisor(const ClientSupervisor&) = delete;
  ClientSupervisor& operator=(const ClientSupervisor&) = delete;

  // The wanted set: starts new entries, stops removed ones, restarts changed ones.
  void Apply(const std::vector<ClientSpec>& want, absl::Time now);
  // SIGCHLD: reap what exited and schedule restarts.
  void Reap(absl::Time now);
  // Periodic: restarts that are due, SIGKILL for children past their grace, status polls.
  void Tick(absl::Time now);
  bool Owns(int fd) const { return fd_owner_.count(fd) != 0; }
  void OnReadable(int fd, absl::Time now);
  // At exit: SIGTERM every child, wait up to `grace` for them, SIGKILL the rest, reap all.
  void StopAll(absl::Duration grace);

  // For tests and /system: the pid of an entry's running child (-1 when none).
  pid_t PidOf(const std::string& name) const;

 private:
  struct Child {
    ClientSpec spec;
    bool wanted = true;        // still configured (false: remove once the child is gone)
    bool restart_now = false;  // stopped because its settings changed: start again at once
    pid_t pid = -1;
    int out_fd = -1;  // the child's stdout and stderr
    std::string out_buf;
    std::string last_line;  // the child's last output line (why it exited, usually)
    int status_fd = -1;     // a status query in flight
    absl::Time status_since;
    std::string status_buf;
    bool stopping = false;
    absl::Time kill_at = absl::InfiniteFuture();
    absl::Time started_at;
    absl::Time restart_at = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
    absl::Time next_poll;
    bool connected_once = false;  // reached "connected" since it started (resets the backoff)
    std::string last_exit;
  };

  std::string ConfigPath(const std::string& name) const;
  std::string SocketPath(const std::string& name) const;
  void Start(Child& c, absl::Time now);
  void Stop(Child& c, absl::Time now);
  void Exited(Child& c, int wstatus, absl::Time now);
  // Drops entries no longer configured whose process is gone (and their config/CA files).
  void ForgetGone();
  void CloseFd(int* fd);
  void DrainOutput(Child& c, bool eof);
  void PublishDown(Child& c, absl::Time now);

  Options opt_;
  Hooks hooks_;
  std::map<std::string, Child> children_;
  std::map<int, std::string> fd_owner_;  // fd -> entry name
};

}  // namespace cp

#endif  // CONTROLPLANE_CLIENT_SUPERVISOR_H_
