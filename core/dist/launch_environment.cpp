#include "dist/launch_environment.h"

#include <anvil/errors.h>

#include <charconv>
#include <cstdlib>
#include <optional>

namespace anvil::core {

namespace {

using GetEnv = std::function<const char*(const char*)>;

std::optional<std::string> variable(const GetEnv& getenv, const char* name) {
  const char* value = getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

int integer(const GetEnv& getenv, const char* name) {
  const std::string text = *variable(getenv, name);
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw Error(std::string(name) + "='" + text + "' is not an integer",
                "check what the launcher set (env | grep -E 'RANK|WORLD|SLURM|OMPI|MASTER')");
  return value;
}

struct Names {
  Launcher launcher;
  const char* rank;
  const char* world;
  const char* local;
};

constexpr Names kLaunchers[] = {
    {Launcher::torchrun, "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {Launcher::slurm, "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {Launcher::openmpi, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
};

}  // namespace

const char* to_string(Launcher launcher) {
  switch (launcher) {
    case Launcher::none: return "none";
    case Launcher::torchrun: return "torchrun";
    case Launcher::slurm: return "slurm";
    case Launcher::openmpi: return "openmpi";
  }
  return "none";
}

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at the first comma outside brackets.
  std::size_t end = 0;
  int depth = 0;
  for (; end < nodelist.size(); ++end) {
    if (nodelist[end] == '[') ++depth;
    if (nodelist[end] == ']') --depth;
    if (nodelist[end] == ',' && depth == 0) break;
  }
  const std::string entry = nodelist.substr(0, end);
  const auto malformed = [&nodelist] {
    return Error("SLURM_JOB_NODELIST='" + nodelist + "' is not a Slurm host list",
                 "set MASTER_ADDR to the host of rank 0");
  };
  if (entry.empty() || depth != 0) throw malformed();
  const std::size_t open = entry.find('[');
  if (open == std::string::npos) return entry;
  const std::size_t close = entry.find(']', open);
  if (close == std::string::npos || open == 0) throw malformed();
  // Inside the brackets: "07-09,12" -> its first number, as written (zero padding kept).
  const std::string inside = entry.substr(open + 1, close - open - 1);
  const std::size_t stop = inside.find_first_of("-,");
  const std::string first = inside.substr(0, stop);
  if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) throw malformed();
  return entry.substr(0, open) + first + entry.substr(close + 1);
}

LaunchEnvironment read_launch_environment(const GetEnv& getenv_fn) {
  const GetEnv getenv = getenv_fn ? getenv_fn : [](const char* name) -> const char* { return std::getenv(name); };
  LaunchEnvironment job;
  const Names* names = nullptr;
  for (const Names& candidate : kLaunchers)
    if (variable(getenv, candidate.rank) || variable(getenv, candidate.world)) {
      names = &candidate;
      break;
    }
  if (!names) return job;  // one process

  job.launcher = names->launcher;
  for (const char* name : {names->rank, names->world})
    if (!variable(getenv, name))
      throw Error(std::string(to_string(job.launcher)) + " environment is incomplete: " + name +
                      " is not set",
                  std::string("set both ") + names->rank + " and " + names->world +
                      ", or neither for a single process");
  job.rank = integer(getenv, names->rank);
  job.world_size = integer(getenv, names->world);
  job.local_rank = variable(getenv, names->local) ? integer(getenv, names->local) : job.rank;
  const std::string where = std::string(" (") + names->rank + ", " + names->world + ")";
  if (job.world_size < 1)
    throw Error(std::string(names->world) + "=" + std::to_string(job.world_size) +
                " must be at least 1");
  if (job.rank < 0 || job.rank >= job.world_size)
    throw Error("rank " + std::to_string(job.rank) + " is outside a world of " +
                    std::to_string(job.world_size) + " processes" + where,
                "ranks run from 0 to world size - 1");
  if (job.local_rank < 0 || job.local_rank >= job.world_size)
    throw Error(std::string(names->local) + "=" + std::to_string(job.local_rank) +
                " is outside a world of " + std::to_string(job.world_size) + " processes");

  if (const auto port = variable(getenv, "MASTER_PORT")) {
    job.master_port = integer(getenv, "MASTER_PORT");
    if (job.master_port < 1 || job.master_port > 65535)
      throw Error("MASTER_PORT=" + *port + " is not a TCP port (1-65535)");
  }
  if (const auto address = variable(getenv, "MASTER_ADDR")) {
    job.master_addr = *address;
  } else if (job.launcher == Launcher::slurm) {
    if (const auto nodes = variable(getenv, "SLURM_JOB_NODELIST"))
      job.master_addr = first_slurm_host(*nodes);
  }
  if (job.master_addr.empty() && job.world_size > 1)
    throw Error(std::string(to_string(job.launcher)) + " started rank " + std::to_string(job.rank) +
                    " of " + std::to_string(job.world_size) +
                    " without a master address: MASTER_ADDR is not set" +
                    (job.launcher == Launcher::slurm ? " and SLURM_JOB_NODELIST is empty" : ""),
                "export MASTER_ADDR=<host of rank 0> (and MASTER_PORT) before starting the ranks");
  return job;
}

}  // namespace anvil::core
