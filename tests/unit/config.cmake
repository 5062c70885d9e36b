# Unit test of the daemon's configuration file parser (busd/config/config.c): pure,
# text in and struct out, no files.
bus_unit_test(test_config ${CMAKE_CURRENT_SOURCE_DIR}/test_config.c LIBS busdconfig)
