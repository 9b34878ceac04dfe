// The control plane's state and behaviour, without I/O: the configuration, the session table,
// address leases and routes; RouterOS commands in, text out; ring messages in, ring messages out
// (through DownSink). Time comes in as an argument. sstp-controlplane wraps it with epoll, the
// control socket, the ring and persistence; the tests drive it directly.
#ifndef CONTROLPLANE_CONTROLLER_H_
#define CONTROLPLANE_CONTROLLER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "controlplane/cli.h"
#include "controlplane/config.h"
#include "controlplane/pools.h"
#include "controlplane/values.h"
#include "ring/messages.h"

namespace cp {

// Where messages for the data plane go (the ring, or a test's capture).
class DownSink {
 public:
  virtual ~DownSink() = default;
  // False when the message could not be queued (counted and logged by the sink).
  virtual bool Send(uint32_t lcore, ring::MsgType type, uint64_t session,
                    const ring::Message& body) = 0;
  virtual uint32_t n_lcores() const = 0;
  // Text for /system ring print.
  virtual std::string RingStatus() const { return ""; }
};

class Controller;

// A PPP server engine for one session (LCP, authentication, NCPs); implemented on ppp/ in
// ppp_engine.cc. The controller feeds it frames and timers; it calls back into the controller.
class SessionEngine {
 public:
  virtual ~SessionEngine() = default;
  virtual void Start(absl::Time now) = 0;
  virtual void OnFrame(absl::Span<const uint8_t> frame, absl::Time now) = 0;
  virtual void OnTimer(absl::Time now) = 0;
  virtual absl::Time NextDeadline() const = 0;
  // The control plane ends the session (administrator, timeouts, server disabled): say so to the
  // peer first (LCP Terminate-Request, RFC 1661 5.5) before the SSTP disconnect.
  virtual void Terminate(const std::string& reason) { (void)reason; }
};

enum class SessionState { kNegotiating, kAuthenticated, kUp, kClosed };

struct Session {
  uint64_t id = 0;
  uint32_t lcore = 0;
  ring::SessionOpened opened;
  std::string caller_id;  // "198.18.99.1:43886"
  SessionState state = SessionState::kNegotiating;
  std::string user;
  ring::AuthMethod method = ring::AuthMethod::kNone;
  std::string iface;  // static /interface sstp-server name, or "<sstp-USER>"
  bool dynamic_iface = true;
  uint32_t local_addr = 0, remote_addr = 0;
  bool remote_leased = false, local_leased = false;
  uint16_t mtu = 1500;
  absl::Time opened_at, up_at;
  absl::Time last_activity;
  ring::CounterBlock counters;
  std::vector<ring::RouteEntry> routes;  // installed with the session (host route first)
  bool bridged = false;      // BCP opened (RFC 3518): Ethernet frames to the profile's bridge
  bool terminating = false;  // Close() is telling the engine (no second Terminate)
  bool logged_in = false;    // reached kUp: its logout is logged with the counters
  std::string close_reason;  // why it ended (CloseReasonName), for the log
  std::string profile;
  std::unique_ptr<SessionEngine> engine;
};

// What an engine learns about a user from the configuration.
struct UserEntry {
  std::string name, password, profile, caller_id;
  std::string local_address, remote_address;  // address or pool name, "" unset
  std::string routes;
};

// One line of the control plane's log (/log print), RouterOS style: topics like
// "sstp,ppp,error" and a message.
struct LogEntry {
  absl::Time time;
  std::string topics;
  std::string message;
};

using EngineFactory =
    std::function<std::unique_ptr<SessionEngine>(Controller& controller, Session& session)>;

class Controller {
 public:
  struct Options {
    std::string files_dir = ".";  // where /certificate import file-name= is looked up
    std::string identity = "sstp";
  };
  Controller(DownSink* sink, Options options);

  struct Result {
    std::string output;
    absl::Status status;
    bool changed = false;  // the configuration changed: persist it
    MenuPath cwd;          // menu after the command (a bare path changes it)
  };
  Result Execute(absl::string_view line, const MenuPath& cwd, absl::Time now);

  // Loads an /export text (the persisted configuration) into a fresh configuration; on error the
  // current configuration is untouched and the status names the line and the reason.
  absl::Status LoadConfig(absl::string_view text, absl::Time now);
  std::string ExportConfig() const { return config_.Export(); }
  Config& config() { return config_; }

  // Ring messages from the data plane.
  void OnMessage(uint32_t lcore, const ring::Decoded& msg, absl::Time now);
  // The data plane (re)appeared or the control plane just started: ask for its sessions and send
  // it the configuration.
  void StartResync(uint64_t cp_epoch, absl::Time now);
  bool resynced() const { return pending_dumps_ == 0; }
  void OnTimer(absl::Time now);
  absl::Time NextDeadline() const;

