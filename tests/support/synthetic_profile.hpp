#pragma once
// A synthetic profile for simulation tests: four models "a".."d" of 60 kernels on `t`'s size
// classes; "big" kernels scale with units, "small" ones saturate at the first size class, and they
// alternate in blocks of 5, so partitioning has something to win.
#include <string>

#include "eclip/plan/profile.hpp"

namespace eclip::testing {

inline Profile synthetic_profile(const Topology& t) {
  Profile p;
  p.device = t.name;
  p.configs = t.size_classes;
  for (unsigned c : t.size_classes) p.units.push_back(t.units_of(c));
  for (std::string name : {"a", "b", "c", "d"}) {
    ModelProfile m{name, 6.0, {}};
    for (int k = 0; k < 60; ++k) {
      if ((k / 5) % 2)
        m.kernels.push_back(KernelProfile{"small", {20, 20, 20, 20}});
      else
        m.kernels.push_back(KernelProfile{"big", {80, 40, 28, 20}});
    }
    p.models.push_back(m);
  }
  return p;
}

}  // namespace eclip::testing
