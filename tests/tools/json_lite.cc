#include "tools/json_lite.h"

#include <cstdlib>

namespace kaya::tool::testing {

// Recursive descent over the grammar of RFC 8259; positions in errors are byte offsets.
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  std::optional<Json> parse_document(std::string* error) {
    std::optional<Json> v = value(0);
    skip_ws();
    if (v && pos_ != text_.size()) fail("trailing characters");
    if (!error_.empty()) {
      if (error) *error = error_ + " at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    return v;
  }

 private:
  // Records the first error; the variants return what the caller returns on failure.
  void fail(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  std::nullopt_t none(const std::string& why) {
    fail(why);
    return std::nullopt;
  }
  bool no(const std::string& why) {
    fail(why);
    return false;
  }
  void skip_ws() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::optional<Json> value(int depth) {
    if (depth > 64) return none("nesting too deep");
    skip_ws();
    if (pos_ >= text_.size()) return none("unexpected end");
    Json v;
    const char c = text_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      v.type_ = Json::Type::kString;
      if (!string(v.string_)) return std::nullopt;
      return v;
    }
    if (literal("null")) return v;
    for (const bool b : {true, false}) {
      if (literal(b ? "true" : "false")) {
        v.type_ = Json::Type::kBool;
        v.boolean_ = b;
        return v;
      }
    }
    return number();
  }

  std::optional<Json> number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return none("bad value");
    }
    if (pos_ < text_.size() && text_[pos_] == '.' && (++pos_, !digits())) {
      return none("bad fraction");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return none("bad exponent");
    }
    Json v;
    v.type_ = Json::Type::kNumber;
    v.number_text_ = std::string(text_.substr(start, pos_ - start));
    v.number_ = std::strtod(v.number_text_.c_str(), nullptr);
    return v;
  }

  bool hex4(uint32_t& out) {
    if (pos_ + 4 > text_.size()) return no("short \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      const int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
      if (d < 0) return no("bad \\u escape");
      out = out * 16 + static_cast<uint32_t>(d);
    }
    return true;
  }

  static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool escape(std::string& out) {
    const char e = text_[pos_++];
    static const std::string_view kSimple = "\"\\/bfnrt";
    static const std::string_view kMeaning = "\"\\/\b\f\n\r\t";
    if (const size_t i = kSimple.find(e); i != std::string_view::npos) {
      out += kMeaning[i];
      return true;
    }
    if (e != 'u') return no("bad escape");
    uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xd800 && cp <= 0xdbff) {  // a surrogate pair
      uint32_t low = 0;
      if (!literal("\\u") || !hex4(low) || low < 0xdc00 || low > 0xdfff) {
        return no("lone high surrogate");
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      return no("lone low surrogate");
    }
    append_utf8(out, cp);
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return no("raw control character");
      if (c != '\\') {
        out += c;
      } else if (pos_ >= text_.size() || !escape(out)) {
        return no("bad escape");
      }
    }
    return no("unterminated string");
  }

  std::optional<Json> array(int depth) {
    ++pos_;
    Json v;
    v.type_ = Json::Type::kArray;
    if (eat(']')) return v;
    do {
      std::optional<Json> item = value(depth + 1);
      if (!item) return std::nullopt;
      v.array_.push_back(std::move(*item));
    } while (eat(','));
    if (!eat(']')) return none("expected ] or ,");
    return v;
  }

  std::optional<Json> object(int depth) {
    ++pos_;
    Json v;
    v.type_ = Json::Type::kObject;
    if (eat('}')) return v;
    do {
      skip_ws();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"' || !string(key)) {
        return none("expected a member name");
      }
      if (v.object_.count(key)) return none("duplicate member " + key);
      if (!eat(':')) return none("expected :");
      std::optional<Json> member = value(depth + 1);
      if (!member) return std::nullopt;
      v.object_.emplace(std::move(key), std::move(*member));
    } while (eat(','));
    if (!eat('}')) return none("expected } or ,");
    return v;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

std::optional<Json> Json::parse(std::string_view text, std::string* error) {
  return JsonParser(text).parse_document(error);
}

bool Json::has(const std::string& key) const { return object_.count(key) > 0; }

const Json& Json::operator[](const std::string& key) const {
  static const Json kNull;
  auto it = object_.find(key);
  return it == object_.end() ? kNull : it->second;
}

const Json& Json::operator[](size_t index) const {
  static const Json kNull;
  return index < array_.size() ? array_[index] : kNull;
}

size_t Json::size() const {
  return type_ == Type::kArray ? array_.size() : object_.size();
}

uint64_t Json::u64() const {
  if (type_ != Type::kNumber || number_text_.empty() ||
      number_text_.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::strtoull(number_text_.c_str(), nullptr, 10);
}

std::vector<Json> parse_json_lines(std::string_view text, std::string* error) {
  std::vector<Json> out;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    std::string why;
    std::optional<Json> v = Json::parse(line, &why);
    if (!v) {
      if (error) *error = "line " + std::to_string(line_no) + ": " + why;
      break;
    }
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace kaya::tool::testing
