# anvil_add_plugin(<name> SOURCES <src>... [LINK <lib>...] [TORCH_FREE] [OUTPUT_DIRECTORY <dir>]
#                  [NO_INSTALL])
#
# The one function every plugin is built with, in the Anvil tree and out of it (it is installed
# with the SDK and included by find_package(Anvil)). It makes a MODULE library <name>.so that
# links anvil::sdk (the plugin contract) and anvil::nn (the model layers, and LibTorch), hides
# every symbol except the two entry points, and installs into lib/anvil/plugins, where `anvil`
# looks for plugins. TORCH_FREE links the contract alone: such a plugin (a tokenizer) loads
# without LibTorch, and the commands that need only it start in milliseconds.
function(anvil_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL;TORCH_FREE" "OUTPUT_DIRECTORY" "SOURCES;LINK" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "anvil_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE anvil::sdk ${ARG_LINK})
  if(NOT ARG_TORCH_FREE)
    target_link_libraries(${name} PRIVATE anvil::nn)
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set(out_dir "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED ANVIL_PLUGIN_OUTPUT_DIR)
    set(out_dir "${ANVIL_PLUGIN_OUTPUT_DIR}")
  else()
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}"
    LIBRARY_OUTPUT_DIRECTORY "${out_dir}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "$ORIGIN/../.."
    INSTALL_RPATH_USE_LINK_PATH ON)
  target_compile_definitions(${name} PRIVATE ANVIL_PLUGIN_NAME="${name}")
  # A plugin must not leave symbols undefined until load time: catch them when linking.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  if(NOT ARG_NO_INSTALL)
    if(DEFINED ANVIL_PLUGIN_INSTALL_DIR)
      set(dest "${ANVIL_PLUGIN_INSTALL_DIR}")
    else()
      include(GNUInstallDirs)
      set(dest "${CMAKE_INSTALL_LIBDIR}/anvil/plugins")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${dest}")
  endif()
endfunction()
