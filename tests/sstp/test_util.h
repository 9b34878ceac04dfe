#ifndef TESTS_SSTP_TEST_UTIL_H_
#define TESTS_SSTP_TEST_UTIL_H_

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace sstp::testing {

// "10 01 00 0E" -> bytes (whitespace ignored).
inline std::vector<uint8_t> Hex(const std::string& s) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : s) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// MS-SSTP 4.7 "Crypto Binding" example messages.
inline const std::vector<uint8_t>& Spec47CallConnectRequest() {
  static const auto* v = new std::vector<uint8_t>(Hex("10 01 00 0E 00 01 00 01 00 01 00 06 00 01"));
  return *v;
}
inline const std::vector<uint8_t>& Spec47CallConnectAck() {
  static const auto* v = new std::vector<uint8_t>(
      Hex("10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 02 41 2B 48 9A EB D7 EC C7 D0 89 66 F2 "
          "6B E7 CD 72 B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35"));
  return *v;
}
inline const std::vector<uint8_t>& Spec47CallConnected() {
  static const auto* v = new std::vector<uint8_t>(
      Hex("10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02 41 2B 48 9A EB D7 EC C7 D0 89 66 F2 "
          "6B E7 CD 72 B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35 79 93 EF 31 4C 49 3D AC "
          "E9 F0 2D 60 E7 E6 1C 84 B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D 52 A6 8E FD "
          "8C FF BF 52 77 0B 8F 0F E8 EC 73 71 65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49"));
  return *v;
}
// 4.7's MS-CHAPv2 master keys, as the client holds them.
inline constexpr char kSpec47MasterSendKey[] = "2A1BB40D55AB0F5EF32F06F2B3CC73C4";
inline constexpr char kSpec47MasterReceiveKey[] = "8FD3FAC41D7A1315A19228D9024CA164";

}  // namespace sstp::testing

#endif  // TESTS_SSTP_TEST_UTIL_H_
