#pragma once
// Finding the real entry point behind an interposed one: dlsym(RTLD_NEXT) first (the library the
// application would have reached without the preload), then any already loaded library among
// `fallbacks` (a runtime loaded by dlopen(RTLD_LOCAL), e.g. under Python, is not in the global
// scope RTLD_NEXT searches). Never loads a library that is not loaded yet.
#include <dlfcn.h>

#include <atomic>
#include <initializer_list>

namespace eclip::preload {

inline void* resolve_real(const char* name, std::initializer_list<const char*> fallbacks) {
  if (void* p = dlsym(RTLD_NEXT, name)) return p;
  for (const char* lib : fallbacks) {
    if (void* h = dlopen(lib, RTLD_NOLOAD | RTLD_LAZY)) {
      void* p = dlsym(h, name);
      dlclose(h);
      if (p) return p;
    }
  }
  return nullptr;
}

}  // namespace eclip::preload
