# Reliability under load, faults and hostile input (issue 5; figures in
# docs/reliability.md, promises in docs/guarantees.md). Short bounded forms
# of each; tests/soak.sh runs the long ones. Run one at a time (RUN_SERIAL):
# they measure the daemon's memory, CPU time and descriptors, and open
# thousands of sockets. Against a sanitizer build the counts scale down
# (BUS_SANITIZE_BUILD=1; the tests also recognise an ASan busd themselves),
# and busd gets a small ASan quarantine (added to $ASAN_OPTIONS) so that its
# RSS measures busd.
set(_rel_env "BUSD=$<TARGET_FILE:busd>")
if(BUS_SANITIZE)
  list(APPEND _rel_env "BUS_SANITIZE_BUILD=1")
  set(_rel_slack 32768)
else()
  set(_rel_slack 16384)
endif()

# At least 1,000,000 malformed frames of every class over both transports
# (250,000 against a sanitizer build) while a control client keeps calling;
# with two silent connections per transport that a 1 s hello timeout keeps
# closing.
if(TARGET bus_abuse AND TARGET busd)
  add_test(NAME reliability_abuse
    COMMAND bus_abuse --busd $<TARGET_FILE:busd> --rss-slack ${_rel_slack} --silent 2
            --busd-arg --hello-timeout --busd-arg 1000)
  set_tests_properties(reliability_abuse PROPERTIES LABELS "integration;reliability" TIMEOUT 300 RUN_SERIAL TRUE
    ENVIRONMENT "${_rel_env}")
endif()

find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t hello scale fds slow churn guarantees)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_reliability_${t}.py)
      add_test(NAME py_reliability_${t}
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_reliability_${t}.py)
      set_tests_properties(py_reliability_${t} PROPERTIES LABELS "integration;reliability" TIMEOUT 300
        RUN_SERIAL TRUE ENVIRONMENT "${_rel_env}")
    endif()
  endforeach()
endif()

# Hardening (issue 16): bounded attacks that one client can make on the
# daemon's descriptors and memory, and a connect storm of thousands of
# clients. Run one at a time (RUN_SERIAL): they measure busd's RSS and
# descriptors and open up to 10,000 sockets per transport. A few need root
# (busd or a client as another uid) and skip otherwise.
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t resources storm)
    add_test(NAME py_hardening_${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_hardening_${t}.py)
    set_tests_properties(py_hardening_${t} PROPERTIES LABELS "integration;reliability;hardening" TIMEOUT 600
      RUN_SERIAL TRUE ENVIRONMENT "${_rel_env}")
  endforeach()
endif()
