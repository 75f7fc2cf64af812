#include "data/chat/python_json.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace zen {
namespace {

void AppendString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
          out->append(escaped);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Python's repr(float): the shortest digits that round-trip, positional when the decimal exponent is in
// [-4, 16), else d.ddde+XX (at least two exponent digits); a whole number keeps ".0".
void AppendFloat(double x, std::string* out) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  const std::string sci(buf, end);  // "-1.2345e+15"
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  const int exponent = std::atoi(sci.c_str() + e + 1);
  if (negative) out->push_back('-');
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;  // digits before the decimal point
    if (point <= 0) {
      absl::StrAppend(out, "0.", std::string(-point, '0'), digits);
    } else if (point >= static_cast<int>(digits.size())) {
      absl::StrAppend(out, digits, std::string(point - digits.size(), '0'), ".0");
    } else {
      absl::StrAppend(out, digits.substr(0, point), ".", digits.substr(point));
    }
    return;
  }
  out->push_back(digits[0]);
  if (digits.size() > 1) absl::StrAppend(out, ".", digits.substr(1));
  char exp[16];
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out->append(exp);
}

void Append(const nlohmann::ordered_json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::ordered_json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out->append(", ");
        first = false;
        AppendString(key, out);
        out->append(": ");
        Append(item, out);
      }
      out->push_back('}');
      return;
    }
    case nlohmann::ordered_json::value_t::array:
      out->push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out->append(", ");
        Append(v[i], out);
      }
      out->push_back(']');
      return;
    case nlohmann::ordered_json::value_t::string: AppendString(v.get_ref<const std::string&>(), out); return;
    case nlohmann::ordered_json::value_t::number_float: AppendFloat(v.get<double>(), out); return;
    default: out->append(v.dump());  // integers, true, false, null: the same text in both
  }
}

}  // namespace

std::string PythonJsonDumps(const nlohmann::ordered_json& value) {
  std::string out;
  Append(value, &out);
  return out;
}

}  // namespace zen
