// DPAPI for secrets in the settings file: sealed for the current Windows
// user on this machine (CryptProtectData), no Node types.
#ifndef OXYMAIL_DPAPI_H_
#define OXYMAIL_DPAPI_H_

#include <cstdint>
#include <string>

namespace oxymail {

// Both return 0 on success, else the Win32 error (GetLastError()).
uint32_t DpapiProtect(const std::string& plain, std::string* sealed);
uint32_t DpapiUnprotect(const std::string& sealed, std::string* plain);

}  // namespace oxymail

#endif  // OXYMAIL_DPAPI_H_
