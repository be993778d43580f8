#!/bin/sh
# Stands in for python3 in the `eclip profile` test: prints what it was asked to run and with which
# library, and exits with the code the profiler would.
echo "fake python: $*"
echo "fake python: ECLIP_LIBRARY=${ECLIP_LIBRARY:-unset}"
exit 5
