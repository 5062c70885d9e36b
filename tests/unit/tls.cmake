# Unit test of the bridge's TLS layer (busd/bridge/tls.c): two link ends pumped in
# memory, no sockets. The test makes its certificates first, running
# scripts/gen-test-certs.sh (passed as argv[1]) into a temporary directory.
add_executable(test_tls ${CMAKE_CURRENT_SOURCE_DIR}/test_tls.c)
target_link_libraries(test_tls PRIVATE busdtls)
target_include_directories(test_tls PRIVATE ${PROJECT_SOURCE_DIR}/tests)
add_test(NAME test_tls COMMAND test_tls ${PROJECT_SOURCE_DIR}/scripts/gen-test-certs.sh)
set_tests_properties(test_tls PROPERTIES LABELS unit TIMEOUT 120)
