#pragma once
// Loading a vendor's monitoring library at run time (NVML, rocm_smi_lib), so eclip runs, and says
// why an energy counter is unavailable, on machines without that vendor's driver.
#include <dlfcn.h>

#include <string>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip::energy_detail {

/// dlopen with the reason in the error; the handle is kept for the process (never dlclosed: the
/// vendor libraries start threads that must not outlive their code).
inline void* open_library(const std::string& source, const std::string& library) {
  dlerror();
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    throw Error(Errc::unavailable, fmt::format("{}: dlopen {}: {}", source, library, why ? why : "unknown error"));
  }
  return lib;
}

template <class F>
F symbol(void* lib, const std::string& source, const std::string& library, const char* name) {
  dlerror();
  void* p = dlsym(lib, name);
  if (!p)
    throw Error(Errc::unavailable, fmt::format("{}: {} has no {} (not the vendor's library, or too old)", source,
                                               library, name));
  return reinterpret_cast<F>(p);
}

}  // namespace eclip::energy_detail
