#pragma once
// Umbrella header: the vendor-neutral core. Backends have their own headers under eclip/backend/.
#include "eclip/runtime/backend.hpp"
#include "eclip/core/cu_mask.hpp"
#include "eclip/energy/energy_meter.hpp"
#include "eclip/core/error.hpp"
#include "eclip/runtime/kernel_router.hpp"
#include "eclip/runtime/observer.hpp"
#include "eclip/core/partition_config.hpp"
#include "eclip/runtime/partition_pool.hpp"
#include "eclip/plan/plan.hpp"
#include "eclip/core/switch_budget.hpp"
#include "eclip/core/topology.hpp"
