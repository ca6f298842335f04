# Installs the SDK as a CMake package: find_package(Anvil) + anvil_add_plugin() out of tree.
include(CMakePackageConfigHelpers)

install(TARGETS anvil_sdk anvil_nn EXPORT AnvilTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/anvil DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/sdk/include/anvil/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/anvil)

set(ANVIL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Anvil)
install(EXPORT AnvilTargets NAMESPACE anvil:: DESTINATION ${ANVIL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/sdk/cmake/AnvilConfig.cmake.in
  ${PROJECT_BINARY_DIR}/AnvilConfig.cmake INSTALL_DESTINATION ${ANVIL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/AnvilConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/AnvilConfig.cmake
  ${PROJECT_BINARY_DIR}/AnvilConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/sdk/cmake/AnvilPlugin.cmake
  DESTINATION ${ANVIL_CMAKE_DIR})
