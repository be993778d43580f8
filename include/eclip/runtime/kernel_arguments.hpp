#pragma once
// KernelArguments: a kernel's arguments converted to its parameter types and the array of pointers
// to them that cudaLaunchKernel / hipLaunchKernel take (one per parameter, plus a terminating null).
// The conversion happens when it is built, before anything is routed, so a bad argument takes no
// route. Vendor-free: each backend's launch wrappers use the same one.
//   KernelArguments<float*, int> a(d_x, n);  cudaLaunchKernel(k, grid, block, a.pointers(), 0, s);
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace eclip {

template <class... Params>
class KernelArguments {
 public:
  template <class... Args>
    requires(sizeof...(Params) == sizeof...(Args))
  explicit KernelArguments(Args&&... args) : values_(std::forward<Args>(args)...) {
    point(std::index_sequence_for<Params...>{});
  }
  KernelArguments(const KernelArguments&) = delete;  // the pointers point into this object
  KernelArguments& operator=(const KernelArguments&) = delete;

  void** pointers() noexcept { return pointers_.data(); }

 private:
  template <std::size_t... I>
  void point(std::index_sequence<I...>) noexcept {
    ((pointers_[I] = static_cast<void*>(&std::get<I>(values_))), ...);
  }
  std::tuple<std::decay_t<Params>...> values_;
  std::array<void*, sizeof...(Params) + 1> pointers_{};
};

}  // namespace eclip
