#pragma once
// Umbrella header: the vendor-neutral core. Backends have their own headers under eclip/backend/.
#include "eclip/backend.hpp"
#include "eclip/cu_mask.hpp"
#include "eclip/energy_meter.hpp"
#include "eclip/error.hpp"
#include "eclip/kernel_router.hpp"
#include "eclip/observer.hpp"
#include "eclip/partition_config.hpp"
#include "eclip/partition_pool.hpp"
#include "eclip/plan.hpp"
#include "eclip/switch_budget.hpp"
#include "eclip/topology.hpp"
