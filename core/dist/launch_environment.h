#pragma once
// Who this process is in a multi-process job, as the launcher that started it says: torchrun
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), Slurm's srun (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST) or Open MPI's mpirun
// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK). Read and checked before any compute, so an
// inconsistent environment is an error naming the variables, never a hang at rendezvous.

#include <cstdint>
#include <functional>
#include <string>

namespace anvil::core {

/// The launcher whose variables describe the job.
enum class Launcher { none, torchrun, slurm, openmpi };

/// "none", "torchrun", "slurm" or "openmpi".
const char* to_string(Launcher launcher);

struct LaunchEnvironment {
  Launcher launcher = Launcher::none;  ///< none: a single process (rank 0 of 1)
  int rank = 0;                        ///< this process, 0 .. world_size - 1
  int world_size = 1;                  ///< processes in the job
  int local_rank = 0;                  ///< this process on its machine (its GPU index)
  std::string master_addr;             ///< where rank 0's rendezvous store listens
  int master_port = 29500;             ///< MASTER_PORT, or torchrun's default
};

/// Reads the job from environment variables through `getenv` (std::getenv by default; tests
/// pass their own). torchrun's variables win over Slurm's, which win over Open MPI's (torchrun
/// inside an allocation sets its own). MASTER_ADDR/MASTER_PORT apply to every launcher; under
/// Slurm the master defaults to the first host of SLURM_JOB_NODELIST. Throws anvil::Error
/// naming the variables for: a value that is not an integer, a world size below 1, a rank or
/// local rank outside the world, and a job of several processes without a master address.
LaunchEnvironment read_launch_environment(
    const std::function<const char*(const char*)>& getenv = nullptr);

/// The first host of a Slurm host list: "node[07-09,12],gpu3" -> "node07" (ranges keep their
/// zero padding), "a1,b2" -> "a1". Throws anvil::Error for an empty or malformed list.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace anvil::core
