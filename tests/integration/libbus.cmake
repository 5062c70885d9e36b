# libbus against a real busd (harness.h); every test runs over stream and
# seqpacket. The helpers in test_libbus_common.c are shared by all of them.
find_package(Threads REQUIRED)
add_library(test_libbus_common STATIC ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_common.c)
target_link_libraries(test_libbus_common PUBLIC bustest_harness bus PkgConfig::JSONC Threads::Threads)

foreach(t calls names events loop reconnect identity flow open)
  bus_integration_test(test_libbus_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_${t}.c LIBS test_libbus_common)
endforeach()
