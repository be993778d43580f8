// A back-edge the layering check must refuse: the plan layer pulling in the runtime.
#include "eclip/runtime/partition_pool.hpp"
