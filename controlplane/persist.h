// Crash-safe configuration file: written to a temporary file in the same directory, fsync'd,
// renamed over the old one and the directory fsync'd, so after a crash at any point the file is
// either the old or the new configuration, never a mix.
#ifndef CONTROLPLANE_PERSIST_H_
#define CONTROLPLANE_PERSIST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cp {

absl::Status SaveAtomically(const std::string& path, absl::string_view content);
// NotFound when the file does not exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes = 64 << 20);

}  // namespace cp

#endif  // CONTROLPLANE_PERSIST_H_
