// Ground truth for sparsesweep's hypergeometric pmf: Boost.Math's pdf evaluated exactly the
// way Timeloop's hypergeometric density model calls it (default policy, double result type,
// unsigned 64-bit occupancies, zero outside the support).  Development tool only: it needs
// Boost headers and a C++ compiler; regen_fixture.py builds and drives it.
//
// Commands, one per input line (whitespace separated):
//   pmf R N_DRAWN N_TOTAL K_LO K_HI   -> one line "K HEX" per K in [K_LO, K_HI]
//   mean R N_DRAWN N_TOTAL            -> "HEX": sum over k = 0..min(n, r) of pmf(k) * k, in order
//   fact                              -> "I RAW" per entry of Boost's long double factorial table
//   meta                              -> limits and the Lanczos approximation that Boost selected
//   lsum Z / powl X Y / expl X        -> the long double Lanczos sum (exp(g)-scaled) / powl / expl
// HEX is C's %a rendering of the double; long doubles (fact, lsum, powl, expl) are written and
// read as RAW: the 10 bytes of the x87 80-bit value, little-endian, as 20 hex digits.

#include <boost/math/distributions/hypergeometric.hpp>
#include <boost/version.hpp>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <typeinfo>

namespace {

// Same guards and call as the density model's GetProbability(tile_shape, nnz_vals[, ...]).
double probability(std::uint64_t r, std::uint64_t n, std::uint64_t total, std::uint64_t k) {
  if (((n + r > total) && (k < n + r - total)) | (k > r)) {
    return 0;
  }
  boost::math::hypergeometric_distribution<double> distribution(r, n, total);
  return pdf(distribution, k);
}

long double read_raw(std::istream& in) {
  std::string hex;
  in >> hex;
  long double value = 0;
  unsigned char* bytes = reinterpret_cast<unsigned char*>(&value);
  for (std::size_t i = 0; i < 10 && 2 * i + 1 < hex.size(); ++i) {
    bytes[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return value;
}

void print_raw(long double value) {
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&value);
  for (std::size_t i = 0; i < 10; ++i) {
    std::printf("%02x", bytes[i]);
  }
  std::printf("\n");
}

void print_meta() {
  using value_type = boost::math::policies::evaluation<double, boost::math::policies::policy<>>::type;
  using lanczos = boost::math::lanczos::lanczos<value_type, boost::math::policies::policy<>>::type;
  std::printf("boost %d\n", BOOST_VERSION);
  std::printf("evaluation_type_digits %d\n", std::numeric_limits<value_type>::digits);
  std::printf("max_factorial %u\n", boost::math::max_factorial<value_type>::value);
  std::printf("prime_limit %u\n", static_cast<unsigned>(boost::math::prime(boost::math::max_prime - 1)));
  std::printf("lanczos %s\n", typeid(lanczos).name());
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd)) {
      continue;
    }
    if (cmd == "pmf") {
      std::uint64_t r, n, total, lo, hi;
      in >> r >> n >> total >> lo >> hi;
      for (std::uint64_t k = lo; k <= hi; ++k) {
        std::printf("%" PRIu64 " %a\n", k, probability(r, n, total, k));
      }
    } else if (cmd == "mean") {
      std::uint64_t r, n, total;
      in >> r >> n >> total;
      double expected = 0.0;
      std::uint64_t top = (n <= r) ? n : r;
      for (std::uint64_t k = 0; k <= top; ++k) {
        double prob = probability(r, n, total, k);
        expected += prob * k;
      }
      std::printf("%a\n", expected);
    } else if (cmd == "fact") {
      using value_type = boost::math::policies::evaluation<double, boost::math::policies::policy<>>::type;
      for (unsigned i = 0; i <= boost::math::max_factorial<value_type>::value; ++i) {
        std::printf("%u ", i);
        print_raw(boost::math::unchecked_factorial<value_type>(i));
      }
    } else if (cmd == "lsum") {
      long double z = read_raw(in);
      print_raw(boost::math::lanczos::lanczos17m64::lanczos_sum_expG_scaled(z));
    } else if (cmd == "powl") {
      long double x = read_raw(in);
      long double y = read_raw(in);
      print_raw(std::pow(x, y));
    } else if (cmd == "expl") {
      print_raw(std::exp(read_raw(in)));
    } else if (cmd == "meta") {
      print_meta();
    } else {
      std::fprintf(stderr, "unknown command: %s\n", cmd.c_str());
      return 2;
    }
    std::fflush(stdout);
  }
  return 0;
}
