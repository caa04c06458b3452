// Turns a .cu file into C++ for the CPU emulation of CUDA (emulator.h):
//   kernel<<<grid, block, smem, stream>>>(args)
//     -> ::emu::launch(::emu::cfg("kernel", grid, block, smem, stream),
//                      [&](auto&&... a_) { kernel(a_...); }, args)
//   extern __shared__ T name[];  ->  T* name = static_cast<T*>(::emu::dynamic_shared());
// The kernel's name may be qualified or carry template arguments; the arguments are
// evaluated once, at the launch, as on a GPU.
//   rewrite_launches IN.cu OUT.cpp
#include <cctype>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>

namespace {

bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }

// Where the kernel name that ends at `end` begins: an identifier (with ::) and an
// optional <...> template argument list between it and the launch.
size_t name_start(const std::string& s, size_t end) {
  size_t i = end;
  while (i > 0 && std::isspace(static_cast<unsigned char>(s[i - 1]))) --i;
  if (i > 0 && s[i - 1] == '>') {
    int depth = 0;
    do {
      --i;
      if (s[i] == '>') ++depth;
      if (s[i] == '<') --depth;
    } while (depth > 0 && i > 0);
  }
  while (i > 0 && name_char(s[i - 1])) --i;
  return i;
}

std::string trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

size_t closing_paren(const std::string& s, size_t open) {
  int depth = 0;
  for (size_t k = open; k < s.size(); ++k) {
    if (s[k] == '(') ++depth;
    if (s[k] == ')' && --depth == 0) return k;
  }
  throw std::runtime_error("unbalanced parentheses after a launch");
}

std::string rewrite(std::string s) {
  for (size_t at; (at = s.find("<<<")) != std::string::npos;) {
    const size_t cfg_end = s.find(">>>", at);
    if (cfg_end == std::string::npos) throw std::runtime_error("<<< without >>>");
    const size_t start = name_start(s, at);
    size_t open = cfg_end + 3;
    while (open < s.size() && std::isspace(static_cast<unsigned char>(s[open]))) ++open;
    if (open >= s.size() || s[open] != '(') throw std::runtime_error("a launch without arguments");
    const size_t close = closing_paren(s, open);
    const std::string name = s.substr(start, at - start);
    const std::string cfg = s.substr(at + 3, cfg_end - at - 3);
    const std::string args = s.substr(open + 1, close - open - 1);
    const bool none = args.find_first_not_of(" \t\n") == std::string::npos;
    const std::string bare = name.substr(0, name.find('<'));  // the kernel's name for its count
    s = s.substr(0, start) + "::emu::launch(::emu::cfg(\"" + trimmed(bare) + "\", " + cfg +
        "), [&](auto&&... a_) { " + name +
        "(a_...); }" + (none ? "" : ", " + args) + ")" + s.substr(close + 1);
  }
  static const std::regex dynamic_shared(
      R"(extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([\w ]+?)\s+(\w+)\[\];)");
  return std::regex_replace(s, dynamic_shared, "$1* $2 = static_cast<$1*>(::emu::dynamic_shared());");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: rewrite_launches IN.cu OUT.cpp\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "rewrite_launches: cannot read " << argv[1] << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    std::ofstream out(argv[2]);
    out << "#include \"emulator.h\"\n#line 1 \"" << argv[1] << "\"\n" << rewrite(text.str());
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "rewrite_launches: " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