  void set_engine_factory(EngineFactory f) { engine_factory_ = std::move(f); }
  // Every log line also goes to this hook (the daemon prints it to stderr/syslog).
  void set_log_hook(std::function<void(const LogEntry&)> f) { log_hook_ = std::move(f); }

  // Appends to the bounded in-memory log (the oldest lines go first, as RouterOS's memory
  // action with memory-lines=1000) and calls the hook.
  static constexpr size_t kMaxLogLines = 1000;
  void Log(const std::string& topics, const std::string& message, absl::Time now);
  const std::deque<LogEntry>& log() const { return log_; }
  void AddPort(const std::string& name, const std::string& mac, int mtu);

  // ---- called by session engines ----
  std::optional<UserEntry> FindUser(const std::string& name) const;
  // Checks the secret's service, caller-id, disabled flag and the profile's only-one; the reason
  // when the user may not connect.
  absl::Status MayConnect(const Session& s, const UserEntry& u) const;
  uint8_t AllowedAuth() const;  // server authentication= mask
  void SendFrame(Session& s, absl::Span<const uint8_t> frame);
  void Authorized(Session& s, const std::string& user, ring::AuthMethod method,
                  const std::array<uint8_t, 32>& hlak, absl::Time now);
  // Local and remote IPv4 for IPCP (RFC 1332), leased on first call.
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Addresses(Session& s);
  std::vector<uint32_t> DnsServers(const Session& s) const;
  void NetworkUp(Session& s, uint16_t mtu, uint64_t local_ifid, uint64_t remote_ifid, bool bridge,
                 absl::Time now);
  void Close(Session& s, ring::CloseReason reason, const std::string& detail);
  // A failed authentication: one log line with the user, the caller, the method and why.
  void AuthFailed(const Session& s, const std::string& user, ring::AuthMethod method,
                  const std::string& reason, absl::Time now);

  // The state of the sstp-client program of an /interface sstp-client entry (the monitor fields
  // it reports); an empty map forgets it.
  void SetClientStatus(const std::string& name, std::map<std::string, std::string> status);

  Session* FindSession(uint64_t id);
  const std::map<uint64_t, std::unique_ptr<Session>>& sessions() const { return sessions_; }
  const AddressLeases& leases() const { return leases_; }
  DownSink* sink() { return sink_; }

 private:
  struct Row;  // one printed line of a menu (static item or dynamic session)
  std::vector<Row> Rows(const MenuPath& path, absl::Time now) const;
  absl::StatusOr<std::vector<size_t>> Select(const MenuPath& path, const Command& cmd,
                                             const std::vector<Row>& rows, size_t* consumed);
  Result Run(const Command& cmd, absl::Time now);
  Result Print(const Command& cmd, absl::Time now);
  Result Monitor(const Command& cmd, absl::Time now);
  Result ImportCertificate(const Command& cmd);
  Result Report(const Command& cmd, absl::Time now);
  std::string Flags(const MenuPath& path) const;

  void SendConfig();
  void SendStaticRoutes(bool add);
  void SendRoute(const ring::RouteEntry& r, uint64_t session, bool add);
  void BindInterface(Session& s);
  void RemoveSession(uint64_t id, absl::Time now);
  void SweepClosed(absl::Time now);  // sessions closed during a call are removed after it
  void OnDumpSession(uint32_t lcore, uint64_t id, const ring::DumpSession& d, absl::Time now);
  void ApplyConfigSideEffects(const MenuPath& path);
  std::string ProfileOf(const std::string& user) const;
  std::string ProfileProp(const std::string& profile, const std::string& prop) const;

 public:
  // The data-plane port a bridged (BCP) session of `profile` is switched with: its bridge=
  // through /interface bridge port; empty when not bridged or the bridge has no usable port.
  std::string BridgePortOf(const std::string& profile) const;
  // Whether sessions of `user` may negotiate BCP (their profile names a bridge).
  bool BridgedUser(const std::string& user) const {
    return !ProfileProp(ProfileOf(user), "bridge").empty();
  }

 private:
  DownSink* sink_;
  Options options_;
  Config config_;
  std::map<uint64_t, std::unique_ptr<Session>> sessions_;
  AddressLeases leases_;
  EngineFactory engine_factory_;
  int pending_dumps_ = 0;
  uint64_t cp_epoch_ = 0;
  // Static routes as last sent, to send deletions for what changed.
  std::vector<ring::RouteEntry> sent_static_routes_;
  std::vector<ring::IpAddressConfig> sent_addresses_;
  // Runtime status the SSTP client program reports for /interface sstp-client (not persisted).
  std::map<std::string, std::map<std::string, std::string>> client_status_;
  std::deque<LogEntry> log_;
  std::function<void(const LogEntry&)> log_hook_;
  Result PrintLog(const Command& cmd, absl::Time now);
};

}  // namespace cp

#endif  // CONTROLPLANE_CONTROLLER_H_
