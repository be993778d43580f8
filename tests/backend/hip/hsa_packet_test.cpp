// AQL header encoding and the barrier-AND builder, checked against hsa.h (no GPU needed).
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>

#include "eclip/backend/hsa/packet.hpp"

using namespace eclip;
using hsa::FenceScope;
using hsa::Header;
using hsa::PacketType;

namespace {
hsa_signal_t sig(std::uint64_t h) { return hsa_signal_t{h}; }
}  // namespace

TEST_CASE("AQL packet layout matches hsa.h", "[hsa][packet]") {
  // The static_asserts in packet.hpp fail the build if hsa.h disagrees; restate the key facts so a
  // reader of the test output sees them.
  STATIC_REQUIRE(sizeof(hsa_barrier_and_packet_t) == 64);
  STATIC_REQUIRE(offsetof(hsa_barrier_and_packet_t, dep_signal) == 8);
  STATIC_REQUIRE(offsetof(hsa_barrier_and_packet_t, completion_signal) == 56);
  STATIC_REQUIRE(offsetof(hsa_kernel_dispatch_packet_t, kernel_object) == 32);
  STATIC_REQUIRE(hsa::kMaxBarrierDeps == 5);
  STATIC_REQUIRE(static_cast<unsigned>(PacketType::barrier_and) == 3);
  STATIC_REQUIRE(static_cast<unsigned>(PacketType::invalid) == 1);
  STATIC_REQUIRE(static_cast<unsigned>(FenceScope::system) == 2);
}

TEST_CASE("header bits: type in 0-7, barrier bit 8, acquire 9-10, release 11-12", "[hsa][packet]") {
  CHECK(hsa::encode(Header{PacketType::invalid, false, FenceScope::none, FenceScope::none}) == 0x0001);
  CHECK(hsa::encode(Header{PacketType::kernel_dispatch, false, FenceScope::none, FenceScope::none}) == 0x0002);
  CHECK(hsa::encode(Header{PacketType::barrier_and, true, FenceScope::none, FenceScope::none}) == 0x0103);
  CHECK(hsa::encode(Header{PacketType::barrier_and, false, FenceScope::agent, FenceScope::none}) == 0x0203);
  CHECK(hsa::encode(Header{PacketType::barrier_and, false, FenceScope::system, FenceScope::none}) == 0x0403);
  CHECK(hsa::encode(Header{PacketType::barrier_and, false, FenceScope::none, FenceScope::agent}) == 0x0803);
  CHECK(hsa::encode(Header{PacketType::barrier_and, false, FenceScope::none, FenceScope::system}) == 0x1003);
  // ROCclr's kBarrierPacketHeader (rocvirtual.cpp): BARRIER_AND, barrier bit, system/system.
  const std::uint16_t rocclr_barrier = (HSA_PACKET_TYPE_BARRIER_AND << HSA_PACKET_HEADER_TYPE) |
                                       (1 << HSA_PACKET_HEADER_BARRIER) |
                                       (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                                       (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE);
  CHECK(rocclr_barrier == 0x1503);
  CHECK(hsa::decode(rocclr_barrier) == Header{PacketType::barrier_and, true, FenceScope::system, FenceScope::system});
  CHECK(hsa::kInvalidHeader == 0x0001);
}

TEST_CASE("header encode/decode round-trips every combination", "[hsa][packet]") {
  const PacketType types[] = {PacketType::vendor_specific, PacketType::invalid,        PacketType::kernel_dispatch,
                              PacketType::barrier_and,     PacketType::agent_dispatch, PacketType::barrier_or};
  const FenceScope scopes[] = {FenceScope::none, FenceScope::agent, FenceScope::system};
  for (PacketType t : types)
    for (bool b : {false, true})
      for (FenceScope a : scopes)
        for (FenceScope r : scopes) {
          const Header h{t, b, a, r};
          CHECK(hsa::decode(hsa::encode(h)) == h);
        }
  // Reserved bits 13-15 do not leak into the fields.
  CHECK(hsa::decode(static_cast<std::uint16_t>(0xE000 | 0x0103)) ==
        Header{PacketType::barrier_and, true, FenceScope::none, FenceScope::none});
}

TEST_CASE("BarrierAnd defaults: barrier bit, agent-scope fences, no deps, INVALID body header", "[hsa][packet]") {
  hsa::BarrierAnd b;
  CHECK(b.header() == 0x0B03);
  CHECK(b.header_fields() == Header{PacketType::barrier_and, true, FenceScope::agent, FenceScope::agent});
  CHECK(b.dependency_count() == 0);
  const hsa_barrier_and_packet_t& p = b.body();
  CHECK(p.header == hsa::kInvalidHeader);
  CHECK(p.reserved0 == 0);
  CHECK(p.reserved1 == 0);
  CHECK(p.reserved2 == 0);
  for (hsa_signal_t s : p.dep_signal) CHECK(s.handle == 0);
  CHECK(p.completion_signal.handle == 0);
}

TEST_CASE("BarrierAnd holds up to five dependencies and a completion signal", "[hsa][packet]") {
  hsa::BarrierAnd b;
  b.depend_on(sig(0x10)).depend_on(sig(0)).depend_on(sig(0x20)).complete(sig(0x99));
  CHECK(b.dependency_count() == 2);  // the null signal is ignored, as the packet processor ignores it
  CHECK(b.body().dep_signal[0].handle == 0x10);
  CHECK(b.body().dep_signal[1].handle == 0x20);
  CHECK(b.body().dep_signal[2].handle == 0);
  CHECK(b.body().completion_signal.handle == 0x99);
  b.depend_on(sig(0x30)).depend_on(sig(0x40)).depend_on(sig(0x50));
  CHECK(b.dependency_count() == 5);
  CHECK(b.body().dep_signal[4].handle == 0x50);
  try {
    b.depend_on(sig(0x60));
    FAIL("a sixth dependency must be refused");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("dependency 6") && Catch::Contains("0x60") && Catch::Contains("5 dep_signal"));
  }
  CHECK(b.dependency_count() == 5);
}

TEST_CASE("BarrierAnd fence scopes and barrier bit are settable", "[hsa][packet]") {
  hsa::BarrierAnd b;
  b.barrier_bit(false).acquire(FenceScope::none).release(FenceScope::system);
  CHECK(b.header() == 0x1003);
  CHECK(hsa::decode(b.header()) == Header{PacketType::barrier_and, false, FenceScope::none, FenceScope::system});
}
