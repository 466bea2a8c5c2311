#include "dpapi.h"

#include <windows.h>
#include <wincrypt.h>

namespace oxymail {
namespace {

// The description and entropy stay empty: the blob is bound to the Windows
// user (not the machine: CRYPTPROTECT_LOCAL_MACHINE would let every local
// user read it). UI_FORBIDDEN because a service or CI runner has no desktop.
uint32_t Run(bool protect, const std::string& in, std::string* out) {
  DATA_BLOB input{static_cast<DWORD>(in.size()), reinterpret_cast<BYTE*>(const_cast<char*>(in.data()))};
  DATA_BLOB output{0, nullptr};
  BOOL ok = protect
      ? CryptProtectData(&input, L"oxymail", nullptr, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &output)
      : CryptUnprotectData(&input, nullptr, nullptr, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN, &output);
  if (!ok) return GetLastError();
  out->assign(reinterpret_cast<const char*>(output.pbData), output.cbData);
  // The clear text must not linger in freed memory.
  SecureZeroMemory(output.pbData, output.cbData);
  LocalFree(output.pbData);
  return 0;
}

}  // namespace

uint32_t DpapiProtect(const std::string& plain, std::string* sealed) { return Run(true, plain, sealed); }
uint32_t DpapiUnprotect(const std::string& sealed, std::string* plain) { return Run(false, sealed, plain); }

}  // namespace oxymail
