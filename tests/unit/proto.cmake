# Unit tests of the pure protocol layer (proto/) and of util/: one binary per
# module, no sockets (test_readfile reads files in a temporary directory).
# They link busproto only.
foreach(t syntax jsonparse jsonget msg frame buf address cfgerr readfile openmetrics)
  bus_unit_test(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c LIBS busproto)
endforeach()
