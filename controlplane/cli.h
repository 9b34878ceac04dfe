// The RouterOS command syntax: "[/menu [submenu ...]] verb [item] [name=value ...]".
// Paths are absolute when the line starts with '/', otherwise relative to the current menu; ".."
// goes up. Values may be quoted ("a b", with \" \\ \n escapes). "[find name=X]" selects items.
#ifndef CONTROLPLANE_CLI_H_
#define CONTROLPLANE_CLI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cp {

using MenuPath = std::vector<std::string>;

struct Arg {
  std::string name;
  std::string value;
  int column = 0;  // 1-based, for "expected end of command (line 1 column N)"
};

struct Positional {
  std::string text;  // "0", "ether2", "detail"; for "[find ...]" the inside of the brackets
  bool find = false;
  int column = 0;
};

struct Command {
  MenuPath path;
  std::string verb;  // empty: the line only named a menu (an interactive "cd")
  int verb_column = 0;
  std::vector<Positional> positional;
  std::vector<Arg> args;
};

// RouterOS's location suffix for error messages.
std::string AtColumn(int column);

absl::StatusOr<Command> ParseCommand(absl::string_view line, const MenuPath& cwd);

// Menu tree, for parsing and completion.
const std::vector<std::string>& MenuChildren(const MenuPath& path);
const std::vector<std::string>& MenuVerbs(const MenuPath& path);
bool IsMenu(const MenuPath& path);
std::string PathString(const MenuPath& path);  // "/ppp secret"

// Quote a value for print/export when RouterOS would ("" for empty, "a b", escapes).
std::string QuoteIfNeeded(absl::string_view v);
std::string Quote(absl::string_view v);

// Completion candidates for the last word of `line` typed at menu `cwd`; `names` are item names
// the caller knows for the target menu (for "set <TAB>").
std::vector<std::string> Complete(absl::string_view line, const MenuPath& cwd,
                                  const std::vector<std::string>& arg_names,
                                  const std::vector<std::string>& item_names);

}  // namespace cp

#endif  // CONTROLPLANE_CLI_H_
