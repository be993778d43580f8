#pragma once
// SwitchBudget: the most partition switches a worker may make per request. ECLIP plans with about
// 14 per request: mix 1 needed 1319 remask IOCTLs per request per-kernel, 413 switches with
// kernel-wise pre-allocated streams, and 42 under ECLIP's budget (arXiv 2506.12598). Each switch
// may cost a barrier, so the budget bounds synchronisation overhead. The optimizer plans under it
// offline; the router can enforce it online.
#include <cstdint>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip {

class SwitchBudget {
 public:
  /// ECLIP's default (about 14 switches per request, arXiv 2506.12598).
  static constexpr unsigned kEclipDefault = 14;

  static SwitchBudget unlimited() { return SwitchBudget(); }
  /// `per_request` < 0 is an error: a budget counts switches, it cannot be negative.
  static SwitchBudget per_request(long long per_request) {
    if (per_request < 0)
      throw Error(Errc::invalid_argument,
                  fmt::format("switch budget {} is negative: it counts switches per request (>= 0)", per_request));
    if (per_request >= static_cast<long long>(kUnlimited))
      throw Error(Errc::invalid_argument,
                  fmt::format("switch budget {} is too large (at most {}; use unlimited)", per_request, kUnlimited - 1));
    SwitchBudget b;
    b.limit_ = static_cast<unsigned>(per_request);
    return b;
  }

  bool is_unlimited() const noexcept { return limit_ == kUnlimited; }
  unsigned limit() const noexcept { return limit_; }
  bool allows(unsigned switches) const noexcept { return switches <= limit_; }
  std::string to_string() const { return is_unlimited() ? "unlimited" : fmt::format("{}", limit_); }
  friend bool operator==(const SwitchBudget&, const SwitchBudget&) = default;

 private:
  static constexpr unsigned kUnlimited = std::numeric_limits<unsigned>::max();
  SwitchBudget() = default;
  unsigned limit_ = kUnlimited;
};

}  // namespace eclip
