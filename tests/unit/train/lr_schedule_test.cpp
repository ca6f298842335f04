// Learning-rate schedules against their closed forms, at the points where they are easiest to
// get wrong: the first and last warm-up steps, the first step after warm-up, the midpoint and
// the last step.
#include "train/lr_schedule.h"

#include <anvil/errors.h>

#include <catch2/catch.hpp>

#include <cmath>

using anvil::core::LrSchedule;
using anvil::core::ScheduleKind;
using anvil::core::ScheduleOptions;
using Catch::Detail::Approx;

namespace {
LrSchedule make(ScheduleKind kind, std::int64_t steps, std::int64_t warmup, double ratio = 0.1,
                double decay_fraction = 0.2) {
  return LrSchedule(ScheduleOptions{kind, steps, warmup, ratio, decay_fraction});
}
}  // namespace

TEST_CASE("warm-up rises linearly and reaches the base rate on its last step", "[train][schedule]") {
  for (const ScheduleKind kind : {ScheduleKind::constant, ScheduleKind::linear, ScheduleKind::cosine, ScheduleKind::wsd}) {
    const LrSchedule schedule = make(kind, 110, 10);
    CHECK(schedule.lr(0, 2.0) == Approx(0.2));
    CHECK(schedule.lr(4, 2.0) == Approx(1.0));
    CHECK(schedule.lr(9, 2.0) == Approx(2.0));
  }
}

TEST_CASE("constant keeps the base rate after warm-up", "[train][schedule]") {
  const LrSchedule schedule = make(ScheduleKind::constant, 100, 0);
  CHECK(schedule.lr(0, 3e-4) == Approx(3e-4));
  CHECK(schedule.lr(99, 3e-4) == Approx(3e-4));
}

TEST_CASE("linear decays from the base to min_lr_ratio at the last step", "[train][schedule]") {
  // After 10 warm-up steps, p = (s - 10) / 99 over steps 10..109.
  const LrSchedule schedule = make(ScheduleKind::linear, 110, 10, 0.1);
  CHECK(schedule.lr(10, 1.0) == Approx(1.0));
  CHECK(schedule.lr(109, 1.0) == Approx(0.1));
  CHECK(schedule.lr(43, 1.0) == Approx(1.0 - 0.9 * 33.0 / 99.0));
  CHECK(schedule.lr(500, 1.0) == Approx(0.1));  // past the end: the final rate
}

TEST_CASE("cosine follows half a cosine from the base to min_lr_ratio", "[train][schedule]") {
  const LrSchedule schedule = make(ScheduleKind::cosine, 101, 0, 0.0);
  CHECK(schedule.lr(0, 1.0) == Approx(1.0));
  CHECK(schedule.lr(50, 1.0) == Approx(0.5));
  CHECK(schedule.lr(100, 1.0) == Approx(0.0).margin(1e-12));
  CHECK(schedule.lr(25, 1.0) == Approx(0.5 * (1 + std::cos(3.14159265358979323846 / 4))));
  const LrSchedule floor = make(ScheduleKind::cosine, 101, 0, 0.1);
  CHECK(floor.lr(50, 1.0) == Approx(0.1 + 0.9 * 0.5));
  CHECK(floor.lr(100, 1.0) == Approx(0.1));
}

TEST_CASE("wsd is stable, then decays linearly over its last fraction", "[train][schedule]") {
  // 100 steps, 20 warm-up, decay over round(0.25 * 80) = 20 steps: D = 80.
  const LrSchedule schedule = make(ScheduleKind::wsd, 100, 20, 0.0, 0.25);
  CHECK(schedule.lr(20, 1.0) == Approx(1.0));
  CHECK(schedule.lr(79, 1.0) == Approx(1.0));
  CHECK(schedule.lr(80, 1.0) == Approx(1.0 - 1.0 / 20.0));
  CHECK(schedule.lr(89, 1.0) == Approx(1.0 - 10.0 / 20.0));
  CHECK(schedule.lr(99, 1.0) == Approx(0.0).margin(1e-12));
  // A one-step decay still ends at the minimum, and no decay stays at the base.
  CHECK(make(ScheduleKind::wsd, 10, 0, 0.5, 0.1).lr(9, 1.0) == Approx(0.5));
  CHECK(make(ScheduleKind::wsd, 10, 0, 0.5, 0.0).lr(9, 1.0) == Approx(1.0));
}

TEST_CASE("a one-step run and bad schedule options", "[train][schedule]") {
  CHECK(make(ScheduleKind::cosine, 1, 0).lr(0, 1.0) == Approx(1.0));
  CHECK_THROWS_AS(make(ScheduleKind::cosine, 0, 0), anvil::Error);
  CHECK_THROWS_WITH(make(ScheduleKind::cosine, 10, 10), Catch::Contains("leaves no step after warm-up"));
  CHECK_THROWS_AS(make(ScheduleKind::cosine, 10, 2, 1.5), anvil::Error);
  CHECK_THROWS_AS(make(ScheduleKind::wsd, 10, 2, 0.1, -0.1), anvil::Error);
  CHECK(anvil::core::parse_schedule_kind("wsd") == ScheduleKind::wsd);
  CHECK_FALSE(anvil::core::parse_schedule_kind("step").has_value());
}
