// Loads LibTorch (its static initializers register every operator) and exits: what any
// LibTorch program pays at start-up before doing anything.
#include <ATen/core/Tensor.h>

int main() { return at::Tensor().defined() ? 1 : 0; }
