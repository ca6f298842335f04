#pragma once
/// @file parallel.h
/// The one small thread pool pattern the SDK and plugins share: independent tasks spread over
/// a few threads, the first failure stops the rest and reaches the caller.

#include <anvil/export.h>

#include <cstddef>
#include <functional>

namespace anvil {

/// `threads` itself when positive, else the number of hardware threads (at least 1).
ANVIL_SDK_API int resolve_threads(int threads);

/// Runs `task(i)` for every i in [0, count) on up to resolve_threads(threads) threads, the
/// calling thread being one of them; tasks are handed out in increasing order of i. When a
/// task throws, no new task starts and the first exception is rethrown once all threads have
/// stopped.
ANVIL_SDK_API void parallel_for(std::size_t count, int threads,
                                const std::function<void(std::size_t)>& task);

}  // namespace anvil
