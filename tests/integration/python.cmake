# Protocol conformance and abuse tests of the real busd, in Python with the
# standard library only: pyclient.py is a client written from docs/protocol.md
# alone, daemon_harness.py starts busd on temporary sockets (readiness pipe, no
# sleeps). One ctest test per file; each test inside runs over stream and
# seqpacket. BUS_TEST_KNOWN_BUGS=1 also runs the tests skipped as known bugs.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t conformance errors abuse slow_consumer ordering lifecycle flow)
    add_test(NAME py_${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.py)
    set_tests_properties(py_${t} PROPERTIES LABELS integration TIMEOUT 180
      ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
  endforeach()
endif()

# Access control and quotas (docs/policy.md): clients setuid to test uids, so
# the tests need root (they skip otherwise); `bus policy` through the CLI.
if(Python3_Interpreter_FOUND AND TARGET busd AND TARGET bus_cli)
  add_test(NAME py_policy COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_policy.py)
  set_tests_properties(py_policy PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>")
endif()

# `monitor` and `bus monitor` (docs/protocol.md §4.10): unprivileged monitors
# setuid to test uids (skipped without root); tshark reads the pcapng (skipped
# when it is not installed).
if(Python3_Interpreter_FOUND AND TARGET busd AND TARGET bus_cli)
  add_test(NAME py_monitor COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_monitor.py)
  set_tests_properties(py_monitor PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>")
endif()

# The network-namespace harness of the bridge tests (netns.py: hosts as
# namespaces joined by veth pairs, a busd in each); needs root and iproute2
# (skips otherwise).
if(Python3_Interpreter_FOUND AND TARGET busd)
  add_test(NAME py_netns_harness COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_netns_harness.py)
  set_tests_properties(py_netns_harness PROPERTIES LABELS integration TIMEOUT 120
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
endif()

# The bridge (docs/bridge.md): busd instances in network namespaces joined by
# TLS links; certificates from scripts/gen-test-certs.sh (openssl).
if(Python3_Interpreter_FOUND AND TARGET busd)
  add_test(NAME py_bridge COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge.py)
  set_tests_properties(py_bridge PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>")
  # `bus call BUS/NAME` across a real bridge, through libbus (libbus_call, a
  # helper that calls with bus_call() and bus_call_async()) and the CLI
  add_executable(bustest_libbus_call ${CMAKE_CURRENT_SOURCE_DIR}/libbus_call.c)
  target_link_libraries(bustest_libbus_call PRIVATE bus PkgConfig::JSONC)
  add_test(NAME py_bridge_cli COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_cli.py)
  set_tests_properties(py_bridge_cli PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>;LIBBUS_CALL=$<TARGET_FILE:bustest_libbus_call>")
  # the bridge file re-read on SIGHUP: links added, removed, changed (docs/bridge.md, "Reload")
  add_test(NAME py_bridge_reload COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_reload.py)
  set_tests_properties(py_bridge_reload PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>")
  # flow control across links (issue 17): a 1,000,000-event burst A->B complete
  # and in order, a stalled remote subscriber, a link cut mid-burst counted, a
  # reload while events flow. Alone (RUN_SERIAL): it keeps both cores busy for
  # tens of seconds, which would stretch the WAIT guards of the tests beside it.
  add_test(NAME py_bridge_flow COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_flow.py)
  set_tests_properties(py_bridge_flow PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
endif()

# Hardening (issue 16): the protocol details and policy leaks it found. The
# policy file and parts of the protocol file run clients as other uids (they
# skip those without root).
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t protocol policy)
    add_test(NAME py_hardening_${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_hardening_${t}.py)
    set_tests_properties(py_hardening_${t} PROPERTIES LABELS "integration;hardening" TIMEOUT 180
      ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
  endforeach()
endif()

# The Python package (python/, docs/python.md): its blocking and asyncio
# clients against a real busd over both transports (the tree's package, not an
# installed one), and the offline install into a fresh virtual environment
# (skips without Debian's python3-venv, -setuptools, -wheel).
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t busd busd_aio install)
    add_test(NAME py_package_${t} COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/python/tests/test_${t}.py)
    set_tests_properties(py_package_${t} PROPERTIES LABELS "integration;python" TIMEOUT 180
      ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
  endforeach()
endif()

# Metrics (docs/busd.md, METRICS): busd with --metrics-listen on a Unix path and
# on 127.0.0.1, GET /metrics checked by promtool (Debian's prometheus; those
# checks skip when it is missing) and prometheus_client's OpenMetrics parser,
# bad requests, `bus metrics` through the real CLI.
if(Python3_Interpreter_FOUND AND TARGET busd AND TARGET bus_cli)
  add_test(NAME py_metrics COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_metrics.py)
  set_tests_properties(py_metrics PROPERTIES LABELS integration TIMEOUT 180
    ENVIRONMENT "BUSD=$<TARGET_FILE:busd>;BUS=$<TARGET_FILE:bus_cli>")
endif()
