#include "strings.h"

#include <windows.h>

namespace oxymail {

std::wstring Utf8ToWide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring wide(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), &wide[0], n);
  return wide;
}

std::string WideToUtf8(const std::wstring& wide) {
  if (wide.empty()) return std::string();
  int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0,
                              nullptr, nullptr);
  std::string utf8(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), &utf8[0], n, nullptr,
                      nullptr);
  return utf8;
}

bool Utf8ToAnsi(const std::string& utf8, std::string* ansi, char fallback) {
  ansi->clear();
  std::wstring wide = Utf8ToWide(utf8);
  if (wide.empty()) return true;
  const int size = static_cast<int>(wide.size());
  // With "Use Unicode UTF-8 for worldwide language support" the ANSI code
  // page is UTF-8: lossless, and it rejects both the flag and the default
  // character.
  if (GetACP() == CP_UTF8) {
    *ansi = WideToUtf8(wide);
    return true;
  }
  const char defaultChar[2] = {fallback, '\0'};
  BOOL usedDefault = FALSE;
  int n = WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS, wide.data(), size, nullptr, 0,
                              defaultChar, &usedDefault);
  ansi->assign(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_ACP, WC_NO_BEST_FIT_CHARS, wide.data(), size, &(*ansi)[0], n, defaultChar,
                      &usedDefault);
  return !usedDefault;
}

}  // namespace oxymail
