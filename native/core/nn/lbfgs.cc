#include "core/nn/lbfgs.h"

namespace mlpstream {

double dot(const float* a, const float* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

Lbfgs::Lbfgs(std::size_t n, int history)
    : n_(n), history_(history < 1 ? 1 : history), rho_(static_cast<std::size_t>(history_)),
      alpha_(static_cast<std::size_t>(history_)) {
  s_.resize(static_cast<std::size_t>(history_));
  y_.resize(static_cast<std::size_t>(history_));
  for (auto& b : s_) b.resize(n);
  for (auto& b : y_) b.resize(n);
  d_.resize(n);
  x_trial_.resize(n);
  g_trial_.resize(n);
}

// d = -H g by the two-loop recursion over the stored pairs, newest first.
void Lbfgs::direction(const float* g, double initial_scale) {
  for (std::size_t i = 0; i < n_; ++i) d_[i] = -g[i];
  if (count_ == 0) {
    for (std::size_t i = 0; i < n_; ++i) d_[i] = static_cast<float>(d_[i] * initial_scale);
    return;
  }
  auto slot = [&](int k) { return static_cast<std::size_t>((head_ - 1 - k + 2 * history_) % history_); };
  for (int k = 0; k < count_; ++k) {
    const std::size_t j = slot(k);
    alpha_[j] = rho_[j] * dot(s_[j].data(), d_.data(), n_);
    const float a = static_cast<float>(alpha_[j]);
    const float* y = y_[j].data();
    for (std::size_t i = 0; i < n_; ++i) d_[i] -= a * y[i];
  }
  // Initial Hessian scale gamma = s.y / y.y of the newest pair.
  const std::size_t newest = slot(0);
  const double yy = dot(y_[newest].data(), y_[newest].data(), n_);
  const double gamma = yy > 0 ? 1.0 / (rho_[newest] * yy) : 1.0;
  for (std::size_t i = 0; i < n_; ++i) d_[i] = static_cast<float>(d_[i] * gamma);
  for (int k = count_ - 1; k >= 0; --k) {
    const std::size_t j = slot(k);
    const double beta = rho_[j] * dot(y_[j].data(), d_.data(), n_);
    const float c = static_cast<float>(alpha_[j] - beta);
    const float* s = s_[j].data();
    for (std::size_t i = 0; i < n_; ++i) d_[i] += c * s[i];
  }
}

}  // namespace mlpstream
