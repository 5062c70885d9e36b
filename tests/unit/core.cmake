# Unit tests of the daemon's routing core (busd/, without its I/O files): one
# binary per module, no sockets. test_router, test_router_events and
# test_router_queues drive the whole core through router_handle() with
# in-memory fake peers (test_core_fake.c).
add_library(test_core_fake STATIC ${CMAKE_CURRENT_SOURCE_DIR}/test_core_fake.c)
target_link_libraries(test_core_fake PUBLIC busdcore)
target_include_directories(test_core_fake PUBLIC ${PROJECT_SOURCE_DIR}/tests)

foreach(t subs registry calls outq wire)
  bus_unit_test(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c LIBS busdcore)
endforeach()
# trie vs reference matcher on random patterns and topics (seeded, 200k topics)
bus_unit_test(test_subs_diff ${CMAKE_CURRENT_SOURCE_DIR}/test_subs_diff.c LIBS busdcore)
# handshake, calls, org.busd; names and events; queues, stalls, size limits,
# counters; the policy (revocation, what `see` hides); descriptors in queues;
# what one client can make the core hold (declarations, notices, uid quota);
# monitoring connections (records, filters, drops, scope)
foreach(t router router_events router_queues router_policy router_fds router_bounds router_flow monitor)
  bus_unit_test(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c LIBS test_core_fake)
endforeach()
bus_unit_test(test_activate ${CMAKE_CURRENT_SOURCE_DIR}/test_activate.c LIBS test_core_fake)
bus_unit_test(test_actfile ${CMAKE_CURRENT_SOURCE_DIR}/test_actfile.c LIBS busdconfig)
# the bridge's core between in-memory routers (no sockets, no TLS)
bus_unit_test(test_bridge ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge.c ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_common.c
  LIBS test_core_fake busdbridge)
bus_unit_test(test_bridge_flow ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_flow.c ${CMAKE_CURRENT_SOURCE_DIR}/test_bridge_common.c
  LIBS test_core_fake busdbridge)
# the validation of link messages (pure: no bridge, no router)
bus_unit_test(test_linkmsg ${CMAKE_CURRENT_SOURCE_DIR}/test_linkmsg.c LIBS busdbridge)
# link messages written as text, read back by jsonscan and linkmsg (round trip)
bus_unit_test(test_linkwire ${CMAKE_CURRENT_SOURCE_DIR}/test_linkwire.c LIBS busdbridge)
# the peers by id (open addressing, removal by backward shift)
bus_unit_test(test_peertab ${CMAKE_CURRENT_SOURCE_DIR}/test_peertab.c LIBS busdcore)
# what a reload of the bridge's file does to each link (pure: two parsed configurations)
bus_unit_test(test_bridgediff ${CMAKE_CURRENT_SOURCE_DIR}/test_bridgediff.c LIBS busdbridge)
