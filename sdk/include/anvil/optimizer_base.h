#pragma once
/// @file optimizer_base.h
/// GroupedOptimizer: a base for optimizers that update parameter groups with per-parameter state
/// (moments, momentum buffers, update counts). It does everything but the update rule: it owns
/// the parameter groups and the learning rate, implements zero_grad, set_lr and the step counter,
/// resolves each group's learning rate and weight decay, gathers the parameters that have a
/// gradient, keeps the per-parameter state, and saves and restores it with validation.
/// A subclass declares its state fields and implements update_group(). See
/// docs/writing-a-plugin.md ("Writing an optimizer").
///
/// State names: "step" (0-dim int64, the number of step() calls), then, for each parameter that
/// has state, "group{g}.param{i}.{field}" for each of its fields in declaration order, where g
/// counts all groups ever added and i counts the group's params from 0.

#include <anvil/errors.h>
#include <anvil/export.h>
#include <anvil/optimizer.h>
#include <anvil/tensor_types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace anvil {

class Options;

/// Base of optimizers that keep named per-parameter state; see the file comment.
class ANVIL_SDK_API GroupedOptimizer : public Optimizer {
 public:
  /// One per-parameter state field, such as "exp_avg".
  struct StateField {
    /// What a field holds.
    enum class Kind {
      /// A tensor of the parameter's shape (on its device, in its dtype), created by the
      /// subclass on the parameter's first update; saved as is.
      tensor,
      /// A host int64 count, 0 until the subclass first increments it; saved as a 0-dim int64
      /// tensor while non-zero, and loaded only when >= 1 (e.g. Adam's per-parameter step).
      count,
    };
    /// A field named `name` holding `kind`; `unused` as below.
    StateField(std::string name, Kind kind = Kind::tensor, std::string unused = {})
        : name(std::move(name)), kind(kind), unused(std::move(unused)) {}

    /// The last part of the state name; unique among the optimizer's fields.
    std::string name;
    /// What the field holds.
    Kind kind = Kind::tensor;
    /// Empty when the optimizer uses the field. Otherwise the field belongs to another setting
    /// (e.g. amsgrad): it is never saved, and loading it fails with "state entry '<name>' "
    /// followed by this text (e.g. "belongs to amsgrad, which this optimizer does not use").
    std::string unused;
  };

  /// A parsed state name "group{g}.param{i}.{field}".
  struct StateName {
    std::size_t group = 0;  ///< g
    std::size_t param = 0;  ///< i
    std::string field;      ///< the field's name (any text after the second '.')
  };

 private:
  // The state of one parameter: one slot per field, by field index (the slots of the other
  // kind stay empty).
  struct ParamState {
    std::vector<at::Tensor> tensors;   // undefined until created
    std::vector<std::int64_t> counts;  // 0 until counted
  };

 public:
  /// One group's update, handed to update_group(): the group's parameters that have a gradient
  /// (parameters without one are skipped: neither they nor their state change), in group order,
  /// with their state. Field arguments are indices into the fields given to the constructor;
  /// `k` indexes params.
  class ANVIL_SDK_API GroupUpdate {
   public:
    /// The group being updated.
    const ParamGroup& group;
    /// Its index among all groups added (the g of its state names).
    std::size_t group_index;
    /// The group's learning rate: the current base learning rate times its lr_scale.
    double lr;
    /// The group's weight decay (see GroupedOptimizer::weight_decay_for).
    double weight_decay;
    /// The parameters that have a dense gradient.
    std::vector<at::Tensor> params;
    /// Their gradients (params[k].grad()): read them, never change them in place.
    std::vector<at::Tensor> grads;
    /// Their indices in group.params (the i of their state names).
    std::vector<std::size_t> indices;

    /// The number of parameters updated (params.size()).
    std::size_t size() const noexcept { return params.size(); }
    /// Tensor field `field` of params[k]: undefined until created; assign to create or replace
    /// it (it must then have the parameter's shape).
    at::Tensor& state(std::size_t field, std::size_t k);
    /// Count field `field` of params[k]: 0 until counted; increment it on each update.
    std::int64_t& count(std::size_t field, std::size_t k);
    /// Tensor field `field` of every parameter, in params order (undefined where not created).
    /// The tensors are the state itself: update them in place (at::_foreach_*_).
    std::vector<at::Tensor> states(std::size_t field) const;
    /// Like states(), but first creates each missing tensor as zeros like its parameter
    /// (same shape, dtype, device and memory format).
    std::vector<at::Tensor> states_or_zeros(std::size_t field);
    /// True when tensor field `field` exists for every parameter.
    bool has_states(std::size_t field) const;

