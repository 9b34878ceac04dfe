#include "controlplane/cli.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace cp {
namespace {

struct MenuNode {
  std::vector<std::string> children;
  std::vector<std::string> verbs;
};

const std::map<std::string, MenuNode>& Tree() {
  static const auto* tree = new std::map<std::string, MenuNode>{
      {"", {{"certificate", "interface", "ip", "log", "ppp", "system"}, {"export"}}},
      {"/log", {{}, {"print"}}},
      {"/interface", {{"bridge", "ethernet", "sstp-client", "sstp-server"}, {"export"}}},
      {"/interface bridge", {{"port"}, {"add", "export", "print", "remove", "set"}}},
      {"/interface bridge port", {{}, {"add", "export", "print", "remove", "set"}}},
      {"/interface sstp-server",
       {{"server"}, {"add", "export", "monitor", "print", "remove", "set"}}},
      {"/interface sstp-server server", {{}, {"export", "print", "set"}}},
      {"/interface sstp-client",
       {{}, {"add", "export", "monitor", "print", "remove", "report", "set"}}},
      {"/interface ethernet", {{}, {"export", "print", "set"}}},
      {"/ppp", {{"active", "profile", "secret"}, {"export"}}},
      {"/ppp secret", {{}, {"add", "export", "print", "remove", "set"}}},
      {"/ppp profile", {{}, {"add", "export", "print", "remove", "set"}}},
      {"/ppp active", {{}, {"print", "remove"}}},
      {"/ip", {{"address", "pool", "route"}, {"export"}}},
      {"/ip pool", {{"used"}, {"add", "export", "print", "remove", "set"}}},
      {"/ip pool used", {{}, {"print"}}},
      {"/ip address", {{}, {"add", "export", "print", "remove", "set"}}},
      {"/ip route", {{}, {"add", "export", "print", "remove", "set"}}},
      {"/certificate", {{}, {"export", "import", "print", "remove"}}},
      {"/system", {{"ring"}, {}}},
      {"/system ring", {{}, {"print"}}},
  };
  return *tree;
}

struct Token {
  std::string text;  // unquoted
  std::string name;  // for name=value
  bool is_arg = false;
  bool find = false;
  bool quoted = false;
  int column = 0;
};

absl::Status SyntaxError(int column) {
  return absl::InvalidArgumentError(absl::StrCat("syntax error", AtColumn(column)));
}

// Reads a possibly quoted value starting at line[i]; advances i.
bool ReadValue(absl::string_view line, size_t& i, std::string* out, bool* quoted) {
  *quoted = false;
  if (i < line.size() && line[i] == '"') {
    *quoted = true;
    ++i;
    while (i < line.size() && line[i] != '"') {
      char c = line[i];
      if (c == '\\' && i + 1 < line.size()) {
        char n = line[++i];
        c = n == 'n' ? '\n' : n == 't' ? '\t' : n;
      }
      out->push_back(c);
      ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // closing quote
    return true;
  }
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') out->push_back(line[i++]);
  return true;
}

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    Token t;
    t.column = int(i) + 1;
    if (line[i] == '[') {
      size_t end = line.find(']', i);
      if (end == absl::string_view::npos) return SyntaxError(t.column);
      absl::string_view inner = line.substr(i + 1, end - i - 1);
      while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
      while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
      if (inner != "find" && !absl::StartsWith(inner, "find ")) return SyntaxError(t.column + 1);
      inner.remove_prefix(4);
      while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
      if (absl::StartsWith(inner, "where ")) inner.remove_prefix(6);
      t.text = std::string(inner);
      t.find = true;
      i = end + 1;
      out.push_back(std::move(t));
      continue;
    }
    if (line[i] == '"') {
      if (!ReadValue(line, i, &t.text, &t.quoted)) return SyntaxError(t.column);
      out.push_back(std::move(t));
      continue;
    }
    // A bare word, possibly name=value.
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '=' &&
           line[i] != '"') {
      ++i;
    }
    if (i < line.size() && line[i] == '"') return SyntaxError(int(i) + 1);
    std::string word(line.substr(start, i - start));
    if (i < line.size() && line[i] == '=') {
      if (word.empty()) return SyntaxError(t.column);
      ++i;
      t.is_arg = true;
      t.name = word;
      if (!ReadValue(line, i, &t.text, &t.quoted)) return SyntaxError(t.column);
      if (i < line.size() && line[i] != ' ' && line[i] != '\t') return SyntaxError(int(i) + 1);
    } else {
      t.text = word;
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

std::string AtColumn(int column) { return absl::StrCat(" (line 1 column ", column, ")"); }

std::string PathString(const MenuPath& path) {
  return path.empty() ? "/" : absl::StrCat("/", absl::StrJoin(path, " "));
}

static std::string Key(const MenuPath& path) {
  return path.empty() ? "" : absl::StrCat("/", absl::StrJoin(path, " "));
}

bool IsMenu(const MenuPath& path) { return Tree().count(Key(path)) != 0; }

const std::vector<std::string>& MenuChildren(const MenuPath& path) {
  static const std::vector<std::string> kNone;
  auto it = Tree().find(Key(path));
  return it == Tree().end() ? kNone : it->second.children;
}

const std::vector<std::string>& MenuVerbs(const MenuPath& path) {
  static const std::vector<std::string> kNone;
  auto it = Tree().find(Key(path));
  return it == Tree().end() ? kNone : it->second.verbs;
}

absl::StatusOr<Command> ParseCommand(absl::string_view line, const MenuPath& cwd) {
  auto tokens = Tokenize(line);
  if (!tokens.ok()) return tokens.status();
  Command cmd;
  cmd.path = cwd;
  size_t k = 0;
  // "/ppp/secret print" is accepted as well as "/ppp secret print": split the first token.
  if (!tokens->empty() && !(*tokens)[0].is_arg && !(*tokens)[0].find && !(*tokens)[0].quoted &&
      absl::StartsWith((*tokens)[0].text, "/")) {
    cmd.path.clear();
    Token first = (*tokens)[0];
    std::vector<Token> split;
    for (absl::string_view part : absl::StrSplit(first.text, '/', absl::SkipEmpty())) {
      Token t = first;
      t.text = std::string(part);
      split.push_back(t);
    }
    tokens->erase(tokens->begin());
    tokens->insert(tokens->begin(), split.begin(), split.end());
  }
  // Path words.
  for (; k < tokens->size(); ++k) {
    Token& t = (*tokens)[k];
    if (t.is_arg || t.find || t.quoted) break;
    absl::string_view w = t.text;
    if (w == "..") {
      if (!cmd.path.empty()) cmd.path.pop_back();
      continue;
    }
    MenuPath next = cmd.path;
    next.push_back(std::string(w));
    if (IsMenu(next)) {
      cmd.path = next;
      continue;
    }
    break;
  }
  if (k == tokens->size()) return cmd;  // only a path
  Token& verb = (*tokens)[k];
  const auto& verbs = MenuVerbs(cmd.path);
  if (verb.is_arg || verb.find || verb.quoted ||
      std::find(verbs.begin(), verbs.end(), verb.text) == verbs.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad command name ", verb.is_arg ? verb.name : verb.text, AtColumn(verb.column)));
  }
  cmd.verb = verb.text;
  cmd.verb_column = verb.column;
  for (++k; k < tokens->size(); ++k) {
    Token& t = (*tokens)[k];
    if (t.is_arg) {
      cmd.args.push_back({t.name, t.text, t.column});
    } else {
      cmd.positional.push_back({t.text, t.find, t.column});
    }
  }
  return cmd;
}

std::string Quote(absl::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string QuoteIfNeeded(absl::string_view v) {
  if (v.empty()) return "\"\"";
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '[' || c == ']' ||
        c == '=' || c == ';' || c == '$') {
      return Quote(v);
    }
  }
  return std::string(v);
}

std::vector<std::string> Complete(absl::string_view line, const MenuPath& cwd,
                                  const std::vector<std::string>& arg_names,
                                  const std::vector<std::string>& item_names) {
  // The word being completed is after the last space.
  size_t sp = line.find_last_of(' ');
  absl::string_view head = sp == absl::string_view::npos ? "" : line.substr(0, sp + 1);
  absl::string_view word = sp == absl::string_view::npos ? line : line.substr(sp + 1);
  MenuPath path = cwd;
  bool have_verb = false;
  auto parsed = ParseCommand(head, cwd);
  if (parsed.ok()) {
    path = parsed->path;
    have_verb = !parsed->verb.empty();
  }
  std::vector<std::string> candidates;
  absl::string_view stem = word;
  std::string prefix;
  if (!have_verb && absl::StartsWith(word, "/")) {
    path.clear();
    stem.remove_prefix(1);
    prefix = "/";
  }
  if (!have_verb) {
    for (const auto& c : MenuChildren(path)) candidates.push_back(c);
    for (const auto& v : MenuVerbs(path)) candidates.push_back(v);
  } else {
    for (const auto& a : arg_names) candidates.push_back(a + "=");
    for (const auto& n : item_names) candidates.push_back(n);
  }
  std::vector<std::string> out;
  for (const auto& c : candidates) {
    if (absl::StartsWith(c, stem)) out.push_back(prefix + c);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cp
