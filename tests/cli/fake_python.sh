#!/bin/sh
# Stands in for python3 in the `eclip profile` test: prints what it was asked to run and with which
# library, and exits with the code the profiler would.
echo "fake python: $*"
echo "fake python: ECLIP_C_LIB=${ECLIP_C_LIB:-unset}"
exit 5
