#include "ppp/multilink.h"

#include <vector>

#include "gtest/gtest.h"

namespace ppp {
namespace {

std::vector<uint8_t> Packet(size_t n, uint8_t seed) {
  std::vector<uint8_t> p = {0x00, 0x21};
  for (size_t i = 0; i < n; ++i) p.push_back(static_cast<uint8_t>(seed + i * 7));
  return p;
}

TEST(MultilinkTest, HeaderFormats) {
  const uint8_t lng[] = {0x80, 0x12, 0x34, 0x56, 0xAA};
  absl::StatusOr<MpHeader> h = ParseMpHeader(lng, false);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->begin);
  EXPECT_FALSE(h->end);
  EXPECT_EQ(h->sequence, 0x123456u);
  const uint8_t shrt[] = {0x4A, 0xBC};
  h = ParseMpHeader(shrt, true);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->end);
  EXPECT_EQ(h->sequence, 0xABCu);
  EXPECT_FALSE(ParseMpHeader(shrt, false).ok());
}

TEST(MultilinkTest, FragmentsAndReassemblesInOrder) {
  for (bool short_seq : {false, true}) {
    MultilinkFragmenter frag(short_seq);
    MultilinkReassembler re({.short_sequence = short_seq});
    std::vector<std::vector<uint8_t>> sent;
    for (int i = 0; i < 20; ++i) {
      std::vector<std::vector<uint8_t>> out;
      std::vector<uint8_t> p = Packet(100 + i * 37, static_cast<uint8_t>(i));
      frag.Fragment(p, 128, out);
      sent.push_back(p);
      for (auto& f : out) ASSERT_TRUE(re.Receive(f).ok());
    }
    EXPECT_TRUE(re.TakePackets() == sent);
    EXPECT_EQ(re.buffered_fragments(), 0u);
  }
}

TEST(MultilinkTest, ReorderAcrossTwoLinksAndSequenceWrap) {
  MultilinkFragmenter frag(/*short_sequence=*/true);
  MultilinkReassembler re({.short_sequence = true, .links = 2});
  std::vector<std::vector<uint8_t>> sent, got;
  // Enough packets to wrap the 12-bit space.
  for (int i = 0; i < 1500; ++i) {
    std::vector<std::vector<uint8_t>> out;
    std::vector<uint8_t> p = Packet(40 + i % 50, static_cast<uint8_t>(i));
    frag.Fragment(p, 20, out);
    sent.push_back(p);
    // Fragments alternate between two links; link 1's arrive first for each packet: the
    // reassembler sees them out of order but each link in order.
    std::vector<size_t> link0, link1;
    for (size_t k = 0; k < out.size(); ++k) (k % 2 ? link1 : link0).push_back(k);
    for (size_t k : link1) ASSERT_TRUE(re.Receive(out[k], 1).ok());
    for (size_t k : link0) ASSERT_TRUE(re.Receive(out[k], 0).ok());
    for (auto& q : re.TakePackets()) got.push_back(std::move(q));
  }
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  EXPECT_EQ(re.lost_fragments(), 0u);
}

TEST(MultilinkTest, LostFragmentDropsOnlyItsPacket) {
  MultilinkFragmenter frag(false);
  MultilinkReassembler re({});
  std::vector<std::vector<uint8_t>> all;
  std::vector<std::vector<uint8_t>> packets;
  for (int i = 0; i < 3; ++i) {
    packets.push_back(Packet(50, static_cast<uint8_t>(i)));
    frag.Fragment(packets.back(), 20, all);  // 3 fragments each
  }
  ASSERT_EQ(all.size(), 9u);
  for (size_t k = 0; k < all.size(); ++k) {
    if (k == 4) continue;  // the middle fragment of packet 1 is lost
    ASSERT_TRUE(re.Receive(all[k]).ok());
  }
  std::vector<std::vector<uint8_t>> got = re.TakePackets();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], packets[0]);
  EXPECT_EQ(got[1], packets[2]);
  EXPECT_EQ(re.lost_fragments(), 1u);
  EXPECT_EQ(re.dropped_packets(), 1u);
  EXPECT_EQ(re.buffered_fragments(), 0u);
}

TEST(MultilinkTest, LostBeginAndLostEnd) {
  MultilinkFragmenter frag(false);
  MultilinkReassembler re({});
  std::vector<std::vector<uint8_t>> all, packets;
  for (int i = 0; i < 4; ++i) {
    packets.push_back(Packet(50, static_cast<uint8_t>(i)));
    frag.Fragment(packets.back(), 20, all);
  }
  for (size_t k = 0; k < all.size(); ++k) {
    if (k == 3 || k == 8) continue;  // B of packet 1, E of packet 2
    ASSERT_TRUE(re.Receive(all[k]).ok());
  }
  std::vector<std::vector<uint8_t>> got = re.TakePackets();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], packets[0]);
  EXPECT_EQ(got[1], packets[3]);
}

TEST(MultilinkTest, MemoryIsBoundedWhenALinkStalls) {
  MultilinkFragmenter frag(false);
  MultilinkReassembler re({.links = 2, .max_buffered_fragments = 16});
  std::vector<std::vector<uint8_t>> all;
  for (int i = 0; i < 50; ++i) frag.Fragment(Packet(50, static_cast<uint8_t>(i)), 20, all);
  // Link 1 delivers one fragment and then stalls with fragment 5 in flight, so M stays low and
  // the gap never counts as lost: only the memory bound can move things along.
  ASSERT_TRUE(re.Receive(all[0], 0).ok());
  ASSERT_TRUE(re.Receive(all[1], 1).ok());
  for (size_t k = 2; k < all.size(); ++k) {
    if (k == 5) continue;
    ASSERT_TRUE(re.Receive(all[k], 0).ok());
    EXPECT_LE(re.buffered_fragments(), 16u);
  }
  EXPECT_GT(re.dropped_packets(), 0u);
  EXPECT_FALSE(re.TakePackets().empty());
}

TEST(MultilinkTest, OversizePacketAndGarbage) {
  MultilinkFragmenter frag(false);
  MultilinkReassembler re({.mrru = 100});
  std::vector<std::vector<uint8_t>> out;
  frag.Fragment(Packet(300, 1), 64, out);
  for (auto& f : out) ASSERT_TRUE(re.Receive(f).ok());
  EXPECT_TRUE(re.TakePackets().empty());
  EXPECT_EQ(re.dropped_packets(), 1u);
  EXPECT_FALSE(re.Receive(std::vector<uint8_t>{0x80}).ok());
}

}  // namespace
}  // namespace ppp
