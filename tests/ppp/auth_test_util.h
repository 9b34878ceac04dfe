// Helpers for the authentication tests.
#ifndef TESTS_PPP_AUTH_TEST_UTIL_H_
#define TESTS_PPP_AUTH_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "ppp/ppp_crypto.h"

namespace ppp::testing {

// Hex with optional spaces, as the RFCs print it.
inline std::vector<uint8_t> Hex(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ') compact.push_back(c);
  }
  absl::StatusOr<std::vector<uint8_t>> v = ParseHex(compact);
  EXPECT_TRUE(v.ok()) << "bad hex in test: " << text;
  return v.ok() ? *v : std::vector<uint8_t>{};
}

template <size_t N>
std::array<uint8_t, N> HexArray(std::string_view text) {
  std::vector<uint8_t> v = Hex(text);
  EXPECT_EQ(v.size(), N) << text;
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N && i < v.size(); ++i) a[i] = v[i];
  return a;
}

template <typename Bytes>
std::string ToHex(const Bytes& b) {
  return HexUpper(absl::Span<const uint8_t>(b.data(), b.size()));
}

}  // namespace ppp::testing

#endif  // TESTS_PPP_AUTH_TEST_UTIL_H_
