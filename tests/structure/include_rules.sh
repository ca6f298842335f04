#!/usr/bin/env bash
# The module boundaries that includes and links must respect (docs/architecture.md): a plugin
# and the SDK see only the SDK's headers (<anvil/...>) and their own folder's; a plugin links
# libraries, never another plugin's code; the SDK's contract library links no LibTorch library;
# nothing in the core below the commands includes a command's header. Prints every violation
# with file:line; exit 1 if any.
# usage: include_rules.sh <source dir>
set -euo pipefail
root=${1:?usage: include_rules.sh <source dir>}
cd "$root"
core_modules='cli|data|train|manifest|plugin|checkpoint|export|host|log|metrics|plan|io|run|dist'
status=0
report() { # <rule> <grep output>
  if [ -n "$2" ]; then
    printf '%s\n%s\n' "$1" "$2"
    status=1
  fi
}
report "plugins and the SDK must not include core headers:" \
  "$(grep -rnE "#include \"($core_modules)/" plugins sdk examples --include='*.cpp' --include='*.h' || true)"
report "plugins must not include files of other folders (\"../x.h\", \"dir/x.h\"):" \
  "$(grep -rnE '#include "[^"]*/' plugins --include='*.cpp' --include='*.h' || true)"
report "nothing below core/cli may include core/cli headers:" \
  "$(grep -rnE '#include "cli/' core --include='*.cpp' --include='*.h' | grep -v '^core/cli/' || true)"
report "a plugin must not link another plugin's implementation (share code through the SDK):" \
  "$(grep -nE 'anvil_(arch|tokenizer|optimizer|loss|eval|offload)_[a-z_]+_impl' plugins/*/CMakeLists.txt |
       grep -vE ':[0-9]+: *#' || true)"
report "the SDK's contract headers must not include the model layers (<anvil/nn/...>):" \
  "$(grep -lE '#include <anvil/nn/' sdk/include/anvil/*.h | sed 's/$/: includes <anvil\/nn\/...>/' || true)"
report "tokenizer plugins are TORCH_FREE (they load without LibTorch):" \
  "$(grep -L 'TORCH_FREE' plugins/tokenizer-*/CMakeLists.txt || true)"
# The core's module graph: which modules each one may include from (its libraries link theirs).
# A new edge is a design decision: add it here, to the CMake link, and to docs/architecture.md.
declare -A allowed=(
  [io]="" [log]="" [host]="" [metrics]="" [plugin]="" [dist]=""
  [data]="io"
  [checkpoint]="io"
  [export]="checkpoint io"
  [plan]="metrics"
  [manifest]="data plugin"
  [run]="checkpoint data host log manifest metrics plugin train"
  [train]="checkpoint data manifest metrics plugin"
  [cli]="checkpoint data dist export host log manifest metrics plan plugin run train"
)
module_violations=""
for module in "${!allowed[@]}"; do
  [ -d "core/$module" ] || continue
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    used=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$hit")
    [ "$used" = "$module" ] && continue
    case " ${allowed[$module]} " in *" $used "*) ;; *) module_violations+="$hit (core/$module may include: ${allowed[$module]:-nothing of the core})"$'\n' ;; esac
  done < <(grep -rnE '#include "[a-z_]+/' "core/$module" --include='*.cpp' --include='*.h' || true)
done
for folder in core/*/; do
  name=$(basename "$folder")
  [ -n "${allowed[$name]+set}" ] || module_violations+="core/$name is not in the module graph of include_rules.sh"$'\n'
done
report "a core module includes a module it does not depend on:" "${module_violations%$'\n'}"
exit $status
