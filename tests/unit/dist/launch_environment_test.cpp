// The job a process belongs to, from torchrun's, Slurm's and Open MPI's variables, and every
// inconsistent environment refused with the variables named.
#include "dist/launch_environment.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using anvil::core::first_slurm_host;
using anvil::core::LaunchEnvironment;
using anvil::core::Launcher;
using anvil::core::read_launch_environment;
using Catch::Matchers::Contains;

namespace {

LaunchEnvironment read(const std::map<std::string, std::string>& variables) {
  return read_launch_environment([&variables](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& variables) {
  try {
    read(variables);
  } catch (const anvil::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("no launcher variables: one process", "[dist]") {
  const LaunchEnvironment job = read({});
  CHECK(job.launcher == Launcher::none);
  CHECK(job.rank == 0);
  CHECK(job.world_size == 1);
  CHECK(job.local_rank == 0);
}

TEST_CASE("torchrun's variables", "[dist]") {
  const LaunchEnvironment job = read({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
                                      {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29400"}});
  CHECK(job.launcher == Launcher::torchrun);
  CHECK(job.rank == 3);
  CHECK(job.world_size == 8);
  CHECK(job.local_rank == 1);
  CHECK(job.master_addr == "10.0.0.1");
  CHECK(job.master_port == 29400);
  // The default port, and torchrun winning over the Slurm allocation it runs in.
  const LaunchEnvironment nested = read({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"},
                                         {"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "9"}});
  CHECK(nested.launcher == Launcher::torchrun);
  CHECK(nested.world_size == 2);
  CHECK(nested.master_port == 29500);
}

TEST_CASE("Slurm's variables: the master is the first host of the node list", "[dist]") {
  const LaunchEnvironment job = read({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"},
                                      {"SLURM_LOCALID", "1"}, {"SLURM_JOB_NODELIST", "gpu[007-010,012],cpu1"}});
  CHECK(job.launcher == Launcher::slurm);
  CHECK(job.rank == 5);
  CHECK(job.world_size == 16);
  CHECK(job.local_rank == 1);
  CHECK(job.master_addr == "gpu007");
  // MASTER_ADDR wins over the node list.
  CHECK(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_NODELIST", "a[1-2]"},
              {"MASTER_ADDR", "login"}})
            .master_addr == "login");
}

TEST_CASE("Open MPI's variables", "[dist]") {
  const LaunchEnvironment job = read({{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"MASTER_ADDR", "node1"}});
  CHECK(job.launcher == Launcher::openmpi);
  CHECK(job.rank == 1);
  CHECK(job.world_size == 2);
  CHECK(job.local_rank == 1);
}

TEST_CASE("the first host of Slurm host lists", "[dist]") {
  CHECK(first_slurm_host("node1") == "node1");
  CHECK(first_slurm_host("a1,b2") == "a1");
  CHECK(first_slurm_host("node[01-04]") == "node01");
  CHECK(first_slurm_host("node[7,9-12]") == "node7");
  CHECK(first_slurm_host("rack[3-4]-n1,x") == "rack3-n1");
  CHECK_THROWS_WITH(first_slurm_host(""), Contains("is not a Slurm host list"));
  CHECK_THROWS_WITH(first_slurm_host("node[01-04"), Contains("is not a Slurm host list"));
  CHECK_THROWS_WITH(first_slurm_host("node[]"), Contains("is not a Slurm host list"));
}

TEST_CASE("inconsistent environments are errors naming the variables", "[dist]") {
  CHECK(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}) ==
        "rank 2 is outside a world of 2 processes (RANK, WORLD_SIZE)");
  CHECK(error_of({{"RANK", "-1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}) ==
        "rank -1 is outside a world of 2 processes (RANK, WORLD_SIZE)");
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}) == "WORLD_SIZE=0 must be at least 1");
  CHECK(error_of({{"RANK", "one"}, {"WORLD_SIZE", "2"}}) == "RANK='one' is not an integer");
  CHECK(error_of({{"RANK", "1"}}) == "torchrun environment is incomplete: WORLD_SIZE is not set");
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "2"}, {"MASTER_ADDR", "h"}}) ==
        "LOCAL_RANK=2 is outside a world of 2 processes");
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}) ==
        "torchrun started rank 0 of 2 without a master address: MASTER_ADDR is not set");
  CHECK(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}) ==
        "slurm started rank 0 of 2 without a master address: MASTER_ADDR is not set and "
        "SLURM_JOB_NODELIST is empty");
  CHECK(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}) ==
        "MASTER_PORT=70000 is not a TCP port (1-65535)");
  // One process needs no master.
  CHECK(read({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).master_addr.empty());
}
