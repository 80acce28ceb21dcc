// Every page of docs/ that quotes an example does so exactly: a line
// `<!-- snippet: docs/examples/NAME.cc -->` is followed by a ```cpp block equal to the
// lines between `// [doc]` and `// [/doc]` in that file (indentation removed). Every
// example with such a region is quoted by some page, so none drifts out of sight.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace kaya {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = KAYA_SOURCE_DIR;

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The region of an example, without the indentation common to its lines.
std::vector<std::string> region_of(const fs::path& example) {
  std::vector<std::string> region;
  bool inside = false;
  for (const std::string& line : lines_of(example)) {
    const std::string trimmed =
        line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (trimmed == "// [doc]") {
      inside = true;
    } else if (trimmed == "// [/doc]") {
      break;
    } else if (inside) {
      region.push_back(line);
    }
  }
  size_t indent = std::string::npos;
  for (const std::string& line : region) {
    if (!line.empty()) indent = std::min(indent, line.find_first_not_of(' '));
  }
  for (std::string& line : region) line = line.empty() ? line : line.substr(indent);
  return region;
}

struct Quote {
  fs::path page;
  std::string example;  // as named on the page
  std::vector<std::string> block;
};

std::vector<Quote> quotes_in(const fs::path& page) {
  const std::string marker = "<!-- snippet: ";
  std::vector<std::string> lines = lines_of(page);
  std::vector<Quote> quotes;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind(marker, 0) != 0) continue;
    Quote q{page, lines[i].substr(marker.size()), {}};
    q.example = q.example.substr(0, q.example.find(" -->"));
    size_t j = i + 1;
    EXPECT_TRUE(j < lines.size() && lines[j] == "```cpp")
        << page << ":" << j + 1 << ": a snippet marker must be followed by ```cpp";
    for (++j; j < lines.size() && lines[j] != "```"; ++j) q.block.push_back(lines[j]);
    quotes.push_back(q);
    i = j;
  }
  return quotes;
}

std::string joined(const std::vector<std::string>& lines) {
  std::ostringstream out;
  for (const std::string& l : lines) out << l << "\n";
  return out.str();
}

TEST(SnippetTest, PagesQuoteTheirExamplesExactly) {
  std::set<std::string> quoted;
  for (const auto& entry : fs::directory_iterator(kRoot / "docs")) {
    if (entry.path().extension() != ".md") continue;
    for (const Quote& q : quotes_in(entry.path())) {
      ASSERT_TRUE(fs::exists(kRoot / q.example)) << q.page << " quotes " << q.example;
      const std::vector<std::string> region = region_of(kRoot / q.example);
      ASSERT_FALSE(region.empty()) << q.example << " has no // [doc] region";
      EXPECT_EQ(joined(q.block), joined(region))
          << q.page << " does not quote " << q.example
          << " exactly: copy the region between // [doc] and // [/doc]";
      quoted.insert(q.example);
    }
  }
  for (const auto& entry : fs::directory_iterator(kRoot / "docs/examples")) {
    if (entry.path().extension() != ".cc") continue;
    const std::string name = "docs/examples/" + entry.path().filename().string();
    if (region_of(entry.path()).empty()) continue;
    EXPECT_TRUE(quoted.count(name)) << name << " is quoted by no page of docs/";
  }
  EXPECT_GE(quoted.size(), 6u);
}

}  // namespace
}  // namespace kaya
