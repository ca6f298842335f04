#include "cli/command.h"

int main(int argc, char** argv) { return anvil::core::run_cli(argc, argv); }
