# libbus against a real busd (harness.h); every test runs over stream and
# seqpacket. The helpers in test_libbus_common.c are shared by all of them.
find_package(Threads REQUIRED)
add_library(test_libbus_common STATIC ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_common.c)
target_link_libraries(test_libbus_common PUBLIC bustest_harness bus PkgConfig::JSONC Threads::Threads)

foreach(t calls names events loop reconnect identity flow open)
  bus_integration_test(test_libbus_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_${t}.c LIBS test_libbus_common)
endforeach()

# The event-loop adapters (libbus/adapters/): one scenario
# (test_libbus_adapters.c) in each loop whose library is found.
add_library(test_libbus_adapters STATIC ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_adapters.c)
target_link_libraries(test_libbus_adapters PUBLIC test_libbus_common bus_adapters)
target_include_directories(test_libbus_adapters PRIVATE ${PROJECT_SOURCE_DIR}/tests ${CMAKE_CURRENT_SOURCE_DIR})
bus_integration_test(test_libbus_uv ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_uv.c LIBS test_libbus_adapters PkgConfig::UV)
pkg_check_modules(ADAPTER_SYSTEMD IMPORTED_TARGET libsystemd)
if(ADAPTER_SYSTEMD_FOUND)
  bus_integration_test(test_libbus_sdevent ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_sdevent.c
    LIBS test_libbus_adapters PkgConfig::ADAPTER_SYSTEMD)
else()
  message(STATUS "libsystemd not found: the sd-event adapter is not tested (apt-get install libsystemd-dev)")
endif()
pkg_check_modules(ADAPTER_GLIB IMPORTED_TARGET glib-2.0)
if(ADAPTER_GLIB_FOUND)
  bus_integration_test(test_libbus_glib ${CMAKE_CURRENT_SOURCE_DIR}/test_libbus_glib.c
    LIBS test_libbus_adapters PkgConfig::ADAPTER_GLIB)
else()
  message(STATUS "glib-2.0 not found: the GLib adapter is not tested (apt-get install libglib2.0-dev)")
endif()
