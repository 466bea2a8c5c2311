#include "registry.h"

#include <windows.h>

#include <vector>

#include "strings.h"

namespace oxymail {

RegistryString ReadRegistryString(bool currentUser, const std::string& subkey, const std::string& name) {
  RegistryString out;
  const std::wstring key = Utf8ToWide(subkey);
  const std::wstring value = Utf8ToWide(name);
  const HKEY root = currentUser ? HKEY_CURRENT_USER : HKEY_LOCAL_MACHINE;
  // No KEY_WOW64_* flag on purpose: the view MAPI32 sees from this process.
  const DWORD flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
  DWORD type = 0;
  DWORD bytes = 0;
  LSTATUS status = RegGetValueW(root, key.c_str(), name.empty() ? nullptr : value.c_str(), flags, &type, nullptr, &bytes);
  // The value may grow between the two calls: retry with the new size.
  for (int attempt = 0; status == ERROR_SUCCESS || status == ERROR_MORE_DATA; ++attempt) {
    std::vector<wchar_t> buffer(bytes / sizeof(wchar_t) + 1, L'\0');
    bytes = static_cast<DWORD>(buffer.size() * sizeof(wchar_t));
    status = RegGetValueW(root, key.c_str(), name.empty() ? nullptr : value.c_str(), flags, &type, buffer.data(), &bytes);
    if (status == ERROR_SUCCESS) {
      out.expand = type == REG_EXPAND_SZ;
      out.data = WideToUtf8(std::wstring(buffer.data()));
      return out;
    }
    if (status != ERROR_MORE_DATA || attempt == 3) break;
  }
  out.error = static_cast<uint32_t>(status);
  return out;
}

}  // namespace oxymail
