# busd under systemd and its configuration file, against the real daemon, in
# Python with the standard library only: test_systemd.py (socket activation
# with systemd-socket-activate and a launcher that passes sockets as systemd
# does; READY/STATUS/WATCHDOG/STOPPING/RELOADING on a NOTIFY_SOCKET made by the
# test), test_config.py (--check-config, precedence, SIGHUP reload) and
# test_activation.py (service activation from activation files).
# The tests that need systemd-socket-activate skip without it.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND TARGET busd)
  foreach(t systemd config activation)
    add_test(NAME py_${t} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.py)
    set_tests_properties(py_${t} PROPERTIES LABELS integration TIMEOUT 180
      ENVIRONMENT "BUSD=$<TARGET_FILE:busd>")
  endforeach()
endif()
