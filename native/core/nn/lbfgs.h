// Limited-memory BFGS for full-batch training of small networks (the lesson's setting): one
// iteration per epoch, a quasi-Newton direction from the last `history` steps (two-loop
// recursion), and a backtracking line search on the Armijo condition. It converges in far
// fewer epochs than gradient descent where the whole data set fits in one batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/util/aligned_buffer.h"

namespace mlpstream {

struct LbfgsResult {
  int evaluations = 0;   // loss/gradient evaluations spent (line search included)
  bool moved = false;    // false when no step decreased the loss (converged or stuck)
};

class Lbfgs {
 public:
  Lbfgs(std::size_t n, int history);

  // One iteration from x with loss f and gradient g (updated in place to the accepted point).
  // `evaluate(x_trial, g_trial)` returns the loss at x_trial and writes its gradient.
  template <typename Evaluate>
  LbfgsResult iterate(float* x, float* g, double& f, double learning_rate, Evaluate&& evaluate);

  void reset() { count_ = 0; }

 private:
  void direction(const float* g, double initial_scale);

  std::size_t n_;
  int history_;
  int count_ = 0;  // pairs stored
  int head_ = 0;   // slot of the next pair
  bool first_ = true;
  std::vector<AlignedBuffer<float>> s_;  // parameter steps
  std::vector<AlignedBuffer<float>> y_;  // gradient changes
  std::vector<double> rho_;              // 1 / (y . s)
  std::vector<double> alpha_;
  AlignedBuffer<float> d_;       // search direction
  AlignedBuffer<float> x_trial_;
  AlignedBuffer<float> g_trial_;
};

double dot(const float* a, const float* b, std::size_t n);

template <typename Evaluate>
LbfgsResult Lbfgs::iterate(float* x, float* g, double& f, double learning_rate, Evaluate&& evaluate) {
  // Armijo sufficient decrease, and how the step shrinks while it is not met.
  constexpr double kArmijo = 1e-4;
  constexpr double kShrink = 0.5;
  constexpr int kMaxEvaluations = 25;
  LbfgsResult result;
  double g_norm1 = 0;
  for (std::size_t i = 0; i < n_; ++i) g_norm1 += g[i] < 0 ? -g[i] : g[i];
  if (g_norm1 == 0) return result;
  // The first step is scaled to the gradient (as PyTorch's L-BFGS): without curvature
  // information a unit step along a large gradient would overshoot.
  const double first_scale = first_ ? (g_norm1 > 1 ? 1.0 / g_norm1 : 1.0) : 1.0;
  direction(g, first_scale);
  double slope = dot(g, d_.data(), n_);
  if (!(slope < 0)) {
    // Not a descent direction (stale curvature): restart from steepest descent.
    reset();
    for (std::size_t i = 0; i < n_; ++i) d_[i] = -g[i];
    slope = -dot(g, g, n_);
  }
  double step = learning_rate;
  for (int e = 0; e < kMaxEvaluations; ++e) {
    for (std::size_t i = 0; i < n_; ++i) x_trial_[i] = x[i] + static_cast<float>(step) * d_[i];
    const double f_trial = evaluate(x_trial_.data(), g_trial_.data());
    ++result.evaluations;
    if (f_trial <= f + kArmijo * step * slope) {
      float* s = s_[static_cast<std::size_t>(head_)].data();
      float* y = y_[static_cast<std::size_t>(head_)].data();
      for (std::size_t i = 0; i < n_; ++i) {
        s[i] = x_trial_[i] - x[i];
        y[i] = g_trial_[i] - g[i];
      }
      const double ys = dot(y, s, n_);
      if (ys > 1e-10) {  // keep only pairs with positive curvature (the update stays positive definite)
        rho_[static_cast<std::size_t>(head_)] = 1.0 / ys;
        head_ = (head_ + 1) % history_;
        if (count_ < history_) ++count_;
      }
      for (std::size_t i = 0; i < n_; ++i) {
        x[i] = x_trial_[i];
        g[i] = g_trial_[i];
      }
      f = f_trial;
      first_ = false;
      result.moved = true;
      return result;
    }
    step *= kShrink;
  }
  return result;
}

}  // namespace mlpstream
