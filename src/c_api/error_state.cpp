// The one per-thread message behind eclip_last_error(), for every eclip library in a process.
//
// libeclip_c.so and the preload libraries (libeclip_preload.so, libeclip_preload_cuda.so) each
// compile this file, and export eclip_detail_set_error / eclip_detail_get_error with default
// visibility (their version scripts keep eclip_* global). The dynamic linker binds every
// reference to the first definition in the lookup order, so in a process that has both a preload
// library (LD_PRELOAD: first in the order) and libeclip_c.so, all of them set and read the
// preload's copy: one coherent message per thread.
//
// That only holds if no library binds a call to its own copy at link time, so: this file holds
// the state and nothing that reads it; eclip_last_error (last_error.cpp) and every setter
// (last_error.hpp) call these two functions from other translation units (through the PLT); no
// library is linked with -Bsymbolic.
#include <new>
#include <string>

#include "last_error.hpp"

namespace {
thread_local std::string t_message;
}  // namespace

extern "C" {

void eclip_detail_set_error(const char* message) {
  try {
    if (message == nullptr)
      t_message.clear();
    else
      t_message.assign(message);
  } catch (const std::bad_alloc&) {
    t_message.clear();  // keeps its capacity: never throws
  }
}

const char* eclip_detail_get_error(void) { return t_message.c_str(); }

}  // extern "C"
