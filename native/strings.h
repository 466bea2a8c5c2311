// UTF-8 (JavaScript side) <-> UTF-16 (MAPISendMailW) and the ANSI code page
// (MAPISendMail, MAPILogon). Windows only.
#ifndef OXYMAIL_STRINGS_H_
#define OXYMAIL_STRINGS_H_

#include <string>

namespace oxymail {

std::wstring Utf8ToWide(const std::string& utf8);
std::string WideToUtf8(const std::wstring& wide);
// Characters outside the active code page become '?': this is why ANSI
// MAPISendMail is only a fallback.
std::string Utf8ToAnsi(const std::string& utf8);

}  // namespace oxymail

#endif  // OXYMAIL_STRINGS_H_
