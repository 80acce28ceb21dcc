// A small strict JSON parser (RFC 8259) for checking kaya-wal's --json output in tests:
// it rejects anything malformed, so a test that parses the output also checks that it
// is valid JSON.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kaya::tool::testing {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  // The whole of `text` as one JSON value (surrounding whitespace allowed); nullopt
  // with `*error` set when it is not valid JSON.
  static std::optional<Json> parse(std::string_view text, std::string* error);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool has(const std::string& key) const;
  // Member `key` of an object; a null Json when absent (so chains do not crash).
  const Json& operator[](const std::string& key) const;
  const Json& operator[](size_t index) const;
  size_t size() const;  // array elements or object members

  // Unsigned integer value; 0 when this is not a non-negative integer number.
  uint64_t u64() const;
  double number() const { return number_; }
  bool boolean() const { return boolean_; }
  const std::string& str() const { return string_; }
  const std::map<std::string, Json>& members() const { return object_; }

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool boolean_ = false;
  double number_ = 0;
  std::string number_text_;
  std::string string_;
  std::vector<Json> array_;
  std::map<std::string, Json> object_;
};

// Each non-empty line of `text` parsed as one JSON value; `*error` names the first
// bad line (and the result stops there).
std::vector<Json> parse_json_lines(std::string_view text, std::string* error);

}  // namespace kaya::tool::testing
