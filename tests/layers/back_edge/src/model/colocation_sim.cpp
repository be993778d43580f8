// The model layer is library code: it may not use the experiments (nothing does).
#include "eclip/experiments/colocation.hpp"
