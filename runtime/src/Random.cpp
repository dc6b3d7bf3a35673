//===- Random.cpp - Seeded standard-normal values -------------------------===//
//
// cascade_fill_normal(data, n, seed, stream), exactly:
//
// 1. Seeding (splitmix64, Steele et al.): with
//      next(x): x += 0x9E3779B97F4A7C15; z = x;
//               z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//               z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//               return z ^ (z >> 31);
//    let x = stream, k = next(x); then x = seed ^ k and the xoshiro256**
//    state is s[0..3] = next(x), next(x), next(x), next(x).
// 2. Draws: xoshiro256** (Blackman and Vigna) 64-bit outputs w.
//      u1 = ((w1 >> 11) + 1) * 2^-53   in (0, 1]
//      u2 = (w2 >> 11) * 2^-53         in [0, 1)
// 3. Box-Muller: r = sqrt(-2 ln u1), t = 2 pi u2; data[2i] = r cos t and
//    data[2i + 1] = r sin t (rounded to float), from the i-th pair (w1, w2).
//    An odd n drops the last sine.
//
// ln, sin and cos are computed here from +, -, *, / and frexp with fixed
// polynomials instead of libm, whose last bits differ between platforms;
// sqrt is correctly rounded by IEEE 754. With FMA contraction off (the build
// passes -ffp-contract=off) every platform with IEEE binary64 arithmetic
// (not x87) produces the same bits.
//
//===----------------------------------------------------------------------===//

#include "cascade/runtime.h"

#include <cmath>

#ifdef __clang__
#pragma clang fp contract(off)
#endif

namespace {

uint64_t splitmix64(uint64_t &x) {
  x += 0x9E3779B97F4A7C15ull;
  uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct Xoshiro256 {
  uint64_t s[4];

  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

/// Natural log for x in (0, 1]: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
/// ln m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| < 0.1716, summed to
/// s^25 (error below 1e-18 relative).
double portableLog(double x) {
  int e;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  double s = (m - 1) / (m + 1);
  double s2 = s * s;
  double p = 1.0 / 25;
  for (int k = 23; k >= 1; k -= 2)
    p = 1.0 / k + s2 * p;
  // ln 2 split in two (fdlibm's constants) so that e * ln2Hi is exact.
  const double ln2Hi = 6.93147180369123816490e-01;
  const double ln2Lo = 1.90821492927058770002e-10;
  return e * ln2Hi + (e * ln2Lo + 2 * s * p);
}

/// sin and cos of a in [0, pi/4] by Taylor series to a^19 and a^18.
void sinCosSmall(double a, double &sinA, double &cosA) {
  double a2 = a * a;
  double s = 1, c = 1;
  for (int k = 19; k >= 3; k -= 2)
    s = 1 - a2 / (double(k) * (k - 1)) * s;
  for (int k = 18; k >= 2; k -= 2)
    c = 1 - a2 / (double(k) * (k - 1)) * c;
  sinA = a * s;
  cosA = c;
}

/// sin and cos of 2 pi u for u in [0, 1), reduced exactly on u.
void sinCosTurn(double u, double &sinT, double &cosT) {
  const double halfPi = 1.57079632679489661923;
  double t = u * 4; // exact
  int quadrant = static_cast<int>(t);
  double f = t - quadrant; // exact, in [0, 1)
  double s, c;
  if (f <= 0.5) {
    sinCosSmall(f * halfPi, s, c);
  } else {
    sinCosSmall((1 - f) * halfPi, c, s); // sin(pi/2 - a) = cos a
  }
  switch (quadrant) {
  case 0:
    sinT = s, cosT = c;
    break;
  case 1:
    sinT = c, cosT = -s;
    break;
  case 2:
    sinT = -s, cosT = -c;
    break;
  default:
    sinT = -c, cosT = s;
    break;
  }
}

} // namespace

extern "C" void cascade_fill_normal(float *data, int64_t n, uint64_t seed,
                                    uint64_t stream) {
  if (!data || n <= 0)
    return;
  uint64_t x = stream;
  x = seed ^ splitmix64(x);
  Xoshiro256 rng;
  for (uint64_t &word : rng.s)
    word = splitmix64(x);

  const double twoToMinus53 = 1.0 / 9007199254740992.0;
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = double((rng.next() >> 11) + 1) * twoToMinus53;
    double u2 = double(rng.next() >> 11) * twoToMinus53;
    double r = std::sqrt(-2 * portableLog(u1));
    double s, c;
    sinCosTurn(u2, s, c);
    data[i] = static_cast<float>(r * c);
    if (i + 1 < n)
      data[i + 1] = static_cast<float>(r * s);
  }
}
