// Options of sstp-client: the RouterOS `/interface sstp-client` properties (see
// ../shared/reference/routeros-sstp-manual.txt) plus what a Linux program needs besides (status
// socket, DNS fragment, reconnect pacing). The same keys work as `--key=value` on the command line
// and as `key=value` lines in a config file, so a user moving from RouterOS types what they know.
#ifndef CLIENT_OPTIONS_H_
#define CLIENT_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace client {

// Allowed authentication methods, as the manual's `authentication` property.
enum AuthMethod : uint8_t {
  kAuthPap = 1 << 0,
  kAuthChap = 1 << 1,
  kAuthMschap1 = 1 << 2,
  kAuthMschap2 = 1 << 3,
};
inline constexpr uint8_t kAuthAll = kAuthPap | kAuthChap | kAuthMschap1 | kAuthMschap2;

// "pap,chap,mschap1,mschap2" in the manual's print order.
std::string AuthMethodsToString(uint8_t methods);
absl::StatusOr<uint8_t> ParseAuthMethods(absl::string_view text);

// HOST[:PORT], [V6]:PORT or a bare IPv6 address.
struct HostPort {
  std::string host;
  uint16_t port = 443;
  bool empty() const { return host.empty(); }
  std::string ToString() const;  // "host:port", "[v6]:port"
};
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text, uint16_t default_port);

// An IPv4 or IPv6 prefix for --route. A bare address is a host route.
struct Prefix {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t addr[16] = {};
  int length = 0;
  std::string ToString() const;
};
absl::StatusOr<Prefix> ParsePrefix(absl::string_view text);

// RouterOS durations: "60" (seconds), "60s", "1m30s", "1h", "500ms".
absl::StatusOr<absl::Duration> ParseRouterOsDuration(absl::string_view text);
// What the manual's monitor prints: "1h45s", "17m47s", "0s".
std::string FormatRouterOsDuration(absl::Duration d);

// Deliberate protocol faults for testing a server's checks (never for normal use). Refused by
// ParseOptions unless the environment has SSTP_CLIENT_ALLOW_FAULTS=1.
enum class Fault : uint8_t {
  kNone,
  // One bit of the Compound MAC in CALL_CONNECTED flipped (MS-SSTP 3.2.5.2): a server that checks
  // the crypto binding must abort the call (MS-SSTP 3.1.5.2.4).
  kTamperCompoundMac,
};
inline constexpr char kAllowFaultsEnv[] = "SSTP_CLIENT_ALLOW_FAULTS";

struct Options {
  // The manual's properties.
  std::string name = "sstp-out1";  // TUN interface name
  HostPort connect_to;             // required
  std::string user;
  std::string password;
  uint8_t authentication = kAuthAll;
  std::string certificate;      // PEM file: client certificate chain (and key unless below)
  std::string certificate_key;  // PEM file: the key, when not in `certificate`
  std::string ca_file;          // PEM file of trusted CAs; empty: the system's
  bool verify_server = true;    // hostname + chain check; no is explicit and warned about
  bool anonymous_tls = false;   // INSECURE: no certificates at all (both ends ours)
  HostPort proxy;               // empty host: no proxy (the manual's 0.0.0.0:443)
  std::string proxy_user;
  std::string proxy_password;
  bool add_default_route = false;
  bool dial_on_demand = false;
  std::optional<absl::Duration> keepalive_timeout = absl::Seconds(60);  // nullopt: disabled
  int max_mtu = 1500;
  int max_mru = 1500;
  std::optional<int> mrru;  // nullopt: disabled
  std::string profile = "default";
  std::vector<Prefix> routes;
  bool use_peer_dns = false;
  // Bridged Ethernet (RFC 3518 BCP) instead of IP: a TAP interface, no IPCP/IPV6CP, no addresses
  // or routes; the user adds the TAP to a Linux bridge with the LAN (a branch router's
  // "bridge" profile on RouterOS).
  bool bridge = false;

  // Ours.
  std::string config_file;
  std::string status_socket;  // default /run/sstp-client/<name>.sock
  std::string dns_file;       // default /run/sstp-client/<name>.resolv.conf
  absl::Duration reconnect_min = absl::Seconds(1);
  absl::Duration reconnect_max = absl::Seconds(60);
  bool once = false;           // exit after the first session ends instead of reconnecting
  Fault fault = Fault::kNone;  // --fault: testing only
  bool status_query = false;
  bool help = false;
  bool version = false;

  // Where the password came from, for the warning about command-line passwords.
  bool password_on_command_line = false;
  bool config_file_world_readable = false;

  std::string StatusSocketPath() const;
  std::string DnsFilePath() const;
  // Checks the combination (connect-to given, MTU ranges, ...).
  absl::Status Validate() const;
};

// Parses `key=value` lines. '#' and ';' start comments, blank lines are ignored, values may be
// double-quoted. `[profile NAME]` sections hold keys that apply as defaults when `profile=NAME`
// is selected. Unknown keys are errors with the line number.
struct ConfigFile {
  struct Entry {
    std::string key;
    std::string value;
    int line = 0;
  };
  std::vector<Entry> main;
  std::vector<std::pair<std::string, std::vector<Entry>>> profiles;
};
absl::StatusOr<ConfigFile> ParseConfigText(absl::string_view text);

// Everything the program needs to build its Options: argv, the environment and the file system
// (config file, password file) are passed in so tests can drive it.
struct OptionSources {
  std::vector<std::string> args;  // argv[1..]
  // Returns the named environment variable or nullopt.
  std::optional<std::string> (*getenv)(const char* name) = nullptr;
  // Reads a whole file; sets *world_readable when the file's mode lets others read it.
  absl::StatusOr<std::string> (*read_file)(const std::string& path, bool* world_readable) = nullptr;
};
absl::StatusOr<Options> ParseOptions(const OptionSources& sources);

// Overwrites the values of --password and --proxy-password in argv in place, so they vanish from
// /proc/PID/cmdline (`ps`) once the program has copied them. There is a window between exec and
// this call; --password-file and SSTP_PASSWORD have none, which is why the program warns.
void ScrubSecretArgs(int argc, char** argv);

std::string UsageText();

}  // namespace client

#endif  // CLIENT_OPTIONS_H_