   private:
    friend class GroupedOptimizer;
    GroupUpdate(const ParamGroup& group, std::size_t group_index, double lr, double weight_decay,
                std::vector<ParamState>& state);
    std::vector<ParamState>& state_;
  };

  /// Appends groups (may be called more than once; state names use the overall group index).
  /// Throws anvil::Error, adding none of them, if a group sets a negative weight decay.
  void add_param_groups(std::vector<ParamGroup> groups) override;
  /// Calls update_group() for each group with at least one gradient, under at::NoGradGuard,
  /// then counts the step. Throws anvil::Error for a sparse gradient, before that group changes.
  void step() override;
  /// Resets every parameter's gradient (undefined).
  void zero_grad() override;
  /// Accepts any finite lr >= 0 (schedules start warm-up at 0); throws anvil::Error otherwise.
  void set_lr(double lr) override;
  /// The current base learning rate.
  double lr() const override { return lr_; }
  /// "step" (0-dim int64: number of step() calls), then the entries of each parameter that has
  /// state (see the file comment); counts as 0-dim int64 tensors. The tensors are the live
  /// state (not copies).
  StateDict state_dict() const override;
  /// All-or-nothing: on an undefined, unknown, unused, duplicate, mis-shaped or wrongly typed
  /// entry, a missing "step", or a parameter with some but not all of its fields, it throws
  /// anvil::Error naming the entry and leaves the state unchanged. Tensors are copied onto the
  /// parameter's device and dtype. Parameters without entries start afresh on their next update.
  void load_state_dict(const StateDict& state) override;

  /// The component name used in messages ("adam", "lion", ...).
  const std::string& name() const noexcept { return name_; }
  /// Number of step() calls so far.
  std::int64_t steps() const noexcept { return step_; }
  /// The weight decay `group` is updated with: ParamGroup::weight_decay when set (0 exempts the
  /// group), else the optimizer's default given to the constructor.
  double weight_decay_for(const ParamGroup& group) const noexcept {
    return group.weight_decay.value_or(default_weight_decay_);
  }
  /// The fields given to the constructor.
  const std::vector<StateField>& state_fields() const noexcept { return fields_; }

  /// "group{group}.param{param}.{field}".
  static std::string state_name(std::size_t group, std::size_t param, std::string_view field);
  /// Parses "group{g}.param{i}.{field}" (decimal indices, non-empty field); std::nullopt when
  /// `name` has another form.
  static std::optional<StateName> parse_state_name(std::string_view name);

  /// For factories: reads the float option "lr" and records the problem "must be greater than
  /// 0" on `options` when it is not (declare it with .min(0.0)).
  static double read_lr(const Options& options);
  /// For factories: reads the float-array option "betas" (declare it with .range(0.0, 1.0)).
  /// Records a problem on `options` and returns std::nullopt unless it holds 2 values, each
  /// less than 1; `example` (e.g. "[0.9, 0.999]") appears in the hint.
  static std::optional<std::array<double, 2>> read_betas(const Options& options,
                                                         std::string_view example);

 protected:
  /// @param name the component name, prefixed to every message ("lion: ...").
  /// @param lr the base learning rate; must be positive and finite.
  /// @param weight_decay the default weight decay of groups that set none; must be finite, >= 0.
  /// @param fields the per-parameter state fields, in the order they are saved; unique names.
  /// Throws anvil::Error "<name>: lr must be a positive number" or "<name>: weight_decay must be
  /// >= 0" for invalid values.
  GroupedOptimizer(std::string name, double lr, double weight_decay,
                   std::vector<StateField> fields);

  /// Updates the parameters of one group, and their state, from their gradients. Called by
  /// step() with at least one parameter; keep to multi-tensor (at::_foreach_*) kernels.
  virtual void update_group(GroupUpdate& update) = 0;

  /// The hint of load_state_dict's errors; by default "load state saved by the same optimizer
  /// for the same parameter groups".
  virtual std::string load_state_hint() const;

  /// For the subclass's option checks: throws anvil::Error "<name>: <message>" unless `ok`.
  void check_option(bool ok, const std::string& message) const;
  /// Throws anvil::Error "<name>: betas[k] must be in [0, 1), got <value>" for the first beta
  /// outside [0, 1).
  void check_betas(const std::array<double, 2>& betas) const;

 private:
  struct Group {
    ParamGroup group;
    std::vector<ParamState> state;  // one per param
  };
  std::string name_;
  double lr_;
  double default_weight_decay_;
  std::vector<StateField> fields_;
  std::vector<Group> groups_;
  std::int64_t step_ = 0;
};

}  // namespace anvil
