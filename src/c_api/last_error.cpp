// eclip_last_error(): reads the process's one per-thread message (error_state.cpp) through the
// exported accessor, from this separate translation unit, so that it reads the copy every
// library writes to, whichever library's eclip_last_error a caller found.
#include "last_error.hpp"

extern "C" {
const char* eclip_last_error(void) { return eclip_detail_get_error(); }
}
