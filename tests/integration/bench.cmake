# Smoke tests of bus-bench (tests/bench, docs/benchmarks.md): a very short run
# (--quick) of each scenario against a busd the tool starts itself. --check
# makes the tool fail unless the scenario ran and reported sane numbers
# (positive rates, p50 <= p99, every event received or reported dropped and
# agreeing with the daemon's counters). No timing assertions: the figures of a
# --quick run on a loaded machine mean nothing.
if(TARGET bus_bench AND TARGET busd)
  foreach(scenario memory pingpong relay call pubsub fanout pubsub-raw fanout-raw)
    add_test(NAME bench_${scenario}
      COMMAND bus_bench --quick --check --scenario ${scenario} --busd $<TARGET_FILE:busd>)
    set_tests_properties(bench_${scenario} PROPERTIES LABELS integration TIMEOUT 300)
  endforeach()
  # the machine-readable output, on one transport
  add_test(NAME bench_json
    COMMAND bus_bench --quick --check --json --scenario call,pubsub --transport stream --busd $<TARGET_FILE:busd>)
  set_tests_properties(bench_json PROPERTIES LABELS integration TIMEOUT 300)
endif()
# Across the network bridge (scripts/bench-bridge.sh, docs/benchmarks.md
# "Across the bridge"): two busd in network namespaces joined by a TLS link,
# bus-bench --quick --check with the subscriber and the service on the other
# bus. Only sane numbers are checked, never speed. Needs root (skipped, exit
# 77, otherwise).
if(TARGET bus_bench AND TARGET busd AND TARGET bus_cli)
  add_test(NAME bench_bridge
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/bench-bridge.sh --quick --check ${CMAKE_BINARY_DIR})
  # alone: it builds network namespaces and must not share the machine's
  # timing with the other namespace tests
  set_tests_properties(bench_bridge PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endif()
# Against the peers (scripts/bench-peers.sh, docs/benchmarks.md "Against the
# peers"): the same workloads through dbus-broker and nats-server, tiny counts;
# only sane numbers are checked, never speed. --no-install: a test never
# installs packages (scripts/deps.sh test does); skipped (exit 77) when a peer
# is not installed.
if(TARGET bus_bench AND TARGET busd)
  add_test(NAME bench_peers
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/bench-peers.sh --quick --check --no-install ${CMAKE_BINARY_DIR})
  set_tests_properties(bench_peers PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endif()
# The Python package against python3-dbus (scripts/bench-python.sh,
# docs/benchmarks.md "The Python client against python3-dbus"): tiny counts,
# sane numbers only (the busd subscriber gets every event), never speed;
# skipped (exit 77) when python3-dbus, python3-gi or dbus-broker is missing.
if(TARGET busd)
  add_test(NAME bench_python
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/bench-python.sh --quick --check --no-install ${CMAKE_BINARY_DIR})
  set_tests_properties(bench_python PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()
