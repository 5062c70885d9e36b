# End-to-end tests of bus(1) (tools/bus): tests/integration/cli_test.py runs the
# real `bus` binary against a real busd on temporary sockets. One ctest test per
# group of cli_test.py, each named for what it checks.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND TARGET busd AND TARGET bus_cli)
  set(cli_groups
    cli_verbs_stream VerbsStream        # every verb over unix: (stream)
    cli_verbs_seqpacket VerbsSeqpacket  # every verb over seqpacket:, --seqpacket, BUS_ADDRESS
    cli_serve Serve                     # bus serve: command outcomes become answers
    cli_exit_codes ExitCodes            # the documented exit codes
    cli_output Output)                  # terminal vs pipe, colours, help
  while(cli_groups)
    list(POP_FRONT cli_groups test group)
    add_test(NAME ${test} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.py -v ${group})
    set_tests_properties(${test} PROPERTIES LABELS integration TIMEOUT 180
      ENVIRONMENT "BUS=$<TARGET_FILE:bus_cli>;BUSD=$<TARGET_FILE:busd>")
  endwhile()
  # bus wait and the rough edges of issue 12 (cli_wait_test.py)
  set(cli_groups
    cli_wait_stream WaitStream          # bus wait NAME... / --event, over unix:
    cli_wait_seqpacket WaitSeqpacket    # the same over seqpacket:
    cli_edges_stream EdgesStream        # --timeout (stopped daemon, units), not-a-busd, publish's ack
    cli_edges_seqpacket EdgesSeqpacket
    cli_edges Edges)                    # D-Bus socket, files, stdin, hints, policy verify
  while(cli_groups)
    list(POP_FRONT cli_groups test group)
    add_test(NAME ${test} COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_wait_test.py -v ${group})
    set_tests_properties(${test} PROPERTIES LABELS integration TIMEOUT 180
      ENVIRONMENT "BUS=$<TARGET_FILE:bus_cli>;BUSD=$<TARGET_FILE:busd>")
  endwhile()
  # bus status and bus list fitted to a pseudo-terminal (cli_tty_test.py)
  add_test(NAME cli_tty COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_tty_test.py -v)
  set_tests_properties(cli_tty PROPERTIES LABELS integration TIMEOUT 180
    ENVIRONMENT "BUS=$<TARGET_FILE:bus_cli>;BUSD=$<TARGET_FILE:busd>")
  # the user bus's squatter checks: bus, libbus and the Python package as a
  # test uid (root needed, skipped otherwise)
  add_test(NAME cli_userbus COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_userbus_test.py -v)
  set_tests_properties(cli_userbus PROPERTIES LABELS integration TIMEOUT 180
    ENVIRONMENT "BUS=$<TARGET_FILE:bus_cli>;BUSD=$<TARGET_FILE:busd>;LIBBUS=$<TARGET_FILE:bus>")
  # the completions for bash (with and without bash-completion), zsh and fish
  # against `bus --help` and a real busd (cli_completion_test.py)
  add_test(NAME cli_completion COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli_completion_test.py -v)
  set_tests_properties(cli_completion PROPERTIES LABELS integration TIMEOUT 180
    ENVIRONMENT "BUS=$<TARGET_FILE:bus_cli>;BUSD=$<TARGET_FILE:busd>")
endif()
