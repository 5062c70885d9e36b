# libbus unit tests: internals without a daemon (a socketpair at most).
find_package(Threads REQUIRED)
add_library(test_libbus_fake STATIC ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_fake.c)
target_link_libraries(test_libbus_fake PUBLIC bus_objects)
target_include_directories(test_libbus_fake PUBLIC ${PROJECT_SOURCE_DIR}/tests)

foreach(t address outmsg inmsg client dispatch batch reconnect_fake payload)
  bus_unit_test(test_libbus_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_${t}.c LIBS test_libbus_fake Threads::Threads)
endforeach()
