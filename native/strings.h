// UTF-8 (JavaScript side) <-> UTF-16 (MAPISendMailW) and the ANSI code page
// (MAPISendMail, MAPILogon). Windows only.
#ifndef OXYMAIL_STRINGS_H_
#define OXYMAIL_STRINGS_H_

#include <string>

namespace oxymail {

std::wstring Utf8ToWide(const std::string& utf8);
std::string WideToUtf8(const std::wstring& wide);

// To the active ANSI code page, without Windows' best-fit mapping (which
// turns a fullwidth \ into a real one, or "∞" into "8": a path or profile
// name could then name something else). A character the code page lacks
// becomes `fallback` and the function returns false, so a caller can refuse
// strings that must stay exact (paths, addresses, profile names). This
// lossiness is why ANSI MAPISendMail is only a fallback.
bool Utf8ToAnsi(const std::string& utf8, std::string* ansi, char fallback = '?');

}  // namespace oxymail

#endif  // OXYMAIL_STRINGS_H_
