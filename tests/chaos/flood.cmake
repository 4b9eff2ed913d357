# The crash harness flood (issue 8): 10,000 complaints through the four real channels
# (Gammu's dummy phone, the mail world's Dovecot and Postfix, a call-record file with the
# clerk's notes, a scan folder read by Tesseract) while the daemon is SIGKILLed at 20
# random moments; test_chaos_flood.c says how the items are split and what is checked.
# One program, a ctest per layout:
#   chaos_flood_gateway  everything in one aduan-gatewayd
#   chaos_flood_units    aduan-gatewayd --only core|sms|email|phone|box, each killed in turn
# Both use the mail world, so they hold its lock; CHAOS_SEED=N repeats a run.
add_executable(chaos_flood test_chaos_flood.c ${ADUAN_HARNESS}
  ${CMAKE_SOURCE_DIR}/tests/sms/phone.c ${CMAKE_SOURCE_DIR}/tests/email/mailbox.c)
target_include_directories(chaos_flood PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration
  ${CMAKE_SOURCE_DIR}/tests/sms ${CMAKE_SOURCE_DIR}/tests/email)
target_link_libraries(chaos_flood PRIVATE aduan_common aduan_test_forms aduan_sms_translate
  PkgConfig::JANSSON PkgConfig::SQLITE PkgConfig::CMOCKA)
target_compile_definitions(chaos_flood PRIVATE
  ADUAN_BIN_DIR="${CMAKE_BINARY_DIR}/bin" ADUAN_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
set_target_properties(chaos_flood PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${ADUAN_TEST_BIN})
add_dependencies(chaos_flood aduan-gatewayd aduanctl aduan-box-ocr)
foreach(layout gateway units)
  add_test(NAME chaos_flood_${layout} COMMAND chaos_flood ${layout})
  set_tests_properties(chaos_flood_${layout} PROPERTIES LABELS "integration;chaos"
    RESOURCE_LOCK mailworld TIMEOUT 300)
endforeach()
