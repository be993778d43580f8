#pragma once
// The calling thread's message for eclip_last_error(), and the guard every C entry point runs
// its body in. Shared by libeclip_c.so and the preload libraries (src/preload/c_entry.cpp), so a
// process that loads several of them still has ONE message per thread (see error_state.cpp).
#include <exception>
#include <new>
#include <string>

#include "eclip/core/error.hpp"
#include "eclip/eclip_c.h"

extern "C" {
/* Internal to eclip's libraries, exported only so that every copy in a process binds to one
 * definition; not part of the C ABI (not in eclip_c.h). NULL or "" clears the message. */
ECLIP_C_API void eclip_detail_set_error(const char* message);
ECLIP_C_API const char* eclip_detail_get_error(void);
}

namespace eclip::c_abi {

inline void set_last_error(const char* message) noexcept { eclip_detail_set_error(message); }
inline void clear_last_error() noexcept { eclip_detail_set_error(nullptr); }

inline Error invalid(const std::string& what) { return Error(Errc::invalid_argument, what); }

template <class T>
void require(const T* p, const char* what) {
  if (p == nullptr) throw invalid(std::string("argument ") + what + " is NULL");
}

/// Runs `f`, turning every exception into a status code and the thread's message; a success
/// clears the message. No exception crosses the C ABI.
template <class F>
int guarded(F&& f) noexcept {
  try {
    f();
    clear_last_error();
    return ECLIP_OK;
  } catch (const Error& e) {
    set_last_error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return ECLIP_E_INTERNAL;
  } catch (const std::exception& e) {
    set_last_error(e.what());
    return ECLIP_E_INTERNAL;
  } catch (...) {
    set_last_error("unknown exception");
    return ECLIP_E_INTERNAL;
  }
}

}  // namespace eclip::c_abi
