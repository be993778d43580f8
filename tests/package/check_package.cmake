# The installed package works on its own, with the source tree out of reach:
#  1. install eclip from BINARY_DIR into a scratch prefix, then move the prefix elsewhere (nothing
#     installed may depend on where it was installed or on the source tree);
#  2. run the moved `eclip simulate` from another folder without ECLIP_WORKLOADS: it must find its
#     bundled workloads relative to itself;
#  3. build a tiny consumer and the examples (copied out of the source tree) with
#     find_package(eclip CONFIG) against the moved prefix, check that no compile line names the
#     source tree's include folder, and run them (the GPU examples may skip with 77).
# Inputs: SOURCE_DIR, BINARY_DIR, WORK_DIR, GENERATOR; EXPECT_CUDA / EXPECT_HIP (1 when the backend
# was built: its example must be built too), CUDA_COMPILER, HIP_ARCHITECTURES.
function(run_checked what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}${err}")
  endif()
  set(last_output "${out}${err}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/elsewhere)
# --strip: debug information names the source files; the check below is about what the tool uses.
run_checked("install" ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/installed --strip)
file(RENAME ${WORK_DIR}/installed ${WORK_DIR}/moved)
set(P ${WORK_DIR}/moved)

# 2. The moved tool, from another folder, with no hint where its workloads are. It may hold no
#    path of the source or build tree (the source tree stays on disk while ctest runs, so a tool
#    that fell back to it would otherwise pass).
foreach(tree ${SOURCE_DIR} ${BINARY_DIR})
  file(STRINGS ${P}/bin/eclip found REGEX "${tree}")
  if(found)
    message(FATAL_ERROR "the installed eclip names ${tree}: ${found}")
  endif()
endforeach()
run_checked("the installed eclip --version" ${P}/bin/eclip --version)
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=ECLIP_WORKLOADS
                        ${P}/bin/eclip simulate --mix mix1 --duration-ms 50 --warmup-ms 10
                WORKING_DIRECTORY ${WORK_DIR}/elsewhere RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "moved prefix: eclip simulate exited ${rc}\n${out}${err}")
if(rc OR NOT out MATCHES "mix1 on simulated MI50")
  message(FATAL_ERROR "the installed eclip, moved to ${P}, cannot run simulate on its own")
endif()
# The closed loop from the installed package: on the simulated device (the GPU path runs the
# installed Python package's eclip.torch.tune the same way `eclip profile` runs the profiler).
execute_process(COMMAND ${P}/bin/eclip tune --backend sim --mix mix6 --window-ms 60 --out ${WORK_DIR}/elsewhere/tune
                WORKING_DIRECTORY ${WORK_DIR}/elsewhere RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "moved prefix: eclip tune exited ${rc}\n${out}${err}")
if(rc OR NOT out MATCHES "mix6: best" OR NOT EXISTS ${WORK_DIR}/elsewhere/tune/plan_mix6.json)
  message(FATAL_ERROR "the installed eclip, moved to ${P}, cannot run tune on the simulated device")
endif()

# 3a. The tiny consumer.
run_checked("configuring the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/consumer
            -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${P})
run_checked("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run_checked("the consumer" ${WORK_DIR}/consumer/consumer)
if(NOT last_output MATCHES "routed 3 launches.*simulated [1-9][0-9]* requests/s")
  message(FATAL_ERROR "the consumer printed: ${last_output}")
endif()

# 3b. The examples, copied out of the source tree.
file(COPY ${SOURCE_DIR}/examples DESTINATION ${WORK_DIR})
set(args -S ${WORK_DIR}/examples -B ${WORK_DIR}/examples-build -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${P})
if(CUDA_COMPILER)
  list(APPEND args -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
endif()
if(HIP_ARCHITECTURES)
  list(APPEND args "-DECLIP_HIP_ARCHITECTURES=${HIP_ARCHITECTURES}")
endif()
run_checked("configuring the examples" ${CMAKE_COMMAND} ${args})
message(STATUS "${last_output}")
run_checked("building the examples" ${CMAKE_COMMAND} --build ${WORK_DIR}/examples-build)
file(GLOB_RECURSE build_files ${WORK_DIR}/examples-build/*.ninja ${WORK_DIR}/examples-build/*Makefile
     ${WORK_DIR}/examples-build/*flags.make)
foreach(f ${build_files})
  file(READ ${f} text)
  string(FIND "${text}" "${SOURCE_DIR}/include" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${f} names the source tree's include folder ${SOURCE_DIR}/include")
  endif()
endforeach()
set(expected example_sim_router)
if(EXPECT_CUDA)
  list(APPEND expected cuda_colocation/cuda_colocation)
endif()
if(EXPECT_HIP)
  list(APPEND expected hip_colocation/hip_colocation)
endif()
foreach(exe ${expected})
  if(NOT EXISTS ${WORK_DIR}/examples-build/${exe})
    message(FATAL_ERROR "example ${exe} was not built against the installed package")
  endif()
endforeach()
# Runs them: the sim example must pass; a GPU example passes or skips (77) without its GPU.
execute_process(COMMAND ${CMAKE_COMMAND} -E chdir ${WORK_DIR}/examples-build ctest --output-on-failure
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "examples against the installed package:\n${out}${err}")
if(rc)
  message(FATAL_ERROR "an example built against the installed package failed")
endif()
