# Unit tests of the access-control policy (busd/policy/policy.c, busd/policy/policy_parse.c):
# pure, text in and verdicts out, no files. test_policy_diff checks
# policy_check() against a brute-force reference model on seeded random
# policies (at least 100,000 cases per verb mix).
bus_unit_test(test_policy ${CMAKE_CURRENT_SOURCE_DIR}/test_policy.c LIBS busdpolicy)
bus_unit_test(test_policy_diff ${CMAKE_CURRENT_SOURCE_DIR}/test_policy_diff.c LIBS busdpolicy)
