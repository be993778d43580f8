#pragma once
// CuMask: a set of compute units (AMD CUs, NVIDIA SMs) of one device.
//
// Semantics, stated once: bit u set means unit u MAY run the stream's work. Units are numbered
// 0..device_units()-1, group by group (AMD: CUs counted shader engine by shader engine, engine
// 0's CUs first; the driver deals HIP mask bits round-robin over engines, so the hip backend
// translates, see eclip/backend/hsa/cu_mask_layout.hpp; NVIDIA: the SMs of the green-context
// split's atoms, atom by atom). A mask always knows its device's unit count, so a bit past the end is
// an error at the point it is set, not a silent no-op in the driver.
//
// Example (MI50, 60 CUs in 4 shader engines of 15):
//   CuMask m = CuMask::range(60, 15, 30);   // units 15..44
//   m.to_string()  == "15-44"
//   m.hip_words()  == {0xffff8000, 0x00001fff} // 2 words: ceil(60/32)
#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip {

class CuMask {
 public:
  /// Largest device supported. MI300X has 304 CUs, H100 132 SMs; 1024 leaves room for growth.
  static constexpr unsigned kMaxUnits = 1024;

  CuMask() = default;
  /// An empty mask of a device with `device_units` units.
  explicit CuMask(unsigned device_units) : units_(device_units) {
    if (device_units == 0 || device_units > kMaxUnits)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMask: device of {} units unsupported (1..{})", device_units, kMaxUnits));
  }
  static CuMask all(unsigned device_units) { return range(device_units, 0, device_units); }
  /// Units [first, first+count).
  static CuMask range(unsigned device_units, unsigned first, unsigned count) {
    CuMask m(device_units);
    if (std::uint64_t{first} + count > device_units)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMask: range {}..{} out of range: device has {} units", first,
                              std::uint64_t{first} + count - 1, device_units));
    for (unsigned u = first; u < first + count; ++u) m.set(u);
    return m;
  }
  /// Parses the form to_string() prints: "0-14,30-44", "7", or "" for empty.
  static CuMask parse(unsigned device_units, const std::string& text);

  unsigned device_units() const noexcept { return units_; }
  void set(unsigned u) {
    check(u);
    words_[u / 64] |= uint64_t{1} << (u % 64);
  }
  void reset(unsigned u) {
    check(u);
    words_[u / 64] &= ~(uint64_t{1} << (u % 64));
  }
  bool test(unsigned u) const {
    check(u);
    return (words_[u / 64] >> (u % 64)) & 1U;
  }
  unsigned count() const noexcept {
    unsigned n = 0;
    for (uint64_t w : words_) n += static_cast<unsigned>(std::popcount(w));
    return n;
  }
  bool empty() const noexcept { return count() == 0; }
  bool full() const noexcept { return units_ != 0 && count() == units_; }
  bool overlaps(const CuMask& o) const { return !(*this & o).empty(); }
  bool subset_of(const CuMask& o) const { return (*this & o) == *this; }

  CuMask operator|(const CuMask& o) const { return combine(o, [](uint64_t a, uint64_t b) { return a | b; }); }
  CuMask operator&(const CuMask& o) const { return combine(o, [](uint64_t a, uint64_t b) { return a & b; }); }
  CuMask& operator|=(const CuMask& o) { return *this = *this | o; }
  friend bool operator==(const CuMask&, const CuMask&) = default;

  /// Readable range list, e.g. "0-14,30-44"; "" when empty.
  std::string to_string() const {
    std::string out;
    for (unsigned u = 0; u < units_;) {
      if (!test(u)) { ++u; continue; }
      unsigned v = u;
      while (v + 1 < units_ && test(v + 1)) ++v;
      if (!out.empty()) out += ',';
      out += (u == v) ? fmt::format("{}", u) : fmt::format("{}-{}", u, v);
      u = v + 1;
    }
    return out;
  }
  /// The mask as uint32 words in the shape hipExtStreamCreateWithCUMask(stream, cuMaskSize,
  /// cuMask) takes, untranslated: word w bit b = unit 32*w+b; ceil(units/32) words. Not the
  /// driver's bit order on a multi-engine AMD GPU: use hip::HipBackend::hip_words() for that.
  std::vector<uint32_t> hip_words() const {
    std::vector<uint32_t> out((units_ + 31) / 32);
    for (size_t w = 0; w < out.size(); ++w)
      out[w] = static_cast<uint32_t>(words_[w / 2] >> (32 * (w % 2)));
    return out;
  }

 private:
  void check(unsigned u) const {
    if (u >= units_)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMask: unit {} out of range: device has {} units", u, units_));
  }
  template <class Op>
  CuMask combine(const CuMask& o, Op op) const {
    if (units_ != o.units_)
      throw Error(Errc::invalid_argument,
                  fmt::format("CuMask: masks of devices with {} and {} units cannot be combined", units_, o.units_));
    CuMask r = *this;
    for (size_t i = 0; i < words_.size(); ++i) r.words_[i] = op(words_[i], o.words_[i]);
    return r;
  }

  std::array<uint64_t, kMaxUnits / 64> words_{};
  unsigned units_ = 0;
};

inline CuMask CuMask::parse(unsigned device_units, const std::string& text) {
  CuMask m(device_units);
  size_t pos = 0;
  auto bad = [&](const std::string& why) {
    return Error(Errc::parse, fmt::format("CuMask: cannot parse \"{}\": {}", text, why));
  };
  auto number = [&]() {
    size_t start = pos;
    unsigned long v = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      v = v * 10 + static_cast<unsigned long>(text[pos++] - '0');
      if (v > kMaxUnits) throw bad("unit number too large");
    }
    if (pos == start) throw bad(fmt::format("expected a unit number at offset {}", start));
    return static_cast<unsigned>(v);
  };
  while (pos < text.size()) {
    unsigned lo = number(), hi = lo;
    if (pos < text.size() && text[pos] == '-') {
      ++pos;
      hi = number();
    }
    if (hi < lo) throw bad(fmt::format("range {}-{} is reversed", lo, hi));
    for (unsigned u = lo; u <= hi; ++u) m.set(u);
    if (pos < text.size() && text[pos++] != ',') throw bad(fmt::format("unexpected '{}' at offset {}", text[pos - 1], pos - 1));
    if (pos == text.size() && text.back() == ',') throw bad("trailing ','");
  }
  return m;
}

}  // namespace eclip

template <>
struct fmt::formatter<eclip::CuMask> : fmt::formatter<std::string> {
  auto format(const eclip::CuMask& m, format_context& ctx) const {
    // Built piecewise: "{" + s + "}" trips GCC 12's false -Wrestrict at -O3 (GCC bug 105329).
    std::string s;
    s += '{';
    s += m.to_string();
    s += '}';
    return fmt::formatter<std::string>::format(s, ctx);
  }
};
