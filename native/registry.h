// Reads one string value of the registry from inside this process, so with
// the same hive and the same 32- or 64-bit view (WOW64 redirection) as the
// MAPI32 this process loads. No Node types.
#ifndef OXYMAIL_REGISTRY_H_
#define OXYMAIL_REGISTRY_H_

#include <cstdint>
#include <string>

namespace oxymail {

constexpr uint32_t kRegistryNotFound = 2;  // ERROR_FILE_NOT_FOUND

struct RegistryString {
  // 0: found; kRegistryNotFound: no such key or value; else the Win32 error.
  uint32_t error = 0;
  // REG_EXPAND_SZ (left unexpanded: TypeScript expands it), else REG_SZ.
  bool expand = false;
  std::string data;  // UTF-8
};

// `currentUser`: HKCU, else HKLM. An empty `name` reads the key's default value.
RegistryString ReadRegistryString(bool currentUser, const std::string& subkey, const std::string& name);

}  // namespace oxymail

#endif  // OXYMAIL_REGISTRY_H_
