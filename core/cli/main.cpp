#include "cli/command.h"

// The `anvil` executable links no LibTorch: commands that need it load it (cli/torch_commands.h).
int main(int argc, char** argv) { return anvil::core::run_cli(argc, argv); }
