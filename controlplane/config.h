// The configuration model: RouterOS menus as tables of items with typed properties. Every value is
// validated and stored in its canonical text form (what print and export show). The whole
// configuration round-trips through Export() / Load() (the persisted file is an export).
#ifndef CONTROLPLANE_CONFIG_H_
#define CONTROLPLANE_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/cli.h"

namespace cp {

enum class Kind {
  kString,         // free text, printed quoted
  kName,           // item name, printed quoted in detail
  kBool,           // yes | no
  kInt,            // min..max
  kIntOrDisabled,  // min..max | disabled
  kIpv4,           // address or empty
  kAddrOrPool,     // address, /ip pool name, or empty
  kPrefix,         // a.b.c.d/len, normalised to the network
  kAddrPrefix,     // a.b.c.d/len kept as typed (interface address)
  kAuth,           // pap,chap,mschap1,mschap2
  kIpPort,         // a.b.c.d[:port]
  kRoutes,         // "dst gateway metric,..."
  kDuration,       // 1h30m
  kChoice,         // one of choices
  kRanges,         // pool ranges
  kIpList,         // a.b.c.d,e.f.g.h
  kProfileRef,     // /ppp profile name
  kCertRef,        // /certificate name | none
  kIfaceRef,       // /interface ethernet name
  kBridgeRef,      // /interface bridge name
  kRateLimit,      // rx/tx
  kReadOnly,       // set by the program only
};

struct PropSpec {
  std::string name;
  Kind kind;
  std::string def;  // canonical default ("" = unset)
  int64_t min = 0, max = 0;
  std::vector<std::string> choices;
};

struct TableSpec {
  MenuPath path;
  bool singleton = false;
  std::vector<PropSpec> props;
  std::string auto_name;  // names auto-assigned as auto_name + N ("sstp-out1")
  std::vector<std::string> required;
  bool addable = true;
  bool has_name = true;  // items have a unique "name"
  const PropSpec* Find(const std::string& name) const;
};

struct Item {
  std::map<std::string, std::string> v;  // canonical values of the properties that are set
  bool builtin = false;                  // /ppp profile default, default-encryption
};

class Config {
 public:
  Config();

  static const std::vector<TableSpec>& Specs();
  static const TableSpec* SpecFor(const MenuPath& path);

  std::vector<Item>& Items(const MenuPath& path);
  const std::vector<Item>& Items(const MenuPath& path) const;

  // Value of a property of an item (its default when unset).
  std::string Get(const MenuPath& path, size_t index, const std::string& prop) const;
  std::string GetOf(const TableSpec& spec, const Item& item, const std::string& prop) const;
  // Server settings (the singleton).
  std::string Server(const std::string& prop) const;

  absl::StatusOr<size_t> Add(const MenuPath& path, const std::vector<Arg>& args);
  absl::Status Set(const MenuPath& path, size_t index, const std::vector<Arg>& args);
  absl::Status Remove(const MenuPath& path, size_t index);
  // Items whose name (or default-name for ports) is `name`; -1 if none.
  int FindByName(const MenuPath& path, const std::string& name) const;

  // Ethernet ports come from the data plane (or --port); they can only be set, not added.
  void EnsurePort(const std::string& name, const std::string& mac, int mtu);

  // Certificates: `file` is read by the caller; this records the metadata.
  absl::Status AddCertificate(const std::string& name, const std::string& file,
                              const std::string& common_name, const std::string& fingerprint,
                              bool has_key);

  // The configuration as RouterOS /export text (only non-default values). `under` limits it to a
  // menu and its children.
  std::string Export(const MenuPath& under = {}) const;

  // Validates one argument for a table: canonical value or "invalid value for argument X".
  absl::StatusOr<std::string> Canonical(const TableSpec& spec, const Arg& arg) const;

 private:
  absl::Status Apply(const TableSpec& spec, Item& item, const std::vector<Arg>& args, int self);
  std::map<std::string, std::vector<Item>> tables_;
};

}  // namespace cp

#endif  // CONTROLPLANE_CONFIG_H_
