// CUBIC congestion control (RFC 8312), in bytes, with slow start per RFC 5681 and appropriate
// byte counting (RFC 3465, L = 2 SMSS).
#include <algorithm>
#include <cmath>

#include "dataplane/tcp/tcp_impl.h"

namespace dp::tcp {
namespace {
constexpr double kC = 0.4;     // RFC 8312 5.1
constexpr double kBeta = 0.7;  // RFC 8312 4.5
}  // namespace

void StackImpl::CcInit(Conn* c) {
  // RFC 6928 initial window: min(10*MSS, max(2*MSS, 14600)).
  uint32_t mss = c->snd_mss;
  uint32_t iw = 10 * mss;
  uint32_t cap = std::max<uint32_t>(2 * mss, 14600);
  c->cwnd = std::min(iw, cap);
  c->ssthresh = 0x7fffffff;
  c->cubic_w_max = 0;
  c->cubic_epoch_ms = 0;
  c->cubic_k = 0;
}

void StackImpl::CcOnAck(Conn* c, uint32_t acked) {
  uint32_t mss = c->snd_mss;
  if (c->cwnd < c->ssthresh) {
    c->cwnd += std::min<uint32_t>(acked, 2 * mss);  // slow start
    return;
  }
  // RFC 8312 4.1: W_cubic(t) = C (t - K)^3 + W_max, t measured from the epoch start.
  if (c->cubic_epoch_ms == 0) {
    c->cubic_epoch_ms = now_ms32_ | 1;
    if (c->cwnd < c->cubic_w_max) {
      c->cubic_k = static_cast<float>(std::cbrt((c->cubic_w_max - c->cwnd) / (kC * mss)));
    } else {
      c->cubic_k = 0;
      c->cubic_w_max = c->cwnd;  // origin point = cwnd (RFC 8312 4.1, cwnd >= W_max)
    }
    c->cubic_w_est = c->cwnd;
  }
  double t = (now_ms32_ - c->cubic_epoch_ms) / 1000.0 + c->srtt_us / 1e6;
  double d = t - c->cubic_k;
  double target = c->cubic_w_max + kC * d * d * d * mss;
  // RFC 8312 4.2: TCP-friendly region, W_est += 3(1-beta)/(1+beta) * acked/cwnd segments.
  c->cubic_w_est += static_cast<uint32_t>(3.0 * (1 - kBeta) / (1 + kBeta) * mss *
                                          static_cast<double>(acked) / c->cwnd);
  if (c->cubic_w_est > target) target = c->cubic_w_est;
  double inc;
  if (target > c->cwnd) {
    // RFC 8312 4.3: cwnd += (W_cubic(t+RTT) - cwnd) / cwnd per ACK (segments).
    inc = (target - c->cwnd) * acked / c->cwnd;
    if (inc > acked) inc = acked;  // never faster than slow start
  } else {
    inc = static_cast<double>(mss) * acked / (100.0 * c->cwnd);
  }
  c->cwnd += static_cast<uint32_t>(inc);
  if (c->cwnd > (1u << 30)) c->cwnd = 1u << 30;
}

static void CubicReduce(Conn* c) {
  uint32_t mss = c->snd_mss;
  // RFC 8312 4.6 fast convergence.
  if (c->cwnd < c->cubic_w_max) {
    c->cubic_w_max = static_cast<uint32_t>(c->cwnd * (1 + kBeta) / 2);
  } else {
    c->cubic_w_max = c->cwnd;
  }
  c->ssthresh = std::max<uint32_t>(static_cast<uint32_t>(c->cwnd * kBeta), 2 * mss);
  c->cubic_epoch_ms = 0;
}

void StackImpl::CcOnLoss(Conn* c) {
  CubicReduce(c);
  c->cwnd = c->ssthresh;
}

void StackImpl::CcOnRto(Conn* c) {
  // RFC 5681 3.1 eq. 4 uses FlightSize/2; RFC 8312 4.7 applies beta to cwnd.
  CubicReduce(c);
  c->cwnd = c->snd_mss;  // loss window (RFC 5681)
}

}  // namespace dp::tcp
