# Unit tests of the pure protocol layer (proto/): one binary per module, no
# sockets. They link busproto only.
foreach(t syntax jsonparse msg frame buf address)
  bus_unit_test(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c LIBS busproto)
endforeach()
