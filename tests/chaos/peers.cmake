# The peers away (issue 8): Dovecot stopped and started again, the SMTP server away for a
# minute, the modem unplugged, each while complaints keep coming and replies wait; each
# test times the catch-up after the peer's return and fails over 30 s
# (test_chaos_peers.c). One program, a ctest per peer. The disk-full part is
# chaos_disk_full (tests/integration).
add_executable(chaos_peers test_chaos_peers.c ${ADUAN_HARNESS}
  ${CMAKE_SOURCE_DIR}/tests/sms/phone.c ${CMAKE_SOURCE_DIR}/tests/email/mailbox.c)
target_include_directories(chaos_peers PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration
  ${CMAKE_SOURCE_DIR}/tests/sms ${CMAKE_SOURCE_DIR}/tests/email)
target_link_libraries(chaos_peers PRIVATE aduan_common aduan_sms_translate
  PkgConfig::JANSSON PkgConfig::SQLITE PkgConfig::CMOCKA Threads::Threads)
target_compile_definitions(chaos_peers PRIVATE
  ADUAN_BIN_DIR="${CMAKE_BINARY_DIR}/bin" ADUAN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
set_target_properties(chaos_peers PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${ADUAN_TEST_BIN})
add_dependencies(chaos_peers aduan-gatewayd aduanctl)
# About 50 s, 75 s and 60 s; the first two stop a server of the shared mail world.
foreach(peer dovecot_restart smtp_down modem_gone)
  add_test(NAME chaos_peer_${peer} COMMAND chaos_peers test_${peer})
  set_tests_properties(chaos_peer_${peer} PROPERTIES LABELS "integration;chaos" TIMEOUT 240)
endforeach()
set_tests_properties(chaos_peer_dovecot_restart chaos_peer_smtp_down PROPERTIES
  RESOURCE_LOCK mailworld)
