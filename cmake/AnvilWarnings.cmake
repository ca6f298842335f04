# One warning set for every Anvil target (core, SDK, plugins, tests).
function(anvil_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
endfunction()
